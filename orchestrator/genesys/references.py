"""Content that travels between orgs: which fields name other objects, which stay put.

Content taken from another org (``to: {from: ...}``, or a ``content:`` file
written once for many orgs) may hold ids of objects that exist only where it
came from: knowledge bases, summary settings, NLU domains, integrations,
articles, queues. Each kind declares those fields here (paths in the fields
of :mod:`orchestrator.genesys.fields`, built from the official SDK's models
and the sandbox seed); :func:`map_ids` turns each into the id given in the
plan's ``ids:`` or refuses the item, naming the field and the id.

Fields local to an org (``name``: how people find the object there) are never
copied from another org: a target keeps its own, unless ``set:`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from orchestrator.errors import TargetUnavailable
from orchestrator.models import IdMap, Kind

KEYS = "*"  # the keys of a mapping are the references (assistant-queues: queue ids)
LIST = "[]"  # every element of a list

_RULES = "copilot.ruleEngineConfig"
REFERENCES: Mapping[Kind, tuple[str, ...]] = MappingProxyType(
    {
        # `content` is opaque to the API; the Agent Assist content the sandbox seed and
        # the real configs carry names its knowledge base here.
        Kind.AGENTASSIST_CONFIG: ("content.knowledge.knowledgeBaseId",),
        Kind.ASSISTANT: (
            "knowledgeSuggestionConfig.knowledgeBase.id",
            "knowledgeSuggestionConfig.knowledgeBases[].id",
            "googleDialogflowConfig.integrationId",
            "copilot.summaryGenerationConfig.summarySetting.id",
            "copilot.nluConfig.domain.id",
            "copilot.nluConfig.domain.version.id",
            f"{_RULES}.rules[].rule.actions[].attributes.articleId",
            f"{_RULES}.fallback.actions[].attributes.articleId",
        ),
        Kind.ASSISTANT_QUEUES: (KEYS,),
        # A checklist item's id is its identity inside the org's checklist.
        Kind.AGENT_CHECKLIST: ("checklistItems[].id",),
    }
)
"""Per kind, the paths of fields whose values are ids of objects of the org."""

LOCAL: Mapping[Kind, frozenset[str]] = MappingProxyType(
    {
        Kind.AGENTASSIST_CONFIG: frozenset({"name"}),
        Kind.ASSISTANT: frozenset({"name"}),
        Kind.ASSISTANT_QUEUES: frozenset(),
        Kind.AGENT_CHECKLIST: frozenset({"name"}),
    }
)
"""Per kind, the top-level fields a copy from another org leaves as the target has them."""


@dataclass(frozen=True, slots=True)
class Mapped:
    """One reference rewritten (or kept): ``path`` like ``content.knowledge.knowledgeBaseId``."""

    path: str
    there: str
    here: str  # equal to ``there`` when the id was kept

    def __str__(self) -> str:
        if self.there == self.here:
            return f"{self.path}: {self.there} (kept)"
        return f"{self.path}: {self.there} → {self.here}"


def map_ids(
    kind: Kind, fields: Mapping[str, Any], ids: IdMap, source: str, *, same_org: bool = False
) -> tuple[dict[str, Any], tuple[Mapped, ...]]:
    """``fields`` with every reference mapped by ``ids``, and what was mapped.

    ``source`` says where the content came from, for the refusal. Content
    from the item's own org (``same_org``) names objects valid there: a
    reference ``ids`` does not map is kept.

    Raises:
        TargetUnavailable: a reference ``ids`` neither maps nor keeps
            (``ids.unmapped``), naming every such field and id.
    """
    out: dict[str, Any] = _copy(fields)
    done: list[Mapped] = []
    missing: list[tuple[str, str]] = []

    def look(path: str, there: str) -> str:
        if there in ids.keep:
            done.append(Mapped(path, there, there))
        elif there in ids.mapped:
            done.append(Mapped(path, there, ids.mapped[there]))
            return ids.mapped[there]
        elif same_org:
            done.append(Mapped(path, there, there))
        else:
            missing.append((path, there))
        return there

    for spec in REFERENCES[kind]:
        if spec == KEYS:
            out = {look(key, key): value for key, value in out.items()}
            continue
        for path, there, put in _refs(out, spec.split("."), ""):
            if (here := look(path, there)) != there:
                put(here)
    if missing:
        raise TargetUnavailable(_unmapped(missing, source), code="ids.unmapped")
    return out, tuple(done)


def carried(kind: Kind, source: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """The content a copy of ``source`` puts in place of ``live``: all but the local fields."""
    local = LOCAL[kind]
    out = {k: v for k, v in source.items() if k not in local}
    out.update({k: v for k, v in live.items() if k in local})
    return out


def _unmapped(missing: list[tuple[str, str]], source: str) -> str:
    shown = "; ".join(f"{path} holds {there}" for path, there in missing[:5])
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    first = missing[0][1]
    return (
        f"unmapped reference(s) in the content from {source}: {shown}{more}; each is an id of an"
        f" object of the org the content came from: map it with `ids: {{{first}: <id here>}}`"
        f" or keep it with `ids: {{keep: [{first}]}}` beside `to:`"
    )


Put = Callable[[str], None]  # puts the new id in place of the old one


def _refs(value: Any, steps: list[str], path: str) -> Iterator[tuple[str, str, Put]]:
    """(path, id, setter) of every reference ``steps`` reach in ``value`` (already a copy)."""
    if not steps:
        return
    step, rest = steps[0], steps[1:]
    name, each = (step[:-2], True) if step.endswith(LIST) else (step, False)
    if not isinstance(value, dict) or name not in value:
        return
    here = f"{path}.{name}" if path else name
    inner = value[name]
    if each:
        if isinstance(inner, list):
            for index, element in enumerate(inner):
                yield from _refs(element, rest, f"{here}[{index}]") if rest else ()
        return
    if rest:
        yield from _refs(inner, rest, here)
    elif isinstance(inner, str) and inner:
        yield here, inner, _value_setter(value, name)


def _value_setter(owner: dict[str, Any], name: str) -> Put:
    def put(new: str) -> None:
        old = owner[name]
        owner[name] = new
        uri = owner.get("selfUri")
        if name == "id" and isinstance(uri, str):  # a reference's link names its id too
            owner["selfUri"] = uri.replace(old, new)

    return put


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(v) for v in value]
    return value
