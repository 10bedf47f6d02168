"""The cyclic garbage collector during a long run: the run's own objects out of its sight.

A run holds every item of its plan (a :class:`~orchestrator.engine.job.Job`
each) from start to end. Python's full collections scan every tracked object,
and happen every time a quarter as many objects as the oldest generation
holds have survived into it; the in-flight content of a busy run survives
that far by the thousand. So the full scans came more often *and* grew with
the plan: at 20,000 items the collector took 0.24 ms of each rollback's CPU,
more than twice its share at 5,000. Frozen (``gc.freeze``), the objects that
exist once planning is done (the plan, the jobs, the clients) are no longer
scanned; a full collection then costs what is in flight, not what is planned.

Frozen objects are never collected, so :func:`steady` thaws everything when
the run ends (a test suite or a service runs many plans in one process).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG = 20_000


@contextmanager
def steady() -> Iterator[None]:
    """Around a run: whatever :func:`settle` froze comes back to the collector on exit."""
    before = gc.get_threshold()
    gc.set_threshold(YOUNG, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def settle() -> None:
    """Everything alive now is the run's for its duration: the collector stops scanning it."""
    gc.freeze()
