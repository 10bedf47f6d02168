"""What the journal holds, as frozen records: runs, waves, items, snapshots.

Every backend returns these, built by column name; nothing above the journal
sees a database row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import ItemError
from orchestrator.statuses import RunStatus, State, Status, WaveStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRow:
    """One run as the journal holds it."""

    id: str
    plan_name: str
    plan_path: str
    plan_sha256: str
    status: RunStatus
    reason: str | None
    started_at: str
    finished_at: str | None
    http: dict[str, int]
    holder: str | None
    actor: str | None = None  # who started it ($ORCHESTRATOR_ACTOR, else user@host)
    shards: int | None = None  # how many processes drive it (`run --shard I/N`), None: one


@dataclass(frozen=True, slots=True, kw_only=True)
class WaveRow:
    """One wave of a run."""

    idx: int
    name: str
    status: WaveStatus
    items: int
    failed: int
    started_at: str | None
    finished_at: str | None
    approved_by: str | None
    reason: str | None
    gated: bool | None = None  # waits for an approval (None: a run from before schema v4)


@dataclass(frozen=True, slots=True, kw_only=True)
class ShardRow:
    """One shard of a sharded run: what its process last said, and its items' progress."""

    idx: int
    state: str  # what the process is doing: planning, running, waiting, held, done, ...
    wave: int | None  # the wave it is in
    holder: str | None  # pid … on host
    actor: str | None
    note: str | None  # why it waits or stopped
    http: dict[str, int] | None  # its requests so far
    started_at: str
    heartbeat_at: str
    items: int  # items it drives
    final: int  # of which final


@dataclass(frozen=True, slots=True, kw_only=True)
class NewItem:
    """An item as a new run records it, before anything is known of it."""

    seq: int
    org: str
    kind: str
    id: str
    wave: str
    spec: str  # the item's `to:` as the plan wrote it
    shard: int | None = None  # the shard that drives it, in a sharded run


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemRow:
    """One item of a run, with everything recorded about it so far."""

    seq: int
    org: str
    kind: str
    resource_id: str
    wave: str
    spec: str
    state: State
    status: Status | None
    name: str | None
    from_version: int | None
    planned_etag: str | None
    planned_modified: str | None
    planned_hash: str | None
    target_version: int | None
    target_label: str | None
    target_hash: str | None
    target_fields: dict[str, Any] | None
    expected_version: int | None
    new_version: int | None
    attempts: int
    conflicts: int
    requests: int
    started_at: str | None
    finished_at: str | None
    duration_s: float | None
    error: ItemError | None
    shard: int | None = None  # the shard that drives it, in a sharded run


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    """What planning saw of an item (its drift reference) and the target it resolved."""

    name: str | None
    from_version: int | None
    etag: str | None
    modified: str | None
    planned_hash: str | None
    target_version: int | None
    target_label: str | None
    target_hash: str | None
    target_fields: Mapping[str, Any] | None
    requests: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Finished:
    """An item's final status and what it cost."""

    status: Status
    new_version: int | None
    attempts: int
    conflicts: int
    requests: int
    duration_s: float | None
    error: ItemError | None


SNAPSHOT_TAKEN = "snapshot"  # a snapshot's source: taken on purpose (`orchestrator snapshot`)
PRE_WRITE = "pre-write"  # a snapshot's source: what a run's write replaced


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """Content of one resource as stored at one instant (``id`` is None until stored)."""

    org: str
    kind: str
    resource_id: str
    taken_at: str
    source: str  # SNAPSHOT_TAKEN (taken on purpose) or PRE_WRITE (what a write replaced)
    run_id: str | None
    version: int | None
    modified: str | None
    content_hash: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None


LIMITED = "run.limited"  # the event recording a run's `--limit` (read back by resume)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One entry of a run's audit trail."""

    seq: int | None
    at: str
    event: str
    detail: Any
