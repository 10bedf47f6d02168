"""Reviewed plans: ``plan --out`` saves what planning found; ``apply`` runs exactly that.

``document`` turns a :class:`~orchestrator.engine.run.Preview` into the saved
plan's content. ``apply_saved`` records a run whose every item is planned
from the file (its baseline and target content journaled before any
request), then drives it like any resumed run: nothing is resolved again
(no history, no snapshot, no other org is read), the worker reads each item
right before writing it and refuses it as ``plan.stale`` if it is no longer
what was reviewed. ``resume`` of such a run rebuilds it from the journal's
``plan.reviewed`` event, so it, too, writes only the saved content.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.engine.actor import current_actor
from orchestrator.engine.events import Observer
from orchestrator.engine.gates import Approver
from orchestrator.engine.job import Job
from orchestrator.engine.planner import OrgCheck
from orchestrator.engine.recorder import Recorder
from orchestrator.engine.run import Options, Preview, Result, new_run_id, resume_run
from orchestrator.genesys.client import Client, new_session
from orchestrator.genesys.content import Change
from orchestrator.genesys.kinds import KINDS, Live, Target
from orchestrator.genesys.retry import Budget
from orchestrator.journal.rows import Planned
from orchestrator.journal.store import Journal
from orchestrator.models import Plan
from orchestrator.planfile.saved import (
    FORMAT,
    REVIEWED,
    Baseline,
    SavedItem,
    SavedPlan,
    fspath,
    reviewed_detail,
)
from orchestrator.statuses import ExitCode, RunStatus, Status
from orchestrator.timestamps import utcnow, zulu

SAVEABLE = (None, Status.ALREADY_AT_TARGET)  # write, or nothing to write


def unsaveable(preview: Preview) -> list[str]:
    """Why this preview cannot be saved for review (empty when it can)."""
    why = [f"{org}: preflight failed ({reason})" for org, reason in preview.refused.items()]
    for job in preview.jobs:
        if job.status not in SAVEABLE or job.baseline is None or job.target is None:
            code = job.error.code if job.error else "not planned"
            why.append(f"{job.org}/{job.rid}: {job.status or 'not planned'} ({code})")
    return why


def document(plan: Plan, preview: Preview, *, made_at: str) -> dict[str, Any]:
    """The saved plan's content (without its digest): everything ``apply`` will run."""
    checks = {c.org: c for c in preview.checks}
    return {
        "saved_plan": FORMAT,
        "made_at": made_at,
        "made_by": current_actor(),
        "plan": {"name": plan.name, "path": fspath(plan.path), "sha256": plan.sha256},
        "environment": {
            "path": None if plan.environment.path is None else fspath(plan.environment.path),
            "orgs": {
                org: {
                    "api_base": plan.environment.org(org).api_base,
                    "org_id": checks[org].org_id if org in checks else None,
                    "org_name": checks[org].org_name if org in checks else None,
                }
                for org in plan.orgs
            },
        },
        "preflight": [_check(c) for c in preview.checks],
        "limit": {"patterns": list(plan.limit), "left_out": list(plan.left_out)}
        if plan.limit
        else None,
        "options": _options(plan),
        "waves": [
            {
                "name": w.name,
                "orgs": list(w.orgs),
                "max_failed": str(w.max_failed),
                "bake_s": w.bake,
                "approve": w.approve,
            }
            for w in plan.waves
        ],
        "items": [_item(job) for job in preview.jobs],
    }


def _check(check: OrgCheck) -> dict[str, Any]:
    return {
        "org": check.org,
        "ok": check.ok,
        "org_id": check.org_id,
        "org_name": check.org_name,
        "configured_limit": check.configured_limit,
        "learned_limit": check.learned_limit,
    }


def _options(plan: Plan) -> dict[str, Any]:
    limits, schedule = plan.limits, plan.schedule
    return {
        "limits": {
            "concurrency": limits.concurrency,
            "attempts": limits.attempts,
            "backoff_s": {"base": limits.backoff.base, "max": limits.backoff.max},
            "verify_timeout_s": limits.verify_timeout,
            "max_retry_after_s": limits.max_retry_after,
            "request_timeout_s": limits.request_timeout,
            "max_rate": limits.max_rate,
        },
        "schedule": {
            "not_before": None if schedule.not_before is None else zulu(schedule.not_before),
            "not_after": None if schedule.not_after is None else zulu(schedule.not_after),
        },
        "on_drift": "refuse: an item changed since is drifted (plan.stale), whatever the plan says",
    }


def _item(job: Job) -> dict[str, Any]:
    assert job.baseline is not None and job.target is not None
    base, target = job.baseline, job.target
    return {
        "org": job.org,
        "kind": job.kind.kind.value,
        "id": job.rid,
        "name": job.name,
        "wave": job.wave,
        "to": str(job.item.to),
        "action": "already_at_target" if job.status is Status.ALREADY_AT_TARGET else "write",
        "changes": [c.as_dict() for c in job.changes],
        "baseline": {
            "version": base.version,
            "etag": base.etag,
            "modified": base.modified,
            "hash": base.hash,
        },
        "target": {
            "label": target.label,
            "version": target.version,
            "hash": target.hash,
            "content": dict(target.fields),
        },
    }


async def saved_preview(plan: Plan, saved: SavedPlan) -> Preview:
    """``plan``'s preview as the reviewer saw it, from the file alone (nothing is sent)."""
    items = {item.key: item for item in saved.items}
    async with new_session(plan.limits) as session:
        client = Client(session, plan.limits)
        jobs = []
        for seq, item in enumerate(plan.items):
            one = items[item.key]
            job = Job(
                seq=seq,
                item=item,
                wave=plan.wave_of(item.org).name,
                kind=KINDS[item.kind],
                client=client.org(plan.environment.org(item.org)),
                budget=Budget(plan.limits.attempts),
                name=one.name,
                baseline=_baseline(one.baseline),
                target=_target(one),
                changes=tuple(Change.of(c) for c in one.changes),
            )
            if one.action == "already_at_target":
                job.status = Status.ALREADY_AT_TARGET
            jobs.append(job)
    orgs = set(plan.orgs)
    checks = tuple(_org_check(c) for c in saved.checks if c.get("org") in orgs)
    return Preview(checks=checks, jobs=tuple(jobs), refused={})


def _baseline(base: Baseline) -> Live:
    return Live(
        version=base.version, etag=base.etag, modified=base.modified, fields={}, hash=base.hash
    )


def _target(item: SavedItem) -> Target:
    return Target(
        fields=item.target_content,
        hash=item.target_hash,
        version=item.target_version,
        label=item.target_label,
    )


def _org_check(data: Mapping[str, Any]) -> OrgCheck:
    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) else None

    def number(key: str) -> int | None:
        value = data.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return OrgCheck(
        org=str(data.get("org")),
        ok=data.get("ok") is True,
        org_id=text("org_id"),
        org_name=text("org_name"),
        configured_limit=number("configured_limit"),
        learned_limit=number("learned_limit"),
    )


async def apply_saved(
    whole: Plan,
    plan: Plan,
    saved: SavedPlan,
    journal: Journal,
    *,
    observer: Observer,
    approver: Approver,
    options: Options,
) -> Result:
    """Record a run of ``plan`` (``whole`` cut to ``saved``'s items) and drive it.

    Every item is journaled as planned from the file before any request, so
    neither this process nor a ``resume`` ever resolves a target again.

    Raises:
        JournalError: the journal cannot record the run.
    """
    not_before = plan.schedule.not_before
    if options.no_wait and not_before is not None and utcnow() < not_before:
        reason = f"the change window opens at {zulu(not_before)}; --no-wait given"
        return Result(
            run_id=None, status=RunStatus.HALTED, reason=reason, exit_code=ExitCode.HALTED
        )
    run_id, started = new_run_id(plan.name)
    recorder = Recorder(journal, run_id, started, observer)
    await recorder.create_run(plan, current_actor())
    items = {item.key: item for item in saved.items}
    for seq, item in enumerate(plan.items):
        recorder.reviewed(seq, _planned(items[item.key]))
    recorder.run_event(REVIEWED, reviewed_detail(saved, plan))
    await recorder.flush()
    row = await journal.run(run_id)
    return await resume_run(
        whole, journal, row, observer=observer, approver=approver, options=options
    )


def _planned(item: SavedItem) -> Planned:
    base = item.baseline
    return Planned(
        name=item.name,
        from_version=base.version,
        etag=base.etag,
        modified=base.modified,
        planned_hash=base.hash,
        target_version=item.target_version,
        target_label=item.target_label,
        target_hash=item.target_hash,
        target_fields=item.target_content,
        requests=0,
    )
