"""The journal: resume decides from the live state, one process per run, the audit trail."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest

from orchestrator.engine.events import Observer
from orchestrator.engine.run import Options, Result, resumable, resume_run, run_plan
from orchestrator.errors import JournalError
from orchestrator.journal import Journal, open_journal
from orchestrator.journal.rows import ItemRow
from orchestrator.models import Plan
from orchestrator.planfile.loader import load_plan
from orchestrator.sandbox import Faults, Sandbox
from orchestrator.statuses import RunStatus, State
from orchestrator.ui import report
from tests.conftest import ACTOR, SandboxFactory
from tests.plans import CONFIGS, QUIET, approve_all, nobody_to_ask, write_plan

pytestmark = pytest.mark.anyio

CANARY = CONFIGS["canary"]


async def planned_run(sb: Sandbox, tmp_path: Path, journal: Journal, ids: list[str]) -> Plan:
    """A run stopped at an approval gate right after planning: every item is PLANNED."""
    path = write_plan(
        tmp_path,
        sb.url or "",
        {"canary": ids},
        waves=[{"name": "w", "orgs": ["*"], "approve": True}],
    )
    plan = load_plan(path)
    result = await run_plan(
        plan, journal, observer=Observer(), approver=nobody_to_ask, options=QUIET
    )
    assert result.exit_code == 3
    assert "resume" in (result.reason or "")
    return plan


async def resume(plan: Plan, journal: Journal) -> tuple[Result, dict[str, Any]]:
    row = await resumable(journal, None)
    result = await resume_run(
        plan,
        journal,
        row,
        observer=Observer(),
        approver=nobody_to_ask,
        options=Options(handle_signals=False, approve_once=True),
    )
    assert result.run_id is not None
    return result, await report.build(journal, result.run_id)


async def lost_answer_put(sb: Sandbox, config_id: str, body: dict[str, Any]) -> None:
    """The write a killed process sent: applied by the server, its answer never read."""
    view = sb.config("canary", config_id)
    async with aiohttp.ClientSession() as http:
        token_response = await http.post(
            f"{sb.url}/oauth/token",
            headers={"Authorization": aiohttp.encode_basic_auth("canary", "canary-secret")},
            data={"grant_type": "client_credentials"},
        )
        token = (await token_response.json())["access_token"]
        response = await http.put(
            f"{sb.url}/api/v2/agentassist/configs/{config_id}",
            json={**body, "version": view.version + 1},
            headers={"Authorization": f"Bearer {token}", "If-Match": view.etag},
        )
        assert response.status == 200


async def intended(
    sb: Sandbox, tmp_path: Path, journal: Journal, config_id: str
) -> tuple[Plan, ItemRow]:
    """A planned run whose one item has its write intent journaled, as a crash leaves it."""
    plan = await planned_run(sb, tmp_path, journal, [config_id])
    row = await resumable(journal, None)
    item = (await journal.items(row.id))[0]
    await journal.record_intent(
        row.id,
        0,
        expected_version=(item.from_version or 0) + 1,
        etag=item.planned_etag,
        attempts=1,
        conflicts=0,
        requests=2,
    )
    return plan, item


async def test_an_intended_write_that_landed_is_confirmed_not_repeated(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Intent journaled, write applied, answer lost: resume sees the target live and verifies."""
    config_id = CANARY[0]
    plan, item = await intended(sandbox, tmp_path, journal, config_id)
    await lost_answer_put(sandbox, config_id, item.target_fields or {})
    before = len([r for r in sandbox.requests if r.method == "PUT"])
    result, data = await resume(plan, journal)
    assert data["items"][0]["status"] == "succeeded"
    assert data["items"][0]["new_version"] == sandbox.config("canary", config_id).version
    assert len([r for r in sandbox.requests if r.method == "PUT"]) == before
    assert result.exit_code == 0


async def test_an_intended_write_that_never_left_is_sent_once(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Intent journaled, nothing sent: resume finds the planned content and writes it once."""
    config_id = CANARY[0]
    plan, _ = await intended(sandbox, tmp_path, journal, config_id)
    _, data = await resume(plan, journal)
    assert data["items"][0]["status"] == "succeeded"
    assert len(sandbox.writes("canary", config_id)) == 1


async def test_an_intended_write_overtaken_by_another_writer_is_drift(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Intent journaled, but the content is neither planned nor target: the drift rules."""
    config_id = CANARY[0]
    plan, _ = await intended(sandbox, tmp_path, journal, config_id)
    sandbox.edit_config("canary", config_id, description="someone else")
    _, data = await resume(plan, journal)
    assert data["items"][0]["status"] == "drifted"
    assert sandbox.writes("canary") == []


async def test_resume_after_a_gate_touches_nothing_already_done(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """A resumed run continues from its gate: finished waves get no request at all."""
    path = write_plan(
        tmp_path,
        sandbox.url or "",
        {"canary": CANARY[:2], "emea-prod": CONFIGS["emea-prod"][:2]},
        waves=[
            {"name": "canary", "orgs": ["canary"]},
            {"name": "rest", "orgs": ["*"], "approve": True},
        ],
    )
    plan = load_plan(path)
    result = await run_plan(
        plan, journal, observer=Observer(), approver=nobody_to_ask, options=QUIET
    )
    assert (result.exit_code, result.status) == (3, RunStatus.HALTED)
    assert len(sandbox.writes("canary")) == 2 and sandbox.writes("emea-prod") == []
    sandbox.clear_requests()
    result, data = await resume(plan, journal)
    assert result.exit_code == 0
    assert [r for r in sandbox.requests if r.org == "canary"] == []
    assert len(sandbox.writes("emea-prod")) == 2
    assert [w["approved_by"] for w in data["waves"]] == [None, f"{ACTOR} (resume --approve)"]
    events = [e.event for e in await journal.events(data["run_id"])]
    assert "gate.pending" in events and "wave.approved" in events


async def test_a_finished_run_cannot_be_resumed(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """resume refuses a run that already ended, naming its status."""
    plan = load_plan(write_plan(tmp_path, sandbox.url or "", {"canary": CANARY[:1]}))
    result = await run_plan(plan, journal, observer=Observer(), approver=approve_all, options=QUIET)
    assert result.run_id
    with pytest.raises(JournalError, match="succeeded"):
        await resumable(journal, result.run_id)
    with pytest.raises(JournalError, match="no unfinished run"):
        await resumable(journal, None)


async def test_a_changed_plan_is_refused_on_resume(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """The plan file must be the one the run started with."""
    plan = await planned_run(sandbox, tmp_path, journal, CANARY[:1])
    plan.path.write_text(plan.path.read_text() + "\n# edited\n")
    with pytest.raises(JournalError, match="changed since run"):
        await resume(load_plan(plan.path), journal)


async def test_journal_records_every_step_of_an_item(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """planned, write.intended, write.confirmed, item.succeeded: in this order."""
    plan = load_plan(write_plan(tmp_path, sandbox.url or "", {"canary": CANARY[:1]}))
    result = await run_plan(plan, journal, observer=Observer(), approver=approve_all, options=QUIET)
    assert result.run_id
    steps = [e.event for e in await journal.events(result.run_id) if e.seq == 0]
    assert steps == ["planned", "write.intended", "write.confirmed", "item.succeeded"]
    (item,) = await journal.items(result.run_id)
    assert item.state is State.DONE and item.planned_hash and item.target_hash
    assert item.expected_version == item.from_version + 1 == item.new_version  # type: ignore[operator]


async def test_two_processes_on_one_run_exactly_one_proceeds(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """Two `resume RUN_ID` at once: one drives the run, the other is refused (exit 2)."""
    async with make_sandbox(faults={"canary": Faults(latency=0.3)}) as sb:
        await planned_run(sb, tmp_path, journal, CANARY)
        run_id = (await resumable(journal, None)).id
        command = [
            sys.executable,
            "-m",
            "orchestrator",
            "resume",
            run_id,
            "--approve",
            "--journal",
            journal.location,
            "--plain",
            "--format",
            "json",
        ]
        results: list[tuple[int, bytes]] = []

        async def one() -> None:
            done = await anyio.run_process(command, check=False, env={**os.environ})
            results.append((done.returncode, done.stderr))

        async with anyio.create_task_group() as tg:
            tg.start_soon(one)
            tg.start_soon(one)
        codes = sorted(code for code, _ in results)
        assert codes == [0, 2]
        refused = next(err for code, err in results if code == 2).decode()
        assert f"run {run_id} is being driven by pid" in refused
        for config_id in CANARY:
            assert len(sb.writes("canary", config_id)) == 1


async def test_the_lock_is_released_when_its_holder_dies(tmp_path: Path) -> None:
    """A SIGKILLed holder's lock is gone: the kernel drops the flock with the process."""
    path = tmp_path / "j.sqlite3"
    first = open_journal(path)
    await first.create_run(
        run_id="r1",
        plan_name="p",
        plan_path="p.yaml",
        plan_sha256="0",
        started_at="2026-11-29T00:00:00.000Z",
        actor=ACTOR,
        waves=[],
        items=[],
    )
    code = (
        "import os, signal; from pathlib import Path;"
        " from orchestrator.journal import open_journal;"
        "import anyio;"
        f"j = open_journal(Path({str(path)!r})); anyio.run(j.lock, 'r1');"
        " print('locked', flush=True);"
        "os.kill(os.getpid(), signal.SIGKILL)"
    )

    done = await anyio.run_process([sys.executable, "-c", code], check=False)
    assert done.stdout.decode().strip() == "locked" and done.returncode == -9
    await first.lock("r1")  # would raise JournalError if the dead process still held it
    await first.aclose()


async def test_status_and_report_read_the_journal(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """`status` lists runs; `report` renders json, markdown and junit from the journal alone."""
    plan = load_plan(write_plan(tmp_path, sandbox.url or "", {"canary": CANARY[:2]}))
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
