"""``Sandbox``: the emulator as a Python object tests and benchmarks drive.

::

    sb = Sandbox(load_seed(path), faults=None, rng_seed=0)
    async with sb.serve() as url:        # "http://127.0.0.1:PORT"
        ...                              # talk HTTP to url
    sb.writes("canary")                  # what the client changed
    sb.config("canary", config_id)       # what the state is now

Each instance holds its own copy of the seed; nothing a test does leaks into
another sandbox.
"""

from __future__ import annotations

import contextlib
import copy
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from aiohttp import web

from orchestrator.sandbox.api_errors import ApiFailure
from orchestrator.sandbox.app import build_app
from orchestrator.sandbox.bodies import (
    assistant_fields,
    bindings,
    checklist_fields,
    config_fields,
    copilot_fields,
)
from orchestrator.sandbox.faults import Faults
from orchestrator.sandbox.records import ForeignWrite, RequestRecord
from orchestrator.sandbox.seed import Seed
from orchestrator.sandbox.seed_unversioned import PERMISSIONS
from orchestrator.sandbox.world import World


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigView:
    """A snapshot of one config, as the API would serve it right now."""

    id: str
    version: int
    etag: str
    body: dict[str, Any]  # the resource exactly as GET serves it (a copy)
    content: dict[str, Any]
    versions: tuple[int, ...]  # kept history, newest first
    active_version: int  # what the analytics query would answer now


class Sandbox:
    """A local Genesys Cloud for the orchestrator: many orgs, one port.

    Args:
        seed: orgs, credentials, configs and assistants to start from.
        faults: org name (or ``"*"``) -> Faults; overrides the seed's faults.
        rng_seed: makes every fault decision reproducible.
        clock: monotonic seconds; rate windows, token expiry, propagation and
            read lag follow it, so tests can move time without sleeping.
        max_requests: keep only this many newest request records (a
            long-running server); None keeps every one.
    """

    def __init__(
        self,
        seed: Seed,
        *,
        faults: Mapping[str, Faults] | None = None,
        rng_seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
        max_requests: int | None = None,
    ) -> None:
        self._world = World(
            seed, faults=faults, rng_seed=rng_seed, clock=clock, max_requests=max_requests
        )
        self._url: str | None = None

    @property
    def url(self) -> str:
        """The base URL while :meth:`serve` runs (no trailing /).

        Raises:
            RuntimeError: it is not serving.
        """
        if self._url is None:
            raise RuntimeError("the sandbox is not serving: use `async with sb.serve()`")
        return self._url

    @contextlib.asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve in the current event loop; yields the base URL (no trailing /)."""
        runner = web.AppRunner(build_app(self._world), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound = runner.addresses[0][1]
            self._url = f"http://[{host}]:{bound}" if ":" in host else f"http://{host}:{bound}"
            yield self._url
        finally:
            self._url = None
            with anyio.CancelScope(shield=True):
                await runner.cleanup()

    # -- what happened -----------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Every completed request, in arrival order."""
        return self._world.log.records()

    def requests_in_flight(self) -> int:
        """Requests that arrived and are not answered yet (a killed client's may still be)."""
        return self._world.log.in_flight()

    def clear_requests(self) -> None:
        """Forget the request log (foreign writes are kept)."""
        self._world.log.clear()

    @property
    def foreign_writes(self) -> list[ForeignWrite]:
        """Writes by "another writer": edit_config, patch_assistant, the fault."""
        return list(self._world.foreign)

    def writes(self, org: str | None = None, resource_id: str | None = None) -> list[RequestRecord]:
        """Requests that applied a change (dropped ones included), arrival order."""
        return [
            r
            for r in self._world.log.records()
            if r.applied
            and (org is None or r.org == org)
            and (resource_id is None or r.resource_id == resource_id)
        ]

    def issued_tokens(self) -> list[str]:
        """Every access token issued so far, so a test can prove none leaks into output."""
        return list(self._world.tokens)

    # -- knobs -------------------------------------------------------------

    @property
    def orgs(self) -> tuple[str, ...]:
        """Names of the orgs served."""
        return tuple(self._world.orgs)

    def faults(self, org: str) -> Faults:
        """An org's current faults."""
        return self._world.org(org).faults

    def set_faults(self, org: str, faults: Faults) -> None:
        """Replace an org's faults from now on.

        A smaller retention prunes at once; a token_ttl applies to tokens
        issued afterwards; a propagation_delay to writes made afterwards.
        """
        self._world.set_faults(self._world.org(org), faults)

    def set_permissions(self, org: str, permissions: Iterable[str]) -> None:
        """What the org's tokens may do from now on (existing tokens included)."""
        chosen = frozenset(permissions)
        unknown = chosen - set(PERMISSIONS)
        if unknown:
            raise ValueError(f"unknown permissions: {sorted(unknown)}")
        self._world.org(org).permissions = chosen

    def set_rate_limit(self, org: str, requests_per_minute: int | None) -> None:
        """Requests per sliding minute per token; None lifts the limit."""
        if requests_per_minute is not None and requests_per_minute < 1:
            raise ValueError("requests_per_minute must be at least 1, or None")
        self._world.org(org).requests_per_minute = requests_per_minute

    # -- state -------------------------------------------------------------

    def config(self, org: str, config_id: str) -> ConfigView:
        """A snapshot of a config now (``KeyError`` if unknown)."""
        config = self._world.config(org, config_id)
        current = config.current
        body = json.loads(current.raw)
        return ConfigView(
            id=config.id,
            version=current.number,
            etag=current.etag,
            body=body,
            content=body["content"],
            versions=tuple(v.number for v in reversed(config.versions)),
            active_version=config.active_version(self._world.clock()),
        )

    def assistant(self, org: str, assistant_id: str, *, expand: bool = False) -> dict[str, Any]:
        """The current assistant body (no read lag; ``expand``: with its copilot), as a copy."""
        state = self._world.assistant(org, assistant_id)
        body = {**state.body, "copilot": state.copilot} if expand else state.body
        return copy.deepcopy(body)

    def copilot(self, org: str, assistant_id: str) -> dict[str, Any]:
        """An assistant's current copilot, as a copy."""
        return copy.deepcopy(self._world.assistant(org, assistant_id).copilot)

    def bindings(self, org: str, assistant_id: str) -> list[dict[str, Any]]:
        """An assistant's current queue bindings as the listing serves them, as a copy."""
        state = self._world.assistant(org, assistant_id)
        return copy.deepcopy([state.bindings[q] for q in sorted(state.bindings)])

    def queue_owner(self, org: str, queue_id: str) -> str | None:
        """The assistant a queue is bound to now, or None."""
        return self._world.org(org).queue_owner.get(queue_id)

    def queues(self, org: str) -> dict[str, str]:
        """The org's routing queues: id -> name."""
        return dict(self._world.org(org).queues)

    def checklist(self, org: str, checklist_id: str) -> dict[str, Any]:
        """An agent checklist now, as a copy."""
        return copy.deepcopy(self._world.checklist(org, checklist_id).body)

    def edit_config(
        self, org: str, config_id: str, *, content: dict[str, Any] | None = None, **fields: Any
    ) -> None:
        """Another writer stores a new version now (version + 1, new ETag).

        With no arguments the content stays the same: a pure version bump.

        Raises:
            KeyError: unknown org or config.
            ValueError: a field the API would refuse.
        """
        state = self._world.org(org)
        config = self._world.config(org, config_id)
        changes = dict(fields)
        if content is not None:
            changes["content"] = copy.deepcopy(content)
        merged = config.current.fields() | changes
        _check(config_fields, {**merged, "version": config.current.number + 1})
        self._world.foreign_config_write(state, config, changes, source="edit_config")

    def patch_assistant(self, org: str, assistant_id: str, **fields: Any) -> None:
        """Another writer PATCHes an assistant now.

        Raises:
            KeyError: unknown org or assistant.
            ValueError: a field the API would refuse.
        """
        state = self._world.org(org)
        assistant = self._world.assistant(org, assistant_id)
        checked = _check(assistant_fields, copy.deepcopy(fields), assistant.extra["assistant"])
        self._world.foreign_assistant_patch(state, assistant, checked, source="patch_assistant")

    def edit_copilot(self, org: str, assistant_id: str, **changes: Any) -> None:
        """Another writer PUTs the copilot with ``changes`` laid over its top-level fields.

        Raises:
            KeyError: unknown org or assistant.
            ValueError: a copilot the API would refuse (``defaultLanguage`` changed...).
        """
        state = self._world.org(org)
        assistant = self._world.assistant(org, assistant_id)
        wanted = copy.deepcopy({**assistant.copilot, **changes})
        checked = _check(copilot_fields, wanted, assistant.copilot, assistant.extra["copilot"])
        self._world.put_copilot(state, assistant, checked, by=state.writer_user)
        self._world.note_foreign(state, assistant_id, "edit_copilot")

    def bind_queues(self, org: str, assistant_id: str, wanted: Mapping[str, list[str]]) -> None:
        """Another writer binds queues (queue id -> media types) to an assistant.

        Raises:
            KeyError: unknown org or assistant.
            ValueError: an unknown queue, bad media types, or a queue bound elsewhere.
        """
        state = self._world.org(org)
        assistant = self._world.assistant(org, assistant_id)
        body = [{"id": q, "mediaTypes": list(m)} for q, m in wanted.items()]
        checked = _check(bindings, body, state.queues)
        try:
            self._world.bind(state, assistant, checked, by=state.writer_user)
        except ApiFailure as failure:
            raise ValueError(failure.message) from None
        self._world.note_foreign(state, assistant_id, "bind_queues")

    def unbind_queues(self, org: str, assistant_id: str, queue_ids: Iterable[str]) -> None:
        """Another writer removes bindings of an assistant."""
        state = self._world.org(org)
        self._world.unbind(state, self._world.assistant(org, assistant_id), list(queue_ids))
        self._world.note_foreign(state, assistant_id, "unbind_queues")

    def edit_checklist(self, org: str, checklist_id: str, **changes: Any) -> None:
        """Another writer PUTs a checklist with ``changes`` laid over its fields.

        Raises:
            KeyError: unknown org or checklist.
            ValueError: a checklist the API would refuse.
        """
        state = self._world.org(org)
        checklist = self._world.checklist(org, checklist_id)
        wanted = copy.deepcopy({**checklist.body, **changes})
        checked = _check(checklist_fields, wanted, checklist_id, checklist.extra)
        self._world.put_checklist(state, checklist, checked, by=state.writer_user)
        self._world.note_foreign(state, checklist_id, "edit_checklist")

    def extend(self, org: str, resource_id: str, field: str, value: Any, *, on: str) -> None:
        """A newer API grows ``field`` (that the orchestrator does not know) and serves ``value``.

        ``on`` is ``"assistant"``, ``"copilot"`` or ``"agent-checklist"``. The
        field is writable from then on, as a real new field would be. Not a
        write: no dateModified moves, nothing is logged.
        """
        if on == "agent-checklist":
            checklist = self._world.checklist(org, resource_id)
            checklist.extra |= {field}
            checklist.body[field] = copy.deepcopy(value)
            return
        assistant = self._world.assistant(org, resource_id)
        assistant.extra[on] = assistant.extra[on] | {field}
        part = assistant.copilot if on == "copilot" else assistant.body
        part[field] = copy.deepcopy(value)


def _check(validate: Callable[..., Any], *args: Any) -> Any:
    try:
        return validate(*args)
    except ApiFailure as failure:
        raise ValueError(failure.message) from None
