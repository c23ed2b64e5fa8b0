"""Which model calls to start ahead of the items that will run.

pytest runs items in order on the main thread. The scheduler knows the items that will run (all
of them after collection and deselection; under pytest-xdist only those the controller already
sent to this worker) and submits their calls to the engine ahead of time, up to a window per
model of several times its concurrency limit: enough to keep the limit full, small enough that
``-x`` / ``--maxfail`` waste little. Each item then waits only for its own calls in its setup.

The window counts the calls still under way (in flight, waiting for a slot, backing off before a
retry), not those already answered: an item at the head whose call sleeps through a Retry-After
must not stall the calls behind it (head-of-line blocking made 20% injected faults cost 2x the
fault-free time). Answered calls waiting for their item are capped separately (``AHEAD_FACTOR``),
which bounds what ``-x`` can waste. While an item waits for its calls, the scheduler keeps topping
up (:meth:`CallScheduler.wait`).
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..config_models import ModelConfig
from ..errors import ConfigError
from .engine import Engine
from .limits import concurrency_limit
from .plan import Call

if TYPE_CHECKING:
    from ..config import ProjectConfig
    from ..providers.base import Completion, ProviderFactory

WINDOW_FACTOR = 4  # calls under way ahead per model, as a multiple of its concurrency limit
AHEAD_FACTOR = 16  # calls submitted and not yet taken by their item (answered or not), same multiple
_TOP_UP_TICK_S = 0.05  # how often a waiting item lets the scheduler submit what answered calls made room for


class PromptItem(Protocol):
    """What the scheduler needs of an item (``items.item.PromptItem``, not imported: it sits above)."""

    @property
    def nodeid(self) -> str: ...

    @property
    def model(self) -> ModelConfig: ...

    def planned_calls(self) -> list[Call]: ...


@dataclass
class ScheduledItem:
    planned: list[Call]
    futures: list[concurrent.futures.Future[Completion]]
    undone: int = 0  # futures whose done-callback has not run yet
    counted: bool = True  # still in its model's count of calls under way (until its item takes it)


class CallScheduler:
    """Submits calls of upcoming items in run order, keeping each model's window of outstanding calls."""

    def __init__(
        self, engine: Engine, project: ProjectConfig, factory_for: Callable[[PromptItem], ProviderFactory | None]
    ) -> None:
        self.engine = engine
        self.project = project
        self.factory_for = factory_for
        self._order: list[PromptItem] = []
        self._known: set[str] = set()
        self._next = 0
        self._submitted: dict[str, ScheduledItem] = {}
        self._outstanding: Counter[str] = Counter()  # submitted, not yet taken by their item, per model
        self._lock = threading.Lock()
        self._windows: dict[str, int] = {}
        # Calls under way per model, kept by done-callbacks (from the engine's thread) instead of
        # scanning every future of the window on each top-up (6% of a 1,000-call run's CPU).
        self._under_way_count: Counter[str] = Counter()
        self._count_lock = threading.Lock()  # never held while taking ``_lock``

    def upcoming(self, items: Iterable[PromptItem]) -> None:
        """Items that will run, in run order (appended after those already known), and start their calls."""
        with self._lock:
            for item in items:
                if item.nodeid not in self._known:
                    self._known.add(item.nodeid)
                    self._order.append(item)
            self._top_up()

    def take(self, item: PromptItem) -> ScheduledItem:
        """The item's calls (submitting them now if they were not yet); frees its share of the window."""
        with self._lock:
            scheduled = self._submitted.get(item.nodeid) or self._submit(item)
            self._outstanding[item.model.name] -= len(scheduled.futures)
            with self._count_lock:
                if scheduled.counted:
                    scheduled.counted = False
                    self._under_way_count[item.model.name] -= scheduled.undone
            self._top_up()
            return scheduled

    def wait(self, scheduled: ScheduledItem) -> list[Completion]:
        """The item's completions in order (the first failed call's error is raised, as ``result()``
        would); meanwhile calls of later items are submitted as answered ones make room."""
        for future in scheduled.futures:
            while not future.done():
                concurrent.futures.wait([future], timeout=_TOP_UP_TICK_S)
                with self._lock:
                    self._top_up()
            future.result()
        return [future.result() for future in scheduled.futures]

    def _under_way(self, model: str) -> int:
        return self._under_way_count[model]

    def _count(self, scheduled: ScheduledItem, model: str) -> None:
        """Count the item's calls as under way until each one is done (or its item takes them)."""

        def done(_: concurrent.futures.Future[Completion]) -> None:
            with self._count_lock:
                scheduled.undone -= 1
                if scheduled.counted:
                    self._under_way_count[model] -= 1

        with self._count_lock:
            scheduled.undone = len(scheduled.futures)
            self._under_way_count[model] += scheduled.undone
        for future in scheduled.futures:
            future.add_done_callback(done)  # runs at once for a future already answered (cache, replay)

    def _window(self, item: PromptItem) -> int:
        window = self._windows.get(item.model.name)
        if window is None:
            window = self._windows[item.model.name] = WINDOW_FACTOR * concurrency_limit(item.model, self.project)
        return window

    def _has_room(self, item: PromptItem) -> bool:
        name, window = item.model.name, self._window(item)
        if self._outstanding[name] >= window * AHEAD_FACTOR // WINDOW_FACTOR:
            return False
        return self._outstanding[name] < window or self._under_way(name) < window

    def _top_up(self) -> None:
        while self._next < len(self._order):
            item = self._order[self._next]
            if item.nodeid not in self._submitted:
                if not self._has_room(item):
                    return  # keep run order: later items wait until this one's model has room
                self._submit(item)
            self._next += 1

    def _submit(self, item: PromptItem) -> ScheduledItem:
        planned = item.planned_calls()
        factory = self.factory_for(item)
        if factory is None:
            error: concurrent.futures.Future[Completion] = concurrent.futures.Future()
            error.set_exception(ConfigError(f"model {item.model.name!r}: provider {item.model.provider!r} unknown"))
            futures = [error for _ in planned]
        else:
            futures = [self.engine.submit(item.model, factory, call.request) for call in planned]
        scheduled = self._submitted[item.nodeid] = ScheduledItem(planned, futures)
        self._outstanding[item.model.name] += len(futures)
        self._count(scheduled, item.model.name)
        return scheduled
