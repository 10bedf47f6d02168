"""Items of many orgs worked on at once: each org at its own width, the run at its own.

A run over a thousand orgs keeps ``total`` workers, not a thousand orgs'
worth of idle ones (each was several KiB of frames, cancel scopes and
waiters) for the whole run.
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
    """Call ``handle`` on every item of every group, ``total`` workers sharing them.

    At most ``width(group)`` calls of one group and ``total`` calls in all run
    at once. A group's items start in their order; groups take turns, so one
    large org never holds back the others. ``proceed`` is asked before each
    item starts; once it says no, the items not yet started are left
    untouched (the caller decides what they become).
    """
    waiting = {g: deque(items) for g, items in groups.items() if items}
    ready = deque(waiting)  # groups with an item waiting and room for it, in turn
    busy: Counter[str] = Counter()
    changed: anyio.Event | None = None  # while a worker waits: set (and dropped) as an item ends

    async def worker() -> None:
        nonlocal changed
        while waiting:
            if not ready:  # every group with items left is at its width
                if changed is None:
                    changed = anyio.Event()
                await changed.wait()
                continue
            if not proceed():
                return
            group = ready.popleft()
            queue = waiting[group]
            item = queue.popleft()
            if not queue:
                del waiting[group]
            busy[group] += 1
            if queue and busy[group] < width(group):
                ready.append(group)
            try:
                await handle(item)
            finally:
                busy[group] -= 1
                if waiting.get(group) and busy[group] == width(group) - 1:
                    ready.append(group)  # it was full: its turn comes again
                if changed is not None:
                    done, changed = changed, None
                    done.set()

    count = sum(len(q) for q in waiting.values())
    async with anyio.create_task_group() as tg:
        for _ in range(min(total, count)):
            tg.start_soon(worker)


@asynccontextmanager
async def slot(limiter: anyio.Semaphore) -> AsyncIterator[None]:
    """Hold one of ``limiter``'s slots; taken without a trip through the event loop when free.

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
