"""Content: what "the same" means (writable fields, canonical JSON, one hash) and how two differ.

Content equality ignores ``version`` and the read-only fields (api.md section
5). Every comparison in the engine goes through :func:`comparable` and
:func:`content_hash`, so the planner, the worker, the journal and the
snapshot store agree on it byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.genesys.fields import WRITABLE
from orchestrator.models import Kind


def canonical(value: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def comparable(kind: Kind, body: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``body`` that define its content (writable, minus ``version``)."""
    return {k: body[k] for k in WRITABLE[kind] if k != "version" and k in body}


def content_hash(fields: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of already-comparable ``fields``."""
    return hashlib.sha256(canonical(fields)).hexdigest()


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
