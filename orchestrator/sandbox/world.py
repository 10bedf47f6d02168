"""Everything one running sandbox holds, and the writes that change it.

The HTTP handlers and the ``Sandbox`` facade both work through this class,
so a write made by a test ("another writer") and one made over HTTP follow the
same rules (new version, new ETag, retention, propagation).
"""

from __future__ import annotations

import copy
import secrets
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from orchestrator.sandbox.api_errors import ApiFailure
from orchestrator.sandbox.faults import FaultDice, Faults
from orchestrator.sandbox.records import ForeignWrite, RequestLog
from orchestrator.sandbox.resources import ConfigState, OrgState, TokenState, Version, iso_after
from orchestrator.sandbox.seed import OrgSeed, Seed
from orchestrator.sandbox.unversioned import AssistantState, ChecklistState, binding

Clock = Callable[[], float]


def _derived_user(org_id: str, role: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox:{org_id}:{role}"))


def _org_state(seed: OrgSeed, faults: Faults, rng_seed: int) -> OrgState:
    configs: dict[str, ConfigState] = {}
    for config in seed.configs:
        created = config.versions[0].date
        versions = [
            Version.build(
                config.id,
                dict(v.fields),
                number=v.version,
                created=created,
                date=v.date,
                by=v.by,
            )
            for v in config.versions
        ]
        state = ConfigState(config.id, versions)
        state.prune(faults.version_retention)
        configs[config.id] = state
    return OrgState(
        name=seed.name,
        org_id=seed.org_id,
        display_name=seed.display_name,
        client_id=seed.client_id,
        client_secret=seed.client_secret,
        permissions=frozenset(seed.permissions),
        requests_per_minute=seed.requests_per_minute,
        token_expires_in=seed.token_expires_in,
        faults=faults,
        dice=FaultDice(rng_seed, seed.name),
        configs=configs,
        assistants=_assistants(seed),
        checklists={c["id"]: ChecklistState(copy.deepcopy(dict(c))) for c in seed.checklists},
        queues={q.id: q.name for q in seed.queues},
        client_user=_derived_user(seed.org_id, "oauth-client"),
        writer_user=_derived_user(seed.org_id, "another-writer"),
    )


def _assistants(seed: OrgSeed) -> dict[str, AssistantState]:
    out: dict[str, AssistantState] = {}
    for body in seed.assistants:
        own = copy.deepcopy(dict(body))
        copilot = own.pop("copilot", None) or {"enabled": False, "liveOnQueue": False}
        copilot["selfUri"] = f"{own['selfUri']}/copilot"
        bound = {
            q.id: binding(own, q.id, list(q.media_types), q.date or own["dateCreated"])
            for q in seed.queues
            if q.assistant == own["id"]
        }
        out[own["id"]] = AssistantState(own, copilot, bound)
    return out


class World:
    """Orgs, tokens, the request log and the foreign-write log of one sandbox."""

    def __init__(
        self,
        seed: Seed,
        *,
        faults: Mapping[str, Faults] | None,
        rng_seed: int,
        clock: Clock,
        max_requests: int | None = None,
    ) -> None:
        self.clock = clock
        self.orgs: dict[str, OrgState] = {}
        self.clients: dict[str, OrgState] = {}
        self.tokens: dict[str, TokenState] = {}
        self.log = RequestLog(max_requests)
        self.foreign: list[ForeignWrite] = []
        overrides = dict(faults or {})
        for org_seed in seed.orgs:
            chosen = overrides.get(org_seed.name, overrides.get("*", org_seed.faults))
            org = _org_state(org_seed, chosen, rng_seed)
            self.orgs[org.name] = org
            self.clients[org.client_id] = org

    def org(self, name: str) -> OrgState:
        """The org called ``name``; ``KeyError`` naming it otherwise."""
        try:
            return self.orgs[name]
        except KeyError:
            raise KeyError(f"no org {name!r} in this sandbox") from None

    def config(self, org: str, config_id: str) -> ConfigState:
        """A config of an org; ``KeyError`` otherwise."""
        try:
            return self.org(org).configs[config_id]
        except KeyError:
            raise KeyError(f"no config {config_id!r} in org {org!r}") from None

    def assistant(self, org: str, assistant_id: str) -> AssistantState:
        """An assistant of an org; ``KeyError`` otherwise."""
        try:
            return self.org(org).assistants[assistant_id]
        except KeyError:
            raise KeyError(f"no assistant {assistant_id!r} in org {org!r}") from None

    def checklist(self, org: str, checklist_id: str) -> ChecklistState:
        """An agent checklist of an org; ``KeyError`` otherwise."""
        try:
            return self.org(org).checklists[checklist_id]
        except KeyError:
            raise KeyError(f"no agent checklist {checklist_id!r} in org {org!r}") from None

    def issue_token(self, org: OrgState) -> str:
        """A new opaque access token for ``org``."""
        token = secrets.token_urlsafe(32)
        ttl = org.faults.token_ttl if org.faults.token_ttl is not None else org.token_expires_in
        self.tokens[token] = TokenState(org, self.clock() + ttl)
        return token

    def set_faults(self, org: OrgState, faults: Faults) -> None:
        """Replace an org's faults; a smaller retention prunes at once."""
        org.faults = faults
        for config in org.configs.values():
            config.prune(faults.version_retention)

    def write_config(
        self, org: OrgState, config: ConfigState, fields: dict[str, Any], *, by: str
    ) -> Version:
        """Store a new version of ``config`` (version + 1, new ETag)."""
        faults = org.faults
        return config.append(
            fields,
            by=by,
            active_at=self.clock() + faults.propagation_delay,
            retention=faults.version_retention,
        )

    def foreign_config_write(
        self, org: OrgState, config: ConfigState, fields: dict[str, Any], *, source: str
    ) -> Version:
        """A write by "another writer", logged apart from the API's writes."""
        version = self.write_config(org, config, fields, by=org.writer_user)
        self.foreign.append(
            ForeignWrite(
                time=self.clock(),
                org=org.name,
                resource_id=config.id,
                source=source,
                version=version.number,
            )
        )
        return version

    def foreign_assistant_patch(
        self, org: OrgState, assistant: AssistantState, fields: dict[str, Any], *, source: str
    ) -> dict[str, Any]:
        """A PATCH by "another writer", logged apart from the API's writes."""
        body = assistant.patch(fields, by=org.writer_user, now=self.clock())
        self.foreign.append(
            ForeignWrite(time=self.clock(), org=org.name, resource_id=assistant.id, source=source)
        )
        return body

    def race_config(self, org: OrgState, config: ConfigState) -> None:
        """The concurrent-writer fault: maybe change ``config`` just before a PUT."""
        faults = org.faults
        if not org.dice.chance(faults.concurrent_writer_rate, "writer", config.id):
            return
        fields: dict[str, Any] = {}
        if faults.concurrent_writer_mode == "edit":
            number = config.current.number + 1
            content = config.current.body["content"]
            fields["content"] = content | {"note": f"edited by another writer (version {number})"}
        self.foreign_config_write(org, config, fields, source="concurrent_writer")

    def race_assistant(self, org: OrgState, assistant: AssistantState) -> None:
        """The concurrent-writer fault for assistants: maybe patch it first."""
        faults = org.faults
        if not org.dice.chance(faults.concurrent_writer_rate, "writer", assistant.id):
            return
        fields: dict[str, Any] = {}
        if faults.concurrent_writer_mode == "edit":
            fields["state"] = "Inactive" if assistant.body.get("state") == "Active" else "Active"
        self.foreign_assistant_patch(org, assistant, fields, source="concurrent_writer")

    # -- assistants' copilots, queue bindings, agent checklists ------------

    def put_copilot(
        self, org: OrgState, assistant: AssistantState, copilot: dict[str, Any], *, by: str
    ) -> dict[str, Any]:
        """Replace an assistant's copilot whole."""
        return assistant.put_copilot(copilot, by=by, now=self.clock())

    def bind(
        self, org: OrgState, assistant: AssistantState, wanted: dict[str, list[str]], *, by: str
    ) -> list[dict[str, Any]]:
        """Upsert bindings of ``assistant``; all or nothing.

        Raises:
            ApiFailure: 409 general.resource.conflict if a queue is another assistant's.
        """
        for queue in wanted:
            owner = org.queue_owner.get(queue)
            if owner is not None and owner != assistant.id:
                raise ApiFailure(
                    409,
                    "general.resource.conflict",
                    f"Queue {queue} is already bound to assistant {owner}",
                )
        stamp = iso_after()
        bindings = dict(assistant.bindings)
        for queue, media in wanted.items():
            entity = binding(assistant.body, queue, media, stamp)
            if queue in bindings:
                entity["dateCreated"] = bindings[queue]["dateCreated"]
            bindings[queue] = entity
            org.queue_owner[queue] = assistant.id
        assistant.set_bindings(bindings, self.clock())
        return [bindings[q] for q in wanted]

    def unbind(self, org: OrgState, assistant: AssistantState, queues: list[str]) -> None:
        """Remove bindings of ``assistant``; queues not bound to it are left alone."""
        bindings = {q: b for q, b in assistant.bindings.items() if q not in queues}
        if len(bindings) == len(assistant.bindings):
            return
        for queue in queues:
            if org.queue_owner.get(queue) == assistant.id:
                del org.queue_owner[queue]
        assistant.set_bindings(bindings, self.clock())

    def put_checklist(
        self, org: OrgState, checklist: ChecklistState, fields: dict[str, Any], *, by: str
    ) -> dict[str, Any]:
        """Replace a checklist's name, language and items; new items get an id."""
        items = [
            {**item, "id": item.get("id") or str(uuid.uuid4())}
            for item in fields.get("checklistItems") or []
        ]
        return checklist.put({**fields, "checklistItems": items}, by=by, now=self.clock())

    def note_foreign(self, org: OrgState, resource_id: str, source: str) -> None:
        """Log a write by "another writer" (made through the methods above)."""
        self.foreign.append(
            ForeignWrite(time=self.clock(), org=org.name, resource_id=resource_id, source=source)
        )

    def race_queues(self, org: OrgState, assistant: AssistantState) -> None:
        """The concurrent-writer fault for bindings: maybe touch the first one first."""
        if not org.dice.chance(org.faults.concurrent_writer_rate, "writer", assistant.id):
            return
        first = next(iter(sorted(assistant.bindings)), None)
        if first is not None:
            media = list(assistant.bindings[first]["mediaTypes"])
            if org.faults.concurrent_writer_mode == "edit":
                media = [m for m in media if m != "email"] or ["call"]
                if media == assistant.bindings[first]["mediaTypes"]:
                    media.append("email")
            self.bind(org, assistant, {first: media}, by=org.writer_user)
        self.note_foreign(org, assistant.id, "concurrent_writer")

    def race_checklist(self, org: OrgState, checklist: ChecklistState) -> None:
        """The concurrent-writer fault for checklists: maybe rewrite it first."""
        if not org.dice.chance(org.faults.concurrent_writer_rate, "writer", checklist.id):
            return
        body = checklist.body
        fields: dict[str, Any] = {
            k: body[k] for k in ("name", "language", "checklistItems") if k in body
        }
        if org.faults.concurrent_writer_mode == "edit":
            fields["name"] = f"{body['name']} (edited by another writer)"[:200]
        self.put_checklist(org, checklist, fields, by=org.writer_user)
        self.note_foreign(org, checklist.id, "concurrent_writer")
