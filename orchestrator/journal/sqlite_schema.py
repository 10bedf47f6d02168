"""The SQLite journal's tables, and the migrations that bring an older file up to date.

``MIGRATIONS[n]`` turns a schema of version ``n`` into version ``n + 1``; a
new file runs them all. The version lives in ``meta.schema_version``. A file
written by a newer orchestrator (a higher version) is refused rather than
guessed at.
"""

from __future__ import annotations

from orchestrator.statuses import WRITE_EVENTS

WRITE_EVENTS_SQL = "(" + ", ".join(f"'{name}'" for name in WRITE_EVENTS) + ")"
""":data:`WRITE_EVENTS` as an SQL list of literals: a partial index is used only by
a query whose condition names the same constants (a bound parameter would not do)."""

_V1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    plan_name TEXT NOT NULL,
    plan_path TEXT NOT NULL,
    plan_sha256 TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    http TEXT NOT NULL DEFAULT '{}',
    holder TEXT
);
CREATE TABLE IF NOT EXISTS waves (
    run_id TEXT NOT NULL REFERENCES runs(id),
    idx INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    items INTEGER NOT NULL,
    failed INTEGER NOT NULL DEFAULT 0,
    started_at TEXT,
    finished_at TEXT,
    approved_by TEXT,
    reason TEXT,
    PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS items (
    run_id TEXT NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    org TEXT NOT NULL,
    kind TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    wave TEXT NOT NULL,
    spec TEXT NOT NULL,
    state TEXT NOT NULL,
    status TEXT,
    name TEXT,
    from_version INTEGER,
    planned_etag TEXT,
    planned_modified TEXT,
    planned_hash TEXT,
    target_version INTEGER,
    target_label TEXT,
    target_hash TEXT,
    target_fields TEXT,
    expected_version INTEGER,
    new_version INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    conflicts INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    started_at TEXT,
    finished_at TEXT,
    duration_s REAL,
    error TEXT,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    seq INTEGER,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id, seq);
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org TEXT NOT NULL,
    kind TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    source TEXT NOT NULL,
    run_id TEXT,
    version INTEGER,
    modified TEXT,
    content_hash TEXT NOT NULL,
    fields TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_by_resource ON snapshots (kind, resource_id, taken_at);
"""

# v2: who started each run (approvals already name who gave them).
_V2 = "ALTER TABLE runs ADD COLUMN actor TEXT;"

# v3: what servers said about pacing that must outlive a process: a 429's pause
# per org (its credentials), honoured by any later process before it sends.
_V3 = """
CREATE TABLE IF NOT EXISTS org_pauses (
    org TEXT PRIMARY KEY,
    paused_until TEXT NOT NULL,
    run_id TEXT,
    at TEXT NOT NULL
);
"""

# v4: one run driven by several processes (shards). A sharded run records how
# many shards it has and each item's shard; each shard process keeps a row with
# its heartbeat; a decision taken once for the whole run (a gate) is a claim.
# A wave records whether it waits for an approval, so `approve` needs only the
# journal (not the plan file, nor its secrets).
_V4 = """
ALTER TABLE runs ADD COLUMN shards INTEGER;
ALTER TABLE waves ADD COLUMN gated INTEGER;
ALTER TABLE items ADD COLUMN shard INTEGER;
CREATE TABLE IF NOT EXISTS shards (
    run_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    state TEXT NOT NULL,
    wave INTEGER,
    holder TEXT,
    actor TEXT,
    note TEXT,
    http TEXT,
    started_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS claims (
    run_id TEXT NOT NULL,
    name TEXT NOT NULL,
    claimed_by TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
);
"""

# v5: no table changes. Writers now hold a resource with a byte-range lock on one
# file (``resources.lock``) instead of an ``flock`` on one of 4,096 files; the two
# do not exclude each other, so a v4 orchestrator must refuse a file that a v5 one
# writes to rather than write the same resource beside it. (PostgreSQL's schema is
# this one translated, so its version moves too: one number, one schema.)
_V5 = ""

# v6: the run's trail is indexed in the order it is written. An item's events
# arrive at different times, in any item order, so an index by (run_id, seq)
# took each insert into the middle of the tree: at 100,000 items it wrote 4.7
# pages per commit. ``(run_id, id)`` only appends, and serves every read of the
# trail in order; the one lookup by item (the correlation ids of its writes)
# gets a partial index over the write outcomes alone, one entry per write.
# (Renaming a write event needs a migration of its own that rebuilds this index:
# a journal keeps the index it was migrated with.)
_V6 = f"""
DROP INDEX IF EXISTS events_by_run;
CREATE INDEX IF NOT EXISTS events_in_order ON events (run_id, id);
CREATE INDEX IF NOT EXISTS writes_by_item ON events (run_id, seq) WHERE event IN {WRITE_EVENTS_SQL}
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5, _V6)
SCHEMA_VERSION = len(MIGRATIONS)
