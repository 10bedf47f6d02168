"""Large synthetic seeds for benchmarks: many orgs, realistic content, no file."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator.sandbox.seed import ConfigSeed, OrgSeed, Seed, VersionSeed
from orchestrator.sandbox.seed_unversioned import PERMISSIONS, QueueSeed

_NAMESPACE = uuid.UUID("0b8f3c8e-2a57-5d0f-9c1e-6f3a1d2b4c5e")
_DOMAINS = ("Billing", "Claims", "Sales", "Support", "Retention", "Collections", "Onboarding")
_ACTIONS = ("suggest_article", "suggest_script", "suggest_offer", "escalate_supervisor")
_NEWEST = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _uid(*parts: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in parts)))


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _content(rng: random.Random, domain: str, kb: str) -> dict[str, Any]:
    topic = domain.lower()
    return {
        "language": "en-US",
        "channels": ["voice", "chat"],
        "rules": [
            {
                "id": f"{topic}-rule-{i}",
                "intent": f"{topic}.intent_{i}",
                "action": rng.choice(_ACTIONS),
                "minConfidence": round(rng.uniform(0.55, 0.85), 2),
                "enabled": True,
            }
            for i in range(rng.randint(2, 5))
        ],
        "settings": {
            "suggestionsPerTurn": rng.randint(2, 4),
            "autoSearch": True,
            "summarization": rng.random() < 0.5,
            "cooldownSeconds": rng.choice((10, 20, 30)),
        },
        "thresholds": {
            "intentConfidence": round(rng.uniform(0.5, 0.8), 2),
            "articleRelevance": round(rng.uniform(0.4, 0.7), 2),
            "negativeSentiment": -0.4,
        },
        "knowledge": {"knowledgeBaseId": kb, "dialect": "en-US", "maxArticles": rng.randint(3, 8)},
    }


def _evolve(rng: random.Random, content: dict[str, Any]) -> dict[str, Any]:
    """The next version's content: one realistic tweak (new dicts, nothing shared)."""
    out = dict(content)
    section = rng.choice(("thresholds", "settings", "knowledge"))
    changed = dict(out[section])
    if section == "thresholds":
        changed["intentConfidence"] = round(rng.uniform(0.5, 0.9), 2)
    elif section == "settings":
        changed["suggestionsPerTurn"] = rng.randint(1, 5)
        changed["summarization"] = not changed["summarization"]
    else:
        changed["maxArticles"] = rng.randint(2, 10)
    out[section] = changed
    return out


def _config(rng: random.Random, org: str, index: int, versions: int) -> ConfigSeed:
    domain = _DOMAINS[index % len(_DOMAINS)]
    config_id = _uid(org, "config", index)
    content = _content(rng, domain, _uid(org, "kb", index))
    name = f"{domain} Assist Config" + (
        f" {index // len(_DOMAINS) + 1}" if index >= len(_DOMAINS) else ""
    )
    by = _uid(org, "user")
    out = []
    for n in range(1, versions + 1):
        date = _NEWEST - timedelta(days=3 * (versions - n), minutes=index)
        fields = {
            "name": name,
            "description": f"Agent Assist settings for {domain.lower()} conversations",
            "deployed": n > 1,
            "trafficPercent": 100 if n > 1 else 0,
            "content": content,
        }
        out.append(VersionSeed(version=n, date=_stamp(date), by=by, fields=fields))
        content = _evolve(rng, content)
    return ConfigSeed(id=config_id, versions=tuple(out))


def _assistant(org: str, index: int) -> dict[str, Any]:
    assistant_id = _uid(org, "assistant", index)
    kb = _uid(org, "assistant-kb", index)
    user = {"id": _uid(org, "user")}
    return {
        "id": assistant_id,
        "name": f"{_DOMAINS[index % len(_DOMAINS)]} assistant {index + 1}",
        "state": "Active",
        "transcriptionConfig": {"vendorName": "Genesys"},
        "knowledgeSuggestionConfig": {
            "vendorName": "GenesysKnowledge",
            "knowledgeBases": [{"id": kb, "selfUri": f"/api/v2/knowledge/knowledgebases/{kb}"}],
            "receiveSegmentedArticles": False,
        },
        "copilot": {
            "enabled": True,
            "liveOnQueue": True,
            "defaultLanguage": "en-US",
            "summaryGenerationConfig": {"enabled": False},
            "answerGenerationConfig": {"enabled": True},
            "autoSearchConfig": {"type": "ArticlesWithAnswerHighlights"},
        },
        "dateCreated": _stamp(_NEWEST - timedelta(days=60)),
        "dateModified": _stamp(_NEWEST - timedelta(days=2, minutes=index)),
        "createdBy": user,
        "modifiedBy": user,
        "selfUri": f"/api/v2/assistants/{assistant_id}",
    }


def _queues(org: str, assistants: int) -> tuple[QueueSeed, ...]:
    """Two queues bound to each assistant, and as many left free."""
    out = []
    for index in range(assistants):
        domain = _DOMAINS[index % len(_DOMAINS)]
        owner = _uid(org, "assistant", index)
        for n, media in enumerate((("call", "message"), ("email",))):
            queue = _uid(org, "queue", index, n)
            out.append(
                QueueSeed(id=queue, name=f"{domain} {n + 1}", assistant=owner, media_types=media)
            )
        out.append(QueueSeed(id=_uid(org, "free-queue", index), name=f"{domain} spare"))
    return tuple(out)


def _checklist(org: str, index: int) -> dict[str, Any]:
    domain = _DOMAINS[index % len(_DOMAINS)]
    checklist_id = _uid(org, "checklist", index)
    user = {"id": _uid(org, "user")}
    return {
        "id": checklist_id,
        "name": f"{domain} checklist {index + 1}",
        "language": "en-US",
        "checklistItems": [
            {"id": _uid(org, "checklist-item", index, n), "name": text, "important": n == 0}
            for n, text in enumerate(("Verify the caller", "Summarise the next steps"))
        ],
        "dateCreated": _stamp(_NEWEST - timedelta(days=30)),
        "dateModified": _stamp(_NEWEST - timedelta(days=1, minutes=index)),
        "createdBy": user,
        "modifiedBy": user,
        "selfUri": f"/api/v2/assistants/agentchecklists/{checklist_id}",
    }


def generate_seed(
    orgs: int = 200,
    configs: int = 25,
    versions: int = 6,
    assistants: int = 0,
    requests_per_minute: int | None = None,
    checklists: int = 0,
) -> Seed:
    """A deterministic seed of ``orgs`` orgs named ``org-000``, ``org-001``, ...

    Each org's client id is its name and its secret ``f"{name}-secret"``; it
    has every permission, ``configs`` configs of ``versions`` versions each,
    ``assistants`` assistants (each with a copilot and two bound queues; as
    many queues are free) and ``checklists`` agent checklists.
    ``requests_per_minute=None`` means no limit.
    """
    rng = random.Random(0)
    width = max(3, len(str(orgs - 1)))
    out = []
    for i in range(orgs):
        name = f"org-{i:0{width}d}"
        out.append(
            OrgSeed(
                name=name,
                org_id=_uid(name, "org"),
                display_name=f"Org {i}",
                client_id=name,
                client_secret=f"{name}-secret",
                permissions=PERMISSIONS,
                requests_per_minute=requests_per_minute,
                configs=tuple(_config(rng, name, c, versions) for c in range(configs)),
                assistants=tuple(_assistant(name, a) for a in range(assistants)),
                queues=_queues(name, assistants),
                checklists=tuple(_checklist(name, c) for c in range(checklists)),
            )
        )
    return Seed(orgs=tuple(out))
