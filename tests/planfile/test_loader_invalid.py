"""Invalid plan and environment files: every problem, with its exact key path and line.

Each ``tests/data/plans/<case>.yaml`` is a plan (its environment is
``orgs.yaml`` there, or ``<case>.orgs.yaml``). The problems a case expects are
written into the files as end-of-line markers, ``#! key.path | message
fragment`` (``-`` for the empty path), right on the line they must name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator.cli.parser import main
from orchestrator.errors import PlanError, Problem
from orchestrator.planfile.loader import load_plan
from tests.support import ROOT

DATA = ROOT / "tests" / "data" / "plans"
ENVIRON = {"GC_AMER_ID": "amer-client", "GC_AMER_SECRET": "amer-secret-value", "S": "s3cr3t"}
CASES = sorted(path for path in DATA.glob("*.yaml") if not path.name.endswith("orgs.yaml"))
_MARKER = re.compile(r"#!\s*([^|#]+?)\s*\|\s*([^#]+?)\s*(?=#!|$)")


@dataclass(frozen=True)
class Expected:
    """One problem a case announces: file, key path, line, and a piece of its text."""

    file: str
    path: str
    line: int
    fragment: str

    def seen_in(self, problems: tuple[Problem, ...]) -> bool:
        """True if one of ``problems`` is this one."""
        return any(
            (p.file, p.path, p.line) == (self.file, self.path, self.line)
            and self.fragment in str(p)
            for p in problems
        )


def expected(plan: Path) -> list[Expected]:
    """Every problem the markers of a case's plan and environment files announce."""
    found = []
    env = plan.with_name(plan.stem + ".orgs.yaml")
    for path in (plan, env):
        if not path.exists():
            continue
        file = os.path.normpath(path)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for key, fragment in _MARKER.findall(line):
                found.append(Expected(file, "" if key == "-" else key, number, fragment))
    return found


def test_there_are_many_cases() -> None:
    """The table covers every rule: at least 40 invalid files."""
    assert len(CASES) >= 40


@pytest.mark.parametrize("plan", CASES, ids=lambda path: path.stem)
def test_invalid_file_reports_every_problem_at_its_path_and_line(plan: Path) -> None:
    """load_plan raises PlanError naming exactly the marked problems: file, path, line."""
    wanted = expected(plan)
    assert wanted, "a case must mark at least one problem"
    with pytest.raises(PlanError) as info:
        load_plan(os.path.normpath(plan), environ=ENVIRON)
    problems = info.value.problems
    got = sorted((p.file, p.path, p.line) for p in problems)
    assert sorted((w.file, w.path, w.line) for w in wanted) == got, str(info.value)
    for one in wanted:
        assert one.seen_in(problems), (one, str(info.value))


@pytest.mark.parametrize("plan", CASES, ids=lambda path: path.stem)
def test_validate_exits_2_and_prints_every_problem(
    plan: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`orchestrator validate` exits 2 with one stderr line per problem, nothing on stdout."""
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    wanted = expected(plan)
    assert main(["validate", os.path.normpath(plan)]) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert out == ""
    assert lines[-1] == f"{len(wanted)} problem(s); nothing was sent"
    for one in wanted:
        where = f"{one.file}: {one.path}: " if one.path else f"{one.file}: "
        assert any(
            line.startswith("error: " + where)
            and f"(line {one.line})" in line
            and one.fragment in line
            for line in lines
        ), (one, err)
