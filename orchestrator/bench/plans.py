"""Plan files for the benchmark: generated orgs on a sandbox, every config rolled back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from orchestrator.sandbox import ConfigSeed, Seed

# A config id and the version to roll it back to; None: the plan's default, previous.
Rollback = tuple[str, int | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Pacing:
    """The limits a bench plan runs under."""

    requests_per_minute: int  # per org; equal to the sandbox's limit when it has one
    org_concurrency: int = 4  # requests in flight per org
    concurrency: int = 32  # requests in flight across the run


def secret_of(org: str) -> str:
    """The client secret ``generate_seed`` gives ``org`` (literal secrets are fine on loopback)."""
    return f"{org}-secret"


def rollbacks(seed: Seed) -> dict[str, list[Rollback]]:
    """Per org, every config with a target whose content differs from the live one.

    ``generate_seed`` sometimes evolves a version into the same content as the
    one before it (about 4 % of configs); ``to: previous`` would leave those
    ``already_at_target`` with nothing written. They get the newest older
    version that differs instead, so that every config needs exactly one write.
    """
    return {org.name: [(c.id, _target(c)) for c in org.configs] for org in seed.orgs}


def _target(config: ConfigSeed) -> int | None:
    *older, current = config.versions
    for candidate in reversed(older):
        if candidate.fields != current.fields:
            return None if candidate is older[-1] else candidate.version
    raise ValueError(f"config {config.id}: every version has the same content")


def config_ids(plan: Mapping[str, Sequence[Rollback]]) -> dict[str, list[str]]:
    """Org -> the config ids of ``plan``."""
    return {org: [cid for cid, _ in items] for org, items in plan.items()}


def write_plan(
    path: Path, url: str, configs: Mapping[str, Sequence[Rollback]], pacing: Pacing, *, name: str
) -> Path:
    """Write a plan rolling back every config of ``configs`` (org -> rollbacks) on ``url``.

    Returns:
        ``path``, written.
    """
    orgs = {
        org: {
            "base_url": url,
            "client_id": org,
            "client_secret": secret_of(org),
            "requests_per_minute": pacing.requests_per_minute,
            "concurrency": pacing.org_concurrency,
        }
        for org in configs
    }
    document: dict[str, Any] = {
        "plan": 1,
        "name": name,
        "orgs": orgs,
        "defaults": {"to": "previous"},
        "targets": [
            {
                "org": org,
                "configs": [cid if to is None else {"id": cid, "to": to} for cid, to in items],
            }
            for org, items in configs.items()
        ],
        # Propagation is instant in the bench sandbox; these only bound a broken run.
        "limits": {
            "concurrency": pacing.concurrency,
            "verify_timeout": "60s",
            "request_timeout": "30s",
        },
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path
