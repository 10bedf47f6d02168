"""The JSON Schema of the rollout forms: ``to: {content: ...}``, ``to: {from: ...}``, ``ids:``."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

_NAME = r"^[A-Za-z0-9._-]+$"
_REFERENCE_ID = r"^[A-Za-z0-9_.:-]{1,128}$"
_MAPPED_ID = r"^(?!keep$)[A-Za-z0-9_.:-]{1,128}$"  # every key but `keep` is an id there


def _obj(description: str, properties: Schema, required: list[str]) -> Schema:
    return {
        "description": description,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def rollout_forms() -> list[Schema]:
    """The two ``to:`` forms whose content comes from elsewhere."""
    golden = {
        "org": {
            "description": "An org of the environment.",
            "type": "string",
            "pattern": _NAME,
        },
        "id": {"description": "The golden item's id there.", "type": "string", "minLength": 1},
    }
    return [
        _obj(
            "Rollout: the writable fields in a JSON or YAML file (path relative to the plan "
            "file), validated like `set`; the fields it does not name stay as they are.",
            {
                "content": {
                    "description": "The file: its top-level keys are writable fields of the "
                    "item's kind (assistant-queues: <queue id>: {mediaTypes: [...]}).",
                    "type": "string",
                    "minLength": 1,
                }
            },
            required=["content"],
        ),
        _obj(
            "Rollout: the live content of the item of the same kind in a golden org, read "
            "once at planning and journaled (its `name` is not copied).",
            {"from": _obj("The golden item.", golden, required=["org", "id"])},
            required=["from"],
        ),
    ]


def ids_schema() -> Schema:
    """``ids:`` beside ``to:`` (on an item, a target or in ``defaults``)."""
    ref = {"type": "string", "pattern": _REFERENCE_ID}
    return {
        "description": "References of rolled-out content: <id there>: <id here>, or keep: "
        "[<id>, ...] for ids valid here as they are. An unmapped reference refuses the item.",
        "type": "object",
        "properties": {
            "keep": {"description": "Ids kept as they are.", "type": "array", "items": ref},
        },
        "patternProperties": {_MAPPED_ID: ref},
        "additionalProperties": False,
    }
