"""Choosing how progress is shown: a live display on a terminal, plain lines otherwise."""

from __future__ import annotations

import os
import sys
from typing import TextIO

from orchestrator.ui.observers import LineObserver, Observer, SummaryObserver

SUMMARY_INTERVAL = 10.0  # seconds between plain summary lines off a terminal


def choose_observer(
    *,
    quiet: bool = False,
    plain: bool = False,
    stream: TextIO | None = None,
    interval: float = SUMMARY_INTERVAL,
) -> Observer:
    """The observer for where progress goes (``stream``, by default stderr).

    - ``quiet``: waves, countdowns, notes and failed items, as plain lines.
    - a terminal: the live display, or with ``plain`` one line per finished item.
    - anything else (a pipe, a file, CI): a summary line every ``interval``
      seconds, plus waves, countdowns and notes.
    """
    if quiet:
        return LineObserver(stream, quiet=True)
    if not is_terminal(stream or sys.stderr):
        return SummaryObserver(stream, interval=interval)
    if plain:
        return LineObserver(stream)
    from orchestrator.ui.live import LiveObserver  # rich loads only when it draws

    return LiveObserver(stream or sys.stderr)


def is_terminal(stream: TextIO) -> bool:
    """A terminal that can move its cursor (not ``TERM=dumb``, as in some CI and editors)."""
    if os.environ.get("TERM") in ("dumb", "unknown"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or minimal stream: not a terminal
        return False
