"""References between orgs: each kind's table, mapping, keeping and refusing."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.errors import TargetUnavailable
from orchestrator.genesys.fields import TABLES, Shape
from orchestrator.genesys.references import KEYS, REFERENCES, Mapped, carried, map_ids
from orchestrator.models import IdMap, Kind

KB = "/api/v2/knowledge/knowledgebases"


@pytest.mark.parametrize("kind", list(Kind), ids=str)
def test_every_reference_path_is_a_known_field_of_its_kind(kind: Kind) -> None:
    """The table cannot drift from the field tables built from the SDK's models."""
    for spec in REFERENCES[kind]:
        if spec == KEYS:
            assert kind is Kind.ASSISTANT_QUEUES
            continue
        shape: Shape | None = TABLES[kind].shape
        for step in spec.split("."):
            if shape is None:  # an opaque leaf (a config's `content`, free-form attributes)
                break
            name = step.removesuffix("[]")
            assert name in shape.fields, f"{kind}: {spec}: {name}"
            shape = shape.fields[name]


def test_an_assistant_maps_ids_and_the_links_that_name_them() -> None:
    """`id` and its `selfUri` change together; articles in rules are mapped too."""
    fields: dict[str, Any] = {
        "knowledgeSuggestionConfig": {
            "knowledgeBases": [{"id": "kb-a", "selfUri": f"{KB}/kb-a"}, {"id": "kb-shared"}]
        },
        "copilot": {
            "ruleEngineConfig": {
                "rules": [{"rule": {"actions": [{"attributes": {"articleId": "art-a"}}]}}]
            }
        },
    }
    ids = IdMap(mapped={"kb-a": "kb-b", "art-a": "art-b"}, keep=frozenset({"kb-shared"}))
    out, done = map_ids(Kind.ASSISTANT, fields, ids, "gold")
    assert out["knowledgeSuggestionConfig"]["knowledgeBases"] == [
        {"id": "kb-b", "selfUri": f"{KB}/kb-b"},
        {"id": "kb-shared"},
    ]
    rule = out["copilot"]["ruleEngineConfig"]["rules"][0]
    assert rule["rule"]["actions"][0]["attributes"] == {"articleId": "art-b"}
    assert fields["knowledgeSuggestionConfig"]["knowledgeBases"][0]["id"] == "kb-a"  # a copy
    assert [str(m) for m in done] == [
        "knowledgeSuggestionConfig.knowledgeBases[0].id: kb-a → kb-b",
        "knowledgeSuggestionConfig.knowledgeBases[1].id: kb-shared (kept)",
        "copilot.ruleEngineConfig.rules[0].rule.actions[0].attributes.articleId: art-a → art-b",
    ]


def test_queue_ids_are_the_references_of_queue_bindings() -> None:
    """assistant-queues: every key is mapped, even one swapped with another."""
    fields = {"q-1": {"mediaTypes": ["call"]}, "q-2": {"mediaTypes": ["chat"]}}
    out, done = map_ids(
        Kind.ASSISTANT_QUEUES, fields, IdMap(mapped={"q-1": "q-2", "q-2": "q-1"}), "gold"
    )
    assert out == {"q-2": {"mediaTypes": ["call"]}, "q-1": {"mediaTypes": ["chat"]}}
    assert done == (Mapped("q-1", "q-1", "q-2"), Mapped("q-2", "q-2", "q-1"))


def test_every_unmapped_reference_is_named_in_one_refusal() -> None:
    """ids.unmapped: each field and id, and how to map or keep it."""
    fields = {"checklistItems": [{"id": "i-1", "name": "a"}, {"id": "i-2", "name": "b"}]}
    with pytest.raises(TargetUnavailable) as caught:
        map_ids(Kind.AGENT_CHECKLIST, fields, IdMap(mapped={"other": "x"}), "org gold")
    assert caught.value.code == "ids.unmapped"
    message = caught.value.detail
    assert "checklistItems[0].id holds i-1; checklistItems[1].id holds i-2" in message
    assert "from org gold" in message
    assert "`ids: {i-1: <id here>}`" in message and "`ids: {keep: [i-1]}`" in message


def test_a_copy_keeps_the_targets_own_name() -> None:
    """`name` is local to an org: a copy from another org leaves it as the target has it."""
    source = {"name": "Gold", "deployed": True}
    assert carried(Kind.AGENTASSIST_CONFIG, source, {"name": "East", "deployed": False}) == {
        "name": "East",
        "deployed": True,
    }
    assert carried(Kind.ASSISTANT_QUEUES, {"q": {}}, {"p": {}}) == {"q": {}}


def test_narrower_ids_win() -> None:
    """An item's `ids:` over its target's over the defaults': a keep undoes a mapping."""
    defaults = IdMap(mapped={"a": "1", "b": "2"}, keep=frozenset({"c"}))
    merged = defaults.under(IdMap(mapped={"c": "3"}, keep=frozenset({"a"})))
    assert merged == IdMap(mapped={"b": "2", "c": "3"}, keep=frozenset({"a"}))


def test_content_from_the_items_own_org_keeps_what_is_not_mapped() -> None:
    """A golden item in the same org names objects valid there: nothing to map."""
    fields = {"content": {"knowledge": {"knowledgeBaseId": "kb-1"}}}
    out, done = map_ids(Kind.AGENTASSIST_CONFIG, fields, IdMap(), "here", same_org=True)
    assert out == fields
    assert done == (Mapped("content.knowledge.knowledgeBaseId", "kb-1", "kb-1"),)
