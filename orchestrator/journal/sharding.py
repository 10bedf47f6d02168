"""What several processes driving one run share: heartbeats, claims, guarded closes.

A sharded run (``run --shard I/N``) is driven by N processes that only meet
in the journal. Each keeps a row in ``shards`` (its state and a heartbeat);
a decision taken once for the whole run is either a claim (the first process
to insert it wins) or a guarded update that only one process can make (a
wave goes from ``running`` to final once; so does the run).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from orchestrator.journal.backend import QueuedJournal, Statement
from orchestrator.journal.columns import dumps, record
from orchestrator.journal.rows import ShardRow
from orchestrator.statuses import RunStatus, Status, WaveStatus
from orchestrator.timestamps import stamp


class ShardStatements(QueuedJournal):
    """The statements behind shards, claims and decisions taken once."""

    async def _guarded(
        self, guard: Statement, statements: list[Statement] | None = None, events: Any = ()
    ) -> bool:
        """Run ``guard``; only if it changed a row, ``statements`` and ``events`` too."""
        await self.flush()  # the queue is never lost with a guard that fails
        async with self._committing:  # one transaction in flight per process
            return await self._transaction(statements or [], list(events), guard=guard)

    async def claim(self, run_id: str, name: str, by: str) -> bool:
        """Take the decision called ``name`` for the run; False if another process has."""
        guard = (
            "INSERT INTO claims (run_id, name, claimed_by, at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (run_id, name) DO NOTHING",
            (run_id, name, by, stamp()),
        )
        return await self._guarded(guard)

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
        """A shard's heartbeat: what it is doing, now (its first beat creates its row)."""
        now = stamp()
        sql = (
            "INSERT INTO shards (run_id, idx, state, wave, holder, actor, note, http, started_at,"
            " heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (run_id, idx) DO UPDATE SET state = excluded.state,"
            " wave = excluded.wave, holder = excluded.holder, actor = excluded.actor,"
            " note = excluded.note, http = COALESCE(excluded.http, shards.http),"
            " heartbeat_at = excluded.heartbeat_at"
        )
        params = (run_id, idx, state, wave, holder, actor, note, dumps(http), now, now)
        await self._commit([(sql, params)])

    async def shards(self, run_id: str) -> list[ShardRow]:
        """Every shard that has started, with how many of its items are final."""
        rows = await self._select(
            "SELECT s.idx, s.state, s.wave, s.holder, s.actor, s.note, s.http, s.started_at,"
            " s.heartbeat_at,"
            " (SELECT COUNT(*) FROM items i WHERE i.run_id = s.run_id AND i.shard = s.idx)"
            " AS items,"
            " (SELECT COUNT(*) FROM items i WHERE i.run_id = s.run_id AND i.shard = s.idx"
            " AND i.status IS NOT NULL) AS final"
            " FROM shards s WHERE s.run_id = ? ORDER BY s.idx",
            (run_id,),
        )
        return [record(ShardRow, r, state=str) for r in rows]

    async def wave_counts(
        self, run_id: str, wave: str, reopened: Collection[str] = ()
    ) -> dict[Status | None, int]:
        """How many of a wave's items (every shard's) have each status.

        None counts the items not final yet, and those skipped for one of the
        ``reopened`` codes (their shard takes them up again when it resumes).
        """
        codes = [f'%"code":"{code}"%' for code in sorted(reopened)] or ["-"]
        like = " OR ".join("error LIKE ?" for _ in codes)
        rows = await self._select(
            f"SELECT CASE WHEN status = ? AND ({like}) THEN NULL ELSE status END AS status,"
            " COUNT(*) AS n FROM items WHERE run_id = ? AND wave = ? GROUP BY 1",
            (Status.SKIPPED.value, *codes, run_id, wave),
        )
        return {Status(r["status"]) if r["status"] else None: int(r["n"]) for r in rows}

    async def close_wave(
        self, run_id: str, idx: int, status: WaveStatus, *, failed: int, reason: str | None
    ) -> bool:
        """Record a wave's final status, once: False if another shard closed it first."""
        guard = (
            "UPDATE waves SET status = ?, failed = ?, reason = ?, finished_at = ?,"
            " approved_by = CASE WHEN ? THEN NULL ELSE approved_by END"
            " WHERE run_id = ? AND idx = ? AND status = ?",
            (
                status.value,
                failed,
                reason,
                stamp(),
                status is WaveStatus.HALTED,  # a halt needs a new approval to go on
                run_id,
                idx,
                WaveStatus.RUNNING.value,
            ),
        )
        event = self._event_row(run_id, None, f"wave.{status}", {"wave": idx, "reason": reason})
        return await self._guarded(guard, events=[event])

    async def settle_run(self, run_id: str, status: RunStatus, *, reason: str | None) -> bool:
        """Record a sharded run's status once: False if another shard did."""
        guard = (
            "UPDATE runs SET status = ?, reason = ?, finished_at = ? WHERE id = ? AND status = ?",
            (status.value, reason, stamp(), run_id, RunStatus.RUNNING.value),
        )
        event = self._event_row(run_id, None, f"run.{status}", {"reason": reason})
        return await self._guarded(guard, events=[event])
