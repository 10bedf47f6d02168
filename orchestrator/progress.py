"""What the operator sees while a run works: an observer the engine reports to.

The engine calls an :class:`Observer`; the CLI picks the implementation
(a plain line per finished item here; the live display lives in
:mod:`orchestrator.display`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from orchestrator.job import Job
from orchestrator.plan import Wave


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


class LineObserver(Observer):
    """One plain line per event on stderr: for logs, pipes and CI."""

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self._stream = stream
        self._quiet = quiet
        self._done = 0
        self._total = 0

    def _print(self, text: str) -> None:
        print(text, file=self._stream or sys.stderr, flush=True)

    def run_started(self, run_id: str, jobs: Sequence[Job]) -> None:
        self._total = len(jobs)
        self._print(f"run {run_id} started: {len(jobs)} items")

    def phase(self, text: str) -> None:
        if not self._quiet:
            self._print(text)

    def wave_started(self, index: int, wave: Wave, jobs: Sequence[Job]) -> None:
        if not self._quiet:
            orgs = ", ".join(wave.orgs)
            self._print(f"wave {wave.name}: {len(jobs)} items in {orgs}")

    def item_done(self, job: Job) -> None:
        self._done += 1
        if self._quiet:
            return
        version = ""
        if job.written is not None and job.written.version is not None:
            version = f" -> v{job.written.version}"
        why = f": {job.error['message']}" if job.error and job.error.get("message") else ""
        self._print(f"[{self._done}/{self._total}] {job.org} {job.rid} {job.status}{version}{why}")

    def wave_finished(self, index: int, wave: Wave, status: str, reason: str | None) -> None:
        self._print(f"wave {wave.name} {status}" + (f": {reason}" if reason else ""))

    def waiting(self, what: str, seconds: float) -> None:
        self._print(f"waiting {seconds:.0f} s: {what}")

    def note(self, text: str) -> None:
        self._print(text)
