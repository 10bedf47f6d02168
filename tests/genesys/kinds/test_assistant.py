"""The whole assistant (its own fields and its copilot) and the snapshot store, end to end."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import PureCloudPlatformClientV2 as genesys
import pytest

from orchestrator.engine import run as engine_run
from orchestrator.engine.run import preview
from orchestrator.genesys.content import comparable
from orchestrator.journal import Journal, opened
from orchestrator.models import Kind
from orchestrator.planfile.loader import load_plan
from orchestrator.sandbox import Faults, Sandbox, Seed
from orchestrator.sandbox.seed_unversioned import PERMISSIONS
from orchestrator.timestamps import parse_stamp
from orchestrator.ui.preview import render_preview
from tests.conftest import parametrize_backends
from tests.support import (
    ASSISTANTS,
    CHECKLISTS,
    CONFIGS,
    AtWave,
    SandboxFactory,
    env_file,
    execute,
    sdk_client,
    sdk_json,
    snapshot,
    write_plan,
)
from tests.support import snapshot_org as snapshot_canary

pytestmark = [pytest.mark.anyio, parametrize_backends()]

CANARY_ASSISTANTS = ASSISTANTS["canary"]
BILLING, CLAIMS, SALES = CANARY_ASSISTANTS
COPILOT_PATH = f"/api/v2/assistants/{BILLING}/copilot"


def assistant_plan(
    tmp_path: Path,
    url: str,
    to: dict[str, str],
    name: str = "assistants",
    ids: list[str] | None = None,
    **defaults: Any,
) -> Path:
    return write_plan(
        tmp_path,
        url,
        {"canary": ids or CANARY_ASSISTANTS},
        name=name,
        defaults={"kind": "assistant", "to": to, **defaults},
    )


async def billing_to_undo(sb: Sandbox, tmp_path: Path, journal: Journal, **copilot: Any) -> Path:
    """Snapshot the org, then change Billing's state and ``copilot``: a plan that undoes it."""
    taken = await snapshot_canary(sb, tmp_path, journal)
    sb.patch_assistant("canary", BILLING, state="Inactive")
    sb.edit_copilot("canary", BILLING, **copilot)
    return assistant_plan(tmp_path, sb.url, {"snapshot": taken}, ids=[BILLING])


def content(sb: Sandbox, assistant_id: str) -> dict[str, Any]:
    return comparable(Kind.ASSISTANT, sb.assistant("canary", assistant_id, expand=True))


def writes(sb: Sandbox, assistant_id: str) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in sb.writes("canary", assistant_id)]


async def test_snapshot_all_follows_the_listing_cursor(
    make_sandbox: SandboxFactory, tmp_path: Path, journal_at: str
) -> None:
    """--env --org --all stores every assistant, page by page."""
    async with make_sandbox(faults={"canary": Faults(page_size_cap=1)}) as sb:
        out = await snapshot(
            "--env",
            str(env_file(tmp_path, sb.url)),
            "--org",
            "canary",
            "--all",
            journal=journal_at,
        )
        assert "stored 8 snapshot(s)" in out  # 3 assistants, their 3 binding sets, 2 checklists
        pages = [r for r in sb.requests if r.path == "/api/v2/assistants"]
        assert len(pages) == 3
        assert all("expand=copilot" in r.query for r in pages)  # every page with copilots
        per_assistant = [r.path for r in sb.requests if r.path.startswith("/api/v2/assistants/")]
        assert {p.rsplit("/", 1)[-1] for p in per_assistant} == {"queues", "agentchecklists"}
    async with opened(journal_at) as j:
        for assistant_id in CANARY_ASSISTANTS:
            (snap,) = await j.snapshots("assistant", assistant_id)
            assert snap.fields["name"] and snap.source == "snapshot"
            assert snap.fields == content(sb, assistant_id)
            assert "copilot" in snap.fields
            (bound,) = await j.snapshots("assistant-queues", assistant_id)
            assert bound.fields == comparable(
                Kind.ASSISTANT_QUEUES, {"entities": sb.bindings("canary", assistant_id)}
            )
        for checklist_id in CHECKLISTS["canary"]:
            (kept,) = await j.snapshots("agent-checklist", checklist_id)
            assert kept.fields == comparable(
                Kind.AGENT_CHECKLIST, sb.checklist("canary", checklist_id)
            )


async def test_an_assistant_is_rolled_back_to_its_snapshot(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """Snapshot, a bad change, roll back: one PATCH each, content restored, read-back verified."""
    async with make_sandbox(faults={"canary": Faults(assistant_read_lag=0.4)}) as sb:
        before = {a: content(sb, a) for a in CANARY_ASSISTANTS}
        taken = await snapshot_canary(sb, tmp_path, journal)
        for a in CANARY_ASSISTANTS:  # the change to undo
            sb.patch_assistant("canary", a, state="Inactive", name=f"broken {a[:4]}")
        await anyio.sleep(0.5)  # let reads catch up with the bad change before planning
        path = assistant_plan(tmp_path, sb.url, {"snapshot": taken})
        result, data = await execute(path, journal)
        assert result.exit_code == 0
        assert {i["status"] for i in data["items"]} == {"succeeded"}
        for a in CANARY_ASSISTANTS:
            assert content(sb, a) == before[a]
            (write,) = sb.writes("canary", a)
            readbacks = [r for r in sb.requests if r.resource_id == a and r.time > write.time]
            assert len(readbacks) >= 2  # the first read-back still showed the old content
            assert {r.query for r in readbacks} == {"expand=copilot"}
        patches = [r for r in sb.requests if r.method == "PATCH"]
        assert [set(p.body) for p in patches] == [{"name", "state"}] * 3  # only what differs


async def test_every_request_of_an_assistants_write_is_named_in_the_report(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """A PATCH and a PUT: both are entries in Genesys Cloud's audit log, so both are listed."""
    path = await billing_to_undo(sandbox, tmp_path, journal, liveOnQueue=False)
    sandbox.clear_requests()
    _, data = await execute(path, journal)
    (item,) = data["items"]
    assert item["status"] == "succeeded"
    sent = sandbox.writes("canary", BILLING)
    assert [w.method for w in sent] == ["PATCH", "PUT"]
    assert item["write_correlation_ids"] == [w.correlation_id for w in sent]
    reads = {r.correlation_id for r in sandbox.requests if r.method == "GET"}
    assert not reads & set(item["write_correlation_ids"])  # a read's id is never a write's


async def test_a_write_finished_in_a_second_attempt_names_both_halves(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """The PATCH lands, the PUT meets a 429; the retry sends the PUT alone. Both landed
    requests are listed, the refused one is not."""
    path = await billing_to_undo(sandbox, tmp_path, journal, liveOnQueue=False)

    def throttle_the_put() -> None:  # after planning: the re-read, the PATCH, then the PUT
        sent = sum(1 for r in sandbox.requests if r.org == "canary" and r.path.startswith("/api/"))
        sandbox.set_faults("canary", Faults(throttle_at=sent + 3))

    _, data = await execute(path, journal, at_wave=throttle_the_put)
    (item,) = data["items"]
    assert item["status"] == "succeeded"
    sent = [
        r for r in sandbox.requests if r.resource_id == BILLING and r.method in ("PATCH", "PUT")
    ]
    assert [(w.method, w.status) for w in sent][-3:] == [("PATCH", 200), ("PUT", 429), ("PUT", 200)]
    assert item["write_correlation_ids"] == [sent[-3].correlation_id, sent[-1].correlation_id]


async def test_a_write_that_fails_halfway_still_names_the_half_that_landed(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """The PATCH lands, the PUT is refused (403): the item fails, and the PATCH that did
    change it is in the report, beside the PUT the error names."""
    path = await billing_to_undo(sandbox, tmp_path, journal, liveOnQueue=False)

    def refuse_copilot_writes() -> None:
        sandbox.set_permissions(
            "canary", [p for p in PERMISSIONS if p != "assistants:copilot:edit"]
        )

    _, data = await execute(path, journal, at_wave=refuse_copilot_writes)
    (item,) = data["items"]
    assert item["status"] == "failed" and item["error"]["http_status"] == 403
    sent = [
        r for r in sandbox.requests if r.resource_id == BILLING and r.method in ("PATCH", "PUT")
    ]
    assert [(w.method, w.status) for w in sent] == [("PATCH", 200), ("PUT", 403)]
    assert item["error"]["correlation_id"] == sent[1].correlation_id
    assert item["write_correlation_ids"] == [sent[0].correlation_id]


async def test_an_assistant_patched_after_planning_is_drift(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """dateModified moved between plan and write: drifted, no PATCH sent."""
    taken = await snapshot_canary(sandbox, tmp_path, journal)
    target = BILLING
    sandbox.patch_assistant("canary", target, state="Inactive")
    path = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": [target]},
        defaults={"kind": "assistant", "to": {"snapshot": taken}},
    )

    def other_writer() -> None:
        sandbox.patch_assistant("canary", target, name="edited by someone else")

    _, data = await execute(path, journal, observer=AtWave(other_writer))
    assert data["items"][0]["status"] == "drifted"
    assert sandbox.writes("canary", target) == []
    assert sandbox.assistant("canary", target)["name"] == "edited by someone else"


async def test_a_missing_snapshot_fails_and_says_what_exists(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """No snapshot at or before T: failed at planning, and the message lists what there is."""
    path = assistant_plan(tmp_path, sandbox.url, {"snapshot": "2020-01-01T00:00:00Z"})
    _, data = await execute(path, journal)
    assert {i["status"] for i in data["items"]} == {"failed"}
    assert {i["error"]["code"] for i in data["items"]} == {"snapshot.missing"}
    assert "no snapshot of it at all" in data["items"][0]["error"]["message"]
    taken = await snapshot_canary(sandbox, tmp_path, journal)
    _, data = await execute(
        assistant_plan(tmp_path, sandbox.url, {"snapshot": "2020-01-01T00:00:00Z"}, name="again"),
        journal,
    )
    assert f"snapshots exist at {taken}" in data["items"][0]["error"]["message"]


async def test_a_run_started_in_the_snapshots_second_never_stands_in_for_it(
    sandbox: Sandbox, tmp_path: Path, journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs undo one change: the later one must not take the earlier one's pre-write
    snapshot, dated the same second as the operator's, for the operator's, and write the
    change back (the PostgreSQL run of test_concurrent_runs did so under load)."""
    before = content(sandbox, BILLING)
    taken = await snapshot_canary(sandbox, tmp_path, journal)
    sandbox.patch_assistant("canary", BILLING, state="Inactive")  # the change to undo
    plan = assistant_plan(tmp_path, sandbox.url, {"snapshot": taken}, ids=[BILLING])
    second = parse_stamp(taken) + timedelta(milliseconds=800)  # its start, in whole seconds: T
    with monkeypatch.context() as m:
        m.setattr(engine_run, "utcnow", lambda: second)
        _, one = await execute(plan, journal)
    assert one["started_at"].startswith(taken.removesuffix("Z"))
    assert one["items"][0]["status"] == "succeeded"
    _, other = await execute(plan, journal)
    assert other["items"][0]["status"] == "already_at_target"
    assert len(sandbox.writes("canary", BILLING)) == 1
    assert content(sandbox, BILLING) == before


async def test_any_run_can_be_undone_from_its_pre_write_snapshots(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Every write keeps what it replaced, dated at its run's start: {snapshot: start} undoes it."""
    ids = CONFIGS["canary"][:3]
    before = {c: comparable(Kind.AGENTASSIST_CONFIG, sandbox.config("canary", c).body) for c in ids}
    _, first = await execute(write_plan(tmp_path, sandbox.url, {"canary": ids}), journal)
    assert {i["status"] for i in first["items"]} == {"succeeded"}
    undo = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": ids},
        name="undo",
        defaults={"to": {"snapshot": first["started_at"]}},
    )
    _, second = await execute(undo, journal)
    assert {i["status"] for i in second["items"]} == {"succeeded"}
    for c in ids:
        assert comparable(Kind.AGENTASSIST_CONFIG, sandbox.config("canary", c).body) == before[c]
        assert len(sandbox.writes("canary", c)) == 2


async def test_snapshot_of_a_plan_stores_each_item(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """`orchestrator snapshot PLAN` keeps the current content of the plan's items, every kind."""
    ids = CONFIGS["canary"][:2]
    assist = [
        {"id": BILLING, "kind": "assistant", "to": {"snapshot": "2026-01-01T00:00:00Z"}},
        {"id": BILLING, "kind": "assistant-queues", "to": {"snapshot": "2026-01-01T00:00:00Z"}},
        {
            "id": CHECKLISTS["canary"][0],
            "kind": "agent-checklist",
            "to": {"before": "2027-01-01T00:00:00Z"},
        },
    ]
    out = await snapshot(
        str(write_plan(tmp_path, sandbox.url, {"canary": [*ids, *assist]})),
        journal=journal.location,
    )
    assert "stored 5 snapshot(s)" in out
    (kept,) = await journal.snapshots("assistant", BILLING)
    assert kept.fields == content(sandbox, BILLING)
    (bound,) = await journal.snapshots("assistant-queues", BILLING)
    assert set(bound.fields) == {b["id"] for b in sandbox.bindings("canary", BILLING)}
    (listed,) = await journal.snapshots("agent-checklist", CHECKLISTS["canary"][0])
    assert listed.fields["name"] == "Billing call checklist"
    for c in ids:
        (snap,) = await journal.snapshots("agentassist-config", c)
        assert snap.version == sandbox.config("canary", c).version
        assert snap.fields == comparable(Kind.AGENTASSIST_CONFIG, sandbox.config("canary", c).body)
    assert [r for r in sandbox.requests if r.method not in ("GET", "POST")] == []


def sdk_changes_billing(url: str) -> None:
    """A colleague, through the official SDK: summaries on, a rule off, a new name, Dialogflow."""
    client = sdk_client(url)
    assistants = genesys.AgentAssistantsApi(client)
    copilot = assistants.get_assistant(BILLING, expand="copilot").copilot
    copilot.summary_generation_config.enabled = True
    copilot.rule_engine_config.rules[1].enabled = False
    genesys.AgentCopilotApi(client).put_assistant_copilot(BILLING, copilot)
    patch = genesys.Assistant()
    patch.name = "Billing assistant (summaries on)"
    profile = genesys.ConversationProfile()
    profile.language_code, profile.name = "en-US", "billing-profile"
    dialogflow = genesys.GoogleDialogflowConfig()
    dialogflow.integration_id, dialogflow.conversation_profiles = "df-1", [profile]
    patch.google_dialogflow_config = dialogflow
    assistants.patch_assistant(BILLING, patch)


def sdk_reads_billing(url: str) -> Any:
    client = sdk_client(url)
    return sdk_json(
        client, genesys.AgentAssistantsApi(client).get_assistant(BILLING, expand="copilot")
    )


async def test_the_whole_assistant_is_put_back_as_the_sdk_sees_it(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Snapshot; SDK edits copilot and fields; plan shows each; run restores; SDK reads it back."""
    taken = await snapshot_canary(sandbox, tmp_path, journal)
    (kept,) = await journal.snapshots("assistant", BILLING)
    await anyio.to_thread.run_sync(sdk_changes_billing, sandbox.url)
    plan = load_plan(assistant_plan(tmp_path, sandbox.url, {"snapshot": taken}, ids=[BILLING]))
    shown = render_preview(plan, await preview(plan, journal=journal), "text")
    assert "write, 4 field(s) change" in shown
    assert "~ copilot.summaryGenerationConfig.enabled: true → false" in shown
    assert "~ copilot.ruleEngineConfig.rules[1].enabled: false → true" in shown
    assert '- googleDialogflowConfig: {"conversationProfiles": [{"languageCode": "en-US"' in shown
    assert '~ name: "Billing assistant (summaries on)" → "Billing assistant"' in shown

    sandbox.clear_requests()
    _, data = await execute(plan, journal)
    assert data["items"][0]["status"] == "succeeded"
    assert writes(sandbox, BILLING) == [
        ("PATCH", f"/api/v2/assistants/{BILLING}"),
        ("PUT", COPILOT_PATH),
    ]
    patch, put = sandbox.writes("canary", BILLING)
    assert patch.body == {"name": "Billing assistant", "googleDialogflowConfig": None}
    assert put.body == kept.fields["copilot"]
    assert (
        comparable(Kind.ASSISTANT, await anyio.to_thread.run_sync(sdk_reads_billing, sandbox.url))
        == kept.fields
    )


async def test_a_field_the_orchestrator_does_not_know_goes_back_untouched(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """An unknown copilot field, equal in live and target, rides along in the full-replace PUT."""
    sandbox.extend("canary", BILLING, "voiceHints", {"boost": 2}, on="copilot")
    taken = await snapshot_canary(sandbox, tmp_path, journal)
    sandbox.edit_copilot("canary", BILLING, liveOnQueue=False)
    path = assistant_plan(tmp_path, sandbox.url, {"snapshot": taken}, ids=[BILLING])
    _, data = await execute(path, journal)
    assert data["items"][0]["status"] == "succeeded"
    (put,) = sandbox.writes("canary", BILLING)
    assert put.path == COPILOT_PATH and put.body["voiceHints"] == {"boost": 2}
    assert put.body["liveOnQueue"] is True
    assert sandbox.copilot("canary", BILLING)["voiceHints"] == {"boost": 2}


async def test_an_unknown_field_that_differs_is_refused_never_already_at_target(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Only an unknown field changed: a whitelist said already_at_target; now it fails safe."""
    sandbox.extend("canary", BILLING, "agentNotes", "as it was", on="assistant")
    sandbox.extend("canary", CLAIMS, "voiceHints", {"boost": 1}, on="copilot")
    taken = await snapshot_canary(sandbox, tmp_path, journal)
    sandbox.patch_assistant("canary", BILLING, agentNotes="changed by a colleague")
    sandbox.edit_copilot("canary", CLAIMS, voiceHints={"boost": 3}, liveOnQueue=False)
    plan = load_plan(
        assistant_plan(tmp_path, sandbox.url, {"snapshot": taken}, ids=[BILLING, CLAIMS])
    )
    shown = render_preview(plan, await preview(plan, journal=journal), "text")
    assert "failed: agentNotes: not a field the orchestrator knows for assistant" in shown
    assert "failed: copilot.voiceHints: not a field the orchestrator knows" in shown
    assert '~ agentNotes: "changed by a colleague" → "as it was"' in shown  # the plan shows it
    sandbox.clear_requests()
    _, data = await execute(plan, journal)
    assert [(i["status"], i["error"]["code"]) for i in data["items"]] == [
        ("failed", "field.unknown"),
        ("failed", "field.unknown"),
    ]
    assert sandbox.writes("canary") == []


def _without_default_language(seed: Seed, org: str, assistant_id: str) -> Seed:
    orgs = []
    for org_seed in seed.orgs:
        if org_seed.name == org:
            assistants = tuple(
                {**a, "copilot": {k: v for k, v in a["copilot"].items() if k != "defaultLanguage"}}
                if a["id"] == assistant_id
                else a
                for a in org_seed.assistants
            )
            org_seed = dataclasses.replace(org_seed, assistants=assistants)
        orgs.append(org_seed)
    return Seed(orgs=tuple(orgs))


def sdk_sets_language(url: str) -> None:
    client = sdk_client(url)
    copilot = genesys.AgentCopilotApi(client).get_assistant_copilot(SALES)
    copilot.default_language = "es-US"  # allowed once: it was not set
    genesys.AgentCopilotApi(client).put_assistant_copilot(SALES, copilot)


async def test_a_rollback_that_would_change_default_language_is_refused_at_planning(
    make_sandbox: SandboxFactory, sandbox_seed: Seed, tmp_path: Path, journal: Journal
) -> None:
    """The server forbids changing copilot.defaultLanguage once set: refused at planning."""
    async with make_sandbox(seed=_without_default_language(sandbox_seed, "canary", SALES)) as sb:
        taken = await snapshot_canary(sb, tmp_path, journal)
        await anyio.to_thread.run_sync(sdk_sets_language, sb.url)
        plan = load_plan(assistant_plan(tmp_path, sb.url, {"snapshot": taken}, ids=[SALES]))
        shown = render_preview(plan, await preview(plan, journal=journal), "text")
        assert 'copilot.defaultLanguage is "es-US" and the target says null' in shown
        assert "the server forbids changing it once set" in shown
        sb.clear_requests()
        _, data = await execute(plan, journal)
        assert data["items"][0]["status"] == "failed"
        assert data["items"][0]["error"]["code"] == "field.immutable"
        assert sb.writes("canary") == []


async def test_a_write_cut_between_patch_and_copilot_is_finished_not_taken_for_drift(
    make_sandbox: SandboxFactory, tmp_path: Path, journal: Journal
) -> None:
    """Every answer is lost: the PATCH lands, the re-read sees our half, only the PUT follows."""
    async with make_sandbox(faults={"canary": Faults(drop_after_write_rate=1.0)}) as sb:
        path = await billing_to_undo(sb, tmp_path, journal, enabled=False)
        sb.clear_requests()
        result, data = await execute(path, journal)
        assert data["items"][0]["status"] == "succeeded"
        assert writes(sb, BILLING) == [
            ("PATCH", f"/api/v2/assistants/{BILLING}"),
            ("PUT", COPILOT_PATH),
        ]
        assert all(w.dropped for w in sb.writes("canary", BILLING))
        events = [e.event for e in await journal.events(result.run_id or "") if e.seq == 0]
        assert events.count("write.intended") == 2 and "write.partial" in events
        pre = [s for s in await journal.snapshots("assistant", BILLING) if s.source == "pre-write"]
        assert len(pre) == 1  # what the run replaced, not its own half-written state
        assert content(sb, BILLING) == (await journal.snapshots("assistant", BILLING))[0].fields


async def test_a_copilot_changed_after_planning_is_drift(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Another writer flips a copilot setting between plan and write: drifted, nothing sent."""
    taken = await snapshot_canary(sandbox, tmp_path, journal)
    sandbox.patch_assistant("canary", BILLING, state="Inactive")
    path = assistant_plan(tmp_path, sandbox.url, {"snapshot": taken}, ids=[BILLING])

    def colleague() -> None:
        sandbox.edit_copilot("canary", BILLING, answerGenerationConfig={"enabled": False})

    _, data = await execute(path, journal, at_wave=colleague)
    assert data["items"][0]["status"] == "drifted"
    assert sandbox.writes("canary", BILLING) == []
    assert sandbox.copilot("canary", BILLING)["answerGenerationConfig"] == {"enabled": False}


async def test_an_unknown_field_changed_after_planning_is_refused_even_on_overwrite(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Checked again before the write: overwrite may replace drift, never an unknown field."""
    sandbox.extend("canary", BILLING, "voiceHints", {"boost": 1}, on="copilot")
    taken = await snapshot_canary(sandbox, tmp_path, journal)
    sandbox.patch_assistant("canary", BILLING, state="Inactive")
    path = assistant_plan(
        tmp_path, sandbox.url, {"snapshot": taken}, ids=[BILLING], on_drift="overwrite"
    )

    def colleague() -> None:
        sandbox.edit_copilot("canary", BILLING, voiceHints={"boost": 9})

    _, data = await execute(path, journal, at_wave=colleague)
    assert (data["items"][0]["status"], data["items"][0]["error"]["code"]) == (
        "failed",
        "field.unknown",
    )
    assert "copilot.voiceHints" in data["items"][0]["error"]["message"]
    assert sandbox.writes("canary", BILLING) == []
