"""deploy/kubernetes/: valid for the Kubernetes API, and saying what the README says it does."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import psycopg
import pytest
import yaml

from orchestrator.cli.parser import build_parser
from orchestrator.planfile.loader import load_plan
from tests.deploy.kubernetes import (
    DEPLOY,
    Manifest,
    container,
    expand,
    failure_action,
    manifest,
    manifests,
    option,
    pod_args,
    pod_env,
    secret_values,
)
from tests.support import ROOT

# The oldest release the example is written for (job.yaml says why) and the
# newest whose schemas the validator bundles.
KUBERNETES = ("1.31", kubernetes_validate.latest_version())


@pytest.fixture(scope="module")
def job() -> Manifest:
    return manifest("job.yaml")


@pytest.fixture(scope="module")
def secret() -> Manifest:
    return manifest("secret.example.yaml")


def shards(job: Manifest, secret: Manifest) -> int:
    """The N of ``--shard I/N`` in the Job's args."""
    return int(option(pod_args(job, secret, index=0), "--shard").split("/")[1])


def test_the_example_has_the_objects_the_readme_walks_through() -> None:
    """A Job, the approval Job, the Secret and the ConfigMap, in one namespace."""
    kinds = {path.name: manifest(path.name)["kind"] for path in manifests()}
    assert kinds == {
        "approve-job.yaml": "Job",
        "configmap.yaml": "ConfigMap",
        "job.yaml": "Job",
        "secret.example.yaml": "Secret",
    }
    assert {manifest(name)["metadata"]["namespace"] for name in kinds} == {"orchestrator"}


@pytest.mark.parametrize("version", KUBERNETES)
@pytest.mark.parametrize("path", manifests(), ids=lambda p: p.name)
def test_every_manifest_is_valid_for_the_api(path: Path, version: str) -> None:
    """Each object passes the strict schema (unknown fields refused) of the API release."""
    assert kubernetes_validate.validate(manifest(path.name), version, strict=True)


def test_the_validator_refuses_what_the_api_would(job: Manifest) -> None:
    """A misspelt field and a wrong type fail the same check: it is not a formality."""
    spec = {**job["spec"], "parralelism": 3}
    with pytest.raises(kubernetes_validate.ValidationError, match="parralelism"):
        kubernetes_validate.validate({**job, "spec": spec}, KUBERNETES[-1], strict=True)
    spec = {**job["spec"], "completions": "three"}
    with pytest.raises(kubernetes_validate.ValidationError, match="three"):
        kubernetes_validate.validate({**job, "spec": spec}, KUBERNETES[-1], strict=True)


def test_the_schemas_are_bundled_not_downloaded(
    job: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every connection refused, validation still works: nothing is fetched."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the validator tried the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    for path in manifests():
        kubernetes_validate.validate(manifest(path.name), KUBERNETES[0], strict=True)


def test_the_job_is_indexed_with_one_pod_per_shard(job: Manifest, secret: Manifest) -> None:
    """completionMode Indexed; completions == parallelism == the N of --shard I/N."""
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == shards(job, secret) == 3


def test_every_index_drives_its_own_shard_of_one_run(job: Manifest, secret: Manifest) -> None:
    """Pods 0..N-1 get --shard 0/N..N-1/N and all the same --run-id, plan and journal."""
    n = shards(job, secret)
    argv = [pod_args(job, secret, index=i) for i in range(n)]
    assert [option(args, "--shard") for args in argv] == [f"{i}/{n}" for i in range(n)]
    assert len({option(args, "--run-id") for args in argv}) == 1
    assert len({option(args, "--journal") for args in argv}) == 1
    assert all(args[:2] == ["run", "/plan/plan.yaml"] for args in argv)
    assert not [arg for args in argv for arg in args if "$(" in arg], "a $(NAME) left unset"


def _run_knows_shard() -> bool:
    _, unknown = build_parser().parse_known_args(["run", "plan.yaml", "--shard", "0/3"])
    return not unknown


@pytest.mark.skipif(not _run_knows_shard(), reason="`run --shard` is not built on this branch")
def test_the_jobs_args_parse_with_the_real_command_line(job: Manifest, secret: Manifest) -> None:
    """orchestrator.cli.parser accepts each pod's argv as the run it means."""
    for index in range(shards(job, secret)):
        args = build_parser().parse_args(pod_args(job, secret, index=index))
        assert args.command == "run"
        assert args.plan == Path("/plan/plan.yaml")
        assert args.run_id == "revert-nov28-r1"
        assert args.journal == pod_env(job, secret, index=index)["ORCHESTRATOR_JOURNAL"]


def test_the_approval_job_approves_the_same_run(job: Manifest, secret: Manifest) -> None:
    """approve-job.yaml parses as `approve RUN_ID` of the Job's run, on the same journal."""
    approval = manifest("approve-job.yaml")
    args = build_parser().parse_args(pod_args(approval, secret, index=0))
    run_args = pod_args(job, secret, index=0)
    assert args.command == "approve"
    assert args.run_id == option(run_args, "--run-id")
    assert args.journal == option(run_args, "--journal")
    for key in ("image", "envFrom", "volumeMounts", "securityContext"):
        assert container(approval)[key] == container(job)[key], key
    assert (
        approval["spec"]["template"]["spec"]["volumes"][0]
        == job["spec"]["template"]["spec"]["volumes"][0]
    )


@pytest.mark.parametrize("name", ["job.yaml", "approve-job.yaml"])
def test_the_journal_password_comes_from_the_secret_only(name: str, secret: Manifest) -> None:
    """The URL has no password; libpq's PGPASSWORD comes from the Secret, no literal anywhere."""
    job = manifest(name)
    env = pod_env(job, secret, index=0)
    url = option(pod_args(job, secret, index=0), "--journal")
    assert url.startswith("postgresql://")
    assert "password" not in psycopg.conninfo.conninfo_to_dict(url)
    assert env["PGPASSWORD"] == secret_values(secret)["PGPASSWORD"]
    literal = [v["name"] for v in container(job)["env"] if "value" in v]
    assert "PGPASSWORD" not in literal
    for path in manifests():
        if path.name != "secret.example.yaml":
            text = path.read_text()
            assert not [v for v in secret_values(secret).values() if v in text], path.name


def _validate(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", "validate", str(folder / "plan.yaml")],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ["PATH"], **env},
    )


def test_the_configmaps_plan_is_valid_with_the_pods_environment(
    job: Manifest, secret: Manifest, tmp_path: Path
) -> None:
    """`orchestrator validate` passes on the ConfigMap's files, given the pod's environment.

    Without the Secret's variables it fails naming them: every ${NAME} of the
    environment file is one of the Secret's keys.
    """
    configmap = manifest("configmap.yaml")
    for key, text in configmap["data"].items():
        (tmp_path / key).write_text(text)

    done = _validate(tmp_path, pod_env(job, secret, index=0))
    assert done.returncode == 0, done.stderr
    assert "valid: plan 'revert-nov28', 8 items in 6 orgs" in done.stdout

    done = _validate(tmp_path, {})
    assert done.returncode == 2
    for key in secret_values(secret):
        if key.startswith("GC_"):
            assert key in done.stderr


@pytest.mark.parametrize("name", ["job.yaml", "approve-job.yaml"])
def test_each_file_of_the_configmap_is_a_plain_file_beside_the_plan(
    name: str, secret: Manifest
) -> None:
    """Every key is mounted by subPath at /plan/KEY; the args name /plan/plan.yaml."""
    job = manifest(name)
    configmap = manifest("configmap.yaml")
    volume = next(v for v in job["spec"]["template"]["spec"]["volumes"] if v["name"] == "plan")
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    mounts = {m["subPath"]: m for m in container(job)["volumeMounts"] if m["name"] == "plan"}
    assert set(mounts) == set(configmap["data"])
    assert all(m["mountPath"] == f"/plan/{key}" and m["readOnly"] for key, m in mounts.items())
    plan = yaml.safe_load(configmap["data"]["plan.yaml"])
    assert plan["environments"] in mounts
    if name == "job.yaml":
        assert pod_args(job, secret, index=0)[1] == "/plan/plan.yaml"


def test_a_whole_volume_mount_would_record_a_path_of_one_pod_only(
    job: Manifest, secret: Manifest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why subPath: kubelet's ConfigMap volume is symlinks into a folder named per pod.

    The run records the plan's real path; approve and resume load it again in
    another pod, where that folder does not exist.
    """
    configmap = manifest("configmap.yaml")
    for key, value in pod_env(job, secret, index=0).items():
        monkeypatch.setenv(key, value)
    recorded = []
    for pod in ("pod-a", "pod-b"):
        volume = tmp_path / pod / "plan"
        data = volume / f"..2026_12_01_04_00_0{len(recorded)}.123456789"
        data.mkdir(parents=True)
        for key, text in configmap["data"].items():
            (data / key).write_text(text)
            (volume / key).symlink_to(Path("..data") / key)
        (volume / "..data").symlink_to(data.name)
        recorded.append(load_plan(volume / "plan.yaml").path.relative_to(tmp_path / pod))
    assert recorded[0] != recorded[1]
    plain = tmp_path / "subpath"
    plain.mkdir()
    for key, text in configmap["data"].items():
        (plain / key).write_text(text)
    assert load_plan(plain / "plan.yaml").path == plain / "plan.yaml"


def test_exit_3_ends_the_shard_and_accidents_restart_it(job: Manifest) -> None:
    """A gate (3) and the run's other verdicts stop the index; a kill or OOM restarts it."""
    spec = job["spec"]
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert spec["podReplacementPolicy"] == "Failed"
    assert spec["backoffLimitPerIndex"] >= 1
    for code in (1, 2, 3, 4):
        assert failure_action(job, exit_code=code) == "FailIndex", code
    for code in (130, 137, 143):  # SIGINT/SIGTERM handled, SIGKILL or OOM, SIGTERM unhandled
        assert failure_action(job, exit_code=code) == "Count", code
    drained = failure_action(job, exit_code=143, conditions=("DisruptionTarget",))
    assert drained == "Ignore"
    actions = {rule["action"] for rule in spec["podFailurePolicy"]["rules"]}
    assert actions <= {"FailJob", "FailIndex", "Ignore", "Count"}  # others are skipped


def test_the_pod_runs_unprivileged_within_bounds(job: Manifest) -> None:
    """Non-root, no privilege escalation, read-only root, bounded in time and resources."""
    pod = job["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False
    box = container(job)["securityContext"]
    assert box["allowPrivilegeEscalation"] is False
    assert box["readOnlyRootFilesystem"] is True
    assert box["capabilities"]["drop"] == ["ALL"]
    assert "/tmp" in {m["mountPath"] for m in container(job)["volumeMounts"]}
    resources = container(job)["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    assert job["spec"]["activeDeadlineSeconds"] > 0
    assert job["spec"]["ttlSecondsAfterFinished"] > 0


def test_the_actor_names_the_requester_and_the_job(job: Manifest, secret: Manifest) -> None:
    """ORCHESTRATOR_ACTOR resolves to who asked for it, via which Job."""
    actor = pod_env(job, secret, index=1)["ORCHESTRATOR_ACTOR"]
    assert (
        actor == "jane.doe@example.com (CHG-4711) via kubernetes job orchestrator-revert-nov28-r1"
    )


def test_the_image_is_the_documented_placeholder_built_by_the_dockerfile(job: Manifest) -> None:
    """The README names the image to replace; the Dockerfile's user is the pod's."""
    image = container(job)["image"]
    assert image in (ROOT / "README.md").read_text()
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    uid = job["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
    assert f"USER {uid}:{uid}" in dockerfile
    assert image in dockerfile


def test_kubelet_expansion_as_the_tests_read_it() -> None:
    """$(NAME) from the environment, $$ a literal $, an unknown name left as written."""
    env = {"A": "1"}
    assert expand("$(A)/3 $$(A) $(B)", env) == "1/3 $(A) $(B)"
