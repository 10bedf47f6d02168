"""What servers said that outlives the process that heard it: 429 pauses, learned limits."""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.engine.events import Observer
from orchestrator.genesys.client import Client
from orchestrator.journal.store import Journal
from orchestrator.models import Plan
from orchestrator.timestamps import parse_stamp, utcnow, zulu_of


async def honour_pauses(
    journal: Journal, client: Client, plan: Plan, orgs: Sequence[str], observer: Observer
) -> None:
    """A server's "wait" outlives the process that heard it: nothing goes out before it ends."""
    now = utcnow()
    for org, until in (await journal.pauses(orgs)).items():
        left = (parse_stamp(until) - now).total_seconds()
        if left > 0:
            client.org(plan.environment.org(org)).gate.pause(left)
            observer.note(
                f"{org}: its server asked for a pause until {zulu_of(until)}; honouring it"
            )


async def relearn(journal: Journal, run_id: str, client: Client, plan: Plan) -> None:
    """On resume, pace each org as its server last said, before it says so again."""
    for event in await journal.events(run_id):
        if event.event == "pacing.learned" and isinstance(event.detail, dict):
            org, allowed = event.detail.get("org"), event.detail.get("allowed")
            if isinstance(org, str) and isinstance(allowed, int) and org in plan.environment:
                client.org(plan.environment.org(org)).gate.learn(allowed, None, None)
