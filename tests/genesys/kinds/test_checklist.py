"""Kind agent-checklist: a full-replace PUT under the client-side guard, end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import PureCloudPlatformClientV2 as genesys
import pytest

from orchestrator.engine.run import preview
from orchestrator.genesys.content import comparable
from orchestrator.journal import Journal
from orchestrator.models import Kind
from orchestrator.planfile.loader import load_plan
from orchestrator.sandbox import Faults, Sandbox
from orchestrator.ui.preview import render_preview
from tests.support import (
    CHECKLISTS,
    SandboxFactory,
    execute,
    sdk_client,
    sdk_json,
    snapshot_org,
    write_plan,
)

pytestmark = pytest.mark.anyio

BILLING_CHECKLIST, CLAIMS_CHECKLIST = CHECKLISTS["canary"]
PATH = f"/api/v2/assistants/agentchecklists/{BILLING_CHECKLIST}"


def checklist_plan(tmp_path: Path, url: str, taken: str) -> Path:
    return write_plan(
        tmp_path,
        url,
        {"canary": [BILLING_CHECKLIST]},
        name="checklists",
        defaults={"kind": "agent-checklist", "to": {"snapshot": taken}},
    )


def content(sb: Sandbox) -> dict[str, Any]:
    return comparable(Kind.AGENT_CHECKLIST, sb.checklist("canary", BILLING_CHECKLIST))


def sdk_edits(url: str) -> None:
    """A colleague, through the SDK: renames it, drops an item, demotes another, adds one."""
    client = sdk_client(url)
    api = genesys.AgentAssistantsApi(client)
    checklist = api.get_assistants_agentchecklist(BILLING_CHECKLIST)
    checklist.name = "Billing call checklist (short)"
    checklist.checklist_items[0].important = False
    extra = genesys.AgentChecklistItem()
    extra.name, extra.important = "Mention the loyalty offer", True
    checklist.checklist_items = [*checklist.checklist_items[:2], extra]
    api.put_assistants_agentchecklist(BILLING_CHECKLIST, checklist)


def sdk_reads(url: str) -> Any:
    client = sdk_client(url)
    return sdk_json(
        client, genesys.AgentAssistantsApi(client).get_assistants_agentchecklist(BILLING_CHECKLIST)
    )


async def test_a_checklist_is_put_back_as_the_sdk_sees_it(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Snapshot; SDK edits; plan shows each field; one PUT of the snapshot; SDK reads it back."""
    taken = await snapshot_org(sandbox, tmp_path, journal)
    (kept,) = await journal.snapshots("agent-checklist", BILLING_CHECKLIST)
    await anyio.to_thread.run_sync(sdk_edits, sandbox.url)
    plan = load_plan(checklist_plan(tmp_path, sandbox.url, taken))
    shown = render_preview(plan, await preview(plan, journal=journal), "text")
    assert '~ name: "Billing call checklist (short)" → "Billing call checklist"' in shown
    assert "~ checklistItems[0].important: false → true" in shown
    assert '~ checklistItems[2].name: "Mention the loyalty offer" → "Offer a payment plan"' in shown
    sandbox.clear_requests()
    _, data = await execute(plan, journal)
    assert data["items"][0]["status"] == "succeeded"
    (put,) = sandbox.writes("canary")
    assert (put.method, put.path, put.body) == ("PUT", PATH, kept.fields)
    seen = await anyio.to_thread.run_sync(sdk_reads, sandbox.url)
    assert comparable(Kind.AGENT_CHECKLIST, seen) == kept.fields


async def test_a_checklist_edited_after_planning_is_drift(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Another writer edits it between plan and write: drifted, no PUT."""
    taken = await snapshot_org(sandbox, tmp_path, journal)
    sandbox.edit_checklist("canary", BILLING_CHECKLIST, name="Renamed once")

    def colleague() -> None:
        sandbox.edit_checklist("canary", BILLING_CHECKLIST, language="en-GB")

    sandbox.clear_requests()
    _, data = await execute(
        checklist_plan(tmp_path, sandbox.url, taken), journal, at_wave=colleague
    )
    assert data["items"][0]["status"] == "drifted"
    assert sandbox.writes("canary") == []
    assert sandbox.checklist("canary", BILLING_CHECKLIST)["language"] == "en-GB"


async def test_an_unknown_checklist_field_rides_along_and_lag_is_waited_out(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """The PUT sends an unknown field back as it was; the read-back tolerates the read lag."""
    async with make_sandbox(faults={"canary": Faults(assistant_read_lag=0.4)}) as sb:
        sb.extend("canary", BILLING_CHECKLIST, "scoring", {"weight": 2}, on="agent-checklist")
        taken = await snapshot_org(sb, tmp_path, journal)
        kept = content(sb)
        sb.edit_checklist("canary", BILLING_CHECKLIST, name="Renamed")
        await anyio.sleep(0.5)
        sb.clear_requests()
        _, data = await execute(checklist_plan(tmp_path, sb.url, taken), journal)
        assert data["items"][0]["status"] == "succeeded"
        (put,) = sb.writes("canary")
        assert put.body["scoring"] == {"weight": 2}
        readbacks = [r for r in sb.requests if r.path == PATH and r.time > put.time]
        assert len(readbacks) >= 2
        assert content(sb) == kept
