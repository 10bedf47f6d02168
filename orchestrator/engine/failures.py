"""A journal that fails mid-run: one clear error that says the run can go on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from orchestrator.errors import JournalError


@contextmanager
def journal_failures(run_id: str | None) -> Iterator[None]:
    """A journal that fails mid-run (disk full, damaged) surfaces as one :class:`JournalError`.

    Inside the run's task groups it arrives wrapped in an ``ExceptionGroup``;
    out of here it comes alone, saying how to go on. Anything else in the
    group is a bug and propagates as it is.
    """
    try:
        yield
    except JournalError as exc:
        raise _left_resumable(exc, run_id) from None
    except BaseExceptionGroup as group:
        found, rest = group.split(JournalError)
        if found is None or rest is not None:
            raise
        first: BaseException = found
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        assert isinstance(first, JournalError)
        raise _left_resumable(first, run_id) from None


def _left_resumable(exc: JournalError, run_id: str | None) -> JournalError:
    if run_id is None:
        return exc
    return JournalError(
        f"{exc}; run {run_id} is left resumable: once the journal can be written again,"
        f" `orchestrator resume {run_id}` finishes it (it re-reads every write in doubt)"
    )
