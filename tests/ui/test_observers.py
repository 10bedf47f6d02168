"""Progress as lines: --plain, --quiet, the summary ticker, and which observer is chosen."""

from __future__ import annotations

import io
import os
import pty
import threading

import pytest

from orchestrator.statuses import Status, WaveStatus
from orchestrator.ui.live import LiveObserver
from orchestrator.ui.observers import LineObserver, SummaryObserver, choose_observer
from tests.support import FakeClock
from tests.ui.runs import ended, finish, make_run, wait_for


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
    observer.item_done(
        finish(first, Status.FAILED, "moved during the bake", previous=Status.SUCCEEDED)
    )
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


def test_progress_lines_escape_server_text() -> None:
    """A failure message that would erase the line and print a green 'succeeded': escaped."""
    out = io.StringIO()
    observer = LineObserver(out)
    run = make_run({"canary": {"c": 1}})
    observer.run_started(run.started())
    spoof = "\x1b[2K\r\x1b[32msucceeded\x1b[0m\nfake line"
    observer.item_done(finish(run.of("canary")[0], Status.FAILED, f"HTTP 400: {spoof}"))
    observer.note(f"note: {spoof}")
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and not any(c in out.getvalue() for c in "\x1b\r")
    assert lines[1].endswith("failed: HTTP 400: \\x1b[2K\\r\\x1b[32msucceeded\\x1b[0m\\nfake line")
