"""A bounded pool of workers pulling from one shared iterator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio

T = TypeVar("T")


async def drain(
    items: Sequence[T],
    workers: int,
    handle: Callable[[T], Awaitable[None]],
    *,
    proceed: Callable[[], bool] = lambda: True,
) -> None:
    """Feed ``items`` to at most ``workers`` concurrent calls of ``handle``.

    ``proceed`` is asked before each item starts; once it says no, the items
    not yet started are left untouched (the caller decides what they become).

    Workers take items, in order, from one shared iterator: taking one needs
    no trip through the event loop (a memory stream's ``receive`` yields on
    every item, a loop turn per item per pool).
    """
    if not items:
        return
    queue = iter(items)
    async with anyio.create_task_group() as tg:
        for _ in range(max(1, min(workers, len(items)))):
            tg.start_soon(_work, queue, handle, proceed)


async def _work(
    queue: Iterator[T], handle: Callable[[T], Awaitable[None]], proceed: Callable[[], bool]
) -> None:
    for item in queue:
        if proceed():
            await handle(item)


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
