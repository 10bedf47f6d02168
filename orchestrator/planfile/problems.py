"""Every problem of one file, collected while its YAML tree is read.

The getters record a problem and return None instead of raising, so one pass
over a file finds everything wrong with it. A node that already has a problem
gets no second one: a wrong value shared through an alias, or a ``defaults:``
entry inherited by a thousand items, is reported once, where it is written.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import date

from orchestrator.errors import Problem
from orchestrator.planfile.yamlsafe import Map, Node, Scalar, Seq, join_key


def suggest(word: str, choices: Collection[str]) -> str | None:
    """A did-you-mean hint for ``word`` among ``choices``, or None."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]}?" if close else None


def describe(node: Node | object) -> str:
    """How a value appears in a message: ``"text"``, ``4``, ``true``, ``a list``."""
    if isinstance(node, Map):
        return "a mapping"
    if isinstance(node, Seq):
        return "a list"
    value = node.value if isinstance(node, Scalar) else node
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class Problems:
    """Collects located problems of one file into a shared list."""

    def __init__(self, file: str, sink: list[Problem]) -> None:
        self.file = file
        self.sink = sink

    def add(self, at: Node | int | None, path: str, message: str, hint: str | None = None) -> None:
        """Record a problem at a node (skipped if it already has one) or a line."""
        if isinstance(at, Node):
            if at.reported:
                return
            at.reported = True
            at = at.line
        self.sink.append(Problem(file=self.file, path=path, message=message, line=at, hint=hint))

    def yaml_report(self, line: int | None, path: str, message: str, hint: str | None) -> None:
        """The :data:`orchestrator.planfile.yamlsafe.Report` callback."""
        self.add(line, path, message, hint)

    def check_keys(
        self,
        mapping: Map,
        path: str,
        allowed: Collection[str],
        *,
        required: Sequence[str] = (),
        hints: Mapping[str, str] | None = None,
    ) -> None:
        """Unknown keys (with did-you-mean) and missing required ones."""
        for key, (line, _) in mapping.entries.items():
            if key not in allowed:
                hint = (hints or {}).get(key) or suggest(key, allowed)
                self.add(line, join_key(path, key), "unknown key", hint)
        for key in required:
            if key not in mapping.entries:
                self.add(mapping.line, path, f"missing required key `{key}`")

    def mapping(self, node: Node, path: str) -> Map | None:
        """``node`` if it is a mapping."""
        if isinstance(node, Map):
            return node
        empty = isinstance(node, Scalar) and node.value is None
        hint = "remove the key, or write {} for an empty mapping" if empty and path else None
        self.add(node, path, f"expected a mapping, got {describe(node)}", hint)
        return None

    def sequence(self, node: Node, path: str) -> Seq | None:
        """``node`` if it is a non-empty list."""
        if isinstance(node, Seq) and node.items:
            return node
        got = "an empty list" if isinstance(node, Seq) else describe(node)
        self.add(node, path, f"expected a non-empty list, got {got}")
        return None

    def string(
        self, node: Node, path: str, *, pattern: re.Pattern[str] | None = None, rule: str = ""
    ) -> str | None:
        """``node``'s string, matching ``pattern`` in full if given (``rule`` says how)."""
        if not isinstance(node, Scalar) or not isinstance(node.value, str):
            self.add(node, path, f"expected a string, got {describe(node)}")
            return None
        if pattern is not None and not pattern.fullmatch(node.value):
            self.add(node, path, f"{describe(node)} is not allowed: {rule}")
            return None
        return node.value

    def integer(
        self, node: Node, path: str, *, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        """``node``'s integer within [minimum, maximum]; a boolean is not an integer."""
        value = node.value if isinstance(node, Scalar) else None
        if isinstance(value, int) and not isinstance(value, bool):
            low_ok = minimum is None or value >= minimum
            if low_ok and (maximum is None or value <= maximum):
                return value
        wanted = "an integer"
        if minimum is not None and maximum is not None:
            wanted += f" {minimum}..{maximum}"
        elif minimum is not None:
            wanted += f" >= {minimum}"
        self.add(node, path, f"expected {wanted}, got {describe(node)}")
        return None

    def boolean(self, node: Node, path: str) -> bool | None:
        """``node``'s boolean: only ``true`` or ``false``."""
        if isinstance(node, Scalar) and isinstance(node.value, bool):
            return node.value
        self.add(node, path, f"expected true or false, got {describe(node)}")
        return None

    def choice(self, node: Node, path: str, choices: Sequence[str]) -> str | None:
        """``node``'s string if it is one of ``choices``, with did-you-mean otherwise."""
        if isinstance(node, Scalar) and node.value in choices:
            return str(node.value)
        listed = " or ".join(choices)
        hint = suggest(node.text, choices) if isinstance(node, Scalar) and node.text else None
        self.add(node, path, f"expected {listed}, got {describe(node)}", hint)
        return None
