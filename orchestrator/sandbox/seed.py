"""The sandbox's YAML files, read and checked: the seed and the faults file.

The seed's format is described in the header of
``orchestrator/sandbox/data/seed.yaml``. A version there may state only what
changed; the loader expands every version into complete writable fields, so
the rest of the sandbox never sees a delta.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestrator.errors import PlanError, Problem
from orchestrator.sandbox.api_errors import ApiFailure
from orchestrator.sandbox.bodies import config_fields
from orchestrator.sandbox.faults import Faults, parse_faults
from orchestrator.sandbox.resources import api_stamp
from orchestrator.sandbox.seed_unversioned import PERMISSIONS, QueueSeed, UnversionedReader

ORG_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_ORG_KEYS = frozenset(
    {
        "org_id",
        "display_name",
        "client_id",
        "client_secret",
        "permissions",
        "requests_per_minute",
        "token_expires_in",
        "faults",
        "configs",
        "assistants",
        "queues",
        "agent_checklists",
    }
)
_VERSION_META = frozenset({"version", "date", "by"})
_VERSION_KEYS = _VERSION_META | {
    "name",
    "description",
    "deployed",
    "trafficPercent",
    "content",
    "content_changes",
}


class SeedError(PlanError):
    """A seed or faults file is invalid; holds every problem found."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionSeed:
    """One version of a config's history, complete."""

    version: int
    date: str  # ISO 8601 UTC, milliseconds, "Z"
    by: str  # user id that wrote it
    fields: Mapping[str, Any]  # name, description, deployed, trafficPercent, content


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigSeed:
    """An agentassist-config and its history, oldest version first."""

    id: str
    versions: tuple[VersionSeed, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgSeed:
    """One org as the sandbox starts it."""

    name: str
    org_id: str
    display_name: str
    client_id: str
    client_secret: str = field(repr=False)
    permissions: tuple[str, ...] = PERMISSIONS
    requests_per_minute: int | None = 300
    token_expires_in: int = 86400
    faults: Faults = field(default_factory=Faults)
    configs: tuple[ConfigSeed, ...] = ()
    assistants: tuple[Mapping[str, Any], ...] = ()  # complete bodies, copilot included
    queues: tuple[QueueSeed, ...] = ()  # routing queues, some bound to an assistant
    checklists: tuple[Mapping[str, Any], ...] = ()  # complete agent checklist bodies


@dataclass(frozen=True, slots=True, kw_only=True)
class Seed:
    """Every org the sandbox serves."""

    orgs: tuple[OrgSeed, ...]

    def org(self, name: str) -> OrgSeed:
        """The org called ``name``; ``KeyError`` if there is none."""
        for org in self.orgs:
            if org.name == name:
                return org
        raise KeyError(name)


def load_seed(path: Path) -> Seed:
    """Read and check a seed file.

    Raises:
        SeedError: the file is unreadable or invalid; every problem is listed.
    """
    file = str(path)
    data = _read_yaml(path)
    reader = _Reader(file)
    seed = reader.seed(data)
    if reader.problems:
        raise SeedError(reader.problems)
    return seed


def load_faults(path: Path) -> dict[str, Faults]:
    """Read a faults file: org name (or ``"*"`` for every other org) -> Faults.

    Raises:
        SeedError: the file is unreadable or invalid; every problem is listed.
    """
    file = str(path)
    data = _read_yaml(path)
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise SeedError([Problem(file=file, path="", message="must map org names to faults")])
    out: dict[str, Faults] = {}
    problems: list[Problem] = []
    for org, body in data.items():
        out[str(org)], found = parse_faults(body, file=file, path=str(org))
        problems += found
    if problems:
        raise SeedError(problems)
    return out


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SeedError([Problem(file=str(path), path="", message=f"cannot read: {exc}")]) from exc


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def merge_changes(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` merged in: mappings merge, null deletes, else replace."""
    out = dict(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_changes(out[key], value)
        else:
            out[key] = value
    return out


class _Reader(UnversionedReader):
    """Walks the seed's YAML, collecting every problem instead of stopping."""

    def seed(self, data: Any) -> Seed:
        if not isinstance(data, Mapping) or not isinstance(data.get("orgs"), Mapping):
            self.problem("orgs", "the seed must have an `orgs:` mapping")
            return Seed(orgs=())
        if not data["orgs"]:
            self.problem("orgs", "at least one org is required")
        for key in data:
            if key != "orgs":
                self.problem(str(key), "unknown key")
        orgs = [self.org(str(name), body) for name, body in data["orgs"].items()]
        found = [o for o in orgs if o is not None]
        self._unique(found)
        return Seed(orgs=tuple(found))

    def _unique(self, orgs: list[OrgSeed]) -> None:
        for attr in ("client_id", "org_id"):
            seen: set[str] = set()
            for org in orgs:
                value = getattr(org, attr)
                if value in seen:
                    self.problem(f"orgs.{org.name}.{attr}", f"{value!r} is used by another org")
                seen.add(value)

    def org(self, name: str, body: Any) -> OrgSeed | None:
        where = f"orgs.{name}"
        if not ORG_NAME.fullmatch(name):
            self.problem(where, "org names are letters, digits, '-', '_' and '.'")
        if not isinstance(body, Mapping):
            self.problem(where, "must be a mapping")
            return None
        for key in body:
            if key not in _ORG_KEYS:
                self.problem(f"{where}.{key}", "unknown key", ", ".join(sorted(_ORG_KEYS)))
        org_id = body.get("org_id")
        if not _is_uuid(org_id):
            self.problem(f"{where}.org_id", "must be a uuid")
        creds = [body.get("client_id", name), body.get("client_secret")]
        for key, value in zip(("client_id", "client_secret"), creds, strict=True):
            if not isinstance(value, str) or not value:
                self.problem(f"{where}.{key}", "must be a non-empty string")
        faults, found = parse_faults(body.get("faults"), file=self.file, path=f"{where}.faults")
        self.problems += found
        assistants = self._list(where, "assistants", body, self.assistant)
        return OrgSeed(
            name=name,
            org_id=str(org_id),
            display_name=str(body.get("display_name", name)),
            client_id=str(creds[0]),
            client_secret=str(creds[1]),
            permissions=self._permissions(where, body.get("permissions", list(PERMISSIONS))),
            requests_per_minute=self._rpm(where, body.get("requests_per_minute", 300)),
            token_expires_in=self._lifetime(where, body.get("token_expires_in", 86400)),
            faults=faults,
            configs=self._list(where, "configs", body, self.config),
            assistants=assistants,
            queues=self.queues(where, body.get("queues", []), assistants),
            checklists=self._list(where, "agent_checklists", body, self.checklist),
        )

    def _permissions(self, where: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            self.problem(f"{where}.permissions", "must be a list of permission names")
            return ()
        for p in value:
            if p not in PERMISSIONS:
                self.problem(
                    f"{where}.permissions", f"unknown permission {p!r}", ", ".join(PERMISSIONS)
                )
        return tuple(value)

    def _rpm(self, where: str, value: Any) -> int | None:
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.problem(f"{where}.requests_per_minute", "must be a positive integer or null")
            return 300
        return value

    def _lifetime(self, where: str, value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not 300 <= value <= 172800:
            self.problem(f"{where}.token_expires_in", "must be whole seconds from 300 to 172800")
            return 86400
        return value

    def _list(self, where: str, key: str, body: Mapping[str, Any], read: Any) -> tuple[Any, ...]:
        items = body.get(key, [])
        if not isinstance(items, list):
            self.problem(f"{where}.{key}", "must be a list")
            return ()
        out = [read(f"{where}.{key}[{i}]", item) for i, item in enumerate(items)]
        found = [x for x in out if x is not None]
        seen: set[str] = set()
        for i, x in enumerate(found):
            ident = x.id if isinstance(x, ConfigSeed) else x["id"]
            if ident in seen:
                self.problem(f"{where}.{key}[{i}].id", f"{ident!r} appears twice")
            seen.add(ident)
        return tuple(found)

    def config(self, where: str, body: Any) -> ConfigSeed | None:
        if not isinstance(body, Mapping) or not isinstance(body.get("id"), str):
            self.problem(where, "a config needs an `id` and `versions`")
            return None
        versions = body.get("versions")
        if not isinstance(versions, list) or not versions:
            self.problem(f"{where}.versions", "must be a non-empty list")
            return None
        out: list[VersionSeed] = []
        for i, entry in enumerate(versions):
            version = self.version(f"{where}.versions[{i}]", entry, out[-1] if out else None)
            if version is None:
                return None
            out.append(version)
        return ConfigSeed(id=body["id"], versions=tuple(out))

    def version(self, where: str, entry: Any, previous: VersionSeed | None) -> VersionSeed | None:
        if not isinstance(entry, Mapping):
            self.problem(where, "must be a mapping")
            return None
        for key in entry:
            if key not in _VERSION_KEYS:
                self.problem(f"{where}.{key}", "unknown key", ", ".join(sorted(_VERSION_KEYS)))
        number = entry.get("version")
        expected = previous.version + 1 if previous else None
        if not isinstance(number, int) or number < 1 or (expected and number != expected):
            self.problem(f"{where}.version", f"must be {expected or 'a positive integer'}")
            return None
        date = api_stamp(entry.get("date"))
        if date is None:
            self.problem(f"{where}.date", "must be an ISO 8601 date-time")
            return None
        if previous and date <= previous.date:
            self.problem(f"{where}.date", "must be later than the previous version's")
        fields = self._fields(where, entry, previous)
        by = entry.get("by", previous.by if previous else str(uuid.UUID(int=0)))
        return VersionSeed(version=number, date=date, by=str(by), fields=fields)

    def _fields(
        self, where: str, entry: Mapping[str, Any], prev: VersionSeed | None
    ) -> dict[str, Any]:
        fields: dict[str, Any] = dict(prev.fields) if prev else {}
        fields |= {
            k: v for k, v in entry.items() if k not in _VERSION_META and k != "content_changes"
        }
        if "content_changes" in entry:
            changes = entry["content_changes"]
            if prev is None or not isinstance(changes, Mapping):
                self.problem(f"{where}.content_changes", "needs a previous version and a mapping")
            else:
                fields["content"] = merge_changes(fields.get("content", {}), changes)
        fields.setdefault("description", "")
        fields.setdefault("deployed", False)
        fields.setdefault("trafficPercent", 0)
        try:
            config_fields({**fields, "version": entry["version"]})
        except ApiFailure as failure:
            self.problem(where, failure.message)
        if "content" not in fields:
            self.problem(f"{where}.content", "the first version must state the content")
        return fields
