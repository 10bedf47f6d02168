"""The Job's journal URL, with no password in it, opens a database that demands one.

The pod's environment (deploy/kubernetes/job.yaml with the Secret's values)
is given to the real CLI, against a PostgreSQL server of its own that
authenticates with SCRAM, as a production database does (the suite's shared
server trusts everyone, so it could not tell).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.deploy.kubernetes import Manifest, manifest, option, pod_args, pod_env
from tests.postgres import PostgresServer

SUPERUSER_PASSWORD = "superuser-only-for-this-test"


class ScramServer(PostgresServer):
    """A throwaway server whose every login needs a password."""

    def start(self) -> None:
        """initdb with SCRAM authentication, then start on the Unix socket."""
        self._socket_dir.mkdir(parents=True)
        secret = self._root / "superuser.pw"
        secret.write_text(SUPERUSER_PASSWORD)
        if self._as_root:
            for path in (self._root, self._socket_dir, secret):
                shutil.chown(path, "postgres")
        self._run(
            "initdb",
            "-D",
            str(self._data),
            "-U",
            "postgres",
            "--auth=scram-sha-256",
            f"--pwfile={secret}",
            "-E",
            "UTF8",
        )
        options = f"-k {self._socket_dir} -p {self._port} -c listen_addresses='' -c fsync=off"
        log = self._root / "server.log"
        self._run("pg_ctl", "-D", str(self._data), "-o", options, "-l", str(log), "-w", "start")

    def socket(self) -> tuple[Path, int]:
        """The folder of the Unix socket and the port."""
        return self._socket_dir, self._port


@pytest.fixture(scope="module")
def server() -> Iterator[ScramServer]:
    started = ScramServer()
    started.start()
    try:
        yield started
    finally:
        started.stop()


def test_the_jobs_journal_url_logs_in_with_the_secrets_password(
    server: ScramServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Role and database as the URL names them; the password only in PGPASSWORD."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    job: Manifest = manifest("job.yaml")
    secret: Manifest = manifest("secret.example.yaml")
    env = pod_env(job, secret, index=0)
    info = psycopg.conninfo.conninfo_to_dict(option(pod_args(job, secret, index=0), "--journal"))
    user, database, password = str(info["user"]), str(info["dbname"]), env["PGPASSWORD"]
    folder, port = server.socket()
    admin = f"postgresql://postgres:{SUPERUSER_PASSWORD}@/postgres?host={folder}&port={port}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE \"{user}\" LOGIN PASSWORD '{password}'")
        conn.execute(f'CREATE DATABASE "{database}" OWNER "{user}"')
    # The manifest's URL, reached through this test's socket instead of the cluster's host.
    url = f"postgresql://{user}@/{database}?host={folder}&port={port}"
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(url, connect_timeout=5).close()

    done = subprocess.run(
        [sys.executable, "-m", "orchestrator", "status", "--journal", url],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ["PATH"], **env, "ORCHESTRATOR_JOURNAL": url},
        cwd=folder.parent,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"no runs in {url}")
    assert password not in done.stdout + done.stderr
