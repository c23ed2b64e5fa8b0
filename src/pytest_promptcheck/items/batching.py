"""Batch mode's place in the run: after collection, before the scheduler starts any direct call.

:func:`batch_phase` hands the selected items to :class:`..calls.batch.BatchRunner` (which submits,
resumes, polls and collects), gives its answers to the engine, and marks the items that
``--pc-batch-submit-only`` holds back as skipped (the reason names the batch). It returns the items
whose calls the scheduler should start: the held ones are not among them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..session import PromptSession
    from .item import PromptItem


def batch_on(config: pytest.Config) -> bool:
    """``--pc-batch`` (``--pc-batch-submit-only`` implies it)."""
    option = config.option
    return bool(option.pc_batch or option.pc_batch_submit_only)


def batch_phase(config: pytest.Config, state: PromptSession, items: list[PromptItem]) -> list[PromptItem]:
    """Run the batches of ``items`` (the only process; never a replay); the items left to schedule."""
    from ..calls.batch import BatchRunner, batches
    from ..calls.batch_state import BatchStore, batches_dir

    flag = batch_on(config)
    if config.option.pc_replay or not any(batches(item.model, flag) for item in items):
        return items
    engine = state.engine
    reporter = config.pluginmanager.get_plugin("terminalreporter")

    def say(line: str) -> None:
        if reporter is not None:
            reporter.write_line(state.redactor.text(line))

    store = BatchStore(batches_dir(state.project), state.redactor)
    runner = BatchRunner(engine.context, store, engine.stores.cache, submit_only=config.option.pc_batch_submit_only,
                         say=say)  # fmt: skip
    outcome = runner.run(items, state._factory_for, flag)
    engine.stores.batched.update(outcome.answers)
    for item in items:
        reason = outcome.held.get(item.nodeid)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))
    return [item for item in items if item.nodeid not in outcome.held]


XDIST_REASON = (
    "batch mode submits one batch per model from one process before any item runs, and under pytest-xdist "
    "(-n) the controller collects no items to batch while each worker would submit its own share; "
    "drop -n (a batched run has no model work to spread over processes)"
)
