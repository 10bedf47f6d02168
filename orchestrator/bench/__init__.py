"""``make bench``: how fast the orchestrator rolls back, and against what.

Speed and memory are measured here, never asserted in tests. Module map:

- ``__main__``: the command (``python -m orchestrator.bench``), table and JSON
- ``ratebound``: scenarios bound by the sandbox's sliding 60 s window
- ``throughput``: the orchestrator alone on a CPU, sandbox rate limits off
- ``baseline``: the same rollbacks written with the official Genesys SDK
- ``sandboxproc``: a sandbox in a process of its own, and its request-log summary
- ``planfile``: plan files for generated seeds
- ``measure``: CPU, peak RSS and child processes that answer in JSON

This package imports nothing at import time, so each of its modules can run
as its own process (``python -m orchestrator.bench.throughput``) without
paying for the others.
"""
