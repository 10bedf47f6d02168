"""Rollouts: golden content from one org (or a content file) onto many, references mapped.

The verdict comes from what the sandbox holds and what it was asked, not
only from the report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engine.run import preview
from orchestrator.journal import Journal
from orchestrator.models import Kind
from orchestrator.planfile.loader import load_plan
from orchestrator.sandbox import Sandbox
from orchestrator.sandbox.shipped import ROLLOUT_PLAN
from orchestrator.ui import report
from orchestrator.ui.preview import render_preview
from tests.rollout import (
    COUNTED_WAVES,
    GOLDEN,
    TARGETS,
    assistant_refs,
    billing_assistant,
    billing_checklist,
    billing_config,
    config_refs,
    content,
    expected,
    from_golden,
    id_map,
    write_rollout,
)
from tests.support import CONFIGS, execute, queue_ids, statuses

pytestmark = pytest.mark.anyio

CONFIG_SET = {"description": "Billing, as the canary has it", "trafficPercent": 100}


def golden_plan_targets(sb: Sandbox) -> list[dict[str, Any]]:
    """Each target org: its Billing config and assistant from the canary's, ids mapped."""
    cfg_golden, asst_golden = config_refs(sb, GOLDEN), assistant_refs(sb, GOLDEN)
    targets = []
    for org in TARGETS:
        ids = {
            **id_map(cfg_golden, config_refs(sb, org)),
            **id_map(asst_golden, assistant_refs(sb, org)),
        }
        configs = [
            {
                "id": billing_config(org),
                "to": from_golden(billing_config(GOLDEN)),
                "set": CONFIG_SET,
            },
            {
                "id": billing_assistant(sb, org),
                "kind": "assistant",
                "to": from_golden(billing_assistant(sb, GOLDEN)),
                "set": {"state": "Inactive"},
            },
        ]
        targets.append({"org": org, "ids": ids, "configs": configs})
    return targets


async def test_a_golden_org_rolls_out_to_four_orgs_in_waves_by_count(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Every target ends with the golden content (ids mapped, own name, `set` on top), in waves."""
    sb = sandbox
    golden_cfg = content(sb, GOLDEN, Kind.AGENTASSIST_CONFIG, billing_config(GOLDEN))
    golden_asst = content(sb, GOLDEN, Kind.ASSISTANT, billing_assistant(sb, GOLDEN))
    wanted: dict[tuple[str, Kind, str], dict[str, Any]] = {}
    for org in TARGETS:
        cfg, asst = billing_config(org), billing_assistant(sb, org)
        cfg_ids = id_map(config_refs(sb, GOLDEN), config_refs(sb, org))
        asst_ids = id_map(assistant_refs(sb, GOLDEN), assistant_refs(sb, org))
        own = content(sb, org, Kind.AGENTASSIST_CONFIG, cfg)["name"]
        wanted[(org, Kind.AGENTASSIST_CONFIG, cfg)] = expected(golden_cfg, cfg_ids, own, CONFIG_SET)
        own = content(sb, org, Kind.ASSISTANT, asst)["name"]
        wanted[(org, Kind.ASSISTANT, asst)] = expected(
            golden_asst, asst_ids, own, {"state": "Inactive"}
        )
        assert (
            content(sb, org, Kind.AGENTASSIST_CONFIG, cfg)
            != wanted[(org, Kind.AGENTASSIST_CONFIG, cfg)]
        )
    path = write_rollout(tmp_path, sb.url, golden_plan_targets(sb), waves=COUNTED_WAVES)
    sb.clear_requests()

    result, data = await execute(path, journal)

    assert result.exit_code == 0, data
    assert set(statuses(data).values()) == {"succeeded"}
    for (org, kind, rid), want in wanted.items():
        assert content(sb, org, kind, rid) == want, (org, kind)
    waves = {w["name"]: w["items"] for w in data["waves"]}
    assert waves == {"first": 2, "quarter": 2, "rest": 4}
    by_wave = {i["org"]: i["wave"] for i in data["items"]}
    assert by_wave == {
        "emea-prod": "first",
        "amer-prod": "quarter",
        "apac-prod": "rest",
        "latam-prod": "rest",
    }
    writes = [r for r in sb.requests if r.applied]
    assert {r.org for r in writes} == set(TARGETS)  # nothing written to the golden org
    first = {org: min(r.time for r in writes if r.org == org) for org in TARGETS}
    last = {org: max(r.time for r in writes if r.org == org) for org in TARGETS}
    assert last["emea-prod"] < first["amer-prod"]
    assert last["amer-prod"] < min(first["apac-prod"], first["latam-prod"])
    golden_reads = [r for r in sb.requests if r.org == GOLDEN and r.method == "GET"]
    read_ids = sorted(r.resource_id or "" for r in golden_reads)
    assert read_ids == sorted([billing_config(GOLDEN), billing_assistant(sb, GOLDEN)])


async def test_a_snapshot_of_the_run_start_undoes_a_rollout(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Every rollout write snapshots what it replaced: `to: {snapshot: <start>}` puts it back."""
    sb = sandbox
    org, rid = "emea-prod", billing_assistant(sandbox, "emea-prod")
    before = content(sb, org, Kind.ASSISTANT, rid)
    ids = id_map(assistant_refs(sb, GOLDEN), assistant_refs(sb, org))
    item = {"id": rid, "kind": "assistant", "to": from_golden(billing_assistant(sb, GOLDEN))}
    path = write_rollout(tmp_path, sb.url, [{"org": org, "ids": ids, "configs": [item]}])
    _, data = await execute(path, journal)
    assert statuses(data) == {rid: "succeeded"}
    assert content(sb, org, Kind.ASSISTANT, rid) != before
    undo = {"id": rid, "kind": "assistant", "to": {"snapshot": data["started_at"]}}
    path = write_rollout(tmp_path, sb.url, [{"org": org, "configs": [undo]}], name="undo")
    _, data = await execute(path, journal)
    assert statuses(data) == {rid: "succeeded"}
    assert content(sb, org, Kind.ASSISTANT, rid) == before


async def test_queue_bindings_map_their_queue_ids_and_a_checklist_keeps_its_item_ids(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """assistant-queues: queue ids are mapped; agent-checklist: `ids: {keep: [...]}` accepted."""
    sb = sandbox
    org = "emea-prod"
    golden_queues = queue_ids(sb, GOLDEN)
    here_queues = queue_ids(sb, org)
    golden_checklist = sb.checklist(GOLDEN, billing_checklist(sb, GOLDEN))
    item_ids = [i["id"] for i in golden_checklist["checklistItems"]]
    asst = billing_assistant(sb, org)
    ids = {golden_queues["Billing"]: here_queues["Billing VIP"], "keep": item_ids}
    configs = [
        {"id": asst, "kind": "assistant-queues", "to": from_golden(billing_assistant(sb, GOLDEN))},
        {
            "id": billing_checklist(sb, org),
            "kind": "agent-checklist",
            "to": from_golden(billing_checklist(sb, GOLDEN)),
        },
    ]
    own_name = sb.checklist(org, billing_checklist(sb, org))["name"]
    path = write_rollout(tmp_path, sb.url, [{"org": org, "ids": ids, "configs": configs}])

    result, data = await execute(path, journal)

    assert result.exit_code == 0, data
    assert set(statuses(data).values()) == {"succeeded"}
    golden_media = {
        b["id"]: sorted(b["mediaTypes"]) for b in sb.bindings(GOLDEN, billing_assistant(sb, GOLDEN))
    }
    assert [(b["id"], sorted(b["mediaTypes"])) for b in sb.bindings(org, asst)] == [
        (here_queues["Billing VIP"], golden_media[golden_queues["Billing"]])
    ]
    checklist = sb.checklist(org, billing_checklist(sb, org))
    assert checklist["name"] == own_name
    assert checklist["checklistItems"] == golden_checklist["checklistItems"]


UNMAPPED = {
    Kind.AGENTASSIST_CONFIG: "content.knowledge.knowledgeBaseId",
    Kind.ASSISTANT: "knowledgeSuggestionConfig.knowledgeBases[0].id",
    Kind.ASSISTANT_QUEUES: None,  # the queue id itself is the path
    Kind.AGENT_CHECKLIST: "checklistItems[0].id",
}


def golden_item(sb: Sandbox, org: str, kind: Kind) -> str:
    if kind is Kind.AGENTASSIST_CONFIG:
        return billing_config(org)
    if kind is Kind.AGENT_CHECKLIST:
        return billing_checklist(sb, org)
    return billing_assistant(sb, org)


def first_reference(sb: Sandbox, kind: Kind) -> str:
    if kind is Kind.AGENTASSIST_CONFIG:
        return config_refs(sb, GOLDEN)["kb"]
    if kind is Kind.ASSISTANT:
        return assistant_refs(sb, GOLDEN)["kb"]
    if kind is Kind.ASSISTANT_QUEUES:
        return queue_ids(sb, GOLDEN)["Billing"]
    return str(sb.checklist(GOLDEN, billing_checklist(sb, GOLDEN))["checklistItems"][0]["id"])


@pytest.mark.parametrize("kind", list(Kind), ids=str)
async def test_an_unmapped_reference_is_refused_at_planning(
    sandbox: Sandbox, tmp_path: Path, journal: Journal, kind: Kind
) -> None:
    """No `ids:` for a golden reference: the item fails at planning, naming field and id."""
    sb = sandbox
    org = "amer-prod"
    rid = golden_item(sb, org, kind)
    item = {"id": rid, "kind": str(kind), "to": from_golden(golden_item(sb, GOLDEN, kind))}
    path = write_rollout(tmp_path, sb.url, [{"org": org, "configs": [item]}])
    sb.clear_requests()

    result, data = await execute(path, journal)

    assert result.exit_code == 1
    (row,) = data["items"]
    assert row["status"] == "failed"
    assert row["error"]["code"] == "ids.unmapped"
    reference = first_reference(sb, kind)
    field = UNMAPPED[kind] or reference
    assert f"{field} holds {reference}" in row["error"]["message"]
    assert [r for r in sb.requests if r.method in ("PUT", "PATCH", "DELETE")] == []
    assert "- `ids.unmapped`: map each id named" in await report.render(data, "markdown")


async def test_a_content_file_puts_its_fields_with_ids_mapped(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """`to: {content: FILE}`: the fields it names replace the live ones; the others stay."""
    sb = sandbox
    golden = sb.config(GOLDEN, billing_config(GOLDEN)).content
    (tmp_path / "golden.json").write_text(
        '{"trafficPercent": 25, "content": ' + json.dumps(golden) + "}"
    )
    targets = []
    for org in ("emea-prod", "amer-prod"):
        ids = id_map(config_refs(sb, GOLDEN), config_refs(sb, org))
        item = {"id": billing_config(org), "to": {"content": "golden.json"}}
        targets.append({"org": org, "ids": ids, "configs": [item]})
    befores = {org: sb.config(org, billing_config(org)).body for org in ("emea-prod", "amer-prod")}
    path = write_rollout(tmp_path, sb.url, targets, defaults={"set": {"deployed": True}})

    _, data = await execute(path, journal)

    assert set(statuses(data).values()) == {"succeeded"}
    for org, before in befores.items():
        body = sb.config(org, billing_config(org)).body
        ids = id_map(
            config_refs(sb, GOLDEN), {"kb": before["content"]["knowledge"]["knowledgeBaseId"]}
        )
        assert body["content"] == expected(golden, ids, None)
        assert (body["trafficPercent"], body["deployed"]) == (25, True)
        assert (body["name"], body["description"]) == (before["name"], before["description"])


async def test_the_preview_shows_mapped_ids_and_writes_nothing(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """`plan`: each mapped reference as `there → here`, a kept one as kept; no write."""
    sb = sandbox
    org = "emea-prod"
    ids = id_map(config_refs(sb, GOLDEN), config_refs(sb, org))
    item = {"id": billing_config(org), "to": from_golden(billing_config(GOLDEN))}
    path = write_rollout(tmp_path, sb.url, [{"org": org, "ids": ids, "configs": [item]}])
    plan = load_plan(path)

    shown = await preview(plan, journal=None)

    text = render_preview(plan, shown, "text")
    there, here = config_refs(sb, GOLDEN)["kb"], config_refs(sb, org)["kb"]
    assert f"ids: content.knowledge.knowledgeBaseId: {there} → {here}" in text
    assert f"from {GOLDEN}/{billing_config(GOLDEN)}: write" in text
    assert [r for r in sb.requests if r.applied] == []


async def test_the_shipped_rollout_plan_runs_on_the_sandbox(
    sandbox: Sandbox, journal: Journal
) -> None:
    """orchestrator/sandbox/data/plan-rollout.yaml: four orgs, three counted waves, ids mapped."""
    sb = sandbox
    plan = load_plan(ROLLOUT_PLAN, sandbox_url=sb.url)
    assert [(w.name, w.orgs) for w in plan.waves] == [
        ("first", ("emea-prod",)),
        ("quarter", ("amer-prod",)),
        ("rest", ("apac-prod", "latam-prod")),
    ]
    kbs = {org: config_refs(sb, org)["kb"] for org in TARGETS}
    golden = content(sb, GOLDEN, Kind.AGENTASSIST_CONFIG, billing_config(GOLDEN))

    result, data = await execute(plan, journal)

    assert result.exit_code == 0, data
    for org in TARGETS:
        body = sb.config(org, billing_config(org)).body
        assert body["content"]["knowledge"]["knowledgeBaseId"] == kbs[org]
        want = expected(golden["content"], {config_refs(sb, GOLDEN)["kb"]: kbs[org]}, None)
        assert body["content"] == want
        assert body["deployed"] is True


async def test_a_golden_item_of_the_same_org_needs_no_ids(
    sandbox: Sandbox, tmp_path: Path, journal: Journal
) -> None:
    """Copying within one org: its references are valid there, kept without `ids:`."""
    sb = sandbox
    golden, other = billing_config(GOLDEN), CONFIGS[GOLDEN][1]
    item = {"id": other, "to": from_golden(golden)}
    path = write_rollout(tmp_path, sb.url, [{"org": GOLDEN, "configs": [item]}])
    source = content(sb, GOLDEN, Kind.AGENTASSIST_CONFIG, golden)
    name = content(sb, GOLDEN, Kind.AGENTASSIST_CONFIG, other)["name"]

    _, data = await execute(path, journal)

    assert statuses(data) == {other: "succeeded"}
    assert content(sb, GOLDEN, Kind.AGENTASSIST_CONFIG, other) == {**source, "name": name}
