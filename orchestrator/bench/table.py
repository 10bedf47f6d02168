"""The benchmark's figures as plain-text tables (the JSON holds every figure)."""

from __future__ import annotations

import pstats
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

HOT_SPOTS = 20


def render(results: Mapping[str, Any]) -> str:
    """Machine facts, then each part that ran."""
    parts = [_machine(results["machine"], quick=results["quick"])]
    if "ratebound" in results:
        parts.append(_ratebound(results["ratebound"]))
    if "throughput" in results:
        parts.append(_throughput(results["throughput"]))
        if "profile" in results["throughput"]:
            parts.append(profile_text(results["throughput"]["profile"]))
    return "\n\n".join(parts)


def grid(rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell: the first left-aligned, the others right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _machine(facts: Mapping[str, Any], *, quick: bool) -> str:
    size = "QUICK (toy sizes: the machinery, not the figures)" if quick else "full size"
    return (
        f"orchestrator benchmark, {size}\n"
        f"command: {facts['command']}   commit: {facts['commit']}\n"
        f"machine: {facts['nproc']} cores, Python {facts['python']}, {facts['platform']}\n"
        f"load average (1/5/15 min) before: {_load(facts['load_average'])},"
        f" after: {_load(facts.get('load_average_after'))}"
    )


def _load(averages: Sequence[float] | None) -> str:
    return "-" if averages is None else "/".join(f"{a:.2f}" for a in averages)


def _writes(log: Mapping[str, Any], *, every_run: bool = True) -> str:
    writes = log["writes"]
    verdict = "ok" if writes["ok"] and every_run else "WRONG"
    return f"{writes['exactly_one']}/{writes['configs']} {verdict}"


def _spread(side: Mapping[str, Any], key: str, fmt: str) -> str:
    low, high = side[key]
    return f"{low:{fmt}}-{high:{fmt}}"


def _ratebound(scenarios: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        [
            "scenario",
            "requests",
            "429s",
            "makespan",
            "window bound",
            "paced R*60/L",
            "ratio",
            "max in 60 s / limit",
            "one PUT per config",
        ]
    ]
    for s in scenarios:
        log = s["log"]
        ratio = "-" if s["ratio"] is None else f"{s['ratio']:.3f} vs {s['reference']}"
        paced = "-" if s["paced_s"] is None else f"{s['paced_s']:.1f} s"
        rows.append(
            [
                f"({s['scenario']}) {s['orgs']} orgs x {s['configs']} @ {s['limit']}/min"
                + (
                    f" (file: {s['file_says']})"
                    if s.get("file_says", s["limit"]) != s["limit"]
                    else ""
                ),
                str(log["requests"]),
                str(log["rate_limited"]),
                f"{log['makespan_s']:.2f} s",
                f"{s['window_bound_s']:.1f} s",
                paced,
                ratio,
                f"{log['max_in_window']} / {s['limit']}",
                _writes(log),
            ]
        )
    return (
        "RATE-BOUND: sliding 60 s window per org, no faults, propagation delay 0\n"
        "makespan: first to last API request in the sandbox's log (token requests excluded:\n"
        "the window does not count them); R = the most API requests any org needed;\n"
        "window bound = 60*floor((R-1)/L); goals: ratio <= 1.05 where the window binds, no 429s;\n"
        "(c): the file says 10x the server's L, headers only with 429s: goal one 429 per org\n"
        + grid(rows)
    )


def _throughput(t: Mapping[str, Any]) -> str:
    ours, theirs = t["orchestrator"], t["baseline"]
    a, b = ours["client"], theirs["client"]

    def row(name: str, key: str, fmt: str, ratio: str = "") -> list[str]:
        return [name, format(a[key], fmt), format(b[key], fmt), ratio]

    rows = [
        ["", "orchestrator", "SDK baseline", "orchestrator / baseline"],
        row("rollbacks/s", "rollbacks_per_s", ".1f", f"{t['speed_ratio']:.2f}x (goal >= 2x)"),
        row(
            "CPU ms / rollback",
            "cpu_ms_per_rollback",
            ".3f",
            f"{t['cpu_ratio']:.2f}x (goal <= 0.5x)",
        ),
        row("peak RSS MiB", "peak_rss_mib", ".1f", f"{t['rss_ratio']:.2f}x"),
        row("wall s", "wall_s", ".2f"),
        row("CPU s", "cpu_s", ".2f"),
        row("waiting for a CPU s", "cpu_wait_s", ".2f"),
        row("rollbacks succeeded", "succeeded", "d"),
        [
            "requests (sandbox log)",
            str(ours["log"]["requests"]),
            str(theirs["log"]["requests"]),
            "",
        ],
        [
            f"rollbacks/s, all {t['rounds']} runs",
            _spread(ours, "rollbacks_per_s_range", ".0f"),
            _spread(theirs, "rollbacks_per_s_range", ".0f"),
            "",
        ],
        [
            f"CPU ms / rollback, all {t['rounds']} runs",
            _spread(ours, "cpu_ms_per_rollback_range", ".2f"),
            _spread(theirs, "cpu_ms_per_rollback_range", ".2f"),
            "",
        ],
        [
            "one PUT per config (every run)",
            _writes(ours["log"], every_run=ours["all_correct"]),
            _writes(theirs["log"], every_run=theirs["all_correct"]),
            "",
        ],
        [
            "sandbox CPU s serving",
            f"{ours['log']['serving_cpu_s']:.2f}",
            f"{theirs['log']['serving_cpu_s']:.2f}",
            "",
        ],
    ]
    verdict = (
        "MET"
        if t["goal_met"]
        else ("MISSED (hot spots: python -m orchestrator.bench --only throughput --profile)")
    )
    return (
        f"THROUGHPUT: {t['orgs']} orgs x {t['configs']} configs = {t['items']} rollbacks,\n"
        "sandbox rate limits off, each side against a fresh sandbox process;\n"
        f"{t['concurrency']} in flight (orchestrator: limits.concurrency {t['concurrency']},"
        f" {t['org_concurrency']} per org; baseline: {t['concurrency']} threads)\n"
        f"{t['rounds']} round(s), orchestrator and baseline alternating; each column is that"
        " side's median run\n"
        "rollbacks/s = succeeded / wall time;\n"
        "CPU and peak RSS (VmHWM) of the client's own process; 'waiting for a CPU' is time\n"
        "it was ready to run while other processes held both cores (it stretches wall time)\n"
        + grid(rows)
        + f"\ngoal (>= 2x rollbacks/s and <= 0.5x CPU per rollback): {verdict}"
    )


def hot_spots(path: Path, count: int = HOT_SPOTS) -> dict[str, list[dict[str, Any]]]:
    """Where a cProfile dump's time went.

    Returns:
        ``own``: the functions with the most time of their own, anywhere;
        ``inclusive``: the orchestrator's functions by time including their
        callees (what a fix in that function could save at most).
    """
    stats = pstats.Stats(str(path))
    # pstats keeps no public typed view of its table; the dict is stable since 2.x.
    table: dict[tuple[str, int, str], tuple[int, int, float, float, Any]]
    table = stats.stats  # type: ignore[attr-defined]
    total = sum(own for _, _, own, _, _ in table.values()) or 1.0

    def spots(keys: list[tuple[str, int, str]]) -> list[dict[str, Any]]:
        return [
            {
                "function": f"{_short(file)}:{line}:{name}",
                "calls": table[(file, line, name)][1],
                "own_s": table[(file, line, name)][2],
                "cumulative_s": table[(file, line, name)][3],
                "own_share": table[(file, line, name)][2] / total,
                "cumulative_share": table[(file, line, name)][3] / total,
            }
            for file, line, name in keys
        ]

    ours = [k for k in table if "/orchestrator/" in k[0] and "/orchestrator/bench/" not in k[0]]
    return {
        "own": spots(sorted(table, key=lambda k: table[k][2], reverse=True)[:count]),
        "inclusive": spots(sorted(ours, key=lambda k: table[k][3], reverse=True)[:count]),
    }


def _short(file: str) -> str:
    for marker in ("site-packages/", "lib/python3.11/", "/orchestrator/"):
        if marker in file:
            head = "orchestrator/" if marker == "/orchestrator/" else ""
            return head + file.split(marker, 1)[1]
    return file


def profile_text(spots: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    def rows(key: str, share: str) -> str:
        out = [["function", "calls", "own s", "cumulative s", "share"]]
        out += [
            [
                s["function"],
                str(s["calls"]),
                f"{s['own_s']:.2f}",
                f"{s['cumulative_s']:.2f}",
                f"{100 * s[share]:.1f}%",
            ]
            for s in spots[key]
        ]
        return grid(out)

    return (
        "ORCHESTRATOR HOT SPOTS (a separate run under cProfile, which inflates small calls)\n"
        "by own time (share of all profiled time):\n"
        + rows("own", "own_share")
        + "\n\norchestrator functions by time including callees (share of all profiled time):\n"
        + rows("inclusive", "cumulative_share")
    )
