"""The PostgreSQL journal's tables: SQLite's migrations, in PostgreSQL's words.

The statements are written once, in :mod:`~orchestrator.journal.sqlite_schema`;
the few words the two dialects spell differently are translated here.
``MIGRATIONS[n]`` turns version ``n`` into ``n + 1``; they run in one
transaction under an advisory lock, so two processes opening a new database
at once do not both migrate it.
"""

from __future__ import annotations

from orchestrator.journal import sqlite_schema

_DIALECT = (
    ("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY"),
    ("duration_s REAL", "duration_s DOUBLE PRECISION"),
    ("ADD COLUMN ", "ADD COLUMN IF NOT EXISTS "),
)


def _translate(script: str) -> str:
    for sqlite, postgres in _DIALECT:
        script = script.replace(sqlite, postgres)
    return script


MIGRATIONS: tuple[str, ...] = tuple(_translate(s) for s in sqlite_schema.MIGRATIONS)
SCHEMA_VERSION = len(MIGRATIONS)
