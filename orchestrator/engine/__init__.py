"""The engine: preflight, planning, waves and their gates, the write algorithm, verification.

Layer rule: may import the top-level modules, :mod:`orchestrator.genesys`
and :mod:`orchestrator.journal`; never the UI or the CLI. It tells the
world what happens through :mod:`~orchestrator.engine.events` and writes
down what happens only through :class:`~orchestrator.engine.recorder.Recorder`.

- ``run``: ``preview``, ``run_plan``, ``resume_run``
- ``planner``: preflight and planning (live state, target, diff)
- ``scheduler`` + ``gates``: waves in order, each through its gates
- ``worker``: one item's guarded write, re-decided on conflict
- ``verifier``: polling written items until they are live
- ``job``, ``recorder``, ``events``, ``pool``, ``actor``: what they say
"""
