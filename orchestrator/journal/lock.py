"""The locks beside a file journal: one process per run, one writer per resource.

A run is held with an exclusive ``flock`` on a lock file of its own; a
resource with a byte-range lock on one shared file. The kernel releases both
when their holder exits, however it exits, so a run whose process was killed
can be resumed at once. A run's lock file also says who holds it, so a
refused process can name the holder.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import socket
import struct
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

    A resource's key names one byte of a single lock file (48 bits of its
    hash: an offset, so two resources practically never share one), locked
    for writing with an open-file-description record lock (Linux's
    ``F_OFD_SETLK``). Such a lock belongs to the open file: another handle,
    in this process or another, is refused it; the kernel drops it when the
    file is closed or its process exits, however it exits. Inside one handle
    (one run, whose items are distinct resources) a byte is shared by count.

    Taking and dropping a lock is one system call each, on a file opened once:
    no file per resource or bucket to create, open and close on every write.
    Where OFD locks do not exist (macOS) the byte is locked with a POSIX
    record lock (``lockf``), which excludes other processes but not a second
    handle in this one.
    """

    def __init__(self, folder: Path) -> None:
        self._path = folder / "resources.lock"
        self._fd: int | None = None
        self._holders: dict[int, int] = {}  # byte -> tasks of this handle holding it
        self._taking: dict[int, anyio.Event] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[bool]:
        """Hold ``key`` (polling while another handle holds it); yields whether it waited."""
        byte = int.from_bytes(hashlib.sha256(key.encode()).digest()[:6], "big")
        waited = False
        while byte not in self._holders:
            taking = self._taking.get(byte)
            if taking is not None:  # another task of this handle is taking it: share it
                await taking.wait()
                continue
            if _try_lock(self._file(), byte):  # free: no waiting, nothing to share
                self._holders[byte] = 0
                break
            taking = self._taking[byte] = anyio.Event()
            try:
                await self._take(byte)
                self._holders[byte], waited = 0, True
            finally:
                del self._taking[byte]
                taking.set()
        self._holders[byte] += 1
        try:
            yield waited
        finally:
            self._holders[byte] -= 1
            if not self._holders[byte]:
                del self._holders[byte]
                if self._fd is not None:  # closed meanwhile: the lock went with the file
                    _unlock(self._fd, byte)

    async def _take(self, byte: int) -> None:
        """Lock ``byte``, held by another handle a moment ago: poll until it is free."""
        fd = self._file()
        while True:
            await anyio.sleep(POLL_SECONDS)
            if _try_lock(fd, byte):
                return

    def _file(self) -> int:
        if self._fd is None:
            try:
                private_folder(self._path.parent)
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise JournalError(
                    f"cannot make the resource lock file {self._path}: {exc.strerror or exc}"
                ) from None
        return self._fd

    def close(self) -> None:
        """Close the lock file (which drops every lock still held)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._holders.clear()


# struct flock on 64-bit Linux: l_type, l_whence (short), l_start, l_len (off_t),
# l_pid (int, 0 for OFD locks), padded to 32 bytes.
_FLOCK = "@hhqqi4x"
_OFD = getattr(fcntl, "F_OFD_SETLK", None) if struct.calcsize(_FLOCK) == 32 else None


def _try_lock(fd: int, byte: int) -> bool:
    """Lock one byte of ``fd`` for writing, without waiting; False if another holds it."""
    try:
        if _OFD is None:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, byte, os.SEEK_SET)
        else:
            fcntl.fcntl(fd, _OFD, struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, byte, 1, 0))
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise JournalError(f"cannot take a resource lock: {exc.strerror or exc}") from None
    return True


def _unlock(fd: int, byte: int) -> None:
    try:
        if _OFD is None:
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, byte, os.SEEK_SET)
        else:
            fcntl.fcntl(fd, _OFD, struct.pack(_FLOCK, fcntl.F_UNLCK, os.SEEK_SET, byte, 1, 0))
    except OSError as exc:  # as for taking one: a journal error that says so, not a traceback
        raise JournalError(f"cannot release a resource lock: {exc.strerror or exc}") from None


POLL_SECONDS = 0.05


def _holder(lock_file: Path) -> str:
    """Who holds a run lock, as its holder wrote it (it may be a moment late)."""
    for _ in range(20):
        text = lock_file.read_text(errors="replace").strip()
        if text:
            return text
        time.sleep(0.05)
    return "another process"
