"""Statuses and states: the vocabulary shared by the engine, journal and reports."""

from __future__ import annotations

import enum


class Status(enum.StrEnum):
    """An item's final status (cli.md)."""

    SUCCEEDED = "succeeded"
    ALREADY_AT_TARGET = "already_at_target"
    UNVERIFIED = "unverified"
    DRIFTED = "drifted"
    RATE_LIMITED = "rate_limited"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def is_failure(self) -> bool:
        """Counts against a wave's ``max_failed`` and makes the exit status 1."""
        return self in _FAILURES


_FAILURES = frozenset({Status.FAILED, Status.DRIFTED, Status.UNVERIFIED, Status.RATE_LIMITED})


class State(enum.StrEnum):
    """Where an item is in its life; journaled at every step, in this order."""

    NEW = "new"  # in the run, not yet read
    PLANNED = "planned"  # live state and target recorded
    INTENDED = "intended"  # a write is about to be sent (recorded before sending)
    WRITTEN = "written"  # the server confirmed the write; verification pending
    DONE = "done"  # final status recorded


class RunStatus(enum.StrEnum):
    """A run's status (the JSON report's ``status``)."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    HALTED = "halted"
    INTERRUPTED = "interrupted"


class WaveStatus(enum.StrEnum):
    """A wave's status in the report."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    HALTED = "halted"
    SKIPPED = "skipped"


EXIT_CODES = {
    RunStatus.SUCCEEDED: 0,
    RunStatus.PARTIAL: 1,
    RunStatus.FAILED: 1,
    RunStatus.HALTED: 3,
    RunStatus.INTERRUPTED: 130,
}
