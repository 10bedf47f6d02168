"""Saved plans: what ``plan --out`` wrote, checked before ``apply`` trusts a byte of it.

A saved plan is JSON (see the README's "Reviewed plans"): every item's
baseline and resolved target content, the waves, the run options, the plan
file's path and sha256, who made it and when. ``digest`` is the sha256 of the
canonical JSON of everything else in the file: an edit made after the save
(by hand, by a merge, by a tool that reformats) is refused. It is a seal
against accidental and unreviewed edits, not a signature: whoever can write
the file can also recompute the digest.

Everything here is offline: it reads two files and the clock, never the network.
"""

from __future__ import annotations

import hashlib
import json
import math
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestrator.errors import UsageError
from orchestrator.genesys.content import content_hash
from orchestrator.models import Kind, OnDrift, Plan
from orchestrator.planfile.durations import describe_duration
from orchestrator.timestamps import parse_stamp

FORMAT = 1  # the value of "saved_plan": a later format is refused, never guessed at
MAX_BYTES = 256 * 1024 * 1024
DIGEST_PREFIX = "sha256:"
REVIEWED = "plan.reviewed"  # the journal event of an apply run: which saved plan, what it holds


@dataclass(frozen=True, slots=True, kw_only=True)
class Baseline:
    """An item's live state when the plan was saved: what ``apply`` requires to find."""

    version: int | None
    etag: str | None
    modified: str | None
    hash: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SavedItem:
    """One item as it was reviewed: where it stood, and exactly what it becomes."""

    org: str
    kind: Kind
    id: str
    name: str | None
    wave: str
    action: str  # "write" or "already_at_target"
    baseline: Baseline
    target_label: str
    target_version: int | None
    target_hash: str
    target_content: Mapping[str, Any]
    changes: tuple[Mapping[str, Any], ...]

    @property
    def key(self) -> tuple[str, str, str]:
        """(org, kind, id), as :attr:`orchestrator.models.Item.key`."""
        return (self.org, self.kind.value, self.id)


@dataclass(frozen=True, slots=True, kw_only=True)
class SavedPlan:
    """A saved plan whose digest, age and plan file have been checked."""

    path: Path
    digest: str
    made_at: str
    made_by: str
    plan_path: Path
    plan_sha256: str
    endpoints: Mapping[str, str]  # org -> api base URL when it was saved
    checks: tuple[Mapping[str, Any], ...]  # preflight as the reviewer saw it
    waves: tuple[tuple[str, tuple[str, ...]], ...]
    limit: tuple[str, ...]
    left_out: tuple[str, ...]
    items: tuple[SavedItem, ...]


def canonical(document: Mapping[str, Any]) -> bytes:
    """The bytes the digest covers: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def digest_of(document: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` over the canonical JSON of ``document`` without its ``digest``."""
    body = {k: v for k, v in document.items() if k != "digest"}
    return DIGEST_PREFIX + hashlib.sha256(canonical(body)).hexdigest()


def sealed(document: Mapping[str, Any]) -> str:
    """The file's text: ``document`` with its digest, indented, in the order a reviewer reads."""
    rest = {k: v for k, v in document.items() if k not in ("saved_plan", "digest")}
    whole = {"saved_plan": document.get("saved_plan"), "digest": digest_of(document), **rest}
    return json.dumps(whole, indent=2, ensure_ascii=False) + "\n"


def read_saved(path: Path, *, max_age: float, now: datetime) -> SavedPlan:
    """The saved plan at ``path``, once every check has passed.

    Raises:
        UsageError: not a saved plan, altered since it was saved, older than
            ``max_age`` seconds, or its plan file is missing or changed.
    """
    document = _document(path)
    if document.get("saved_plan") != FORMAT:
        raise UsageError(f"{path}: not a saved plan of format {FORMAT} (`plan --out` writes one)")
    if document.get("digest") != digest_of(document):
        raise UsageError(
            f"{path} was altered after it was saved (its digest does not match its content):"
            " nothing was sent; save the plan again (`orchestrator plan PLAN --out FILE`)"
            " and have that file reviewed"
        )
    try:
        saved = _parse(path, document)
    except KeyError as exc:
        raise UsageError(f"{path}: malformed saved plan (no {exc!s:.100})") from None
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{path}: malformed saved plan ({exc!s:.200})") from None
    _check_age(saved, max_age, now)
    _check_plan_file(saved)
    return saved


def _document(path: Path) -> dict[str, Any]:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(f"{path}: not a regular file")
        if info.st_size > MAX_BYTES:
            raise UsageError(f"{path}: larger than {MAX_BYTES // 2**20} MiB")
        text = path.read_text(encoding="utf-8")
        document = json.loads(text, parse_constant=_no_constant)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the saved plan: {exc.strerror}") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UsageError(f"{path}: not a saved plan: not valid JSON ({exc!s:.120})") from None
    if not isinstance(document, dict):
        raise UsageError(f"{path}: not a saved plan: a JSON object was expected")
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_age(saved: SavedPlan, max_age: float, now: datetime) -> None:
    made = parse_stamp(saved.made_at)
    age = (now - made).total_seconds()
    if age > max_age:
        raise UsageError(
            f"{saved.path} was saved at {saved.made_at}, {describe_duration(math.floor(age))}"
            f" ago: older than --max-age {describe_duration(max_age)}; live states move,"
            " so plan and review again (or give a longer --max-age)"
        )


def _check_plan_file(saved: SavedPlan) -> None:
    where = saved.plan_path
    try:
        data = where.read_bytes()
    except FileNotFoundError:
        raise UsageError(
            f"{saved.path}: its plan file {where} is missing; apply needs it unchanged"
            " (environments, gates, resume): put it back at that path"
        ) from None
    except OSError as exc:
        raise UsageError(
            f"{saved.path}: cannot read its plan file {where}: {exc.strerror}"
        ) from None
    now = hashlib.sha256(data).hexdigest()
    if now != saved.plan_sha256:
        raise UsageError(
            f"plan file {where} changed since {saved.path} was saved (sha256"
            f" {saved.plan_sha256[:12]}… then, {now[:12]}… now): what was reviewed is not"
            " what the plan says any more; plan and review again"
        )


def _parse(path: Path, doc: Mapping[str, Any]) -> SavedPlan:
    plan = doc["plan"]
    environment = doc["environment"]
    limit = doc.get("limit") or {"patterns": [], "left_out": []}
    items = tuple(_item(entry) for entry in doc["items"])
    if not items:
        raise ValueError("it holds no item")
    parse_stamp(_text(doc["made_at"]))  # a ValueError if it is not an instant
    for item in items:
        if content_hash(item.target_content) != item.target_hash:
            raise ValueError(f"target of {'/'.join(item.key)} does not match its hash")
    return SavedPlan(
        path=path,
        digest=_text(doc["digest"]),
        made_at=_text(doc["made_at"]),
        made_by=_text(doc["made_by"]),
        plan_path=Path(_text(plan["path"])),
        plan_sha256=_text(plan["sha256"]),
        endpoints={_text(k): _text(v["api_base"]) for k, v in environment["orgs"].items()},
        checks=tuple(dict(c) for c in doc.get("preflight", ())),
        waves=tuple((_text(w["name"]), tuple(map(_text, w["orgs"]))) for w in doc["waves"]),
        limit=tuple(map(_text, limit["patterns"])),
        left_out=tuple(map(_text, limit["left_out"])),
        items=items,
    )


def _item(entry: Mapping[str, Any]) -> SavedItem:
    base, target = entry["baseline"], entry["target"]
    if not isinstance(target["content"], dict):
        raise TypeError("a target's content must be an object")
    return SavedItem(
        org=_text(entry["org"]),
        kind=Kind(entry["kind"]),
        id=_text(entry["id"]),
        name=entry.get("name") if isinstance(entry.get("name"), str) else None,
        wave=_text(entry["wave"]),
        action=_text(entry["action"]),
        baseline=Baseline(
            version=_number(base.get("version")),
            etag=_optional(base.get("etag")),
            modified=_optional(base.get("modified")),
            hash=_text(base["hash"]),
        ),
        target_label=_text(target["label"]),
        target_version=_number(target.get("version")),
        target_hash=_text(target["hash"]),
        target_content=target["content"],
        changes=tuple(dict(c) for c in entry.get("changes", ())),
    )


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _optional(value: object) -> str | None:
    return None if value is None else _text(value)


def _number(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a version number, got {type(value).__name__}")
    return value


def check_environment(saved: SavedPlan, plan: Plan) -> None:
    """Every org still reached where it was when the plan was saved.

    Raises:
        UsageError: an org is gone from the environment, or points elsewhere now.
    """
    for org, base in saved.endpoints.items():
        if org not in plan.environment:
            raise UsageError(f"{saved.path}: org {org} is no longer in the plan's environment")
        now = plan.environment.org(org).api_base
        if now != base:
            raise UsageError(
                f"{saved.path}: org {org} was reviewed at {base}, the environment file now"
                f" points it at {now}: plan and review again"
            )


def reviewed_plan(
    plan: Plan,
    keys: Sequence[Sequence[str]],
    waves: Sequence[tuple[str, Sequence[str]]],
    *,
    limit: Sequence[str] = (),
    left_out: Sequence[str] = (),
) -> Plan:
    """``plan`` cut down to a saved plan's items and waves, in the saved order.

    Every item is marked ``reviewed`` (any drift refuses it as ``plan.stale``)
    with ``on_drift: stop``: a reviewed plan never overwrites what nobody
    reviewed. The same function rebuilds an apply run on ``resume``.

    Raises:
        UsageError: an item or a wave of the saved plan is not in ``plan``.
    """
    by_key = {item.key: item for item in plan.items}
    items = []
    for key in keys:
        found = by_key.get((key[0], key[1], key[2]))
        if found is None:
            raise UsageError(f"item {'/'.join(key)} of the saved plan is not in {plan.path}")
        items.append(replace(found, on_drift=OnDrift.STOP, reviewed=True))
    placed = [org for _, orgs in waves for org in orgs]
    if len(placed) != len(set(placed)) or not {key[0] for key in keys} <= set(placed):
        raise UsageError("the saved plan's waves do not place each of its orgs exactly once")
    by_name = {wave.name: wave for wave in plan.waves}
    kept = []
    for name, orgs in waves:
        if name not in by_name:
            raise UsageError(f"wave {name} of the saved plan is not in {plan.path}")
        kept.append(replace(by_name[name], orgs=tuple(orgs)))
    return replace(
        plan, items=tuple(items), waves=tuple(kept), limit=tuple(limit), left_out=tuple(left_out)
    )


def reviewed_detail(saved: SavedPlan, plan: Plan) -> dict[str, Any]:
    """The journal event that lets ``resume`` rebuild an apply run from its plan file."""
    return {
        "file": str(saved.path),
        "digest": saved.digest,
        "made_at": saved.made_at,
        "made_by": saved.made_by,
        "items": [list(item.key) for item in plan.items],
        "waves": [[wave.name, list(wave.orgs)] for wave in plan.waves],
        "limit": list(plan.limit),
        "left_out": list(plan.left_out),
    }


def reviewed_of(plan: Plan, detail: Mapping[str, Any]) -> Plan:
    """The plan of an apply run, from its :data:`REVIEWED` event (see :func:`reviewed_plan`)."""
    return reviewed_plan(
        plan,
        detail["items"],
        [(name, orgs) for name, orgs in detail["waves"]],
        limit=detail["limit"],
        left_out=detail["left_out"],
    )


def fspath(path: Path) -> str:
    """``path`` made absolute (a saved plan is applied from any folder)."""
    return str(path.absolute())
