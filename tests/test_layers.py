"""The package's layers import downward only, as the README's layout section draws them."""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from pathlib import Path

from tests.support import ROOT

PACKAGE = ROOT / "orchestrator"

# Lowest first. A module may import from a lower rank, or from inside its own
# subpackage; never from a higher rank or from a sibling of the same rank.
RANKS: tuple[tuple[str, ...], ...] = (
    ("orchestrator.statuses", "orchestrator.timestamps", "orchestrator.jsontext"),
    ("orchestrator.canonical",),
    ("orchestrator.errors", "orchestrator.logs"),
    ("orchestrator.models",),
    ("orchestrator.genesys", "orchestrator.journal", "orchestrator.sandbox"),
    ("orchestrator.planfile",),
    ("orchestrator.engine",),
    ("orchestrator.ui",),
    ("orchestrator.cli",),
    ("orchestrator.bench", "orchestrator.__init__", "orchestrator.__main__"),
)


def unit(module: str) -> str:
    """The layer unit a module belongs to: its top-level module or subpackage."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else "orchestrator.__init__"


def rank(module: str) -> int:
    name = unit(module)
    for index, members in enumerate(RANKS):
        if name in members:
            return index
    raise AssertionError(f"{module} is in no layer: add it to RANKS and the README")


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts)
        if name == "orchestrator.__init__" or name == "orchestrator.__main__":
            yield name, path
        else:
            yield name.removesuffix(".__init__"), path


def imported(path: Path) -> Iterator[tuple[int, str]]:
    """Every ``orchestrator`` module ``path`` imports, lazily or not, with its line."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("orchestrator"):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not node.module.startswith("orchestrator"):
                continue
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                is_module = (
                    importlib.util.find_spec(full) is not None if _package(node.module) else False
                )
                yield node.lineno, full if is_module else node.module


def _package(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    return spec is not None and spec.submodule_search_locations is not None


def test_every_import_goes_down_a_layer_or_stays_inside_its_own() -> None:
    """No upward or sideways import anywhere in the package (the facade is not importable)."""
    wrong = []
    for name, path in modules():
        mine = rank(name)
        for line, target in imported(path):
            if target == "orchestrator":
                wrong.append(f"{name}:{line} imports the public facade `orchestrator`")
                continue
            if unit(target) == unit(name):
                continue
            theirs = rank(target)
            if theirs >= mine:
                way = "sideways" if theirs == mine else "upward"
                wrong.append(f"{name}:{line} imports {target} ({way})")
    assert wrong == []


def test_every_module_is_in_a_layer_and_small() -> None:
    """Every module belongs to a layer and stays under 400 lines."""
    for name, path in modules():
        rank(name)
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 400, f"{name} has {lines} lines"
