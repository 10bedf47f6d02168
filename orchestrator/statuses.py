"""Statuses, states and exit codes: the vocabulary shared by every layer."""

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


class ExitCode(enum.IntEnum):
    """The process's exit status (cli.md, "Exit status")."""

    OK = 0  # every item succeeded or was already at target; validate/plan: all is well
    FAILURES = 1  # at least one item failed, drifted, is unverified or rate-limited
    USAGE = 2  # bad command line, invalid plan, journal problem: nothing was sent
    HALTED = 3  # a gate stopped the run (threshold, approval, window)
    PREFLIGHT = 4  # preflight failed: nothing was written
    INTERRUPTED = 130  # SIGINT/SIGTERM: the journal is consistent, resume finishes


EXIT_CODES = {
    RunStatus.SUCCEEDED: ExitCode.OK,
    RunStatus.PARTIAL: ExitCode.FAILURES,
    RunStatus.FAILED: ExitCode.FAILURES,
    RunStatus.HALTED: ExitCode.HALTED,
    RunStatus.INTERRUPTED: ExitCode.INTERRUPTED,
}
"""The exit code a run's status maps to (a failed preflight overrides it with 4)."""


WRITE_CONFIRMED = "write.confirmed"
"""The journal event of a write whose answer showed it applied."""
WRITE_UNKNOWN = "write.unknown"
"""The journal event (and item error code) of a write that may have happened."""
WRITE_EVENTS = (WRITE_CONFIRMED, WRITE_UNKNOWN)
"""The events that record a write that may have landed, with its correlation id:
the report names them, and the journal indexes them by item."""
