"""One item at work: the mutable record the engine keeps while it works on it.

The models in :mod:`orchestrator.models` stay frozen; a :class:`Job` is where
one item's progress lives during a run. It never leaves the engine: the
journal gets its steps through the :class:`~orchestrator.engine.recorder.Recorder`,
displays get :mod:`~orchestrator.engine.events`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from orchestrator.engine.events import ItemDone, ItemView
from orchestrator.errors import ItemError, RateLimited, RequestError, TargetUnavailable
from orchestrator.genesys.client import HttpStats, OrgClient
from orchestrator.genesys.content import Change
from orchestrator.genesys.kinds import Live, ResourceKind, Target
from orchestrator.genesys.retry import Budget, is_retryable, retrying
from orchestrator.models import Item, Limits
from orchestrator.statuses import WRITE_UNKNOWN, State, Status


@dataclass(slots=True, kw_only=True)
class Job:
    """Everything known about one item while a run works on it."""

    seq: int
    item: Item
    wave: str
    kind: ResourceKind
    client: OrgClient
    budget: Budget
    state: State = State.NEW
    name: str | None = None
    baseline: Live | None = None  # what planning saw: the drift reference
    target: Target | None = None
    changes: tuple[Change, ...] = ()
    written: Live | None = None  # the state our write produced (to verify)
    unknown: ItemError | None = None  # a write whose outcome no read has told yet
    status: Status | None = None
    error: ItemError | None = None
    conflicts: int = 0
    stats: HttpStats = field(default_factory=HttpStats)
    started: float | None = None
    duration: float | None = None
    snapshot_hash: str | None = None  # content last kept in the snapshot store
    carried_attempts: int = 0  # spent by earlier processes on this item (resume)
    carried_requests: int = 0
    target_shed: bool = False  # the target's content is in the journal only (see ``shed``)
    told: Status | None = None  # the status displays last heard of (see ItemDone.previous)

    @property
    def attempts(self) -> int:
        """Attempts spent on this item across every process that worked on it."""
        return self.carried_attempts + self.budget.used

    @property
    def requests(self) -> int:
        """Requests sent for this item across every process that worked on it."""
        return self.carried_requests + self.stats.requests

    @property
    def org(self) -> str:
        """The org's name."""
        return self.item.org

    @property
    def rid(self) -> str:
        """The resource id."""
        return self.item.id

    def stopped_by(self, exc: RequestError, limits: Limits) -> None:
        """The final status of an item that ``exc`` stopped, the same wherever it stopped.

        A write in doubt ends ``unverified`` (``write.unknown``); a wait longer
        than ``max_retry_after`` ends ``rate_limited``; a retryable error that
        outlasted the item's budget (429s included) ends ``failed`` saying so.
        """
        if self.unknown is not None:
            self.fail(Status.UNVERIFIED, _in_doubt(self, self.unknown, exc))
        elif isinstance(exc, RateLimited) and exc.retry_after > limits.max_retry_after:
            self.fail(Status.RATE_LIMITED, exc)
        elif is_retryable(exc):
            self.fail(Status.FAILED, exc, message=exhausted(self, exc))
        else:
            self.fail(Status.FAILED, exc)

    def fail(
        self,
        status: Status,
        error: RequestError | TargetUnavailable | ItemError,
        *,
        message: str | None = None,
    ) -> None:
        """Set a final failing status with its error (``message`` overrides its text)."""
        self.status = status
        self.error = error if isinstance(error, ItemError) else error.item_error()
        if message is not None:
            self.error = self.error.saying(message)

    async def read(self, limits: Limits, budget: Budget | None = None) -> Live:
        """The live state; transient failures retried within ``budget`` (the item's)."""
        return await retrying(
            lambda: self.kind.read(self.client, self.rid, self.stats),
            budget=budget or self.budget,
            backoff=limits.backoff,
            max_retry_after=limits.max_retry_after,
            on_retry=lambda exc: self.retried(),
        )

    def retried(self) -> None:
        """Count one retry, for the item and for the run."""
        self.stats.retries += 1
        self.client.stats.retries += 1

    def shed(self) -> None:
        """Planned and recorded: keep hashes and versions; the journal holds the content.

        Between planning and its turn an item holds no content: the target's
        comes back from the journal when a worker takes the item up
        (``target_shed``); the baseline's is needed only by kinds whose write
        can stop halfway (``partial_writes``), which keep it.
        """
        if self.target is not None and self.target.fields:
            self.target = self.target.holding(NO_FIELDS)
            self.target_shed = True
        if self.baseline is not None and self.baseline.fields and not self.kind.partial_writes:
            self.baseline = self.baseline.holding(NO_FIELDS)
        self.changes = ()

    def release(self) -> None:
        """Final: of the item's states only versions and hashes stay in memory.

        The journal holds the rest (etags, dates, correlation ids, content);
        a bake's re-check needs the target's hash, nothing more.
        """
        self.shed()
        target_hash = self.target.hash if self.target is not None else None
        self.baseline = _slim(self.baseline, target_hash)
        self.written = _slim(self.written, target_hash)

    def begin(self) -> None:
        """Start the item's clock (once)."""
        if self.started is None:
            self.started = time.monotonic()

    def view(self) -> ItemView:
        """The item as a display sees it (and, from now on, has counted)."""
        self.told = self.status
        return ItemView(
            seq=self.seq,
            org=self.org,
            wave=self.wave,
            id=self.rid,
            name=self.name,
            status=self.status,
        )

    def done_event(self) -> ItemDone:
        """The event of its (latest) final status (which displays then count it with)."""
        assert self.status is not None
        previous, self.told = self.told, self.status
        return ItemDone(
            seq=self.seq,
            org=self.org,
            wave=self.wave,
            id=self.rid,
            name=self.name,
            status=self.status,
            new_version=self.written.version if self.written else None,
            error=self.error,
            duration_s=self.duration,
            previous=previous,
        )


NO_FIELDS: Mapping[str, Any] = MappingProxyType({})  # content not held (shared: no dict per item)


def _slim(live: Live | None, target_hash: str | None) -> Live | None:
    """Version and hash only; a hash equal to the target's is that very string (one, not two)."""
    if live is None:
        return None
    same = target_hash if live.hash == target_hash else live.hash
    slim = not live.fields and live.etag is None and live.modified is None
    if slim and not live.correlation_id and same is live.hash:
        return live  # slim already (release() runs once written and again once final)
    return Live(version=live.version, etag=None, modified=None, fields=NO_FIELDS, hash=same)


def exhausted(job: Job, error: RequestError) -> str:
    """The message of an item whose budget ran out on ``error``."""
    return f"gave up after {job.budget.used} attempts; last error: {error}"


def _in_doubt(job: Job, unknown: ItemError, last: RequestError) -> ItemError:
    """``write.unknown``: what left the write in doubt, and why no read settled it."""
    return ItemError(
        code=WRITE_UNKNOWN,
        message=(
            f"the write may have happened: {unknown.message} (HTTP {unknown.http_status or '-'}"
            f" {unknown.code}); no read could tell within the item's {job.budget.used}"
            f" attempts (last: {last}); `orchestrator resume` re-reads it and decides"
        ),
        http_status=unknown.http_status,
        correlation_id=unknown.correlation_id,
    )


def failure(code: str, message: str) -> ItemError:
    """An item error without an HTTP answer of its own (drift, timeout, a halted wave)."""
    return ItemError(code=code, message=message)


def by_org(jobs: Sequence[Job]) -> dict[str, list[Job]]:
    """Jobs grouped by org, each group in plan order."""
    grouped: dict[str, list[Job]] = {}
    for job in jobs:
        grouped.setdefault(job.org, []).append(job)
    return grouped
