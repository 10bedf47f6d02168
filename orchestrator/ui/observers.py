"""What the operator sees while a run works: observers of the engine's events.

:func:`choose_observer` picks one for where progress goes: a live display on
a terminal (:mod:`orchestrator.ui.live`), :class:`LineObserver` for one line
per item, :class:`SummaryObserver` for pipes and CI.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from orchestrator.engine.events import ItemDone, Observer, RunStarted, WaveFinished, WaveStarted
from orchestrator.logs import printable, redact
from orchestrator.ui.counts import RunCounts, clock_text

SUMMARY_INTERVAL = 10.0  # seconds between plain summary lines off a terminal


def choose_observer(
    *,
    quiet: bool = False,
    plain: bool = False,
    stream: TextIO | None = None,
    interval: float = SUMMARY_INTERVAL,
) -> Observer:
    """The observer for where progress goes (``stream``, by default stderr).

    - ``quiet``: waves, countdowns, notes and failed items, as plain lines.
    - a terminal: the live display, or with ``plain`` one line per finished item.
    - anything else (a pipe, a file, CI): a summary line every ``interval``
      seconds, plus waves, countdowns and notes.
    """
    if quiet:
        return LineObserver(stream, quiet=True)
    if not is_terminal(stream or sys.stderr):
        return SummaryObserver(stream, interval=interval)
    if plain:
        return LineObserver(stream)
    from orchestrator.ui.live import LiveObserver  # rich loads only when it draws

    return LiveObserver(stream or sys.stderr)


def is_terminal(stream: TextIO) -> bool:
    """A terminal that can move its cursor (not ``TERM=dumb``, as in some CI and editors)."""
    if os.environ.get("TERM") in ("dumb", "unknown"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or minimal stream: not a terminal
        return False


class _Printer:
    """Whole lines to a stream, one ``write`` each, so two threads never split a line.

    Lines carry server text (error messages): control characters are escaped.
    """

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, text: str) -> None:
        out = self._stream or sys.stderr  # resolved now: a display may have redirected it
        with self._lock:
            out.write(printable(redact(text)) + "\n")
            out.flush()


def wave_line(event: WaveStarted) -> str:
    """``wave rest: 15 items in emea-prod, amer-prod`` (long org lists shortened)."""
    orgs = ", ".join(event.orgs[:6]) + (
        f" and {len(event.orgs) - 6} more" if len(event.orgs) > 6 else ""
    )
    return f"wave {event.name}: {event.items} items in {orgs}"


def finished_line(event: WaveFinished) -> str:
    """``wave rest halted: why``."""
    return f"wave {event.name} {event.status}" + (f": {event.reason}" if event.reason else "")


class LineObserver(Observer):
    """One plain line per finished item on stderr: ``--plain`` on a terminal.

    With ``quiet``, only waves, countdowns, notes and failed items.
    """

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self._print = _Printer(stream)
        self._quiet = quiet
        self._counts = RunCounts()

    def run_started(self, event: RunStarted) -> None:
        self._counts.start(event)
        self._print(f"run {event.run_id} started: {len(event.items)} items")

    def phase(self, text: str) -> None:
        if not self._quiet:
            self._print(text)

    def wave_started(self, event: WaveStarted) -> None:
        self._print(wave_line(event))

    def item_done(self, event: ItemDone) -> None:
        self._counts.item_done(event)
        if self._quiet and not event.status.is_failure:
            return
        version = f" -> v{event.new_version}" if event.new_version is not None else ""
        why = f": {event.error.message}" if event.error and event.error.message else ""
        count = self._counts.count
        self._print(
            f"[{count.done}/{count.total}] {event.org} {event.id} {event.status}{version}{why}"
        )

    def wave_finished(self, event: WaveFinished) -> None:
        self._print(finished_line(event))

    def waiting(self, what: str, seconds: float) -> None:
        self._print(f"waiting {clock_text(seconds)}: {what}")

    def note(self, text: str) -> None:
        self._print(text)


class SummaryObserver(Observer):
    """For pipes and CI: a summary line at a steady interval, plus waves, countdowns, notes.

    The ticker is a daemon thread rather than a check on each event: a change
    window or a bake can pass hours without a single event, and CI runners
    kill jobs that stay silent for minutes. A daemon thread never keeps the
    process alive, needs no task in the engine's loop, and :meth:`close` stops
    it.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._print = _Printer(stream)
        self._interval = interval
        self._counts = RunCounts(clock)
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._paused = False  # a question is on the terminal: no line under the prompt
        self._closed = False

    def run_started(self, event: RunStarted) -> None:
        self._paused = False
        self._counts.start(event)
        waves = len(self._counts.waves)
        self._print(f"run {event.run_id} started: {len(event.items)} items in {waves} wave(s)")
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._ticker.start()

    def phase(self, text: str) -> None:
        self._paused = False
        self._counts.set_phase(text)
        self._print(text)

    def wave_started(self, event: WaveStarted) -> None:
        self._paused = False
        self._counts.wave_started(event.index, event.name)
        self._print(wave_line(event))

    def item_done(self, event: ItemDone) -> None:
        self._paused = False
        self._counts.item_done(event)

    def wave_finished(self, event: WaveFinished) -> None:
        self._paused = False
        self._counts.wave_finished(event)
        self._print(finished_line(event))

    def waiting(self, what: str, seconds: float) -> None:
        self._paused = False
        self._counts.waiting(what, seconds)
        self._print(f"waiting {clock_text(seconds)}: {what}")

    def note(self, text: str) -> None:
        self._paused = False
        self._counts.note(text)
        self._print(text)

    def suspend(self) -> None:
        self._paused = True

    def close(self) -> None:
        """Stop the ticker and say where the run ended, once."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=self._interval + 1.0)
        if not self._closed and self._counts.run_id is not None:
            self._print(summary_line(self._counts, rate=False))  # the run is over: no rate
        self._closed = True

    def _tick(self) -> None:
        while not self._stop.wait(self._interval):
            if not self._paused:
                self._print(summary_line(self._counts))


def summary_line(counts: RunCounts, *, rate: bool = True) -> str:
    """``progress: 37/120 done (35 ok, 2 failed), wave rest running (eta 0:45), 212 req/min``."""
    with counts.lock:
        count = counts.count
        outcomes = [f"{count.ok} ok", f"{count.failed} failed"]
        if count.skipped:
            outcomes.append(f"{count.skipped} skipped")
        where = counts.activity()
        wave = counts.waves.get(counts.current) if counts.current else None
        eta = wave.count.eta(counts.clock()) if wave is not None else None
        if eta is not None and counts.countdown is None:
            where += f" (eta {clock_text(eta)})"
        per_minute = f", {counts.total_rate()} req/min" if rate else ""
    return f"progress: {count.done}/{count.total} done ({', '.join(outcomes)}), {where}{per_minute}"
