"""SIGINT and SIGTERM during a run: stop new writes, finish what is in flight.

The first signal stops new writes (the requests in flight finish and are
recorded); a second one stops at once. Once the run is over, a late signal
is noted and otherwise ignored: raised as ``KeyboardInterrupt`` into the
report's reads or the journal's close, it could leave the PostgreSQL pool's
tasks uncancellable and the process hanging at exit.
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


@contextmanager
def interrupts(handle: bool) -> Iterator[AsyncIterator[int] | None]:
    """SIGINT/SIGTERM queued from here on, before the run exists, so none is lost."""
    if not handle:
        yield None
        return
    try:
        with anyio.open_signal_receiver(*_SIGNALS) as signals:
            yield signals
    finally:
        for signum in _SIGNALS:  # the run is over: its outcome stands
            signal.signal(signum, _too_late)


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
