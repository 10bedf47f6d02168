"""``--metrics-file``: the run in Prometheus text format, for the textfile collector.

node-exporter's textfile collector (the convention for batch jobs) reads
``*.prom`` files from a directory; this writes one every few seconds while
the run works and once more at the end, atomically (``prometheus_client``
writes a temporary file and renames it), so a scrape never sees half a file.

The observer forwards every event to the display it wraps and keeps the
numbers: items by status, an item duration histogram, and (read from the
run's HTTP client) requests by method and status code, 429s, retries,
conflicts, and each org's quota and requests in the last minute.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Histogram, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from orchestrator.engine.events import (
    ItemDone,
    Observer,
    Pace,
    RunStarted,
    WaveFinished,
    WaveStarted,
)
from orchestrator.errors import UsageError
from orchestrator.genesys.client import RunStats
from orchestrator.statuses import RunStatus, Status

INTERVAL = 5.0  # seconds between writes while the run works
PREFIX = "orchestrator"
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def check_writable(path: Path) -> None:
    """Refuse a metrics path that cannot be written, before any request is sent."""
    if not path.parent.is_dir():
        raise UsageError(f"--metrics-file {path}: directory {path.parent} does not exist")
    if path.is_dir():
        raise UsageError(f"--metrics-file {path}: is a directory")
    try:
        with path.open("a"):
            pass
    except OSError as exc:
        raise UsageError(f"--metrics-file {path}: cannot write: {exc.strerror}") from None


class _RunCollector(Collector):
    """The run's counters and gauges, read fresh at every write."""

    def __init__(self, owner: MetricsObserver) -> None:
        self._owner = owner

    def collect(self) -> Iterator[Metric]:
        o = self._owner
        items = GaugeMetricFamily(
            f"{PREFIX}_items", "Items of the run by status", labels=["status"]
        )
        for name, count in o.status_counts().items():
            items.add_metric([name], count)
        yield items
        status = GaugeMetricFamily(
            f"{PREFIX}_run_status", "1 for the run's current status", labels=["run_id", "status"]
        )
        for name in ["running", *(s.value for s in RunStatus)]:
            status.add_metric([o.run_id or "", name], 1.0 if name == o.status else 0.0)
        yield status
        yield GaugeMetricFamily(
            f"{PREFIX}_last_write_timestamp_seconds",
            "When this file was written (Unix time)",
            value=time.time(),
        )
        yield from _http_metrics(o.stats)
        yield from _org_metrics(o.pace, o.orgs)


def _http_metrics(stats: RunStats | None) -> Iterator[Metric]:
    if stats is None:
        return
    requests = CounterMetricFamily(
        f"{PREFIX}_http_requests",
        "API requests sent, by method and HTTP status (error: no answer)",
        labels=["method", "code"],
    )
    for (method, code), count in sorted(stats.answers.items()):
        requests.add_metric([method, code], count)
    yield requests
    for name, value, help_ in (
        ("http_rate_limited", stats.rate_limited, "Answers 429 Too Many Requests"),
        ("http_retries", stats.retries, "Requests sent again after a retryable failure"),
        ("http_conflicts", stats.conflicts, "Writes refused for a stale version or ETag"),
        ("http_server_errors", stats.server_errors, "Answers 5xx"),
    ):
        yield CounterMetricFamily(f"{PREFIX}_{name}", help_, value=value)


def _org_metrics(pace: Pace | None, orgs: tuple[str, ...]) -> Iterator[Metric]:
    if pace is None:
        return
    rate = GaugeMetricFamily(
        f"{PREFIX}_org_requests_last_minute",
        "Requests sent to the org in the last 60 s (the effective rate)",
        labels=["org"],
    )
    limit = GaugeMetricFamily(
        f"{PREFIX}_org_rate_limit_per_minute", "The quota the org is paced to", labels=["org"]
    )
    for org in orgs:
        rate.add_metric([org], pace.requests_last_minute(org))
        limit.add_metric([org], pace.limit(org))
    yield rate
    yield limit


class MetricsObserver(Observer):
    """Forwards to ``inner`` (the display); writes the metrics file as the run goes."""

    def __init__(self, inner: Observer, path: Path, *, interval: float = INTERVAL) -> None:
        self._inner = inner
        self.path = path
        self.run_id: str | None = None
        self.status = "running"
        self.pace: Pace | None = None
        self.stats: RunStats | None = None
        self.orgs: tuple[str, ...] = ()
        self._statuses: Counter[Status | None] = Counter()  # items per status (None: pending)
        self._lock = threading.RLock()  # write() holds it while collect() counts
        self._stop = threading.Event()
        self._registry = CollectorRegistry(auto_describe=True)
        self._durations = Histogram(
            f"{PREFIX}_item_duration_seconds",
            "Time from an item's first step to its final status",
            buckets=DURATION_BUCKETS,
            registry=self._registry,
        )
        self._registry.register(_RunCollector(self))
        self._writer = threading.Thread(target=self._every, args=(interval,), daemon=True)
        self.write()  # the path works before the first request

    def status_counts(self) -> dict[str, int]:
        """Items per status now (``pending``: not final yet)."""
        with self._lock:
            found = dict(self._statuses)
        counts = {s.value: 0 for s in Status} | {"pending": 0}
        for status, n in found.items():
            counts[status.value if status else "pending"] += n
        return counts

    def write(self) -> None:
        """Write the file now (atomically)."""
        with self._lock:
            write_to_textfile(str(self.path), self._registry)

    def finish(self, status: str) -> None:
        """The run ended with ``status``: the last write."""
        self.status = status
        self._stop.set()
        self.write()

    def _every(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.write()

    # ----- Observer ---------------------------------------------------------

    def run_started(self, event: RunStarted) -> None:
        self.run_id = event.run_id
        self.pace = event.pace
        stats = getattr(event.pace, "stats", None)
        self.stats = stats if isinstance(stats, RunStats) else None
        self.orgs = tuple(sorted({item.org for item in event.items}))
        with self._lock:
            self._statuses = Counter(item.status for item in event.items)
        if not self._writer.is_alive() and not self._stop.is_set():
            self._writer.start()
        self._inner.run_started(event)

    def item_done(self, event: ItemDone) -> None:
        with self._lock:
            if self._statuses[event.previous] > 0:  # else: an item no event announced
                self._statuses[event.previous] -= 1
            self._statuses[event.status] += 1
        if event.duration_s is not None:
            self._durations.observe(event.duration_s)
        self._inner.item_done(event)

    def phase(self, text: str) -> None:
        self._inner.phase(text)

    def wave_started(self, event: WaveStarted) -> None:
        self._inner.wave_started(event)

    def wave_finished(self, event: WaveFinished) -> None:
        self._inner.wave_finished(event)

    def waiting(self, what: str, seconds: float) -> None:
        self._inner.waiting(what, seconds)

    def note(self, text: str) -> None:
        self._inner.note(text)

    def suspend(self) -> None:
        self._inner.suspend()

    def close(self) -> None:
        self._stop.set()
        self._inner.close()
