"""What the sandbox's request log says about a run: pace, 429s, and one write per config.

Every figure here comes from the server's side (arrival times as the sandbox
stamped them), never from what the client says it did.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from orchestrator.sandbox import RequestRecord

WINDOW = 60.0  # the sandbox's sliding window (api.md section 4)
TOKEN_PATH = "/oauth/token"
SHOWN = 5  # offending config ids listed in a failed check


def summarise(
    records: Sequence[RequestRecord], configs: Mapping[str, Sequence[str]]
) -> dict[str, Any]:
    """The figures of one run's log; ``configs`` (org -> ids) are those that must be written once.

    Token requests are left out of the makespan and the window counts: the
    sandbox's rate window counts API requests only.
    """
    api = [r for r in records if r.path.startswith("/api/")]
    tokens = [r for r in records if r.path == TOKEN_PATH]
    statuses = Counter(str(r.status) for r in records)
    per_org = Counter(r.org for r in api)
    return {
        "requests": len(api),
        "token_requests": len(tokens),
        "statuses": dict(sorted(statuses.items())),
        "rate_limited": statuses.get("429", 0),
        "makespan_s": _span(api),
        "makespan_with_tokens_s": _span([*api, *tokens]),
        "max_org_requests": max(per_org.values(), default=0),
        "max_in_window": max_in_window(api),
        "writes": check_writes(records, configs),
    }


def _span(records: Sequence[RequestRecord]) -> float:
    if not records:
        return 0.0
    times = [r.time for r in records]
    return max(times) - min(times)


def max_in_window(records: Iterable[RequestRecord], window: float = WINDOW) -> int:
    """The most requests any one org had admitted within any ``window`` seconds.

    Same reading as the sandbox's limiter: two arrivals share a window when
    they are less than ``window`` apart; a 429 took no slot, so it is not counted.
    """
    times: dict[str | None, list[float]] = defaultdict(list)
    for r in records:
        if r.status != 429:
            times[r.org].append(r.time)
    best = 0
    for arrivals in times.values():
        arrivals.sort()
        first = 0
        for last, now in enumerate(arrivals):
            while now - arrivals[first] >= window:
                first += 1
            best = max(best, last - first + 1)
    return best


def check_writes(
    records: Iterable[RequestRecord], configs: Mapping[str, Sequence[str]]
) -> dict[str, Any]:
    """Whether every config got exactly one successful PUT (and nothing else did)."""
    puts = Counter((r.org, r.resource_id) for r in records if r.method == "PUT" and r.status == 200)
    expected = {(org, cid) for org, ids in configs.items() for cid in ids}
    missing = sorted(k for k in expected if puts[k] == 0)
    repeated = sorted(k for k in expected if puts[k] > 1)
    # Keys of a Counter hold no None; str() keeps mypy and JSON both content.
    stray = sorted((str(o), str(c)) for o, c in puts if (o, c) not in expected)
    return {
        "configs": len(expected),
        "exactly_one": len(expected) - len(missing) - len(repeated),
        "successful_puts": sum(puts.values()),
        "missing": [f"{o}/{c}" for o, c in missing[:SHOWN]],
        "repeated": [f"{o}/{c}" for o, c in repeated[:SHOWN]],
        "stray": [f"{o}/{c}" for o, c in stray[:SHOWN]],
        "ok": not missing and not repeated and not stray,
    }
