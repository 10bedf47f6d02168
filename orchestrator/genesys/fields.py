"""The writable fields of each resource kind, their ranges, and the classic mistakes.

api.md sections 5 and 6 are the source. The loader checks a plan's ``set:``
with this module and the engine builds write bodies from it, so it depends on
nothing but :class:`orchestrator.models.Kind`.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Mapping
from types import MappingProxyType

from orchestrator.models import Kind

CONTENT_MAX_BYTES = 256 * 1024
NAME_MAX_CHARS = 200

WRITABLE: Mapping[Kind, tuple[str, ...]] = MappingProxyType(
    {
        Kind.AGENTASSIST_CONFIG: (
            "name",
            "description",
            "version",
            "deployed",
            "trafficPercent",
            "content",
        ),
        Kind.ASSISTANT: ("name", "state", "transcriptionConfig", "knowledgeSuggestionConfig"),
    }
)
"""Fields a write may carry, per kind, in the order the API documents them."""

READ_ONLY: Mapping[Kind, frozenset[str]] = MappingProxyType(
    {
        Kind.AGENTASSIST_CONFIG: frozenset(
            {"id", "dateCreated", "dateModified", "modifiedBy", "selfUri"}
        ),
        Kind.ASSISTANT: frozenset(
            {"id", "dateCreated", "dateModified", "createdBy", "modifiedBy", "selfUri"}
        ),
    }
)
"""Fields the server sets; equality of contents ignores them."""

ENGINE_MANAGED: frozenset[str] = frozenset({"version"})
"""Writable on the wire, but the engine sets them (a rollback writes current + 1)."""

ASSISTANT_STATES = ("Active", "Inactive")

# Names people reach for that the API does not have. The rollback words are not
# fields at all: what to roll back to is the item's `to:`.
_CLASSIC: Mapping[Kind, Mapping[str, str]] = MappingProxyType(
    {
        Kind.AGENTASSIST_CONFIG: {
            "trafficShift": "trafficPercent",
            "traffic_shift": "trafficPercent",
            "traffic": "trafficPercent",
            "traffic_percent": "trafficPercent",
            "enabled": "deployed",
            "active": "deployed",
        },
        Kind.ASSISTANT: {"status": "state", "enabled": "state", "active": "state"},
    }
)
_ROLLBACK_WORDS = frozenset({"versionRevert", "version_revert", "revert", "rollback"})


def suggest_field(kind: Kind, name: str) -> str | None:
    """The writable field of ``kind`` that ``name`` most likely meant, if any.

    A hand-made map catches the classic mistakes (``trafficShift`` means
    ``trafficPercent``); otherwise the closest writable name wins. The rollback
    words (``versionRevert``, ``revert``, ``rollback``) get no suggestion: they
    are not fields, see :func:`field_problem`.
    """
    if name in _ROLLBACK_WORDS:
        return None
    classic = _CLASSIC[kind].get(name)
    if classic is not None:
        return classic
    settable = [f for f in WRITABLE[kind] if f not in ENGINE_MANAGED]
    close = difflib.get_close_matches(name, settable, n=1, cutoff=0.6)
    return close[0] if close else None


def field_problem(kind: Kind, name: str) -> tuple[str, str | None] | None:
    """Why a plan may not ``set`` field ``name`` on ``kind``: (message, hint), or None."""
    if name in ENGINE_MANAGED:
        return (
            f"`{name}` is managed by the orchestrator, not set by a plan",
            "a rollback always writes the current version + 1; choose the content with `to:`",
        )
    if name in WRITABLE[kind]:
        return None
    if name in _ROLLBACK_WORDS:
        return ("not a field: a rollback target is given with `to:`", None)
    if name in READ_ONLY[kind]:
        return (f"read-only field of {kind}", "the server sets it")
    suggestion = suggest_field(kind, name)
    hint = f"did you mean {suggestion}?" if suggestion else None
    if hint is None:
        hint = "writable fields: " + ", ".join(f for f in WRITABLE[kind] if f not in ENGINE_MANAGED)
    return (f"unknown field of {kind}", hint)


def check_value(kind: Kind, field: str, value: object) -> str | None:
    """None if ``value`` is acceptable for ``field`` of ``kind``, else why not."""
    checker = _CHECKS.get((kind, field))
    if checker is None:
        return f"unknown field of {kind}"
    return checker(value)


def _show(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value[:60] + ("..." if len(value) > 60 else ""))
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return str(value)


def _name(value: object) -> str | None:
    if isinstance(value, str) and 1 <= len(value) <= NAME_MAX_CHARS and value.strip():
        return None
    return f"expected a non-blank string of 1..{NAME_MAX_CHARS} characters, got {_show(value)}"


def _string(value: object) -> str | None:
    return None if isinstance(value, str) else f"expected a string, got {_show(value)}"


def _version(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return None
    return f"expected an integer >= 1, got {_show(value)}"


def _boolean(value: object) -> str | None:
    return None if isinstance(value, bool) else f"expected true or false, got {_show(value)}"


def _percent(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100:
        return None
    return f"expected an integer 0..100, got {_show(value)}"


def _state(value: object) -> str | None:
    if value in ASSISTANT_STATES:
        return None
    return f'expected "Active" or "Inactive", got {_show(value)}'


def _json_object(limit: int | None) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if not isinstance(value, Mapping):
            return f"expected a JSON object (a mapping), got {_show(value)}"
        why = _not_json(value)
        if why:
            return why
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        if limit is not None and size > limit:
            return f"is {size} bytes as JSON; at most {limit} ({limit // 1024} KiB) are allowed"
        return None

    return check


def _not_json(value: object) -> str | None:
    """Why ``value`` cannot be sent as JSON unchanged, or None. Iterative: no depth limit."""
    pending: list[object] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, Mapping):
            if not all(isinstance(k, str) for k in item):
                return "is not JSON: object keys must be strings"
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
        elif isinstance(item, float) and not math.isfinite(item):
            return "is not JSON: NaN and infinities have no JSON form"
        elif not (item is None or isinstance(item, str | int | float)):
            kind = type(item).__name__
            return f"is not JSON: holds a {kind} (YAML reads unquoted times as such; quote them)"
    return None


_CHECKS: Mapping[tuple[Kind, str], Callable[[object], str | None]] = MappingProxyType(
    {
        (Kind.AGENTASSIST_CONFIG, "name"): _name,
        (Kind.AGENTASSIST_CONFIG, "description"): _string,
        (Kind.AGENTASSIST_CONFIG, "version"): _version,
        (Kind.AGENTASSIST_CONFIG, "deployed"): _boolean,
        (Kind.AGENTASSIST_CONFIG, "trafficPercent"): _percent,
        (Kind.AGENTASSIST_CONFIG, "content"): _json_object(CONTENT_MAX_BYTES),
        (Kind.ASSISTANT, "name"): _name,
        (Kind.ASSISTANT, "state"): _state,
        (Kind.ASSISTANT, "transcriptionConfig"): _json_object(None),
        (Kind.ASSISTANT, "knowledgeSuggestionConfig"): _json_object(None),
    }
)
