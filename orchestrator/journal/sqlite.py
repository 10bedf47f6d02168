"""The journal in an SQLite file: the zero-setup default.

WAL mode with ``synchronous=NORMAL``: a committed transaction survives the
process being killed at any instant. (A power cut of the whole machine may
lose the last commits; FULL sync would cost an fsync per step.) Intents are
committed before they return; every other step is queued and written in the
same transaction as the next intent or run/wave change, or within
:data:`FLUSH_SECONDS` (see :mod:`orchestrator.journal.store`).

One process at a time drives a run, through :class:`~orchestrator.journal.lock.RunLocks`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from orchestrator.errors import ItemError, JournalError
from orchestrator.journal.lock import RunLocks
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
from orchestrator.journal.sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from orchestrator.statuses import RunStatus, State, Status, WaveStatus
from orchestrator.timestamps import stamp

FLUSH_SECONDS = 0.25  # longest a deferred step waits for its commit
FLUSH_STATEMENTS = 512
_EVENT = "INSERT INTO events (run_id, seq, at, event, detail) VALUES (?, ?, ?, ?, ?)"
_UNFINISHED = (RunStatus.RUNNING, RunStatus.HALTED, RunStatus.INTERRUPTED)
R = TypeVar("R")


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _error(text: str | None) -> ItemError | None:
    return None if text is None else ItemError.from_dict(json.loads(text))


# Column name -> how a stored value becomes the record's value (identity if absent).
_CONVERT: dict[str, Callable[[Any], Any]] = {
    "http": json.loads,
    "target_fields": _loads,
    "fields": json.loads,
    "detail": _loads,
    "error": _error,
    "state": State,
}


def _record(cls: Callable[..., R], row: sqlite3.Row, **convert: Callable[[Any], Any]) -> R:
    """A record from a row, field by field by column name."""
    values = {}
    for name in row.keys():  # noqa: SIM118 - sqlite3.Row is not a mapping
        value = row[name]
        fn = convert.get(name) or _CONVERT.get(name)
        values[name] = fn(value) if fn is not None and value is not None else value
    return cls(**values)


class SqliteJournal:
    """The SQLite journal of runs and the snapshot store. Not thread-safe; one per process."""

    def __init__(self, path: Path) -> None:
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
        self._locks = RunLocks(self.path.parent / (self.path.name + ".locks"))
        self._pending: list[tuple[str, tuple[Any, ...]]] = []
        self._events: list[tuple[Any, ...]] = []  # inserted together: one executemany
        self._flushed = time.monotonic()
        self._in_tx = False

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

    def close(self) -> None:
        """Commit what is queued, release this process's run locks, close the database."""
        self.flush()
        for run_id in self._locks.held():
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

    def _select(self, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
        self.flush()
        return self._db.execute(sql, params).fetchall()

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
        """Record a new run with its waves and items (state ``new``) in one transaction."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (id, plan_name, plan_path, plan_sha256, status, started_at,"
                " actor) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, plan_name, plan_path, plan_sha256, RunStatus.RUNNING, started_at, actor),
            )
            db.executemany(
                "INSERT INTO waves (run_id, idx, name, status, items) VALUES (?, ?, ?, ?, ?)",
                [(run_id, i, n, WaveStatus.PENDING, c) for i, (n, c) in enumerate(waves)],
            )
            db.executemany(
                "INSERT INTO items (run_id, seq, org, kind, resource_id, wave, spec, state)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (run_id, it.seq, it.org, it.kind, it.id, it.wave, it.spec, State.NEW)
                    for it in items
                ],
            )
            self._event(run_id, None, "run.created", {"plan": plan_path, "actor": actor})

    def run(self, run_id: str) -> RunRow:
        """The run called ``run_id``.

        Raises:
            JournalError: no such run.
        """
        rows = self._select("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise JournalError(f"no run {run_id!r} in journal {self.path}")
        return _record(RunRow, rows[0], status=RunStatus)

    def runs(self, limit: int = 50) -> list[RunRow]:
        """The most recent runs, newest first."""
        rows = self._select(
            "SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT ?", (limit,)
        )
        return [_record(RunRow, r, status=RunStatus) for r in rows]

    def latest_unfinished(self) -> RunRow | None:
        """The most recent run that ``resume`` could continue."""
        rows = self._select(
            "SELECT * FROM runs WHERE status IN (?, ?, ?) ORDER BY started_at DESC, id DESC"
            " LIMIT 1",
            _UNFINISHED,
        )
        return _record(RunRow, rows[0], status=RunStatus) if rows else None

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

    def lock(self, run_id: str) -> None:
        """Become the only process driving ``run_id`` (an exclusive ``flock``).

        Raises:
            JournalError: another live process holds the run.
        """
        holder = self._locks.take(run_id)
        self._db.execute("UPDATE runs SET holder = ? WHERE id = ?", (holder, run_id))

    def unlock(self, run_id: str) -> None:
        """Release ``run_id`` (also happens when the process exits)."""
        if self._locks.release(run_id):
            self._db.execute("UPDATE runs SET holder = NULL WHERE id = ?", (run_id,))

    # ----- waves ------------------------------------------------------------

    def waves(self, run_id: str) -> list[WaveRow]:
        """The run's waves in order."""
        rows = self._select(
            "SELECT idx, name, status, items, failed, started_at, finished_at, approved_by,"
            " reason FROM waves WHERE run_id = ? ORDER BY idx",
            (run_id,),
        )
        return [_record(WaveRow, r, status=WaveStatus) for r in rows]

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
        """Record that ``by`` passed the wave's approval gate."""
        with self._tx() as db:
            db.execute(
                "UPDATE waves SET approved_by = ? WHERE run_id = ? AND idx = ?", (by, run_id, idx)
            )
            self._event(run_id, None, "wave.approved", {"wave": idx, "by": by})

    # ----- items ------------------------------------------------------------

    def items(self, run_id: str) -> list[ItemRow]:
        """Every item of the run, in plan order."""
        rows = self._select(
            "SELECT seq, org, kind, resource_id, wave, spec, state, status, name, from_version,"
            " planned_etag, planned_modified, planned_hash, target_version, target_label,"
            " target_hash, target_fields, expected_version, new_version, attempts, conflicts,"
            " requests, started_at, finished_at, duration_s, error"
            " FROM items WHERE run_id = ? ORDER BY seq",
            (run_id,),
        )
        return [_record(ItemRow, r, status=Status) for r in rows]

    def status_counts(self, run_id: str) -> dict[Status | None, int]:
        """How many of the run's items have each final status (None: not final yet)."""
        rows = self._select(
            "SELECT status, COUNT(*) AS n FROM items WHERE run_id = ? GROUP BY status", (run_id,)
        )
        return {Status(r["status"]) if r["status"] else None: r["n"] for r in rows}

    def record_planned(self, run_id: str, seq: int, planned: Planned) -> None:
        """The item's live state and resolved target, as planning saw them."""
        self._update(
            run_id,
            seq,
            "planned",
            None,  # the row holds what was planned
            state=State.PLANNED,
            name=planned.name,
            from_version=planned.from_version,
            planned_etag=planned.etag,
            planned_modified=planned.modified,
            planned_hash=planned.planned_hash,
            target_version=planned.target_version,
            target_label=planned.target_label,
            target_hash=planned.target_hash,
            target_fields=_dumps(
                None if planned.target_fields is None else dict(planned.target_fields)
            ),
            requests=planned.requests,
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

    def record_done(self, run_id: str, seq: int, finished: Finished) -> None:
        """The item's final status."""
        error = None if finished.error is None else finished.error.as_dict()
        self._update(
            run_id,
            seq,
            f"item.{finished.status}",
            {"error": error} if error else None,
            state=State.DONE,
            status=finished.status,
            new_version=finished.new_version,
            attempts=finished.attempts,
            conflicts=finished.conflicts,
            requests=finished.requests,
            duration_s=finished.duration_s,
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

    def events(self, run_id: str) -> list[Event]:
        """The run's audit trail, in order."""
        rows = self._select(
            "SELECT seq, at, event, detail FROM events WHERE run_id = ? ORDER BY id", (run_id,)
        )
        return [_record(Event, r) for r in rows]

    # ----- snapshots --------------------------------------------------------

    def add_snapshot(self, snapshot: Snapshot) -> None:
        """Store one resource's content (committed with the next intent or flush)."""
        s = snapshot
        self._defer(
            "INSERT INTO snapshots (org, kind, resource_id, taken_at, source, run_id, version,"
            " modified, content_hash, fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                s.org,
                s.kind,
                s.resource_id,
                s.taken_at,
                s.source,
                s.run_id,
                s.version,
                s.modified,
                s.content_hash,
                _dumps(dict(s.fields)),
            ),
        )

    def snapshots(self, kind: str, resource_id: str) -> list[Snapshot]:
        """Every stored snapshot of one resource, oldest first."""
        rows = self._select(
            "SELECT id, org, kind, resource_id, taken_at, source, run_id, version, modified,"
            " content_hash, fields FROM snapshots WHERE kind = ? AND resource_id = ?"
            " ORDER BY taken_at, id",
            (kind, resource_id),
        )
        return [_record(Snapshot, r) for r in rows]
