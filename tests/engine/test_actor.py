"""Who acted: $ORCHESTRATOR_ACTOR, else the CI's identity, else user@host."""

from __future__ import annotations

import socket

import pytest

from orchestrator.engine.actor import CI_IDENTITIES, current_actor


@pytest.fixture(autouse=True)
def _no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORCHESTRATOR_ACTOR", raising=False)
    for marker, _, names in CI_IDENTITIES:
        for name in (marker, *names):
            monkeypatch.delenv(name, raising=False)


def test_the_explicit_actor_wins_over_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    monkeypatch.setenv("ORCHESTRATOR_ACTOR", "alice@platform-team")
    assert current_actor() == "alice@platform-team"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "octocat"}, "octocat via github-actions"),
        (
            {"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "bot", "GITHUB_TRIGGERING_ACTOR": "ana"},
            "ana via github-actions",
        ),
        ({"GITLAB_CI": "true", "GITLAB_USER_LOGIN": "bob"}, "bob via gitlab-ci"),
        ({"TF_BUILD": "True", "BUILD_REQUESTEDFOR": "Carol"}, "Carol via azure-pipelines"),
        ({"CIRCLECI": "true", "CIRCLE_USERNAME": "dan"}, "dan via circleci"),
        ({"JENKINS_URL": "http://ci", "BUILD_USER_ID": "erin"}, "erin via jenkins"),
    ],
)
def test_a_ci_job_is_attributed_to_whoever_started_it(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert current_actor() == expected


def test_outside_ci_it_is_user_at_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")  # without GITHUB_ACTIONS: not a CI job
    assert current_actor().endswith(f"@{socket.gethostname()}")
