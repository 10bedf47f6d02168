"""The display's model: counts per wave and org, ETA and countdowns, from events."""

from __future__ import annotations

import pytest

from orchestrator.statuses import Status
from orchestrator.ui.counts import RunCounts, clock_text
from tests.support import FakeClock
from tests.ui.runs import finish, make_run


def test_tally_counts_a_recheck_once_and_resumed_items_at_start() -> None:
    """A bake's re-check turns a success into a failure without counting the item twice."""
    run = make_run({"canary": {"c": 2}, "rest": {"r": 2}})
    counts = RunCounts(FakeClock())
    counts.start(run.started(final={run.of("rest")[0].seq: Status.SKIPPED}))
    counts.wave_started(0, "canary")
    first, second = run.of("canary")
    counts.item_done(finish(first, Status.SUCCEEDED))
    counts.item_done(finish(second, Status.SUCCEEDED))
    counts.item_done(
        finish(first, Status.FAILED, "moved during the bake", previous=Status.SUCCEEDED)
    )
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
