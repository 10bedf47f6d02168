"""The journal as the rest of the program sees it: one ``Protocol``, no SQL.

The engine asks for what it needs (record an intent, read a run, store a
snapshot); each backend decides how. Two promises every backend keeps:

- **Intents are durable before their request leaves.** ``await
  record_intent(...)`` returns only once the intent is committed.
- **Everything else is queued** (the plain methods: ``record_planned``,
  ``record_written``, ``record_done``, ``record_event``, ``add_snapshot``)
  and committed with the next durable step (an intent, a run or wave
  change) or by :meth:`Journal.flush`, which the engine calls every
  quarter second while a run is under way. A crash loses at most that
  quarter second of them, which ``resume`` reconciles from the live state.

Reads flush the queue first, so they see every step taken so far.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from orchestrator.journal.rows import (
    Event,
    Finished,
    ItemRow,
    NewItem,
    Planned,
    RunRow,
    ShardRow,
    Snapshot,
    WaveRow,
)
from orchestrator.statuses import RunStatus, Status, WaveStatus

FLUSH_SECONDS = 0.25
"""While a run is under way, the longest a queued step waits for its commit."""


class Journal(Protocol):
    """Runs, waves, items, their audit trail, and the snapshot store."""

    @property
    def location(self) -> str:
        """Where the journal is, for messages (never holds a password)."""
        ...

    async def aclose(self) -> None:
        """Commit what is queued, release this process's run locks, close."""
        ...

    async def flush(self) -> None:
        """Commit every queued step now."""
        ...

    async def keep_up(self) -> None:
        """Wait for a commit if so many steps are queued that memory would grow with the plan."""
        ...

    # ----- runs -------------------------------------------------------------

    async def create_run(
        self,
        *,
        run_id: str,
        plan_name: str,
        plan_path: str,
        plan_sha256: str,
        started_at: str,
        actor: str,
        waves: Sequence[tuple[str, int, bool]],  # name, items, whether it needs approval
        items: Sequence[NewItem],
        shards: int | None = None,
    ) -> bool:
        """Record a new run with its waves and items (state ``new``), all at once.

        False, and nothing written, when a run of that id exists already.
        """
        ...

    async def run(self, run_id: str) -> RunRow:
        """The run called ``run_id``.

        Raises:
            JournalError: no such run.
        """
        ...

    async def runs(self, limit: int = 50) -> list[RunRow]:
        """The most recent runs, newest first."""
        ...

    async def latest_unfinished(self) -> RunRow | None:
        """The most recent run that ``resume`` could continue."""
        ...

    async def set_run_status(
        self,
        run_id: str,
        status: RunStatus,
        *,
        reason: str | None = None,
        http: dict[str, int] | None = None,
    ) -> None:
        """Record the run's status; a final status also records the finish time."""
        ...

    async def lock(self, run_id: str) -> None:
        """Become the only process driving ``run_id``; released when the process dies.

        Raises:
            JournalError: another live process holds the run.
        """
        ...

    async def unlock(self, run_id: str) -> None:
        """Release ``run_id``."""
        ...

    def resource_lock(
        self, key: str, *, item: tuple[str, int] | None = None
    ) -> AbstractAsyncContextManager[bool]:
        """Hold one resource against every other run on this journal while it is written.

        Waits while another process holds it; yields True if it had to wait
        (the caller must then re-read before deciding anything). ``item``
        (run id, seq): the item about to be written, whose target
        :meth:`target_text` is asked for next; a networked backend may bring
        it back in the same round trip as the lock.
        """
        ...

    # ----- waves ------------------------------------------------------------

    async def waves(self, run_id: str) -> list[WaveRow]:
        """The run's waves in order."""
        ...

    async def update_wave(
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

    async def approve_wave(self, run_id: str, idx: int, by: str) -> None:
        """Record that ``by`` passed the wave's approval gate."""
        ...

    # ----- items ------------------------------------------------------------

    async def items(self, run_id: str) -> list[ItemRow]:
        """Every item of the run, in plan order."""
        ...

    def item_pages(
        self, run_id: str, *, wave: str | None = None, errors_only: bool = False
    ) -> AsyncIterator[list[ItemRow]]:
        """The run's items in plan order, a page at a time, without target content."""
        ...

    async def write_correlation_ids(
        self, run_id: str, first: int, last: int
    ) -> dict[int, list[str]]:
        """Items ``first``..``last``: the correlation id of each write that may have landed."""
        ...

    def event_pages(self, run_id: str) -> AsyncIterator[list[Event]]:
        """The run's audit trail in order, a page at a time."""
        ...

    async def item_keys(self, run_id: str, seqs: Sequence[int]) -> dict[int, tuple[str, str, str]]:
        """Items ``seqs`` of the run: their org, kind and resource id."""
        ...

    async def run_events(self, run_id: str, names: Sequence[str]) -> list[Event]:
        """The run's events with these names, in order."""
        ...

    async def shard_counts(self, run_id: str) -> dict[int | None, tuple[int, int]]:
        """Per shard: its items, and how many of them are final."""
        ...

    async def status_counts(self, run_id: str) -> dict[Status | None, int]:
        """How many of the run's items have each final status (None: not final yet)."""
        ...

    async def target_text(self, run_id: str, seq: int) -> str | None:
        """The target content planning recorded for item ``seq``, as JSON text (None: none)."""
        ...

    def record_planned(self, run_id: str, seq: int, planned: Planned) -> None:
        """Queued: the item's live state and resolved target, as planning saw them."""
        ...

    async def record_intent(
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
        self,
        run_id: str,
        seq: int,
        *,
        new_version: int | None,
        requests: int,
        correlation_id: str | None = None,
    ) -> None:
        """Queued: the server confirmed the write (or a re-read proved it happened).

        ``correlation_id`` is the write's ININ-Correlation-Id (None when a re-read
        proved it): the key into Genesys Cloud's audit log.
        """
        ...

    def record_done(self, run_id: str, seq: int, finished: Finished) -> None:
        """Queued: the item's final status."""
        ...

    def record_event(self, run_id: str, seq: int | None, event: str, detail: Any = None) -> None:
        """Queued: one audit event (conflict, retry, gate decision...)."""
        ...

    async def events(self, run_id: str) -> list[Event]:
        """The run's audit trail, in order."""
        ...

    # ----- shards: one run, several processes ---------------------------------

    async def claim(self, run_id: str, name: str, by: str) -> bool:
        """Take the run-wide decision called ``name``; False if another process has."""
        ...

    async def beat(
        self,
        run_id: str,
        idx: int,
        *,
        state: str,
        wave: int | None,
        holder: str,
        actor: str,
        note: str | None = None,
        http: dict[str, int] | None = None,
    ) -> None:
        """Durable: a shard's heartbeat, saying what it is doing."""
        ...

    async def shards(self, run_id: str) -> list[ShardRow]:
        """Every shard of the run that has started, with its items' progress."""
        ...

    async def wave_counts(
        self, run_id: str, wave: str, reopened: Collection[str] = ()
    ) -> dict[Status | None, int]:
        """How many of a wave's items, in every shard, have each status.

        None: not final, or skipped for one of the ``reopened`` codes.
        """
        ...

    async def close_wave(
        self, run_id: str, idx: int, status: WaveStatus, *, failed: int, reason: str | None
    ) -> bool:
        """Record a running wave's final status once; False if it was closed already."""
        ...

    async def settle_run(self, run_id: str, status: RunStatus, *, reason: str | None) -> bool:
        """Record a running run's final status once; False if it was settled already."""
        ...

    # ----- pacing -----------------------------------------------------------

    async def record_pause(self, org: str, until: str, run_id: str | None) -> None:
        """Durable before it returns: ``org``'s server asked for a pause until ``until``."""
        ...

    async def pauses(self, orgs: Sequence[str]) -> dict[str, str]:
        """The latest pause each of ``orgs`` was given (org -> until stamp)."""
        ...

    # ----- snapshots --------------------------------------------------------

    def add_snapshot(self, snapshot: Snapshot) -> None:
        """Queued: one resource's content as of ``snapshot.taken_at``."""
        ...

    async def snapshots(self, kind: str, resource_id: str) -> list[Snapshot]:
        """Every stored snapshot of one resource, oldest first."""
        ...
