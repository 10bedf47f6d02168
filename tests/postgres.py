"""The tests' throwaway PostgreSQL server: the one the bench uses too."""

from __future__ import annotations

from orchestrator.bench.pgserver import PostgresServer

__all__ = ["PostgresServer"]
