"""A plan's ``waves:``, resolved to concrete org lists with their gates.

Entries of a wave's ``orgs`` are org names, shell-style globs matched against
the orgs that have targets, or ``"*"``: every org with targets that no other
wave names or matches, whatever the order of the waves. A wave's ``orgs`` may
instead be a count (``1``) or a percentage (``"25%"``, rounded up) of the orgs
not yet placed: in wave order, each takes the next orgs in plan order that no
name or glob claims. Each org with targets ends up in exactly one wave; inside
a wave, orgs keep the order in which the targets first mention them.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from orchestrator.models import Threshold, Wave
from orchestrator.planfile.durations import parse_duration
from orchestrator.planfile.environment import ORG_NAME, ORG_NAME_RULE
from orchestrator.planfile.problems import Problems, describe, suggest
from orchestrator.planfile.yamlsafe import Map, Node, Scalar, join_index, join_key

STAR = "*"
DEFAULT_WAVE = "all"
WAVE_NAME = ORG_NAME
WAVE_NAME_RULE = "wave names are letters, digits, '-', '_' and '.'"
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)%")
_GLOB_CHARS = frozenset("*?[")
_WAVE_KEYS = ("name", "orgs", "max_failed", "bake", "approve")


def read_waves(
    node: Node | None,
    problems: Problems,
    target_orgs: Sequence[str],
    env_orgs: Collection[str] | None,
) -> tuple[Wave, ...]:
    """The plan's waves; without ``waves:``, one wave ``all`` with every target org."""
    if node is None:
        return (Wave(name=DEFAULT_WAVE, orgs=tuple(target_orgs)),)
    resolver = _Resolver(problems, target_orgs, env_orgs)
    waves = problems.sequence(node, "waves")
    if waves is None:
        return ()
    read = [resolver.wave(entry, join_index("waves", i)) for i, entry in enumerate(waves.items)]
    owner = resolver.owners()
    unplaced = [org for org in target_orgs if org not in owner]
    if unplaced:
        shown = ", ".join(unplaced[:10]) + (", ..." if len(unplaced) > 10 else "")
        problems.add(
            waves.line,
            "waves",
            f"orgs with targets in no wave: {shown}",
            'name them in a wave, or add a last wave with orgs: ["*"]',
        )
    return tuple(
        Wave(
            name=name,
            orgs=tuple(org for org in target_orgs if owner.get(org) == name),
            max_failed=gates.max_failed,
            bake=gates.bake,
            approve=gates.approve,
        )
        for name, gates in read
        if name is not None
    )


@dataclass(slots=True)
class _Gates:
    max_failed: Threshold = field(default_factory=Threshold)
    bake: float = 0.0
    approve: bool = False


class _Resolver:
    """Reads each wave and records which wave claims which org."""

    def __init__(
        self, problems: Problems, target_orgs: Sequence[str], env_orgs: Collection[str] | None
    ) -> None:
        self.problems = problems
        self.target_orgs = target_orgs
        self.env_orgs = env_orgs
        self.names: dict[str, int] = {}
        self.claims: dict[str, tuple[str, int]] = {}  # org -> (wave, line of the entry)
        self.star: tuple[str, int] | None = None
        self.counted: list[tuple[str, int | float, Node, str]] = []  # int: a count; float: a share

    def owners(self) -> dict[str, str]:
        """org -> its wave: names and globs, then the counted waves, then ``"*"``."""
        owner = {org: wave for org, (wave, _) in self.claims.items()}
        for wave, size, node, path in self.counted:
            left = [org for org in self.target_orgs if org not in owner]
            take = size if isinstance(size, int) else math.ceil(size * len(left) - 1e-9)
            if not left or take == 0:
                self.problems.add(node, path, f"wave {wave!r} finds no org left to place")
            owner.update((org, wave) for org in left[:take])
        if self.star is not None:
            for org in self.target_orgs:
                owner.setdefault(org, self.star[0])
        return owner

    def wave(self, node: Node, path: str) -> tuple[str | None, _Gates]:
        mapping = self.problems.mapping(node, path)
        if mapping is None:
            return None, _Gates()
        self.problems.check_keys(mapping, path, _WAVE_KEYS, required=("name", "orgs"))
        entries = mapping.entries
        name = self._name(entries["name"][1], join_key(path, "name")) if "name" in entries else None
        if "orgs" in entries and name is not None:
            self._orgs(name, entries["orgs"][1], join_key(path, "orgs"))
        return name, self._gates(mapping, path)

    def _name(self, node: Node, path: str) -> str | None:
        name = self.problems.string(node, path, pattern=WAVE_NAME, rule=WAVE_NAME_RULE)
        if name is None:
            return None
        if name in self.names:
            self.problems.add(
                node, path, f"wave name {name!r} is already used at line {self.names[name]}"
            )
            return None
        self.names[name] = node.line
        return name

    def _orgs(self, wave: str, node: Node, path: str) -> None:
        if isinstance(node, Scalar):
            size = _size(node, path, self.problems)
            if size is not None:
                self.counted.append((wave, size, node, path))
            return
        orgs = self.problems.sequence(node, path)
        if orgs is None:
            return
        for index, entry in enumerate(orgs.items):
            entry_path = join_index(path, index)
            pattern = self.problems.string(entry, entry_path)
            if pattern is None:
                continue
            if pattern == STAR:
                self._star(wave, entry, entry_path)
            elif _GLOB_CHARS & set(pattern):
                self._glob(wave, pattern, entry, entry_path)
            else:
                self._named(wave, pattern, entry, entry_path)

    def _star(self, wave: str, node: Node, path: str) -> None:
        if self.star is not None and self.star[0] != wave:
            other, line = self.star
            self.problems.add(node, path, f'"*" is already in wave {other!r} (line {line})')
            return
        self.star = (wave, node.line)

    def _glob(self, wave: str, pattern: str, node: Node, path: str) -> None:
        matched = [org for org in self.target_orgs if fnmatch.fnmatchcase(org, pattern)]
        if not matched:
            self.problems.add(node, path, f"{pattern!r} matches no org with targets")
        for org in matched:
            self._claim(wave, org, node, path)

    def _named(self, wave: str, org: str, node: Node, path: str) -> None:
        if not ORG_NAME.fullmatch(org):
            self.problems.add(node, path, f"{describe(node)} is not allowed: {ORG_NAME_RULE}")
        elif self.env_orgs is not None and org not in self.env_orgs:
            hint = suggest(org, self.env_orgs)
            self.problems.add(node, path, f"unknown org {org!r}: it is in no environment", hint)
        elif org in self.target_orgs:  # an org without targets has nothing to run
            self._claim(wave, org, node, path)

    def _claim(self, wave: str, org: str, node: Node, path: str) -> None:
        claimed = self.claims.get(org)
        if claimed is None:
            self.claims[org] = (wave, node.line)
        elif claimed[0] != wave:
            other, line = claimed
            self.problems.add(
                node,
                path,
                f"org {org!r} is also in wave {other!r} (line {line})",
                "each org belongs to exactly one wave",
            )

    def _gates(self, mapping: Map, path: str) -> _Gates:
        gates = _Gates()
        entries = mapping.entries
        if "max_failed" in entries:
            threshold = _threshold(
                entries["max_failed"][1], join_key(path, "max_failed"), self.problems
            )
            if threshold is not None:
                gates.max_failed = threshold
        if "bake" in entries:
            node = entries["bake"][1]
            try:
                gates.bake = parse_duration(node.value if isinstance(node, Scalar) else node)
            except ValueError as exc:
                self.problems.add(node, join_key(path, "bake"), str(exc))
        if "approve" in entries:
            approve = self.problems.boolean(entries["approve"][1], join_key(path, "approve"))
            if approve is not None:
                gates.approve = approve
        return gates


def _size(node: Scalar, path: str, problems: Problems) -> int | float | None:
    """A counted wave's size: a count >= 1 (int) or a share in (0, 1] (float)."""
    value = node.value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    share = _share(value)
    if share:  # "0%" would place nothing
        return share
    problems.add(
        node,
        path,
        f'expected a list of orgs, a count >= 1 or a percentage like "25%", got {describe(node)}',
    )
    return None


def _share(value: object) -> float | None:
    """``"12.5%"`` as 0.125; None unless a percentage in 0..100."""
    if isinstance(value, str):
        match = _PERCENT.fullmatch(value.strip())
        if match and float(match[1]) <= 100:
            return float(match[1]) / 100
    return None


def _threshold(node: Node, path: str, problems: Problems) -> Threshold | None:
    value = node.value if isinstance(node, Scalar) else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return Threshold(count=value)
    share = _share(value)
    if share is not None:
        return Threshold(fraction=share)
    problems.add(
        node,
        path,
        f'expected a count >= 0 or a percentage like "5%" (0..100), got {describe(node)}',
    )
    return None
