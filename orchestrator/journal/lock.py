"""One process per run: an exclusive ``flock`` on a lock file beside a file journal.

The kernel releases a ``flock`` when its holder exits, however it exits, so a
run whose process was killed can be resumed at once. The lock file also says
who holds it, so a refused process can name the holder.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from orchestrator.errors import JournalError
from orchestrator.timestamps import stamp


class RunLocks:
    """The run locks of one journal file, held by this process."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._held: dict[str, int] = {}

    def take(self, run_id: str) -> str:
        """Hold ``run_id``; returns the holder text written into the lock file.

        Raises:
            JournalError: another live process holds it, or the lock file
                cannot be made.
        """
        path = self._folder / f"{run_id}.lock"
        try:
            private_folder(self._folder)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise JournalError(f"cannot make the run lock {path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise JournalError(
                f"run {run_id} is being driven by {_holder(path)}; wait for it to finish, or"
                " stop it (its lock is released the moment that process exits, even if killed)"
            ) from None
        self._held[run_id] = fd
        holder = f"pid {os.getpid()} on {socket.gethostname()} since {stamp()}"
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode(), 0)
        return holder

    def release(self, run_id: str) -> bool:
        """Let ``run_id`` go; False if this process did not hold it."""
        fd = self._held.pop(run_id, None)
        if fd is None:
            return False
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        return True

    def held(self) -> list[str]:
        """The runs this process holds."""
        return list(self._held)


def private_folder(folder: Path) -> None:
    """``folder`` and any missing parent, each created ``0700``: journals hold every config."""
    if folder.is_dir():
        return
    private_folder(folder.parent)
    # Made meanwhile by another process (or it is a file: opening in it says so).
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)


class ResourceLocks:
    """Per resource: at most one writer among every journal handle on this file.

    A resource's key hashes to one of :data:`BUCKETS` lock files (creating a
    lock file per resource cost more than the rest of a rollback's journal
    work; these are created once per journal). Across handles (other runs,
    other processes, the shards of one run) an exclusive ``flock`` on the
    bucket excludes; inside one handle (one run, whose items are distinct
    resources) a bucket is shared by count. A bucket's file is open only
    while it is held, so a process never keeps thousands of descriptors. Two
    resources in one bucket only make a run wait a moment, then re-read; with
    4096 buckets and 64 writes in flight that is about one write in 64.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._fds: dict[int, int] = {}
        self._holders: dict[int, int] = {}  # bucket -> tasks of this handle holding it
        self._taking: dict[int, anyio.Event] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[bool]:
        """Hold ``key`` (polling while another handle holds it); yields whether it waited."""
        bucket = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % BUCKETS
        waited = False
        while bucket not in self._holders:
            taking = self._taking.get(bucket)
            if taking is not None:  # another task of this handle is taking it: share it
                await taking.wait()
                continue
            taking = self._taking[bucket] = anyio.Event()
            try:
                self._fds[bucket], waited = await self._take(bucket)
                self._holders[bucket] = 0
            finally:
                del self._taking[bucket]
                taking.set()
        self._holders[bucket] += 1
        try:
            yield waited
        finally:
            self._holders[bucket] -= 1
            if not self._holders[bucket]:
                del self._holders[bucket]
                os.close(self._fds.pop(bucket))  # closing drops the flock

    async def _take(self, bucket: int) -> tuple[int, bool]:
        """The bucket's file, open and ``flock``ed; whether another handle held it first."""
        fd, waited = self._open(bucket), False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return fd, waited
                except BlockingIOError:
                    waited = True
                    await anyio.sleep(POLL_SECONDS)
        except BaseException:
            os.close(fd)
            raise

    def _open(self, bucket: int) -> int:
        path = self._folder / f"resources-{bucket:04}.lock"
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:
            private_folder(self._folder)
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def close(self) -> None:
        """Close every lock file (which drops any lock still held)."""
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        self._holders.clear()


BUCKETS = 4096
POLL_SECONDS = 0.05


def _holder(lock_file: Path) -> str:
    """Who holds a run lock, as its holder wrote it (it may be a moment late)."""
    for _ in range(20):
        text = lock_file.read_text(errors="replace").strip()
        if text:
            return text
        time.sleep(0.05)
    return "another process"
