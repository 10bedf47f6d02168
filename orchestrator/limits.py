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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

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
        self._released = anyio.Event()

    async def acquire(self) -> float:
        """Wait for a free slot and take it; returns a token for :meth:`release`."""
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
                released = self._released
                await released.wait()

    def release(self, token: float, *, used: bool = True) -> None:
        """Give a slot back: if a request went out through it, only after a full window."""
        if used:
            heapq.heappush(self._idle, anyio.current_time() + self._period)
        elif token == 0.0:
            self._unused += 1
        else:
            heapq.heappush(self._idle, token)
        self._released.set()
        self._released = anyio.Event()


class OrgPaused(Exception):
    """The org is paused by a 429 for longer than the caller may wait."""

    def __init__(self, remaining: float) -> None:
        self.remaining = remaining
        super().__init__(f"org paused for {remaining:.0f} s")


class OrgGate:
    """Everything a request to one org waits for before it may leave.

    Order matters: the org's own concurrency cap first, then the 429 pause,
    then a window slot, then the run-wide cap, so a request that waits for its
    org's quota never holds a run-wide slot another org could use.
    """

    def __init__(
        self,
        *,
        requests_per_minute: int,
        concurrency: int,
        shared: anyio.CapacityLimiter,
        window: float | None = None,
    ) -> None:
        self._concurrency = anyio.CapacityLimiter(concurrency)
        # Read at construction so a scale-model test can shorten the minute.
        self._window = RateWindow(requests_per_minute, window=window or WINDOW)
        self._shared = shared
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """Hold every request to this org for ``seconds`` (a 429's ``Retry-After``)."""
        self._paused_until = max(self._paused_until, anyio.current_time() + seconds)

    def pause_remaining(self) -> float:
        """Seconds left in the current 429 pause, 0 when not paused."""
        return max(0.0, self._paused_until - anyio.current_time())

    @asynccontextmanager
    async def slot(self, *, max_pause: float) -> AsyncIterator[None]:
        """Hold the right to send one request now.

        Raises:
            OrgPaused: the org is paused for longer than ``max_pause``.
        """
        async with self._concurrency:
            token = await self._take_window_slot(max_pause)
            used = False
            try:
                async with self._shared:
                    used = True
                    yield
            finally:
                self._window.release(token, used=used)

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
