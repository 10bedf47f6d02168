"""Verification: poll written items until they are live, without a task per item.

Propagation can take minutes, so a wave may have hundreds of written items
waiting at once. The verifier keeps them in one heap ordered by when each is
next due, probes the due ones (every probe is a request through the org's
gate, so the usual limits apply) and backs off per item until it is live or
its ``verify_timeout`` runs out.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from orchestrator.engine.job import Job, failure
from orchestrator.errors import ItemError, RateLimited, RequestError
from orchestrator.genesys.retry import is_retryable
from orchestrator.models import Limits
from orchestrator.statuses import Status

FIRST_INTERVAL = 0.5
MAX_INTERVAL = 5.0


@dataclass(order=True, slots=True)
class _Entry:
    due: float
    order: int
    job: Job = field(compare=False)
    deadline: float = field(compare=False)
    interval: float = field(compare=False, default=FIRST_INTERVAL)


class Verifier:
    """Confirms that each written item went live; finishes it either way."""

    def __init__(
        self, *, limits: Limits, finish: Callable[[Job], None], may_continue: Callable[[], bool]
    ) -> None:
        self._limits = limits
        self._finish = finish
        self._may_continue = may_continue
        self._heap: list[_Entry] = []
        self._order = itertools.count()
        self._in_flight = 0
        self._closed = False
        self._wake: anyio.Event | None = None  # set while the scheduler sleeps

    def submit(self, job: Job) -> None:
        """Verify ``job`` from now on (its first probe goes out at once)."""
        now = time.monotonic()
        deadline = now + self._limits.verify_timeout
        heapq.heappush(self._heap, _Entry(now, next(self._order), job, deadline))
        self._poke()

    def close(self) -> None:
        """No more submissions: :meth:`run` returns once the last item is settled."""
        self._closed = True
        self._poke()

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        """Probe due items until closed and empty (or interrupted).

        A fixed set of probers (as many as requests may be in flight) takes
        due items from a stream: no task is spawned per probe.
        """
        send, receive = anyio.create_memory_object_stream[_Entry](math.inf)
        async with anyio.create_task_group() as tg:
            for _ in range(self._limits.concurrency):
                tg.start_soon(self._prober, receive.clone())
            receive.close()
            with send:
                await self._schedule(send)

    async def _schedule(self, send: MemoryObjectSendStream[_Entry]) -> None:
        while self._may_continue():  # interrupted: written items stay "written" for resume
            if self._closed and not self._heap and not self._in_flight:
                return
            now = time.monotonic()
            while self._heap and self._heap[0].due <= now:
                self._in_flight += 1
                send.send_nowait(heapq.heappop(self._heap))
            delay = self._heap[0].due - now if self._heap else None
            self._wake = anyio.Event()
            with anyio.move_on_after(delay):
                await self._wake.wait()
            self._wake = None

    async def _prober(self, receive: MemoryObjectReceiveStream[_Entry]) -> None:
        async with receive:
            while (entry := await _next(receive)) is not None:
                if self._may_continue():
                    await self._probe(entry)
                else:
                    self._in_flight -= 1

    async def _probe(self, entry: _Entry) -> None:
        job = entry.job
        assert job.written is not None and job.target is not None
        try:
            live = await job.kind.is_live(job.client, job.rid, job.written, job.target, job.stats)
            problem: RequestError | None = None
        except RequestError as exc:
            live, problem = False, exc
            if _worth_retrying(exc, self._limits):
                job.retried()
        finally:
            self._in_flight -= 1
        now = time.monotonic()
        if live:
            job.status = Status.SUCCEEDED
            self._finish(job)
        elif problem is not None and not _worth_retrying(problem, self._limits):
            job.fail(
                Status.UNVERIFIED, problem, message=f"written, but not verified: {problem.detail}"
            )
            self._finish(job)
        elif now + entry.interval > entry.deadline:
            job.fail(Status.UNVERIFIED, self._timeout_error(job))
            self._finish(job)
        else:
            entry.due = now + entry.interval
            entry.interval = min(MAX_INTERVAL, entry.interval * 1.5)
            heapq.heappush(self._heap, entry)
        self._poke()

    def _timeout_error(self, job: Job) -> ItemError:
        what = (
            f"version {job.written.version}"
            if job.written and job.written.version is not None
            else "the new content"
        )
        return failure(
            "verify.timeout",
            f"{what} was written but not seen live within verify_timeout "
            f"({self._limits.verify_timeout:g} s)",
        )


async def _next(receive: MemoryObjectReceiveStream[_Entry]) -> _Entry | None:
    """The next due entry, None once the stream is closed and empty.

    An entry already waiting is taken without a trip through the event loop
    (``receive()`` yields even then: a loop turn per probe).
    """
    try:
        return receive.receive_nowait()
    except anyio.WouldBlock:
        try:
            return await receive.receive()
        except anyio.EndOfStream:
            return None
    except anyio.EndOfStream:
        return None


def _worth_retrying(problem: RequestError, limits: Limits) -> bool:
    if isinstance(problem, RateLimited):
        return problem.retry_after <= limits.max_retry_after
    return is_retryable(problem)
