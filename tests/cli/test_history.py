"""``orchestrator status`` and ``report`` read the journal."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import anyio
import pytest

from orchestrator.engine.events import Observer
from orchestrator.engine.run import run_plan
from orchestrator.journal import Journal, opened
from orchestrator.planfile.loader import load_plan
from orchestrator.sandbox import Sandbox
from tests.support import ACTOR, CONFIGS, QUIET, approve_all, puts, write_plan

pytestmark = pytest.mark.anyio

CANARY = CONFIGS["canary"]


async def test_status_and_report_read_the_journal(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """`status` lists runs; `report` renders json, markdown and junit from the journal alone."""
    plan = load_plan(write_plan(tmp_path, sandbox.url, {"canary": CANARY[:2]}))
    result = await run_plan(plan, journal, observer=Observer(), approver=approve_all, options=QUIET)
    assert result.run_id
    base = [sys.executable, "-m", "orchestrator"]
    listing = await anyio.run_process([*base, "status", "--journal", journal.location])
    assert result.run_id in listing.stdout.decode() and "succeeded" in listing.stdout.decode()
    as_json = await anyio.run_process(
        [*base, "status", result.run_id, "--format", "json", "--journal", journal.location]
    )
    assert json.loads(as_json.stdout)["summary"]["succeeded"] == 2
    junit = await anyio.run_process(
        [*base, "report", result.run_id, "--format", "junit", "--journal", journal.location]
    )
    from xml.etree import ElementTree

    root = ElementTree.fromstring(junit.stdout)
    assert len(root.findall(".//testcase")) == 2
    markdown = await anyio.run_process(
        [*base, "report", result.run_id, "--format", "markdown", "--journal", journal.location]
    )
    assert "| org | config |" in markdown.stdout.decode()


async def test_events_exports_the_trail_as_json_lines_with_actor_and_correlation_ids(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Every line is one JSON event: the approval names its actor, each write its id."""
    path = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": CANARY[:2]},
        waves=[{"name": "only", "orgs": ["*"], "approve": True}],
    )
    result = await run_plan(
        load_plan(path), journal, observer=Observer(), approver=approve_all, options=QUIET
    )
    assert result.run_id
    done = await anyio.run_process(
        [
            sys.executable,
            "-m",
            "orchestrator",
            "events",
            result.run_id,
            "--format",
            "jsonl",
            "--journal",
            journal.location,
        ]
    )
    records = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert records and all(r["run_id"] == result.run_id and r["at"].endswith("Z") for r in records)
    approved = [r for r in records if r["event"] == "wave.approved"]
    assert [r["actor"] for r in approved] == [ACTOR]
    writes = {
        r["item"]["id"]: r["correlation_id"] for r in records if r["event"] == "write.confirmed"
    }
    applied = {r.resource_id: r.correlation_id for r in puts(sandbox) if r.applied}
    assert writes == applied and len(applied) == 2
    assert all(r["item"]["org"] == "canary" for r in records if r["event"] == "write.confirmed")


async def cli(*args: str, unprivileged: bool = False) -> tuple[int, str, str]:
    """The CLI in a subprocess; ``unprivileged``: even as root, file permissions bind it."""
    command = [sys.executable, "-m", "orchestrator", *args]
    if unprivileged and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: permissions cannot bind")
        drop = "-dac_override,-dac_read_search,-fowner"
        command = [setpriv, "--bounding-set", drop, "--inh-caps", drop, *command]
    done = await anyio.run_process(command, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


async def a_run(sandbox: Sandbox, tmp_path: Path, location: Path) -> str:
    async with opened(location) as journal:
        plan = load_plan(write_plan(tmp_path, sandbox.url, {"canary": CANARY[:2]}))
        result = await run_plan(
            plan, journal, observer=Observer(), approver=approve_all, options=QUIET
        )
    assert result.run_id
    return result.run_id


async def test_an_auditors_read_only_copy_can_be_read(sandbox: Sandbox, tmp_path: Path) -> None:
    """status and report on a journal in a read-only folder: they work, and change nothing."""
    copy = tmp_path / "audit"
    copy.mkdir()
    run_id = await a_run(sandbox, tmp_path, copy / "j.sqlite3")
    (copy / "j.sqlite3").chmod(0o444)
    copy.chmod(0o555)
    try:
        before = sorted(p.name for p in copy.iterdir())
        journal = str(copy / "j.sqlite3")
        code, out, err = await cli("status", "--journal", journal, unprivileged=True)
        assert code == 0, err
        assert run_id in out
        code, out, err = await cli(
            "report", run_id, "--format", "json", "--journal", journal, unprivileged=True
        )
        assert code == 0, err
        assert json.loads(out)["summary"]["succeeded"] == 2
        assert sorted(p.name for p in copy.iterdir()) == before
    finally:
        copy.chmod(0o755)


async def test_a_mistyped_journal_is_an_error_not_a_new_file(tmp_path: Path) -> None:
    """status/report --journal <typo>: exit 2 naming the path; nothing is created."""
    typo = tmp_path / "jounral.sqlite3"
    for args in (("status",), ("report", "some-run")):
        code, out, err = await cli(*args, "--journal", str(typo))
        assert code == 2 and f"no journal at {typo}" in err and out == ""
    assert not typo.exists()


async def test_a_damaged_journal_exits_2_with_a_clear_message(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Corrupted pages: status, report and resume say the journal is damaged; no traceback."""
    location = tmp_path / "j.sqlite3"
    run_id = await a_run(sandbox, tmp_path, location)
    data = bytearray(location.read_bytes())
    data[4096:] = b"\xde\xad\xbe\xef" * ((len(data) - 4096) // 4)
    location.write_bytes(bytes(data))
    for args in (("status",), ("report", run_id), ("resume", run_id)):
        code, _, err = await cli(*args, "--journal", str(location))
        assert code == 2, err
        assert "damaged" in err and "Traceback" not in err
