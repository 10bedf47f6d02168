"""The live display: its layout, and the real thing on a pseudo-terminal.

The live display is driven in a child process whose stderr is a pseudo-terminal;
its output is fed to pyte (a terminal emulator) and the test reads the screen
the operator would see. ``python -m tests.ui.test_live`` runs the scripted child."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import cast

import pyte
import pytest
from rich.console import Console

from orchestrator import logs
from orchestrator.statuses import Status, WaveStatus
from orchestrator.ui.counts import RunCounts
from orchestrator.ui.live import LiveObserver, render
from orchestrator.ui.observers import choose_observer
from tests.support import ROOT, FakeClock
from tests.ui.runs import ended, finish, make_run

STATUSES = [s.value for s in Status]

COLUMNS, LINES = 120, 40


def test_big_runs_show_the_busiest_unfinished_orgs_and_sum_the_rest() -> None:
    """200 orgs: 8 rows for the busiest unfinished ones, one row for the rest."""
    orgs = {f"org-{i:03}": 5 for i in range(200)}
    run = make_run({"rest": orgs}, rates={"org-190": 290, "org-191": 120})
    clock = FakeClock()
    counts = RunCounts(clock)
    counts.start(run.started())
    counts.wave_started(0, "rest")
    for job in run.of("rest")[:-30]:  # 970 done: the last 30 orgs have one item left
        counts.item_done(finish(job, Status.SUCCEEDED))
    clock.now += 10.0
    text = draw(counts, final=False)
    rows = [line for line in text.splitlines() if "org-" in line]
    assert len(rows) == 8
    assert rows[0].split() == ["org-190", "4/5", "0", "290/300", "eta", "3", "s"]
    assert rows[1].split()[:4] == ["org-191", "4/5", "0", "120/300"]
    assert "+ 192 more orgs (170 done)" in text
    assert "970/1000" in text


def test_final_summary_lists_failing_orgs_first() -> None:
    """At the end: every wave's status, the failing orgs first, the rest summed up."""
    orgs = {f"org-{i:03}": 2 for i in range(20)}
    run = make_run({"canary": {"c": 1}, "rest": orgs})
    counts = RunCounts(FakeClock())
    counts.start(run.started())
    for job in run.all():
        status = Status.FAILED if job.org == "org-017" else Status.SUCCEEDED
        counts.item_done(finish(job, status, "boom" if status is Status.FAILED else None))
    counts.wave_finished(ended(0, "canary", WaveStatus.SUCCEEDED))
    counts.wave_finished(ended(1, "rest", WaveStatus.PARTIAL))
    text = draw(counts, final=True)
    assert "req/min" not in text
    assert table_rows(text.splitlines()) == [
        ["canary", "1/1", "0", "succeeded"],
        ["c", "1/1", "0", "done"],
        ["rest", "40/40", "2", "partial"],
        ["org-017", "2/2", "2", "done"],
        *[[f"org-{i:03}", "2/2", "0", "done"] for i in range(7)],
        ["+", "12", "orgs", "done", "24/24", "0"],
    ]


def table_rows(lines: Sequence[str]) -> list[list[str]]:
    """The wave/org table's rows, split on blanks: from its rule to the blank line after it."""
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("───")) + 1
    end = next(i for i in range(start, len(lines)) if not lines[i].strip())
    return [line.split() for line in lines[start:end]]


def draw(counts: RunCounts, *, final: bool) -> str:
    console = Console(file=io.StringIO(), width=COLUMNS, color_system=None)
    console.print(render(counts, 8, final=final))
    return cast(io.StringIO, console.file).getvalue()


def run_in_pty(
    argv: Sequence[str],
    *,
    cwd: Path,
    stdout: Path | None = None,
    answers: dict[bytes, bytes] | None = None,
    timeout: float = 90.0,
) -> tuple[pyte.HistoryScreen, bytes]:
    """Run ``argv`` with stderr (and stdin; stdout unless a file is given) on a pty.

    Returns the emulated screen (scrollback included) after the child exits,
    and every byte the terminal received.
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TTY_", "NO_COLOR"))}
    env |= {"TERM": "xterm-256color", "COLUMNS": str(COLUMNS), "LINES": str(LINES)}
    env["PYTHONPATH"] = str(ROOT)
    out = stdout.open("wb") if stdout is not None else None
    child = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=out or slave,
        stderr=slave,
        cwd=cwd,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    screen = pyte.HistoryScreen(COLUMNS, LINES, history=2000)
    stream = pyte.ByteStream(screen)
    raw, pending = bytearray(), dict(answers or {})
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                if child.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every holder of the slave side has closed it
                break
            if not data:
                break
            stream.feed(data)
            raw += data
            for prompt in [p for p in pending if p in raw[-4096:]]:
                os.write(master, pending.pop(prompt))
        else:
            pytest.fail(f"{argv} did not finish in {timeout} s")
        assert child.wait(timeout=10) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(master)
        if out is not None:
            out.close()
    return screen, bytes(raw)


def screen_lines(screen: pyte.HistoryScreen) -> list[str]:
    """Scrollback then the visible screen, one string per row."""
    rows = [
        "".join(line[x].data for x in range(screen.columns)).rstrip() for line in screen.history.top
    ]
    return rows + [line.rstrip() for line in screen.display]


def test_live_demo_leaves_a_summary_and_keeps_stdout_clean(tmp_path: Path) -> None:
    """The real demo on a pty: the summary of waves and orgs stays on screen; stdout is the report.

    The Agent Assist step prints after it, so the summary is looked for in the
    scrollback too; the step's own lines are on the last screen.
    """
    report = tmp_path / "report.json"
    argv = [sys.executable, "-m", "orchestrator", "demo", "--format", "json"]
    screen, raw = run_in_pty(argv, cwd=tmp_path, stdout=report)
    assert b"req/min" in raw  # the live area was drawn...
    visible = [line.rstrip() for line in screen.display]
    everything = screen_lines(screen)
    data = json.loads(report.read_text())
    summary = data["summary"]
    failed = sum(summary[s] for s in ("failed", "drifted", "unverified", "rate_limited"))
    assert all(summary[status] for status in STATUSES)  # the story shows every status
    total = summary["total"]
    headline = (
        f"{total}/{total} done: {summary['succeeded'] + summary['already_at_target']} ok, "
        f"{failed} failed, {summary['skipped']} skipped"
    )
    assert any(re.match(rf"run {data['run_id']}  {headline}", line) for line in everything)
    rows = table_rows(everything)
    for wave in data["waves"]:
        done = f"{wave['items']}/{wave['items']}"
        assert [wave["name"], done, str(wave["failed"]), wave["status"]] in rows
    for org in {item["org"] for item in data["items"]}:
        items = [i for i in data["items"] if i["org"] == org]
        failures = [i for i in items if Status(i["status"]).is_failure]
        row = next(r for r in rows if r[0] == org and r[-1] != "succeeded")
        assert row[:3] == [org, f"{len(items)}/{len(items)}", str(len(failures))]
    assert "  (meanwhile a colleague edits emea-prod config d144ec01)" in everything
    assert any(
        line.startswith("  latam-prod Claims Assist Config: rate_limited: ") for line in everything
    )
    assert "        ~ copilot.summaryGenerationConfig.enabled: true → false" in visible
    for kind, name in (
        ("assistant", "Billing assistant"),
        ("assistant-queues", "Billing assistant"),
        ("agent-checklist", "Billing call checklist (v2)"),
    ):
        assert f"    {kind:<17} {name}: succeeded" in visible
    assert (
        "This run's own exit status would be 1 (partial); the demo exits 0. Explore it:" in visible
    )
    assert not [line for line in everything if "req/min" in line]  # ...and left nothing behind


def test_live_display_keeps_logs_whole_and_steps_aside_for_a_question(tmp_path: Path) -> None:
    """200 orgs, logs while it draws, a question between waves: all readable at the end."""
    argv = [sys.executable, "-m", "tests.ui.test_live"]
    screen, raw = run_in_pty(argv, cwd=ROOT, answers={b"[y/N] ": b"y\n"}, timeout=60)
    assert raw.count(b"req/min") > 5  # the live area was drawn, again and again...
    everything = screen_lines(screen)
    visible = [line.rstrip() for line in screen.display]
    for n in range(0, SCRIPT_REST_ITEMS, SCRIPT_LOG_EVERY):
        mine = [line for line in everything if f"marker=end{n} " in line]
        assert len(mine) == 1, mine
        assert "[info     ] batch finished" in mine[0]
        assert mine[0].endswith(f"marker=end{n} n={n} org=org-{n % 200:03}")
    assert "start wave rest (200 orgs)? [y/N] y" in everything
    assert any(line.startswith("run SCRIPTED  10/1010 done: 10 ok") for line in everything)
    assert any(
        re.match(r"run SCRIPTED  1010/1010 done: 999 ok, 11 failed", line) for line in visible
    )
    assert any(re.match(r"^\s+\+ 192 orgs done\s+", line) for line in visible)
    assert "  operator answered 'y'" in visible
    assert "after close" in visible
    assert not [line for line in everything if "req/min" in line]  # ...and left nothing behind


SCRIPT_REST_ITEMS = 1000


SCRIPT_LOG_EVERY = 100


def scripted_run() -> None:
    """Drive the display on this process's stderr as the engine would, logging meanwhile."""
    logs.configure(fmt="console")
    log = logs.get_logger()
    observer = choose_observer()
    assert isinstance(observer, LiveObserver), "stderr must be a terminal"
    orgs = {f"org-{i:03}": SCRIPT_REST_ITEMS // 200 for i in range(200)}
    run = make_run({"canary": {"canary-1": 5, "canary-2": 5}, "rest": orgs})
    observer.run_started(replace(run.started(), run_id="SCRIPTED"))
    observer.phase("preflight: 202 orgs")
    observer.wave_started(run.wave(0, "canary"))
    for job in run.of("canary"):
        observer.item_done(finish(job, Status.SUCCEEDED))
        time.sleep(0.01)
    observer.waiting("baking wave canary before re-checking it", 0.5)
    time.sleep(0.6)
    observer.wave_finished(ended(0, "canary", WaveStatus.SUCCEEDED))
    observer.suspend()
    answer = input("start wave rest (200 orgs)? [y/N] ")
    observer.note(f"operator answered {answer!r}")
    observer.wave_started(run.wave(1, "rest"))
    for n, job in enumerate(run.of("rest")):
        failed = n % 97 == 0
        if failed:
            observer.item_done(finish(job, Status.FAILED, "HTTP 500 after 5 attempts"))
        else:
            observer.item_done(finish(job, Status.SUCCEEDED))
        if n % SCRIPT_LOG_EVERY == 0:
            log.info("batch finished", n=n, org=job.org, marker=f"end{n}")
        time.sleep(0.0005)
    observer.wave_finished(ended(1, "rest", WaveStatus.PARTIAL))
    observer.close()
    print("after close", file=sys.stderr)


if __name__ == "__main__":
    scripted_run()


def test_server_text_in_the_live_display_is_escaped() -> None:
    """A failure message with ANSI escapes and CR shows as text; the terminal obeys none of it."""
    run = make_run({"all": {"org-a": 2}})
    counts = RunCounts(FakeClock())
    counts.start(run.started())
    counts.wave_started(0, "all")
    spoof = "\x1b[2K\r\x1b[32msucceeded\x1b[0m\u202e"
    counts.item_done(finish(run.of("all")[0], Status.FAILED, message=f"no{spoof}"))
    counts.note(f"note{spoof}")
    for final in (False, True):
        text = draw(counts, final=final)
        assert not any(c in text for c in "\x1b\r\u202e")
        assert "\\x1b[32msucceeded" in text
