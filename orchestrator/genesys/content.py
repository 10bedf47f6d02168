"""Content: what "the same" means (canonical JSON, one hash) and how two differ.

Content is the server's answer minus its read-only fields and ``version``
(api.md sections 5 and 6), at every depth: not a whitelist of known fields,
so a field the orchestrator does not know is compared too and can never make
two different states look equal. Every comparison in the engine goes through
:func:`comparable` and :func:`content_hash`, so the planner, the worker, the
journal and the snapshot store agree on it byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.canonical import canonical as canonical  # re-exported for the kinds
from orchestrator.canonical import canonical_text, text_hash
from orchestrator.genesys.fields import BINDING, ENGINE_MANAGED, TABLES, strip, unknown_changes
from orchestrator.models import Kind


def comparable(kind: Kind, body: Mapping[str, Any]) -> dict[str, Any]:
    """The content of ``body``: everything but the read-only fields and ``version``.

    For ``assistant-queues`` the body is a listing (``{"entities": [...]}``,
    every page's entities together) and the content maps each queue id to
    its binding.
    """
    if kind is Kind.ASSISTANT_QUEUES:
        entities = body.get("entities")
        return bindings(entities if isinstance(entities, list) else [])
    content = strip(TABLES[kind].shape, body)
    return {k: v for k, v in content.items() if k not in ENGINE_MANAGED}


def bindings(entities: list[Any]) -> dict[str, Any]:
    """Queue id -> binding content, from ``AssistantQueue`` entities."""
    out: dict[str, Any] = {}
    for entity in entities:
        if not isinstance(entity, Mapping) or not isinstance(entity.get("id"), str):
            continue
        binding = strip(BINDING, entity)
        media = binding.get("mediaTypes")
        if isinstance(media, list):
            binding["mediaTypes"] = sorted(media, key=str)  # their order is not content
        out[entity["id"]] = binding
    return out


def unrestorable(kind: Kind, live: Mapping[str, Any], target: Mapping[str, Any]) -> list[str]:
    """Paths of fields the kind does not know whose values differ between ``live`` and ``target``.

    The orchestrator cannot promise to put such a field back (it may not be
    writable, or not by the request the kind sends), so an item with one is
    refused rather than written and reported as restored.
    """
    if kind is not Kind.ASSISTANT_QUEUES:
        return list(unknown_changes(TABLES[kind].shape, live, target))
    found: list[str] = []
    for queue in sorted(set(live) | set(target)):
        found += unknown_changes(BINDING, live.get(queue), target.get(queue), queue)
    return found


def between(
    baseline: Mapping[str, Any], target: Mapping[str, Any], live: Mapping[str, Any]
) -> bool:
    """Whether every top-level part of ``live`` is at ``baseline`` or at ``target``.

    A write that takes more than one request (an assistant and its copilot;
    bindings added and removed) can stop halfway. Such a state is our own
    progress, not someone else's drift: no part of it is anything but what
    planning saw or what the target says.
    """
    for key in set(baseline) | set(target) | set(live):
        now = canonical(live.get(key))
        if key in live and key in baseline and now == canonical(baseline[key]):
            continue
        if key in live and key in target and now == canonical(target[key]):
            continue
        if key not in live and (key not in baseline or key not in target):
            continue
        return False
    return True


def content_hash(fields: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of already-comparable ``fields``."""
    return text_hash(canonical_text(fields))


_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class Change:
    """One leaf that differs: ``path`` like ``content.rules[2].threshold``."""

    path: str
    before: Any
    after: Any

    @property
    def op(self) -> str:
        """``added``, ``removed`` or ``changed``."""
        if self.before is _MISSING:
            return "added"
        if self.after is _MISSING:
            return "removed"
        return "changed"

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Change:
        """The change :meth:`as_dict` wrote (as a saved plan keeps it)."""
        return cls(str(data["path"]), data.get("before", _MISSING), data.get("after", _MISSING))

    def as_dict(self) -> dict[str, Any]:
        """JSON form: ``before``/``after`` absent when added/removed."""
        out: dict[str, Any] = {"path": self.path, "op": self.op}
        if self.before is not _MISSING:
            out["before"] = self.before
        if self.after is not _MISSING:
            out["after"] = self.after
        return out


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[Change, ...]:
    """Every leaf-level change that turns ``before`` into ``after``."""
    return tuple(_walk("", before, after))


def _walk(path: str, a: Any, b: Any) -> Iterator[Change]:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{key}" if path else str(key)
            yield from _walk(sub, a.get(key, _MISSING), b.get(key, _MISSING))
    elif isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            yield from _walk(
                f"{path}[{i}]",
                a[i] if i < len(a) else _MISSING,
                b[i] if i < len(b) else _MISSING,
            )
    elif a != b or type(a) is not type(b):
        yield Change(path, a, b)


def render(change: Change, width: int = 60) -> str:
    """One human line: ``content.rules[2].threshold: 0.8 → 0.6``."""
    if change.op == "added":
        return f"+ {change.path}: {_short(change.after, width)}"
    if change.op == "removed":
        return f"- {change.path}: {_short(change.before, width)}"
    return f"~ {change.path}: {_short(change.before, width)} → {_short(change.after, width)}"


def _short(value: Any, width: int) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= width else text[: width - 1] + "…"
