"""An item's ``to:``: which content a rollback restores or a rollout puts (plan.md)."""

from __future__ import annotations

from orchestrator.models import Kind, To, ToBefore, ToPrevious, ToSnapshot, ToVersion
from orchestrator.planfile.problems import Problems, describe, suggest
from orchestrator.planfile.rollout import Rollouts
from orchestrator.planfile.yamlsafe import Map, Node, Scalar, join_key
from orchestrator.timestamps import parse_instant

TO_FORMS = 'expected a version number, "previous", {before: <time>} or {snapshot: <time>}'
ALL_FORMS = (
    'expected a version number, "previous", {before: <time>}, {snapshot: <time>},'
    " {content: <file>} or {from: {org: <org>, id: <id>}}"
)
_MAP_FORMS = ("before", "snapshot", "content", "from")
ASSISTANT_FORMS = (
    "use {snapshot: <time>} (newest snapshot at or before it) "
    "or {before: <time>} (newest snapshot strictly before it)"
)
# Kinds whose server keeps no history: their old content exists only in the snapshot store.
SNAPSHOT_ONLY = {
    Kind.ASSISTANT: "an assistant has",
    Kind.ASSISTANT_QUEUES: "an assistant's queue bindings have",
    Kind.AGENT_CHECKLIST: "an agent checklist has",
}


def read_to(
    node: Node, path: str, kind: Kind | None, problems: Problems, rollouts: Rollouts
) -> To | None:
    """The target ``node`` names, or None (problem recorded).

    ``kind`` None skips the per-kind check (``defaults:`` without a kind: each
    item checks what it inherits).
    """
    target = _parse(node, path, kind, problems, rollouts)
    if target is not None and kind is not None:
        why = kind_problem(kind, target)
        if why is not None:
            problems.add(node, path, why, ASSISTANT_FORMS)
            return None
    return target


def kind_problem(kind: Kind, target: To) -> str | None:
    """Why ``target`` is impossible for ``kind``, or None.

    Assistants, their queue bindings and agent checklists have no server-side
    history: only the snapshot store can supply old content, so only the
    instant forms make sense for them.
    """
    subject = SNAPSHOT_ONLY.get(kind)
    if subject is not None and isinstance(target, ToVersion | ToPrevious):
        form = "a version number" if isinstance(target, ToVersion) else '"previous"'
        return f"{subject} no version history, so `to:` cannot be {form}"
    return None


def _parse(
    node: Node, path: str, kind: Kind | None, problems: Problems, rollouts: Rollouts
) -> To | None:
    if isinstance(node, Scalar):
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool):
            if value >= 1:
                return ToVersion(value)
            problems.add(node, path, f"version numbers start at 1, got {value}")
            return None
        if value == "previous":
            return ToPrevious()
        problems.add(node, path, f"{TO_FORMS}, got {describe(node)}", _hint(node))
        return None
    if isinstance(node, Map) and len(node.entries) == 1:
        (key, (line, inner)), *_ = node.entries.items()
        if key in ("before", "snapshot"):
            return _instant(key, inner, join_key(path, key), problems)
        if key == "content":
            return rollouts.content(inner, join_key(path, key), kind)
        if key == "from":
            return rollouts.origin(inner, join_key(path, key))
        hint = suggest(key, _MAP_FORMS)
        problems.add(line, join_key(path, key), f"{ALL_FORMS}, got {{{key}: ...}}", hint)
        return None
    got = "a mapping with several keys" if isinstance(node, Map) else describe(node)
    problems.add(node, path, f"{ALL_FORMS}, got {got}")
    return None


def _instant(key: str, node: Node, path: str, problems: Problems) -> To | None:
    value = node.value if isinstance(node, Scalar) else None
    try:
        instant = parse_instant(value)
    except ValueError as exc:
        problems.add(node, path, str(exc))
        return None
    return ToBefore(instant) if key == "before" else ToSnapshot(instant)


def _hint(node: Scalar) -> str | None:
    value = node.value
    if isinstance(value, str):
        if value.strip().isdigit():
            return f"write the number without quotes: to: {value.strip()}"
        try:
            parse_instant(value)
        except ValueError:
            return suggest(value, ("previous",))
        return f"a time needs its meaning: to: {{before: {value}}} or {{snapshot: {value}}}"
    if hasattr(value, "isoformat"):
        return f"a time needs its meaning: to: {{before: {node.text}}} or {{snapshot: ...}}"
    return None
