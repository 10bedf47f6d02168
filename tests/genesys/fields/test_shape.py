"""No field silently ignored: every attribute of the official SDK's models is known or read-only.

The SDK (``PureCloudPlatformClientV2`` 269.0.0) is the source of truth for
field names (api.md 6). A new SDK that grows a field makes this test fail
until the field is placed: compared and restored, or read-only with a reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import PureCloudPlatformClientV2.models as sdk
import pytest

from orchestrator.genesys.content import between, comparable, unrestorable
from orchestrator.genesys.fields import (
    BINDING,
    CHECKLIST_ITEM,
    COPILOT,
    TABLES,
    Shape,
    strip,
    unknown_changes,
)
from orchestrator.models import Kind

ROOTS = [
    ("Assistant", TABLES[Kind.ASSISTANT].shape),
    ("Copilot", COPILOT),
    ("AssistantQueue", BINDING),
    ("AgentChecklist", TABLES[Kind.AGENT_CHECKLIST].shape),
    ("AgentChecklistItem", CHECKLIST_ITEM),
]
_CONTAINER = re.compile(r"^(?:list\[(?P<item>.+)\]|dict\(str, (?P<value>.+)\))$")


def _model(type_name: str) -> tuple[str | None, bool]:
    """The model a swagger type reaches (None for scalars) and whether it is a free-form map."""
    match = _CONTAINER.match(type_name)
    if match and match["value"]:
        return None, True
    inner = match["item"] if match else type_name
    return (inner if hasattr(sdk, inner) else None), False


def problems(model: str, shape: Shape, path: str) -> Iterator[str]:
    """Every attribute of ``model`` (recursively) the shape neither knows nor marks read-only."""
    instance: Any = getattr(sdk, model)()
    names = set(instance.attribute_map.values())
    for attr, type_name in instance.swagger_types.items():
        name = instance.attribute_map[attr]
        where = f"{path}.{name}"
        if name in shape.read_only:
            if not shape.read_only[name].strip():
                yield f"{where}: read-only without a reason"
            continue
        if name not in shape.fields:
            yield f"{where}: neither compared-and-restored nor read-only ({model}.{attr})"
            continue
        child, free = _model(type_name)
        if child is not None:
            inner = shape.fields[name]
            if inner is None:
                yield f"{where}: a {child} is compared whole; give it a shape"
            else:
                yield from problems(child, inner, where)
        elif shape.fields[name] is not None and not free:
            yield f"{where}: a {type_name} has no fields of its own"
    for name in (set(shape.fields) | set(shape.read_only)) - names:
        yield f"{path}.{name}: not an attribute of the SDK's {model}"


@pytest.mark.parametrize(("model", "shape"), ROOTS, ids=[m for m, _ in ROOTS])
def test_every_sdk_attribute_is_restored_or_read_only_with_a_reason(
    model: str, shape: Shape
) -> None:
    """Walks the SDK model and every nested model it reaches."""
    assert list(problems(model, shape, model)) == []


def test_the_walk_catches_a_field_nobody_placed() -> None:
    """The test above can fail: a shape missing one nested field is reported, by path."""
    summary = COPILOT.fields["summaryGenerationConfig"]
    assert summary is not None
    crippled = Shape(
        {
            **COPILOT.fields,
            "summaryGenerationConfig": Shape(
                {k: v for k, v in summary.fields.items() if k != "retentionSeconds"}
            ),
        },
        COPILOT.read_only,
    )
    assert list(problems("Copilot", crippled, "Copilot")) == [
        "Copilot.summaryGenerationConfig.retentionSeconds: neither compared-and-restored nor "
        "read-only (SummaryGenerationConfig.retention_seconds)"
    ]


def test_content_is_the_body_minus_read_only_fields_at_every_depth() -> None:
    """Unknown fields stay in the content; read-only ones go, nested ones included."""
    body = {
        "id": "a",
        "name": "Billing",
        "selfUri": "/x",
        "futureFlag": True,
        "copilot": {"enabled": True, "selfUri": "/x/copilot", "newKnob": 3},
    }
    assert comparable(Kind.ASSISTANT, body) == {
        "name": "Billing",
        "futureFlag": True,
        "copilot": {"enabled": True, "newKnob": 3},
    }
    items = [{"id": "i1", "name": "Greet", "selfUri": "/i1"}]
    assert strip(CHECKLIST_ITEM, items) == [{"id": "i1", "name": "Greet"}]


def test_bindings_are_keyed_by_queue_with_sorted_media_types() -> None:
    """An assistant's queue listing becomes {queueId: binding}; order and dates are not content."""
    entities = [
        {"id": "q2", "mediaTypes": ["message", "call"], "dateCreated": "d", "assistant": {}},
        {"id": "q1", "mediaTypes": ["email"], "selfUri": "/q1"},
    ]
    assert comparable(Kind.ASSISTANT_QUEUES, {"entities": entities}) == {
        "q1": {"mediaTypes": ["email"]},
        "q2": {"mediaTypes": ["call", "message"]},
    }


def test_unknown_changes_are_found_by_path_and_equal_ones_are_not() -> None:
    """A field the kind does not know matters only when live and target differ on it."""
    live = {"name": "a", "x": 1, "copilot": {"ruleEngineConfig": {"rules": [{"id": "r", "k": 1}]}}}
    same = {"name": "b", "x": 1, "copilot": {"ruleEngineConfig": {"rules": [{"id": "r", "k": 1}]}}}
    assert unrestorable(Kind.ASSISTANT, live, same) == []
    other = {"name": "a", "copilot": {"ruleEngineConfig": {"rules": [{"id": "r", "k": 2}]}}}
    assert unrestorable(Kind.ASSISTANT, live, other) == [
        "copilot.ruleEngineConfig.rules[0].k",
        "x",
    ]
    assert list(unknown_changes(BINDING, {"mediaTypes": [], "n": 1}, None, "q")) == ["q.n"]
    assert unrestorable(Kind.ASSISTANT_QUEUES, {"q": {"mediaTypes": [], "n": 1}}, {}) == ["q.n"]
    assert list(unknown_changes(COPILOT, {"enabled": 1}, {"enabled": True})) == []


def test_between_tells_our_progress_from_someone_elses_change() -> None:
    """Each part at the baseline or at the target is a half-done write; anything else is drift."""
    baseline = {"name": "a", "copilot": {"enabled": False}, "q1": 1}
    target = {"name": "b", "copilot": {"enabled": True}}
    assert between(baseline, target, {"name": "b", "copilot": {"enabled": False}, "q1": 1})
    assert between(baseline, target, {"name": "a", "copilot": {"enabled": True}})
    assert not between(baseline, target, {"name": "c", "copilot": {"enabled": True}})
    assert not between(baseline, target, {"name": "b", "copilot": {"enabled": True}, "q1": 2})
    assert not between(baseline, target, {"name": "b", "copilot": {}, "q2": 1})
