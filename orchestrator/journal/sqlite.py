"""The journal in an SQLite file: the zero-setup default.

WAL mode with ``synchronous=NORMAL``: a committed transaction survives the
process being killed at any instant. (A power cut of the whole machine may
lose the last commits; FULL sync would cost an fsync per step.) The file is
local, so every call completes at once; the methods are ``async`` because
the :class:`~orchestrator.journal.store.Journal` protocol is (a networked
backend must not block the event loop).

One process at a time drives a run, through :class:`~orchestrator.journal.lock.RunLocks`.

The file holds every config's content, so it is created ``0600`` (SQLite
gives its ``-wal`` and ``-shm`` files the same mode) in folders created
``0700``. Opened read-only (``status``, ``report``, an auditor's copy), it is
never created, changed or migrated. Every SQLite failure (disk full, a
damaged file, a read-only medium) leaves as a :class:`JournalError` that
says what happened.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from orchestrator.errors import JournalError
from orchestrator.journal.backend import Statement
from orchestrator.journal.lock import ResourceLocks, RunLocks, private_folder
from orchestrator.journal.sql import EVENT_INSERT, SqlJournal
from orchestrator.journal.sqlite_schema import MIGRATIONS, SCHEMA_VERSION

# SQLite's answers when a read-only open cannot make the -shm file it wants.
_NO_SHARED_MEMORY = ("SQLITE_READONLY_DIRECTORY", "SQLITE_READONLY_CANTINIT", "SQLITE_CANTOPEN")


OPEN_SECONDS = 30.0
"""How long opening waits for other processes that hold the file (then: an error)."""

CHECKPOINT_PAGES = 10_000
"""WAL frames (4 KiB pages) between two checkpoints into the main file: about 40 MiB.

SQLite's default, 1,000, checkpointed every 80 items or so. Every item
changes the same few pages many times (its row and its neighbours', the end
of the event trail), and a checkpoint copies each page's latest frame only,
so ten times the interval copies far fewer pages per item: at 20,000 items
the journal's CPU fell from 144 to 118 µs per item (commits from 81 to 57).
The -wal file grows to about this size during a run and is removed when the
last connection closes.
"""


class SqliteJournal(SqlJournal):
    """The SQLite journal of runs and the snapshot store. One per process."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self.read_only = read_only
        try:
            self._db = self._open_read_only() if read_only else self._open()
        except sqlite3.Error as exc:
            raise failure(self.path, exc, "cannot open it") from None
        except OSError as exc:
            raise JournalError(f"cannot open journal {self.path}: {exc}") from None
        folder = self.path.parent / (self.path.name + ".locks")
        self._locks = RunLocks(folder)
        self._resources = ResourceLocks(folder)

    def _open(self) -> sqlite3.Connection:
        private_folder(self.path.parent)
        # Created here, private, before SQLite opens (and so would create) it.
        with contextlib.suppress(FileExistsError):
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        deadline = time.monotonic() + OPEN_SECONDS
        while True:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=OPEN_SECONDS)
            try:
                db.row_factory = sqlite3.Row
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
                self._migrate(db)
                return db
            except sqlite3.OperationalError as exc:
                db.close()
                # Switching a new file to WAL does not wait for another process
                # creating it at the same moment (shards starting together): again.
                busy = getattr(exc, "sqlite_errorname", "").startswith("SQLITE_BUSY")
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _open_read_only(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise JournalError(
                f"no journal at {self.path} (a command that only reads never creates one:"
                " check --journal or $ORCHESTRATOR_JOURNAL)"
            )
        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30.0)
        try:
            self._check_readable(db)
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorname", "") not in _NO_SHARED_MEMORY:
                raise
            # A read-only folder (an auditor's copy): SQLite cannot make its -shm
            # file there. Immutable mode needs none, but ignores a -wal file.
            db.close()
            wal = Path(f"{self.path}-wal")
            if wal.exists() and wal.stat().st_size > 0:
                raise JournalError(
                    f"journal {self.path} is in a read-only folder and its -wal file holds"
                    " commits not yet in the main file: copy both files to a writable folder"
                ) from None
            db = sqlite3.connect(f"{uri}&immutable=1", uri=True, isolation_level=None)
            self._check_readable(db)
        return db

    def _check_readable(self, db: sqlite3.Connection) -> None:
        db.row_factory = sqlite3.Row
        found = self._schema_version(db)
        if found == 0:
            raise JournalError(f"{self.path} is not an orchestrator journal (it has no runs)")
        self._refuse_newer(found)

    @property
    def location(self) -> str:
        """The file's path."""
        return str(self.path)

    def _migrate(self, db: sqlite3.Connection) -> None:
        """Bring the file to :data:`SCHEMA_VERSION`; refuse one from a newer release."""
        found = self._schema_version(db)
        self._refuse_newer(found)
        if found == SCHEMA_VERSION:
            return
        db.execute("BEGIN IMMEDIATE")  # then look again: another process may have migrated it
        try:
            found = self._schema_version(db)
            self._refuse_newer(found)
            for script in MIGRATIONS[found:]:
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _refuse_newer(self, found: int) -> None:
        if found > SCHEMA_VERSION:
            raise JournalError(
                f"journal {self.path} has schema version {found}, written by a newer"
                f" orchestrator; this one knows up to version {SCHEMA_VERSION}: upgrade it"
            )

    @staticmethod
    def _schema_version(db: sqlite3.Connection) -> int:
        has_meta = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        if not has_meta:
            return 0
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        try:
            return int(row[0]) if row else 1  # a v1 file that never wrote its version
        except ValueError:
            raise JournalError(f"schema version {row[0]!r} is not a number") from None

    async def _transaction(
        self, statements: Sequence[Statement], events: Sequence[Any], guard: Statement | None = None
    ) -> bool:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if guard is not None and self._db.execute(*guard).rowcount < 1:
                    self._db.execute("ROLLBACK")
                    return False
                for sql, params in statements:
                    self._db.execute(sql, params)
                self._db.executemany(EVENT_INSERT, events)
                self._db.execute("COMMIT")
                return True
            except BaseException:
                if self._db.in_transaction:  # SQLite rolls some failures back itself (disk full)
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise failure(self.path, exc, "nothing more could be recorded") from None

    async def _query(self, sql: str, params: tuple[Any, ...]) -> list[Mapping[str, Any]]:
        try:
            return [dict(row) for row in self._db.execute(sql, params)]
        except sqlite3.Error as exc:
            raise failure(self.path, exc, "it cannot be read") from None

    def resource_lock(
        self, key: str, *, item: tuple[str, int] | None = None
    ) -> AbstractAsyncContextManager[bool]:
        """One writer per resource among the handles on this file (a polled byte-range lock).

        ``item`` changes nothing here: reading a target back costs no round trip.
        """
        return self._resources.hold(key)

    async def lock(self, run_id: str) -> None:
        """Become the only process driving ``run_id`` (an exclusive ``flock``).

        Raises:
            JournalError: another live process holds the run, or the journal
                is read-only or cannot be written.
        """
        if self.read_only:
            raise JournalError(f"journal {self.path} is open read-only: no run can be driven")
        holder = self._locks.take(run_id)
        try:
            self._db.execute("UPDATE runs SET holder = ? WHERE id = ?", (holder, run_id))
        except sqlite3.Error as exc:
            self._locks.release(run_id)
            raise failure(self.path, exc, "the run cannot be taken") from None

    async def unlock(self, run_id: str) -> None:
        """Release ``run_id`` (also happens when the process exits)."""
        if self._locks.release(run_id):
            # The flock is what excludes other processes, and it is gone; the
            # holder column is only a courtesy. A full or damaged journal has
            # already said so through the error that brought us here.
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("UPDATE runs SET holder = NULL WHERE id = ?", (run_id,))

    async def _disconnect(self) -> None:
        for run_id in self._locks.held():
            await self.unlock(run_id)
        self._resources.close()
        self._db.close()


def failure(path: Path, exc: sqlite3.Error, consequence: str) -> JournalError:
    """The journal error for SQLite's ``exc``, in words: what is wrong, what it means."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name == "SQLITE_FULL":
        what = "the disk is full (or the journal reached its size limit)"
    elif name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or name.startswith("SQLITE_CORRUPT"):
        what = "the file is damaged or is not an SQLite journal; restore it from a copy"
    elif name.startswith("SQLITE_READONLY") or name == "SQLITE_CANTOPEN":
        what = "it cannot be written here (read-only file, folder or medium)"
    elif name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        what = "another process kept it locked too long"
    elif name in ("SQLITE_IOERR_WRITE", "SQLITE_IOERR_FSYNC", "SQLITE_IOERR_TRUNCATE"):
        what = "writing it failed (a full disk, a file size limit, or a failing disk)"
    elif name.startswith("SQLITE_IOERR"):
        what = "the disk failed to read or write it"
    else:
        what = "SQLite refused"
    return JournalError(f"journal {path}: {what} ({exc}); {consequence}")
