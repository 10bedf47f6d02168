"""The fields of each resource kind: what is content, what a plan may ``set``, and why.

api.md sections 5 and 6 and the official SDK's models are the source; one
module per kind holds its table. The loader checks a plan's ``set:`` with
this package and the engine derives content from it, so it depends on
nothing but :class:`orchestrator.models.Kind`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType

from orchestrator.genesys.fields.assistant import (
    ASSISTANT,
    ASSISTANT_STATES,
    COPILOT,
    COPILOT_FIELD,
    IMMUTABLE_COPILOT,
)
from orchestrator.genesys.fields.checklist import CHECKLIST, CHECKLIST_ITEM
from orchestrator.genesys.fields.checks import NAME_MAX_CHARS
from orchestrator.genesys.fields.config import CONFIG, CONTENT_MAX_BYTES
from orchestrator.genesys.fields.queues import BINDING, MEDIA_TYPES, QUEUES
from orchestrator.genesys.fields.shape import Shape, strip, unknown_changes
from orchestrator.genesys.fields.table import KindFields
from orchestrator.models import Kind

TABLES: Mapping[Kind, KindFields] = MappingProxyType(
    {
        Kind.AGENTASSIST_CONFIG: CONFIG,
        Kind.ASSISTANT: ASSISTANT,
        Kind.ASSISTANT_QUEUES: QUEUES,
        Kind.AGENT_CHECKLIST: CHECKLIST,
    }
)

WRITABLE: Mapping[Kind, tuple[str, ...]] = MappingProxyType(
    {kind: tuple(table.settable) for kind, table in TABLES.items()}
)
"""Top-level fields a plan may ``set``, per kind, in the order the API documents them."""

READ_ONLY: Mapping[Kind, frozenset[str]] = MappingProxyType(
    {kind: frozenset(table.shape.read_only) for kind, table in TABLES.items()}
)
"""Top-level fields the server sets; content never holds them."""

ENGINE_MANAGED: frozenset[str] = frozenset({"version"})
"""Writable on the wire, but the engine sets them (a rollback writes current + 1)."""

_ROLLBACK_WORDS = frozenset({"versionRevert", "version_revert", "revert", "rollback"})
_KIND_HINTS: Mapping[Kind, Mapping[str, str]] = MappingProxyType(
    {
        Kind.ASSISTANT: {
            "queues": "an assistant's queue bindings are their own kind: kind: assistant-queues",
        },
    }
)


def suggest_field(kind: Kind, name: str) -> str | None:
    """The settable field of ``kind`` that ``name`` most likely meant, if any.

    A hand-made map catches the classic mistakes (``trafficShift`` means
    ``trafficPercent``); otherwise the closest settable name wins. The rollback
    words (``versionRevert``, ``revert``, ``rollback``) get no suggestion: they
    are not fields, see :func:`field_problem`.
    """
    if name in _ROLLBACK_WORDS:
        return None
    classic = TABLES[kind].classic.get(name)
    if classic is not None:
        return classic
    settable = [f for f in WRITABLE[kind] if f not in ENGINE_MANAGED]
    close = difflib.get_close_matches(name, settable, n=1, cutoff=0.6)
    return close[0] if close else None


def field_problem(kind: Kind, name: str) -> tuple[str, str | None] | None:
    """Why a plan may not ``set`` field ``name`` on ``kind``: (message, hint), or None."""
    if name in ENGINE_MANAGED and name in WRITABLE[kind]:
        return (
            f"`{name}` is managed by the orchestrator, not set by a plan",
            "a rollback always writes the current version + 1; choose the content with `to:`",
        )
    if name in WRITABLE[kind]:
        return None
    if name in _ROLLBACK_WORDS:
        return ("not a field: a rollback target is given with `to:`", None)
    if not WRITABLE[kind]:
        return (
            f"{kind} has no field a plan may set",
            "its content (the queue bindings) comes from the target alone",
        )
    if name in READ_ONLY[kind]:
        return (f"read-only field of {kind}", "the server sets it")
    hint = _KIND_HINTS.get(kind, {}).get(name)
    if hint is None and (suggestion := suggest_field(kind, name)) is not None:
        hint = f"did you mean {suggestion}?"
    if hint is None:
        hint = "writable fields: " + ", ".join(f for f in WRITABLE[kind] if f not in ENGINE_MANAGED)
    return (f"unknown field of {kind}", hint)


def check_value(kind: Kind, field: str, value: object) -> str | None:
    """None if ``value`` is acceptable for ``field`` of ``kind``, else why not."""
    checker = TABLES[kind].settable.get(field)
    if checker is None:
        return f"unknown field of {kind}"
    return checker(value)


__all__ = [
    "ASSISTANT_STATES",
    "BINDING",
    "CHECKLIST_ITEM",
    "CONTENT_MAX_BYTES",
    "COPILOT",
    "COPILOT_FIELD",
    "ENGINE_MANAGED",
    "IMMUTABLE_COPILOT",
    "MEDIA_TYPES",
    "NAME_MAX_CHARS",
    "READ_ONLY",
    "TABLES",
    "WRITABLE",
    "KindFields",
    "Shape",
    "check_value",
    "field_problem",
    "strip",
    "suggest_field",
    "unknown_changes",
]
