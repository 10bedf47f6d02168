"""Runs end to end: preflight, planning, the waves, and resume after any stop.

``preview`` is ``orchestrator plan``: it looks and writes nothing.
``run_plan`` records a new run in the journal and drives it; ``resume_run``
drives an unfinished one from where the journal says it stopped.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import anyio

from orchestrator.engine import heap
from orchestrator.engine.actor import current_actor
from orchestrator.engine.events import Observer
from orchestrator.engine.failures import journal_failures
from orchestrator.engine.gates import Approver, Gates, Verdict
from orchestrator.engine.job import Job, by_org
from orchestrator.engine.planner import OrgCheck, Planner, preflight
from orchestrator.engine.pool import fan_out
from orchestrator.engine.recorder import Recorder
from orchestrator.engine.remembered import honour_pauses, relearn
from orchestrator.engine.resume import (
    lean_items,
    named_run,
    recall_baselines,
    reopen,
    rescoped,
    restore,
)
from orchestrator.engine.resume import resumable as resumable  # part of this module's API
from orchestrator.engine.scheduler import Scheduler
from orchestrator.engine.shards import Coordinator, assign, check_shards, lock_key
from orchestrator.engine.signals import interrupts, watch_signals
from orchestrator.engine.sources import Sources
from orchestrator.errors import JournalError
from orchestrator.genesys.client import Client, new_session
from orchestrator.genesys.kinds import KINDS
from orchestrator.genesys.retry import Budget
from orchestrator.journal.rows import ItemRow, RunRow
from orchestrator.journal.store import FLUSH_SECONDS, Journal
from orchestrator.models import Plan, Shard
from orchestrator.statuses import EXIT_CODES, ExitCode, RunStatus, State
from orchestrator.timestamps import stamp, utcnow, zulu


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """How a run behaves at its gates and on signals."""

    no_wait: bool = False  # refuse (exit 3) instead of waiting for schedule.not_before
    approve_once: bool = False  # `resume --approve`: pass the first pending gate
    handle_signals: bool = True  # SIGINT/SIGTERM stop new writes (off inside tests)
    run_id: str | None = None  # `run --run-id`: the operator's name for the run
    shard: Shard | None = None  # `run --shard I/N`: drive only this share of the run


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    """What a run or resume ended with."""

    run_id: str | None
    status: RunStatus
    reason: str | None
    exit_code: ExitCode


@dataclass(frozen=True, slots=True, kw_only=True)
class Preview:
    """``orchestrator plan``: the preflight verdicts and every planned item."""

    checks: tuple[OrgCheck, ...]
    jobs: tuple[Job, ...]
    refused: Mapping[str, str]  # org -> why it failed preflight

    @property
    def exit_code(self) -> ExitCode:
        """4 when any org failed preflight, else 0."""
        return ExitCode.PREFLIGHT if self.refused else ExitCode.OK


async def preview(plan: Plan, *, journal: Journal | None) -> Preview:
    """Preflight every org and plan every item; nothing is written anywhere."""
    with journal_failures(None):
        async with new_session(plan.limits) as session:
            client = Client(session, plan.limits)
            jobs = _new_jobs(plan, client)
            recorder = Recorder(None, None, None)
            checks, refused = await _prepare(plan, client, jobs, recorder, journal, anyio.Event())
    return Preview(checks=tuple(checks), jobs=tuple(jobs), refused=refused)


def new_run_id(plan_name: str) -> tuple[str, str]:
    """A run id like ``20261129T220000Z-revert-nov28-3f9a`` and its start stamp."""
    now = utcnow().replace(microsecond=0)
    return f"{now:%Y%m%dT%H%M%SZ}-{plan_name}-{secrets.token_hex(2)}", stamp(now)


async def run_plan(
    plan: Plan,
    journal: Journal,
    *,
    observer: Observer,
    approver: Approver,
    options: Options = Options(),
) -> Result:
    """Record a new run of ``plan`` and drive it as far as its gates allow."""
    not_before = plan.schedule.not_before
    if options.no_wait and not_before is not None and utcnow() < not_before:
        reason = f"the change window opens at {zulu(not_before)}; --no-wait given"
        return Result(
            run_id=None, status=RunStatus.HALTED, reason=reason, exit_code=ExitCode.HALTED
        )
    shard = options.shard
    with interrupts(options.handle_signals) as signals:
        run_id, started = new_run_id(plan.name)
        run_id = options.run_id or run_id
        recorder = Recorder(journal, run_id, started, observer)
        shards = None if shard is None else assign(plan, shard.count)
        count = 0 if shard is None else shard.count
        if not await recorder.create_run(plan, current_actor(), shards, count):
            row = await named_run(journal, run_id, plan)  # another shard was first
            assert row is not None
            return await resume_run(
                plan, journal, row, observer=observer, approver=approver, options=options
            )
        key = lock_key(run_id, shard)
        await journal.lock(key)
        try:
            row = await journal.run(run_id)
            with journal_failures(run_id):
                return await _drive(plan, journal, row, None, recorder, approver, signals, shard)
        finally:
            await journal.unlock(key)


async def resume_run(
    plan: Plan,
    journal: Journal,
    row: RunRow,
    *,
    observer: Observer,
    approver: Approver,
    options: Options = Options(),
) -> Result:
    """Drive an unfinished run from where its journal stops.

    Raises:
        JournalError: the run is held by another process, or its plan changed.
    """
    if plan.sha256 != row.plan_sha256:
        raise JournalError(
            f"plan {row.plan_path} changed since run {row.id} started (sha256 "
            f"{row.plan_sha256[:12]}… then, {plan.sha256[:12]}… now); start a new run instead"
        )
    shard = options.shard
    check_shards(row, shard)
    plan = await rescoped(journal, row.id, plan)
    with interrupts(options.handle_signals) as signals:
        key = lock_key(row.id, shard)
        await journal.lock(key)
        try:
            recorder = Recorder(journal, row.id, row.started_at, observer)
            items = await lean_items(journal, row.id)
            if shard is not None:
                items = [item for item in items if item.shard == shard.index]
            items = reopen(recorder, items)
            await recorder.run_status(RunStatus.RUNNING)
            approve = options.approve_once
            with journal_failures(row.id):
                return await _drive(
                    plan, journal, row, items, recorder, approver, signals, shard, approve
                )
        finally:
            await journal.unlock(key)


async def _drive(
    plan: Plan,
    journal: Journal,
    row: RunRow,
    items: list[ItemRow] | None,
    recorder: Recorder,
    approver: Approver,
    signals: AsyncIterator[int] | None,
    shard: Shard | None = None,
    approve_once: bool = False,
) -> Result:
    stop = anyio.Event()
    verdict = Verdict(RunStatus.INTERRUPTED, "interrupted twice: stopped at once")
    actor = current_actor()
    shared = None
    if shard is not None:
        shared = Coordinator(journal=journal, run_id=row.id, shard=shard, actor=actor)
        await shared.say("planning")
    async with new_session(plan.limits) as session:
        client = Client(session, plan.limits, listener=recorder)
        client.writes_held = stop.is_set  # a write waiting for its turn does not leave after
        if items is None:
            jobs = _new_jobs(plan, client)
            if shard is not None:
                mine = assign(plan, shard.count)
                jobs = [j for j in jobs if mine[j.org] == shard.index]
        else:
            jobs = _rebuilt_jobs(plan, client, items)
            items.clear()  # the rows (the caller's list too): the jobs keep what they need
            await relearn(journal, row.id, client, plan)
            await recall_baselines(journal, jobs)
        gates = Gates(
            plan=plan,
            run_id=row.id,
            recorder=recorder,
            approver=approver,
            actor=actor,
            approve_once=approve_once,
            once=None if shared is None else partial(journal.claim, row.id, by=actor),
        )
        scheduler = Scheduler(
            plan=plan,
            journal=journal,
            run_id=row.id,
            recorder=recorder,
            gates=gates,
            stop=stop,
            coordinator=shared,
        )
        recorder.run_started(jobs, client)
        with anyio.CancelScope() as work:
            async with anyio.create_task_group() as tg:
                if signals is not None:
                    tg.start_soon(watch_signals, signals, stop, work, recorder.observer)
                tg.start_soon(_flush_every, journal, FLUSH_SECONDS)
                if shared is not None:
                    shared.http = partial(_sum_http, {}, client)
                    tg.start_soon(shared.heartbeat)
                try:
                    with heap.steady():
                        verdict = await _phases(
                            plan, client, jobs, recorder, journal, scheduler, stop, shared
                        )
                finally:
                    http = _sum_http(row.http, client)
                tg.cancel_scope.cancel()  # the signal watcher, the flusher, the heartbeat
    if shared is not None:
        await recorder.flush()
        status, reason, code = await shared.settle(verdict.status, verdict.reason)
        return Result(
            run_id=row.id, status=status, reason=reason, exit_code=verdict.exit_code or code
        )
    await recorder.run_status(verdict.status, verdict.reason, http)
    code = verdict.exit_code or EXIT_CODES[verdict.status]
    return Result(run_id=row.id, status=verdict.status, reason=verdict.reason, exit_code=code)


async def _phases(
    plan: Plan,
    client: Client,
    jobs: list[Job],
    recorder: Recorder,
    journal: Journal,
    scheduler: Scheduler,
    stop: anyio.Event,
    shared: Coordinator | None = None,
) -> Verdict:
    observer = recorder.observer
    heap.settle()  # the plan and its jobs: the collector need not scan them again
    _, refused = await _prepare(plan, client, jobs, recorder, journal, stop)
    heap.settle()  # planned: from here on the collector scans what is in flight only
    if shared is not None:  # nothing is written before every shard has planned
        refused = await shared.planned(refused, stop) or refused
    if stop.is_set():
        return Verdict(RunStatus.INTERRUPTED, "interrupted while planning")
    if refused:
        why = "; ".join(f"{org}: {reason}" for org, reason in refused.items())
        recorder.skip(jobs, "preflight.failed", f"not attempted: preflight failed ({why})")
        reason = f"preflight failed, nothing was written: {why}"
        return Verdict(RunStatus.FAILED, reason, exit_code=ExitCode.PREFLIGHT)
    not_before = plan.schedule.not_before
    if not_before is not None and utcnow() < not_before:
        await recorder.flush()  # a long wait: have everything on disk first
        wait = (not_before - utcnow()).total_seconds()
        observer.waiting(f"the change window opens at {zulu(not_before)}", wait)
        with anyio.move_on_after(wait):
            await stop.wait()
        if stop.is_set():
            return Verdict(RunStatus.INTERRUPTED, "interrupted while waiting for the window")
    verdict = await scheduler.run(jobs)
    if stop.is_set() and verdict.status is not RunStatus.INTERRUPTED:
        return Verdict(RunStatus.INTERRUPTED, "interrupted")
    return verdict


async def _prepare(
    plan: Plan,
    client: Client,
    jobs: Sequence[Job],
    recorder: Recorder,
    journal: Journal | None,
    stop: anyio.Event,
) -> tuple[list[OrgCheck], dict[str, str]]:
    """Preflight every org with work left, then plan every item not yet planned."""
    orgs = sorted({j.org for j in jobs if j.status is None})
    if journal is not None:
        await honour_pauses(journal, client, plan, orgs, recorder.observer)
    recorder.observer.phase(f"preflight: {len(orgs)} orgs")
    checks: dict[str, OrgCheck] = {}

    async def check(name: str) -> None:
        org = plan.environment.org(name)
        checks[name] = await preflight(client.org(org), org, plan.limits)

    async with anyio.create_task_group() as tg:
        for name in orgs:
            tg.start_soon(check, name)
    refused = {name: c.problem or "failed" for name, c in checks.items() if not c.ok}
    todo = [j for j in jobs if j.state is State.NEW and j.status is None and j.org not in refused]
    recorder.observer.phase(f"planning: reading {len(todo)} items")
    planner = Planner(
        limits=plan.limits,
        journal=journal,
        recorder=recorder,
        with_diff=not recorder.recording,
        sources=Sources(
            client=client, environment=plan.environment, limits=plan.limits, recorder=recorder
        ),
    )
    await fan_out(
        by_org(todo),
        lambda name: plan.environment.org(name).concurrency,
        planner.plan,
        total=plan.limits.concurrency,
        proceed=lambda: not stop.is_set(),
    )
    for name, exc in planner.refused.items():
        refused.setdefault(name, str(exc))
    return [checks[n] for n in orgs], refused


def _new_jobs(plan: Plan, client: Client) -> list[Job]:
    return [
        Job(
            seq=seq,
            item=item,
            wave=plan.wave_of(item.org).name,
            kind=KINDS[item.kind],
            client=client.org(plan.environment.org(item.org)),
            budget=Budget(plan.limits.attempts),
        )
        for seq, item in enumerate(plan.items)
    ]


def _rebuilt_jobs(plan: Plan, client: Client, rows: Sequence[ItemRow]) -> list[Job]:
    """The jobs of ``rows`` (every item of the run, or one shard's), as the journal left them."""
    everything = _new_jobs(plan, client)
    jobs = []
    for row in rows:
        job = everything[row.seq] if row.seq < len(everything) else None
        if job is None or (row.org, row.kind, row.resource_id) != job.item.key:
            raise JournalError(f"journal item {row.seq} does not match the plan's item")
        restore(job, row)
        jobs.append(job)
    return jobs


def _sum_http(before: Mapping[str, int], client: Client) -> dict[str, int]:
    now = client.stats
    fields = ("requests", "retries", "conflicts", "rate_limited", "server_errors")
    return {f: int(before.get(f, 0)) + int(getattr(now, f)) for f in fields}


async def _flush_every(journal: Journal, seconds: float) -> None:
    """Group commit's time bound: queued steps reach the journal within ``seconds``."""
    while True:
        await anyio.sleep(seconds)
        with anyio.CancelScope(shield=True):  # a commit is never cut in half
            await journal.flush()
