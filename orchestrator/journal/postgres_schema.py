"""The PostgreSQL journal's tables: the same migrations as SQLite's, in PostgreSQL's words.

``MIGRATIONS[n]`` turns version ``n`` into ``n + 1``; they run in one
transaction under an advisory lock, so two processes opening a new database
at once do not both migrate it.
"""

from __future__ import annotations

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
    duration_s DOUBLE PRECISION,
    error TEXT,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS events (
    id BIGSERIAL PRIMARY KEY,
    run_id TEXT NOT NULL,
    seq INTEGER,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id, seq);
CREATE TABLE IF NOT EXISTS snapshots (
    id BIGSERIAL PRIMARY KEY,
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

_V2 = "ALTER TABLE runs ADD COLUMN IF NOT EXISTS actor TEXT;"

_V3 = """
CREATE TABLE IF NOT EXISTS org_pauses (
    org TEXT PRIMARY KEY,
    paused_until TEXT NOT NULL,
    run_id TEXT,
    at TEXT NOT NULL
);
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3)
SCHEMA_VERSION = len(MIGRATIONS)
