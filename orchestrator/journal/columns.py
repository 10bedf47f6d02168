"""How the journal's records map to columns: JSON text, enums, and rows read by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from orchestrator import jsontext
from orchestrator.errors import ItemError, JournalError
from orchestrator.statuses import State

R = TypeVar("R")

ITEM_COLUMNS = (
    "seq, org, kind, resource_id, wave, spec, state, status, name, from_version, planned_etag,"
    " planned_modified, planned_hash, target_version, target_label, target_hash, target_fields,"
    " expected_version, new_version, attempts, conflicts, requests, started_at, finished_at,"
    " duration_s, error, shard"
)
SNAPSHOT_COLUMNS = (
    "id, org, kind, resource_id, taken_at, source, run_id, version, modified, content_hash, fields"
)


def dumps(value: Any) -> str | None:
    """JSON text for a column (None stays NULL)."""
    return None if value is None else jsontext.dumps(value)


def _loads(text: str | None) -> Any:
    return None if text is None else jsontext.loads(text)


def _error(text: str | None) -> ItemError | None:
    return None if text is None else ItemError.from_dict(jsontext.loads(text))


# Column name -> how a stored value becomes the record's value (identity if absent).
_CONVERT: dict[str, Callable[[Any], Any]] = {
    "http": jsontext.loads,
    "target_fields": _loads,
    "fields": jsontext.loads,
    "detail": _loads,
    "error": _error,
    "state": State,
    "gated": bool,
}


def record(cls: Callable[..., R], row: Mapping[str, Any], **convert: Callable[[Any], Any]) -> R:
    """A record from a row, field by field by column name.

    Raises:
        JournalError: a value is not what this release wrote there (a damaged
            or hand-edited journal).
    """
    values = {}
    for name, value in row.items():
        fn = convert.get(name) or _CONVERT.get(name)
        try:
            values[name] = fn(value) if fn is not None and value is not None else value
        except (ValueError, TypeError) as exc:
            raise JournalError(
                f"the journal's {name} value {value!r:.60} is unreadable: {exc}"
            ) from None
    return cls(**values)
