"""What the engine tells the outside world while it works: small frozen records.

The engine emits them; the UI (or a library user) listens through an
:class:`Observer`. Nothing here is mutable or reaches back into the engine,
so a display can keep whatever it is given, on any thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from orchestrator.errors import ItemError
from orchestrator.statuses import Status, WaveStatus


class Pace(Protocol):
    """Each org's request rate and the quota it is paced to (readable from any thread)."""

    def requests_last_minute(self, org: str) -> int:
        """Requests sent to ``org`` in the last 60 s."""
        ...

    def limit(self, org: str) -> int:
        """The quota ``org`` is paced to, per minute."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemView:
    """One item as a display needs it."""

    seq: int
    org: str
    wave: str
    id: str
    name: str | None
    status: Status | None  # final already (an earlier process finished it), or None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted:
    """The run exists in the journal; nothing has been written yet."""

    run_id: str
    items: tuple[ItemView, ...]
    pace: Pace


@dataclass(frozen=True, slots=True, kw_only=True)
class WaveStarted:
    """A wave passed its gates and starts."""

    index: int
    name: str
    orgs: tuple[str, ...]
    items: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemDone:
    """An item reached a final status (a bake's re-check may send a second one)."""

    seq: int
    org: str
    wave: str
    id: str
    name: str | None
    status: Status
    new_version: int | None
    error: ItemError | None
    duration_s: float | None = None  # from its first step in this process to its status
    # The status it was counted with until now (None: not final): a display moves it
    # from there, so no display keeps a map of every item's status.
    previous: Status | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WaveFinished:
    """A wave ended: succeeded, partial, halted or skipped."""

    index: int
    name: str
    status: WaveStatus
    reason: str | None


class Observer:
    """Receives the run's events; every method is optional to override."""

    def run_started(self, event: RunStarted) -> None:
        """The run exists in the journal (nothing has been written yet)."""

    def phase(self, text: str) -> None:
        """A new phase began (preflight, planning, a wave...)."""

    def wave_started(self, event: WaveStarted) -> None:
        """A wave passed its gates and starts."""

    def item_done(self, event: ItemDone) -> None:
        """An item reached its final status."""

    def wave_finished(self, event: WaveFinished) -> None:
        """A wave ended (succeeded, partial, halted or skipped)."""

    def waiting(self, what: str, seconds: float) -> None:
        """The run waits ``seconds`` for ``what`` (a window, a bake)."""

    def note(self, text: str) -> None:
        """Something the operator should read now."""

    def suspend(self) -> None:
        """Give the terminal back for a moment (a question); the next event takes it again."""

    def close(self) -> None:
        """The run is over; release the screen."""
