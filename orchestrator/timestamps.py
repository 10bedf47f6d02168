"""Instants in plan files: ISO 8601 with a zone, normalised to aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, date, datetime

_EXAMPLE = "like 2026-11-28T14:00:00Z"


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
