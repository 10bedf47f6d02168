"""What a report says of an ``apply`` run: which saved plan it ran, made when and by whom."""

from __future__ import annotations

from typing import Any

from orchestrator.journal.rows import Event
from orchestrator.planfile.saved import REVIEWED

STALE_NEXT_STEP = (
    "changed after the review: look at the change, then plan and review again"
    " (`orchestrator plan PLAN --out FILE`); a reviewed plan never overwrites it"
)


def reviewed(events: list[Event]) -> dict[str, Any] | None:
    """The saved plan an apply run ran (``file``, ``digest``, ``made_at``, ``made_by``)."""
    for event in events:
        if event.event == REVIEWED and isinstance(event.detail, dict):
            return {k: event.detail.get(k) for k in ("file", "digest", "made_at", "made_by")}
    return None


def reviewed_line(report: dict[str, Any]) -> str | None:
    """One line naming the saved plan, for the text and Markdown reports."""
    saved = report.get("reviewed")
    if not saved:
        return None
    return (
        f"applied from saved plan {saved['file']} ({saved['digest']}), made"
        f" {saved['made_at']} by {saved['made_by']}"
    )
