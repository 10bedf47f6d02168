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
    """Per resource: at most one writer among every process that shares this journal file."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[bool]:
        """Hold ``key`` (polling while another process holds it); yields whether it waited."""
        private_folder(self._folder)
        name = hashlib.sha256(key.encode()).hexdigest()[:32]
        fd = os.open(self._folder / f"resource-{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        waited = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    waited = True
                    await anyio.sleep(POLL_SECONDS)
            yield waited
        finally:
            os.close(fd)  # closing the descriptor drops the flock


POLL_SECONDS = 0.05


def _holder(lock_file: Path) -> str:
    """Who holds a run lock, as its holder wrote it (it may be a moment late)."""
    for _ in range(20):
        text = lock_file.read_text(errors="replace").strip()
        if text:
            return text
        time.sleep(0.05)
    return "another process"
