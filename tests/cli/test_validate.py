"""`validate --format github|json`: a plan's problems in the shapes CI systems read."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import anyio
import pytest

from tests.support import CONFIGS, write_plan

pytestmark = pytest.mark.anyio

URL = "http://127.0.0.1:9"  # never contacted: validate is offline


async def _validate(plan: Path, fmt: str) -> tuple[int, str]:
    done = await anyio.run_process(
        [sys.executable, "-m", "orchestrator", "validate", str(plan), "--format", fmt],
        check=False,
    )
    return done.returncode, done.stdout.decode()


def _broken(tmp_path: Path) -> Path:
    return write_plan(
        tmp_path,
        URL,
        {"canary": [{"id": CONFIGS["canary"][0], "set": {"trafficShift": 5}}]},
    )


async def test_github_format_annotates_each_problem_on_its_line(tmp_path: Path) -> None:
    """One ::error workflow command per problem, with file, line and title; exit 2."""
    code, out = await _validate(_broken(tmp_path), "github")
    assert code == 2
    lines = out.splitlines()
    assert len(lines) == 1
    pattern = re.compile(r"^::error file=[^,:]+,line=\d+,title=[^:]+::.+$")
    assert all(pattern.match(line) for line in lines), lines
    assert any("trafficShift" in line and "trafficPercent" in line for line in lines)


async def test_json_format_lists_the_problems(tmp_path: Path) -> None:
    """A JSON list of {file, line, path, message, hint}; an empty list when valid."""
    code, out = await _validate(_broken(tmp_path), "json")
    problems = json.loads(out)
    assert code == 2 and len(problems) == 1
    assert all(set(p) == {"file", "line", "path", "message", "hint"} for p in problems)
    assert any(p["path"].endswith("set.trafficShift") for p in problems)
    good = write_plan(tmp_path, URL, {"canary": CONFIGS["canary"][:1]}, name="good")
    assert await _validate(good, "json") == (0, "[]\n")
