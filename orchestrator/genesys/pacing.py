"""Pacing per org: a sliding-window quota, a 429 pause, and concurrency caps.

Genesys Cloud (and the sandbox) allow at most L requests in any 60 s window,
counted by arrival. A leaky bucket such as aiolimiter's ``(L, 60)`` admits its
initial burst *and* the drain, up to 2L in one window; ``(1, 60/L)`` holds the
quota but wastes the burst a small job could use. :class:`RateWindow` holds
the contract exactly: it has L slots, and a slot is reused only ``window``
seconds after the request that last used it *completed*. A completed request
has arrived, so two requests through one slot arrive more than ``window``
apart, and by pigeonhole no ``window`` interval ever sees L + 1 arrivals, whatever
the latency. A small job still goes out in one burst.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable

import anyio

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
    """At most ``limit`` request lifetimes starting within any ``window`` seconds."""

    def __init__(self, limit: int, *, window: float = WINDOW, margin: float = MARGIN) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._unused = limit  # slots never used yet: free right now
        self._idle: list[float] = []  # heap of times at which used slots become free
        self._period = window + margin
        self._lock = anyio.Lock()  # FIFO: requests leave in the order they asked
        self._freed: anyio.Event | None = None  # set when a slot comes back, if anyone waits

    async def acquire(self) -> float:
        """Wait for a free slot and take it; returns a token for :meth:`release`."""
        if not self._lock.locked():  # nobody queued: take a free slot without yielding
            if self._unused:
                self._unused -= 1
                return 0.0
            if self._idle and self._idle[0] <= time.monotonic():
                return heapq.heappop(self._idle)
        async with self._lock:
            while True:
                if self._unused:
                    self._unused -= 1
                    return 0.0
                if self._idle:
                    free_at = heapq.heappop(self._idle)
                    try:
                        await anyio.sleep_until(free_at)
                    except BaseException:
                        heapq.heappush(self._idle, free_at)
                        raise
                    return free_at
                self._freed = anyio.Event()
                await self._freed.wait()

    def release(self, token: float, *, used: bool = True) -> None:
        """Give a slot back: if a request went out through it, only after a full window."""
        if used:
            heapq.heappush(self._idle, time.monotonic() + self._period)
        elif token == 0.0:
            self._unused += 1
        else:
            heapq.heappush(self._idle, token)
        if self._freed is not None:
            self._freed.set()
            self._freed = None


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


async def _take(limiter: anyio.CapacityLimiter) -> None:
    """Acquire without a trip through the event loop when a token is free."""
    try:
        limiter.acquire_nowait()
    except anyio.WouldBlock:
        await limiter.acquire()


class OrgGate:
    """Everything a request to one org waits for before it may leave.

    Order matters: the org's own concurrency cap first, then the 429 pause,
    then a window slot, then the run-wide cap, so a request that waits for its
    org's quota never holds a run-wide slot another org could use. Every step
    has a fast path that does not yield when nothing needs waiting for: this
    runs for every request.
    """

    def __init__(
        self,
        *,
        requests_per_minute: int,
        concurrency: int,
        shared: anyio.CapacityLimiter,
        window: float | None = None,
        name: str = "",
    ) -> None:
        self.name = name  # the org's, for log lines
        self._concurrency = anyio.CapacityLimiter(concurrency)
        # Read at construction so a scale-model test can shorten the minute.
        self._window = RateWindow(requests_per_minute, window=window or WINDOW)
        self._shared = shared
        self._paused_until = 0.0
        self._pause_logged = False
        self.limit = requests_per_minute
        self.meter = SendMeter()

    def pause(self, seconds: float) -> None:
        """Hold every request to this org for ``seconds`` (a 429's ``Retry-After``)."""
        if not self.pause_remaining():
            _log.warning("org paused by a 429", org=self.name, seconds=seconds)
            self._pause_logged = True
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def pause_remaining(self) -> float:
        """Seconds left in the current 429 pause, 0 when not paused."""
        return max(0.0, self._paused_until - time.monotonic())

    async def enter(self, *, max_pause: float) -> float:
        """Wait until one request may leave now; pass the token to :meth:`leave`.

        Raises:
            OrgPaused: the org is paused for longer than ``max_pause``.
        """
        await _take(self._concurrency)
        try:
            token = await self._take_window_slot(max_pause)
            try:
                await _take(self._shared)
            except BaseException:
                self._window.release(token, used=False)
                raise
        except BaseException:
            self._concurrency.release()
            raise
        self.meter.sent()
        return token

    def leave(self, token: float) -> None:
        """The request that :meth:`enter` let go has completed (or failed)."""
        self._shared.release()
        self._window.release(token)
        self._concurrency.release()

    async def _take_window_slot(self, max_pause: float) -> float:
        while True:
            await self._sleep_out_pause(max_pause)
            token = await self._window.acquire()
            if self.pause_remaining() == 0.0:
                return token
            self._window.release(token, used=False)  # a 429 arrived while we queued

    async def _sleep_out_pause(self, max_pause: float) -> None:
        remaining = self.pause_remaining()
        if remaining > max_pause:
            raise OrgPaused(remaining)
        if remaining:
            await anyio.sleep_until(self._paused_until)
            if self._pause_logged and not self.pause_remaining():
                self._pause_logged = False
                _log.info("org pause ended", org=self.name)
