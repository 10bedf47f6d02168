"""A plan's ``limits:`` and ``schedule:``: run-wide settings with safe defaults."""

from __future__ import annotations

from orchestrator.models import Backoff, Limits, Schedule
from orchestrator.planfile.durations import describe_duration, parse_duration
from orchestrator.planfile.problems import Problems
from orchestrator.planfile.yamlsafe import Map, Node, Scalar, join_key
from orchestrator.timestamps import parse_instant

_LIMIT_KEYS = (
    "concurrency",
    "attempts",
    "backoff",
    "verify_timeout",
    "max_retry_after",
    "request_timeout",
    "max_rate",
)
_LIMIT_HINTS = {
    "timeout": "did you mean request_timeout or verify_timeout?",
    "retries": "did you mean attempts?",
    "max_attempts": "did you mean attempts?",
}


def read_limits(node: Node, problems: Problems) -> Limits:
    """``limits:``; keys not given keep the defaults of :class:`Limits`."""
    mapping = problems.mapping(node, "limits")
    if mapping is None:
        return Limits()
    problems.check_keys(mapping, "limits", _LIMIT_KEYS, hints=_LIMIT_HINTS)
    default = Limits()
    seconds = _Seconds(mapping, "limits", problems)
    return Limits(
        concurrency=_count(mapping, "concurrency", problems) or default.concurrency,
        attempts=_count(mapping, "attempts", problems) or default.attempts,
        backoff=_backoff(mapping, problems),
        verify_timeout=seconds("verify_timeout", default.verify_timeout),
        max_retry_after=seconds("max_retry_after", default.max_retry_after),
        request_timeout=seconds("request_timeout", default.request_timeout, positive=True),
        max_rate=_rate(mapping, problems),
    )


def read_schedule(node: Node, problems: Problems) -> Schedule:
    """``schedule:``: an optional window, ``not_before`` strictly before ``not_after``."""
    mapping = problems.mapping(node, "schedule")
    if mapping is None:
        return Schedule()
    problems.check_keys(mapping, "schedule", ("not_before", "not_after"))
    instants = {}
    for key in ("not_before", "not_after"):
        if key in mapping.entries:
            value = mapping.entries[key][1]
            try:
                instants[key] = parse_instant(value.value if isinstance(value, Scalar) else None)
            except ValueError as exc:
                problems.add(value, join_key("schedule", key), str(exc))
    schedule = Schedule(**instants)
    if schedule.not_before and schedule.not_after and schedule.not_before >= schedule.not_after:
        problems.add(
            mapping.entries["not_after"][1],
            "schedule.not_after",
            "must be later than not_before",
        )
    return schedule


class _Seconds:
    """Reads duration keys of one mapping, falling back to defaults."""

    def __init__(self, mapping: Map, path: str, problems: Problems) -> None:
        self.mapping = mapping
        self.path = path
        self.problems = problems

    def __call__(self, key: str, default: float, *, positive: bool = False) -> float:
        entry = self.mapping.entries.get(key)
        if entry is None:
            return default
        node = entry[1]
        try:
            value = parse_duration(node.value if isinstance(node, Scalar) else None)
        except ValueError as exc:
            self.problems.add(node, join_key(self.path, key), str(exc))
            return default
        if positive and value <= 0:
            self.problems.add(node, join_key(self.path, key), "must be more than 0")
            return default
        return value


def _count(mapping: Map, key: str, problems: Problems) -> int | None:
    entry = mapping.entries.get(key)
    if entry is None:
        return None
    return problems.integer(entry[1], join_key("limits", key), minimum=1)


def _rate(mapping: Map, problems: Problems) -> float | None:
    """``max_rate``: requests per second over every org, a number above 0."""
    entry = mapping.entries.get("max_rate")
    if entry is None:
        return None
    node = entry[1]
    value = node.value if isinstance(node, Scalar) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e6:
        return float(value)
    problems.add(node, "limits.max_rate", "expected requests per second, a number above 0")
    return None


def _backoff(limits: Map, problems: Problems) -> Backoff:
    default = Backoff()
    entry = limits.entries.get("backoff")
    if entry is None:
        return default
    mapping = problems.mapping(entry[1], "limits.backoff")
    if mapping is None:
        return default
    problems.check_keys(mapping, "limits.backoff", ("base", "max"))
    seconds = _Seconds(mapping, "limits.backoff", problems)
    backoff = Backoff(base=seconds("base", default.base), max=seconds("max", default.max))
    if backoff.base > backoff.max:
        at = mapping.entries.get("base", (mapping.line, mapping))[1]
        base, top = describe_duration(backoff.base), describe_duration(backoff.max)
        problems.add(at, "limits.backoff.base", f"base ({base}) is more than max ({top})")
    return backoff
