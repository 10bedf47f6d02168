"""Which fields a write may carry, and what values they may hold (api.md 5, 6).

Shared by the PUT and PATCH handlers and by the seed loader, so a seed cannot
hold a body the API itself would refuse.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from orchestrator.sandbox.api_errors import bad_request, invalid_properties, invalid_values

CONFIG_WRITABLE = frozenset(
    {"name", "description", "version", "deployed", "trafficPercent", "content"}
)
CONFIG_READ_ONLY = frozenset({"id", "dateCreated", "dateModified", "modifiedBy", "selfUri"})
ASSISTANT_WRITABLE = frozenset(
    {"name", "state", "transcriptionConfig", "knowledgeSuggestionConfig"}
)
ASSISTANT_READ_ONLY = frozenset(
    {"id", "dateCreated", "dateModified", "createdBy", "modifiedBy", "selfUri"}
)
ASSISTANT_STATES = ("Active", "Inactive")
MAX_CONTENT_BYTES = 256 * 1024
MAX_NAME = 200


def _writable(body: object, writable: frozenset[str], read_only: frozenset[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    unknown = [k for k in body if k not in writable and k not in read_only]
    if unknown:
        raise invalid_properties(unknown)
    # Read-only fields are ignored, as the API documents: a client may send
    # back what it read.
    return {k: v for k, v in body.items() if k in writable}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _name_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if not 1 <= len(value) <= MAX_NAME:
        return f"must be 1 to {MAX_NAME} characters"
    return None


def content_size(content: object) -> int:
    """Bytes of ``content`` serialized compactly, as the 256 KiB limit counts."""
    return len(json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode())


def _config_problems(fields: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if "name" not in fields:
        yield "name", "is required"
    elif (why := _name_problem(fields["name"])) is not None:
        yield "name", why
    if "version" not in fields:
        yield "version", "is required"
    elif not _is_int(fields["version"]) or fields["version"] < 1:
        yield "version", "must be a positive integer"
    if "description" in fields and not isinstance(fields["description"], str):
        yield "description", "must be a string"
    if "deployed" in fields and not isinstance(fields["deployed"], bool):
        yield "deployed", "must be true or false"
    if "trafficPercent" in fields:
        value = fields["trafficPercent"]
        if not _is_int(value) or not 0 <= value <= 100:
            yield "trafficPercent", "must be an integer from 0 to 100"
    if "content" in fields:
        if not isinstance(fields["content"], dict):
            yield "content", "must be a JSON object"
        elif content_size(fields["content"]) > MAX_CONTENT_BYTES:
            yield "content", f"must be at most {MAX_CONTENT_BYTES} bytes serialized"


def config_fields(body: object) -> dict[str, Any]:
    """The writable fields of an agentassist-config PUT body, checked.

    Raises:
        ApiFailure: 400 bad.request, invalid.property or invalid.value.
    """
    fields = _writable(body, CONFIG_WRITABLE, CONFIG_READ_ONLY)
    problems = list(_config_problems(fields))
    if problems:
        raise invalid_values(problems)
    return fields


def _assistant_problems(fields: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if "name" in fields and (why := _name_problem(fields["name"])) is not None:
        yield "name", why
    if "state" in fields and fields["state"] not in ASSISTANT_STATES:
        yield "state", "must be Active or Inactive"
    for key in ("transcriptionConfig", "knowledgeSuggestionConfig"):
        if key in fields and not isinstance(fields[key], dict):
            yield key, "must be a JSON object"


def assistant_fields(body: object) -> dict[str, Any]:
    """The writable fields of an assistant PATCH body, checked.

    Raises:
        ApiFailure: 400 bad.request, invalid.property or invalid.value.
    """
    fields = _writable(body, ASSISTANT_WRITABLE, ASSISTANT_READ_ONLY)
    problems = list(_assistant_problems(fields))
    if problems:
        raise invalid_values(problems)
    return fields
