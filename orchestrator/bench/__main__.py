"""``python -m orchestrator.bench``: run the benchmarks, print a table, write JSON.

Figures are printed, never asserted. ``--quick`` runs toy sizes (the
machinery, not the numbers); ``--only`` picks one part; ``make bench`` runs
everything at full size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import structlog

from orchestrator import logs
from orchestrator.bench import compare, ratebound, scale, scaletable, sharded, table

DEFAULT_OUT = Path(".orchestrator") / "bench.json"
PARTS = ("ratebound", "throughput", "scale", "sharded")
FULL_ROUNDS = 3  # a shared machine is noisy: the median of three resists one bad run


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.bench", description=__doc__)
    parser.add_argument("--only", choices=PARTS, help="run one part only")
    parser.add_argument("--quick", action="store_true", help="toy sizes: check the machinery")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON goes")
    parser.add_argument("--keep", type=Path, help="keep plans, journals and logs in this directory")
    parser.add_argument(
        "--rounds",
        type=int,
        help="throughput: run both sides this many times, alternating, and keep each side's"
        f" median (default {FULL_ROUNDS}, or 1 with --quick)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile the orchestrator's throughput run (cProfile) and print its hot spots;"
        " scale: profile every orchestrator run instead and write each one's hot spots"
        " beside --out",
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        help="scale: item counts to run, comma-separated, from"
        f" {', '.join(map(str, scale.SHAPES))} (default all; e.g. --sizes 5000 for a quick look)",
    )
    parser.add_argument(
        "--backends",
        type=_backends,
        default=scale.BACKENDS,
        help="scale: journal backends, comma-separated (default sqlite,postgresql)",
    )
    parser.add_argument("--no-sdk", action="store_true", help="scale: skip the SDK baseline runs")
    return parser


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s.replace("_", "")) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of item counts: {text!r}") from None
    unknown = [n for n in sizes if n not in scale.SHAPES]
    if unknown:
        known = ", ".join(map(str, scale.SHAPES))
        raise argparse.ArgumentTypeError(f"no scale size {unknown[0]}; known: {known}")
    return sizes


def _backends(text: str) -> tuple[str, ...]:
    backends = tuple(b.strip() for b in text.split(","))
    for b in backends:
        if b not in scale.BACKENDS:
            raise argparse.ArgumentTypeError(f"no backend {b!r}; known: sqlite, postgresql")
    return backends


def machine(argv: list[str]) -> dict[str, Any]:
    """Facts that make the figures comparable: cores, Python, the command, the commit."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "command": shlex.join(["python", "-m", "orchestrator.bench", *argv]),
        "commit": commit or None,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average": os.getloadavg(),
    }


def run_ratebound(quick: bool, workdir: Path) -> list[dict[str, Any]]:
    """Every rate-bound scenario, one after another (each owns the clock while it runs)."""
    out = []
    for scenario in ratebound.QUICK if quick else ratebound.FULL:
        _say(f"rate-bound ({scenario.name}): {scenario.orgs} orgs x {scenario.configs} configs")
        out.append(anyio.run(ratebound.run, scenario, workdir, backend="asyncio"))
    return out


def run_throughput(quick: bool, workdir: Path, rounds: int, profile: bool) -> dict[str, Any]:
    """The orchestrator against the SDK baseline."""
    size = compare.QUICK if quick else compare.FULL
    _say(
        f"throughput: {size.orgs} orgs x {size.configs} configs, orchestrator and SDK baseline"
        f" alternating, {rounds} round(s)"
    )
    figures = compare.run(size, workdir, rounds=rounds)
    if profile:
        _say("throughput: once more under cProfile (figures of this run are not reported)")
        path, profiled = workdir / "orchestrator.prof", workdir / "profiled"
        profiled.mkdir(exist_ok=True)
        compare.orchestrator(size, compare.targets_of(size), profiled, profile=path)
        figures["profile"] = table.hot_spots(path)
    return figures


def run_scale(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """The scale curve; with ``--profile`` each run's hot spots, written beside ``--out``."""
    sizes = tuple(scale.QUICK) if args.quick else args.sizes or tuple(scale.SHAPES)
    folder = None
    if args.profile:
        folder = workdir / "profiles"
        folder.mkdir(exist_ok=True)
    figures = scale.run(
        sizes,
        args.backends,
        workdir,
        quick=args.quick,
        with_sdk=not args.no_sdk,
        profile=folder,
        say=_say,
    )
    if folder is not None:
        figures["profiles"] = {}
        for prof in sorted(folder.glob("*.prof")):
            spots = table.hot_spots(prof)
            text = args.out.with_name(f"{args.out.stem}-profile-{prof.stem}.txt")
            text.parent.mkdir(parents=True, exist_ok=True)
            text.write_text(scaletable.profile(prof.stem, spots) + "\n")
            figures["profiles"][prof.stem] = str(text)
    return figures


@contextmanager
def item_logs(path: Path) -> Iterator[None]:
    """Log as ``orchestrator run`` does (a JSON line per item), to ``path``; restore after.

    Restoring matters when the bench runs inside another program (its test).
    """
    before = structlog.get_config()
    with path.open("w") as stream:
        logs.configure(fmt="json", stream=stream)
        try:
            yield
        finally:
            structlog.configure(**before)


def _say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the parts asked for; print the table; write the JSON."""
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    results: dict[str, Any] = {"machine": machine(argv), "quick": args.quick}
    with tempfile.TemporaryDirectory(prefix="orchestrator-bench-") as scratch:
        workdir = args.keep or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        if args.only in (None, "ratebound"):
            with item_logs(workdir / "ratebound.log"):
                results["ratebound"] = run_ratebound(args.quick, workdir)
        if args.only in (None, "throughput"):
            rounds = args.rounds or (1 if args.quick else FULL_ROUNDS)
            results["throughput"] = run_throughput(args.quick, workdir, rounds, args.profile)
        if args.only in (None, "scale"):
            results["scale"] = run_scale(args, workdir)
        if args.only in (None, "sharded"):
            size = sharded.QUICK if args.quick else sharded.FULL
            _say(f"sharded: {size.orgs} orgs x {size.configs} configs, 1 then 2 shard processes")
            results["sharded"] = sharded.run(size, workdir)
    results["machine"]["load_average_after"] = os.getloadavg()
    print(table.render(results))
    if "scale" in results:
        print("\n" + scaletable.render(results["scale"]))
    if "sharded" in results:
        print("\n" + sharded.render(results["sharded"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nfigures written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
