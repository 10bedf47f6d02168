"""The journal: every run, wave, item transition and snapshot, in SQLite.

A write is recorded as *intended* (with the target hash and the version it
will create) and committed **before** the request leaves, and as *written*
after the server confirms it. After a crash, ``resume`` compares an intended
item's live state with the recorded hashes to learn whether the write
happened. WAL mode with ``synchronous=NORMAL``: a committed transaction
survives the process being killed at any instant. (A power cut of the whole
machine may lose the last commits; FULL sync would cost an fsync per step.)

Only the intent must be on disk before its request leaves. The other steps
(planned, written, done, events, snapshots) are group-committed: queued, and
written in the same transaction as the next intent or wave/run change, or
within a quarter second. A crash loses at most that quarter second of them,
which is harmless: ``resume`` re-reads any item whose final status is
missing and reaches the same outcome from the live state.

One process at a time may drive a run: :meth:`Journal.lock` takes an
exclusive ``flock`` on a per-run lock file beside the journal, which the
kernel releases when the process exits, however it exits.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.errors import JournalError
from orchestrator.statuses import RunStatus, State, Status, WaveStatus

SCHEMA_VERSION = 1
_EVENT = "INSERT INTO events (run_id, seq, at, event, detail) VALUES (?, ?, ?, ?, ?)"
FLUSH_SECONDS = 0.25  # longest a deferred step waits for its commit
FLUSH_STATEMENTS = 512
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    plan_name TEXT NOT NULL,
    plan_path TEXT NOT NULL,
    plan_sha256 TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    http TEXT NOT NULL DEFAULT '{}',
    holder TEXT
);
CREATE TABLE IF NOT EXISTS waves (
    run_id TEXT NOT NULL REFERENCES runs(id),
    idx INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    items INTEGER NOT NULL,
    failed INTEGER NOT NULL DEFAULT 0,
    started_at TEXT,
    finished_at TEXT,
    approved_by TEXT,
    reason TEXT,
    PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS items (
    run_id TEXT NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    org TEXT NOT NULL,
    kind TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    wave TEXT NOT NULL,
    spec TEXT NOT NULL,
    state TEXT NOT NULL,
    status TEXT,
    name TEXT,
    from_version INTEGER,
    planned_etag TEXT,
    planned_modified TEXT,
    planned_hash TEXT,
    target_version INTEGER,
    target_label TEXT,
    target_hash TEXT,
    target_fields TEXT,
    expected_version INTEGER,
    new_version INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    conflicts INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    started_at TEXT,
    finished_at TEXT,
    duration_s REAL,
    error TEXT,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    seq INTEGER,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id, seq);
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org TEXT NOT NULL,
    kind TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    source TEXT NOT NULL,
    run_id TEXT,
    version INTEGER,
    modified TEXT,
    content_hash TEXT NOT NULL,
    fields TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_by_resource ON snapshots (kind, resource_id, taken_at);
"""


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


def stamp(when: datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``; sorts as text."""
    when = (when or utcnow()).astimezone(UTC)
    return when.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def seconds(text: str) -> str:
    """A stamp as an operator writes it: ``2026-11-29T22:00:00Z``."""
    return text[:19] + "Z"


def parse_stamp(text: str) -> datetime:
    """Inverse of :func:`stamp` (accepts any ISO 8601 with a zone)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRow:
    """One run as the journal holds it."""

    id: str
    plan_name: str
    plan_path: str
    plan_sha256: str
    status: RunStatus
    reason: str | None
    started_at: str
    finished_at: str | None
    http: dict[str, int]
    holder: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class WaveRow:
    """One wave of a run."""

    idx: int
    name: str
    status: WaveStatus
    items: int
    failed: int
    started_at: str | None
    finished_at: str | None
    approved_by: str | None
    reason: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemRow:
    """One item of a run, with everything recorded about it so far."""

    seq: int
    org: str
    kind: str
    resource_id: str
    wave: str
    spec: str
    state: State
    status: Status | None
    name: str | None
    from_version: int | None
    planned_etag: str | None
    planned_modified: str | None
    planned_hash: str | None
    target_version: int | None
    target_label: str | None
    target_hash: str | None
    target_fields: dict[str, Any] | None
    expected_version: int | None
    new_version: int | None
    attempts: int
    conflicts: int
    requests: int
    started_at: str | None
    finished_at: str | None
    duration_s: float | None
    error: dict[str, Any] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotRow:
    """Content of one resource as stored at one instant."""

    id: int
    org: str
    kind: str
    resource_id: str
    taken_at: str
    source: str
    run_id: str | None
    version: int | None
    modified: str | None
    content_hash: str
    fields: dict[str, Any]


def _holder(lock_file: Path) -> str:
    """Who holds a run lock, as its holder wrote it (it may be a moment late)."""
    for _ in range(20):
        text = lock_file.read_text(errors="replace").strip()
        if text:
            return text
        time.sleep(0.05)
    return "another process"


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


class Journal:
    """The SQLite journal of runs and the snapshot store. Not thread-safe; one per process."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(f"cannot open journal {self.path}: {exc}") from None
        self._locks: dict[str, int] = {}
        self._pending: list[tuple[str, tuple[Any, ...]]] = []
        self._events: list[tuple[Any, ...]] = []  # inserted together: one executemany
        self._flushed = time.monotonic()
        self._in_tx = False

    def close(self) -> None:
        """Commit what is queued, release this process's run locks, close the database."""
        self.flush()
        for run_id in list(self._locks):
            self.unlock(run_id)
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction: every queued statement in order, the caller's, the events."""
        self._db.execute("BEGIN IMMEDIATE")
        self._in_tx = True
        try:
            for sql, params in self._pending:
                self._db.execute(sql, params)
            yield self._db
            self._db.executemany(_EVENT, self._events)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        finally:
            self._in_tx = False
        self._db.execute("COMMIT")
        self._pending.clear()
        self._events.clear()
        self._flushed = time.monotonic()

    def flush(self) -> None:
        """Commit every queued step now."""
        if self._pending or self._events:
            with self._tx():
                pass

    def _defer(self, sql: str, params: tuple[Any, ...]) -> None:
        self._pending.append((sql, params))
        self._maybe_flush()

    def _event(self, run_id: str, seq: int | None, event: str, detail: Any) -> None:
        """Queue one row of the audit trail (written with the next commit)."""
        self._events.append((run_id, seq, stamp(), event, _dumps(detail)))
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if self._in_tx:
            return  # the transaction under way writes the queue when it commits
        stale = time.monotonic() - self._flushed > FLUSH_SECONDS
        if stale or len(self._pending) + len(self._events) >= FLUSH_STATEMENTS:
            self.flush()

    # ----- runs -------------------------------------------------------------

    def create_run(
        self,
        *,
        run_id: str,
        plan_name: str,
        plan_path: str,
        plan_sha256: str,
        started_at: str,
        waves: Sequence[tuple[str, int]],
        items: Sequence[dict[str, Any]],
    ) -> None:
        """Record a new run with its waves and items (state ``new``) in one transaction."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (id, plan_name, plan_path, plan_sha256, status, started_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, plan_name, plan_path, plan_sha256, RunStatus.RUNNING, started_at),
            )
            db.executemany(
                "INSERT INTO waves (run_id, idx, name, status, items) VALUES (?, ?, ?, ?, ?)",
                [(run_id, i, n, WaveStatus.PENDING, c) for i, (n, c) in enumerate(waves)],
            )
            db.executemany(
                "INSERT INTO items (run_id, seq, org, kind, resource_id, wave, spec, state)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        it["seq"],
                        it["org"],
                        it["kind"],
                        it["id"],
                        it["wave"],
                        it["spec"],
                        State.NEW,
                    )
                    for it in items
                ],
            )
            self._event(run_id, None, "run.created", {"plan": plan_path})

    def run(self, run_id: str) -> RunRow:
        """The run called ``run_id``.

        Raises:
            JournalError: no such run.
        """
        self.flush()
        row = self._db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise JournalError(f"no run {run_id!r} in journal {self.path}")
        return self._run_row(row)

    def runs(self, limit: int = 50) -> list[RunRow]:
        """The most recent runs, newest first."""
        self.flush()
        rows = self._db.execute(
            "SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT ?", (limit,)
        )
        return [self._run_row(r) for r in rows]

    def latest_unfinished(self) -> RunRow | None:
        """The most recent run that ``resume`` could continue."""
        unfinished = (RunStatus.RUNNING, RunStatus.HALTED, RunStatus.INTERRUPTED)
        for run in self.runs(limit=1000):
            if run.status in unfinished:
                return run
        return None

    def _run_row(self, row: tuple[Any, ...]) -> RunRow:
        return RunRow(
            id=row[0],
            plan_name=row[1],
            plan_path=row[2],
            plan_sha256=row[3],
            status=RunStatus(row[4]),
            reason=row[5],
            started_at=row[6],
            finished_at=row[7],
            http=json.loads(row[8] or "{}"),
            holder=row[9],
        )

    def set_run_status(
        self,
        run_id: str,
        status: RunStatus,
        *,
        reason: str | None = None,
        http: dict[str, int] | None = None,
    ) -> None:
        """Record the run's status; a final status also records the finish time."""
        finished = None if status is RunStatus.RUNNING else stamp()
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET status = ?, reason = ?, finished_at = ?,"
                " http = COALESCE(?, http) WHERE id = ?",
                (status, reason, finished, _dumps(http), run_id),
            )
            self._event(run_id, None, f"run.{status}", {"reason": reason})

    def save_http(self, run_id: str, http: dict[str, int]) -> None:
        """Record the run's HTTP counters so far."""
        self._defer("UPDATE runs SET http = ? WHERE id = ?", (_dumps(http), run_id))

    # ----- the lock ---------------------------------------------------------

    def lock(self, run_id: str) -> None:
        """Become the only process driving ``run_id``.

        The lock file also says who holds it, written right after the lock is
        taken, so a refused process can name the holder.

        Raises:
            JournalError: another live process holds the run.
        """
        lock_dir = self.path.parent / (self.path.name + ".locks")
        lock_dir.mkdir(exist_ok=True)
        path = lock_dir / f"{run_id}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise JournalError(
                f"run {run_id} is being driven by {_holder(path)}; wait for it to finish, or"
                " stop it (its lock is released the moment that process exits, even if killed)"
            ) from None
        self._locks[run_id] = fd
        holder = f"pid {os.getpid()} on {socket.gethostname()} since {stamp()}"
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode(), 0)
        self._db.execute("UPDATE runs SET holder = ? WHERE id = ?", (holder, run_id))

    def unlock(self, run_id: str) -> None:
        """Release ``run_id`` (also happens when the process exits)."""
        fd = self._locks.pop(run_id, None)
        if fd is not None:
            self._db.execute("UPDATE runs SET holder = NULL WHERE id = ?", (run_id,))
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # ----- waves ------------------------------------------------------------

    def waves(self, run_id: str) -> list[WaveRow]:
        """The run's waves in order."""
        self.flush()
        rows = self._db.execute(
            "SELECT idx, name, status, items, failed, started_at, finished_at, approved_by,"
            " reason FROM waves WHERE run_id = ? ORDER BY idx",
            (run_id,),
        )
        return [
            WaveRow(
                idx=r[0],
                name=r[1],
                status=WaveStatus(r[2]),
                items=r[3],
                failed=r[4],
                started_at=r[5],
                finished_at=r[6],
                approved_by=r[7],
                reason=r[8],
            )
            for r in rows
        ]

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
        now = stamp()
        started = now if status is WaveStatus.RUNNING else None
        final = status not in (WaveStatus.PENDING, WaveStatus.RUNNING)
        with self._tx() as db:
            db.execute(
                "UPDATE waves SET status = ?, failed = COALESCE(?, failed),"
                " reason = COALESCE(?, reason), started_at = COALESCE(started_at, ?),"
                " finished_at = ? WHERE run_id = ? AND idx = ?",
                (status, failed, reason, started, now if final else None, run_id, idx),
            )
            self._event(run_id, None, f"wave.{status}", {"wave": idx, "reason": reason})

    def approve_wave(self, run_id: str, idx: int, by: str) -> None:
        """Record that an operator passed the wave's approval gate."""
        with self._tx() as db:
            db.execute(
                "UPDATE waves SET approved_by = ? WHERE run_id = ? AND idx = ?", (by, run_id, idx)
            )
            self._event(run_id, None, "wave.approved", {"wave": idx, "by": by})

    # ----- items ------------------------------------------------------------

    def items(self, run_id: str) -> list[ItemRow]:
        """Every item of the run, in plan order."""
        self.flush()
        rows = self._db.execute(
            "SELECT seq, org, kind, resource_id, wave, spec, state, status, name, from_version,"
            " planned_etag, planned_modified, planned_hash, target_version, target_label,"
            " target_hash, target_fields, expected_version, new_version, attempts, conflicts,"
            " requests, started_at, finished_at, duration_s, error"
            " FROM items WHERE run_id = ? ORDER BY seq",
            (run_id,),
        )
        return [
            ItemRow(
                seq=r[0],
                org=r[1],
                kind=r[2],
                resource_id=r[3],
                wave=r[4],
                spec=r[5],
                state=State(r[6]),
                status=Status(r[7]) if r[7] else None,
                name=r[8],
                from_version=r[9],
                planned_etag=r[10],
                planned_modified=r[11],
                planned_hash=r[12],
                target_version=r[13],
                target_label=r[14],
                target_hash=r[15],
                target_fields=_loads(r[16]),
                expected_version=r[17],
                new_version=r[18],
                attempts=r[19],
                conflicts=r[20],
                requests=r[21],
                started_at=r[22],
                finished_at=r[23],
                duration_s=r[24],
                error=_loads(r[25]),
            )
            for r in rows
        ]

    def status_counts(self, run_id: str) -> dict[Status | None, int]:
        """How many of the run's items have each final status (None: not final yet)."""
        self.flush()
        rows = self._db.execute(
            "SELECT status, COUNT(*) FROM items WHERE run_id = ? GROUP BY status", (run_id,)
        )
        return {Status(s) if s else None: n for s, n in rows}

    def record_planned(
        self,
        run_id: str,
        seq: int,
        *,
        name: str | None,
        from_version: int | None,
        etag: str | None,
        modified: str | None,
        planned_hash: str | None,
        target_version: int | None,
        target_label: str | None,
        target_hash: str | None,
        target_fields: dict[str, Any] | None,
        requests: int,
    ) -> None:
        """The item's live state and resolved target, as planning saw them."""
        self._update(
            run_id,
            seq,
            "planned",
            None,  # the row holds what was planned
            state=State.PLANNED,
            name=name,
            from_version=from_version,
            planned_etag=etag,
            planned_modified=modified,
            planned_hash=planned_hash,
            target_version=target_version,
            target_label=target_label,
            target_hash=target_hash,
            target_fields=_dumps(target_fields),
            requests=requests,
        )

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
        """Committed before a write is sent: which version the write will create."""
        self._update(
            run_id,
            seq,
            "write.intended",
            {"expected_version": expected_version, "if_match": etag},
            durable=True,
            state=State.INTENDED,
            expected_version=expected_version,
            attempts=attempts,
            conflicts=conflicts,
            requests=requests,
            started_at_default=stamp(),
        )

    def record_written(
        self, run_id: str, seq: int, *, new_version: int | None, requests: int
    ) -> None:
        """The server confirmed the write (or a re-read proved it happened)."""
        self._update(
            run_id,
            seq,
            "write.confirmed",
            None,  # the row holds the new version
            state=State.WRITTEN,
            new_version=new_version,
            requests=requests,
        )

    def record_event(self, run_id: str, seq: int | None, event: str, detail: Any = None) -> None:
        """Append one audit event (conflict, retry, gate decision...)."""
        self._event(run_id, seq, event, detail)

    def record_done(
        self,
        run_id: str,
        seq: int,
        *,
        status: Status,
        new_version: int | None,
        attempts: int,
        conflicts: int,
        requests: int,
        duration_s: float | None,
        error: dict[str, Any] | None,
    ) -> None:
        """The item's final status."""
        self._update(
            run_id,
            seq,
            f"item.{status}",
            {"error": error} if error else None,
            state=State.DONE,
            status=status,
            new_version=new_version,
            attempts=attempts,
            conflicts=conflicts,
            requests=requests,
            duration_s=duration_s,
            error=_dumps(error),
            finished_at=stamp(),
        )

    def _update(
        self,
        run_id: str,
        seq: int,
        event: str,
        detail: Any,
        *,
        durable: bool = False,
        started_at_default: str | None = None,
        **columns: Any,
    ) -> None:
        sets = ", ".join(f"{name} = ?" for name in columns)
        values = list(columns.values())
        if started_at_default is not None:
            sets += ", started_at = COALESCE(started_at, ?)"
            values.append(started_at_default)
        self._pending.append(
            (f"UPDATE items SET {sets} WHERE run_id = ? AND seq = ?", (*values, run_id, seq))
        )
        self._event(run_id, seq, event, detail)
        if durable:
            self.flush()

    def events(self, run_id: str) -> list[tuple[int | None, str, str, Any]]:
        """The run's audit trail: (item seq, time, event, detail), in order."""
        self.flush()
        rows = self._db.execute(
            "SELECT seq, at, event, detail FROM events WHERE run_id = ? ORDER BY id", (run_id,)
        )
        return [(r[0], r[1], r[2], _loads(r[3])) for r in rows]

    # ----- snapshots --------------------------------------------------------

    def add_snapshot(
        self,
        *,
        org: str,
        kind: str,
        resource_id: str,
        taken_at: str,
        source: str,
        run_id: str | None,
        version: int | None,
        modified: str | None,
        content_hash: str,
        fields: dict[str, Any],
    ) -> None:
        """Store one resource's content as of ``taken_at`` (committed with the next intent)."""
        self._defer(
            "INSERT INTO snapshots (org, kind, resource_id, taken_at, source, run_id, version,"
            " modified, content_hash, fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                org,
                kind,
                resource_id,
                taken_at,
                source,
                run_id,
                version,
                modified,
                content_hash,
                _dumps(fields),
            ),
        )

    def snapshots(self, kind: str, resource_id: str) -> list[SnapshotRow]:
        """Every stored snapshot of one resource, oldest first."""
        self.flush()
        rows = self._db.execute(
            "SELECT id, org, kind, resource_id, taken_at, source, run_id, version, modified,"
            " content_hash, fields FROM snapshots WHERE kind = ? AND resource_id = ?"
            " ORDER BY taken_at, id",
            (kind, resource_id),
        )
        return [
            SnapshotRow(
                id=r[0],
                org=r[1],
                kind=r[2],
                resource_id=r[3],
                taken_at=r[4],
                source=r[5],
                run_id=r[6],
                version=r[7],
                modified=r[8],
                content_hash=r[9],
                fields=json.loads(r[10]),
            )
            for r in rows
        ]
