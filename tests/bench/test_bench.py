"""The benchmark's machinery at toy size: figures present, correctness checks pass.

Timings are never asserted here: ``make bench`` prints them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.bench import ratebound, scale, scaletable
from orchestrator.bench.__main__ import main
from orchestrator.bench.plans import rollbacks
from orchestrator.bench.ratebound import Scenario, bounds
from orchestrator.bench.requestlog import check_writes, max_in_window
from orchestrator.sandbox import RequestRecord, generate_seed

pytestmark = pytest.mark.anyio


def record(
    at: float, org: str = "o", status: int = 200, method: str = "GET", rid: str | None = None
) -> RequestRecord:
    return RequestRecord(
        time=at,
        method=method,
        path="/api/v2/agentassist/configs/x",
        query="",
        org=org,
        status=status,
        if_match=None,
        correlation_id="c",
        resource_id=rid,
    )


def put(rid: str, status: int = 200) -> RequestRecord:
    return record(0.0, status=status, method="PUT", rid=rid)


def test_bounds_follow_the_window_formula() -> None:
    """121 requests at 60/min: 120 s floor; 41 at 600/min: no floor, so even pacing is the bar."""
    window = bounds(121, 60, 126.0)
    assert (window["window_bound_s"], window["reference"]) == (120.0, "window")
    assert window["ratio"] == pytest.approx(1.05)
    paced = bounds(41, 600, 0.41)
    assert (paced["window_bound_s"], paced["reference"]) == (0.0, "paced")
    assert paced["paced_s"] == pytest.approx(4.1)
    assert paced["ratio"] == pytest.approx(0.1)
    assert bounds(41, None, 1.0)["ratio"] is None


def test_max_in_window_counts_admitted_arrivals_per_org() -> None:
    """Arrivals 60 s apart share no window; 429s took no slot; orgs are counted apart."""
    records = [record(t) for t in (0.0, 10.0, 59.9, 60.0, 61.0)]
    records += [record(30.0, status=429), record(30.0, org="p")]
    assert max_in_window(records) == 4  # 0, 10, 59.9 then 10, 59.9, 60, 61


def test_check_writes_flags_missing_and_repeated_puts() -> None:
    """One successful PUT per config passes; none, two, or a stray one fails."""
    good = [put("a"), put("b")]
    assert check_writes(good, {"o": ["a", "b"]})["ok"]
    refused = [put("a"), put("b", status=409)]
    assert check_writes(refused, {"o": ["a", "b"]})["missing"] == ["o/b"]
    twice = [*good, put("b")]
    assert check_writes(twice, {"o": ["a", "b"]})["repeated"] == ["o/b"]
    assert check_writes(good, {"o": ["a"]})["stray"] == ["o/b"]


def test_every_generated_config_gets_a_target_that_needs_a_write() -> None:
    """Where the previous version has the live content, an older differing one is chosen."""
    seed = generate_seed(orgs=3, configs=20)
    explicit = 0
    for org in seed.orgs:
        targets = dict(rollbacks(seed)[org.name])
        for config in org.configs:
            to = targets[config.id]
            version = config.versions[-2] if to is None else config.versions[to - 1]
            assert version.fields != config.versions[-1].fields
            explicit += to is not None
    assert explicit > 0  # the seed does have such configs: the branch is exercised


@pytest.mark.anyio
async def test_ratebound_scenario_reports_the_servers_figures(tmp_path: Path) -> None:
    """2 orgs x 3 configs, no limit: 1 + 4 per config API requests per org, one PUT each."""
    scenario = Scenario(name="toy", orgs=2, configs=3, requests_per_minute=None)
    figures = await ratebound.run(scenario, tmp_path)
    log = figures["log"]
    assert log["writes"]["ok"] and log["writes"]["exactly_one"] == 6
    assert (log["requests"], log["token_requests"], log["rate_limited"]) == (26, 2, 0)
    assert log["max_org_requests"] == 13 == log["max_in_window"]
    assert figures["engine"]["succeeded"] == 6 and figures["engine"]["http"]["requests"] == 26
    assert log["makespan_s"] >= 0 and figures["ratio"] is None


def test_quick_throughput_compares_both_clients_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Orchestrator and SDK baseline, each on its own sandbox process: both correct, all figures."""
    out = tmp_path / "bench.json"
    assert main(["--quick", "--only", "throughput", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["machine"]["nproc"] >= 1 and data["quick"] is True
    assert "--quick" in data["machine"]["command"]
    throughput = data["throughput"]
    for side in ("orchestrator", "baseline"):
        client, log = throughput[side]["client"], throughput[side]["log"]
        assert client["succeeded"] == throughput["items"] == log["writes"]["exactly_one"]
        assert log["writes"]["ok"] and log["rate_limited"] == 0
        assert throughput[side]["all_correct"] and len(throughput[side]["runs"]) == 1
        for key in ("rollbacks_per_s", "cpu_ms_per_rollback", "peak_rss_mib", "cpu_wait_s"):
            assert client[key] > 0 or key == "cpu_wait_s"
    assert {"speed_ratio", "cpu_ratio", "rss_ratio", "goal_met"} <= set(throughput)
    printed = capsys.readouterr().out
    assert "THROUGHPUT" in printed and str(out) in printed


def test_quick_sharded_runs_one_and_two_shard_processes_each_writing_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """1 then 2 `run --shard I/N` processes on one sandbox process: every config written once."""
    out = tmp_path / "bench.json"
    assert main(["--quick", "--only", "sharded", "--out", str(out)]) == 0
    figures = json.loads(out.read_text())["sharded"]
    assert set(figures["backends"]) == {"sqlite", "postgresql"}
    for result in figures["backends"].values():
        assert set(result["sides"]) == {"1", "2"}
        for side in result["sides"].values():
            assert side["exit_codes"] == [0] * side["shards"]
            assert side["writes"]["ok"] and side["writes"]["exactly_one"] == figures["items"]
            assert side["rollbacks_per_s"] > 0
        assert result["speedup"] > 0
    assert "2 shards vs 1" in capsys.readouterr().out


def test_quick_scale_runs_both_backends_against_an_empty_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Toy sizes on SQLite and a throwaway PostgreSQL: every run correct, per-item RSS figured."""
    out = tmp_path / "bench.json"
    argv = ["--quick", "--only", "scale", "--no-sdk", "--profile", "--out", str(out)]
    assert main(argv) == 0
    data = json.loads(out.read_text())["scale"]
    assert data["sizes"] == list(scale.QUICK)
    for backend in scale.BACKENDS:
        runs = data["backends"][backend]["runs"]
        empty = data["backends"][backend]["empty"]
        assert empty["succeeded"] == 1 and empty["writes_ok"]
        assert empty["journal_backend"] == backend
        for n, figures in runs.items():
            assert figures["journal_backend"] == backend
            assert figures["succeeded"] == int(n) and figures["writes_ok"]
            per_item = 1024 * (figures["peak_rss_mib"] - empty["peak_rss_mib"]) / int(n)
            assert figures["rss_kib_per_item"] == pytest.approx(per_item)
        goals = data["goals"][backend]
        assert goals["all_written_once"] and goals["sdk_cpu_ok"] is None
    for name, text in data["profiles"].items():
        assert Path(text).read_text().startswith(f"scale run {name}")
    printed = capsys.readouterr().out
    assert "SCALE" in printed and "JOURNAL OVERHEAD" not in printed  # 5,000 items only


def test_scale_sizes_outside_the_known_ones_are_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A usage error (exit 2) before anything runs."""
    with pytest.raises(SystemExit) as exc:
        main(["--only", "scale", "--sizes", "5000,7"])
    assert exc.value.code == 2
    assert "no scale size 7" in capsys.readouterr().err


def scale_figures(cpu_ms: float, rss: float = 60.0) -> dict[str, float | bool | int]:
    """One run's figures as the scale part keeps them (what goals and tables read)."""
    return {
        "rollbacks_per_s": 500.0,
        "cpu_ms_per_rollback": cpu_ms,
        "peak_rss_mib": rss,
        "rss_kib_per_item": 1.0,
        "wall_s": 1.0,
        "cpu_wait_s": 0.0,
        "writes_ok": True,
        "succeeded": 1,
        "items": 1,
    }


def test_scale_goals_and_the_journal_overhead_table() -> None:
    """Goals judged from the figures; the 5,000-item pair of backends gets its own table."""
    runs = {"5000": scale_figures(1.0, 60.0), "100000": scale_figures(1.05, 250.0)}
    slow = {"5000": scale_figures(1.0, 60.0), "100000": scale_figures(1.2, 400.0)}
    out = {
        "sizes": [5000, 100000],
        "backends": {
            "sqlite": {"empty": scale_figures(0, 50.0), "runs": runs},
            "postgresql": {"empty": scale_figures(0, 50.0), "runs": slow},
        },
        "sdk": {"5000": scale_figures(3.3, 300.0)},
    }
    out["goals"] = scale.goals(out)
    sqlite, postgresql = out["goals"]["sqlite"], out["goals"]["postgresql"]
    assert sqlite["peak_rss_ok"] and sqlite["cpu_growth_ok"] and sqlite["sdk_cpu_ok"]
    assert not postgresql["peak_rss_ok"] and not postgresql["cpu_growth_ok"]
    assert sqlite["sdk_cpu_share"] == {"5000": pytest.approx(1 / 3.3)}
    text = scaletable.render(out)
    assert "JOURNAL OVERHEAD: 5,000 items" in text and "MISSED" in text and "MET" in text


def test_scale_goals_are_judged_only_at_the_sizes_they_name() -> None:
    """A bench of 20,000 items alone judges the SDK share there, never the peak or the growth."""
    out = {
        "sizes": [20000],
        "backends": {
            "sqlite": {
                "empty": scale_figures(0, 50.0),
                "runs": {"20000": scale_figures(1.0, 400.0)},
            },
        },
        "sdk": {"20000": scale_figures(2.0, 300.0)},
    }
    out["goals"] = scale.goals(out)
    verdict = out["goals"]["sqlite"]
    assert verdict["peak_rss_ok"] is None  # 400 MiB, but at 20,000 items: the goal is at 100,000
    assert verdict["cpu_growth"] is None and verdict["cpu_growth_ok"] is None
    assert verdict["sdk_cpu_ok"] is False  # 0.5x at 20,000
    text = scaletable.render(out)
    assert "at 100000 items: -;" in text and "not judged" in text
    toy = {
        "sizes": [20, 60],
        "backends": {
            "sqlite": {"empty": scale_figures(0, 50.0), "runs": {"20": scale_figures(1.0, 60.0)}}
        },
        "sdk": {"20": scale_figures(3.3, 300.0)},
    }
    assert scale.goals(toy)["sqlite"]["sdk_cpu_ok"] is None  # toy sizes judge nothing


def test_a_bench_without_the_sdk_says_why_its_share_is_not_judged() -> None:
    """`--no-sdk` at the goal sizes: the peak and the growth are judged, the share is `-`."""
    runs = {"5000": scale_figures(1.0, 60.0), "100000": scale_figures(1.05, 200.0)}
    out = {
        "sizes": [5000, 100000],
        "backends": {"sqlite": {"empty": scale_figures(0, 50.0), "runs": runs}},
    }
    out["goals"] = scale.goals(out)
    verdict = out["goals"]["sqlite"]
    assert verdict["peak_rss_ok"] is True and verdict["cpu_growth_ok"] is True
    assert verdict["sdk_cpu_ok"] is None
    text = scaletable.render(out)
    assert "(goal <= 0.33x at 5000, 20000): -" in text
    assert "not judged" in text and "or the SDK baseline" in text


def test_scale_rounds_visit_every_size_before_the_next_round() -> None:
    """Round by round, so the machine's drift over a bench falls on every size alike."""
    order = scale.schedule([5_000, 20_000, 100_000], 2)
    assert order == [(0, 5_000), (0, 20_000), (0, 100_000), (1, 5_000), (1, 20_000), (1, 100_000)]


def test_scale_sizes_run_in_rounds_are_their_median_run_by_cpu() -> None:
    """The middle run by CPU stands for the size, with the highest peak RSS of the rounds."""
    rounds = [scale_figures(1.2, 60.0), scale_figures(0.9, 70.0), scale_figures(1.0, 65.0)]
    rounds[0]["writes_ok"] = False
    chosen = scale.median(rounds)
    assert chosen["cpu_ms_per_rollback"] == 1.0
    assert chosen["peak_rss_mib"] == 70.0  # the highest round's: memory is not averaged away
    assert chosen["rounds"] == 3
    assert chosen["cpu_ms_per_rollback_runs"] == [1.2, 0.9, 1.0]
    assert chosen["cpu_ms_per_rollback_range"] == [0.9, 1.2]
    assert chosen["writes_ok"] is False  # one wrong round makes the size wrong
    sdk = [{k: v for k, v in r.items() if k != "writes_ok"} for r in rounds]
    sdk[0]["succeeded"] = 0  # a round that is not the median did nothing
    theirs = scale.median(sdk)
    assert "writes_ok" not in theirs
    assert theirs["succeeded"] == 1 and theirs["succeeded_least"] == 0
    alone = scale.median([scale_figures(1.1, 60.0)])
    assert alone == scale_figures(1.1, 60.0)  # one run: as it was
    out = {
        "sizes": [5000],
        "backends": {"sqlite": {"empty": scale_figures(0, 50.0), "runs": {"5000": chosen}}},
        "sdk": {"5000": theirs},
    }
    out["goals"] = scale.goals(out)
    text = scaletable.render(out)
    assert "1.000 (0.900-1.200)" in text
    assert "WRONG" in text  # our wrong round
    assert "0/1" in text  # the SDK's worst round
