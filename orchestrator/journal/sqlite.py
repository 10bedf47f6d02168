"""The journal in an SQLite file: the zero-setup default.

WAL mode with ``synchronous=NORMAL``: a committed transaction survives the
process being killed at any instant. (A power cut of the whole machine may
lose the last commits; FULL sync would cost an fsync per step.) The file is
local, so every call completes at once; the methods are ``async`` because
the :class:`~orchestrator.journal.store.Journal` protocol is (a networked
backend must not block the event loop).

One process at a time drives a run, through :class:`~orchestrator.journal.lock.RunLocks`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from orchestrator.errors import JournalError
from orchestrator.journal.backend import Statement
from orchestrator.journal.lock import ResourceLocks, RunLocks
from orchestrator.journal.sql import EVENT_INSERT, SqlJournal
from orchestrator.journal.sqlite_schema import MIGRATIONS, SCHEMA_VERSION


class SqliteJournal(SqlJournal):
    """The SQLite journal of runs and the snapshot store. One per process."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(f"cannot open journal {self.path}: {exc}") from None
        folder = self.path.parent / (self.path.name + ".locks")
        self._locks = RunLocks(folder)
        self._resources = ResourceLocks(folder)

    @property
    def location(self) -> str:
        """The file's path."""
        return str(self.path)

    def _migrate(self) -> None:
        """Bring the file to :data:`SCHEMA_VERSION`; refuse one from a newer release."""
        found = self._schema_version()
        if found > SCHEMA_VERSION:
            raise JournalError(
                f"journal {self.path} has schema version {found}, written by a newer"
                f" orchestrator; this one knows up to version {SCHEMA_VERSION}: upgrade it"
            )
        if found == SCHEMA_VERSION:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for script in MIGRATIONS[found:]:
                for statement in script.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _schema_version(self) -> int:
        has_meta = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        if not has_meta:
            return 0
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 1  # a v1 file that never wrote its version

    async def _transaction(self, statements: Sequence[Statement], events: Sequence[Any]) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in statements:
                self._db.execute(sql, params)
            self._db.executemany(EVENT_INSERT, events)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    async def _query(self, sql: str, params: tuple[Any, ...]) -> list[Mapping[str, Any]]:
        return [dict(row) for row in self._db.execute(sql, params)]

    def resource_lock(self, key: str) -> AbstractAsyncContextManager[bool]:
        """One writer per resource among the processes sharing this file (a polled ``flock``)."""
        return self._resources.hold(key)

    async def lock(self, run_id: str) -> None:
        """Become the only process driving ``run_id`` (an exclusive ``flock``).

        Raises:
            JournalError: another live process holds the run.
        """
        holder = self._locks.take(run_id)
        self._db.execute("UPDATE runs SET holder = ? WHERE id = ?", (holder, run_id))

    async def unlock(self, run_id: str) -> None:
        """Release ``run_id`` (also happens when the process exits)."""
        if self._locks.release(run_id):
            self._db.execute("UPDATE runs SET holder = NULL WHERE id = ?", (run_id,))

    async def _disconnect(self) -> None:
        for run_id in self._locks.held():
            await self.unlock(run_id)
        self._db.close()
