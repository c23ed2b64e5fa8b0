"""What a pytest-xdist worker has been told to run next, so the scheduler may start those calls.

A worker only knows ``item`` and ``nextitem`` for sure; the indices the controller sent but the
worker has not started yet sit in xdist's private ``WorkerInteractor.torun`` queue. Under
``--dist worksteal`` the controller can take queued items back, so the queue is not read there:
a worker must never make calls for items it does not run (SPEC §8). Any change in xdist's
internals makes this return nothing, which is slower but still correct.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


def queued_items(session: pytest.Session) -> Iterator[pytest.Item]:
    config = session.config
    if getattr(config.option, "dist", "no") == "worksteal":
        return
    interactor = next((p for p in config.pluginmanager.get_plugins() if type(p).__name__ == "WorkerInteractor"), None)
    queue = getattr(interactor, "torun", None)
    if queue is None or not hasattr(queue, "lock"):
        return
    try:
        with queue.lock() as pending:
            indices = [i for i in pending if isinstance(i, int)]
    except Exception:  # xdist internals changed: fall back to item + nextitem only
        return
    for index in indices:
        if 0 <= index < len(session.items):
            yield session.items[index]
