"""One item's rollback: decide, write under the guard, and re-decide on conflict.

The algorithm is written once for every resource kind:

1. Know the live state (planning's read, or a fresh one when the last step
   left the truth unknown, or always for kinds without a server-side guard).
2. Live equals target: done (``already_at_target``, or our write landed).
   Live moved away from what planning saw: drift rules. Otherwise write.
3. Record the intent, then send the guarded write.
4. A conflict means stale: back off, re-read, go to 2. Any other answer that
   does not confirm the write (a lost or unreadable answer, a 5xx, a 2xx of
   the wrong shape, a redirect) means unknown: re-read before anything else,
   never re-send blindly. A 403 stops every write to the org.
5. A confirmed write goes to the verifier.

An unknown outcome never ends as a plain ``failed``: if no read tells the
truth before the item's budget runs out, the item ends ``unverified`` with
code ``write.unknown`` (the write may have happened), and ``resume`` takes it
up again: it reads, then decides.

A write of several requests (an assistant and its copilot; bindings added
and removed) can stop halfway. Once an intent is recorded, a re-read whose
every part is at the planned baseline or at the target is our own progress,
not drift: the kind then sends only what is left.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio

from orchestrator import jsontext
from orchestrator.canonical import text_hash
from orchestrator.engine.job import Job, exhausted, failure
from orchestrator.engine.pool import slot
from orchestrator.engine.recorder import Recorder
from orchestrator.errors import (
    AuthenticationFailed,
    BadRequest,
    Conflict,
    ItemError,
    JournalError,
    NotFound,
    PermissionDenied,
    QueueTaken,
    RateLimited,
    RequestError,
    TransportError,
)
from orchestrator.genesys.client import WriteHeld
from orchestrator.genesys.content import between, content_hash
from orchestrator.genesys.kinds import Live
from orchestrator.genesys.retry import backoff_delay
from orchestrator.logs import get_logger
from orchestrator.models import Limits, OnDrift
from orchestrator.statuses import WRITE_UNKNOWN, State, Status

_log = get_logger()

# Answers that say the write was refused, so not applied (besides a conflict and a 429,
# which the worker retries): any other answer leaves the write's outcome unknown.
_REFUSED = (BadRequest, AuthenticationFailed, PermissionDenied, NotFound)


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
        async with slot(job.client.work):  # the run's items in work at once: see Client.work
            try:
                async with self._recorder.writing(job) as waited:
                    if job.target_shed:
                        await self._recall_target(job)
                    await self._execute(job, reread=waited)
            except RequestError as exc:
                job.stopped_by(exc, self._limits)
        if job.status is not None:
            self._recorder.done(job)
        await self._recorder.keep_up()

    async def _execute(self, job: Job, *, reread: bool) -> None:
        assert job.target is not None and job.baseline is not None
        # After a crash between intent and answer, only a read tells what happened;
        # after another run held the resource, only a read tells what it did.
        maybe_ours = job.state is State.INTENDED
        if maybe_ours:
            job.unknown = job.unknown or failure(
                WRITE_UNKNOWN, "its write intent was journaled, but no answer to it was"
            )
        # A reviewed item is read before its write: its baseline is a saved file's.
        fresh = maybe_ours or reread or job.item.reviewed
        live: Live | None = None if fresh else job.baseline
        last_error: RequestError | None = None
        while True:
            if live is None or job.kind.rereads_before_write:
                live = await job.read(self._limits)
                job.unknown = None  # whatever the read shows is the truth to decide from
            if live.hash == job.target.hash:
                return self._landed(job, live, ours=maybe_ours)
            partial = self._our_progress(job, live)
            moved = live.hash != job.baseline.hash or _stale(job, live)
            if moved and not partial:
                if job.item.on_drift is OnDrift.STOP or job.item.reviewed:
                    return self._drifted(job, live)
                self._recorder.event(job.seq, "drift.overwrite", {"version": live.version})
                _log.warning(
                    "drift overwritten", org=job.org, config_id=job.rid, version=live.version
                )
            if live.hash != job.baseline.hash:  # planning checked the baseline itself
                if (refusal := job.kind.problem(live.fields, job.target.fields)) is not None:
                    job.fail(Status.FAILED, refusal.item_error())
                    return None
            elif not job.baseline.fields and live.fields:
                # A job rebuilt on resume knows only the baseline's hash; telling our
                # half-written state from drift later needs its parts: these are they.
                job.baseline = job.baseline.holding(live.fields)
            if not self._may_write():
                return None  # interrupted: the item stays where the journal says it is
            if last_error is not None and not job.budget.spend():
                job.fail(Status.FAILED, last_error, message=exhausted(job, last_error))
                return None
            try:
                written = await self._write(job, live, replaces_baseline=not partial)
            except QueueTaken as exc:
                job.fail(Status.DRIFTED, exc.item_error())
                return None
            except Conflict as exc:
                job.conflicts += 1
                self._recorder.event(job.seq, "conflict", exc.item_error().as_dict())
                _log.info("conflict", org=job.org, config_id=job.rid, **_why(exc))
                live, last_error = None, exc
            except RateLimited as exc:
                if exc.retry_after > self._limits.max_retry_after:
                    raise
                last_error = exc  # not applied, and the org's gate holds the retry
            except TransportError as exc:
                if exc.maybe_applied:
                    maybe_ours, live, last_error = True, None, self._unknown(job, exc)
                else:
                    last_error = exc  # no connection: nothing was sent
            except _REFUSED:
                raise
            except RequestError as exc:  # a 5xx, a 3xx, an answer that confirms nothing
                maybe_ours, live, last_error = True, None, self._unknown(job, exc)
            else:
                if written is not None:
                    job.written = written
                    self._recorder.written(job)
                    self._to_verifier(job)
                return None
            job.retried()
            # A 429 waits this too: alongside its Retry-After, whichever is longer.
            await anyio.sleep(backoff_delay(self._limits.backoff, job.budget.used))

    def _to_verifier(self, job: Job) -> None:
        """A confirmed write: verifying needs versions and hashes only, so no content is kept."""
        job.release()
        self._verify(job)

    async def _recall_target(self, job: Job) -> None:
        """The target's content, from the journal where planning left it (see ``Job.shed``).

        Raises:
            JournalError: the journal lost it, or holds other content than planned.
        """
        journal, run_id = self._recorder.journal, self._recorder.run_id
        assert job.target is not None and journal is not None and run_id is not None
        fields = recalled(await journal.target_text(run_id, job.seq), job.target.hash)
        if fields is None:
            raise JournalError(
                f"item {job.seq} ({job.org} {job.rid}): the journal does not hold the target"
                " content planning recorded"
            )
        job.target = job.target.holding(fields)
        job.target_shed = False

    def _unknown(self, job: Job, exc: RequestError) -> RequestError:
        """The write's outcome is unknown: journal it; only a read may tell."""
        job.unknown = exc.item_error()
        detail = job.unknown.as_dict()
        # A 2xx the kind would not take (not the resource) counted as landed: it is the
        # one in doubt here. Any before it were taken (an assistant's PATCH): name them.
        landed = job.stats.take_landed()
        if landed and landed[-1] == exc.correlation_id:
            landed.pop()
        if landed:
            detail["landed"] = ",".join(landed)
        self._recorder.event(job.seq, WRITE_UNKNOWN, detail)
        _log.warning("write outcome unknown", org=job.org, config_id=job.rid, **_why(exc))
        return exc

    def _our_progress(self, job: Job, live: Live) -> bool:
        """Whether ``live`` is our own write stopped halfway (each part at baseline or target)."""
        assert job.baseline is not None and job.target is not None
        baseline = job.baseline
        if job.state is not State.INTENDED or live.hash == baseline.hash:
            return False
        # Resumed without the baseline's parts (no pre-write snapshot), or a kind whose
        # write is one request (Job.shed): only the hash is known, and a changed hash
        # must then count as drift.
        if not baseline.fields or content_hash(baseline.fields) != baseline.hash:
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
            except WriteHeld:
                return None  # stopped at the gate: the intent stays, `resume` reads first
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
        self._to_verifier(job)

    def _drifted(self, job: Job, live: Live) -> None:
        _log.warning("drift", org=job.org, config_id=job.rid, version=live.version)
        if job.item.reviewed:
            job.fail(Status.DRIFTED, _stale_error(job, live))
            return
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


def _stale(job: Job, live: Live) -> bool:
    """A reviewed item's guard moved (a version bump counts): it is not what was reviewed."""
    base = job.baseline
    if not job.item.reviewed or base is None:
        return False
    return any(
        then is not None and then != now
        for then, now in ((base.version, live.version), (base.etag, live.etag))
    ) or (base.modified is not None and base.modified != live.modified)


def _stale_error(job: Job, live: Live) -> ItemError:
    """``plan.stale``: a reviewed item changed since its plan was saved."""
    base = job.baseline
    return failure(
        "plan.stale",
        f"changed since the saved plan was reviewed (version {base.version if base else '?'}"
        f" then, {live.version} now; modified {live.modified}): not written; a reviewed"
        " plan never overwrites what nobody reviewed (plan and review it again)",
    )


def _why(exc: RequestError) -> dict[str, Any]:
    """The log fields of a request's failure."""
    return {"status": exc.status, "code": exc.code, "correlation_id": exc.correlation_id}


def recalled(text: str | None, target_hash: str) -> dict[str, Any] | None:
    """The target content in ``text`` (JSON from the journal) if it hashes to ``target_hash``.

    Stored canonical (schema v5 on), the text hashes as it is; text from
    before is parsed and encoded again first. Either way the content is the
    one planning hashed, or None.
    """
    if text is None:
        return None
    try:
        fields = jsontext.loads(text)
    except ValueError:  # a damaged journal: not the content planning hashed
        return None
    if not isinstance(fields, dict):
        return None
    if text_hash(text) == target_hash:
        return fields
    return fields if content_hash(fields) == target_hash else None
