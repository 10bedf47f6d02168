"""As a new user: build the wheel, install it into a fresh virtualenv, use it elsewhere.

No checkout is visible to the installed tool: it runs from a temporary folder,
so the sandbox seed and the demo's plans must come from inside the package.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.slow

SKIP = (".git", ".venv", "build", "*.egg-info", ".*_cache", ".hypothesis", ".orchestrator")


def _run(*args: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRATOR_", "PYTHON"))}
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env={**env, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh virtualenv holding only the built wheel and its deps."""
    where = tmp_path_factory.mktemp("install")
    # A clean copy of the source: no stale build/ of an earlier build leaks in,
    # and the checkout gets no build/ or egg-info from the test.
    source = where / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*SKIP))
    built = _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", where, source, cwd=where
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = where.glob("genesys_rollback_orchestrator-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "orchestrator/sandbox/data/seed.yaml" in names
    assert "orchestrator/sandbox/data/plan.yaml" in names
    assert any(name.endswith("/LICENSE") for name in names)
    venv = where / "venv"
    assert _run(sys.executable, "-m", "venv", venv, cwd=where).returncode == 0
    done = _run(venv / "bin" / "python", "-m", "pip", "install", "-q", wheel, cwd=where)
    assert done.returncode == 0, done.stderr
    return venv / "bin"


def test_version_and_demo_work_from_any_folder(installed: Path, tmp_path: Path) -> None:
    """`orchestrator --version` and `orchestrator demo`, outside the repository."""
    version = _run(installed / "orchestrator", "--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert re.fullmatch(r"orchestrator \d+\.\d+\.\d+\S*\n", version.stdout)
    demo = _run(installed / "orchestrator", "demo", "--plain", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "succeeded" in demo.stdout and "never written to" in demo.stderr
    assert (tmp_path / ".orchestrator" / "demo.sqlite3").exists()


def test_a_bare_sandbox_serves_the_shipped_seed_to_a_plan(installed: Path, tmp_path: Path) -> None:
    """`orchestrator sandbox` with no --seed, and `orchestrator plan` against it."""
    data = _run(
        installed / "python",
        "-c",
        "from orchestrator.sandbox.shipped import DATA; print(DATA)",
        cwd=tmp_path,
    ).stdout.strip()
    assert str(ROOT) not in data  # the installed copy, not the checkout
    server = subprocess.Popen(
        [str(installed / "orchestrator"), "sandbox", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        match = re.search(r"on (http://127\.0\.0\.1:\d+)", first)
        assert match, first + (server.stderr.read() if server.poll() is not None else "")
        for name in ("plan.yaml", "orgs.yaml"):
            text = (Path(data) / name).read_text(encoding="utf-8")
            (tmp_path / name).write_text(text.replace("http://127.0.0.1:8787", match[1]))
        plan = _run(installed / "orchestrator", "plan", "plan.yaml", cwd=tmp_path)
        assert plan.returncode == 0, plan.stderr
        assert "21 items" in plan.stdout
    finally:
        server.terminate()
        server.wait(timeout=10)
