"""SIGINT and SIGTERM during a run: stop new writes, finish what is in flight.

The first signal stops new writes (the requests in flight finish and are
recorded); a second one stops at once. Outside a run a signal must never be
raised as ``KeyboardInterrupt`` inside the event loop: landing in the middle
of the PostgreSQL pool's connection attempt, it left the pool's worker task
uncancellable and the process hanging at exit. So the command line calls
:func:`catch_early` first: a signal before the run is under way is kept and
handed to the run as its first one (it stops at once, with its report); one
after the run has ended is ignored (the report is on its way).
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from types import FrameType

import anyio
from anyio import CancelScope

from orchestrator.engine.events import Observer

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_early: list[int] = []  # signals received before the run listened


def catch_early() -> None:
    """From now on, until a run listens, keep SIGINT/SIGTERM for it (no KeyboardInterrupt)."""
    for signum in _SIGNALS:
        signal.signal(signum, _keep)


def _keep(signum: int, frame: FrameType | None) -> None:
    _early.append(signum)


@contextmanager
def interrupts(handle: bool) -> Iterator[AsyncIterator[int] | None]:
    """SIGINT/SIGTERM queued from here on, before the run exists, so none is lost."""
    if not handle:
        yield None
        return
    try:
        with anyio.open_signal_receiver(*_SIGNALS) as signals:
            yield _after_early(signals)
    finally:
        for signum in _SIGNALS:  # the run is over: its outcome stands
            signal.signal(signum, _too_late)


async def _after_early(signals: AsyncIterator[int]) -> AsyncIterator[int]:
    """The signals kept before the run listened, then the run's own."""
    while _early:
        yield _early.pop(0)
    async for signum in signals:
        yield signum


def _too_late(signum: int, frame: FrameType | None) -> None:
    """A signal after the run ended: the report is on its way; nothing to stop."""


async def watch_signals(
    signals: AsyncIterator[int], stop: anyio.Event, scope: CancelScope, observer: Observer
) -> None:
    """The first signal stops new writes; a second stops at once."""
    async for signum in signals:
        if stop.is_set():
            observer.note("second interrupt: stopping now")
            scope.cancel()
            return
        stop.set()
        name = signal.Signals(signum).name
        observer.note(
            f"{name}: no new writes will start; finishing the requests in flight"
            f" (pid {os.getpid()}; send it again to stop at once)"
        )
