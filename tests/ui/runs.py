"""Runs made of the engine's own event records, for the display tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from orchestrator.engine.events import ItemDone, ItemView, RunStarted, WaveFinished, WaveStarted
from orchestrator.errors import ItemError
from orchestrator.statuses import Status, WaveStatus


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
    item: ItemView,
    status: Status,
    message: str | None = None,
    version: int = 8,
    previous: Status | None = None,
) -> ItemDone:
    """The event of ``item`` reaching ``status`` (from ``previous``: a bake's re-check)."""
    return ItemDone(
        seq=item.seq,
        org=item.org,
        wave=item.wave,
        id=item.id,
        name=item.name,
        status=status,
        new_version=version if status is Status.SUCCEEDED else None,
        error=ItemError(code="x", message=message) if message else None,
        previous=previous,
    )


def ended(index: int, name: str, status: WaveStatus) -> WaveFinished:
    return WaveFinished(index=index, name=name, status=status, reason=None)


def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``check`` until it holds (a thread's output has no event to wait on)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
