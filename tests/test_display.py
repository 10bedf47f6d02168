"""Progress displays: plain lines, the summary ticker, and the live display in a real pty.

The live display is driven in a child process whose stderr is a pseudo-terminal;
its output is fed to pyte (a terminal emulator) and the test reads the screen
the operator would see. ``python -m tests.test_display`` runs the scripted child.
"""

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
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import cast

import pyte
import pytest
from rich.console import Console

from orchestrator import logs
from orchestrator.engine.events import ItemDone, ItemView, RunStarted, WaveFinished, WaveStarted
from orchestrator.errors import ItemError
from orchestrator.statuses import Status, WaveStatus
from orchestrator.ui.counts import RunCounts, clock_text
from orchestrator.ui.live import LiveObserver, render
from orchestrator.ui.observers import LineObserver, SummaryObserver, choose_observer
from tests.conftest import FakeClock

ROOT = Path(__file__).resolve().parent.parent
COLUMNS, LINES = 120, 40


# ----- runs made of the engine's own event records -----------------------------------


class Pace:
    """Rates and quotas as a display reads them (the engine's is the HTTP client)."""

    def __init__(self, rates: dict[str, int] | None = None) -> None:
        self.rates = rates or {}

    def requests_last_minute(self, org: str) -> int:
        return self.rates.get(org, 0)

    def limit(self, org: str) -> int:
        return 300


@dataclass
class Run:
    """A run's items by wave, built from ``{wave: {org: items}}``."""

    waves: dict[str, tuple[str, ...]]
    items: dict[str, list[ItemView]] = field(default_factory=dict)
    pace: Pace = field(default_factory=Pace)

    def all(self) -> list[ItemView]:
        return [i for items in self.items.values() for i in items]

    def of(self, wave: str) -> list[ItemView]:
        return self.items[wave]

    def started(self, *, final: dict[int, Status] | None = None) -> RunStarted:
        """The run's start, with some items already final (an earlier process's)."""
        final = final or {}
        items = tuple(replace(i, status=final.get(i.seq)) for i in self.all())
        return RunStarted(run_id="RUN", items=items, pace=self.pace)

    def wave(self, index: int, name: str) -> WaveStarted:
        return WaveStarted(
            index=index, name=name, orgs=self.waves[name], items=len(self.items[name])
        )


def make_run(layout: dict[str, dict[str, int]], rates: dict[str, int] | None = None) -> Run:
    """Items round-robin across each wave's orgs, as a pool of workers finishes them."""
    run = Run(waves={w: tuple(orgs) for w, orgs in layout.items()}, pace=Pace(rates))
    seq = 0
    for wave, orgs in layout.items():
        items = run.items[wave] = []
        for i in range(max(orgs.values())):
            for org, count in orgs.items():
                if i < count:
                    items.append(
                        ItemView(
                            seq=seq, org=org, wave=wave, id=f"{org}-cfg{i}", name=None, status=None
                        )
                    )
                    seq += 1
    return run


def finish(
    item: ItemView, status: Status, message: str | None = None, version: int = 8
) -> ItemDone:
    """The event of ``item`` reaching ``status``."""
    return ItemDone(
        seq=item.seq,
        org=item.org,
        wave=item.wave,
        id=item.id,
        name=item.name,
        status=status,
        new_version=version if status is Status.SUCCEEDED else None,
        error=ItemError(code="x", message=message) if message else None,
    )


def ended(index: int, name: str, status: WaveStatus) -> WaveFinished:
    return WaveFinished(index=index, name=name, status=status, reason=None)


def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# ----- the model ----------------------------------------------------------------------


def test_tally_counts_a_recheck_once_and_resumed_items_at_start() -> None:
    """A bake's re-check turns a success into a failure without counting the item twice."""
    run = make_run({"canary": {"c": 2}, "rest": {"r": 2}})
    counts = RunCounts(FakeClock())
    counts.start(run.started(final={run.of("rest")[0].seq: Status.SKIPPED}))
    counts.wave_started(0, "canary")
    first, second = run.of("canary")
    counts.item_done(finish(first, Status.SUCCEEDED))
    counts.item_done(finish(second, Status.SUCCEEDED))
    counts.item_done(finish(first, Status.FAILED, "moved during the bake"))
    canary = counts.waves["canary"].count
    assert (canary.done, canary.ok, canary.failed) == (2, 1, 1)
    assert (counts.count.done, counts.count.skipped, counts.count.total) == (3, 1, 4)
    assert counts.recent() == [("c c-cfg0: failed: moved during the bake", True)]


def test_eta_follows_the_pace_since_the_wave_started() -> None:
    """Items already final at the wave's start do not speed up its ETA."""
    clock = FakeClock()
    run = make_run({"rest": {"a": 10}})
    counts = RunCounts(clock)
    counts.start(run.started())
    counts.item_done(finish(run.of("rest")[0], Status.FAILED, "refused in planning"))
    counts.wave_started(0, "rest")
    assert counts.waves["rest"].count.eta(clock.now) is None
    for job in run.of("rest")[1:3]:
        counts.item_done(finish(job, Status.SUCCEEDED))
    clock.now += 4.0  # 2 items in 4 s; 7 left
    assert counts.waves["rest"].count.eta(clock.now) == pytest.approx(14.0)


def test_countdown_and_clock_text() -> None:
    """Countdowns read like a clock and end with the phase that follows."""
    clock = FakeClock()
    counts = RunCounts(clock)
    counts.waiting("the change window opens at 2026-11-30T03:00:00Z", 7199.2)
    assert counts.activity() == "the change window opens at 2026-11-30T03:00:00Z: 2:00:00 left"
    clock.now += 7199.0
    assert counts.activity().endswith(": 1 s left")
    counts.set_phase("planning: reading 3 items")
    assert counts.activity() == "planning: reading 3 items"
    assert [clock_text(s) for s in (0, 42, 59.5, 187, 3600)] == [
        "0 s",
        "42 s",
        "1:00",
        "3:07",
        "1:00:00",
    ]


# ----- plain lines --------------------------------------------------------------------


def test_plain_prints_one_line_per_finished_item() -> None:
    """--plain on a terminal: a line per item with its count, version and error."""
    out = io.StringIO()
    observer = LineObserver(out)
    run = make_run({"canary": {"c": 2}})
    first, second = run.of("canary")
    observer.run_started(run.started())
    observer.wave_started(run.wave(0, "canary"))
    observer.item_done(finish(first, Status.SUCCEEDED, version=9))
    observer.item_done(finish(second, Status.FAILED, "HTTP 403: missing permission"))
    observer.item_done(finish(first, Status.FAILED, "moved during the bake"))
    observer.wave_finished(ended(0, "canary", WaveStatus.PARTIAL))
    assert out.getvalue().splitlines() == [
        "run RUN started: 2 items",
        "wave canary: 2 items in c",
        "[1/2] c c-cfg0 succeeded -> v9",
        "[2/2] c c-cfg1 failed: HTTP 403: missing permission",
        "[2/2] c c-cfg0 failed: moved during the bake",
        "wave canary partial",
    ]


def test_quiet_keeps_waves_countdowns_notes_and_failures() -> None:
    """--quiet: no phases, no successes; waves, waits, notes and failed items stay."""
    out = io.StringIO()
    observer = choose_observer(quiet=True, stream=out)
    run = make_run({"canary": {"c": 2}})
    first, second = run.of("canary")
    observer.run_started(run.started())
    observer.phase("preflight: 1 orgs")
    observer.wave_started(run.wave(0, "canary"))
    observer.item_done(finish(first, Status.SUCCEEDED))
    observer.item_done(finish(second, Status.DRIFTED, "changed by someone else"))
    observer.waiting("baking wave canary before re-checking it", 300)
    observer.note("approved by --yes: start wave rest?")
    observer.wave_finished(ended(0, "canary", WaveStatus.PARTIAL))
    observer.close()
    assert out.getvalue().splitlines() == [
        "run RUN started: 2 items",
        "wave canary: 2 items in c",
        "[2/2] c c-cfg1 drifted: changed by someone else",
        "waiting 5:00: baking wave canary before re-checking it",
        "approved by --yes: start wave rest?",
        "wave canary partial",
    ]


def test_summary_line_at_a_steady_interval_off_a_terminal() -> None:
    """A pipe gets a summary line every interval, plus wave, countdown and note lines."""
    out = io.StringIO()
    clock = FakeClock()
    observer = choose_observer(stream=out, interval=0.02)
    assert isinstance(observer, SummaryObserver)
    observer = SummaryObserver(out, interval=0.02, clock=clock)
    run = make_run({"canary": {"c": 1}, "rest": {"a": 3, "b": 1}}, rates={"a": 30, "b": 12})
    observer.run_started(run.started())
    observer.wave_started(run.wave(0, "canary"))
    observer.item_done(finish(run.of("canary")[0], Status.SUCCEEDED))
    observer.waiting("baking wave canary before re-checking it", 3)
    observer.wave_finished(ended(0, "canary", WaveStatus.SUCCEEDED))
    observer.note("approved by --yes: start wave rest (2 orgs)?")
    observer.wave_started(run.wave(1, "rest"))
    a0, b0, a1, _ = run.of("rest")
    observer.item_done(finish(a0, Status.SUCCEEDED))
    observer.item_done(finish(b0, Status.FAILED, "HTTP 403"))
    observer.item_done(finish(a1, Status.SUCCEEDED))
    clock.now += 6.0  # 3 items in 6 s: the last one in about 2 s

    def ticks() -> list[str]:
        return [line for line in out.getvalue().splitlines() if line.startswith("progress:")]

    before = len(ticks())  # the ticker may have spoken while the events came in
    wait_for(lambda: len(ticks()) >= before + 2)
    observer.close()
    ticker = [t for t in threading.enumerate() if t.name == "progress"]
    assert ticker == []  # stopped, and it was a daemon: it could never hold the process
    lines = out.getvalue().splitlines()
    expected = "progress: 4/5 done (3 ok, 1 failed), wave rest running (eta 2 s), 42 req/min"
    assert ticks()[-2] == expected
    assert lines[-1] == "progress: 4/5 done (3 ok, 1 failed), wave rest running (eta 2 s)"
    assert [line for line in lines if not line.startswith("progress:")] == [
        "run RUN started: 5 items in 2 wave(s)",
        "wave canary: 1 items in c",
        "waiting 3 s: baking wave canary before re-checking it",
        "wave canary succeeded",
        "approved by --yes: start wave rest (2 orgs)?",
        "wave rest: 4 items in a, b",
    ]


def test_choose_observer_by_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Live on a real terminal; lines with --plain, off a terminal or on TERM=dumb."""
    monkeypatch.setenv("TERM", "xterm-256color")
    master, slave = pty.openpty()
    with os.fdopen(slave, "w") as tty:
        assert isinstance(choose_observer(stream=tty), LiveObserver)
        assert type(choose_observer(stream=tty, plain=True)) is LineObserver
        assert isinstance(choose_observer(stream=io.StringIO()), SummaryObserver)
        assert isinstance(choose_observer(stream=io.StringIO(), plain=True), SummaryObserver)
        monkeypatch.setenv("TERM", "dumb")
        assert isinstance(choose_observer(stream=tty), SummaryObserver)
    os.close(master)


# ----- the live display's layout -------------------------------------------------------


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


# ----- the live display in a pseudo-terminal -------------------------------------------


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
    """The real demo on a pty: the final screen sums up waves and orgs; stdout is the report."""
    report = tmp_path / "report.json"
    argv = [sys.executable, "-m", "orchestrator", "demo", "--format", "json"]
    screen, raw = run_in_pty(argv, cwd=tmp_path, stdout=report)
    assert b"req/min" in raw  # the live area was drawn...
    visible = [line.rstrip() for line in screen.display]
    data = json.loads(report.read_text())
    summary = data["summary"]
    failed = sum(summary[s] for s in ("failed", "drifted", "unverified", "rate_limited"))
    headline = (
        f"20/20 done: {summary['succeeded'] + summary['already_at_target']} ok, "
        f"{failed} failed, {summary['skipped']} skipped"
    )
    assert any(re.match(rf"run {data['run_id']}  {headline}", line) for line in visible)
    rows = table_rows(visible)
    for wave in data["waves"]:
        done = f"{wave['items']}/{wave['items']}"
        assert [wave["name"], done, str(wave["failed"]), wave["status"]] in rows
    for org in {item["org"] for item in data["items"]}:
        items = [i for i in data["items"] if i["org"] == org]
        failures = [i for i in items if Status(i["status"]).is_failure]
        row = next(r for r in rows if r[0] == org and r[-1] != "succeeded")
        assert row[:3] == [org, f"{len(items)}/{len(items)}", str(len(failures))]
    assert "  (meanwhile a colleague edits emea-prod config d144ec01)" in visible
    assert any(
        line.startswith("  latam-prod Claims Assist Config: rate_limited: ") for line in visible
    )
    assert (
        "This run's own exit status would be 1 (partial); the demo exits 0. Explore it:" in visible
    )
    everything = screen_lines(screen)
    assert not [line for line in everything if "req/min" in line]  # ...and left nothing behind


def test_live_display_keeps_logs_whole_and_steps_aside_for_a_question(tmp_path: Path) -> None:
    """200 orgs, logs while it draws, a question between waves: all readable at the end."""
    argv = [sys.executable, "-m", "tests.test_display"]
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


# ----- the scripted child: ``python -m tests.test_display`` ----------------------------

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
