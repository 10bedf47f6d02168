"""Items of many orgs worked on at once: each org at its own width, the run at its own.

Only the items in work have a task: a run over a thousand orgs does not keep
a thousand orgs' worth of idle workers (each was several KiB of frames,
cancel scopes and waiters) for the whole run.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio

T = TypeVar("T")


async def fan_out(
    groups: Mapping[str, Sequence[T]],
    width: Callable[[str], int],
    handle: Callable[[T], Awaitable[None]],
    *,
    total: int,
    proceed: Callable[[], bool] = lambda: True,
) -> None:
    """Call ``handle`` on every item of every group, each call a task of its own.

    At most ``width(group)`` calls of one group and ``total`` calls in all run
    at once. A group's items start in their order; groups take turns, so one
    large org never holds back the others. ``proceed`` is asked before each
    item starts; once it says no, the items not yet started are left
    untouched (the caller decides what they become).
    """
    waiting = {g: deque(items) for g, items in groups.items() if items}
    ready = deque(waiting)  # groups with an item waiting and room for it, in turn
    busy: Counter[str] = Counter()
    running = 0
    changed = anyio.Event()

    async def one(group: str, item: T) -> None:
        nonlocal running, changed
        try:
            await handle(item)
        finally:
            running -= 1
            busy[group] -= 1
            if waiting.get(group) and busy[group] == width(group) - 1:
                ready.append(group)  # it was full: its turn comes again
            changed.set()

    async with anyio.create_task_group() as tg:
        while waiting:
            if running >= total or not ready:
                await changed.wait()
                changed = anyio.Event()
                continue
            if not proceed():
                return
            group = ready.popleft()
            queue = waiting[group]
            item = queue.popleft()
            if not queue:
                del waiting[group]
            running += 1
            busy[group] += 1
            if queue and busy[group] < width(group):
                ready.append(group)
            tg.start_soon(one, group, item)


@asynccontextmanager
async def slot(limiter: anyio.CapacityLimiter) -> AsyncIterator[None]:
    """Hold one of ``limiter``'s tokens; taken without a trip through the event loop when free.

    (``async with limiter`` yields twice even when a token is free: around every
    item, that reorders who goes first and costs CPU.)
    """
    try:
        limiter.acquire_nowait()
    except anyio.WouldBlock:
        await limiter.acquire()
    try:
        yield
    finally:
        limiter.release()
