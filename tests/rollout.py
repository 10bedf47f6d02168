"""Rollout test helpers: the Billing items of each seeded org, their references, plans.

Expected contents are computed here independently of the orchestrator's own
reference table: the golden content's JSON with each golden id replaced by
the target's, the target's own name put back, ``set`` laid on top.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from orchestrator.genesys.content import comparable
from orchestrator.models import Kind
from orchestrator.sandbox import Sandbox, load_seed
from orchestrator.sandbox.shipped import SEED as SEED_PATH
from tests.support import CONFIGS, FAST_LIMITS, ORG_IDS, org_entry

SEED = load_seed(SEED_PATH)
GOLDEN = "canary"
TARGETS = ("emea-prod", "amer-prod", "apac-prod", "latam-prod")
COUNTED_WAVES: list[dict[str, Any]] = [
    {"name": "first", "orgs": 1},
    {"name": "quarter", "orgs": "25%"},
    {"name": "rest", "orgs": ["*"]},
]


def billing_config(org: str) -> str:
    """The org's Billing Agent Assist config (the first one the seed lists)."""
    return CONFIGS[org][0]


def billing_assistant(sb: Sandbox, org: str) -> str:
    """The org's Billing assistant (found by name)."""
    return _by_name(sb, org, "Billing assistant", "assistant")


def billing_checklist(sb: Sandbox, org: str) -> str:
    """The org's Billing call checklist."""
    return _by_name(sb, org, "Billing call checklist", "checklist")


def _by_name(sb: Sandbox, org: str, name: str, what: str) -> str:
    seed = SEED.org(org)
    bodies = seed.assistants if what == "assistant" else seed.checklists
    return next(str(b["id"]) for b in bodies if b["name"] == name)


def config_refs(sb: Sandbox, org: str) -> dict[str, str]:
    """The config's references by role."""
    content = sb.config(org, billing_config(org)).content
    return {"kb": content["knowledge"]["knowledgeBaseId"]}


def assistant_refs(sb: Sandbox, org: str) -> dict[str, str]:
    """The Billing assistant's references by role (knowledge base, summary, NLU, article)."""
    body = sb.assistant(org, billing_assistant(sb, org), expand=True)
    copilot = body["copilot"]
    action = copilot["ruleEngineConfig"]["rules"][0]["rule"]["actions"][0]
    return {
        "kb": body["knowledgeSuggestionConfig"]["knowledgeBases"][0]["id"],
        "summary": copilot["summaryGenerationConfig"]["summarySetting"]["id"],
        "domain": copilot["nluConfig"]["domain"]["id"],
        "article": action["attributes"]["articleId"],
    }


def id_map(golden: Mapping[str, str], here: Mapping[str, str]) -> dict[str, str]:
    """``ids:`` mapping each golden reference to the same role's id here."""
    return {golden[role]: here[role] for role in golden}


def content(sb: Sandbox, org: str, kind: Kind, rid: str) -> dict[str, Any]:
    """An item's content as the sandbox holds it now."""
    if kind is Kind.AGENTASSIST_CONFIG:
        return comparable(kind, sb.config(org, rid).body)
    if kind is Kind.ASSISTANT:
        return comparable(kind, sb.assistant(org, rid, expand=True))
    if kind is Kind.ASSISTANT_QUEUES:
        return comparable(kind, {"entities": sb.bindings(org, rid)})
    return comparable(kind, sb.checklist(org, rid))


def expected(
    golden: Mapping[str, Any],
    ids: Mapping[str, str],
    own_name: str | None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The golden content with ids replaced as text, the target's name, ``set`` on top."""
    text = json.dumps(golden, sort_keys=True)
    for there, here in ids.items():
        text = text.replace(there, here)
    out: dict[str, Any] = json.loads(text)
    if own_name is not None:
        out["name"] = own_name
    out.update(overrides or {})
    return out


def write_rollout(
    directory: Path,
    url: str,
    targets: Sequence[Mapping[str, Any]],
    *,
    name: str = "rollout",
    waves: Sequence[Mapping[str, Any]] | None = None,
    defaults: Mapping[str, Any] | None = None,
    limits: Mapping[str, Any] | None = None,
) -> Path:
    """A plan with every seeded org inline (the golden one too) and these targets."""
    document: dict[str, Any] = {
        "plan": 1,
        "name": name,
        "orgs": {org: org_entry(url, org) for org in ORG_IDS},
        "targets": [dict(t) for t in targets],
        "limits": {**FAST_LIMITS, **dict(limits or {})},
    }
    if defaults is not None:
        document["defaults"] = dict(defaults)
    if waves is not None:
        document["waves"] = [dict(w) for w in waves]
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def from_golden(rid: str) -> dict[str, Any]:
    """``to: {from: {org: canary, id: rid}}``."""
    return {"from": {"org": GOLDEN, "id": rid}}
