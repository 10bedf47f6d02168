"""One item's rollback: decide, write under the guard, and re-decide on conflict.

The algorithm is written once for every resource kind:

1. Know the live state (planning's read, or a fresh one when the last step
   left the truth unknown, or always for kinds without a server-side guard).
2. Live equals target: done (``already_at_target``, or our write landed).
   Live moved away from what planning saw: drift rules. Otherwise write.
3. Record the intent, then send the guarded write.
4. A conflict means stale: back off, re-read, go to 2. A lost answer means
   unknown: re-read before anything else, never re-send blindly. A 403 stops
   every write to the org.
5. A confirmed write goes to the verifier.

A write of several requests (an assistant and its copilot; bindings added
and removed) can stop halfway. Once an intent is recorded, a re-read whose
every part is at the planned baseline or at the target is our own progress,
not drift: the kind then sends only what is left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import anyio

from orchestrator.engine.job import Job, failure
from orchestrator.engine.recorder import Recorder
from orchestrator.errors import (
    Conflict,
    PermissionDenied,
    QueueTaken,
    RateLimited,
    RequestError,
    ServerError,
    TransportError,
)
from orchestrator.genesys.content import between, content_hash
from orchestrator.genesys.kinds import Live
from orchestrator.genesys.retry import backoff_delay
from orchestrator.models import Limits, OnDrift
from orchestrator.statuses import State, Status


class OrgWrites:
    """Per org: whether writes may still go, and who goes first.

    The first write to an org goes alone. If the org's client lacks write
    permission, that one 403 says so and no other write to the org was sent;
    every other item of the org then ends ``skipped``. Once the server has
    looked at a write without refusing the permission, writes go in parallel.
    """

    def __init__(self) -> None:
        self._blocked: dict[str, RequestError] = {}
        self._proven: set[str] = set()
        self._probing: dict[str, anyio.Event] = {}

    def block(self, org: str, error: RequestError) -> None:
        """Stop all further writes to ``org``."""
        self._blocked.setdefault(org, error)

    def reason(self, org: str) -> RequestError | None:
        """Why writes to ``org`` stopped, or None if they did not."""
        return self._blocked.get(org)

    async def turn(self, org: str) -> bool:
        """Wait until a write to ``org`` may go; True if it goes alone, as the probe."""
        while org not in self._proven and org not in self._blocked:
            probing = self._probing.get(org)
            if probing is None:
                self._probing[org] = anyio.Event()
                return True
            await probing.wait()
        return False

    def settle(self, org: str, *, alone: bool, proven: bool) -> None:
        """After a write: record what it proved; let the writers that waited go."""
        if proven:
            self._proven.add(org)
        if alone:
            self._probing.pop(org).set()


class Worker:
    """Runs the write half of items; hands confirmed writes to the verifier."""

    def __init__(
        self,
        *,
        limits: Limits,
        recorder: Recorder,
        writes: OrgWrites,
        may_write: Callable[[], bool],
        verify: Callable[[Job], None],
    ) -> None:
        self._limits = limits
        self._recorder = recorder
        self._writes = writes
        self._may_write = may_write
        self._verify = verify

    async def run(self, job: Job) -> None:
        """Take ``job`` as far as it can go; on return it is final, verifying, or untouched."""
        job.begin()
        if job.state is State.WRITTEN:
            self._verify(job)
            return
        try:
            await self._execute(job)
        except RateLimited as exc:
            job.fail(Status.RATE_LIMITED, exc)
        except RequestError as exc:
            job.fail(Status.FAILED, exc)
        if job.status is not None:
            self._recorder.done(job)

    async def _execute(self, job: Job) -> None:
        assert job.target is not None and job.baseline is not None
        # After a crash between intent and answer, only a read tells what happened.
        maybe_ours = job.state is State.INTENDED
        live: Live | None = None if maybe_ours else job.baseline
        last_error: RequestError | None = None
        while True:
            if live is None or job.kind.rereads_before_write:
                live = await job.read(self._limits)
            if live.hash == job.target.hash:
                return self._landed(job, live, ours=maybe_ours)
            partial = self._our_progress(job, live)
            if live.hash != job.baseline.hash and not partial:
                if job.item.on_drift is OnDrift.STOP:
                    return self._drifted(job, live)
                self._recorder.event(job.seq, "drift.overwrite", {"version": live.version})
            if live.hash != job.baseline.hash:  # planning checked the baseline itself
                if (refusal := job.kind.problem(live.fields, job.target.fields)) is not None:
                    job.fail(Status.FAILED, refusal.item_error())
                    return None
            elif not job.baseline.fields:
                # A job rebuilt on resume knows only the baseline's hash; telling our
                # half-written state from drift later needs its parts: these are they.
                job.baseline = replace(job.baseline, fields=live.fields)
            if not self._may_write():
                return None  # interrupted: the item stays where the journal says it is
            if last_error is not None and not job.budget.spend():
                job.fail(Status.FAILED, last_error, message=_exhausted(job, last_error))
                return None
            try:
                written = await self._write(job, live, replaces_baseline=not partial)
            except QueueTaken as exc:
                job.fail(Status.DRIFTED, exc.item_error())
                return None
            except Conflict as exc:
                job.conflicts += 1
                self._recorder.event(job.seq, "conflict", exc.item_error().as_dict())
                live, last_error = None, exc
            except RateLimited as exc:
                if exc.retry_after > self._limits.max_retry_after:
                    raise
                last_error = exc  # not applied, and the org's gate holds the retry
            except (TransportError, ServerError) as exc:
                self._recorder.event(job.seq, "write.unknown", exc.item_error().as_dict())
                maybe_ours, live, last_error = True, None, exc
            else:
                if written is not None:
                    job.written = written
                    self._recorder.written(job)
                    self._verify(job)
                return None
            job.retried()
            if not isinstance(last_error, RateLimited):
                await anyio.sleep(backoff_delay(self._limits.backoff, job.budget.used))

    def _our_progress(self, job: Job, live: Live) -> bool:
        """Whether ``live`` is our own write stopped halfway (each part at baseline or target)."""
        assert job.baseline is not None and job.target is not None
        baseline = job.baseline
        if job.state is not State.INTENDED or live.hash == baseline.hash:
            return False
        # Resumed without the baseline's parts (no pre-write snapshot): only the hash
        # is known, and a changed hash must then count as drift.
        if content_hash(baseline.fields) != baseline.hash:
            return False
        if not between(baseline.fields, job.target.fields, live.fields):
            return False
        self._recorder.event(job.seq, "write.partial", {"modified": live.modified})
        return True

    async def _write(self, job: Job, live: Live, *, replaces_baseline: bool) -> Live | None:
        """One guarded write, or None when the org's writes have stopped."""
        assert job.target is not None
        alone = await self._writes.turn(job.org)
        proven = False
        try:
            if (blocked := self._writes.reason(job.org)) is not None:
                self._skip_blocked(job, blocked)
                return None
            await self._recorder.intent(job, live, keep=replaces_baseline)
            try:
                written = await job.kind.write(job.client, job.rid, live, job.target, job.stats)
            except PermissionDenied as exc:
                self._writes.block(job.org, exc)
                raise
            except Conflict:
                proven = True  # the server weighed the write itself: permission is not the issue
                raise
            proven = True
            return written
        finally:
            self._writes.settle(job.org, alone=alone, proven=proven)

    def _landed(self, job: Job, live: Live, *, ours: bool) -> None:
        if not ours:
            job.status = Status.ALREADY_AT_TARGET
            return
        # Our write (whose answer was lost) or an identical one is live: verify it.
        job.written = live
        self._recorder.written(job)
        self._verify(job)

    def _drifted(self, job: Job, live: Live) -> None:
        job.fail(
            Status.DRIFTED,
            failure(
                "drift",
                f"changed by someone else since planning (planned version "
                f"{job.baseline.version if job.baseline else '?'}, now {live.version}; "
                f"modified {live.modified}); not written because on_drift is stop",
            ),
        )

    def _skip_blocked(self, job: Job, blocked: RequestError) -> None:
        job.status = Status.SKIPPED
        job.error = blocked.item_error().saying(
            f"not attempted: writes to org {job.org} stopped after HTTP "
            f"{blocked.status} {blocked.code} on {blocked.config_id}: {blocked.detail}"
        )


def _exhausted(job: Job, error: RequestError) -> str:
    return f"gave up after {job.budget.used} attempts; last error: {error}"
