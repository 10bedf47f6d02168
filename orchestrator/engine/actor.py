"""Who is acting: recorded on runs, approvals and gate decisions.

In order: ``$ORCHESTRATOR_ACTOR``; else the identity a CI system puts in the
environment of its jobs (the person or account that started the pipeline,
and which CI); else ``user@host``.
"""

from __future__ import annotations

import getpass
import os
import socket

# (the variable that marks this CI, its name, the variables naming who started the job)
CI_IDENTITIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("GITHUB_ACTIONS", "github-actions", ("GITHUB_TRIGGERING_ACTOR", "GITHUB_ACTOR")),
    ("GITLAB_CI", "gitlab-ci", ("GITLAB_USER_LOGIN", "GITLAB_USER_EMAIL")),
    ("TF_BUILD", "azure-pipelines", ("BUILD_REQUESTEDFOREMAIL", "BUILD_REQUESTEDFOR")),
    ("BUILDKITE", "buildkite", ("BUILDKITE_BUILD_CREATOR_EMAIL", "BUILDKITE_BUILD_CREATOR")),
    ("CIRCLECI", "circleci", ("CIRCLE_USERNAME",)),
    ("JENKINS_URL", "jenkins", ("BUILD_USER_ID", "BUILD_USER")),
)


def current_actor() -> str:
    """``$ORCHESTRATOR_ACTOR``, else ``<who> via <ci>`` in a CI job, else ``user@host``."""
    given = os.environ.get("ORCHESTRATOR_ACTOR", "").strip()
    if given:
        return given
    return ci_actor() or _local_actor()


def ci_actor() -> str | None:
    """The CI's identity of whoever started this job, when a known CI runs us."""
    for marker, ci, names in CI_IDENTITIES:
        if not os.environ.get(marker):
            continue
        for name in names:
            who = os.environ.get(name, "").strip()
            if who:
                return f"{who} via {ci}"
    return None


def _local_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container with a random uid)
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"
