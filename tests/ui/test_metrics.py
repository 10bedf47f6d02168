"""--metrics-file: Prometheus text format, read back with prometheus_client's parser."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import anyio
import pytest
from prometheus_client.parser import text_string_to_metric_families

from orchestrator.engine.events import ItemDone, ItemView, Observer, RunStarted
from orchestrator.sandbox import Faults
from orchestrator.statuses import Status
from orchestrator.ui.metrics import MetricsObserver
from tests.support import CONFIGS, SandboxFactory, puts, write_plan
from tests.ui.runs import finish

pytestmark = pytest.mark.anyio


async def _run(plan: Path, journal: Path, *extra: str) -> tuple[int, str]:
    done = await anyio.run_process(
        [
            sys.executable,
            "-m",
            "orchestrator",
            "run",
            str(plan),
            "--yes",
            "--quiet",
            "--journal",
            str(journal),
            *extra,
        ],
        check=False,
        env={**os.environ, "ORCHESTRATOR_ACTOR": "metrics@test"},
    )
    return done.returncode, done.stderr.decode()


def _samples(path: Path) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    families = text_string_to_metric_families(path.read_text())
    return {(s.name, frozenset(s.labels.items())): s.value for f in families for s in f.samples}


async def test_the_metrics_file_counts_items_requests_429s_and_durations(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """Items by status, requests by method and code, 429s, org rates, run status."""
    faults = {"canary": Faults(throttle_rate=0.3, throttle_burst=1, throttle_retry_after=1)}
    async with make_sandbox(faults=faults, rng_seed=5) as sb:
        plan = write_plan(tmp_path, sb.url, {"canary": CONFIGS["canary"][:3]})
        metrics = tmp_path / "orchestrator.prom"
        code, err = await _run(plan, tmp_path / "j.sqlite3", "--metrics-file", str(metrics))
        assert code == 0, err
        served = [r for r in sb.requests if r.path.startswith("/api/")]
    got = _samples(metrics)
    assert got["orchestrator_items", frozenset({("status", "succeeded")})] == 3
    assert got["orchestrator_items", frozenset({("status", "pending")})] == 0
    puts_ok = sum(1 for r in served if r.method == "PUT" and r.status == 200)
    assert puts_ok == 3 == len([r for r in puts(sb) if r.applied])
    labels = frozenset({("method", "PUT"), ("code", "200")})
    assert got["orchestrator_http_requests_total", labels] == puts_ok
    throttled = sum(1 for r in served if r.status == 429)
    assert throttled > 0
    assert got["orchestrator_http_rate_limited_total", frozenset()] == throttled
    api_requests = sum(
        v for (name, _), v in got.items() if name == "orchestrator_http_requests_total"
    )
    assert api_requests == len(served)
    assert got["orchestrator_item_duration_seconds_count", frozenset()] == 3
    assert got["orchestrator_org_rate_limit_per_minute", frozenset({("org", "canary")})] > 0
    run_status = {
        dict(labels)["status"]: v
        for (name, labels), v in got.items()
        if name == "orchestrator_run_status"
    }
    assert run_status["succeeded"] == 1 and sum(run_status.values()) == 1


async def test_an_unwritable_metrics_path_is_refused_before_any_request(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """Exit 2 and not a single request when the file's folder does not exist."""
    async with make_sandbox() as sb:
        plan = write_plan(tmp_path, sb.url, {"canary": CONFIGS["canary"][:1]})
        missing = tmp_path / "no-such-dir" / "orchestrator.prom"
        code, err = await _run(plan, tmp_path / "j.sqlite3", "--metrics-file", str(missing))
        assert code == 2 and "no-such-dir" in err
        assert sb.requests == []


class _Pace:
    def requests_last_minute(self, org: str) -> int:
        return 7

    def limit(self, org: str) -> int:
        return 300


def test_the_file_is_rewritten_while_the_run_works(tmp_path: Path) -> None:
    """Between the first write and the end, the periodic writer keeps the file current."""
    path = tmp_path / "orchestrator.prom"
    metrics = MetricsObserver(Observer(), path, interval=0.05)
    assert "orchestrator_items" in path.read_text()  # written at once: the path works
    views = tuple(
        ItemView(seq=n, org="canary", wave="w", id=f"id-{n}", name=None, status=None)
        for n in range(2)
    )
    metrics.run_started(RunStarted(run_id="r1", items=views, pace=_Pace()))
    metrics.item_done(
        ItemDone(
            seq=0,
            org="canary",
            wave="w",
            id="id-0",
            name=None,
            status=Status.SUCCEEDED,
            new_version=2,
            error=None,
            duration_s=0.2,
        )
    )
    wanted = ("orchestrator_items", frozenset({("status", "succeeded")}))
    deadline = time.monotonic() + 5
    while _samples(path).get(wanted) != 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    got = _samples(path)
    assert got[wanted] == 1
    assert got["orchestrator_items", frozenset({("status", "pending")})] == 1
    assert got["orchestrator_org_requests_last_minute", frozenset({("org", "canary")})] == 7
    running = frozenset({("run_id", "r1"), ("status", "running")})
    assert got["orchestrator_run_status", running] == 1
    metrics.close()


def test_a_recheck_moves_an_item_from_its_first_status(tmp_path: Path) -> None:
    """A bake's re-check sends a second status; the first is taken back, not counted twice."""
    metrics = MetricsObserver(Observer(), tmp_path / "orchestrator.prom")
    view = ItemView(seq=0, org="canary", wave="w", id="id-0", name=None, status=None)
    metrics.run_started(RunStarted(run_id="r1", items=(view,), pace=_Pace()))
    metrics.item_done(finish(view, Status.SUCCEEDED))
    metrics.item_done(finish(view, Status.DRIFTED, previous=Status.SUCCEEDED))
    counts = metrics.status_counts()
    metrics.close()
    assert (counts["succeeded"], counts["drifted"], counts["pending"]) == (0, 1, 0)
