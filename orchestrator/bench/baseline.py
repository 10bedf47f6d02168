"""The baseline: the same rollbacks as a user would write them with the official SDK.

``python -m orchestrator.bench.baseline URL TARGETS THREADS`` logs in to every
org of ``TARGETS`` (a JSON file: org -> ``[[config_id, version or null]]``)
and rolls each config back through ``PureCloudPlatformClientV2``: GET the
config, GET the target version, PUT it with ``If-Match`` and version + 1, then
POST the analytics query until the new version is active. A
``ThreadPoolExecutor`` of THREADS threads runs the configs; each org has one
``ApiClient`` that its threads share. It prints its figures as one JSON line.

Two things a careful SDK user must do, and this one does:

- The SDK's connection pool (``RESTClientObject``) holds 4 connections per
  host and *blocks* a fifth thread until one is free; threads bunch on an org
  (the executor takes configs in order), so each org's pool is sized to the
  thread count.
- ``ApiClient.last_response`` is one attribute shared by every thread, so
  reading the ETag from it races; a post-request hook keeps each thread's own
  last response in a ``threading.local``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import PureCloudPlatformClientV2 as genesys
from PureCloudPlatformClientV2.rest import ApiException, RESTClientObject

from orchestrator.bench.measure import answer, timed

CONFIG = "/api/v2/agentassist/configs/{configId}"
VERSION = CONFIG + "/versions/{versionId}"
QUERY = "/api/v2/analytics/agentassist/conversations/query"
AUTH = ["PureCloud OAuth"]
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
POOLS = 2  # login and API hosts (one host on the sandbox, two on Genesys Cloud)
VERIFY_POLLS = 60
VERIFY_INTERVAL = 0.5
SHOWN_ERRORS = 5

_seen = threading.local()


def _remember(response: Any) -> Any:
    _seen.response = response
    return response


def login(url: str, org: str, threads: int) -> Any:
    """One org's ``ApiClient``, pool sized for ``threads``, logged in with client credentials."""
    client = genesys.ApiClient(host=url)
    http = client.get_http_client()
    http.rest_client = RESTClientObject(pools_size=POOLS, max_size=threads)
    http.set_post_request_hook(_remember)
    return client.get_client_credentials_token(org, f"{org}-secret")


def _call(client: Any, method: str, path: str, params: Mapping[str, Any], **kw: Any) -> Any:
    return client.call_api(
        path,
        method,
        path_params=dict(params),
        header_params=dict(JSON_HEADERS, **kw.pop("headers", {})),
        response_type="object",
        auth_settings=AUTH,
        **kw,
    )


def rollback(client: Any, config_id: str, to: int | None) -> None:
    """Roll one config back to version ``to`` (None: the previous one), then wait until live.

    Raises:
        ApiException: any refusal (the caller counts it).
        RuntimeError: the new version never became active.
    """
    ids = {"configId": config_id}
    live = _call(client, "GET", CONFIG, ids)
    etag = _seen.response.getheader("ETag")
    wanted = live["version"] - 1 if to is None else to
    old = _call(client, "GET", VERSION, {**ids, "versionId": wanted})
    new_version = live["version"] + 1
    body = {**old, "version": new_version}  # read-only fields are ignored by the API
    _call(client, "PUT", CONFIG, ids, headers={"If-Match": etag}, body=body)
    for _ in range(VERIFY_POLLS):
        answer_ = _call(client, "POST", QUERY, {}, body={"filter": {"configId": config_id}})
        active = [r.get("activeVersion") for r in answer_.get("results") or []]
        if any(isinstance(v, int) and v >= new_version for v in active):
            return
        time.sleep(VERIFY_INTERVAL)
    raise RuntimeError(f"{config_id}: version {new_version} never became active")


def run(url: str, targets: Mapping[str, Sequence[Sequence[Any]]], threads: int) -> dict[str, Any]:
    """Log in to every org, roll every config back; counts of what went well and wrong."""
    errors: list[str] = []
    # The SDK's settings are a singleton built on first use without a lock:
    # build it here, before the threads race to.
    genesys.Configuration()

    def one(item: tuple[Any, str, int | None]) -> bool:
        client, config_id, to = item
        try:
            rollback(client, config_id, to)
        except (ApiException, RuntimeError) as exc:
            errors.append(f"{config_id}: {str(exc)[:200]}")
            return False
        return True

    with ThreadPoolExecutor(threads) as pool:
        orgs = list(targets)
        clients = dict(zip(orgs, pool.map(lambda org: login(url, org, threads), orgs), strict=True))
        items = [(clients[org], cid, to) for org in orgs for cid, to in targets[org]]
        outcomes = list(pool.map(one, items))
    return {
        "items": len(items),
        "succeeded": sum(outcomes),
        "failed": len(outcomes) - sum(outcomes),
        "errors": errors[:SHOWN_ERRORS],
    }


def main(argv: list[str]) -> None:
    """Child: run the baseline, print rollbacks/s, CPU per rollback and peak RSS as JSON."""
    url, targets_path, threads = argv[0], Path(argv[1]), int(argv[2])
    targets = json.loads(targets_path.read_text())
    answer(timed(lambda: run(url, targets, threads)))


if __name__ == "__main__":
    main(sys.argv[1:])
