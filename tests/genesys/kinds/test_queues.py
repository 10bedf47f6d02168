"""Kind assistant-queues: where an assistant is deployed, put back binding by binding."""

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
    ASSISTANTS,
    SandboxFactory,
    execute,
    queue_ids,
    sdk_client,
    sdk_json,
    snapshot_org,
    write_plan,
)

pytestmark = pytest.mark.anyio

BILLING, CLAIMS, _ = ASSISTANTS["canary"]
QUEUES = f"/api/v2/assistants/{BILLING}/queues"


def queues_plan(tmp_path: Path, url: str, taken: str, ids: list[str], **defaults: Any) -> Path:
    return write_plan(
        tmp_path,
        url,
        {"canary": ids},
        name="queues",
        defaults={"kind": "assistant-queues", "to": {"snapshot": taken}, **defaults},
    )


def bound(sb: Sandbox, assistant_id: str) -> dict[str, Any]:
    return comparable(Kind.ASSISTANT_QUEUES, {"entities": sb.bindings("canary", assistant_id)})


def writes(sb: Sandbox) -> list[tuple[str, str, str]]:
    return [(r.method, r.path, r.query) for r in sb.writes("canary")]


def sdk_redeploys(url: str, names: dict[str, str]) -> None:
    """A colleague, through the SDK: Billing moves onto VIP and Retention off its own queue,
    and the Claims Escalations binding loses email."""
    client = sdk_client(url)
    api = genesys.AgentAssistantsApi(client)

    def binding(queue: str, media: list[str]) -> Any:
        entity = genesys.AssistantQueue()
        entity.id, entity.media_types = queue, media
        return entity

    api.patch_assistant_queues(
        BILLING,
        [binding(names["Billing VIP"], ["call"]), binding(names["Retention"], ["call", "message"])],
    )
    api.delete_assistant_queues(BILLING, queue_ids=names["Billing"])
    escalations = names["Claims Escalations"]
    api.put_assistant_queue(CLAIMS, escalations, binding(escalations, ["call"]))


def sdk_reads(url: str, assistant_id: str) -> list[Any]:
    client = sdk_client(url)
    listing = genesys.AgentAssistantsApi(client).get_assistant_queues(assistant_id)
    return [sdk_json(client, e) for e in listing.entities]


async def test_bindings_are_put_back_as_the_sdk_sees_them(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Snapshot; SDK redeploys; plan lists bindings added, removed, changed; run sends only that."""
    names = queue_ids(sandbox)
    taken = await snapshot_org(sandbox, tmp_path, journal)
    kept = {
        a: (await journal.snapshots("assistant-queues", a))[0].fields for a in (BILLING, CLAIMS)
    }
    await anyio.to_thread.run_sync(sdk_redeploys, sandbox.url, names)
    plan = load_plan(queues_plan(tmp_path, sandbox.url, taken, [BILLING, CLAIMS]))
    shown = render_preview(plan, await preview(plan, journal=journal), "text")
    billing, vip, retention = names["Billing"], names["Billing VIP"], names["Retention"]
    assert f'+ {billing}: {{"mediaTypes": ["call", "message"]}}' in shown
    assert f'- {vip}: {{"mediaTypes": ["call"]}}' in shown
    assert f'- {retention}: {{"mediaTypes": ["call", "message"]}}' in shown
    assert f'+ {names["Claims Escalations"]}.mediaTypes[1]: "email"' in shown

    sandbox.clear_requests()
    _, data = await execute(plan, journal)
    assert [i["status"] for i in data["items"]] == ["succeeded", "succeeded"]
    removed = ",".join(sorted((vip, retention)))
    assert writes(sandbox) == [
        ("PATCH", QUEUES, ""),
        ("DELETE", QUEUES, f"queueIds={removed}"),
        ("PATCH", f"/api/v2/assistants/{CLAIMS}/queues", ""),
    ]
    assert sandbox.writes("canary")[0].body == [{"id": billing, "mediaTypes": ["call", "message"]}]
    for item in data["items"]:  # each request of a write is an entry of Genesys's audit log
        sent = [w.correlation_id for w in sandbox.writes("canary") if item["id"] in w.path]
        assert item["write_correlation_ids"] == sent and sent
    # The queue to bind was checked first: bound to nobody, so nobody loses it.
    assert [r.path for r in sandbox.requests if "routing" in r.path] == [
        f"/api/v2/routing/queues/{billing}/assistant"
    ]
    for assistant_id in (BILLING, CLAIMS):
        seen = await anyio.to_thread.run_sync(sdk_reads, sandbox.url, assistant_id)
        assert comparable(Kind.ASSISTANT_QUEUES, {"entities": seen}) == kept[assistant_id]
    assert sandbox.queue_owner("canary", vip) is None
    assert sandbox.queue_owner("canary", retention) is None


@pytest.mark.parametrize("on_drift", ["stop", "overwrite"])
async def test_a_queue_now_bound_to_another_assistant_is_drift_and_never_moved(
    sandbox: Sandbox, tmp_path: Path, journal: Journal, on_drift: str
) -> None:
    """The target binds a queue that is now Claims': drifted, naming both; nothing is sent."""
    names = queue_ids(sandbox)
    taken = await snapshot_org(sandbox, tmp_path, journal)
    sandbox.unbind_queues("canary", BILLING, [names["Billing"]])
    sandbox.bind_queues("canary", CLAIMS, {names["Billing"]: ["call"]})
    sandbox.bind_queues("canary", BILLING, {names["Billing VIP"]: ["call"]})
    path = queues_plan(tmp_path, sandbox.url, taken, [BILLING], on_drift=on_drift)
    sandbox.clear_requests()
    _, data = await execute(path, journal)
    (item,) = data["items"]
    assert (item["status"], item["error"]["code"]) == ("drifted", "queue.taken")
    message = item["error"]["message"]
    assert (
        f"queue {names['Billing']} is now bound to assistant Claims assistant ({CLAIMS})" in message
    )
    assert (
        f"not to assistant {BILLING}" in message and "not even with on_drift: overwrite" in message
    )
    assert writes(sandbox) == []  # not even the VIP removal: the check comes before any write
    assert sandbox.queue_owner("canary", names["Billing"]) == CLAIMS


async def test_bindings_changed_after_planning_are_drift(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Another writer binds a queue between plan and write: drifted, nothing sent."""
    names = queue_ids(sandbox)
    taken = await snapshot_org(sandbox, tmp_path, journal)
    sandbox.bind_queues("canary", BILLING, {names["Billing VIP"]: ["call"]})
    path = queues_plan(tmp_path, sandbox.url, taken, [BILLING])

    def colleague() -> None:
        sandbox.bind_queues("canary", BILLING, {names["Sales Outbound"]: ["message"]})

    sandbox.clear_requests()
    _, data = await execute(path, journal, at_wave=colleague)
    assert data["items"][0]["status"] == "drifted"
    assert data["items"][0]["error"]["code"] == "drift"
    assert writes(sandbox) == []
    assert sandbox.queue_owner("canary", names["Sales Outbound"]) == BILLING


async def test_a_write_cut_between_patch_and_delete_is_finished(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """Every answer is lost: PATCH lands, the re-read sees our half, then only the DELETE."""
    async with make_sandbox(faults={"canary": Faults(drop_after_write_rate=1.0)}) as sb:
        names = queue_ids(sb)
        taken = await snapshot_org(sb, tmp_path, journal)
        kept = bound(sb, BILLING)
        sb.unbind_queues("canary", BILLING, [names["Billing"]])
        sb.bind_queues("canary", BILLING, {names["Retention"]: ["call"]})
        path = queues_plan(tmp_path, sb.url, taken, [BILLING])
        sb.clear_requests()
        result, data = await execute(path, journal)
        assert data["items"][0]["status"] == "succeeded"
        assert writes(sb) == [
            ("PATCH", QUEUES, ""),
            ("DELETE", QUEUES, f"queueIds={names['Retention']}"),
        ]
        events = [e.event for e in await journal.events(result.run_id or "")]
        assert "write.partial" in events
        assert bound(sb, BILLING) == kept


async def test_read_back_waits_out_the_read_lag(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """Listings lag behind the write for a while: the read-back keeps reading until it matches."""
    async with make_sandbox(faults={"canary": Faults(assistant_read_lag=0.4)}) as sb:
        names = queue_ids(sb)
        taken = await snapshot_org(sb, tmp_path, journal)
        kept = bound(sb, BILLING)
        sb.bind_queues("canary", BILLING, {names["Retention"]: ["call"]})
        await anyio.sleep(0.5)
        sb.clear_requests()
        _, data = await execute(queues_plan(tmp_path, sb.url, taken, [BILLING]), journal)
        assert data["items"][0]["status"] == "succeeded"
        (write,) = sb.writes("canary")
        readbacks = [r for r in sb.requests if r.path == QUEUES and r.time > write.time]
        assert len(readbacks) >= 2
        assert bound(sb, BILLING) == kept
