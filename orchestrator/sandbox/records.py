"""What the sandbox saw: one record per request, one per foreign write.

Tests assert on these rather than on what a client says it did. Records are
small slotted objects because the benchmark pushes hundreds of thousands of
them through one process.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestRecord:
    """One request the sandbox served (or dropped), as it arrived.

    Never holds a token or a secret: token requests keep only their
    ``grant_type`` as ``body``.
    """

    time: float  # the sandbox clock (time.monotonic by default) at arrival
    method: str
    path: str  # without the query string
    query: str
    org: str | None  # resolved from the token or the client credentials
    status: int | None  # None when the connection was dropped without an answer
    if_match: str | None
    correlation_id: str
    applied: bool = False  # the request changed state (a successful PUT or PATCH)
    dropped: bool = False
    resource_id: str | None = None  # the config or assistant id in the path
    body: Any = None  # parsed JSON of PUT/PATCH/POST bodies


@dataclass(frozen=True, slots=True, kw_only=True)
class ForeignWrite:
    """A change made by "another writer", not through the HTTP API.

    ``source`` is ``"edit_config"`` or ``"patch_assistant"`` (a test called the
    Sandbox method) or ``"concurrent_writer"`` (the fault fired just before an
    HTTP write was checked).
    """

    time: float
    org: str
    resource_id: str
    source: str
    version: int | None = None  # the version it created (configs only)


class RequestLog:
    """Records in arrival order, each filled in when its request completes.

    A slot is reserved at arrival so that a slow request (latency fault) still
    sorts before a fast one that arrived after it.
    """

    __slots__ = ("_limit", "_seq", "_slots")

    def __init__(self, limit: int | None = None) -> None:
        self._limit = limit  # keep only the newest `limit` requests; None keeps all
        self._seq = itertools.count()
        self._slots: dict[int, RequestRecord | None] = {}

    def reserve(self) -> int:
        """A slot for a request that just arrived."""
        seq = next(self._seq)
        slots = self._slots
        slots[seq] = None
        if self._limit is not None and len(slots) > self._limit:
            del slots[next(iter(slots))]
        return seq

    def fill(self, seq: int, record: RequestRecord) -> None:
        """Complete a slot; a slot cleared meanwhile stays cleared."""
        if seq in self._slots:
            self._slots[seq] = record

    def in_flight(self) -> int:
        """Requests that arrived and are not completed yet."""
        return sum(1 for r in self._slots.values() if r is None)

    def records(self) -> list[RequestRecord]:
        """Completed records, arrival order."""
        return [r for r in self._slots.values() if r is not None]

    def clear(self) -> None:
        """Forget every record, including those of requests still in flight."""
        self._slots = {}
