"""A throwaway PostgreSQL server, from the distribution's binaries: for the tests and the bench.

``initdb`` and ``pg_ctl`` into a temporary folder, listening on a Unix socket
only, trust authentication, torn down at the end. Each test (or bench run)
gets a database of its own. As root (CI), the server runs as the ``postgres`` user the
distribution's package creates, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _binaries() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    return versions[0].parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One server for a whole test session or bench; ``with PostgresServer() as server:``."""

    def __init__(self) -> None:
        bin_dir = _binaries()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL's binaries are missing: apt-get install postgresql")
        self._bin = bin_dir
        self._root = Path(tempfile.mkdtemp(prefix="orchestrator-pg-"))
        self._data = self._root / "data"
        self._socket_dir = self._root / "sock"
        self._port = _free_port()
        self._as_root = os.geteuid() == 0
        self._names = itertools.count()

    def _run(self, *argv: str) -> None:
        command = [str(self._bin / argv[0]), *argv[1:]]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd="/")

    def start(self) -> None:
        """initdb, then start on a Unix socket in the temporary folder."""
        self._socket_dir.mkdir(parents=True)
        if self._as_root:
            shutil.chown(self._root, "postgres")
            shutil.chown(self._socket_dir, "postgres")
        self._run("initdb", "-D", str(self._data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-k {self._socket_dir} -p {self._port} -c listen_addresses='' -c fsync=off"
        log = self._root / "server.log"
        self._run("pg_ctl", "-D", str(self._data), "-o", options, "-l", str(log), "-w", "start")

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, database: str = "postgres") -> str:
        """A libpq URL for ``database``, over the Unix socket."""
        return f"postgresql://postgres@/{database}?host={self._socket_dir}&port={self._port}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        try:
            self._run("pg_ctl", "-D", str(self._data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self._root, ignore_errors=True)
