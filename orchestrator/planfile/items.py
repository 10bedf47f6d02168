"""A plan's ``defaults:`` and ``targets:``, read into :class:`Item` objects."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace

from orchestrator.errors import TargetUnavailable
from orchestrator.genesys import fields
from orchestrator.genesys.references import map_ids
from orchestrator.models import IdMap, Item, Kind, OnDrift, To, ToContent
from orchestrator.planfile.environment import ORG_NAME, ORG_NAME_RULE
from orchestrator.planfile.problems import Problems, suggest
from orchestrator.planfile.rollout import Rollouts, read_ids
from orchestrator.planfile.to import ASSISTANT_FORMS, kind_problem, read_to
from orchestrator.planfile.yamlsafe import Map, Node, Scalar, join_index, join_key, to_python

CONFIG_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
CONFIG_ID_RULE = "ids are 1..128 letters, digits, '-' and '_' (they are put into URLs)"
_KINDS = tuple(k.value for k in Kind)
_DRIFTS = tuple(d.value for d in OnDrift)
_ITEM_KEYS = ("id", "kind", "to", "on_drift", "set", "ids")
_KEY_HINTS = {
    "version": "the version to roll back to is given with `to:`",
    "target": "did you mean to?",
    "config": "did you mean id?",
}


@dataclass(slots=True)
class Defaults:
    """What ``defaults:`` gives every item that does not say otherwise."""

    kind: Kind = Kind.AGENTASSIST_CONFIG
    to: To | None = None
    to_line: int = 0
    on_drift: OnDrift = OnDrift.STOP
    set: dict[str, tuple[int, object]] = field(default_factory=dict)  # field -> (line, value)
    set_kind: Kind | None = None  # the kind `set` was checked for; None: items check it
    ids: IdMap = field(default_factory=IdMap)


def read_defaults(node: Node, problems: Problems, rollouts: Rollouts) -> Defaults:
    """The plan's ``defaults:``; every value checked where it is written."""
    defaults = Defaults()
    mapping = problems.mapping(node, "defaults")
    if mapping is None:
        return defaults
    problems.check_keys(mapping, "defaults", _ITEM_KEYS[1:], hints={"id": "ids go in targets"})
    entries = mapping.entries
    kind_given = "kind" in entries
    if kind_given:
        defaults.kind = _kind(entries["kind"][1], "defaults.kind", problems) or defaults.kind
    if "to" in entries:
        line, to_node = entries["to"]
        kind = defaults.kind if kind_given else None
        to = read_to(to_node, "defaults.to", kind, problems, rollouts)
        defaults.to, defaults.to_line = to, line
    if "on_drift" in entries:
        drift = problems.choice(entries["on_drift"][1], "defaults.on_drift", _DRIFTS)
        defaults.on_drift = OnDrift(drift) if drift else defaults.on_drift
    if "set" in entries:
        defaults.set_kind = defaults.kind if kind_given else None
        kinds = (defaults.kind,) if kind_given else tuple(Kind)
        defaults.set = _read_set(entries["set"][1], "defaults.set", kinds, problems)
    if "ids" in entries:
        defaults.ids = read_ids(entries["ids"][1], "defaults.ids", problems) or IdMap()
    return defaults


class TargetsReader:
    """Reads ``targets:`` into items, checking orgs, duplicates and inheritance."""

    def __init__(
        self,
        problems: Problems,
        defaults: Defaults,
        org_names: Collection[str] | None,
        rollouts: Rollouts,
    ) -> None:
        self.problems = problems
        self.defaults = defaults
        self.rollouts = rollouts
        self.target_ids = defaults.ids  # `ids:` of the target being read, over the defaults
        self.org_names = org_names  # None: the environment could not be read
        self.seen: dict[tuple[str, str, str], int] = {}
        self.orgs: dict[str, None] = {}  # orgs with targets, in order of first appearance

    def read(self, node: Node) -> tuple[Item, ...]:
        """Every item of every target entry, in plan order."""
        targets = self.problems.sequence(node, "targets")
        if targets is None:
            return ()
        items: list[Item] = []
        for index, entry in enumerate(targets.items):
            items.extend(self._target(entry, join_index("targets", index)))
        return tuple(items)

    def _target(self, node: Node, path: str) -> Iterator[Item]:
        mapping = self.problems.mapping(node, path)
        if mapping is None:
            return
        self.problems.check_keys(
            mapping,
            path,
            ("org", "configs", "ids"),
            required=("org", "configs"),
            hints={
                "assistants": "list assistants under configs with kind: assistant",
                "queues": "list assistant ids under configs with kind: assistant-queues",
                "checklists": "list checklist ids under configs with kind: agent-checklist",
            },
        )
        org = self._org(mapping, path)
        if org is not None:
            self.orgs.setdefault(org)
        self.target_ids = self.defaults.ids
        if "ids" in mapping.entries:
            ids = read_ids(mapping.entries["ids"][1], join_key(path, "ids"), self.problems)
            self.target_ids = self.defaults.ids.under(ids or IdMap())
        if "configs" not in mapping.entries:
            return
        configs_path = join_key(path, "configs")
        configs = self.problems.sequence(mapping.entries["configs"][1], configs_path)
        if configs is None:
            return
        for index, entry in enumerate(configs.items):
            item = self._item(org or "", entry, join_index(configs_path, index))
            if item is not None and org is not None:
                yield item

    def _org(self, mapping: Map, path: str) -> str | None:
        if "org" not in mapping.entries:
            return None
        node = mapping.entries["org"][1]
        org_path = join_key(path, "org")
        org = self.problems.string(node, org_path, pattern=ORG_NAME, rule=ORG_NAME_RULE)
        if org is None or self.org_names is None or org in self.org_names:
            return org
        hint = suggest(org, self.org_names) or "known orgs: " + ", ".join(self.org_names)
        self.problems.add(node, org_path, f"unknown org {org!r}: it is in no environment", hint)
        return None

    def _item(self, org: str, node: Node, path: str) -> Item | None:
        if isinstance(node, Scalar):
            return self._short_item(org, node, path)
        if not isinstance(node, Map):
            self.problems.add(node, path, "expected a config id, or a mapping with `id:`")
            return None
        self.problems.check_keys(node, path, _ITEM_KEYS, required=("id",), hints=_KEY_HINTS)
        entries = node.entries
        config_id = self._id(entries["id"][1], join_key(path, "id")) if "id" in entries else None
        kind = self.defaults.kind
        if "kind" in entries:
            kind = _kind(entries["kind"][1], join_key(path, "kind"), self.problems) or kind
        if "to" in entries:
            to = read_to(entries["to"][1], join_key(path, "to"), kind, self.problems, self.rollouts)
        else:
            to = self._inherited_to(kind, node, path)
        on_drift = self.defaults.on_drift
        if "on_drift" in entries:
            drift = self.problems.choice(
                entries["on_drift"][1], join_key(path, "on_drift"), _DRIFTS
            )
            on_drift = OnDrift(drift) if drift else on_drift
        overrides: dict[str, tuple[int, object]] = {}
        if "set" in entries:
            set_path = join_key(path, "set")
            overrides = _read_set(entries["set"][1], set_path, (kind,), self.problems)
        sets = self._merged_set(kind, overrides, node.line, path)
        ids = self.target_ids
        if "ids" in entries:
            own = read_ids(entries["ids"][1], join_key(path, "ids"), self.problems)
            ids = ids.under(own or IdMap())
        item = self._build(org, kind, config_id, to, on_drift, sets, node.line, path)
        return self._with_ids(item, ids, node.line, path)

    def _short_item(self, org: str, node: Scalar, path: str) -> Item | None:
        config_id = self._id(node, path)
        kind = self.defaults.kind
        to = self._inherited_to(kind, node, path)
        sets = self._merged_set(kind, {}, node.line, path)
        item = self._build(org, kind, config_id, to, self.defaults.on_drift, sets, node.line, path)
        return self._with_ids(item, self.target_ids, node.line, path)

    def _with_ids(self, item: Item | None, ids: IdMap, line: int, path: str) -> Item | None:
        """``item`` with its merged ``ids:``; a content file's references are checked here."""
        if item is None:
            return None
        if isinstance(item.to, ToContent):
            try:
                map_ids(item.kind, item.to.fields, ids, f"content file {item.to.path.name}")
            except TargetUnavailable as exc:
                self.problems.add(line, path, exc.detail)
                return None
        return replace(item, ids=ids) if ids else item

    def _build(
        self,
        org: str,
        kind: Kind,
        config_id: str | None,
        to: To | None,
        on_drift: OnDrift,
        sets: dict[str, object] | None,
        line: int,
        path: str,
    ) -> Item | None:
        if config_id is None:
            return None
        key = (org, kind.value, config_id)
        if key in self.seen and org:
            message = f"duplicate item: {kind} {config_id} of org {org} is already listed"
            self.problems.add(line, path, f"{message} at line {self.seen[key]}")
            return None
        self.seen[key] = line
        if to is None or sets is None:
            return None
        return Item(org=org, kind=kind, id=config_id, to=to, on_drift=on_drift, set=sets)

    def _id(self, node: Node, path: str) -> str | None:
        # A plain 12345 is an int to YAML but a perfectly good id: keep the text.
        if isinstance(node, Scalar) and node.value is not None and not isinstance(node.value, bool):
            text = node.text if node.plain else str(node.value)
            if CONFIG_ID.fullmatch(text):
                return text
            shown = text if len(text) <= 60 else text[:57] + "..."
            self.problems.add(node, path, f"config id {shown!r} is not allowed: {CONFIG_ID_RULE}")
            return None
        self.problems.add(node, path, "expected a config id (a string)")
        return None

    def _inherited_to(self, kind: Kind, node: Node, path: str) -> To | None:
        to = self.defaults.to
        if to is None:
            if not self.defaults.to_line:  # a broken defaults.to is reported already
                self.problems.add(node.line, path, "no `to:` here and none in defaults")
            return None
        why = kind_problem(kind, to)
        if why is not None:
            where = f"`to: {to}` from defaults (line {self.defaults.to_line})"
            self.problems.add(node.line, path, f"{why}; {where} cannot apply", ASSISTANT_FORMS)
            return None
        if isinstance(to, ToContent):  # checked for this item's kind (once per kind)
            return self.rollouts.for_kind(to, kind)
        return to

    def _merged_set(
        self, kind: Kind, overrides: dict[str, tuple[int, object]], line: int, path: str
    ) -> dict[str, object] | None:
        """``defaults.set`` under the item's own ``set``; None if an inherited one is wrong."""
        merged: dict[str, object] = {}
        ok = True
        for name, (source, value) in self.defaults.set.items():
            if name in overrides:
                continue
            if kind is not self.defaults.set_kind:
                why = fields.field_problem(kind, name) or _value_problem(kind, name, value)
                if why is not None:
                    message = f"`set.{name}` from defaults (line {source}) cannot apply to {kind}"
                    hint = "defaults.set applies to every item: set it on the items it suits"
                    self.problems.add(line, path, f"{message}: {why[0]}", hint)
                    ok = False
                    continue
            merged[name] = value
        merged.update({name: value for name, (_, value) in overrides.items()})
        return merged if ok else None


def _kind(node: Node, path: str, problems: Problems) -> Kind | None:
    text = problems.choice(node, path, _KINDS)
    return Kind(text) if text else None


def _read_set(
    node: Node, path: str, kinds: tuple[Kind, ...], problems: Problems
) -> dict[str, tuple[int, object]]:
    """The fields of a ``set:`` mapping with their lines.

    Each must be a field of one of ``kinds`` (the item's kind; for defaults
    without a kind, any kind: the items check what they inherit).
    """
    mapping = problems.mapping(node, path)
    if mapping is None:
        return {}
    values: dict[str, tuple[int, object]] = {}
    for name, (line, value_node) in mapping.entries.items():
        field_path = join_key(path, name)
        problems_by_kind = [fields.field_problem(kind, name) for kind in kinds]
        fit = [kind for kind, why in zip(kinds, problems_by_kind, strict=True) if why is None]
        if not fit:
            why = problems_by_kind[0]
            assert why is not None
            problems.add(line, field_path, why[0], why[1])
            continue
        value = to_python(value_node)
        wrong = fields.check_value(fit[0], name, value)
        if wrong is not None:
            problems.add(value_node, field_path, wrong)
            continue
        values[name] = (line, value)
    return values


def _value_problem(kind: Kind, name: str, value: object) -> tuple[str, str | None] | None:
    wrong = fields.check_value(kind, name, value)
    return (wrong, None) if wrong else None
