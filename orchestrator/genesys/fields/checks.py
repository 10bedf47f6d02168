"""Value checks for ``set:``: each says what it expected and what it got, or None."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping

NAME_MAX_CHARS = 200

Check = Callable[[object], str | None]


def show(value: object) -> str:
    """A value as a message quotes it, short."""
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


def name(value: object) -> str | None:
    """A display name: 1..200 characters, not blank."""
    if isinstance(value, str) and 1 <= len(value) <= NAME_MAX_CHARS and value.strip():
        return None
    return f"expected a non-blank string of 1..{NAME_MAX_CHARS} characters, got {show(value)}"


def string(value: object) -> str | None:
    """Any string."""
    return None if isinstance(value, str) else f"expected a string, got {show(value)}"


def version(value: object) -> str | None:
    """A version number."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return None
    return f"expected an integer >= 1, got {show(value)}"


def boolean(value: object) -> str | None:
    """true or false (never 1, never "true")."""
    return None if isinstance(value, bool) else f"expected true or false, got {show(value)}"


def percent(value: object) -> str | None:
    """An integer 0..100."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100:
        return None
    return f"expected an integer 0..100, got {show(value)}"


def one_of(*choices: str) -> Check:
    """Exactly one of ``choices`` (case matters: the API's enums are exact)."""
    wanted = " or ".join(json.dumps(c) for c in choices)

    def check(value: object) -> str | None:
        return None if value in choices else f"expected {wanted}, got {show(value)}"

    return check


def json_object(limit: int | None) -> Check:
    """A JSON object, at most ``limit`` bytes serialized (None: no limit)."""

    def check(value: object) -> str | None:
        if not isinstance(value, Mapping):
            return f"expected a JSON object (a mapping), got {show(value)}"
        why = not_json(value)
        if why:
            return why
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        if limit is not None and size > limit:
            return f"is {size} bytes as JSON; at most {limit} ({limit // 1024} KiB) are allowed"
        return None

    return check


def list_of_objects(required: str) -> Check:
    """A JSON list of objects, each with a string field ``required``."""

    def check(value: object) -> str | None:
        if not isinstance(value, list | tuple):
            return f"expected a list of mappings, got {show(value)}"
        for index, entry in enumerate(value):
            if not isinstance(entry, Mapping) or not isinstance(entry.get(required), str):
                return f"entry {index} must be a mapping with a string `{required}`"
        return not_json(value)

    return check


def not_json(value: object) -> str | None:
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
