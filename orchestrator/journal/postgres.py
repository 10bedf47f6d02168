"""The journal in PostgreSQL: one database a whole team's runs share.

Selected by a ``postgresql://`` URL (libpq's own syntax and parameters, such
as ``?host=/socket/dir`` or ``sslmode=``). psycopg 3 speaks libpq natively,
so every parameter a platform team already uses for its database works as
is; its pool lets reads proceed while a commit is under way.

- Intents are durable before they return, as on SQLite; concurrent
  intents share one commit (see :class:`~orchestrator.journal.backend.QueuedJournal`),
  and a commit is one message and one round trip, however many steps it carries.
- The run lock is a session advisory lock on a connection of its own:
  PostgreSQL releases it when that connection dies, so a crashed holder
  never blocks a restart.
- The password in the URL is registered as a secret the moment it is read
  and never shown: :attr:`PostgresJournal.location` masks it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from orchestrator.errors import JournalError
from orchestrator.journal.backend import Statement
from orchestrator.journal.postgres_locks import RESOURCE_POLL_SECONDS, AdvisoryResources, why
from orchestrator.journal.postgres_schema import MIGRATIONS, SCHEMA_VERSION
from orchestrator.journal.sql import EVENT_INSERT, SqlJournal
from orchestrator.logs import register_secret
from orchestrator.timestamps import stamp

_MIGRATION_LOCK = 0x6F7263686573  # "orches": one migrator at a time
POOL_SIZE = 4
HOLDER_POLLS = 40  # 2 s: the time a holder takes to write its name after its lock


def masked(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(unreadable URL)"
    password = info.get("password")
    if password:
        register_secret(str(password))
        return url.replace(str(password), "***")
    return url


_TARGET = "SELECT target_fields FROM items WHERE run_id = %s AND seq = %s"
_EVENTS_INTO, _, _values = EVENT_INSERT.partition(" VALUES ")
_EVENT_ROW = _values.replace("?", "%s")


def _placeholders(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresJournal(SqlJournal):
    """The PostgreSQL journal. Open with :meth:`connect` (it is async)."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = url
        self._location = masked(url)
        self._pool: AsyncConnectionPool | None = None
        self._locks: dict[str, psycopg.AsyncConnection[Any]] = {}
        self._resources = AdvisoryResources(url, self._location)
        self._carried: dict[tuple[str, int], str] = {}  # target texts a lock's message brought

    @property
    def location(self) -> str:
        """The URL, password masked."""
        return self._location

    async def connect(self) -> None:
        """Open the pool and bring the schema up to date.

        Raises:
            JournalError: unreachable, refused, or written by a newer release.
        """
        try:
            self._pool = AsyncConnectionPool(
                self._url, min_size=1, max_size=POOL_SIZE, open=False, kwargs={"autocommit": True}
            )
            await self._pool.open(wait=True, timeout=15.0)
            await self._migrate()
        except (psycopg.Error, TimeoutError) as exc:
            await self._disconnect()
            raise JournalError(f"cannot open journal {self.location}: {why(exc)}") from None

    async def _migrate(self) -> None:
        assert self._pool is not None
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            found = await _schema_version(conn)
            if found > SCHEMA_VERSION:
                raise JournalError(
                    f"journal {self.location} has schema version {found}, written by a newer"
                    f" orchestrator; this one knows up to version {SCHEMA_VERSION}: upgrade it"
                )
            for script in MIGRATIONS[found:]:
                await conn.execute(script.encode())
            await conn.execute(
                "INSERT INTO meta VALUES ('schema_version', %s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )

    async def _transaction(
        self, statements: Sequence[Statement], events: Sequence[Any], guard: Statement | None = None
    ) -> bool:
        assert self._pool is not None
        if guard is None:
            return await self._in_one_message(statements, events)
        try:
            # A guard must be answered before the rest is sent: a pipeline, one
            # transaction, one round trip after the guard's.
            async with (
                self._pool.connection() as conn,
                conn.pipeline() as pipeline,
                conn.transaction(),
                conn.cursor() as cur,
            ):
                if guard is not None:
                    await cur.execute(_placeholders(guard[0]), guard[1])
                    await pipeline.sync()
                    if cur.rowcount < 1:
                        raise _Refused
                for sql, params in statements:
                    await cur.execute(_placeholders(sql), params)
                if events:
                    await cur.executemany(_placeholders(EVENT_INSERT), events)
            return True
        except _Refused:
            return False  # leaving the block by this exception rolled the transaction back
        except psycopg.Error as exc:
            raise JournalError(f"journal {self.location}: {why(exc)}") from None

    async def _in_one_message(self, statements: Sequence[Statement], events: Sequence[Any]) -> bool:
        """Every statement, then every event, in one simple-query message.

        PostgreSQL runs the statements of one such message as one implicit
        transaction: all are committed, or (one fails) none is. The values are
        bound client-side (psycopg quotes them as literals), so a commit of
        a thousand queued steps is one string and one round trip. A pipeline
        of the same statements with server-side binding cost the client over
        three times the CPU (about 650 µs for an intent's nine, against 200).
        """
        assert self._pool is not None
        try:
            async with self._pool.connection() as conn, psycopg.AsyncClientCursor(conn) as cur:
                parts = [cur.mogrify(_placeholders(sql), params) for sql, params in statements]
                if events:
                    rows = ", ".join(cur.mogrify(_EVENT_ROW, row) for row in events)
                    parts.append(f"{_EVENTS_INTO} VALUES {rows}")
                if parts:
                    await cur.execute(";\n".join(parts))
            return True
        except psycopg.Error as exc:
            raise JournalError(f"journal {self.location}: {why(exc)}") from None

    async def _query(self, sql: str, params: tuple[Any, ...]) -> list[Mapping[str, Any]]:
        assert self._pool is not None
        try:
            async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(_placeholders(sql), params)
                return list(await cur.fetchall())
        except psycopg.Error as exc:
            raise JournalError(f"journal {self.location}: {why(exc)}") from None

    @asynccontextmanager
    async def resource_lock(
        self, key: str, *, item: tuple[str, int] | None = None
    ) -> AsyncIterator[bool]:
        """One writer per resource among every process on this database (advisory lock).

        ``item``: the target content of that item (run id, seq) comes back in
        the lock's message, for :meth:`target_text` to answer from while it is held.
        """
        rider = None if item is None else (_TARGET, item)
        async with self._resources.hold(key, rider) as (waited, row):
            if item is not None and row is not None and row[0] is not None:
                self._carried[item] = row[0]
            try:
                yield waited
            finally:
                if item is not None:
                    self._carried.pop(item, None)

    async def target_text(self, run_id: str, seq: int) -> str | None:
        """As :meth:`SqlJournal.target_text`; taken from the lock's message when it brought it."""
        carried = self._carried.pop((run_id, seq), None)
        if carried is not None:
            return carried
        return await super().target_text(run_id, seq)

    async def lock(self, run_id: str) -> None:
        """Hold ``run_id`` through a session advisory lock on a connection of its own.

        Raises:
            JournalError: another live session holds it.
        """
        conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
        cur = await conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (run_id,))
        row = await cur.fetchone()
        if not row or not row[0]:
            await conn.close()
            who = await self._holder(run_id)
            raise JournalError(
                f"run {run_id} is being driven by {who}; wait for it to finish, or stop it"
                " (its lock is released the moment that process's connection ends)"
            )
        self._locks[run_id] = conn
        holder_text = f"pid {os.getpid()} on {socket.gethostname()} since {stamp()}"
        await self._commit([("UPDATE runs SET holder = ? WHERE id = ?", (holder_text, run_id))])

    async def _holder(self, run_id: str) -> str:
        # The holder names itself just after its lock is taken: give it a moment.
        for _ in range(HOLDER_POLLS):
            rows = await self._select("SELECT holder FROM runs WHERE id = ?", (run_id,))
            if rows and rows[0]["holder"]:
                return str(rows[0]["holder"])
            await anyio.sleep(RESOURCE_POLL_SECONDS)
        return "another process"

    async def unlock(self, run_id: str) -> None:
        """Release ``run_id``."""
        conn = self._locks.pop(run_id, None)
        if conn is None:
            return
        await self._commit([("UPDATE runs SET holder = NULL WHERE id = ?", (run_id,))])
        await conn.close()  # the session ends: PostgreSQL drops its advisory locks

    async def _disconnect(self) -> None:
        for run_id in list(self._locks):
            await self.unlock(run_id)
        await self._resources.close()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


class _Refused(Exception):
    """A guard changed no row: the transaction is rolled back."""


async def _schema_version(conn: psycopg.AsyncConnection[Any]) -> int:
    cur = await conn.execute("SELECT to_regclass('meta') IS NOT NULL")
    exists = await cur.fetchone()
    if not exists or not exists[0]:
        return 0
    cur = await conn.execute("SELECT value FROM meta WHERE key = 'schema_version'")
    row = await cur.fetchone()
    return int(row[0]) if row else 0
