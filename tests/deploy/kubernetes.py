"""What Kubernetes makes of deploy/kubernetes/, for tests that run no cluster.

The few rules of the API that the example leans on, written out from the
Kubernetes documentation: the environment a pod's container gets (``envFrom``
a Secret, ``env`` values, the downward API, the ``JOB_COMPLETION_INDEX`` an
Indexed Job adds), kubelet's ``$(NAME)`` expansion in ``env`` values and
``args``, and which ``podFailurePolicy`` rule a failed pod meets.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.support import ROOT

DEPLOY = ROOT / "deploy"
MANIFESTS = DEPLOY / "kubernetes"

Manifest = dict[str, Any]

# kubelet: `$$` is a literal `$`; `$(NAME)` is NAME's value where NAME is defined,
# and is left as written where it is not.
_REFERENCE = re.compile(r"\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)")
_FIELD = re.compile(r"metadata\.(annotations|labels)\['([^']+)'\]")


def manifest(name: str) -> Manifest:
    """The one object in ``deploy/kubernetes/<name>``."""
    documents = [d for d in yaml.safe_load_all((MANIFESTS / name).read_text()) if d]
    assert len(documents) == 1, f"{name}: expected one object, found {len(documents)}"
    found: Manifest = documents[0]
    return found


def manifests() -> list[Path]:
    """Every manifest of the example."""
    return sorted(MANIFESTS.glob("*.yaml"))


def expand(text: str, env: dict[str, str]) -> str:
    """``text`` with kubelet's ``$(NAME)`` references replaced from ``env``."""

    def one(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        return env.get(match[1], match[0])

    return _REFERENCE.sub(one, text)


def container(job: Manifest) -> Manifest:
    """The Job's only container."""
    containers: list[Manifest] = job["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def secret_values(secret: Manifest) -> dict[str, str]:
    """The Secret's keys and values, as a pod sees them."""
    assert "data" not in secret, "the example gives stringData, readable placeholders"
    return {key: str(value) for key, value in secret["stringData"].items()}


def pod_env(job: Manifest, secret: Manifest, *, index: int) -> dict[str, str]:
    """The environment of the Job's container in the pod with completion ``index``."""
    template = job["spec"]["template"]
    name = job["metadata"].get("name") or job["metadata"]["generateName"] + "x7k2q"
    fields = {
        ("annotations", key): value
        for key, value in template["metadata"].get("annotations", {}).items()
    }
    fields[("labels", "batch.kubernetes.io/job-name")] = name
    env: dict[str, str] = {}
    if job["spec"].get("completionMode") == "Indexed":  # the Job controller's additions
        fields[("annotations", "batch.kubernetes.io/job-completion-index")] = str(index)
        env["JOB_COMPLETION_INDEX"] = str(index)
    spec = container(job)
    for source in spec.get("envFrom", []):
        assert source["secretRef"]["name"] == secret["metadata"]["name"]
        env.update(secret_values(secret))
    for variable in spec.get("env", []):
        env[variable["name"]] = _value(variable, env, fields, secret)
    return env


def _value(
    variable: Manifest,
    env: dict[str, str],
    fields: dict[tuple[str, str], str],
    secret: Manifest,
) -> str:
    if "value" in variable:
        return expand(variable["value"], env)
    source = variable["valueFrom"]
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"]
        assert ref["name"] == secret["metadata"]["name"]
        return secret_values(secret)[ref["key"]]
    match = _FIELD.fullmatch(source["fieldRef"]["fieldPath"])
    assert match, f"a field the example does not use: {source}"
    return fields[(match[1], match[2])]


def pod_args(job: Manifest, secret: Manifest, *, index: int) -> list[str]:
    """The argv after the command, as kubelet expands it in pod ``index``."""
    env = pod_env(job, secret, index=index)
    return [expand(arg, env) for arg in container(job)["args"]]


def option(args: list[str], name: str) -> str:
    """The value given to ``name`` (``--name VALUE`` or ``--name=VALUE``)."""
    for position, arg in enumerate(args):
        if arg == name:
            return args[position + 1]
        if arg.startswith(name + "="):
            return arg.removeprefix(name + "=")
    raise AssertionError(f"{name} is not given in {args}")


def failure_action(job: Manifest, *, exit_code: int, conditions: tuple[str, ...] = ()) -> str:
    """What the Job controller does with a pod that failed so: the first rule that matches.

    ``Count`` (the default: the failure counts against the backoff limit) when
    no rule matches.
    """
    name = container(job)["name"]
    for rule in job["spec"].get("podFailurePolicy", {}).get("rules", []):
        if "onPodConditions" in rule:
            if any(c["type"] in conditions for c in rule["onPodConditions"]):
                return str(rule["action"])
            continue
        codes = rule["onExitCodes"]
        if codes.get("containerName", name) != name:
            continue
        listed = exit_code in codes["values"]
        if listed == (codes["operator"] == "In"):
            return str(rule["action"])
    return "Count"
