"""The journal as the rest of the program sees it: one ``Protocol``, no SQL.

The engine asks for what it needs (record an intent, read a run, store a
snapshot); each backend decides how. Two promises every backend keeps:

- **Intents are durable before their request leaves.** :meth:`Journal.record_intent`
  returns only once the intent is committed.
- **Everything else may be group-committed**: queued and committed with the
  next intent, the next run or wave change, an explicit :meth:`Journal.flush`,
  or within a fraction of a second. A crash loses at most that fraction,
  which ``resume`` reconciles from the live state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from orchestrator.journal.rows import (
    Event,
    Finished,
    ItemRow,
    NewItem,
    Planned,
    RunRow,
    Snapshot,
    WaveRow,
)
from orchestrator.statuses import RunStatus, Status, WaveStatus


class Journal(Protocol):
    """Runs, waves, items, their audit trail, and the snapshot store."""

    @property
    def location(self) -> str:
        """Where the journal is, for messages (never holds a password)."""
        ...

    def close(self) -> None:
        """Commit what is queued, release this process's run locks, close."""
        ...

    def flush(self) -> None:
        """Commit every queued step now."""
        ...

    # ----- runs -------------------------------------------------------------

    def create_run(
        self,
        *,
        run_id: str,
        plan_name: str,
        plan_path: str,
        plan_sha256: str,
        started_at: str,
        actor: str,
        waves: Sequence[tuple[str, int]],
        items: Sequence[NewItem],
    ) -> None:
        """Record a new run with its waves and items (state ``new``), all at once."""
        ...

    def run(self, run_id: str) -> RunRow:
        """The run called ``run_id``.

        Raises:
            JournalError: no such run.
        """
        ...

    def runs(self, limit: int = 50) -> list[RunRow]:
        """The most recent runs, newest first."""
        ...

    def latest_unfinished(self) -> RunRow | None:
        """The most recent run that ``resume`` could continue."""
        ...

    def set_run_status(
        self,
        run_id: str,
        status: RunStatus,
        *,
        reason: str | None = None,
        http: dict[str, int] | None = None,
    ) -> None:
        """Record the run's status; a final status also records the finish time."""
        ...

    def lock(self, run_id: str) -> None:
        """Become the only process driving ``run_id``; released when the process dies.

        Raises:
            JournalError: another live process holds the run.
        """
        ...

    def unlock(self, run_id: str) -> None:
        """Release ``run_id``."""
        ...

    # ----- waves ------------------------------------------------------------

    def waves(self, run_id: str) -> list[WaveRow]:
        """The run's waves in order."""
        ...

    def update_wave(
        self,
        run_id: str,
        idx: int,
        status: WaveStatus,
        *,
        failed: int | None = None,
        reason: str | None = None,
    ) -> None:
        """Record a wave's progress; times are set on start and on a final status."""
        ...

    def approve_wave(self, run_id: str, idx: int, by: str) -> None:
        """Record that ``by`` passed the wave's approval gate."""
        ...

    # ----- items ------------------------------------------------------------

    def items(self, run_id: str) -> list[ItemRow]:
        """Every item of the run, in plan order."""
        ...

    def status_counts(self, run_id: str) -> dict[Status | None, int]:
        """How many of the run's items have each final status (None: not final yet)."""
        ...

    def record_planned(self, run_id: str, seq: int, planned: Planned) -> None:
        """The item's live state and resolved target, as planning saw them."""
        ...

    def record_intent(
        self,
        run_id: str,
        seq: int,
        *,
        expected_version: int | None,
        etag: str | None,
        attempts: int,
        conflicts: int,
        requests: int,
    ) -> None:
        """Durable before it returns: a write is about to leave."""
        ...

    def record_written(
        self, run_id: str, seq: int, *, new_version: int | None, requests: int
    ) -> None:
        """The server confirmed the write (or a re-read proved it happened)."""
        ...

    def record_done(self, run_id: str, seq: int, finished: Finished) -> None:
        """The item's final status."""
        ...

    def record_event(self, run_id: str, seq: int | None, event: str, detail: Any = None) -> None:
        """Append one audit event (conflict, retry, gate decision...)."""
        ...

    def events(self, run_id: str) -> list[Event]:
        """The run's audit trail, in order."""
        ...

    # ----- snapshots --------------------------------------------------------

    def add_snapshot(self, snapshot: Snapshot) -> None:
        """Store one resource's content as of ``snapshot.taken_at``."""
        ...

    def snapshots(self, kind: str, resource_id: str) -> list[Snapshot]:
        """Every stored snapshot of one resource, oldest first."""
        ...
