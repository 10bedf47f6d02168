"""Pacing per org: a sliding-window quota, a 429 pause, and concurrency caps.

Genesys Cloud (and the sandbox) allow at most L requests in any 60 s window,
counted by arrival. A leaky bucket such as aiolimiter's ``(L, 60)`` admits its
initial burst *and* the drain, up to 2L in one window; ``(1, 60/L)`` holds the
quota but wastes the burst a small job could use. :class:`RateWindow` holds
the contract exactly: a request counts from the moment it leaves until
``window`` seconds after it *completed*, and at most L count at once. A
completed request has arrived, so no ``window`` interval of arrivals ever
holds L + 1, whatever the latency; a small job still goes out in one burst.

L starts as the environment file's ``requests_per_minute`` and follows the
server's own figure (``inin-ratelimit-allowed``) as soon as an answer carries
it, never above the file's: the file is the ceiling the operator chose.
aiolimiter's leaky bucket is used for what it is right for: the optional
run-wide ``limits.max_rate``, smoothing the operator's own egress.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Mapping
from typing import Protocol

import anyio
from aiolimiter import AsyncLimiter

from orchestrator.logs import get_logger

_log = get_logger()

# Times are time.monotonic(): asyncio's loop clock, which anyio.sleep_until
# compares against (aiohttp pins us to asyncio), at a fraction of the cost of
# anyio.current_time() on this path taken by every request.
WINDOW = 60.0
# Clock granularity between our loop and the server's: a slot is reused a hair
# after the full window, never exactly on its edge.
MARGIN = 0.05


class RateWindow:
    """At most ``limit`` request lifetimes starting within any ``window`` seconds.

    A request counts from the moment it leaves until ``window`` seconds after
    it completed (a completed request has arrived). ``limit`` may change at
    any time (a server told us its real quota): the next request waits until
    fewer than the new limit are counted.
    """

    def __init__(self, limit: int, *, window: float = WINDOW, margin: float = MARGIN) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._inflight = 0
        self._cooling: list[float] = []  # heap: when each completed request stops counting
        self._period = window + margin
        self._lock = anyio.Lock()  # FIFO: requests leave in the order they asked
        self._changed: anyio.Event | None = None  # set on a release or a new limit, if awaited

    def counted(self, now: float | None = None) -> int:
        """Requests that count against the limit right now (in flight or cooling)."""
        cooling = self._cooling
        now = time.monotonic() if now is None else now
        while cooling and cooling[0] <= now:
            heapq.heappop(cooling)
        return self._inflight + len(cooling)

    def acquire_nowait(self) -> bool:
        """Count one more request if it fits now and nobody is queued (then True)."""
        if not self._lock.locked() and self.counted() < self.limit:
            self._inflight += 1
            return True
        return False

    async def acquire(self) -> None:
        """Wait until one more request fits, and count it; pair with :meth:`release`."""
        if self.acquire_nowait():
            return  # nobody queued and room now: no trip through the loop
        async with self._lock:
            while True:
                now = time.monotonic()
                excess = self.counted(now) + 1 - self.limit
                if excess <= 0:
                    self._inflight += 1
                    return
                self._changed = anyio.Event()
                if excess <= len(self._cooling):  # enough cool down by themselves
                    wake = heapq.nsmallest(excess, self._cooling)[-1]
                    with anyio.move_on_after(wake - now):
                        await self._changed.wait()
                else:  # requests in flight must complete first
                    await self._changed.wait()

    def release(self, *, used: bool = True) -> None:
        """A counted request is over; if it went out, it keeps counting for a full window."""
        self._inflight -= 1
        if used:
            heapq.heappush(self._cooling, time.monotonic() + self._period)
        self._poke()

    def resize(self, limit: int) -> None:
        """Pace to ``limit`` from now on (at least 1)."""
        self.limit = max(1, limit)
        self._poke()

    def assume(self, used: int, reset: float) -> None:
        """The server counts ``used`` in its window: count the ones we do not know of.

        Requests this process did not send (an earlier process, another
        client on the token) are taken to count until the server's ``reset``.
        """
        missing = used - self.counted()
        until = time.monotonic() + max(0.0, reset) + MARGIN
        for _ in range(max(0, missing)):
            heapq.heappush(self._cooling, until)

    def _poke(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None


class SendMeter:
    """Requests sent in the last minute, in one-second buckets: what a display shows as a rate.

    Recorded on the event loop's thread with every request; read from any
    thread (a live display, a summary ticker). Reading is a sum over 60 ints
    and never waits for the loop; a reading taken while a send is recorded
    may be off by that one request, which a display can live with.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._counts = [0] * 60
        self._seconds = [-1] * 60  # which whole second each bucket counts

    def sent(self) -> None:
        """Count one request, now."""
        second = int(self._clock())
        slot = second % 60
        if self._seconds[slot] != second:
            self._seconds[slot], self._counts[slot] = second, 0
        self._counts[slot] += 1

    def last_minute(self) -> int:
        """Requests counted in the last 60 s."""
        now = int(self._clock())
        return sum(c for c, s in zip(self._counts, self._seconds, strict=True) if now - s < 60)


class OrgPaused(Exception):
    """The org is paused by a 429 for longer than the caller may wait."""

    def __init__(self, remaining: float) -> None:
        self.remaining = remaining
        super().__init__(f"org paused for {remaining:.0f} s")


def slots(count: int) -> anyio.Semaphore:
    """A concurrency cap for a path taken by every request or item.

    A semaphore, not a ``CapacityLimiter``: nothing here needs to know who holds
    a slot, and a limiter looks up the current task on every acquire and release
    (about a tenth of the orchestrator's CPU when it was one). ``fast_acquire``:
    a free slot is taken without a trip through the event loop.
    """
    return anyio.Semaphore(count, fast_acquire=True)


class OrgGate:
    """Everything a request to one org waits for before it may leave.

    Order matters: the org's own concurrency cap first, then the 429 pause,
    then the window, then the run-wide smoothing and cap, so a request that
    waits for its org's quota never holds a run-wide slot another org could
    use. Every step has a fast path that does not yield when nothing needs
    waiting for: this runs for every request.

    Until the server has said what this org's limit really is (the
    ``inin-ratelimit-*`` headers), requests go one at a time: if the
    configured quota is too high, the first 429 then costs exactly one
    refused request, not one per request in flight.
    """

    def __init__(
        self,
        *,
        requests_per_minute: int,
        concurrency: int,
        shared: anyio.Semaphore,
        smoothing: AsyncLimiter | None = None,
        window: float | None = None,
        name: str = "",
    ) -> None:
        self.name = name  # the org's, for log lines
        self.configured = requests_per_minute  # the operator's ceiling
        self._concurrency_wanted = concurrency
        self._concurrency = slots(1)  # opened to ``concurrency`` once the limit is known
        self._concurrency_opened = False
        # Read at construction so a scale-model test can shorten the minute.
        self._window = RateWindow(requests_per_minute, window=window or WINDOW)
        self._shared = shared
        self._smoothing = smoothing
        self._paused_until = 0.0
        self.learned: int | None = None  # the server's own figure, once it said it
        self._pause_logged = False
        self.meter = SendMeter()

    @property
    def limit(self) -> int:
        """The quota this org is paced to now, per minute."""
        return self._window.limit

    def learn(self, allowed: int, used: int | None, reset: float | None) -> bool:
        """The server's ``inin-ratelimit-*``: pace to its limit, never above the configured one.

        Returns:
            True when the server's figure is new (worth telling someone).
        """
        if allowed < 1:
            return False
        new = allowed != self.learned
        self.learned = allowed
        self._window.resize(min(allowed, self.configured))
        if used is not None:
            self._window.assume(used, reset or 0.0)
        if not self._concurrency_opened:  # the limit is known now: open the org's cap
            self._concurrency_opened = True
            for _ in range(self._concurrency_wanted - 1):
                self._concurrency.release()  # one more slot (or a waiter let go)
        return new

    def pause(self, seconds: float) -> None:
        """Hold every request to this org for ``seconds`` (a 429's ``Retry-After``)."""
        if not self.pause_remaining():
            _log.warning("org paused by a 429", org=self.name, seconds=seconds)
            self._pause_logged = True
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def pause_remaining(self) -> float:
        """Seconds left in the current 429 pause, 0 when not paused."""
        return max(0.0, self._paused_until - time.monotonic())

    async def enter(self, *, max_pause: float) -> None:
        """Wait until one request may leave now; pair with :meth:`leave`.

        Raises:
            OrgPaused: the org is paused for longer than ``max_pause``.
        """
        concurrency, shared = self._concurrency, self._shared
        try:
            concurrency.acquire_nowait()  # inline, as the rest of the fast path: every request
        except anyio.WouldBlock:
            await concurrency.acquire()
        try:
            # Not paused, and the window has room now: no coroutine to wait in.
            if self._paused_until > time.monotonic() or not self._window.acquire_nowait():
                await self._take_window_slot(max_pause)
            try:
                if self._smoothing is not None:
                    await self._smoothing.acquire()
                try:
                    shared.acquire_nowait()
                except anyio.WouldBlock:
                    await shared.acquire()
            except BaseException:
                self._window.release(used=False)
                raise
        except BaseException:
            self._concurrency.release()
            raise
        self.meter.sent()

    def leave(self) -> None:
        """The request that :meth:`enter` let go has completed (or failed)."""
        self._shared.release()
        self._window.release()
        self._concurrency.release()

    async def sit_out_pause(self, *, max_pause: float) -> None:
        """Wait for a 429's pause to end (a token request is not paced, but waits too).

        Raises:
            OrgPaused: the org is paused for longer than ``max_pause``.
        """
        await self._sleep_out_pause(max_pause)

    async def _take_window_slot(self, max_pause: float) -> None:
        while True:
            await self._sleep_out_pause(max_pause)
            await self._window.acquire()
            if self.pause_remaining() == 0.0:
                return
            self._window.release(used=False)  # a 429 arrived while we queued

    async def _sleep_out_pause(self, max_pause: float) -> None:
        remaining = self.pause_remaining()
        if remaining > max_pause:
            raise OrgPaused(remaining)
        if remaining:
            await anyio.sleep_until(self._paused_until)
            if self._pause_logged and not self.pause_remaining():
                self._pause_logged = False
                _log.info("org pause ended", org=self.name)


class PacingListener(Protocol):
    """Told what the servers say about pacing, so it outlives this process (the journal)."""

    async def limit_learned(self, org: str, allowed: int, configured: int) -> None:
        """``org``'s server said its real limit is ``allowed`` per minute."""
        ...

    async def paused(self, org: str, seconds: float) -> None:
        """``org``'s server asked (429) that nothing be sent for ``seconds``."""
        ...


def ratelimit_headers(headers: Mapping[str, str]) -> tuple[int, int | None, float | None] | None:
    """``inin-ratelimit-allowed`` / ``-count`` / ``-reset``, or None if absent or unreadable."""
    allowed = _whole(headers.get("inin-ratelimit-allowed"))
    if allowed is None or allowed < 1:
        return None
    reset = _whole(headers.get("inin-ratelimit-reset"))
    return allowed, _whole(headers.get("inin-ratelimit-count")), reset


def _whole(text: str | None) -> int | None:
    try:
        value = int(text) if text is not None else None
    except ValueError:
        return None
    return value if value is None or 0 <= value <= 10**9 else None
