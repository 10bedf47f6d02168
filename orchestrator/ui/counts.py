"""What a run has done so far, counted from the engine's events: the model displays draw.

Everything here comes from :mod:`orchestrator.engine.events`; nothing reads
the network or the journal. Events arrive on the event loop's thread;
displays read from their own threads (a live refresh, a summary ticker), so
one lock guards the counts and every event costs O(1) however big the run.
Request rates come from the event's :class:`~orchestrator.engine.events.Pace`,
which any thread may read.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from orchestrator.engine.events import ItemDone, Pace, RunStarted, WaveFinished
from orchestrator.statuses import Status

NOTES_KEPT = 3  # "recent" is a glance, not a log: the report lists every failure
FAILURES_KEPT = 5


@dataclass(slots=True)
class Count:
    """Items of one org, one wave or the run: how many, and how they ended."""

    total: int = 0
    done: int = 0
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    started: float | None = None  # clock time its wave started
    done_before: int = 0  # already final when it started (planning refusals, resume)

    def record(self, old: Status | None, new: Status) -> None:
        """An item became ``new`` (it was ``old``: a bake's re-check can fail a success)."""
        if old is None:
            self.done += 1
        else:
            self._bump(old, -1)
        self._bump(new, 1)

    def _bump(self, status: Status, step: int) -> None:
        if status.is_failure:
            self.failed += step
        elif status is Status.SKIPPED:
            self.skipped += step
        else:
            self.ok += step

    def begin(self, now: float) -> None:
        """Its wave starts now: the pace (and so the ETA) counts from here."""
        self.started = now
        self.done_before = self.done

    def eta(self, now: float) -> float | None:
        """Seconds left at the pace since its wave started; None until that pace exists."""
        left = self.total - self.done
        finished = self.done - self.done_before
        if self.started is None or left <= 0 or finished <= 0:
            return None
        return left * (now - self.started) / finished


class _NoPace:
    """Before the run starts: no requests, no quota."""

    def requests_last_minute(self, org: str) -> int:
        return 0

    def limit(self, org: str) -> int:
        return 0


@dataclass(slots=True)
class OrgCount:
    """One org's items and its request rate against its quota."""

    name: str
    pace: Pace
    count: Count = field(default_factory=Count)

    @property
    def rate(self) -> int:
        """Requests in the last minute."""
        return self.pace.requests_last_minute(self.name)

    @property
    def limit(self) -> int:
        """The quota the org is paced to, per minute."""
        return self.pace.limit(self.name)


@dataclass(slots=True)
class WaveCount:
    """One wave's items, its orgs, and how it ended."""

    name: str
    count: Count = field(default_factory=Count)
    orgs: dict[str, OrgCount] = field(default_factory=dict)
    index: int | None = None  # known once the engine names it
    status: str = "pending"
    reason: str | None = None

    @property
    def rate(self) -> int:
        """Requests in the last minute over all its orgs."""
        return sum(org.rate for org in self.orgs.values())

    @property
    def limit(self) -> int:
        """The sum of its orgs' quotas."""
        return sum(org.limit for org in self.orgs.values())


class RunCounts:
    """The run as the events tell it: counts per wave and org, phase, countdown, notes."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.RLock()  # reentrant: a renderer may ask for rates while holding it
        self.run_id: str | None = None
        self.started: float | None = None
        self.count = Count()
        self.waves: dict[str, WaveCount] = {}
        self.pace: Pace = _NoPace()
        self.current: str | None = None  # the running wave
        self.phase: str | None = None
        self.countdown: tuple[str, float] | None = None  # (what, clock time it ends)
        # kept apart so that a burst of failures does not push a note off the screen
        self.notes: deque[tuple[int, str]] = deque(maxlen=NOTES_KEPT)
        self.failures: deque[tuple[int, str]] = deque(maxlen=FAILURES_KEPT)
        self._said = itertools.count()  # orders notes and failures when they are merged

    def start(self, event: RunStarted) -> None:
        """The run exists: lay out its waves and orgs, counting items already final."""
        with self.lock:
            self.run_id, self.started, self.pace = event.run_id, self.clock(), event.pace
            for item in event.items:
                wave = self.waves.setdefault(item.wave, WaveCount(item.wave))
                org = wave.orgs.setdefault(item.org, OrgCount(item.org, self.pace))
                for count in (self.count, wave.count, org.count):
                    count.total += 1
                if item.status is not None:  # finished by an earlier process (resume)
                    self._record(None, item.status, wave, org)

    def set_phase(self, text: str) -> None:
        """A new phase replaces the last one and any countdown."""
        with self.lock:
            self.phase, self.countdown = text, None

    def wave_started(self, index: int, name: str) -> None:
        """A wave passed its gates: it is the running one, and its pace starts now."""
        with self.lock:
            wave = self._wave(name)
            wave.index, wave.status, self.current = index, "running", name
            self.countdown = None
            now = self.clock()
            wave.count.begin(now)
            for org in wave.orgs.values():
                org.count.begin(now)

    def item_done(self, event: ItemDone) -> None:
        """An item reached a final status (possibly a second one, after a bake)."""
        with self.lock:
            wave = self._wave(event.wave)
            org = wave.orgs.get(event.org)
            if org is None:  # not announced by run_started: count it all the same
                org = wave.orgs[event.org] = OrgCount(event.org, self.pace)
                for count in (self.count, wave.count, org.count):
                    count.total += 1
            self._record(event.previous, event.status, wave, org)  # a re-check may change one
            if event.status.is_failure:
                message = event.error.message if event.error else ""
                line = f"{event.org} {event.name or event.id}: {event.status}: {message}"
                self.failures.append((next(self._said), line))

    def wave_finished(self, event: WaveFinished) -> None:
        """A wave ended; a halt (a failure) or a skip (a note) says why."""
        name, status, reason = event.name, event.status, event.reason
        with self.lock:
            wave = self._wave(name)
            wave.index, wave.status, wave.reason = event.index, str(status), reason
            if self.current == name:
                self.current = None
            self.phase, self.countdown = f"wave {name} {status}", None
            if reason:
                kept = self.notes if status == "skipped" else self.failures
                kept.append((next(self._said), f"wave {name} {status}: {reason}"))

    def waiting(self, what: str, seconds: float) -> None:
        """A countdown starts (a bake, a change window)."""
        with self.lock:
            self.countdown = (what, self.clock() + seconds)

    def note(self, text: str) -> None:
        """Something the operator should read."""
        with self.lock:
            self.notes.append((next(self._said), text))

    def recent(self) -> list[tuple[str, bool]]:
        """The last few notes and failures in the order they came: (text, is a failure)."""
        merged = [(n, text, False) for n, text in self.notes]
        merged += [(n, text, True) for n, text in self.failures]
        return [(text, failure) for _, text, failure in sorted(merged)]

    def ordered_waves(self) -> list[WaveCount]:
        """Waves in plan order as far as the engine has named them, the rest as first seen."""
        ranked = sorted(
            enumerate(self.waves.values()),
            key=lambda pair: (pair[1].index is None, pair[1].index or 0, pair[0]),
        )
        return [wave for _, wave in ranked]

    def activity(self) -> str:
        """What the run is doing now: a countdown, the running wave, or the phase."""
        if self.countdown is not None:
            what, until = self.countdown
            left = until - self.clock()
            if left > 0:
                return f"{what}: {clock_text(left)} left"
        if self.current is not None:
            return f"wave {self.current} running"
        return self.phase or "starting"

    def total_rate(self) -> int:
        """Requests in the last minute over every org."""
        return sum(w.rate for w in self.waves.values())

    def _wave(self, name: str) -> WaveCount:
        return self.waves.setdefault(name, WaveCount(name))

    def _record(self, old: Status | None, status: Status, wave: WaveCount, org: OrgCount) -> None:
        for count in (self.count, wave.count, org.count):
            count.record(old, status)


def clock_text(seconds: float) -> str:
    """``42 s`` under a minute, ``3:07`` under an hour, ``1:59:59`` beyond."""
    whole = max(0, int(seconds + 0.999))  # a countdown shows 1 s until it is over
    if whole < 60:
        return f"{whole} s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"
