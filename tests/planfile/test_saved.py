"""Saved plans offline: the digest seal, the age and plan-file checks, malformed files."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import UsageError
from orchestrator.genesys.content import content_hash
from orchestrator.models import Environment, Item, Kind, Plan, ToPrevious, Wave
from orchestrator.planfile.saved import digest_of, read_saved, reviewed_plan, sealed
from orchestrator.timestamps import parse_stamp

MADE = "2026-12-01T04:00:00.000Z"
NOW = parse_stamp(MADE) + timedelta(hours=1)
DAY = 24 * 3600.0


def a_document(plan: Path) -> dict[str, Any]:
    """A minimal saved plan of one item, for ``plan``."""
    target = {"name": "Billing", "content": {"language": "en-US"}}
    return {
        "saved_plan": 1,
        "made_at": MADE,
        "made_by": "alice@platform-team",
        "plan": {
            "name": "p",
            "path": str(plan),
            "sha256": hashlib.sha256(plan.read_bytes()).hexdigest(),
        },
        "environment": {"path": None, "orgs": {"canary": {"api_base": "http://127.0.0.1:1"}}},
        "preflight": [],
        "limit": None,
        "options": {},
        "waves": [{"name": "all", "orgs": ["canary"]}],
        "items": [
            {
                "org": "canary",
                "kind": "agentassist-config",
                "id": "c1",
                "name": "Billing",
                "wave": "all",
                "action": "write",
                "changes": [],
                "baseline": {"version": 3, "etag": '"e3"', "modified": None, "hash": "ab"},
                "target": {
                    "label": "v2",
                    "version": 2,
                    "hash": content_hash(target),
                    "content": target,
                },
            }
        ],
    }


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    """A plan file (only its bytes matter here)."""
    path = tmp_path / "plan.yaml"
    path.write_text("plan: 1\n")
    return path


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "saved.json"
    path.write_text(text)
    return path


def test_a_sealed_file_reads_back_whatever_its_layout(tmp_path: Path, plan: Path) -> None:
    """Key order and whitespace are not content: a reformatted file (jq, an editor) still reads."""
    document = a_document(plan)
    text = sealed(document)
    saved = read_saved(write(tmp_path, text), max_age=DAY, now=NOW)
    assert saved.items[0].baseline.version == 3
    assert saved.digest == digest_of(document)
    squeezed = json.dumps(json.loads(text), sort_keys=True)
    assert read_saved(write(tmp_path, squeezed), max_age=DAY, now=NOW).digest == saved.digest


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("items", 0, "target", "content", "name"), "Billing!"),
        (("items", 0, "baseline", "version"), 4),
        (("waves", 0, "orgs"), []),
        (("made_at",), "2026-12-01T04:30:00.000Z"),
        (("plan", "sha256"), "0" * 64),
    ],
)
def test_any_edit_after_the_save_is_refused(
    tmp_path: Path, plan: Path, where: tuple[Any, ...], value: Any
) -> None:
    """One value changed anywhere, digest left as it was: refused as altered."""
    document = json.loads(sealed(a_document(plan)))
    node: Any = document
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    with pytest.raises(UsageError, match="was altered after it was saved"):
        read_saved(write(tmp_path, json.dumps(document)), max_age=DAY, now=NOW)


def test_resealed_content_must_still_match_its_hash(tmp_path: Path, plan: Path) -> None:
    """Content edited and the digest recomputed, but not the target's hash: malformed."""
    document = a_document(plan)
    document["items"][0]["target"]["content"]["name"] = "Billing!"
    with pytest.raises(UsageError, match="does not match its hash"):
        read_saved(write(tmp_path, sealed(document)), max_age=DAY, now=NOW)


def test_age_and_plan_file(tmp_path: Path, plan: Path) -> None:
    """Older than max_age, a plan file changed or gone: each refused, saying which."""
    path = write(tmp_path, sealed(a_document(plan)))
    with pytest.raises(UsageError, match="older than --max-age 30m"):
        read_saved(path, max_age=1800, now=NOW)
    plan.write_text("plan: 1\n# edited\n")
    with pytest.raises(UsageError, match="changed since"):
        read_saved(path, max_age=DAY, now=NOW)
    plan.unlink()
    with pytest.raises(UsageError, match="is missing"):
        read_saved(path, max_age=DAY, now=NOW)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not valid JSON"),
        ("[1]", "a JSON object was expected"),
        ('{"saved_plan": 2}', "not a saved plan of format 1"),
        ('{"saved_plan": 1, "x": NaN}', "not valid JSON"),
        ("[" * 100_000, "not valid JSON"),
    ],
)
def test_what_is_not_a_saved_plan(tmp_path: Path, text: str, message: str) -> None:
    """Garbage, another format, deep nesting: one clear error, never a traceback."""
    with pytest.raises(UsageError, match=message):
        read_saved(write(tmp_path, text), max_age=DAY, now=NOW)


def test_a_folder_is_not_a_saved_plan(tmp_path: Path) -> None:
    """A folder given as the file: refused at once."""
    with pytest.raises(UsageError, match="not a regular file"):
        read_saved(tmp_path, max_age=DAY, now=NOW)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("made_at", "yesterday", "malformed saved plan"),
        ("items", [], "holds no item"),
        ("waves", None, "malformed saved plan"),
    ],
)
def test_a_resealed_nonsense_file_is_malformed_not_a_traceback(
    tmp_path: Path, plan: Path, key: str, value: Any, message: str
) -> None:
    """A file sealed anew around values no `plan --out` writes: one clear error."""
    document = a_document(plan)
    document[key] = value
    with pytest.raises(UsageError, match=message):
        read_saved(write(tmp_path, sealed(document)), max_age=DAY, now=NOW)


def test_waves_that_do_not_place_every_org_are_refused(tmp_path: Path, plan: Path) -> None:
    """reviewed_plan: an org of the items in no wave (or in two) is a usage error."""
    item = Item(org="canary", kind=Kind.AGENTASSIST_CONFIG, id="c1", to=ToPrevious())
    whole = Plan(
        path=plan,
        sha256="x",
        name="p",
        description="",
        environment=Environment(path=None, orgs=()),
        items=(item,),
        waves=(Wave(name="all", orgs=("canary",)),),
    )
    with pytest.raises(UsageError, match="exactly once"):
        reviewed_plan(whole, [item.key], [("all", ())])
    with pytest.raises(UsageError, match="exactly once"):
        reviewed_plan(whole, [item.key], [("all", ("canary",)), ("all", ("canary",))])
    kept = reviewed_plan(whole, [item.key], [("all", ("canary",))])
    assert kept.items[0].reviewed and kept.items[0].on_drift.value == "stop"
