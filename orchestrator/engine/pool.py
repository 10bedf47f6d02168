"""A bounded pool of workers pulling from a memory object stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio
from anyio.abc import ObjectReceiveStream

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
    """
    if not items:
        return
    send, receive = anyio.create_memory_object_stream[T](len(items))
    with send:
        for item in items:
            send.send_nowait(item)
    async with anyio.create_task_group() as tg:
        for _ in range(max(1, min(workers, len(items)))):
            tg.start_soon(_work, receive.clone(), handle, proceed)
    receive.close()


async def _work(
    receive: ObjectReceiveStream[T],
    handle: Callable[[T], Awaitable[None]],
    proceed: Callable[[], bool],
) -> None:
    async with receive:
        async for item in receive:
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
