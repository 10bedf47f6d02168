"""Instants: the one way they are written, read and shown.

Three forms, one module:

- a *stamp* (``2026-11-29T22:00:00.123Z``): what the journal stores; UTC,
  milliseconds, sorts as text;
- *zulu* (``2026-11-29T22:00:00Z``): what an operator reads and writes in
  ``to: {snapshot: T}``; whole seconds;
- a plan file's instant: ISO 8601 with a zone (:func:`parse_instant`).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

_EXAMPLE = "like 2026-11-28T14:00:00Z"
_second: tuple[int, str] = (-1, "")  # the last whole second stamped, and its text


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


def stamp(when: datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``; sorts as text."""
    if when is None:
        return _now_stamp()
    when = when.astimezone(UTC)
    return when.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _now_stamp() -> str:
    """:func:`stamp` of now: the journal stamps every step, so the whole second's text is
    kept (a datetime per stamp cost 2% of a run's CPU)."""
    global _second
    ns = time.time_ns()
    second, millis = divmod(ns // 1_000_000, 1000)
    if second != _second[0]:
        _second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{_second[1]}.{millis:03d}Z"


def zulu(when: datetime) -> str:
    """``2026-11-29T22:00:00Z``: an instant as an operator writes it (whole seconds, UTC)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def zulu_of(text: str) -> str:
    """A stamp shortened to whole seconds: ``2026-11-29T22:00:00Z``."""
    return text[:19] + "Z"


def parse_stamp(text: str) -> datetime:
    """The aware instant of a stamp (accepts any ISO 8601 with a zone, ``Z`` included).

    Raises:
        ValueError: not an ISO 8601 time.
    """
    instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def parse_instant(value: object) -> datetime:
    """The UTC instant of a YAML value: a string, or the datetime YAML made of it.

    YAML turns an unquoted ``2026-11-28T14:00:00Z`` into a datetime and a
    quoted one into a string; both are accepted. A time without a zone is
    refused: read in different places it would name different instants.

    Raises:
        ValueError: with a message that shows the accepted form.
    """
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, date):
        raise ValueError(
            f"expected a time with a zone, got the date {value.isoformat()}; "
            f"write {value.isoformat()}T00:00:00Z"
        )
    elif isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value.strip())
        except ValueError:
            got = f'got "{value[:40]}"'
            raise ValueError(f"expected an ISO 8601 time with a zone {_EXAMPLE}, {got}") from None
    else:
        raise ValueError(f"expected an ISO 8601 time with a zone {_EXAMPLE}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(
            f"{instant.isoformat()} has no zone; add one, e.g. {instant.isoformat()}Z for UTC"
        )
    return instant.astimezone(UTC)
