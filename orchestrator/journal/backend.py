"""What an SQL backend supplies, and the queue of group commit every backend shares.

A backend subclasses :class:`~orchestrator.journal.sql.SqlJournal` and
supplies a transaction that runs a list of statements, a query, and a run
lock. Queued steps reach the database with the next durable step or
:meth:`QueuedJournal.flush`.

One transaction at a time per process: a backend whose transactions await
(PostgreSQL's pool) would otherwise run two at once, which can deadlock on
the rows they share, and a flush that found the queue already taken by a
commit still in flight would return before its steps were durable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import anyio

from orchestrator.journal.columns import dumps
from orchestrator.timestamps import stamp

Statement = tuple[str, tuple[Any, ...]]
HIGH_WATER = 1024  # queued statements and events before a producer waits for a commit


class QueuedJournal:
    """The group-commit queue over a database that a backend connects to and locks."""

    def __init__(self) -> None:
        self._pending: list[Statement] = []
        self._events: list[tuple[Any, ...]] = []
        # One transaction in flight (see the module doc). A semaphore of one, not a
        # Lock: a Lock looks up the current task on every acquire and release.
        self._committing = anyio.Semaphore(1, fast_acquire=True)

    # ----- what a backend supplies -----------------------------------------

    @property
    def location(self) -> str:
        """Where the journal is, for messages (never holds a password)."""
        raise NotImplementedError

    async def _transaction(
        self, statements: Sequence[Statement], events: Sequence[Any], guard: Statement | None = None
    ) -> bool:
        """Run ``statements``, then insert ``events``, in one committed transaction.

        With a ``guard``, it runs first; if it changes no row, nothing is
        written and the answer is False.
        """
        raise NotImplementedError

    async def _query(self, sql: str, params: tuple[Any, ...]) -> list[Mapping[str, Any]]:
        """Rows of a SELECT, as mappings by column name."""
        raise NotImplementedError

    async def lock(self, run_id: str) -> None:
        """Become the only process driving ``run_id``."""
        raise NotImplementedError

    async def unlock(self, run_id: str) -> None:
        """Release ``run_id``."""
        raise NotImplementedError

    async def _disconnect(self) -> None:
        """Close the connection (queued steps are already committed)."""
        raise NotImplementedError

    # ----- the queue ---------------------------------------------------------

    async def aclose(self) -> None:
        """Commit what is queued, release this process's run locks, close (even if it fails)."""
        try:
            await self.flush()
        finally:
            await self._disconnect()

    async def flush(self) -> None:
        """Commit every queued step now (or wait for the commit that took them)."""
        if self._pending or self._events or self._committing_now():
            await self._commit(())

    async def keep_up(self) -> None:
        """Wait for a commit when the queue has grown past :data:`HIGH_WATER` steps.

        Producers that queue without ever waiting (planning 100,000 items)
        would otherwise outrun a slower database, and the queue, holding every
        step's serialized content, would grow with the plan.
        """
        if len(self._pending) + len(self._events) >= HIGH_WATER:
            await self.flush()

    async def _commit(self, statements: Iterable[Statement], events: Iterable[Any] = ()) -> None:
        """The queue, then ``statements``, then every event, in one transaction."""
        statements, events = list(statements), list(events)
        if self._committing_now():
            await self._committing.acquire()
        else:
            self._committing.acquire_nowait()  # no trip through the event loop (SQLite: always)
        try:
            pending, queued = self._pending, self._events
            if not (pending or queued or statements or events):
                return  # a commit in flight took this caller's steps: they are durable now
            self._pending, self._events = [], []
            try:
                await self._transaction([*pending, *statements], [*queued, *events])
            except BaseException:
                self._pending[:0], self._events[:0] = pending, queued  # nothing was written
                raise
        finally:
            self._committing.release()

    def _committing_now(self) -> bool:
        return self._committing.value == 0

    def _queue(self, sql: str, params: tuple[Any, ...]) -> None:
        self._pending.append((sql, params))

    def _event_row(self, run_id: str, seq: int | None, event: str, detail: Any) -> tuple[Any, ...]:
        return (run_id, seq, stamp(), event, dumps(detail))

    async def _select(self, sql: str, params: tuple[Any, ...]) -> list[Mapping[str, Any]]:
        await self.flush()  # a read sees every step taken so far
        return await self._query(sql, params)
