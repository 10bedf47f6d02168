"""The sliding 60-second window of api.md section 4."""

from __future__ import annotations

import math
from collections import deque

WINDOW = 60.0


class SlidingWindow:
    """Arrival times of the requests admitted in the last 60 s.

    Only admitted requests are counted: a request refused with 429 does not
    take a slot, so a client that waits as told is served.
    """

    __slots__ = ("_times",)

    def __init__(self) -> None:
        self._times: deque[float] = deque()

    def __len__(self) -> int:
        return len(self._times)

    def admit(self, now: float, limit: int | None) -> int | None:
        """Count a request arriving at ``now``, or refuse it.

        Returns:
            None when admitted; otherwise the whole seconds until the oldest
            counted request leaves the window (at least 1), for Retry-After.
        """
        times = self._times
        while times and now - times[0] >= WINDOW:
            times.popleft()
        if limit is None or len(times) < limit:
            times.append(now)
            return None
        # A limit lowered at run time may leave more than `limit` in the
        # window: the slot frees when enough of them have left.
        oldest = times[len(times) - limit]
        return max(1, math.ceil(oldest + WINDOW - now))

    def reset(self, now: float) -> int:
        """Whole seconds until the oldest counted request leaves the window (0 if none)."""
        if not self._times:
            return 0
        return max(0, math.ceil(self._times[0] + WINDOW - now))
