"""Kind ``agentassist-config``: PUT guarded by ``If-Match`` and ``version`` + 1 (api.md 5)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from orchestrator.errors import MalformedAnswer, NotFound, TargetUnavailable, Unrestorable
from orchestrator.genesys import answers
from orchestrator.genesys.client import HttpStats, OrgClient
from orchestrator.genesys.kinds.base import (
    PAGE_SIZE,
    Live,
    Target,
    live_of,
    unknown_fields,
)
from orchestrator.models import Kind, To, ToBefore, ToPrevious, ToVersion
from orchestrator.timestamps import parse_stamp, zulu


class AgentAssistConfig:
    """``agentassist-config``: PUT guarded by ``If-Match`` and ``version`` + 1."""

    kind = Kind.AGENTASSIST_CONFIG
    has_server_history = True
    rereads_before_write = False
    partial_writes = False  # one PUT

    @staticmethod
    def path(rid: str) -> str:
        """The resource's API path (ids are validated; quoted anyway)."""
        return f"/api/v2/agentassist/configs/{quote(rid, safe='')}"

    async def read(self, client: OrgClient, rid: str, stats: HttpStats) -> Live:
        resp = await client.request("GET", self.path(rid), resource_id=rid, stats=stats)
        return live_of(answers.resource(self.kind, resp, rid, versioned=True), resp.correlation_id)

    async def resolve(
        self, client: OrgClient, rid: str, to: To, live: Live, stats: HttpStats
    ) -> tuple[int, Mapping[str, Any]]:
        current = live.version
        if current is None:  # a checked read always has one; never guess it
            raise TargetUnavailable("the current version is not known", code="target.missing")
        if isinstance(to, ToBefore):
            wanted = await self._version_before(client, rid, to.instant, stats)
        elif isinstance(to, ToPrevious):
            wanted = current - 1
            if wanted < 1:
                raise TargetUnavailable(
                    f"version {current} is the first one: there is no previous version",
                    code="target.missing",
                )
        elif isinstance(to, ToVersion):
            wanted = to.version
            if wanted > current:
                raise TargetUnavailable(
                    f"version {wanted} does not exist (the current version is {current})",
                    code="target.missing",
                )
        else:
            raise TypeError(f"{to!r} is not a history target")
        if wanted == current:
            return wanted, live.fields
        path = f"{self.path(rid)}/versions/{wanted}"
        try:
            resp = await client.request("GET", path, resource_id=rid, stats=stats)
        except NotFound as exc:
            raise TargetUnavailable(
                f"version {wanted} is no longer in the server's history (pruned: the server "
                "keeps only its newest versions)",
                code="target.pruned",
                cause=exc,
            ) from None
        return wanted, answers.history_version(self.kind, resp, rid, wanted)

    async def _version_before(
        self, client: OrgClient, rid: str, instant: datetime, stats: HttpStats
    ) -> int:
        page, pages, oldest = 1, 1, None
        while page <= pages:
            path = f"{self.path(rid)}/versions?pageSize={PAGE_SIZE}&pageNumber={page}"
            resp = await client.request("GET", path, resource_id=rid, stats=stats)
            entities, pages = answers.history_page(resp, rid)
            for version, date in entities:
                created = _created(date)
                if created is None:
                    continue
                if created < instant:
                    return version  # newest first: the first match is the newest
                oldest = (version, date)
            page += 1
        kept = f" (oldest kept: version {oldest[0]}, created {oldest[1]})" if oldest else ""
        raise TargetUnavailable(
            f"no kept version was created before {zulu(instant)}{kept}; "
            "older versions may have been pruned",
            code="target.pruned",
        )

    def problem(self, live: Mapping[str, Any], target: Mapping[str, Any]) -> Unrestorable | None:
        return unknown_fields(self.kind, live, target)

    async def write(
        self, client: OrgClient, rid: str, live: Live, target: Target, stats: HttpStats
    ) -> Live:
        if live.etag is None or live.version is None:  # checked reads always have both
            raise MalformedAnswer(
                "no ETag and version known from the last read: nothing was sent",
                org=client.org.name,
                method="PUT",
                path=self.path(rid),
                config_id=rid,
            )
        version = live.version + 1
        resp = await client.request(
            "PUT",
            self.path(rid),
            body={**target.fields, "version": version},
            headers={"If-Match": live.etag},
            resource_id=rid,
            stats=stats,
        )
        return live_of(
            answers.confirms(self.kind, resp, rid, target.hash, version=version),
            resp.correlation_id,
        )

    async def is_live(
        self, client: OrgClient, rid: str, written: Live, target: Target, stats: HttpStats
    ) -> bool:
        resp = await client.request(
            "POST",
            "/api/v2/analytics/agentassist/conversations/query",
            body={"filter": {"configId": rid}},
            resource_id=rid,
            stats=stats,
        )
        active = answers.active_version(resp, rid)
        # Another writer may already have moved past our version. Without a
        # version known to be ours there is nothing to compare: never a default.
        return active is not None and written.version is not None and active >= written.version


def _created(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return parse_stamp(text)
    except ValueError:
        return None
