"""One run driven by several processes: which orgs are whose, and where they meet.

``run PLAN --run-id ID --shard I/N`` drives only shard I's orgs. The N
processes meet only in the shared journal:

- **Assignment** is stable: the plan's orgs, wave by wave in plan order, are
  dealt to the shards in turn (org k of that sequence goes to shard k mod N),
  so every shard has a share of every wave. A run records each item's shard
  when it is created; ``plan --shards N`` shows the same table.
- **Barriers**: a shard finishes its part of a wave, then waits until every
  item of the wave, in every shard, is final; the wave is then judged whole
  (``max_failed`` on all its items) and closed by exactly one shard (a
  guarded update). Nobody writes to wave k+1 before that. Planning is a
  barrier too: nothing is written until every shard has preflighted its orgs.
- **Heartbeats**: each shard writes what it is doing every few seconds, so
  ``status`` shows every shard's progress and names one gone silent.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Collection, Mapping

import anyio

from orchestrator.errors import UsageError
from orchestrator.journal.rows import RunRow
from orchestrator.journal.store import Journal
from orchestrator.logs import get_logger
from orchestrator.models import Plan, Shard
from orchestrator.statuses import EXIT_CODES, ExitCode, RunStatus, Status, WaveStatus


def _heartbeat_seconds() -> float:
    try:
        return max(0.05, float(os.environ.get("ORCHESTRATOR_HEARTBEAT_SECONDS", "2")))
    except ValueError:
        return 2.0


HEARTBEAT_SECONDS = _heartbeat_seconds()
"""How often a shard says it is alive (``$ORCHESTRATOR_HEARTBEAT_SECONDS``, default 2)."""
SILENT_SECONDS = 15 * HEARTBEAT_SECONDS
"""A shard not heard from for this long (15 heartbeats) is reported silent by ``status``."""
POLL_SECONDS = 0.25
"""How often a shard waiting at a barrier looks at the journal."""

_log = get_logger()


def assign(plan: Plan, count: int) -> dict[str, int]:
    """Each org of ``plan`` -> its shard of ``count``: dealt in turn, wave by wave."""
    order = [org for wave in plan.waves for org in wave.orgs]
    return {org: k % count for k, org in enumerate(order)}


def lock_key(run_id: str, shard: Shard | None) -> str:
    """What a process locks to drive ``run_id``, or its shard (``RUN#I``)."""
    return run_id if shard is None else f"{run_id}#{shard.index}"


def check_shards(row: RunRow, shard: Shard | None) -> None:
    """Refuse to drive a sharded run as one process, or a run of N shards as one of M.

    Raises:
        UsageError: the shard count does not match the run's.
    """
    if row.shards is None and shard is None:
        return
    if row.shards is None:
        raise UsageError(f"run {row.id} is not sharded: run it without --shard")
    if shard is None:
        raise UsageError(
            f"run {row.id} is driven by {row.shards} shards: start each again with"
            f" `orchestrator run {row.plan_path} --run-id {row.id} --shard I/{row.shards}`"
        )
    if shard.count != row.shards:
        raise UsageError(
            f"run {row.id} has {row.shards} shards, not {shard.count}: use --shard"
            f" {shard.index}/{row.shards}"
        )


def holder() -> str:
    """This process, as other processes see it."""
    return f"pid {os.getpid()} on {socket.gethostname()}"


class Coordinator:
    """This shard's side of the meeting: heartbeats, barriers, and what it says."""

    def __init__(self, *, journal: Journal, run_id: str, shard: Shard, actor: str) -> None:
        self.journal = journal
        self.run_id = run_id
        self.shard = shard
        self._actor = actor
        self._holder = holder()
        self.state = "starting"
        self.wave: int | None = None
        self.note: str | None = None
        self.http: Callable[[], dict[str, int]] = dict

    async def say(self, state: str, *, wave: int | None = None, note: str | None = None) -> None:
        """Record what this shard is doing now (and log the change)."""
        if (state, wave) != (self.state, self.wave):
            _log.info("shard " + state, shard=str(self.shard), wave=wave, note=note)
        self.state, self.wave, self.note = state, wave, note
        await self._beat()

    async def _beat(self) -> None:
        await self.journal.beat(
            self.run_id,
            self.shard.index,
            state=self.state,
            wave=self.wave,
            holder=self._holder,
            actor=self._actor,
            note=self.note,
            http=self.http(),
        )

    async def heartbeat(self) -> None:
        """Beat every :data:`HEARTBEAT_SECONDS` until cancelled."""
        while True:
            await anyio.sleep(HEARTBEAT_SECONDS)
            with anyio.CancelScope(shield=True):
                await self._beat()

    async def planned(self, refused: Mapping[str, str], stop: anyio.Event) -> dict[str, str]:
        """Wait until every shard has planned; what any of them refused at preflight.

        Returns an empty mapping when every org of the run passed preflight.
        """
        note = "; ".join(f"{org}: {why}" for org, why in refused.items()) or None
        await self.say("refused" if refused else "planned", note=note)
        while not stop.is_set():
            rows = await self.journal.shards(self.run_id)
            found = {r.idx: r for r in rows}
            problems = {f"shard {r.idx}": r.note or "" for r in rows if r.state == "refused"}
            if problems:
                return problems
            if len(found) == self.shard.count and all(
                r.state != "starting" and r.state != "planning" for r in rows
            ):
                return {}
            await anyio.sleep(POLL_SECONDS)
        return {}

    async def wave_final(
        self, idx: int, name: str, stop: anyio.Event, reopened: Collection[str]
    ) -> dict[Status, int] | None:
        """Wait until every item of wave ``name``, in every shard, is final; its statuses.

        An item skipped for one of the ``reopened`` codes is not final: its
        shard takes it up again when it resumes. None when another shard
        closed the wave halted meanwhile (its part tripped ``max_failed``).
        """
        await self.say("waiting", wave=idx, note=f"for the other shards to finish wave {name}")
        while not stop.is_set():
            if await self.halted(idx):
                return None
            counts = await self.journal.wave_counts(self.run_id, name, reopened)
            if not counts.get(None):
                return {status: n for status, n in counts.items() if status is not None}
            await anyio.sleep(POLL_SECONDS)
        return {}

    async def counts(self, name: str) -> dict[Status, int]:
        """A wave's final statuses so far, in every shard."""
        counts = await self.journal.wave_counts(self.run_id, name)
        return {status: n for status, n in counts.items() if status is not None}

    async def halted(self, idx: int) -> bool:
        """Whether wave ``idx`` was closed halted (by any shard)."""
        return (await self.journal.waves(self.run_id))[idx].status is WaveStatus.HALTED

    async def watch(self, idx: int, halt: Callable[[], None]) -> None:
        """Call ``halt`` as soon as another shard closes wave ``idx`` halted."""
        while not await self.halted(idx):  # noqa: ASYNC110 (other processes: no event)
            await anyio.sleep(HEARTBEAT_SECONDS)
        halt()

    async def settle(
        self, status: RunStatus, reason: str | None
    ) -> tuple[RunStatus, str | None, ExitCode]:
        """This shard's end: the run's status (recorded once, by whichever shard gets there).

        An interrupted shard leaves the run running: the same command resumes
        its part. Otherwise every shard ends with the run's status and exit code.
        """
        if status is RunStatus.INTERRUPTED:
            await self.say("interrupted", wave=self.wave, note=reason)
            return status, reason, EXIT_CODES[status]
        await self.journal.settle_run(self.run_id, status, reason=reason)
        row = await self.journal.run(self.run_id)
        if row.status is not RunStatus.RUNNING:  # else a restarted shard took it up again
            status, reason = row.status, row.reason
        await self.say(
            "held" if status is RunStatus.HALTED else "done", wave=self.wave, note=reason
        )
        return status, reason, EXIT_CODES[status]
