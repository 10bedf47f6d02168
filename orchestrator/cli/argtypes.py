"""What some command-line values must look like, checked at parse time (exit 2)."""

from __future__ import annotations

import argparse
import re

from orchestrator.logs import printable
from orchestrator.models import Shard

RUN_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")


def patterns(text: str) -> tuple[str, ...]:
    patterns = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    if not patterns:
        raise argparse.ArgumentTypeError("name at least one org or glob")
    return patterns


def run_id(text: str) -> str:
    if not RUN_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{printable(text)!r}: a run id is 1 to 100 letters, digits, '-', '_' or '.'"
        )
    return text


def shard(text: str) -> Shard:
    try:
        return Shard.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 9999:
        raise argparse.ArgumentTypeError(f"expected a number of shards from 1, got {text!r}")
    return int(text)
