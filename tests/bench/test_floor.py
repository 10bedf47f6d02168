"""The floor: the baseline's four requests per rollback through bare aiohttp, on a sandbox process.

Timings are never asserted here: ``make bench`` prints them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.bench import compare, scale, scaletable
from orchestrator.bench.plans import rollbacks
from orchestrator.sandbox import generate_seed
from tests.bench.test_bench import scale_figures

SIZE = compare.Size(orgs=3, configs=4, concurrency=4)


def test_the_floor_rolls_every_config_back_once_with_four_requests_each(tmp_path: Path) -> None:
    """What the sandbox saw: one PUT per config, four requests per rollback, nothing refused."""
    targets = rollbacks(generate_seed(orgs=SIZE.orgs, configs=SIZE.configs))
    figures = compare.floor(SIZE, targets, tmp_path)
    client, log = figures["client"], figures["log"]
    items = SIZE.orgs * SIZE.configs
    assert client["succeeded"] == client["items"] == items and client["errors"] == []
    assert log["writes"]["ok"] and log["writes"]["exactly_one"] == items
    assert log["requests"] == 4 * items and log["token_requests"] == SIZE.orgs
    assert set(log["statuses"]) == {"200"}
    for key in ("rollbacks_per_s", "cpu_ms_per_rollback", "peak_rss_mib"):
        assert client[key] > 0


def test_a_refused_rollback_is_counted_and_named_not_written(tmp_path: Path) -> None:
    """A target version the server does not have: that config fails by name; the rest go on."""
    targets = rollbacks(generate_seed(orgs=SIZE.orgs, configs=SIZE.configs))
    org = next(iter(targets))
    (missing, _), *rest = targets[org]
    targets[org] = [(missing, 999), *rest]
    client = compare.floor(SIZE, targets, tmp_path)["client"]
    assert client["failed"] == 1 and client["succeeded"] == SIZE.orgs * SIZE.configs - 1
    assert client["errors"] and client["errors"][0].startswith(f"{missing}: GET ")
    assert " 404 " in client["errors"][0]


def test_the_budget_shows_what_the_floor_leaves_of_a_third_of_the_sdk() -> None:
    """Budget = SDK / 3; the floor's share of it; each backend's CPU above the floor."""
    out = {
        "sizes": [5000, 20000],
        "backends": {
            "sqlite": {
                "empty": scale_figures(0),
                "runs": {"5000": scale_figures(1.2), "20000": scale_figures(1.3)},
            },
        },
        "sdk": {"5000": scale_figures(3.6), "20000": scale_figures(2.7)},
        "floor": {"5000": scale_figures(0.6)},  # no floor at 20,000: no budget line there
    }
    out["goals"] = scale.goals(out)
    out["budget"] = scale.budget(out)
    assert set(out["budget"]) == {"5000"}
    five = out["budget"]["5000"]
    assert five["budget_ms"] == pytest.approx(1.2) and five["floor_share"] == pytest.approx(0.5)
    assert five["above_floor_ms"] == {"sqlite": pytest.approx(0.6)}
    text = scaletable.render(out)
    assert "floor: bare aiohttp" in text
    assert "budget at 5000 items: a third of the SDK's CPU is 1.200 ms" in text
    assert "0.600 ms (50% of it)" in text and "sqlite +0.600 ms" in text
