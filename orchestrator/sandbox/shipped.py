"""The files that ship inside the package, so an installed wheel needs no checkout.

``data/`` holds the sandbox's seed and a faults example, and the environment
file and plans that ``orchestrator demo`` runs against the sandbox. They are
read in place: the package is installed unzipped by every installer we
support (pip, pipx, uv), and the plan loader resolves ``environments:``
relative to the plan file, which needs a real directory.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

DATA = Path(str(files("orchestrator.sandbox").joinpath("data")))
SEED = DATA / "seed.yaml"
FAULTS_EXAMPLE = DATA / "faults.example.yaml"
ORGS = DATA / "orgs.yaml"
PLAN = DATA / "plan.yaml"
HALT_PLAN = DATA / "plan-halt.yaml"
ASSISTANTS_PLAN = DATA / "plan-assistants.yaml"
ASSIST_PLAN = DATA / "plan-agent-assist.yaml"
REVIEWED_PLAN = DATA / "plan-reviewed.yaml"
ROLLOUT_PLAN = DATA / "plan-rollout.yaml"
