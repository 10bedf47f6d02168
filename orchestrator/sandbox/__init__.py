"""A faithful local emulator of the Genesys Cloud endpoints the orchestrator uses.

The contract is ``api.md`` sections 2 to 7. ``Sandbox`` serves it on loopback
inside the caller's event loop; ``serve_forever`` backs ``orchestrator
sandbox``. Module map:

- ``seed`` / ``seed_unversioned`` / ``generate``: seed files and synthetic seeds
- ``faults``: fault settings and their seeded dice
- ``world`` / ``resources`` / ``unversioned``: the mutable orgs, configs,
  assistants (copilots, queue bindings), checklists, tokens
- ``app`` (envelope, gate), ``oauth``, ``configs``, ``assistants``,
  ``copilot``, ``queues``, ``checklists``, ``admin``: HTTP
- ``bodies``, ``api_errors``, ``paging``, ``ratelimit``, ``records``,
  ``exchange``: their parts
"""

from orchestrator.sandbox.faults import Faults
from orchestrator.sandbox.generate import generate_seed
from orchestrator.sandbox.records import ForeignWrite, RequestRecord
from orchestrator.sandbox.sandbox import ConfigView, Sandbox
from orchestrator.sandbox.seed import (
    ConfigSeed,
    OrgSeed,
    Seed,
    SeedError,
    VersionSeed,
    load_faults,
    load_seed,
)

__all__ = [
    "ConfigSeed",
    "ConfigView",
    "Faults",
    "ForeignWrite",
    "OrgSeed",
    "RequestRecord",
    "Sandbox",
    "Seed",
    "SeedError",
    "VersionSeed",
    "generate_seed",
    "load_faults",
    "load_seed",
]
