"""The command line as an operator uses it: exit codes, stdout vs stderr, no secret anywhere."""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
import time
from pathlib import Path

import anyio
import pytest

from orchestrator.sandbox import Faults, Sandbox
from tests.support import CONFIGS, SandboxFactory, puts, write_plan

pytestmark = pytest.mark.anyio

CANARY, EMEA, APAC = CONFIGS["canary"], CONFIGS["emea-prod"], CONFIGS["apac-prod"]
SECRETS = ("canary-secret", "emea-prod-secret")


async def orchestrator(*args: str, journal: Path) -> tuple[int, str, str]:
    """Run the CLI as a subprocess (stdin not a terminal); exit code, stdout, stderr."""
    done = await anyio.run_process(
        [sys.executable, "-m", "orchestrator", *args, "--journal", str(journal)],
        check=False,
        stdin=None,
        env={
            **os.environ,
            "ORCHESTRATOR_JOURNAL": str(journal),
            "ORCHESTRATOR_ACTOR": "alice@platform-team",
        },
    )
    return done.returncode, done.stdout.decode(), done.stderr.decode()


async def test_a_clean_run_exits_0_with_the_report_on_stdout(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Exit 0; stdout is exactly the JSON report; --report writes the same; run id on stderr."""
    plan = write_plan(tmp_path, sandbox.url, {"canary": CANARY[:2]})
    report_file = tmp_path / "report.json"
    code, out, err = await orchestrator(
        "run",
        str(plan),
        "--format",
        "json",
        "--report",
        str(report_file),
        journal=tmp_path / "j.sqlite3",
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["status"] == "succeeded"
    assert json.loads(report_file.read_text()) == report
    assert not report_file.with_name("report.json.partial").exists()  # renamed once whole
    assert f"run {report['run_id']}" in err


async def test_failed_items_exit_1(sandbox: Sandbox, tmp_path: Path) -> None:
    """A 403 on write: the item fails, the run is partial or failed, exit 1."""
    sandbox.set_permissions("canary", ["agentassist:config:read"])
    plan = write_plan(tmp_path, sandbox.url, {"canary": CANARY[:2]})
    code, out, _ = await orchestrator(
        "run", str(plan), "--format", "json", journal=tmp_path / "j.sqlite3"
    )
    assert code == 1
    statuses = sorted(i["status"] for i in json.loads(out)["items"])
    assert statuses == ["failed", "skipped"]


async def test_an_invalid_plan_exits_2_before_any_request(sandbox: Sandbox, tmp_path: Path) -> None:
    """trafficShift in `set`: exit 2, the problem names key path and line, nothing sent."""
    plan = write_plan(
        tmp_path, sandbox.url, {"canary": [{"id": CANARY[0], "set": {"trafficShift": 5}}]}
    )
    for command in ("run", "plan"):
        code, _out, err = await orchestrator(command, str(plan), journal=tmp_path / "j.sqlite3")
        assert code == 2
        assert "targets[0].configs[0].set.trafficShift" in err and "trafficPercent" in err
        assert "(line " in err
    assert sandbox.requests == []


async def test_a_pending_approval_without_a_terminal_exits_3(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """No terminal, no --yes: stop before the wave, exit 3, say how to go on."""
    plan = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": CANARY[:1]},
        waves=[{"name": "only", "orgs": ["*"], "approve": True}],
    )
    code, _, err = await orchestrator("run", str(plan), journal=tmp_path / "j.sqlite3")
    assert code == 3
    run_id = err.split("run ", 1)[1].split()[0]
    assert f"orchestrator resume {run_id} --approve" in err
    assert puts(sandbox) == []
    code, _out, err = await orchestrator(
        "resume", run_id, "--approve", journal=tmp_path / "j.sqlite3"
    )
    assert code == 0, err
    assert len(puts(sandbox)) == 1


async def test_a_named_run_is_joined_by_the_same_command_and_refused_to_another_plan(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """`run --run-id`: the same id and plan resumes, then reports the ended run; never twice."""
    plan = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": CANARY[:1]},
        waves=[{"name": "only", "orgs": ["*"], "approve": True}],
    )
    journal = tmp_path / "j.sqlite3"
    code, _, err = await orchestrator("run", str(plan), "--run-id", "nightly-1", journal=journal)
    assert code == 3, err
    assert "orchestrator resume nightly-1 --approve" in err
    assert puts(sandbox) == []
    for _ in range(2):  # resumes and passes the gate, then only reports the ended run
        code, out, err = await orchestrator(
            "run", str(plan), "--run-id", "nightly-1", "--yes", "--format", "json", journal=journal
        )
        assert code == 0, err
        assert json.loads(out)["run_id"] == "nightly-1"
        assert len(puts(sandbox)) == 1
    (tmp_path / "other").mkdir()
    other = write_plan(tmp_path / "other", sandbox.url, {"canary": CANARY[1:2]})
    code, _, err = await orchestrator("run", str(other), "--run-id", "nightly-1", journal=journal)
    assert code == 2
    assert "run nightly-1 was started from another plan" in err
    code, _, err = await orchestrator("run", str(plan), "--run-id", "no good", journal=journal)
    assert code == 2
    assert "a run id is 1 to 100 letters" in err
    assert len(puts(sandbox)) == 1


async def test_approve_from_another_process_passes_the_pending_gate(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """`approve RUN_ID` writes the approval, sends nothing; a plain `resume` then goes on."""
    plan = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": CANARY[:1], "emea-prod": EMEA[:1]},
        waves=[
            {"name": "first", "orgs": ["canary"]},
            {"name": "second", "orgs": ["*"], "approve": True},
        ],
    )
    journal = tmp_path / "j.sqlite3"
    code, _, err = await orchestrator("run", str(plan), "--run-id", "r1", journal=journal)
    assert code == 3, err
    assert len(puts(sandbox)) == 1
    code, _, err = await orchestrator("approve", "r1", "--wave", "nope", journal=journal)
    assert code == 2
    assert "run r1 has no wave 'nope' (its waves: first, second)" in err
    code, _, err = await orchestrator("approve", "r1", "--wave", "first", journal=journal)
    assert code == 2
    assert "wave first of run r1 has no approval pending" in err
    code, out, err = await orchestrator("approve", "r1", journal=journal)
    assert code == 0, err
    assert "wave second of run r1 approved by alice@platform-team" in out
    assert len(puts(sandbox)) == 1  # approving drives nothing
    code, out, err = await orchestrator("resume", "r1", "--format", "json", journal=journal)
    assert code == 0, err
    waves = json.loads(out)["waves"]
    assert waves[1]["approved_by"] == "alice@platform-team (approve)"
    assert len(puts(sandbox)) == 2
    code, _, err = await orchestrator("approve", "r1", journal=journal)
    assert code == 2
    assert "run r1 is succeeded: there is nothing to approve" in err


async def test_limit_runs_only_the_orgs_named_and_resume_keeps_to_them(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """`--limit`: plan and run touch only matching orgs; resume keeps the run's limit."""
    plan = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": CANARY[:1], "emea-prod": EMEA[:1], "apac-prod": APAC[:1]},
        waves=[
            {"name": "first", "orgs": ["canary"]},
            {"name": "rest", "orgs": ["*"], "approve": True},
        ],
    )
    journal = tmp_path / "j.sqlite3"
    code, out, err = await orchestrator(
        "plan", str(plan), "--limit", "canary,emea-*", "--format", "json", journal=journal
    )
    assert code == 0, err
    shown = json.loads(out)
    assert {i["org"] for i in shown["items"]} == {"canary", "emea-prod"}
    assert shown["limit"] == {"patterns": ["canary", "emea-*"], "left_out": ["apac-prod"]}
    assert not any(r.org == "apac-prod" for r in sandbox.requests)
    code, _, err = await orchestrator(
        "run", str(plan), "--limit", "canary,emea-*", "--run-id", "lim", journal=journal
    )
    assert code == 3, err
    code, out, err = await orchestrator(
        "resume", "lim", "--approve", "--format", "json", journal=journal
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["summary"]["total"] == 2
    assert report["limit"] == {"patterns": ["canary", "emea-*"], "left_out": ["apac-prod"]}
    assert {r.org for r in puts(sandbox)} == {"canary", "emea-prod"}
    assert not any(r.org == "apac-prod" for r in sandbox.requests)
    code, out, _ = await orchestrator("report", "lim", "--format", "text", journal=journal)
    assert "--limit canary,emea-*: left out apac-prod" in out
    code, _, err = await orchestrator("run", str(plan), "--limit", "nope*", journal=journal)
    assert code == 2
    assert "--limit 'nope*' matches no org of plan 'test-plan'" in err
    assert not any(r.org == "apac-prod" for r in sandbox.requests)


async def test_yes_passes_approval_gates(sandbox: Sandbox, tmp_path: Path) -> None:
    """--yes: the gate passes without a question and the journal says who approved."""
    plan = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": CANARY[:1]},
        waves=[{"name": "only", "orgs": ["*"], "approve": True}],
    )
    code, out, _ = await orchestrator(
        "run", str(plan), "--yes", "--format", "json", journal=tmp_path / "j.sqlite3"
    )
    assert code == 0
    assert json.loads(out)["waves"][0]["approved_by"] == "alice@platform-team"


async def test_a_failed_preflight_exits_4_and_writes_nothing(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A token of another org: exit 4, no write in any org."""
    plan = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": CANARY[:2], "emea-prod": CONFIGS["emea-prod"][:2]},
        orgs={"canary": {"org_id": "6bf20828-23b1-5608-aeaf-43bd310cac84"}},
    )
    code, out, err = await orchestrator("run", str(plan), journal=tmp_path / "j.sqlite3")
    assert code == 4
    assert "preflight failed" in err and "canary" in err
    assert puts(sandbox) == []
    code, out, _ = await orchestrator("plan", str(plan), journal=tmp_path / "j.sqlite3")
    assert code == 4 and "FAILED" in out


async def test_plan_and_dry_run_show_the_diff_and_write_nothing(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """`plan` and `run --dry-run`: per item current -> target and the changed fields."""
    plan = write_plan(tmp_path, sandbox.url, {"canary": CANARY[:2]})
    for args in (("plan", str(plan)), ("run", str(plan), "--dry-run")):
        code, out, _ = await orchestrator(*args, journal=tmp_path / "j.sqlite3")
        assert code == 0
        assert "v6 -> v5: write" in out and "content." in out
    code, out, _ = await orchestrator(
        "plan", str(plan), "--format", "json", journal=tmp_path / "j.sqlite3"
    )
    items = json.loads(out)["items"]
    assert [i["action"] for i in items] == ["write", "write"]
    assert all(i["changes"] and i["changes"][0]["path"] for i in items)
    assert puts(sandbox) == []


async def test_no_secret_or_token_in_any_output_or_file(sandbox: Sandbox, tmp_path: Path) -> None:
    """Everything a run printed and wrote, grepped for every secret and issued token."""
    plan = write_plan(
        tmp_path,
        sandbox.url,
        {"canary": CANARY, "emea-prod": CONFIGS["emea-prod"]},
        orgs={"emea-prod": {"client_secret": "wrong-secret"}},
    )
    journal = tmp_path / "j.sqlite3"
    outputs = []
    for args in (
        ("plan", str(plan), "--log-format", "json"),
        ("run", str(plan), "--log-format", "json", "--report", str(tmp_path / "r.json")),
    ):
        _, out, err = await orchestrator(*args, journal=journal)
        outputs += [out, err]
    plan2 = write_plan(tmp_path, sandbox.url, {"canary": CANARY}, name="second")
    for fmt in ("text", "json", "markdown"):
        _, out, err = await orchestrator(
            "run", str(plan2), "--format", fmt, "--log-format", "json", journal=journal
        )
        outputs += [out, err]
    tokens = sandbox.issued_tokens()
    assert tokens
    files = [
        p.read_bytes().decode(errors="replace")
        for p in tmp_path.rglob("*")  # noqa: ASYNC240 - the run is over; nothing else waits
        if p.is_file() and not p.name.endswith(".yaml")
    ]
    for text in outputs + files:
        for secret in (*SECRETS, "wrong-secret", *tokens):
            assert secret not in text


async def test_sigterm_stops_new_writes_prints_the_partial_report_and_exits_130(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """SIGTERM mid-run: no write starts after it, the report says interrupted, exit 130."""
    async with make_sandbox(faults={"*": Faults(latency=0.2)}) as sb:
        plan = write_plan(
            tmp_path,
            sb.url,
            {"canary": CANARY, "emea-prod": EMEA},
            orgs={"canary": {"concurrency": 1}, "emea-prod": {"concurrency": 1}},
        )
        process = await anyio.open_process(
            [
                sys.executable,
                "-m",
                "orchestrator",
                "run",
                str(plan),
                "--format",
                "json",
                "--journal",
                str(tmp_path / "j.sqlite3"),
            ],
        )
        with anyio.fail_after(30):
            while not puts(sb):  # noqa: ASYNC110 - the sandbox's log has no event to wait on
                await anyio.sleep(0.01)
            process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()  # the sandbox's clock
            assert process.stdout is not None
            out = b"".join([chunk async for chunk in process.stdout])
            code = await process.wait()
        await process.aclose()
        assert code == 130
        report = json.loads(out)
        assert report["status"] == "interrupted"
        assert report["summary"]["pending"] > 0
        # Writes already in flight may land; none leaves once the signal is handled.
        assert [r for r in puts(sb) if r.time > signalled + 0.1] == []
        assert len(puts(sb)) < len(CANARY) + len(EMEA)


async def test_output_paths_are_checked_before_the_first_request(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """--report into a missing folder or onto a folder: exit 2 at once, nothing sent."""
    plan = write_plan(tmp_path, sandbox.url, {"canary": CANARY[:1]})
    for report, why in ((tmp_path / "missing" / "r.json", "does not exist"), (tmp_path, "folder")):
        for command in (("run", str(plan)), ("resume",)):
            code, out, err = await orchestrator(
                *command, "--report", str(report), journal=tmp_path / "j.sqlite3"
            )
            assert code == 2 and why in err and "Traceback" not in err
            assert out == ""
    assert sandbox.requests == []


async def test_journal_and_report_files_are_private(sandbox: Sandbox, tmp_path: Path) -> None:
    """They hold every config's content: folders 0700, files 0600, whatever the umask."""
    plan = write_plan(tmp_path, sandbox.url, {"canary": CANARY[:1]})
    journal = tmp_path / "state" / "j.sqlite3"
    code, _, err = await orchestrator(
        "run", str(plan), "--report", str(tmp_path / "r.json"), journal=journal
    )
    assert code == 0, err
    modes = {
        p.relative_to(tmp_path).as_posix(): stat.S_IMODE(p.stat().st_mode)
        for p in tmp_path.rglob("*")  # noqa: ASYNC240 - the run is over
        if p.suffix != ".yaml"
    }
    assert modes.pop("state") == modes.pop("state/j.sqlite3.locks") == 0o700
    assert set(modes.values()) == {0o600} and "r.json" in modes and "state/j.sqlite3" in modes


# A file size limit makes the journal's disk "full" for one process (writes fail with EFBIG).
LIMITED = (
    "import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, ({0}, {0}));"
    " from orchestrator.cli.parser import main; sys.exit(main(sys.argv[1:]))"
)


async def test_a_journal_that_cannot_be_written_mid_run_exits_2_and_resume_finishes(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The journal's disk fills during the writes: exit 2, a clear message, no traceback;
    the run is left running, and resume finishes it without writing any config twice."""
    targets = {org: CONFIGS[org] for org in CONFIGS}
    plan = write_plan(tmp_path, sandbox.url, targets)
    journal = tmp_path / "j.sqlite3"
    done = await anyio.run_process(
        [
            sys.executable,
            "-c",
            LIMITED.format(560_000),
            "run",
            str(plan),
            "--journal",
            str(journal),
        ],
        check=False,
    )
    err = done.stderr.decode()
    assert done.returncode == 2 and "Traceback" not in err
    assert "error: journal" in err and "is left resumable" in err
    assert 0 < len(sandbox.writes()) < 25  # it stopped mid-run, after some writes
    code, out, _ = await orchestrator("status", "--format", "json", journal=journal)
    assert code == 0 and [r["status"] for r in json.loads(out)] == ["running"]
    code, out, err = await orchestrator("resume", "--format", "json", journal=journal)
    assert code == 0, err
    assert {i["status"] for i in json.loads(out)["items"]} == {"succeeded"}
    for org, ids in targets.items():
        for config_id in ids:
            assert len(sandbox.writes(org, config_id)) == 1
