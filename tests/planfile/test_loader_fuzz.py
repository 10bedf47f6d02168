"""Property: whatever the bytes, load_plan returns a Plan or raises PlanError, nothing else."""

from __future__ import annotations

import contextlib
import copy
import tempfile
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.errors import PlanError
from orchestrator.models import Plan
from orchestrator.planfile.loader import load_plan
from tests.support import ROOT

SANDBOX = ROOT / "orchestrator" / "sandbox" / "data"
PLAN = yaml.safe_load((SANDBOX / "plan.yaml").read_text(encoding="utf-8"))
ORGS = yaml.safe_load((SANDBOX / "orgs.yaml").read_text(encoding="utf-8"))
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TRICKY = [
    "previous",
    "*",
    "50%",
    "120%",
    "3s",
    "2 minutes",
    "yes",
    "on",
    "010",
    "1:30",
    "2026-11-20T00:00:00Z",
    "2026-11-20T00:00:00",
    "${GC_X}",
    "$$",
    "${",
    "!!python/object",
    "canary",
    "emea-prod",
    "assistant",
    "agentassist-config",
    "trafficShift",
    "versionRevert",
    "http://127.0.0.1:1",
    "https://example.com/path",
    "eu-west-1",
    "",
    "a/b",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(TRICKY),
    st.datetimes(timezones=st.sampled_from([None, UTC])),
    st.dates(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(TRICKY), st.text(max_size=8)), inner, max_size=4),
    ),
    max_leaves=8,
)
keys = st.one_of(
    st.sampled_from(
        ["plan", "name", "to", "id", "kind", "set", "orgs", "org", "configs", "waves", "limits"]
    ),
    st.text(max_size=10),
    st.integers(0, 3),
    st.booleans(),
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path (a tuple of keys and indexes) to a value inside ``node``."""
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in children:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def parent_of(doc: Any, path: tuple[Any, ...]) -> Any:
    """The container holding the value at ``path``."""
    for key in path[:-1]:
        doc = doc[key]
    return doc


def mutate(doc: Any, data: st.DataObject) -> Any:
    """Drop, rename, retype, swap or duplicate a few values of ``doc``."""
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 4))):
        where = list(paths(doc))
        if not where:
            break
        path = data.draw(st.sampled_from(where))
        parent, last = parent_of(doc, path), path[-1]
        operation = data.draw(st.sampled_from(["drop", "rename", "retype", "swap", "copy"]))
        if operation == "drop":
            del parent[last]
        elif operation == "rename" and isinstance(parent, dict):
            parent[data.draw(keys)] = parent.pop(last)
        elif operation == "retype":
            parent[last] = data.draw(values)
        elif operation == "swap":
            other = data.draw(st.sampled_from(where))
            other_parent = parent_of(doc, other)
            with contextlib.suppress(KeyError, IndexError):  # one path was inside the other
                parent[last], other_parent[other[-1]] = other_parent[other[-1]], parent[last]
        elif operation == "copy" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
    return doc


def load(plan_text: str, orgs_text: str) -> Plan | PlanError:
    """Write both files to a fresh directory and load the plan."""
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "plan.yaml").write_text(plan_text, encoding="utf-8")
        (Path(directory) / "orgs.yaml").write_text(orgs_text, encoding="utf-8")
        try:
            return load_plan(Path(directory) / "plan.yaml", environ={"GC_X": "x"})
        except PlanError as exc:
            assert exc.problems, "a PlanError always carries its problems"
            for problem in exc.problems:
                assert str(problem)
            return exc


def test_the_fixtures_are_valid() -> None:
    """The documents being mutated are valid to begin with."""
    assert isinstance(load(yaml.safe_dump(PLAN), yaml.safe_dump(ORGS)), Plan)


@FUZZ
@given(data=st.data())
def test_mutated_plans_give_a_plan_or_a_plan_error(data: st.DataObject) -> None:
    """Dropped, renamed, retyped, swapped keys of the demo plan never crash the loader."""
    plan, orgs = PLAN, ORGS
    if data.draw(st.booleans()):
        plan = mutate(plan, data)
    else:
        orgs = mutate(orgs, data)
    assert isinstance(load(yaml.safe_dump(plan), yaml.safe_dump(orgs)), Plan | PlanError)


@FUZZ
@given(document=values)
def test_random_documents_give_a_plan_error(document: Any) -> None:
    """Any YAML document that is not a plan is a PlanError."""
    assert isinstance(load(yaml.safe_dump(document), yaml.safe_dump(ORGS)), PlanError)


YAML_PIECES = [*":-[]{}&*!|>#'\"\n %@`,?~\t\\=<", "\n  ", "\n- ", ": ", "---", "&a ", "*a", "!!"]
YAMLISH = st.lists(
    # A file holds UTF-8, which has no lone surrogates (bytes that are not UTF-8: hostile tests).
    st.one_of(st.sampled_from(YAML_PIECES), st.sampled_from(TRICKY), st.characters(codec="utf-8")),
    max_size=80,
).map("".join)


@FUZZ
@given(text=YAMLISH)
def test_random_text_gives_a_plan_or_a_plan_error(text: str) -> None:
    """Arbitrary text, YAML-flavoured or not, never crashes the loader."""
    assert isinstance(load(text, yaml.safe_dump(ORGS)), Plan | PlanError)


@FUZZ
@given(blob=st.binary(max_size=300))
def test_random_bytes_give_a_plan_error(blob: bytes) -> None:
    """Arbitrary bytes (often not UTF-8) never crash the loader."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "plan.yaml"
        path.write_bytes(blob)
        with contextlib.suppress(PlanError):
            load_plan(path, environ={})
