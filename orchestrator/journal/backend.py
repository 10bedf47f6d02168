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
from anyio.lowlevel import checkpoint

from orchestrator.journal.columns import dumps
from orchestrator.timestamps import stamp

Statement = tuple[str, tuple[Any, ...]]


class _Group:
    """Durable steps that wait for one commit (see :meth:`QueuedJournal.durable`)."""

    __slots__ = ("committed", "ended")

    def __init__(self) -> None:
        self.ended = anyio.Event()
        self.committed = False


class QueuedJournal:
    """The group-commit queue over a database that a backend connects to and locks."""

    def __init__(self) -> None:
        self._pending: list[Statement] = []
        self._events: list[tuple[Any, ...]] = []
        # One transaction in flight (see the module doc). A semaphore of one, not a
        # Lock: a Lock looks up the current task on every acquire and release.
        self._committing = anyio.Semaphore(1, fast_acquire=True)
        self._next: _Group | None = None  # the grouped commit not begun yet (see durable)

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

    async def durable(self) -> None:
        """Commit every queued step, grouped with the other durable steps taken meanwhile.

        The first caller waits one turn of the event loop, so that every task
        ready in that turn (other items reaching their intent) queues its steps
        and joins the same transaction; each caller returns only once a commit
        that holds its steps has ended. On a failure the caller commits again
        itself (and so meets the error, or succeeds).
        """
        while self._pending or self._events or self._committing_now():
            group = self._next
            if group is not None:  # a commit not begun yet takes our steps: wait for its end
                await group.ended.wait()
                if group.committed:
                    return
                continue
            group = self._next = _Group()
            try:
                await checkpoint()  # let the tasks ready now queue theirs
                await self._commit((), grouped=group)
                group.committed = True
            finally:
                if self._next is group:
                    self._next = None
                group.ended.set()
            return

    async def _commit(
        self,
        statements: Iterable[Statement],
        events: Iterable[Any] = (),
        *,
        grouped: _Group | None = None,
    ) -> None:
        """The queue, then ``statements``, then every event, in one transaction."""
        statements, events = list(statements), list(events)
        if self._committing_now():
            await self._committing.acquire()
        else:
            self._committing.acquire_nowait()  # no trip through the event loop (SQLite: always)
        if grouped is not None and self._next is grouped:
            self._next = None  # it takes the queue now: a later durable step waits for the next
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
