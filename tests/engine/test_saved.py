"""apply_saved: a run planned from a saved file alone, resumable, on both journal backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.engine.events import Observer
from orchestrator.engine.recorder import Recorder
from orchestrator.engine.run import preview, resume_run
from orchestrator.engine.saved import apply_saved, document
from orchestrator.errors import JournalError
from orchestrator.journal import Journal
from orchestrator.planfile.loader import load_plan
from orchestrator.planfile.saved import REVIEWED, read_saved, reviewed_plan, sealed
from orchestrator.sandbox import Sandbox
from orchestrator.statuses import RunStatus
from orchestrator.timestamps import stamp, utcnow
from orchestrator.ui import report
from tests.conftest import parametrize_backends
from tests.support import (
    ASSISTANTS,
    CHECKLISTS,
    CONFIGS,
    QUIET,
    approve_all,
    nobody_to_ask,
    puts,
    snapshot_org,
    write_plan,
)

pytestmark = [pytest.mark.anyio, parametrize_backends()]

CANARY, EMEA = CONFIGS["canary"], CONFIGS["emea-prod"]


async def test_an_apply_halted_at_a_gate_resumes_with_the_saved_content_only(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Resume writes the file's targets, reads no history, and refuses what changed meanwhile."""
    path = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": CANARY[:1], "emea-prod": EMEA[:2]},
        waves=[
            {"name": "first", "orgs": ["canary"]},
            {"name": "rest", "orgs": ["*"], "approve": True},
        ],
    )
    whole = load_plan(path)
    out = tmp_path / "reviewed.json"
    out.write_text(sealed(document(whole, await preview(whole, journal=None), made_at=stamp())))
    saved = read_saved(out, max_age=3600, now=utcnow())
    plan = reviewed_plan(whole, [i.key for i in saved.items], saved.waves)
    result = await apply_saved(
        whole, plan, saved, journal, observer=Observer(), approver=nobody_to_ask, options=QUIET
    )
    assert result.status is RunStatus.HALTED
    assert result.run_id is not None
    events = [e for e in await journal.events(result.run_id) if e.event == REVIEWED]
    assert events and events[0].detail["digest"] == saved.digest
    sandbox.edit_config("emea-prod", EMEA[1], description="changed while the gate waited")
    sandbox.clear_requests()
    row = await journal.run(result.run_id)
    done = await resume_run(
        whole, journal, row, observer=Observer(), approver=approve_all, options=QUIET
    )
    data = await report.build(journal, result.run_id)
    by_id = {i["id"]: i for i in data["items"]}
    assert done.status is RunStatus.PARTIAL
    assert by_id[EMEA[0]]["status"] == "succeeded"
    assert by_id[EMEA[1]]["status"] == "drifted"
    assert by_id[EMEA[1]]["error"]["code"] == "plan.stale"
    assert [r.resource_id for r in puts(sandbox)] == [EMEA[0]]
    assert not [r for r in sandbox.requests if "/versions" in r.path]
    target = json.loads(out.read_text())["items"][1]["target"]["content"]
    assert sandbox.config("emea-prod", EMEA[0]).content == target["content"]


async def test_an_apply_killed_before_its_plan_was_journaled_is_never_re_resolved(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """The run exists, its saved baselines and targets do not: resume refuses, sends nothing."""
    whole = load_plan(write_plan(tmp_path, sandbox.url, {"canary": CANARY[:2]}))
    plan = reviewed_plan(whole, [item.key for item in whole.items], [("all", ("canary",))])
    await Recorder(journal, "cut-short", stamp(), Observer()).create_run(plan, "tester@ci")
    row = await journal.run("cut-short")
    with pytest.raises(JournalError, match="stopped before its saved plan was journaled"):
        await resume_run(whole, journal, row, observer=Observer(), approver=approve_all)
    assert sandbox.requests == []


async def test_agent_assist_kinds_apply_exactly_and_go_stale_on_dateModified(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Snapshot targets saved; an assistant written as saved; a checklist edited since: stale."""
    billing, claims = CHECKLISTS["canary"]
    assistant = ASSISTANTS["canary"][0]
    taken = await snapshot_org(sandbox, tmp_path, journal)
    sandbox.patch_assistant("canary", assistant, state="Inactive")
    sandbox.edit_checklist("canary", billing, name="Billing (short)")
    sandbox.edit_checklist("canary", claims, name="Claims (short)")
    path = write_plan(
        tmp_path,
        sandbox.url,
        {
            "canary": [
                {"id": assistant, "kind": "assistant"},
                {"id": billing, "kind": "agent-checklist"},
                {"id": claims, "kind": "agent-checklist"},
            ]
        },
        defaults={"to": {"snapshot": taken}},
    )
    whole = load_plan(path)
    out = tmp_path / "reviewed.json"
    shown = await preview(whole, journal=journal)
    out.write_text(sealed(document(whole, shown, made_at=stamp())))
    sandbox.edit_checklist("canary", claims, name="Claims (shorter still)")
    saved = read_saved(out, max_age=3600, now=utcnow())
    plan = reviewed_plan(whole, [i.key for i in saved.items], saved.waves)
    sandbox.clear_requests()
    result = await apply_saved(
        whole, plan, saved, journal, observer=Observer(), approver=approve_all, options=QUIET
    )
    assert result.run_id is not None
    data = await report.build(journal, result.run_id)
    by_id = {i["id"]: (i["status"], (i["error"] or {}).get("code")) for i in data["items"]}
    assert by_id == {
        assistant: ("succeeded", None),
        billing: ("succeeded", None),
        claims: ("drifted", "plan.stale"),
    }
    assert sandbox.assistant("canary", assistant)["state"] != "Inactive"
    assert sandbox.checklist("canary", billing)["name"] != "Billing (short)"
    assert sandbox.checklist("canary", claims)["name"] == "Claims (shorter still)"
    written = {r.resource_id for r in sandbox.requests if r.method in ("PUT", "PATCH")}
    assert claims not in written
