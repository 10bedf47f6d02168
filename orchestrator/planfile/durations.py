"""Durations as plan files write them: ``500ms``, ``20s``, ``2m``, ``1h`` or bare seconds."""

from __future__ import annotations

import math
import re

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_FORMS = "a duration like 500ms, 20s, 2m, 1h or a number of seconds"


def parse_duration(value: object) -> float:
    """Seconds (>= 0) for a duration value read from YAML.

    Raises:
        ValueError: with a message saying what is accepted.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected {_FORMS}, got {str(value).lower()}")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"expected {_FORMS} (not negative), got {value}")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.fullmatch(value.strip())
        if match:
            return float(match[1]) * _UNIT_SECONDS[match[2]]
        raise ValueError(f'expected {_FORMS}, got "{value[:40]}"')
    raise ValueError(f"expected {_FORMS}")


def describe_duration(seconds: float) -> str:
    """A short human form of ``seconds``, for summaries and messages."""
    for unit in ("h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        if seconds >= size and (seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    return f"{seconds * 1000:g}ms"
