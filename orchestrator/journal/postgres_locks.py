"""Resource locks on PostgreSQL: session advisory locks on one connection, let go of lazily.

A write holds its resource for a few milliseconds. Taking it and letting it
go were two round trips per item, each about a quarter of a millisecond of
the client's CPU: a fifth of a rollback's cost on this journal. A release
now waits for the next lock this process takes and goes in the same
message; when none comes, it goes on its own within :data:`RELEASE_SECONDS`.
Another process waiting for that resource polls every
:data:`RESOURCE_POLL_SECONDS`, so it waits at most that much longer, and a
process that dies drops every lock it held with its session, released or not.
A lock's message may carry one query more (a rider): the target of the item
about to be written, read back without a round trip of its own.

The timer is asyncio's: the journal has no task group of its own to start a
task in, and the process runs on asyncio anyway (aiohttp and psycopg's
async connections need it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import psycopg

from orchestrator.errors import JournalError
from orchestrator.journal.backend import Statement
from orchestrator.logs import get_logger

RESOURCE_POLL_SECONDS = 0.05
RELEASE_SECONDS = 0.05

_TAKE = "SELECT pg_try_advisory_lock(hashtextextended(%s, 1))"
_RELEASE = "SELECT pg_advisory_unlock(hashtextextended(%s, 1))"

_log = get_logger()


class AdvisoryResources:
    """One writer per resource among every process on one database."""

    def __init__(self, url: str, location: str) -> None:
        self._url = url
        self._location = location  # the URL, password masked
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._opening = anyio.Lock()  # items starting together open it once
        self._releases: list[str] = []  # let go of, not yet sent
        self._timer: asyncio.TimerHandle | None = None
        self._sending: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def hold(
        self, key: str, rider: Statement | None = None
    ) -> AsyncIterator[tuple[bool, Any]]:
        """Hold ``key``, polling while another session has it.

        Yields whether it waited, and the first row of ``rider`` (a query in
        psycopg's placeholders, sent in the message that took the lock; None
        without one, or when it found no row).
        """
        conn = await self._connection()
        waited = False
        while not (taken := await self._take(conn, key, rider))[0]:
            waited = True
            await anyio.sleep(RESOURCE_POLL_SECONDS)
        try:
            yield waited, taken[1]
        finally:
            self._releases.append(key)
            if self._timer is None:
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(RELEASE_SECONDS, self._send_soon)

    async def close(self) -> None:
        """End the session: PostgreSQL drops its locks, released or not."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sending is not None:
            self._sending.cancel()  # the session ends: nothing is left for it to release
            self._sending = None
        self._releases.clear()
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is not None:  # open: no lock to take on every write
            return self._conn
        async with self._opening:
            if self._conn is None:
                try:
                    self._conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
                except psycopg.Error as exc:
                    raise self._failure(exc) from None
            return self._conn

    async def _take(
        self, conn: psycopg.AsyncConnection[Any], key: str, rider: Statement | None
    ) -> tuple[bool, Any]:
        """Try ``key``, in one message after every release not yet sent, then ``rider``.

        Shielded: the releases it carries must reach the server, and a lock
        taken as a cancel arrives is let go of by :meth:`hold`'s ``finally``.
        """
        releases, self._releases = self._releases, []
        with anyio.CancelScope(shield=True):
            try:
                async with psycopg.AsyncClientCursor(conn) as cur:
                    text = _message(cur, releases, key)
                    if rider is not None:
                        text += ";" + cur.mogrify(*rider)
                    await cur.execute(text)
                    for _ in releases:  # one result per release, then the lock's
                        cur.nextset()
                    taken = await cur.fetchone()
                    ridden = await cur.fetchone() if rider is not None and cur.nextset() else None
            except psycopg.Error as exc:
                raise self._failure(exc) from None
        return bool(taken and taken[0]), ridden

    def _send_soon(self) -> None:
        """The timer: no lock came to carry the releases; send them on their own."""
        self._timer = None
        if self._releases and self._sending is None:
            self._sending = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        try:
            while self._releases and self._conn is not None:
                releases, self._releases = self._releases, []
                async with psycopg.AsyncClientCursor(self._conn) as cur:
                    await cur.execute(_message(cur, releases, None))
        except psycopg.Error as exc:
            # The session is broken, and PostgreSQL drops a broken session's locks.
            _log.warning("resource locks not released", journal=self._location, error=str(exc))
        finally:
            self._sending = None

    def _failure(self, exc: psycopg.Error) -> JournalError:
        return JournalError(f"journal {self._location}: resource locks: {why(exc)}")


def why(exc: BaseException) -> str:
    """A driver error's first line: what PostgreSQL or libpq said."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _message(cur: psycopg.AsyncClientCursor[Any], releases: Sequence[str], take: str | None) -> str:
    """The statements, values bound: each release, then the lock to take."""
    parts = [cur.mogrify(_RELEASE, (key,)) for key in releases]
    if take is not None:
        parts.append(cur.mogrify(_TAKE, (take,)))
    return ";".join(parts)
