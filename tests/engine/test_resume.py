"""Resume decides from the live state: a write is never repeated, a gate never re-run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from orchestrator.engine.events import Observer
from orchestrator.engine.recorder import snapshot_of
from orchestrator.engine.run import Options, Result, resumable, resume_run, run_plan
from orchestrator.errors import JournalError
from orchestrator.genesys.kinds import live_from
from orchestrator.journal import Journal
from orchestrator.journal.rows import ItemRow
from orchestrator.models import Kind, Plan
from orchestrator.planfile.loader import load_plan
from orchestrator.sandbox import Faults, Sandbox
from orchestrator.statuses import WRITE_UNKNOWN, RunStatus
from orchestrator.ui import report
from tests.conftest import parametrize_backends
from tests.support import (
    ACTOR,
    ASSISTANTS,
    CONFIGS,
    QUIET,
    SandboxFactory,
    approve_all,
    execute,
    nobody_to_ask,
    planned_run,
    snapshot_org,
    write_plan,
)

pytestmark = [pytest.mark.anyio, parametrize_backends()]

CANARY = CONFIGS["canary"]


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
        sandbox.url,
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
    plan = load_plan(write_plan(tmp_path, sandbox.url, {"canary": CANARY[:1]}))
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


async def test_writes_in_doubt_end_unverified_and_resume_settles_them(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """Every answer to a write lost and most re-reads 5xx: no written item ends plain failed.

    Items whose truth no read could tell end unverified/write.unknown; resume
    (with the trouble gone) takes exactly those up, and no config is written twice.
    """
    targets = {org: CONFIGS[org] for org in CONFIGS}
    trouble = Faults(drop_after_write_rate=1.0, server_error_rate=0.6)
    async with make_sandbox(rng_seed=7) as sb:
        path = write_plan(tmp_path, sb.url, targets, limits={"attempts": 3})

        def after_planning() -> None:
            for org in targets:
                sb.set_faults(org, trouble)

        result, data = await execute(path, journal, at_wave=after_planning)
        assert result.exit_code == 1
        doubt = {i["id"] for i in data["items"] if (i["error"] or {}).get("code") == WRITE_UNKNOWN}
        assert doubt, "the seed must leave some writes in doubt"
        for item in data["items"]:
            written = sb.writes(item["org"], item["id"])
            assert len(written) <= 1
            if written:  # it happened: succeeded, or in doubt (or not yet seen live)
                assert item["status"] in ("succeeded", "unverified"), item
            if item["status"] == "failed":  # a read proved it never happened
                assert written == [], item
        for org in targets:
            sb.set_faults(org, Faults())
        result, data = await resume(load_plan(path), journal)
        after = {i["id"]: i for i in data["items"]}
        assert all(after[i]["status"] == "succeeded" for i in doubt)
        for item in data["items"]:
            assert len(sb.writes(item["org"], item["id"])) <= 1
            if item["status"] == "succeeded":
                assert len(sb.writes(item["org"], item["id"])) == 1


BILLING = ASSISTANTS["canary"][0]


async def half_written_assistant(
    sb: Sandbox, tmp_path: Path, journal: Journal, *, pre_write_snapshot: bool
) -> Plan:
    """A run killed between an assistant's PATCH (landed) and its copilot PUT (never sent)."""
    taken = await snapshot_org(sb, tmp_path, journal)
    sb.patch_assistant("canary", BILLING, state="Inactive")
    sb.edit_copilot("canary", BILLING, enabled=False)
    planned_content = live_from(Kind.ASSISTANT, sb.assistant("canary", BILLING, expand=True))
    path = write_plan(
        tmp_path,
        sb.url,
        {"canary": [BILLING]},
        name="half",
        defaults={"kind": "assistant", "to": {"snapshot": taken}},
        waves=[{"name": "w", "orgs": ["*"], "approve": True}],
    )
    plan = load_plan(path)
    result = await run_plan(
        plan, journal, observer=Observer(), approver=nobody_to_ask, options=QUIET
    )
    assert result.exit_code == 3 and result.run_id
    if pre_write_snapshot:  # as the recorder stores it, committed with the intent
        journal.add_snapshot(
            snapshot_of("canary", "assistant", BILLING, planned_content, "", run_id=result.run_id)
        )
    await journal.record_intent(
        result.run_id, 0, expected_version=None, etag=None, attempts=1, conflicts=0, requests=2
    )
    async with aiohttp.ClientSession() as http:  # the killed process's PATCH
        token_response = await http.post(
            f"{sb.url}/oauth/token",
            headers={"Authorization": aiohttp.encode_basic_auth("canary", "canary-secret")},
            data={"grant_type": "client_credentials"},
        )
        token = (await token_response.json())["access_token"]
        response = await http.patch(
            f"{sb.url}/api/v2/assistants/{BILLING}",
            json={"state": "Active"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status == 200
    sb.clear_requests()
    return plan


async def test_resume_finishes_a_write_killed_between_its_two_requests(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """The pre-write snapshot gives back the baseline's parts: our half is not drift; PUT only."""
    plan = await half_written_assistant(sandbox, tmp_path, journal, pre_write_snapshot=True)
    result, data = await resume(plan, journal)
    assert data["items"][0]["status"] == "succeeded"
    assert [(w.method, w.path) for w in sandbox.writes("canary")] == [
        ("PUT", f"/api/v2/assistants/{BILLING}/copilot")
    ]
    assert sandbox.copilot("canary", BILLING)["enabled"] is True
    assert "write.partial" in [e.event for e in await journal.events(result.run_id or "")]


async def test_without_the_baseline_parts_a_half_written_item_is_drift(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """No pre-write snapshot to compare parts with: only the hash is known, so it fails safe."""
    plan = await half_written_assistant(sandbox, tmp_path, journal, pre_write_snapshot=False)
    _, data = await resume(plan, journal)
    assert data["items"][0]["status"] == "drifted"
    assert sandbox.writes("canary") == []


async def test_an_item_planned_by_an_earlier_process_finishes_a_cut_write(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """Planned before a restart, written after it, every answer lost: our half is not drift."""
    async with make_sandbox() as sb:
        taken = await snapshot_org(sb, tmp_path, journal)
        sb.patch_assistant("canary", BILLING, state="Inactive")
        sb.edit_copilot("canary", BILLING, enabled=False)
        path = write_plan(
            tmp_path,
            sb.url,
            {"canary": [BILLING]},
            name="planned",
            defaults={"kind": "assistant", "to": {"snapshot": taken}},
            waves=[{"name": "w", "orgs": ["*"], "approve": True}],
        )
        plan = load_plan(path)
        result = await run_plan(
            plan, journal, observer=Observer(), approver=nobody_to_ask, options=QUIET
        )
        assert result.exit_code == 3  # planned, then stopped at the gate: a new process resumes
        sb.set_faults("canary", Faults(drop_after_write_rate=1.0))
        sb.clear_requests()
        result, data = await resume(plan, journal)
        assert data["items"][0]["status"] == "succeeded"
        assert [(w.method, w.path) for w in sb.writes("canary")] == [
            ("PATCH", f"/api/v2/assistants/{BILLING}"),
            ("PUT", f"/api/v2/assistants/{BILLING}/copilot"),
        ]
