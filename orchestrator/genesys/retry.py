"""When to retry and how long to wait: capped exponential backoff with full jitter.

The predicate is explicit (conflicts, 429, transient 5xx, lost connections;
never a bare ``Exception``) and the attempt budget is per item, shared by
conflicts, 429s and transient errors, on reads and writes alike. A 429 waits
for ``Retry-After`` (the org's gate holds every request that long) and at
least the computed backoff: a ``Retry-After`` of zero, a negative one, NaN or
garbage never means "at once". Tests make every wait instant with
:func:`instant_waits`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import anyio

from orchestrator.errors import Conflict, RateLimited, RequestError, ServerError, TransportError
from orchestrator.models import Backoff

T = TypeVar("T")
_instant = False


@contextmanager
def instant_waits() -> Iterator[None]:
    """Make every computed backoff zero (for tests); ``Retry-After`` still pauses the org."""
    global _instant
    previous, _instant = _instant, True
    try:
        yield
    finally:
        _instant = previous


def is_retryable(exc: RequestError) -> bool:
    """Whether an item may try again after ``exc`` (within its attempt budget)."""
    return isinstance(exc, Conflict | RateLimited | ServerError | TransportError)


def backoff_delay(backoff: Backoff, retry: int, rng: random.Random | None = None) -> float:
    """Full-jitter delay before retry number ``retry`` (1-based): U(0, min(max, base·2^(n-1)))."""
    if _instant:
        return 0.0
    ceiling = min(backoff.max, backoff.base * (2 ** max(0, retry - 1)))
    return (rng or random).uniform(0.0, ceiling)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    Returns None when the header is absent or says nothing usable: garbage,
    NaN, infinity, zero or less, a date not in the future. (A 429 that says
    "retry at once" contradicts itself; the caller waits its default.)
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds > 0 else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return seconds if seconds > 0 else None


@dataclass(slots=True)
class Budget:
    """The attempts one item may spend, conflicts and transient errors together."""

    attempts: int
    used: int = 1  # the first try

    def spend(self) -> bool:
        """Take one more attempt; False when the budget is exhausted."""
        if self.used >= self.attempts:
            return False
        self.used += 1
        return True


async def retrying(
    call: Callable[[], Awaitable[T]],
    *,
    budget: Budget,
    backoff: Backoff,
    max_retry_after: float,
    on_retry: Callable[[RequestError], None] | None = None,
) -> T:
    """Run a read ``call``, retrying what :func:`is_retryable` allows within ``budget``.

    Only for requests that change nothing: a write's retry must re-read first,
    which is the worker's business. Every retry waits the computed backoff; a
    429's ``Retry-After`` runs alongside it (the org's gate holds every request
    until it has passed), so a 429 waits whichever is longer.

    Raises:
        RequestError: permanent, over ``max_retry_after``, or the budget is spent.
    """
    while True:
        try:
            return await call()
        except RequestError as exc:
            if not is_retryable(exc):
                raise
            if isinstance(exc, RateLimited) and exc.retry_after > max_retry_after:
                raise
            if not budget.spend():
                raise
            if on_retry is not None:
                on_retry(exc)
            await anyio.sleep(backoff_delay(backoff, budget.used - 1))
