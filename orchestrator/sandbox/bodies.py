"""Which fields a write may carry, and what values they may hold (api.md 5, 6).

The sandbox keeps its own lists (it imports nothing of the orchestrator's
client side): they follow the official SDK's models, as the API does.

Shared by the PUT and PATCH handlers and by the seed loader, so a seed cannot
hold a body the API itself would refuse.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from orchestrator.sandbox.api_errors import bad_request, invalid_properties, invalid_values

CONFIG_WRITABLE = frozenset(
    {"name", "description", "version", "deployed", "trafficPercent", "content"}
)
CONFIG_READ_ONLY = frozenset({"id", "dateCreated", "dateModified", "modifiedBy", "selfUri"})
_CONFIG_OBJECTS = ("transcriptionConfig", "knowledgeSuggestionConfig", "googleDialogflowConfig")
ASSISTANT_WRITABLE = frozenset({"name", "state", *_CONFIG_OBJECTS})
ASSISTANT_READ_ONLY = frozenset(
    {"id", "dateCreated", "dateModified", "createdBy", "modifiedBy", "selfUri", "variationParent"}
)
_COPILOT_FLAGS = ("enabled", "liveOnQueue")
_COPILOT_OBJECTS = (
    "knowledgeAnswerConfig",
    "summaryGenerationConfig",
    "wrapupCodePredictionConfig",
    "answerGenerationConfig",
    "nluConfig",
    "ruleEngineConfig",
    "autoSearchConfig",
    "manualSearchConfig",
)
COPILOT_WRITABLE = frozenset(
    {*_COPILOT_FLAGS, "defaultLanguage", "nluEngineType", *_COPILOT_OBJECTS}
)
COPILOT_READ_ONLY = frozenset({"selfUri"})
NLU_ENGINES = ("NluV3",)
AUTO_SEARCH_TYPES = ("ArticlesOnly", "ArticlesWithAnswerHighlights", "AnswerGeneration")
MEDIA_TYPES = ("call", "callback", "chat", "email", "message")
BINDING_READ_ONLY = frozenset({"assistant", "dateCreated", "dateModified", "selfUri"})
CHECKLIST_WRITABLE = frozenset({"name", "language", "checklistItems"})
CHECKLIST_READ_ONLY = frozenset(
    {"id", "createdBy", "modifiedBy", "dateCreated", "dateModified", "selfUri"}
)
ITEM_FLAGS = ("automatedCheckEnabled", "exactPhraseMatch", "important")
ITEM_WRITABLE = frozenset({"id", "name", "description", *ITEM_FLAGS})
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
    for key in _CONFIG_OBJECTS:  # null removes one
        if key in fields and not isinstance(fields[key], dict | None):
            yield key, "must be a JSON object"


def _checked(problems: Iterator[tuple[str, str]], fields: dict[str, Any]) -> dict[str, Any]:
    found = list(problems)
    if found:
        raise invalid_values(found)
    return fields


def assistant_fields(body: object, extra: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The writable fields of an assistant PATCH body, checked (``copilot`` has its own PUT).

    Raises:
        ApiFailure: 400 bad.request, invalid.property or invalid.value.
    """
    fields = _writable(body, ASSISTANT_WRITABLE | extra, ASSISTANT_READ_ONLY)
    return _checked(_assistant_problems(fields), fields)


def _copilot_problems(
    fields: dict[str, Any], current: Mapping[str, Any] | None
) -> Iterator[tuple[str, str]]:
    for key in _COPILOT_FLAGS:
        if key in fields and not isinstance(fields[key], bool):
            yield key, "must be true or false"
    for key in _COPILOT_OBJECTS:
        if key in fields and not isinstance(fields[key], dict):
            yield key, "must be a JSON object"
    if "nluEngineType" in fields and fields["nluEngineType"] not in NLU_ENGINES:
        yield "nluEngineType", "must be one of " + ", ".join(NLU_ENGINES)
    auto = fields.get("autoSearchConfig")
    if isinstance(auto, dict) and auto.get("type", AUTO_SEARCH_TYPES[0]) not in AUTO_SEARCH_TYPES:
        yield "autoSearchConfig.type", "must be one of " + ", ".join(AUTO_SEARCH_TYPES)
    language = fields.get("defaultLanguage")
    if language is not None and not isinstance(language, str):
        yield "defaultLanguage", "must be a string"
    was = (current or {}).get("defaultLanguage")
    if was is not None and language != was:
        yield "defaultLanguage", f"cannot be modified once set (it is {was})"


def copilot_fields(
    body: object, current: Mapping[str, Any] | None, extra: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """A copilot PUT body (a full replace), checked against the copilot it replaces.

    Raises:
        ApiFailure: 400 bad.request, invalid.property or invalid.value.
    """
    fields = _writable(body, COPILOT_WRITABLE | extra, COPILOT_READ_ONLY)
    return _checked(_copilot_problems(fields, current), fields)


def _media_problem(media: object) -> str | None:
    if not isinstance(media, list) or not media:
        return "must be a non-empty list"
    if len(set(map(str, media))) != len(media):
        return "must not repeat a media type"
    if any(m not in MEDIA_TYPES for m in media):
        return "must be among " + ", ".join(MEDIA_TYPES)
    return None


def bindings(body: object, queues: Mapping[str, str]) -> dict[str, list[str]]:
    """Queue id -> media types from a PATCH body (a list of ``AssistantQueue``), checked.

    Raises:
        ApiFailure: 400 bad.request, invalid.property or invalid.value.
    """
    if not isinstance(body, list) or not body:
        raise bad_request("The request body must be a non-empty JSON array of AssistantQueue")
    out: dict[str, list[str]] = {}
    problems: list[tuple[str, str]] = []
    for index, entry in enumerate(body):
        fields = _writable(entry, frozenset({"id", "mediaTypes"}), BINDING_READ_ONLY)
        queue = fields.get("id")
        if not isinstance(queue, str) or queue not in queues:
            problems.append((f"[{index}].id", "must be the id of a queue of this org"))
        elif queue in out:
            problems.append((f"[{index}].id", "appears twice"))
        elif (why := _media_problem(fields.get("mediaTypes"))) is not None:
            problems.append((f"[{index}].mediaTypes", why))
        else:
            out[queue] = list(fields["mediaTypes"])
    if problems:
        raise invalid_values(problems)
    return out


def _checklist_problems(fields: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for key in ("name", "language"):
        if (why := _name_problem(fields.get(key))) is not None:
            yield key, why
    items = fields.get("checklistItems")
    if not isinstance(items, list):
        yield "checklistItems", "must be a list"
        return
    for index, item in enumerate(items):
        where = f"checklistItems[{index}]"
        unknown = sorted(set(item) - ITEM_WRITABLE - {"selfUri"}) if isinstance(item, dict) else []
        if not isinstance(item, dict) or unknown:
            yield where, "must be an object of " + ", ".join(sorted(ITEM_WRITABLE))
        elif (why := _name_problem(item.get("name"))) is not None:
            yield f"{where}.name", why
        elif any(k in item and not isinstance(item[k], bool) for k in ITEM_FLAGS):
            yield where, ", ".join(ITEM_FLAGS) + " must be true or false"


def checklist_fields(
    body: object, checklist_id: str, extra: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """An agent checklist PUT body (name, language, items; all required), checked.

    Raises:
        ApiFailure: 400 bad.request (an ``id`` other than the path's),
            invalid.property or invalid.value.
    """
    if isinstance(body, dict) and body.get("id", checklist_id) != checklist_id:
        raise bad_request(f"The body's id does not match the path's ({checklist_id})")
    fields = _writable(body, CHECKLIST_WRITABLE | extra, CHECKLIST_READ_ONLY)
    items = fields.get("checklistItems")
    if isinstance(items, list):  # an item's selfUri is derived by the server: ignored
        fields["checklistItems"] = [
            {k: v for k, v in i.items() if k != "selfUri"} if isinstance(i, dict) else i
            for i in items
        ]
    return _checked(_checklist_problems(fields), fields)
