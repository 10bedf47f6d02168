"""What the operator sees while a run works: an observer the engine reports to.

The engine calls an :class:`Observer`; the CLI picks the implementation
(:func:`orchestrator.ui.choose.choose_observer`): a live display on a terminal
(:mod:`orchestrator.ui.live`), :class:`LineObserver` for one line per item,
:class:`SummaryObserver` for pipes and CI.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from orchestrator.engine.job import Job
from orchestrator.models import Wave
from orchestrator.ui.counts import Tally, clock_text


class Observer:
    """Receives the run's events; every method is optional to override."""

    def run_started(self, run_id: str, jobs: Sequence[Job]) -> None:
        """The run exists in the journal (nothing has been written yet)."""

    def phase(self, text: str) -> None:
        """A new phase began (preflight, planning, a wave...)."""

    def wave_started(self, index: int, wave: Wave, jobs: Sequence[Job]) -> None:
        """A wave passed its gates and starts."""

    def item_done(self, job: Job) -> None:
        """An item reached its final status."""

    def wave_finished(self, index: int, wave: Wave, status: str, reason: str | None) -> None:
        """A wave ended (succeeded, partial, halted or skipped)."""

    def waiting(self, what: str, seconds: float) -> None:
        """The run waits ``seconds`` for ``what`` (a window, a bake)."""

    def note(self, text: str) -> None:
        """Something the operator should read now."""

    def suspend(self) -> None:
        """Give the terminal back for a moment (a question); the next event takes it again."""

    def close(self) -> None:
        """The run is over; release the screen."""


class _Printer:
    """Whole lines to a stream, one ``write`` each, so two threads never split a line."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, text: str) -> None:
        out = self._stream or sys.stderr  # resolved now: a display may have redirected it
        with self._lock:
            out.write(text + "\n")
            out.flush()


def wave_line(wave: Wave, jobs: Sequence[Job]) -> str:
    """``wave rest: 15 items in emea-prod, amer-prod`` (long org lists shortened)."""
    orgs = ", ".join(wave.orgs[:6]) + (
        f" and {len(wave.orgs) - 6} more" if len(wave.orgs) > 6 else ""
    )
    return f"wave {wave.name}: {len(jobs)} items in {orgs}"


def finished_line(wave: Wave, status: str, reason: str | None) -> str:
    """``wave rest halted: why``."""
    return f"wave {wave.name} {status}" + (f": {reason}" if reason else "")


class LineObserver(Observer):
    """One plain line per finished item on stderr: ``--plain`` on a terminal.

    With ``quiet``, only waves, countdowns, notes and failed items.
    """

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self._print = _Printer(stream)
        self._quiet = quiet
        self._tally = Tally()

    def run_started(self, run_id: str, jobs: Sequence[Job]) -> None:
        self._tally.start(run_id, jobs)
        self._print(f"run {run_id} started: {len(jobs)} items")

    def phase(self, text: str) -> None:
        if not self._quiet:
            self._print(text)

    def wave_started(self, index: int, wave: Wave, jobs: Sequence[Job]) -> None:
        self._print(wave_line(wave, jobs))

    def item_done(self, job: Job) -> None:
        self._tally.item_done(job)
        assert job.status is not None
        if self._quiet and not job.status.is_failure:
            return
        version = ""
        if job.written is not None and job.written.version is not None:
            version = f" -> v{job.written.version}"
        why = f": {job.error['message']}" if job.error and job.error.get("message") else ""
        count = self._tally.count
        self._print(f"[{count.done}/{count.total}] {job.org} {job.rid} {job.status}{version}{why}")

    def wave_finished(self, index: int, wave: Wave, status: str, reason: str | None) -> None:
        self._print(finished_line(wave, status, reason))

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
        self._tally = Tally(clock)
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._paused = False  # a question is on the terminal: no line under the prompt
        self._closed = False

    def run_started(self, run_id: str, jobs: Sequence[Job]) -> None:
        self._paused = False
        self._tally.start(run_id, jobs)
        waves = len(self._tally.waves)
        self._print(f"run {run_id} started: {len(jobs)} items in {waves} wave(s)")
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._ticker.start()

    def phase(self, text: str) -> None:
        self._paused = False
        self._tally.set_phase(text)
        self._print(text)

    def wave_started(self, index: int, wave: Wave, jobs: Sequence[Job]) -> None:
        self._paused = False
        self._tally.wave_started(index, wave.name)
        self._print(wave_line(wave, jobs))

    def item_done(self, job: Job) -> None:
        self._paused = False
        self._tally.item_done(job)

    def wave_finished(self, index: int, wave: Wave, status: str, reason: str | None) -> None:
        self._paused = False
        self._tally.wave_finished(index, wave.name, status, reason)
        self._print(finished_line(wave, status, reason))

    def waiting(self, what: str, seconds: float) -> None:
        self._paused = False
        self._tally.waiting(what, seconds)
        self._print(f"waiting {clock_text(seconds)}: {what}")

    def note(self, text: str) -> None:
        self._paused = False
        self._tally.note(text)
        self._print(text)

    def suspend(self) -> None:
        self._paused = True

    def close(self) -> None:
        """Stop the ticker and say where the run ended, once."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=self._interval + 1.0)
        if not self._closed and self._tally.run_id is not None:
            self._print(summary_line(self._tally, rate=False))  # the run is over: no rate
        self._closed = True

    def _tick(self) -> None:
        while not self._stop.wait(self._interval):
            if self._paused:
                continue
            fresh = threading.Event()
            self._tally.rates.request(fresh)
            fresh.wait(0.5)  # a busy or finished loop must not stall the heartbeat
            if not self._stop.is_set():
                self._print(summary_line(self._tally))


def summary_line(tally: Tally, *, rate: bool = True) -> str:
    """``progress: 37/120 done (35 ok, 2 failed), wave rest running (eta 0:45), 212 req/min``."""
    with tally.lock:
        count = tally.count
        outcomes = [f"{count.ok} ok", f"{count.failed} failed"]
        if count.skipped:
            outcomes.append(f"{count.skipped} skipped")
        where = tally.activity()
        wave = tally.waves.get(tally.current) if tally.current else None
        eta = wave.count.eta(tally.clock()) if wave is not None else None
        if eta is not None and tally.countdown is None:
            where += f" (eta {clock_text(eta)})"
        per_minute = f", {tally.rates.total()} req/min" if rate else ""
    return f"progress: {count.done}/{count.total} done ({', '.join(outcomes)}), {where}{per_minute}"
