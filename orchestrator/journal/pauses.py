"""What servers said about pacing that must outlive a process: each org's 429 pause.

A pause is written durably the moment it is heard, and honoured by any later
process (another run, a resumed one, another shard) before it sends anything
to that org.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.journal.backend import QueuedJournal
from orchestrator.timestamps import stamp


class PauseStatements(QueuedJournal):
    """The statements behind the remembered pauses."""

    async def record_pause(self, org: str, until: str, run_id: str | None) -> None:
        """Durable: ``org``'s server asked that nothing be sent to it before ``until``."""
        sql = (
            "INSERT INTO org_pauses (org, paused_until, run_id, at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (org) DO UPDATE SET paused_until = excluded.paused_until,"
            " run_id = excluded.run_id, at = excluded.at"
            " WHERE excluded.paused_until > org_pauses.paused_until"
        )
        await self._commit([(sql, (org, until, run_id, stamp()))])

    async def pauses(self, orgs: Sequence[str]) -> dict[str, str]:
        """The latest pause each of ``orgs`` was given (org -> until), past ones included."""
        if not orgs:
            return {}
        marks = ", ".join("?" for _ in orgs)
        rows = await self._select(
            f"SELECT org, paused_until FROM org_pauses WHERE org IN ({marks})", tuple(orgs)
        )
        return {r["org"]: r["paused_until"] for r in rows}
