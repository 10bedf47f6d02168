"""Rollout forms in plan files: content files, golden orgs and ``ids:``, checked offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.cli.parser import main
from orchestrator.errors import PlanError
from orchestrator.models import IdMap, Kind, ToContent, ToFrom
from orchestrator.planfile.loader import load_plan
from orchestrator.planfile.schema import json_schema

PLAN = """\
plan: 1
name: rollout
orgs:
  gold: {base_url: "http://127.0.0.1:9", client_id: g, client_secret: g}
  east: {base_url: "http://127.0.0.1:9", client_id: e, client_secret: e}
defaults:
  ids: {kb-gold: kb-default, keep: [shared-1]}
targets:
  - org: east
    ids: {kb-gold: kb-east}
    configs:
{items}
"""


def write(tmp_path: Path, items: str, files: dict[str, str] | None = None) -> Path:
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text)
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN.replace("{items}", items))
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    return [str(p) for p in caught.value.problems]


def test_content_and_from_targets_load_with_their_merged_ids(tmp_path: Path) -> None:
    """A YAML or JSON content file becomes ToContent; from becomes ToFrom; ids merge down."""
    items = """\
      - id: c1
        to: {content: golden.yaml}
        set: {deployed: true}
      - id: c2
        to: {content: sub/golden.json}
        ids: {keep: [kb-gold]}
      - id: a1
        kind: assistant
        to: {from: {org: gold, id: a-gold}}
"""
    (tmp_path / "sub").mkdir()
    files = {
        "golden.yaml": "trafficPercent: 40\ncontent: {knowledge: {knowledgeBaseId: kb-gold}}\n",
        "sub/golden.json": '{"description": "from JSON", "deployed": false}',
    }
    plan = load_plan(write(tmp_path, items, files))
    first, second, third = plan.items
    assert first.to == ToContent(
        path=(tmp_path / "golden.yaml").resolve(),
        fields={"trafficPercent": 40, "content": {"knowledge": {"knowledgeBaseId": "kb-gold"}}},
    )
    assert first.set == {"deployed": True}
    assert first.ids == IdMap(mapped={"kb-gold": "kb-east"}, keep=frozenset({"shared-1"}))
    assert isinstance(second.to, ToContent)
    assert second.to.fields == {"description": "from JSON", "deployed": False}
    assert second.ids == IdMap(mapped={}, keep=frozenset({"shared-1", "kb-gold"}))
    assert (third.kind, third.to) == (Kind.ASSISTANT, ToFrom(org="gold", id="a-gold"))
    assert str(third.to) == "from gold/a-gold"


def test_content_file_problems_name_the_file_the_key_path_and_the_line(tmp_path: Path) -> None:
    """Unknown, read-only and mistyped fields are located in the content file itself."""
    items = """\
      - id: c1
        to: {content: golden.yaml}
"""
    golden = "description: fine\ntrafficShift: 10\ndateModified: yesterday\ndeployed: 'yes'\n"
    found = problems(write(tmp_path, items, {"golden.yaml": golden}))
    shown = str(tmp_path / "golden.yaml")
    assert found == [
        f"{shown}: trafficShift: unknown field of agentassist-config (line 2); did you mean"
        " trafficPercent?",
        f"{shown}: dateModified: read-only field of agentassist-config (line 3);"
        " the server sets it",
        f'{shown}: deployed: expected true or false, got "yes" (line 4)',
    ]


def test_a_content_file_is_checked_for_each_kind_that_inherits_it(tmp_path: Path) -> None:
    """`defaults.to: {content: F}` without a kind: each item's kind checks the file once."""
    text = PLAN.replace("defaults:\n", "defaults:\n  to: {content: golden.yaml}\n")
    items = "      - c1\n      - {id: a1, kind: assistant}\n      - {id: a2, kind: assistant}\n"
    (tmp_path / "golden.yaml").write_text("deployed: true\n")
    path = tmp_path / "plan.yaml"
    path.write_text(text.replace("{items}", items))
    found = problems(path)
    assert found == [
        f"{tmp_path / 'golden.yaml'}: deployed: unknown field of assistant (line 1);"
        " writable fields: name, state, transcriptionConfig, knowledgeSuggestionConfig,"
        " googleDialogflowConfig, copilot"
    ]


@pytest.mark.parametrize(
    ("golden", "fragment"),
    [
        (None, "targets[0].configs[0].to.content: cannot read content file"),
        ("content: {a: [1, 2}\n", "golden.yaml: "),
        ("- 1\n- 2\n", "golden.yaml: expected a mapping, got a list (line 1)"),
        ("{}\n", "golden.yaml: names no field of agentassist-config to put (line 1)"),
    ],
    ids=["missing", "malformed", "not-a-mapping", "empty"],
)
def test_an_unusable_content_file_is_a_plan_error(
    tmp_path: Path, golden: str | None, fragment: str
) -> None:
    """Missing, malformed, not a mapping, empty: one clear problem, never a traceback."""
    files = {} if golden is None else {"golden.yaml": golden}
    found = problems(write(tmp_path, "      - {id: c1, to: {content: golden.yaml}}\n", files))
    assert any(fragment in line for line in found), found


def test_queue_binding_files_are_checked_too(tmp_path: Path) -> None:
    """assistant-queues: <queue id>: {mediaTypes: [...]}, media types from the API's list."""
    items = "      - {id: a1, kind: assistant-queues, to: {content: queues.yaml}}\n"
    queues = "q-1: {mediaTypes: [call, chat]}\nq-2: {mediaTypes: [fax]}\nq-3: {media: [call]}\n"
    found = problems(write(tmp_path, items, {"queues.yaml": queues}))
    shown = str(tmp_path / "queues.yaml")
    assert (
        f"{shown}: q-2.mediaTypes: expected one of call, callback, chat, email, message,"
        ' got "fax" (line 2)' in found
    )
    assert f"{shown}: q-3.media: unknown key (line 3); did you mean mediaTypes?" in found


def test_a_golden_org_must_be_in_the_environment(tmp_path: Path) -> None:
    """`from.org` is checked offline, with a did-you-mean."""
    found = problems(write(tmp_path, "      - {id: c1, to: {from: {org: golden, id: c-gold}}}\n"))
    assert found == [
        f"{tmp_path / 'plan.yaml'}: targets[0].configs[0].to.from.org: unknown org 'golden': the"
        " golden org must be an org of the environment (line 12); did you mean gold?"
    ]


def test_ids_problems_are_located(tmp_path: Path) -> None:
    """`ids:` must map ids to ids, and an id cannot be both mapped and kept."""
    items = """\
      - id: c1
        to: {from: {org: gold, id: c-gold}}
        ids: {kb-1: kb-2, keep: kb-3}
      - id: c2
        to: {from: {org: gold, id: c-gold}}
        ids: {kb-1: kb-2, keep: [kb-1]}
"""
    found = problems(write(tmp_path, items))
    plan = tmp_path / "plan.yaml"
    assert found == [
        f'{plan}: targets[0].configs[0].ids.keep: expected a list of ids, got "kb-3" (line 14)',
        f"{plan}: targets[0].configs[1].ids: kb-1 is both mapped and kept: say one (line 17)",
    ]


def test_validate_exits_2_on_a_bad_content_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`orchestrator validate`: the content file's problem with its line, exit 2."""
    path = write(tmp_path, "      - {id: c1, to: {content: g.yaml}}\n", {"g.yaml": "\n\nstat: x\n"})
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'g.yaml'}: stat: unknown field of agentassist-config (line 3)" in err


def test_the_schema_knows_the_rollout_forms() -> None:
    """`orchestrator schema`: to.content, to.from and ids where `to:` may be."""
    schema = json_schema()["$defs"]
    forms = [f.get("properties", {}) for f in schema["to"]["oneOf"] if isinstance(f, dict)]
    assert any("content" in f for f in forms)
    assert any("from" in f for f in forms)
    assert "ids" in schema["defaults"]["properties"]
    assert "ids" in schema["target"]["properties"]
    assert "keep" in schema["ids"]["properties"]


def test_a_content_files_unmapped_reference_is_found_offline(tmp_path: Path) -> None:
    """A content file's references are known before any request: `validate` names them."""
    items = "      - {id: c1, to: {content: golden.yaml}}\n"
    text = PLAN.replace("    ids: {kb-gold: kb-east}\n", "")
    (tmp_path / "golden.yaml").write_text("content: {knowledge: {knowledgeBaseId: kb-file}}\n")
    path = tmp_path / "plan.yaml"
    path.write_text(text.replace("{items}", items))
    (found,) = problems(path)
    assert found.startswith(
        f"{path}: targets[0].configs[0]: unmapped reference(s) in the content from content file"
        " golden.yaml: content.knowledge.knowledgeBaseId holds kb-file;"
    )
    assert "(line 11)" in found
