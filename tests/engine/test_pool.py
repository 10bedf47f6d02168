"""fan_out: every item once, each org within its width, the run within its total."""

from __future__ import annotations

from collections import Counter

import anyio
import pytest

from orchestrator.engine.pool import fan_out

pytestmark = pytest.mark.anyio


async def test_widths_and_the_total_hold_and_orgs_take_turns() -> None:
    """Three orgs of unequal size: no org over its width, never more than the total at once."""
    groups = {"big": [f"big-{i}" for i in range(12)], "a": ["a-0", "a-1"], "b": ["b-0"]}
    widths = {"big": 3, "a": 1, "b": 2}
    running: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    started: list[str] = []

    async def handle(item: str) -> None:
        org = item.split("-")[0]
        running[org] += 1
        started.append(item)
        peak[org] = max(peak[org], running[org])
        peak["all"] = max(peak["all"], sum(running[o] for o in groups))
        await anyio.sleep(0.01)
        running[org] -= 1

    await fan_out(groups, widths.__getitem__, handle, total=4)
    assert sorted(started) == sorted(i for items in groups.values() for i in items)
    assert peak["big"] == 3 and peak["a"] == 1 and peak["all"] == 4
    # Each org's items in order; the small orgs are not left until the big one is done.
    for org, items in groups.items():
        assert [s for s in started if s.startswith(org + "-")] == items
    assert started.index("a-0") < 3 and started.index("b-0") < 3


async def test_once_proceed_says_no_nothing_more_starts() -> None:
    """The items not started are left alone; those in work finish."""
    started: list[int] = []

    async def handle(item: int) -> None:
        started.append(item)
        await anyio.sleep(0.01)

    await fan_out(
        {"one": list(range(10))}, lambda _: 2, handle, total=8, proceed=lambda: len(started) < 3
    )
    assert started == [0, 1, 2]
