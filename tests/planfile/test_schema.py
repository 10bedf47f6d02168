"""`orchestrator schema`: a JSON Schema that accepts the shipped files and refuses bad ones."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from orchestrator.cli.parser import main
from orchestrator.planfile.schema import json_schema
from tests.support import ROOT, SANDBOX_DATA

SHIPPED = sorted(
    path
    for path in [*(ROOT / "environments").rglob("*.yaml"), *SANDBOX_DATA.glob("*.yaml")]
    if path.name.startswith(("plan", "orgs"))
)
VALIDATOR = jsonschema.Draft202012Validator(json_schema())


def as_json(text: str) -> Any:
    """YAML as an editor's language server sees it: timestamps are strings."""

    def default(value: object) -> str:
        assert isinstance(value, date | datetime)
        return value.isoformat()

    return json.loads(json.dumps(yaml.safe_load(text), default=default))


def errors(document: Any) -> list[str]:
    """The schema's complaints about ``document``."""
    return [error.message for error in VALIDATOR.iter_errors(document)]


def test_schema_is_valid_draft_2020_12() -> None:
    """The schema itself is a valid draft 2020-12 schema."""
    jsonschema.Draft202012Validator.check_schema(json_schema())
    assert json_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_key_has_a_description() -> None:
    """Editors show a description for every property of every object."""
    missing = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.get("properties", {}).items():
                target = value
                if "$ref" in value and "description" not in value:
                    target = json_schema()["$defs"][value["$ref"].rsplit("/", 1)[1]]
                if "description" not in target:
                    missing.append(f"{where}.{key}")
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}[{index}]")

    walk(json_schema(), "")
    assert missing == []


def test_shipped_files_are_found() -> None:
    """The sandbox and template plans and environments are all checked below."""
    names = {str(path.relative_to(ROOT)) for path in SHIPPED}
    assert {
        "orchestrator/sandbox/data/plan.yaml",
        "orchestrator/sandbox/data/plan-rollout.yaml",
        "orchestrator/sandbox/data/orgs.yaml",
        "environments/template/plan.yaml",
        "environments/template/orgs.yaml",
    } <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_files_match_the_schema(path: Path) -> None:
    """Every shipped plan and environment file is valid against the schema."""
    assert errors(as_json(path.read_text(encoding="utf-8"))) == []


PLAN = """\
plan: 1
name: p
environments: orgs.yaml
targets:
  - org: a
    configs:
      - id: c1
        to: 3
"""

ORG = """\
orgs:
  a:
    region: eu-west-1
    client_id: a
    client_secret: ${S}
"""

INVALID = {
    "to-yesterday": PLAN.replace("to: 3", "to: yesterday"),
    "traffic-shift": PLAN.replace("to: 3", "to: 3\n        set: {trafficShift: 5}"),
    "set-version": PLAN.replace("to: 3", "to: 3\n        set: {version: 5}"),
    "naive-time": PLAN.replace("to: 3", 'to: {before: "2026-11-28T14:00:00"}'),
    "missing-name": PLAN.replace("name: p\n", ""),
    "both-environments-and-orgs": PLAN
    + "orgs: {a: {base_url: x, client_id: a, client_secret: b}}\n",
    "unknown-key": PLAN + "wavez: []\n",
    "approve-string": PLAN + "waves: [{name: w, orgs: ['*'], approve: 'yes'}]\n",
    "bad-duration": PLAN + "limits: {verify_timeout: 5 minutes}\n",
    "bad-id": PLAN.replace("id: c1", "id: a/b"),
    "env-two-locations": ORG.replace("client_id:", "base_url: https://x\n    client_id:"),
    "env-unknown-region": ORG.replace("eu-west-1", "eu-west-9"),
    "env-no-secret": ORG.replace("    client_secret: ${S}\n", ""),
    "env-dollar-dollar": ORG.replace("client_id: a", "client_id: $$a"),
    "env-bad-name": ORG.replace("  a:", "  a b:"),
}


def test_the_baselines_pass() -> None:
    """The baselines of the invalid cases are themselves valid."""
    assert errors(as_json(PLAN)) == []
    assert errors(as_json(ORG)) == []


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_documents_fail(name: str) -> None:
    """Documents the loader refuses for their shape are refused by the schema too."""
    assert errors(as_json(INVALID[name])) != []


def test_schema_command_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    """`orchestrator schema` prints exactly json_schema() as JSON."""
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == json_schema()
