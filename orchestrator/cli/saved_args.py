"""The command-line arguments of reviewed plans: ``plan --out`` and ``apply``.

Kept apart from :mod:`orchestrator.cli.parser` (which stays small and imports
nothing heavy); the commands themselves live in ``saving`` and ``applying``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from orchestrator.planfile.durations import parse_duration

APPLY_HELP = "run a saved plan (`plan --out`) exactly as reviewed; refuse what changed since"
APPLY_EXAMPLE = "orchestrator apply reviewed.json --max-age 12h"
DEFAULT_MAX_AGE = 24 * 3600.0


def add_out(p: argparse.ArgumentParser) -> None:
    """``plan --out FILE``."""
    p.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="also save what it shows (JSON, sealed by a digest) for review; then"
        " `orchestrator apply FILE` runs exactly that",
    )


def add_apply(p: argparse.ArgumentParser) -> None:
    """``apply FILE [--max-age DURATION] [--no-wait]`` (the run options are the parser's)."""
    p.add_argument("file", type=Path, help="the file `orchestrator plan PLAN --out` saved")
    p.add_argument(
        "--max-age",
        type=max_age,
        default=DEFAULT_MAX_AGE,
        metavar="DURATION",
        help="refuse a file saved longer ago than this (default 24h)",
    )
    p.add_argument(
        "--no-wait",
        action="store_true",
        help="refuse (exit 3) instead of waiting for schedule.not_before",
    )


def max_age(text: str) -> float:
    """``--max-age``: a duration longer than zero, in seconds."""
    try:
        bare = text.strip().replace(".", "", 1).isdigit()  # seconds, as plan files allow
        seconds = parse_duration(float(text) if bare else text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError("must be longer than 0")
    return seconds
