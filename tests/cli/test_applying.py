"""Reviewed plans: `plan --out` saves what it showed; `apply` runs exactly that, or refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.planfile.saved import sealed
from orchestrator.sandbox import Sandbox
from tests.cli.test_running import orchestrator
from tests.support import CONFIGS, puts, write_plan

pytestmark = pytest.mark.anyio

CANARY, EMEA, AMER = CONFIGS["canary"], CONFIGS["emea-prod"], CONFIGS["amer-prod"]


def two_waves(tmp_path: Path, url: str, **kw: Any) -> Path:
    """A plan over three orgs: canary first, then the rest behind approval."""
    return write_plan(
        tmp_path,
        url,
        {"canary": CANARY[:2], "emea-prod": EMEA[:2], "amer-prod": AMER[:1]},
        waves=[{"name": "first", "orgs": ["canary"]}, {"name": "rest", "orgs": ["*"]}],
        **kw,
    )


async def saved_plan(sandbox: Sandbox, tmp_path: Path, *args: str) -> tuple[Path, Path]:
    """`plan PLAN --out FILE` (with ``args``); the plan file and the saved file."""
    plan = two_waves(tmp_path, sandbox.url)
    out = tmp_path / "reviewed.json"
    code, _, err = await orchestrator(
        "plan", str(plan), "--out", str(out), *args, journal=tmp_path / "j.sqlite3"
    )
    assert code == 0, err
    assert f"saved to {out}" in err
    return plan, out


async def apply(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    """`apply` with a JSON report; exit code, report, stderr."""
    code, out, err = await orchestrator(
        "apply", *args, "--format", "json", "--yes", journal=tmp_path / "j.sqlite3"
    )
    return code, (json.loads(out) if out.strip() else {}), err


async def test_the_saved_file_holds_what_plan_showed(sandbox: Sandbox, tmp_path: Path) -> None:
    """Baselines, target content and hash, waves, options, plan sha256, who and when, 0600."""
    plan, out = await saved_plan(sandbox, tmp_path)
    saved = json.loads(out.read_text())
    assert out.stat().st_mode & 0o777 == 0o600
    assert saved["saved_plan"] == 1
    assert saved["digest"].startswith("sha256:")
    assert saved["made_by"] == "alice@platform-team"
    assert saved["plan"]["path"] == str(plan)
    assert [w["orgs"] for w in saved["waves"]] == [["canary"], ["emea-prod", "amer-prod"]]
    assert saved["options"]["limits"]["attempts"] == 8
    first = saved["items"][0]
    live = sandbox.config("canary", CANARY[0])
    assert first["baseline"]["version"] == live.version
    assert first["baseline"]["etag"] == live.etag
    assert first["target"]["label"] == f"v{live.version - 1}"
    assert first["target"]["content"]["content"] != live.content
    assert first["action"] == "write" and first["changes"]
    assert len(saved["items"]) == 5
    assert "canary-secret" not in out.read_text()


async def test_apply_refuses_a_changed_item_as_stale_and_applies_the_rest(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A colleague's edit after review: that item `drifted`/`plan.stale`, never written."""
    _, out = await saved_plan(sandbox, tmp_path)
    saved = json.loads(out.read_text())
    targets = {i["id"]: i["target"]["content"] for i in saved["items"]}
    changed = sandbox.config("emea-prod", EMEA[0]).content
    sandbox.edit_config("emea-prod", EMEA[0], content={**changed, "language": "fr-fr"})
    bumped = sandbox.config("emea-prod", EMEA[1])
    sandbox.edit_config("emea-prod", EMEA[1])  # a version bump alone: not what was reviewed
    sandbox.clear_requests()
    code, report, err = await apply(tmp_path, str(out))
    assert code == 1, err
    by_id = {i["id"]: i for i in report["items"]}
    for stale in (EMEA[0], EMEA[1]):
        assert by_id[stale]["status"] == "drifted"
        assert by_id[stale]["error"]["code"] == "plan.stale"
    assert {i["status"] for i in report["items"] if i["id"] not in EMEA} == {"succeeded"}
    written = {r.resource_id for r in puts(sandbox)}
    assert written == {CANARY[0], CANARY[1], AMER[0]}
    for org, config_id in (("canary", CANARY[0]), ("canary", CANARY[1]), ("amer-prod", AMER[0])):
        assert sandbox.config(org, config_id).content == targets[config_id]["content"]
    assert sandbox.config("emea-prod", EMEA[1]).version == bumped.version + 1
    # Nothing was resolved again: no history, and no item outside the file was read.
    assert not [r.path for r in sandbox.requests if "/versions" in r.path]
    outside = {r.resource_id for r in sandbox.requests if r.resource_id} - set(targets)
    assert outside == set()
    assert report["reviewed"]["digest"] == saved["digest"]
    assert report["reviewed"]["made_by"] == "alice@platform-team"
    code, markdown, _ = await orchestrator(
        "report", report["run_id"], "--format", "markdown", journal=tmp_path / "j.sqlite3"
    )
    assert "plan and review again" in markdown
    assert f"applied from saved plan {out} ({saved['digest']})" in markdown


async def test_apply_touches_no_item_outside_the_file(sandbox: Sandbox, tmp_path: Path) -> None:
    """A file saved with --limit canary: apply sends nothing to the plan's other orgs."""
    _, out = await saved_plan(sandbox, tmp_path, "--limit", "canary")
    sandbox.clear_requests()
    code, report, err = await apply(tmp_path, str(out))
    assert code == 0, err
    assert {i["id"] for i in report["items"]} == set(CANARY[:2])
    assert {r.org for r in sandbox.requests} == {"canary"}
    assert report["limit"] == {"patterns": ["canary"], "left_out": ["emea-prod", "amer-prod"]}


async def test_an_applied_file_applied_again_is_already_at_target(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The second apply of one file finds every item at its target and writes nothing."""
    _, out = await saved_plan(sandbox, tmp_path)
    code, report, err = await apply(tmp_path, str(out))
    assert code == 0, err
    assert report["summary"]["succeeded"] == 5
    sandbox.clear_requests()
    code, report, err = await apply(tmp_path, str(out))
    assert code == 0, err
    assert {i["status"] for i in report["items"]} == {"already_at_target"}
    assert puts(sandbox) == []


async def test_apply_limit_runs_a_subset_and_reports_the_rest(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """`apply --limit`: only those orgs of the file; the report lists what was left out."""
    _, out = await saved_plan(sandbox, tmp_path)
    sandbox.clear_requests()
    code, report, err = await apply(tmp_path, str(out), "--limit", "emea-*")
    assert code == 0, err
    assert {i["id"] for i in report["items"]} == set(EMEA[:2])
    assert {r.org for r in sandbox.requests} == {"emea-prod"}
    assert report["limit"] == {"patterns": ["emea-*"], "left_out": ["canary", "amer-prod"]}
    sandbox.clear_requests()
    code, _, err = await apply(tmp_path, str(out), "--limit", "apac-*")
    assert code == 2
    assert "--limit 'apac-*' matches no org of saved plan" in err
    assert sandbox.requests == []


async def test_an_altered_file_is_refused_whole(sandbox: Sandbox, tmp_path: Path) -> None:
    """One character of target content changed by hand: exit 2, not one request."""
    _, out = await saved_plan(sandbox, tmp_path)
    text = out.read_text()
    saved = json.loads(text)
    saved["items"][0]["target"]["content"]["name"] = "edited by hand"
    out.write_text(json.dumps(saved, indent=2, sort_keys=True))
    sandbox.clear_requests()
    code, report, err = await apply(tmp_path, str(out))
    assert code == 2
    assert "was altered after it was saved" in err
    assert "Traceback" not in err and report == {}
    assert sandbox.requests == []
    out.write_text("{not json")
    code, _, err = await apply(tmp_path, str(out))
    assert code == 2 and "not valid JSON" in err
    assert sandbox.requests == []


async def test_a_changed_plan_file_is_refused_whole(sandbox: Sandbox, tmp_path: Path) -> None:
    """The plan file edited after the save: exit 2, nothing sent; a missing one too."""
    plan, out = await saved_plan(sandbox, tmp_path)
    plan.write_text(plan.read_text() + "\n# reviewed? no\n")
    sandbox.clear_requests()
    code, _, err = await apply(tmp_path, str(out))
    assert code == 2
    assert f"plan file {plan} changed since {out} was saved" in err
    assert sandbox.requests == []
    plan.unlink()
    code, _, err = await apply(tmp_path, str(out))
    assert code == 2
    assert f"its plan file {plan} is missing" in err
    assert sandbox.requests == []


async def test_a_file_older_than_max_age_is_refused_whole(sandbox: Sandbox, tmp_path: Path) -> None:
    """Saved 25 h ago (default --max-age 24h), or older than --max-age: exit 2, nothing sent."""
    _, out = await saved_plan(sandbox, tmp_path)
    saved = json.loads(out.read_text())
    saved["made_at"] = "2020-01-01T00:00:00.000Z"
    old = tmp_path / "old.json"
    old.write_text(sealed(saved))  # sealed anew: only its age is wrong
    sandbox.clear_requests()
    code, _, err = await apply(tmp_path, str(old))
    assert code == 2
    assert "older than --max-age 24h" in err
    code, _, err = await apply(tmp_path, str(out), "--max-age", "1ms")
    assert code == 2
    assert "older than --max-age 1ms" in err
    code, _, err = await apply(tmp_path, str(out), "--max-age", "soon")
    assert code == 2 and "--max-age" in err
    assert sandbox.requests == []


async def test_apply_prints_the_reviewed_preview_first(sandbox: Sandbox, tmp_path: Path) -> None:
    """The text output starts with the preview the reviewer saw, then the run's report."""
    plan, out = await saved_plan(sandbox, tmp_path)
    code, shown, _ = await orchestrator("plan", str(plan), journal=tmp_path / "j.sqlite3")
    code, text, err = await orchestrator("apply", str(out), "--yes", journal=tmp_path / "j.sqlite3")
    assert code == 0, err
    assert text.startswith(f"saved plan {out} (sha256:")
    wave_lines = [line for line in shown.splitlines() if line.startswith("  canary ")]
    assert wave_lines and all(line in text for line in wave_lines)
    assert text.index("wave first (canary):") < text.index("SUCCEEDED")
    assert not any(secret in text + err for secret in ("canary-secret", "emea-prod-secret"))


async def test_resume_of_an_apply_run_writes_the_saved_content(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """An apply halted at an approval gate; resume writes the file's content, resolves nothing."""
    plan = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": CANARY[:1], "emea-prod": EMEA[:1]},
        waves=[
            {"name": "first", "orgs": ["canary"]},
            {"name": "rest", "orgs": ["*"], "approve": True},
        ],
    )
    out = tmp_path / "reviewed.json"
    journal = tmp_path / "j.sqlite3"
    code, _, err = await orchestrator("plan", str(plan), "--out", str(out), journal=journal)
    assert code == 0, err
    saved = json.loads(out.read_text())
    code, _, err = await orchestrator("apply", str(out), journal=journal)
    assert code == 3, err
    run_id = err.split("orchestrator resume ")[1].split()[0]
    sandbox.clear_requests()
    code, report_text, err = await orchestrator(
        "resume", run_id, "--approve", "--format", "json", journal=journal
    )
    assert code == 0, err
    report = json.loads(report_text)
    assert {i["status"] for i in report["items"]} == {"succeeded"}
    assert [r.resource_id for r in puts(sandbox)] == [EMEA[0]]
    assert not [r.path for r in sandbox.requests if "/versions" in r.path]
    target = saved["items"][1]["target"]["content"]["content"]
    assert sandbox.config("emea-prod", EMEA[0]).content == target
    code, shown, err = await orchestrator("report", run_id, "--format", "markdown", journal=journal)
    assert code == 0, err
    assert run_id in shown
    code, shown, err = await orchestrator("status", run_id, journal=journal)
    assert code == 0 and EMEA[0][:8] in shown, err


async def test_a_plan_with_an_unplannable_item_is_not_saved(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """An item that does not exist: the preview shows it, no file is written, exit 1."""
    plan = write_plan(tmp_path, sandbox.url, {"canary": [CANARY[0], "no-such-config"]})
    out = tmp_path / "reviewed.json"
    code, shown, err = await orchestrator(
        "plan", str(plan), "--out", str(out), journal=tmp_path / "j.sqlite3"
    )
    assert code == 1
    assert "no-such-config" in shown
    assert f"not saved to {out}" in err and "canary/no-such-config: failed" in err
    assert not out.exists()


async def test_an_out_path_that_cannot_be_written_is_refused_first(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """`--out` into a missing folder: exit 2 before any request."""
    plan = two_waves(tmp_path, sandbox.url)
    code, _, err = await orchestrator(
        "plan", str(plan), "--out", str(tmp_path / "nope" / "r.json"), journal=tmp_path / "j"
    )
    assert code == 2
    assert "--out" in err and "does not exist" in err
    assert sandbox.requests == []
