"""Writable fields, ranges and the classic mistakes (api.md 5 and 6)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from orchestrator.genesys import fields
from orchestrator.genesys.fields import (
    READ_ONLY,
    WRITABLE,
    check_value,
    field_problem,
    suggest_field,
)
from orchestrator.models import Kind

CONFIG, ASSISTANT = Kind.AGENTASSIST_CONFIG, Kind.ASSISTANT


def test_writable_and_read_only_fields_follow_the_api() -> None:
    """The field lists are exactly those of api.md sections 5 and 6."""
    assert WRITABLE[CONFIG] == (
        "name",
        "description",
        "version",
        "deployed",
        "trafficPercent",
        "content",
    )
    assert WRITABLE[ASSISTANT] == (
        "name",
        "state",
        "transcriptionConfig",
        "knowledgeSuggestionConfig",
        "googleDialogflowConfig",
        "copilot",
    )
    assert WRITABLE[Kind.ASSISTANT_QUEUES] == ()
    assert WRITABLE[Kind.AGENT_CHECKLIST] == ("name", "language", "checklistItems")
    assert READ_ONLY[CONFIG] == {"id", "dateCreated", "dateModified", "modifiedBy", "selfUri"}
    assert READ_ONLY[ASSISTANT] == READ_ONLY[CONFIG] | {"createdBy", "variationParent"}
    assert READ_ONLY[Kind.AGENT_CHECKLIST] == READ_ONLY[CONFIG] | {"createdBy"}
    assert {"version"} == fields.ENGINE_MANAGED


def test_the_package_depends_only_on_plan_kind() -> None:
    """The engine imports the fields package: it stays free of loader and third-party imports."""
    imported: set[str] = set()
    for module in Path(fields.__file__).parent.glob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        imported |= {
            (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
    ours = {name for name in imported if name.startswith("orchestrator")}
    assert ours - {"orchestrator.genesys.fields"} == {
        "orchestrator.models",
        "orchestrator.genesys.fields.assistant",
        "orchestrator.genesys.fields.checklist",
        "orchestrator.genesys.fields.checks",
        "orchestrator.genesys.fields.config",
        "orchestrator.genesys.fields.queues",
        "orchestrator.genesys.fields.shape",
        "orchestrator.genesys.fields.table",
    }
    assert "yaml" not in imported


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        (CONFIG, "name", "Billing"),
        (CONFIG, "name", "x" * 200),
        (CONFIG, "description", ""),
        (CONFIG, "version", 7),
        (CONFIG, "deployed", False),
        (CONFIG, "trafficPercent", 0),
        (CONFIG, "trafficPercent", 100),
        (CONFIG, "content", {"rules": [{"id": "a", "minConfidence": 0.7, "on": None}]}),
        (ASSISTANT, "name", "Billing assistant"),
        (ASSISTANT, "state", "Inactive"),
        (ASSISTANT, "transcriptionConfig", {"vendorName": "Genesys"}),
        (ASSISTANT, "knowledgeSuggestionConfig", {}),
        (ASSISTANT, "copilot", {"enabled": True, "defaultLanguage": "en-US"}),
        (ASSISTANT, "googleDialogflowConfig", {"integrationId": "i"}),
        (Kind.AGENT_CHECKLIST, "language", "en-US"),
        (Kind.AGENT_CHECKLIST, "checklistItems", [{"name": "Greet"}]),
    ],
)
def test_acceptable_values(kind: Kind, field: str, value: object) -> None:
    """Values inside the documented ranges pass."""
    assert check_value(kind, field, value) is None


@pytest.mark.parametrize(
    ("kind", "field", "value", "why"),
    [
        (CONFIG, "name", "", "1..200"),
        (CONFIG, "name", "x" * 201, "1..200"),
        (CONFIG, "name", "   ", "non-blank"),
        (CONFIG, "description", 5, "expected a string, got 5"),
        (CONFIG, "version", 0, ">= 1"),
        (CONFIG, "version", True, ">= 1"),
        (CONFIG, "deployed", "true", 'got "true"'),
        (CONFIG, "deployed", 1, "expected true or false"),
        (CONFIG, "trafficPercent", 101, "0..100"),
        (CONFIG, "trafficPercent", -1, "0..100"),
        (CONFIG, "trafficPercent", 50.5, "0..100"),
        (CONFIG, "trafficPercent", False, "0..100"),
        (CONFIG, "content", [], "JSON object"),
        (CONFIG, "content", {"a": float("nan")}, "NaN"),
        (CONFIG, "content", {1: "a"}, "keys must be strings"),
        (CONFIG, "content", {"a": {1, 2}}, "holds a set"),
        (CONFIG, "content", {"big": "x" * (256 * 1024)}, "at most 262144"),
        (CONFIG, "state", "Active", "unknown field"),
        (ASSISTANT, "state", "active", '"Active" or "Inactive"'),
        (ASSISTANT, "transcriptionConfig", "Genesys", "JSON object"),
        (ASSISTANT, "deployed", True, "unknown field of assistant"),
        (ASSISTANT, "copilot", [], "JSON object"),
        (Kind.AGENT_CHECKLIST, "checklistItems", [{"description": "x"}], "string `name`"),
        (Kind.AGENT_CHECKLIST, "checklistItems", {"name": "x"}, "list of mappings"),
        (Kind.ASSISTANT_QUEUES, "mediaTypes", ["call"], "unknown field of assistant-queues"),
    ],
)
def test_values_out_of_range(kind: Kind, field: str, value: object, why: str) -> None:
    """Values outside the documented ranges get a message saying what is expected."""
    message = check_value(kind, field, value)
    assert message is not None
    assert why in message


def test_content_limit_is_on_the_serialized_size() -> None:
    """256 KiB of compact JSON pass; one byte more does not."""
    overhead = len(json.dumps({"a": ""}, separators=(",", ":")))
    at_limit = {"a": "x" * (fields.CONTENT_MAX_BYTES - overhead)}
    assert check_value(CONFIG, "content", at_limit) is None
    assert check_value(CONFIG, "content", {"a": at_limit["a"] + "x"}) is not None


@pytest.mark.parametrize(
    ("kind", "name", "suggestion"),
    [
        (CONFIG, "trafficShift", "trafficPercent"),
        (CONFIG, "traffic_shift", "trafficPercent"),
        (CONFIG, "traffic", "trafficPercent"),
        (CONFIG, "enabled", "deployed"),
        (CONFIG, "active", "deployed"),
        (CONFIG, "trafficPercnt", "trafficPercent"),
        (CONFIG, "descripton", "description"),
        (CONFIG, "versionRevert", None),
        (CONFIG, "revert", None),
        (CONFIG, "rollback", None),
        (CONFIG, "colour", None),
        (ASSISTANT, "status", "state"),
        (ASSISTANT, "nmae", "name"),
        (ASSISTANT, "transcription", "transcriptionConfig"),
    ],
)
def test_suggest_field(kind: Kind, name: str, suggestion: str | None) -> None:
    """The hand-made map catches the classics; difflib the typos; never `version`."""
    assert suggest_field(kind, name) == suggestion


@pytest.mark.parametrize(
    ("kind", "name", "problem"),
    [
        (
            CONFIG,
            "trafficShift",
            ("unknown field of agentassist-config", "did you mean trafficPercent?"),
        ),
        (CONFIG, "versionRevert", ("not a field: a rollback target is given with `to:`", None)),
        (ASSISTANT, "rollback", ("not a field: a rollback target is given with `to:`", None)),
        (ASSISTANT, "status", ("unknown field of assistant", "did you mean state?")),
        (
            ASSISTANT,
            "queues",
            (
                "unknown field of assistant",
                "an assistant's queue bindings are their own kind: kind: assistant-queues",
            ),
        ),
        (ASSISTANT, "variationParent", ("read-only field of assistant", "the server sets it")),
        (
            Kind.ASSISTANT_QUEUES,
            "mediaTypes",
            (
                "assistant-queues has no field a plan may set",
                "its content (the queue bindings) comes from the target alone",
            ),
        ),
        (
            Kind.AGENT_CHECKLIST,
            "items",
            ("unknown field of agent-checklist", "did you mean checklistItems?"),
        ),
        (CONFIG, "selfUri", ("read-only field of agentassist-config", "the server sets it")),
    ],
)
def test_field_problem(kind: Kind, name: str, problem: tuple[str, str | None]) -> None:
    """Why a plan may not set a field: message and hint."""
    assert field_problem(kind, name) == problem


def test_version_is_managed_by_the_engine() -> None:
    """`version` is writable on the wire, but a plan may not set it."""
    problem = field_problem(CONFIG, "version")
    assert problem is not None
    assert "managed by the orchestrator" in problem[0]
    assert field_problem(CONFIG, "trafficPercent") is None
