"""The scale part's figures as plain-text tables: the curve, journal overhead, hot spots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.bench import scale
from orchestrator.bench.table import grid, profile_text

OVERHEAD_SIZE = "5000"  # issue 12: journal overhead at 5,000 items


def render(s: Mapping[str, Any]) -> str:
    """The curve per backend, the SDK beside it, the goals; then the journal-overhead table."""
    parts = [_curve(s)]
    if all(OVERHEAD_SIZE in b["runs"] for b in s["backends"].values()) and len(s["backends"]) > 1:
        parts.append(_overhead(s))
    return "\n\n".join(parts)


def _curve(s: Mapping[str, Any]) -> str:
    rows = [
        [
            "backend",
            "items",
            "rollbacks/s",
            "CPU ms/rollback",
            "peak RSS MiB",
            "KiB/item over empty",
            "wall s",
            "CPU wait s",
            "one PUT per config",
        ]
    ]
    for backend, data in s["backends"].items():
        empty = data["empty"]
        rows.append([backend, "empty (1)", "-", "-", f"{empty['peak_rss_mib']:.1f}"] + ["-"] * 4)
        for n, r in data["runs"].items():
            rows.append(
                [
                    backend,
                    n,
                    f"{r['rollbacks_per_s']:.1f}",
                    _cpu(r),
                    f"{r['peak_rss_mib']:.1f}",
                    f"{r['rss_kib_per_item']:.2f}",
                    f"{r['wall_s']:.1f}",
                    f"{r['cpu_wait_s']:.1f}",
                    "ok" if r["writes_ok"] else "WRONG",
                ]
            )
    sides = [("SDK baseline", s.get("sdk", {})), ("floor: bare aiohttp", s.get("floor", {}))]
    for name, n, r in [(name, n, r) for name, runs in sides for n, r in runs.items()]:
        rows.append(
            [
                name,
                n,
                f"{r['rollbacks_per_s']:.1f}",
                _cpu(r),
                f"{r['peak_rss_mib']:.1f}",
                "-",
                f"{r['wall_s']:.1f}",
                f"{r['cpu_wait_s']:.1f}",
                f"{r.get('succeeded_least', r['succeeded'])}/{r['items']}",
            ]
        )
    return (
        "SCALE: one process, sandbox rate limits off, sandbox in its own process,\n"
        f"{scale.CONCURRENCY} in flight ({scale.ORG_CONCURRENCY} per org; SDK:"
        f" {scale.CONCURRENCY} threads); CPU and peak RSS (VmHWM) of the client's process;\n"
        "KiB/item = (peak RSS - the empty run's) / items; where a size ran in rounds,\n"
        "each row is its median run by CPU per rollback (the range of all rounds beside it)\n"
        "and the highest peak RSS of the rounds; the floor: the SDK baseline's four requests\n"
        "per rollback through bare aiohttp, nothing else\n" + grid(rows) + "\n" + _goals(s)
    )


def _cpu(r: Mapping[str, Any]) -> str:
    """CPU per rollback, with the range over the rounds where there were several."""
    text = f"{r['cpu_ms_per_rollback']:.3f}"
    if "cpu_ms_per_rollback_range" in r:
        low, high = r["cpu_ms_per_rollback_range"]
        text += f" ({low:.3f}-{high:.3f})"
    return text


def _goals(s: Mapping[str, Any]) -> str:
    lines = []
    for backend, g in s.get("goals", {}).items():
        shares = ", ".join(f"{n}: {v:.2f}x" for n, v in g["sdk_cpu_share"].items()) or "-"
        growth = "" if g["cpu_growth"] is None else f" {100 * g['cpu_growth']:+.1f}%"
        lines.append(
            f"goals ({backend}): peak RSS <= {scale.GOAL_PEAK_MIB:.0f} MiB and"
            f" <= {scale.GOAL_KIB_PER_ITEM:.0f} KiB/item at {scale.GOAL_SIZE} items:"
            f" {_verdict(g['peak_rss_ok'])}; CPU/rollback growth {scale.GROWTH_FROM} ->"
            f" {scale.GOAL_SIZE}{growth} (goal <= +{100 * scale.GOAL_CPU_GROWTH:.0f}%):"
            f" {_verdict(g['cpu_growth_ok'])}; CPU vs SDK {shares} (goal <= 0.33x at"
            f" {', '.join(map(str, sorted(scale.WITH_SDK)))}): {_verdict(g['sdk_cpu_ok'])}"
        )
    for n, b in s.get("budget", {}).items():
        above = ", ".join(f"{k} {v:+.3f} ms" for k, v in b["above_floor_ms"].items()) or "-"
        lines.append(
            f"budget at {n} items: a third of the SDK's CPU is {b['budget_ms']:.3f} ms per"
            f" rollback; the floor's four requests alone take {b['floor_ms']:.3f} ms"
            f" ({100 * b['floor_share']:.0f}% of it); the orchestrator above the floor: {above}"
        )
    verdicts = ("peak_rss_ok", "cpu_growth_ok", "sdk_cpu_ok")
    if any(g[v] is None for g in s.get("goals", {}).values() for v in verdicts):
        lines.append(
            "(-: not judged, this bench did not run what that goal names:"
            " its sizes, or the SDK baseline)"
        )
    return "\n".join(lines)


def _verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("MET" if ok else "MISSED")


def _overhead(s: Mapping[str, Any]) -> str:
    rows = [["backend", "rollbacks/s", "CPU ms/rollback", "peak RSS MiB"]]
    for backend, data in s["backends"].items():
        r = data["runs"][OVERHEAD_SIZE]
        rows.append(
            [
                backend,
                f"{r['rollbacks_per_s']:.1f}",
                f"{r['cpu_ms_per_rollback']:.3f}",
                f"{r['peak_rss_mib']:.1f}",
            ]
        )
    return "JOURNAL OVERHEAD: 5,000 items, limits off, SQLite vs PostgreSQL\n" + grid(rows)


def profile(name: str, spots: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    """One profiled scale run's hot spots, as the throughput part prints them."""
    return f"scale run {name}\n" + profile_text(spots)
