"""What the orchestrator knows of a JSON object: which fields it restores, which the server owns.

A kind's content is the server's answer minus its read-only fields, not a
whitelist of the fields the orchestrator knows: a field nobody told it about
is still compared, so a change in it can never hide behind "every known field
is equal". What a :class:`Shape` adds is the knowledge needed to *restore*
safely: a field that is neither known nor read-only, and differs between the
live state and the target, is one the orchestrator cannot promise to put back
(:func:`unknown_changes` finds them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class Shape:
    """The known fields of one JSON object (or of every object of a list of them).

    ``fields`` are compared and restored; a ``None`` shape is a leaf the
    orchestrator compares and restores whole (a scalar, a list of scalars, a
    free-form map). ``read_only`` maps each field the server sets to the
    reason it is not content.
    """

    fields: Mapping[str, Shape | None]
    read_only: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def shape(fields: Mapping[str, Shape | None], read_only: Mapping[str, str] | None = None) -> Shape:
    """A :class:`Shape` whose tables cannot be changed afterwards."""
    return Shape(MappingProxyType(dict(fields)), MappingProxyType(dict(read_only or {})))


def strip(of: Shape | None, value: Any) -> Any:
    """``value`` without the read-only fields ``of`` names, at every depth (new objects)."""
    if of is None:
        return value
    if isinstance(value, list):
        return [strip(of, v) for v in value]
    if not isinstance(value, Mapping):
        return value
    return {k: strip(of.fields.get(k), v) for k, v in value.items() if k not in of.read_only}


def unknown_changes(of: Shape | None, live: Any, target: Any, path: str = "") -> Iterator[str]:
    """Paths of fields neither known nor read-only whose values differ in ``live`` and ``target``.

    A field absent on one side and present on the other differs. Lists are
    compared element by element, so an unknown field of a rule the target
    lacks is reported too.
    """
    if of is None:
        return
    if isinstance(live, list) or isinstance(target, list):
        yield from _unknown_in_lists(of, live, target, path)
        return
    left: Mapping[str, Any] = live if isinstance(live, Mapping) else {}
    right: Mapping[str, Any] = target if isinstance(target, Mapping) else {}
    for key in sorted(set(left) | set(right)):
        if key in of.read_only:
            continue
        sub = f"{path}.{key}" if path else key
        a, b = left.get(key, _MISSING), right.get(key, _MISSING)
        if key in of.fields:
            yield from unknown_changes(of.fields[key], a, b, sub)
        elif _json(a) != _json(b):
            yield sub


def _unknown_in_lists(of: Shape, live: Any, target: Any, path: str) -> Iterator[str]:
    left: list[Any] = live if isinstance(live, list) else []
    right: list[Any] = target if isinstance(target, list) else []
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else _MISSING
        b = right[i] if i < len(right) else _MISSING
        yield from unknown_changes(of, a, b, f"{path}[{i}]")


def _json(value: Any) -> str | None:
    # Canonical JSON tells true from 1 and 1 from 1.0, as the content hash does.
    return None if value is _MISSING else json.dumps(value, sort_keys=True)
