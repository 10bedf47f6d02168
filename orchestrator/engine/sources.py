"""Where a rollout's content comes from: a golden org's live item, or a content file.

A golden item is read once per run, whatever the number of items copying it,
and journaled (``source.read``, with its content) before any item planned from
it is: a resumed run plans its remaining items from what the first process
read, never from a golden org edited since. Items already planned carry
their resolved target in the journal anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio

from orchestrator.engine.job import Job
from orchestrator.engine.recorder import Recorder
from orchestrator.errors import NotFound, RequestError, TargetUnavailable
from orchestrator.genesys.client import Client
from orchestrator.genesys.content import content_hash
from orchestrator.genesys.kinds import Live, Target
from orchestrator.genesys.references import carried, map_ids
from orchestrator.genesys.retry import Budget, retrying
from orchestrator.models import Environment, Limits, ToContent, ToFrom

SOURCE_READ = "source.read"

Key = tuple[str, str, str]  # (org, kind, id) of a golden item


class Sources:
    """The golden items of one run, each read (or recalled from the journal) once."""

    def __init__(
        self, *, client: Client, environment: Environment, limits: Limits, recorder: Recorder
    ) -> None:
        self._client = client
        self._environment = environment
        self._limits = limits
        self._recorder = recorder
        self._read: dict[Key, Mapping[str, Any] | TargetUnavailable | RequestError] = {}
        self._locks: dict[Key, anyio.Lock] = {}
        self._recall = anyio.Lock()
        self._recalled = False

    async def target(self, job: Job, live: Live) -> Target:
        """The item's target: the source's content, references mapped, ``set`` on top.

        Raises:
            TargetUnavailable: the golden item does not exist, or a reference
                is neither mapped nor kept (``ids.unmapped``).
            RequestError: the golden org could not be read.
        """
        to, kind = job.item.to, job.kind.kind
        if isinstance(to, ToFrom):
            fields = await self._golden(to, job)
            source = f"{kind} {to.id} of org {to.org}"
        else:
            assert isinstance(to, ToContent)
            fields, source = to.fields, f"content file {to.path.name}"
        same_org = isinstance(to, ToFrom) and to.org == job.org
        mapped, done = map_ids(kind, fields, job.item.ids, source, same_org=same_org)
        if isinstance(to, ToFrom):
            content = carried(kind, mapped, live.fields)
        else:  # a content file puts the fields it names; the others stay as they are
            content = {**live.fields, **mapped}
        target = Target.build(content, job.item.set, version=None, label=str(to))
        return Target(
            fields=target.fields, hash=target.hash, version=None, label=target.label, mapped=done
        )

    async def _golden(self, to: ToFrom, job: Job) -> Mapping[str, Any]:
        key = (to.org, job.kind.kind.value, to.id)
        await self._recall_journaled()
        async with self._locks.setdefault(key, anyio.Lock()):
            if key not in self._read:
                self._read[key] = await self._fetch(to, job)
        found = self._read[key]
        if isinstance(found, TargetUnavailable | RequestError):
            raise found
        return found

    async def _fetch(
        self, to: ToFrom, job: Job
    ) -> Mapping[str, Any] | TargetUnavailable | RequestError:
        client = self._client.org(self._environment.org(to.org))
        try:
            live = await retrying(
                lambda: job.kind.read(client, to.id, job.stats),
                budget=Budget(self._limits.attempts),
                backoff=self._limits.backoff,
                max_retry_after=self._limits.max_retry_after,
                on_retry=lambda exc: job.retried(),
            )
        except NotFound as exc:
            return TargetUnavailable(
                f"the golden {job.kind.kind} {to.id} does not exist in org {to.org}",
                code="source.missing",
                cause=exc,
            )
        except RequestError as exc:
            return exc
        detail = {
            "org": to.org,
            "kind": job.kind.kind.value,
            "id": to.id,
            "hash": live.hash,
            "fields": dict(live.fields),
        }
        self._recorder.run_event(SOURCE_READ, detail)
        await self._recorder.flush()  # durable before any item planned from it
        return live.fields

    async def _recall_journaled(self) -> None:
        """Golden content an earlier process of this run read: used as it was then."""
        async with self._recall:
            if self._recalled:
                return
            self._recalled = True
            journal, run_id = self._recorder.journal, self._recorder.run_id
            if journal is None or run_id is None:
                return
            for event in await journal.events(run_id):
                detail = event.detail
                if event.event != SOURCE_READ or not isinstance(detail, dict):
                    continue
                fields = detail.get("fields")
                if isinstance(fields, dict) and content_hash(fields) == detail.get("hash"):
                    key = (str(detail["org"]), str(detail["kind"]), str(detail["id"]))
                    self._read.setdefault(key, fields)
