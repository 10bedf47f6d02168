"""``orchestrator sandbox``: serve a seed until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
from pathlib import Path

import anyio

from orchestrator.sandbox.sandbox import Sandbox
from orchestrator.sandbox.seed import Seed, load_faults, load_seed

MAX_REQUESTS = 100_000


def _table(seed: Seed) -> str:
    rows = [
        ("org", "client_id", "org_id", "req/min", "configs", "assistants", "queues", "checklists")
    ]
    for org in seed.orgs:
        rpm = str(org.requests_per_minute) if org.requests_per_minute else "unlimited"
        rows.append(
            (
                org.name,
                org.client_id,
                org.org_id,
                rpm,
                str(len(org.configs)),
                str(len(org.assistants)),
                f"{sum(1 for q in org.queues if q.assistant)}/{len(org.queues)} bound",
                str(len(org.checklists)),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


async def _serve(sandbox: Sandbox, seed: Seed, host: str, port: int) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with sandbox.serve(host=host, port=port) as url:
            print(f"sandbox serving {len(seed.orgs)} orgs on {url} (Ctrl-C to stop)", flush=True)
            # Secrets stay in the seed file; the client ids are enough to find them.
            print(_table(seed), flush=True)
            async for _ in signals:
                break
    print("sandbox stopped", flush=True)


def serve_forever(
    seed: Path, faults: Path | None, host: str = "127.0.0.1", port: int = 8787
) -> None:
    """Load ``seed`` (and ``faults``), serve until interrupted, return cleanly.

    Raises:
        SeedError: the seed or faults file is invalid (before anything binds).
    """
    loaded = load_seed(seed)
    fault_map = load_faults(faults) if faults is not None else None
    # A server left running must not grow without bound: the admin endpoint
    # shows the newest requests, which is what a curl user looks at.
    sandbox = Sandbox(loaded, faults=fault_map, max_requests=MAX_REQUESTS)
    anyio.run(_serve, sandbox, loaded, host, port, backend="asyncio")
