"""Preflight and planning: prove every credential, read every item, resolve its target.

Nothing here writes to an org. ``orchestrator plan`` stops after this;
``orchestrator run`` records what it found as each item's drift reference.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.engine.job import Job
from orchestrator.engine.pool import slot
from orchestrator.engine.recorder import Recorder
from orchestrator.engine.sources import Sources
from orchestrator.errors import (
    AuthenticationFailed,
    ItemError,
    NotFound,
    PermissionDenied,
    RequestError,
    TargetUnavailable,
)
from orchestrator.genesys.client import OrgClient
from orchestrator.genesys.content import diff
from orchestrator.genesys.kinds import Live, Target
from orchestrator.genesys.retry import Budget, retrying
from orchestrator.journal import snapshots
from orchestrator.journal.store import Journal
from orchestrator.models import ROLLOUTS, Limits, Org, ToBefore, ToSnapshot
from orchestrator.statuses import Status
from orchestrator.timestamps import zulu_of


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgCheck:
    """The preflight verdict on one org."""

    org: str
    ok: bool
    org_id: str | None = None
    org_name: str | None = None
    problem: str | None = None
    error: ItemError | None = None
    configured_limit: int | None = None  # requests per minute in the environment file
    learned_limit: int | None = None  # what the server said, if it did


async def preflight(client: OrgClient, org: Org, limits: Limits) -> OrgCheck:
    """Token, reachability and identity: ``/api/v2/tokens/me`` must name ``org.org_id``."""
    try:
        resp = await retrying(
            lambda: client.request("GET", "/api/v2/tokens/me"),
            budget=Budget(min(3, limits.attempts)),
            backoff=limits.backoff,
            max_retry_after=limits.max_retry_after,
        )
    except RequestError as exc:
        return OrgCheck(org=org.name, ok=False, problem=str(exc), error=exc.item_error())
    body = resp.body if isinstance(resp.body, dict) else {}
    who = body.get("organization")
    if not isinstance(who, dict):
        who = {}
    org_id, org_name = who.get("id"), who.get("name")
    if org.org_id and org_id != org.org_id:
        return OrgCheck(
            org=org.name,
            ok=False,
            org_id=org_id,
            org_name=org_name,
            problem=(
                f"the token belongs to org {org_id} ({org_name}), not to {org.org_id} as the"
                " environment file says: wrong credentials for this org"
            ),
            error=ItemError(
                code="wrong.org",
                message="org id mismatch",
                http_status=200,
                correlation_id=resp.correlation_id,
            ),
        )
    return OrgCheck(
        org=org.name,
        ok=True,
        org_id=org_id,
        org_name=org_name,
        configured_limit=client.gate.configured,
        learned_limit=client.gate.learned,
    )


class Planner:
    """Reads each item's live state and resolves its target."""

    def __init__(
        self,
        *,
        limits: Limits,
        journal: Journal | None,
        recorder: Recorder,
        with_diff: bool,
        sources: Sources | None = None,
    ) -> None:
        self._limits = limits
        self._sources = sources  # rollouts: golden items and content files
        self._with_diff = with_diff  # only a preview shows the field-level diff
        self._journal = journal
        self._recorder = recorder
        self.refused: dict[str, RequestError] = {}  # org -> the auth/permission error on read

    async def plan(self, job: Job) -> None:
        """Fill ``job`` with its baseline, target and diff, or give it its final status."""
        async with slot(job.client.work):  # the run's items in work at once: see Client.work
            await self._plan(job)
        await self._recorder.keep_up()  # planning never waits on its own: bound the queue

    async def _plan(self, job: Job) -> None:
        try:
            live = await job.read(self._limits)
        except NotFound as exc:
            job.fail(Status.FAILED, exc, message=f"{job.kind.kind} {job.rid} does not exist")
            return self._finish(job)
        except (PermissionDenied, AuthenticationFailed) as exc:
            self.refused.setdefault(job.org, exc)
            job.fail(Status.FAILED, exc)
            return self._finish(job)
        except RequestError as exc:
            job.stopped_by(exc, self._limits)
            return self._finish(job)
        job.name = live.fields.get("name") if isinstance(live.fields.get("name"), str) else None
        job.baseline = live
        try:
            job.target = await self._target(job, live)
        except TargetUnavailable as exc:
            hint = await self._snapshot_hint(job, exc)
            job.fail(Status.FAILED, exc, message=exc.detail + hint)
            return self._finish(job)
        except RequestError as exc:
            job.stopped_by(exc, self._limits)
            return self._finish(job)
        if self._with_diff:
            job.changes = diff(live.fields, job.target.fields)
        if (refusal := job.kind.problem(live.fields, job.target.fields)) is not None:
            job.fail(Status.FAILED, refusal.item_error())
            return self._finish(job)
        self._recorder.planned(job)
        if live.hash == job.target.hash:
            job.status = Status.ALREADY_AT_TARGET
            self._recorder.done(job)
        elif self._recorder.recording:
            if not job.kind.partial_writes:  # its parts are shed next: keep them now
                self._recorder.keep_baseline(job)
            job.shed()  # a run holds no content until the item's turn: the journal has it
        return None

    def _finish(self, job: Job) -> None:
        self._recorder.planned(job)
        self._recorder.done(job)

    async def _target(self, job: Job, live: Live) -> Target:
        to, overrides = job.item.to, job.item.set
        if isinstance(to, ROLLOUTS):
            if self._sources is None:
                raise TargetUnavailable("no source of rollout content", code="source.missing")
            return await self._sources.target(job, live)
        from_store = isinstance(to, ToSnapshot) or (
            isinstance(to, ToBefore) and not job.kind.has_server_history
        )
        if from_store:
            if self._journal is None:
                raise TargetUnavailable("no snapshot store is open", code="snapshot.missing")
            assert isinstance(to, ToSnapshot | ToBefore)
            snap = await snapshots.find(
                self._journal,
                job.kind.kind.value,
                job.rid,
                to.instant,
                strictly_before=isinstance(to, ToBefore),
            )
            return Target.build(
                snap.fields,
                overrides,
                version=snap.version,
                label=f"snapshot {zulu_of(snap.taken_at)}",
            )
        version, fields = await retrying(
            lambda: job.kind.resolve(job.client, job.rid, to, live, job.stats),
            budget=job.budget,
            backoff=self._limits.backoff,
            max_retry_after=self._limits.max_retry_after,
            on_retry=lambda exc: job.retried(),
        )
        return Target.build(fields, overrides, version=version, label=f"v{version}")

    async def _snapshot_hint(self, job: Job, exc: TargetUnavailable) -> str:
        if exc.code != "target.pruned" or self._journal is None:
            return ""
        return await snapshots.newest_hint(self._journal, job.kind.kind.value, job.rid)
