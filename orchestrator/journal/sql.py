"""What every SQL backend shares: the statements, the queue, and rows read by name.

A backend (:mod:`~orchestrator.journal.sqlite`, later PostgreSQL) supplies
three things: a transaction that runs a list of statements, a query, and a
run lock. Statements are written here once, with ``?`` placeholders; a
backend with another paramstyle translates them once.

Group commit: the steps that need not be durable before anything else
happens (planned, written, done, events, snapshots) are queued and written
in the same transaction as the next durable step (an intent, a run or wave
change) or by :meth:`SqlJournal.flush`, which the engine calls every
:data:`~orchestrator.journal.store.FLUSH_SECONDS` while a run is under way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orchestrator.canonical import canonical_text
from orchestrator.errors import JournalError
from orchestrator.journal.backend import Statement
from orchestrator.journal.columns import (
    ITEM_COLUMNS,
    SNAPSHOT_COLUMNS,
    dumps,
    record,
)
from orchestrator.journal.pauses import PauseStatements
from orchestrator.journal.reading import ReadingStatements
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
from orchestrator.journal.sharding import ShardStatements
from orchestrator.statuses import WRITE_CONFIRMED, RunStatus, State, Status, WaveStatus
from orchestrator.timestamps import stamp

EVENT_INSERT = "INSERT INTO events (run_id, seq, at, event, detail) VALUES (?, ?, ?, ?, ?)"
_UNFINISHED = (RunStatus.RUNNING, RunStatus.HALTED, RunStatus.INTERRUPTED)


class SqlJournal(ShardStatements, PauseStatements, ReadingStatements):
    """The journal's statements over any SQL database; subclasses connect and lock."""

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
        waves: Sequence[tuple[str, int, bool]],
        items: Sequence[NewItem],
        shards: int | None = None,
    ) -> bool:
        """Record a new run with its waves and items (state ``new``) in one transaction.

        False, and nothing written, when the journal already has a run of that
        id (another shard created it first).
        """
        guard: Statement = (
            "INSERT INTO runs (id, plan_name, plan_path, plan_sha256, status, started_at,"
            " actor, shards) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (
                run_id,
                plan_name,
                plan_path,
                plan_sha256,
                RunStatus.RUNNING.value,
                started_at,
                actor,
                shards,
            ),
        )
        statements: list[Statement] = [
            (
                "INSERT INTO waves (run_id, idx, name, status, items, gated)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, i, name, WaveStatus.PENDING.value, count, int(gated)),
            )
            for i, (name, count, gated) in enumerate(waves)
        ]
        statements += [
            (
                "INSERT INTO items (run_id, seq, org, kind, resource_id, wave, spec, state, shard)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    it.seq,
                    it.org,
                    it.kind,
                    it.id,
                    it.wave,
                    it.spec,
                    State.NEW.value,
                    it.shard,
                ),
            )
            for it in items
        ]
        detail = {"plan": plan_path, "actor": actor, "shards": shards}
        event = self._event_row(run_id, None, "run.created", detail)
        return await self._guarded(guard, statements, [event])

    async def run(self, run_id: str) -> RunRow:
        """The run called ``run_id``.

        Raises:
            JournalError: no such run.
        """
        rows = await self._select("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise JournalError(f"no run {run_id!r} in journal {self.location}")
        return record(RunRow, rows[0], status=RunStatus)

    async def runs(self, limit: int = 50) -> list[RunRow]:
        """The most recent runs, newest first."""
        rows = await self._select(
            "SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT ?", (limit,)
        )
        return [record(RunRow, r, status=RunStatus) for r in rows]

    async def latest_unfinished(self) -> RunRow | None:
        """The most recent run that ``resume`` could continue."""
        rows = await self._select(
            "SELECT * FROM runs WHERE status IN (?, ?, ?) ORDER BY started_at DESC, id DESC"
            " LIMIT 1",
            tuple(s.value for s in _UNFINISHED),
        )
        return record(RunRow, rows[0], status=RunStatus) if rows else None

    async def set_run_status(
        self,
        run_id: str,
        status: RunStatus,
        *,
        reason: str | None = None,
        http: dict[str, int] | None = None,
    ) -> None:
        """Record the run's status; a final status also records the finish time."""
        finished = None if status is RunStatus.RUNNING else stamp()
        sql = (
            "UPDATE runs SET status = ?, reason = ?, finished_at = ?,"
            " http = COALESCE(?, http) WHERE id = ?"
        )
        params = (status.value, reason, finished, dumps(http), run_id)
        event = self._event_row(run_id, None, f"run.{status}", {"reason": reason})
        await self._commit([(sql, params)], [event])

    # ----- waves ------------------------------------------------------------

    async def waves(self, run_id: str) -> list[WaveRow]:
        """The run's waves in order."""
        rows = await self._select(
            "SELECT idx, name, status, items, failed, started_at, finished_at, approved_by,"
            " reason, gated FROM waves WHERE run_id = ? ORDER BY idx",
            (run_id,),
        )
        return [record(WaveRow, r, status=WaveStatus) for r in rows]

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
        now = stamp()
        started = now if status is WaveStatus.RUNNING else None
        final = status not in (WaveStatus.PENDING, WaveStatus.RUNNING)
        sql = (
            "UPDATE waves SET status = ?, failed = COALESCE(?, failed),"
            " reason = COALESCE(?, reason), started_at = COALESCE(started_at, ?),"
            " finished_at = ?, approved_by = CASE WHEN ? THEN NULL ELSE approved_by END"
            " WHERE run_id = ? AND idx = ?"
        )
        halted = status is WaveStatus.HALTED  # going on after a halt needs a new approval
        params = (
            status.value,
            failed,
            reason,
            started,
            now if final else None,
            halted,
            run_id,
            idx,
        )
        event = self._event_row(run_id, None, f"wave.{status}", {"wave": idx, "reason": reason})
        await self._commit([(sql, params)], [event])

    async def approve_wave(self, run_id: str, idx: int, by: str) -> None:
        """Record that ``by`` passed the wave's approval gate."""
        sql = "UPDATE waves SET approved_by = ? WHERE run_id = ? AND idx = ?"
        event = self._event_row(run_id, None, "wave.approved", {"wave": idx, "by": by})
        await self._commit([(sql, (by, run_id, idx))], [event])

    # ----- items ------------------------------------------------------------

    async def items(self, run_id: str) -> list[ItemRow]:
        """Every item of the run, in plan order."""
        rows = await self._select(
            f"SELECT {ITEM_COLUMNS} FROM items WHERE run_id = ? ORDER BY seq", (run_id,)
        )
        return [record(ItemRow, r, status=Status) for r in rows]

    async def status_counts(self, run_id: str) -> dict[Status | None, int]:
        """How many of the run's items have each final status (None: not final yet)."""
        rows = await self._select(
            "SELECT status, COUNT(*) AS n FROM items WHERE run_id = ? GROUP BY status", (run_id,)
        )
        return {Status(r["status"]) if r["status"] else None: int(r["n"]) for r in rows}

    async def target_text(self, run_id: str, seq: int) -> str | None:
        """The target content planning recorded for item ``seq``, as its JSON text
        (canonical since schema v5; None: none recorded).

        Read without committing the queue first (a commit per item would double
        the commits of a run); only when nothing committed holds it yet does the
        queue go first.
        """
        sql = "SELECT target_fields FROM items WHERE run_id = ? AND seq = ?"
        rows = await self._query(sql, (run_id, seq))
        if not rows or rows[0]["target_fields"] is None:
            rows = await self._select(sql, (run_id, seq))
        if not rows or rows[0]["target_fields"] is None:
            return None
        text: str = rows[0]["target_fields"]
        return text

    def record_planned(self, run_id: str, seq: int, planned: Planned) -> None:
        """Queued: the item's live state and resolved target, as planning saw them."""
        # As the content hash's text: read back, it is checked by hashing it as it is.
        fields = (
            None if planned.target_fields is None else canonical_text(dict(planned.target_fields))
        )
        self._update_item(
            run_id,
            seq,
            "planned",
            None,  # the row holds what was planned
            state=State.PLANNED.value,
            name=planned.name,
            from_version=planned.from_version,
            planned_etag=planned.etag,
            planned_modified=planned.modified,
            planned_hash=planned.planned_hash,
            target_version=planned.target_version,
            target_label=planned.target_label,
            target_hash=planned.target_hash,
            target_fields=fields,
            requests=planned.requests,
        )

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
        """Committed before it returns: a write is about to leave."""
        self._update_item(
            run_id,
            seq,
            "write.intended",
            {"expected_version": expected_version, "if_match": etag},
            state=State.INTENDED.value,
            expected_version=expected_version,
            attempts=attempts,
            conflicts=conflicts,
            requests=requests,
            started_at_default=stamp(),
        )
        await self.flush()

    def record_written(
        self,
        run_id: str,
        seq: int,
        *,
        new_version: int | None,
        requests: int,
        correlation_id: str | None = None,
    ) -> None:
        """Queued: the write confirmed, with its ``correlation_id`` if it had an answer."""
        self._update_item(
            run_id,
            seq,
            WRITE_CONFIRMED,
            {"version": new_version, "correlation_id": correlation_id},
            state=State.WRITTEN.value,
            new_version=new_version,
            requests=requests,
        )

    def record_event(self, run_id: str, seq: int | None, event: str, detail: Any = None) -> None:
        """Queued: one audit event (conflict, retry, gate decision...)."""
        self._events.append(self._event_row(run_id, seq, event, detail))

    def record_done(self, run_id: str, seq: int, finished: Finished) -> None:
        """Queued: the item's final status."""
        error = None if finished.error is None else finished.error.as_dict()
        self._update_item(
            run_id,
            seq,
            f"item.{finished.status}",
            {"error": error} if error else None,
            state=State.DONE.value,
            status=finished.status.value,
            new_version=finished.new_version,
            attempts=finished.attempts,
            conflicts=finished.conflicts,
            requests=finished.requests,
            duration_s=finished.duration_s,
            error=dumps(error),
            finished_at=stamp(),
        )

    def _update_item(
        self,
        run_id: str,
        seq: int,
        event: str,
        detail: Any,
        *,
        started_at_default: str | None = None,
        **columns: Any,
    ) -> None:
        sets = ", ".join(f"{name} = ?" for name in columns)
        values = list(columns.values())
        if started_at_default is not None:
            sets += ", started_at = COALESCE(started_at, ?)"
            values.append(started_at_default)
        self._queue(f"UPDATE items SET {sets} WHERE run_id = ? AND seq = ?", (*values, run_id, seq))
        self.record_event(run_id, seq, event, detail)

    async def events(self, run_id: str) -> list[Event]:
        """The run's audit trail, in order."""
        rows = await self._select(
            "SELECT seq, at, event, detail FROM events WHERE run_id = ? ORDER BY id", (run_id,)
        )
        return [record(Event, r) for r in rows]

    # ----- snapshots --------------------------------------------------------

    def add_snapshot(self, snapshot: Snapshot) -> None:
        """Queued: one resource's content as of ``snapshot.taken_at``."""
        s = snapshot
        self._queue(
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
                dumps(dict(s.fields)),
            ),
        )

    async def snapshots(self, kind: str, resource_id: str) -> list[Snapshot]:
        """Every stored snapshot of one resource, oldest first."""
        rows = await self._select(
            f"SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE kind = ? AND resource_id = ?"
            " ORDER BY taken_at, id",
            (kind, resource_id),
        )
        return [record(Snapshot, r) for r in rows]
