"""Rollout targets: ``to: {content: PATH}``, ``to: {from: {org, id}}`` and ``ids:``.

A content file is read and validated here, offline, against the kind's
writable fields exactly as ``set:`` is: each problem names the content file,
the key path inside it and the line. A golden org must be an org of the
plan's environment. Nothing here reads an org: ``from`` is resolved at
planning (``orchestrator.engine.sources``).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Collection
from pathlib import Path
from typing import Any

from orchestrator.genesys import fields
from orchestrator.models import IdMap, Kind, ToContent, ToFrom
from orchestrator.planfile.problems import Problems, describe, suggest
from orchestrator.planfile.yamlsafe import Map, Node, Scalar, Seq, join_key, read_yaml, to_python

CONTENT_MAX_BYTES = 4 * 1024 * 1024
REFERENCE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_ID_RULE = "ids are 1..128 letters, digits, '-', '_', '.' and ':'"
_FROM_KEYS = ("org", "id")


class Rollouts:
    """Reads the rollout forms of one plan; content files are read once each."""

    def __init__(
        self, plan_dir: Path, problems: Problems, org_names: Collection[str] | None
    ) -> None:
        self._dir = plan_dir
        self._problems = problems
        self._org_names = org_names  # None: the environment could not be read
        self._files: dict[Path, tuple[Problems, Node] | None] = {}
        self._checked: dict[tuple[Path, Kind], ToContent | None] = {}

    def content(self, node: Node, path: str, kind: Kind | None) -> ToContent | None:
        """``{content: PATH}``; checked for ``kind`` unless it is None (``defaults``)."""
        relative = self._problems.string(node, path)
        if relative is None:
            return None
        if not relative.strip():
            self._problems.add(node, path, 'expected the path of a JSON or YAML file, got ""')
            return None
        file = (self._dir / relative).resolve()
        if file not in self._files:
            self._files[file] = self._read(file, node, path, relative)
        if self._files[file] is None:
            return None
        unchecked = ToContent(path=file, fields={})
        return unchecked if kind is None else self.for_kind(unchecked, kind)

    def for_kind(self, to: ToContent, kind: Kind) -> ToContent | None:
        """The content file of ``to`` validated for ``kind`` (problems reported once)."""
        key = (to.path, kind)
        if key not in self._checked:
            read = self._files.get(to.path)
            self._checked[key] = None if read is None else _validated(to.path, kind, *read)
        return self._checked[key]

    def origin(self, node: Node, path: str) -> ToFrom | None:
        """``{from: {org: NAME, id: ID}}``: NAME must be an org of the environment."""
        mapping = self._problems.mapping(node, path)
        if mapping is None:
            return None
        self._problems.check_keys(mapping, path, _FROM_KEYS, required=_FROM_KEYS)
        if any(key not in mapping.entries for key in _FROM_KEYS):
            return None
        org_line, org_node = mapping.entries["org"]
        org = self._problems.string(org_node, join_key(path, "org"))
        rid = _reference(mapping.entries["id"][1], join_key(path, "id"), self._problems)
        if org is not None and self._org_names is not None and org not in self._org_names:
            hint = suggest(org, self._org_names) or "known orgs: " + ", ".join(self._org_names)
            message = f"unknown org {org!r}: the golden org must be an org of the environment"
            self._problems.add(org_line, join_key(path, "org"), message, hint)
            return None
        if org is None or rid is None:
            return None
        return ToFrom(org=org, id=rid)

    def _read(
        self, file: Path, node: Node, path: str, relative: str
    ) -> tuple[Problems, Node] | None:
        shown = os.path.normpath(self._dir / relative)
        try:
            info = file.stat()
            if not stat.S_ISREG(info.st_mode):
                raise ValueError("not a regular file")
            if info.st_size > CONTENT_MAX_BYTES:
                raise ValueError(f"larger than {CONTENT_MAX_BYTES // (1024 * 1024)} MiB")
            data = file.read_bytes()
        except (OSError, ValueError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self._problems.add(node, path, f"cannot read content file {shown}: {why}")
            return None
        problems = Problems(shown, self._problems.sink)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            problems.add(None, "", "not UTF-8", "save the file as UTF-8")
            return None
        root = read_yaml(text, problems.yaml_report)  # JSON is YAML: one reader for both
        if root is None:
            return None
        return problems, root


def _validated(file: Path, kind: Kind, problems: Problems, root: Node) -> ToContent | None:
    mapping = problems.mapping(root, "")
    if mapping is None:
        return None
    if not mapping.entries:
        problems.add(mapping, "", f"names no field of {kind} to put")
        return None
    before = len(problems.sink)
    if kind is Kind.ASSISTANT_QUEUES:
        content = _bindings(mapping, problems)
    else:
        content = _writable(mapping, kind, problems)
    if len(problems.sink) != before:
        return None
    return ToContent(path=file, fields=content)


def _writable(mapping: Map, kind: Kind, problems: Problems) -> dict[str, Any]:
    """The fields of a content file, each a writable field of ``kind`` (as ``set:``)."""
    content: dict[str, Any] = {}
    for name, (line, value_node) in mapping.entries.items():
        why = fields.field_problem(kind, name)
        if why is not None:
            problems.add(line, name, why[0], why[1])
            continue
        value = to_python(value_node)
        wrong = fields.check_value(kind, name, value)
        if wrong is not None:
            problems.add(value_node, name, wrong)
            continue
        content[name] = value
    return content


def _bindings(mapping: Map, problems: Problems) -> dict[str, Any]:
    """``{<queue id>: {mediaTypes: [...]}}``: the bindings an assistant-queues file puts."""
    content: dict[str, Any] = {}
    for queue, (line, node) in mapping.entries.items():
        if not REFERENCE_ID.fullmatch(queue):
            problems.add(
                line, join_key("", queue), f"queue id {queue!r} is not allowed: {_ID_RULE}"
            )
            continue
        binding = problems.mapping(node, queue)
        if binding is None:
            continue
        problems.check_keys(binding, queue, ("mediaTypes",), required=("mediaTypes",))
        if "mediaTypes" not in binding.entries:
            continue
        media = _media(binding.entries["mediaTypes"][1], join_key(queue, "mediaTypes"), problems)
        if media is not None:
            content[queue] = {"mediaTypes": media}
    return content


def _media(node: Node, path: str, problems: Problems) -> list[str] | None:
    if not isinstance(node, Seq) or not node.items:
        problems.add(node, path, f"expected a non-empty list of media types, got {describe(node)}")
        return None
    found: list[str] = []
    for item in node.items:
        value = item.value if isinstance(item, Scalar) else None
        if value not in fields.MEDIA_TYPES:
            wanted = ", ".join(fields.MEDIA_TYPES)
            problems.add(item, path, f"expected one of {wanted}, got {describe(item)}")
            return None
        found.append(str(value))
    return sorted(set(found))


def read_ids(node: Node, path: str, problems: Problems) -> IdMap | None:
    """``ids: {<id there>: <id here>, ..., keep: [<id>, ...]}``."""
    mapping = problems.mapping(node, path)
    if mapping is None:
        return None
    mapped: dict[str, str] = {}
    keep: set[str] = set()
    ok = True
    for there, (line, value) in mapping.entries.items():
        sub = join_key(path, there)
        if there == "keep":
            kept = _kept(value, sub, problems)
            ok = ok and kept is not None
            keep |= set(kept or ())
            continue
        if not REFERENCE_ID.fullmatch(there):
            problems.add(line, sub, f"id {there!r} is not allowed: {_ID_RULE}")
            ok = False
            continue
        here = _reference(value, sub, problems)
        ok = ok and here is not None
        if here is not None:
            mapped[there] = here
    both = sorted(keep & set(mapped))
    if both:
        problems.add(mapping, path, f"{both[0]} is both mapped and kept: say one")
        ok = False
    return IdMap(mapped=mapped, keep=frozenset(keep)) if ok else None


def _kept(node: Node, path: str, problems: Problems) -> list[str] | None:
    if not isinstance(node, Seq):
        problems.add(node, path, f"expected a list of ids, got {describe(node)}")
        return None
    found = [_reference(item, path, problems) for item in node.items]
    return None if any(i is None for i in found) else [i for i in found if i is not None]


def _reference(node: Node, path: str, problems: Problems) -> str | None:
    # A plain 12345 is an int to YAML but a perfectly good id: keep the text.
    if isinstance(node, Scalar) and node.value is not None and not isinstance(node.value, bool):
        text = node.text if node.plain else str(node.value)
        if REFERENCE_ID.fullmatch(text):
            return text
        problems.add(node, path, f"id {text[:60]!r} is not allowed: {_ID_RULE}")
        return None
    problems.add(node, path, f"expected an id (a string), got {describe(node)}")
    return None
