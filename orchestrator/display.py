"""Choosing how progress is shown: a live display on a terminal, plain lines otherwise."""

from __future__ import annotations

from orchestrator.progress import LineObserver, Observer


def choose_observer(*, quiet: bool = False, plain: bool = False) -> Observer:
    """The observer for this terminal (or pipe)."""
    return LineObserver(quiet=quiet)
