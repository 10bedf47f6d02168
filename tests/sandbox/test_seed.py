"""The shipped seed, seed validation, generated seeds, and `orchestrator sandbox`."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from orchestrator.errors import PlanError
from orchestrator.sandbox import Sandbox, Seed, SeedError, generate_seed, load_seed
from orchestrator.sandbox.seed import PERMISSIONS
from tests.support import ROOT

SEED = ROOT / "orchestrator" / "sandbox" / "data" / "seed.yaml"

SHIPPED = {
    "canary": (
        "37104616-be01-5864-95e3-a7a637fffc9d",
        ["19cc7f17-becc-5e23-8534-27fd328a4d65", "d3e27a42-edd9-5fa3-9019-1b77e651243d",
         "77ab7ce6-c1a1-594e-996b-ec466abca695", "1743d0a7-d63d-5e81-93d0-ad08b31651e9",
         "22b501d2-0ea0-50ef-9e42-131f3e783c94"],
        ["d5d30071-3a20-5442-b022-d4416f64cc99", "9bd9322c-c4dd-5650-b462-ec0b56c8a5dc",
         "a709ecee-1cd5-51fa-8cf9-6d7661e3cbc1"],
    ),
    "emea-prod": (
        "6bf20828-23b1-5608-aeaf-43bd310cac84",
        ["6595ab42-008d-59b7-ae99-f71edc49f71f", "2834ebb4-80bf-5671-aa55-9b5a2a2d4d65",
         "78a21d85-e755-5e29-a448-c9619162622d", "184aba11-9133-5f1b-8057-2291e379d5fa",
         "d144ec01-034b-5b46-8c55-3dcfefdc9d9a"],
        ["0a31cd07-f23f-59d1-9349-275ab4a9f0b2", "c4ee894b-211b-5805-87ab-4f8122feb58d",
         "98fca21d-b43b-5e09-91d7-7ac1832ab93d"],
    ),
    "amer-prod": (
        "5b0af383-96fa-5567-b24c-f888dabe50a9",
        ["bb4e537f-6c51-5351-a458-3070ea2df1ab", "6815224f-ed08-59c3-a64a-1d2cee084679",
         "a0b12203-10cf-5c5b-9a7e-ff2ea1f183e1", "4b2cef1f-5077-559b-a77f-7ae983237b68",
         "af7a941e-62f2-5d8c-9ce7-0ddb9d83f533"],
        ["f5e25fe3-2e56-5433-b850-a5bcd4c3e20d", "76ee83bd-9f91-5772-b9df-5b0bd72abfb7",
         "c3f29aba-303a-5be6-8be2-da7f15ca80e2"],
    ),
    "apac-prod": (
        "86bc6917-7c01-50be-8c2c-246284fdcaee",
        ["f4b71654-b36b-55c2-a9ca-9eba63683b6a", "3a0db82a-ccef-5306-b9f8-3b76c639c410",
         "a562b995-6d18-5642-892c-0dc4a3c840c9", "fbf2dfff-87d9-5589-b454-db7c44f58d5f",
         "374348f7-6e48-583a-8b24-097c3bbf8153"],
        ["b2d45107-cd05-5e78-8fca-f64016c4e318", "96a4b315-822d-5f10-bcbc-f569abcd5db2",
         "deeb1364-c23c-5283-99b0-f98ca046f4df"],
    ),
    "latam-prod": (
        "a720ce23-ffc5-5178-bcc7-b72a2878f4da",
        ["01b2b2d2-88b9-53a7-86b9-e74eadb62a18", "1ffcd9a2-23ca-5aa4-8aed-711fd65b1518",
         "d2b76eff-acb2-55db-ac95-c45ef255a386", "63dc001b-d758-5d7e-a477-a0b0f0c6fe91",
         "af97e347-beb5-5b6b-8f04-9e2c05bcab0d"],
        ["c60d9978-4007-505c-96f7-c8f5931e0edb", "ff7889b6-42cc-5e55-84f3-ff77d306b5bc",
         "657e5c72-03cd-517e-9c94-ec01622c0727"],
    ),
}  # fmt: skip
DOMAINS = ["Billing", "Claims", "Sales", "Support", "Retention"]


def test_shipped_seed_orgs(sandbox_seed: Seed) -> None:
    """The seed has the five orgs, with the ids other engineers' plans use."""
    assert [o.name for o in sandbox_seed.orgs] == list(SHIPPED)
    for org in sandbox_seed.orgs:
        org_id, config_ids, assistant_ids = SHIPPED[org.name]
        assert (org.org_id, org.client_id, org.client_secret) == (
            org_id,
            org.name,
            f"{org.name}-secret",
        )
        assert [c.id for c in org.configs] == config_ids
        assert [a["id"] for a in org.assistants] == assistant_ids
        assert [a["name"] for a in org.assistants] == [
            "Billing assistant",
            "Claims assistant",
            "Sales assistant",
        ]
        assert set(org.permissions) == set(PERMISSIONS)
        assert org.requests_per_minute == (120 if org.name == "canary" else 300)
        assert org.token_expires_in == 86400


def test_shipped_seed_histories(sandbox_seed: Seed) -> None:
    """Every config has 6 to 9 consecutive, differing versions, dated in order to late November."""
    newest = []
    for org in sandbox_seed.orgs:
        for domain, config in zip(DOMAINS, org.configs, strict=True):
            versions = config.versions
            assert 6 <= len(versions) <= 9
            assert [v.version for v in versions] == list(range(1, len(versions) + 1))
            assert [v.date for v in versions] == sorted({v.date for v in versions})
            assert {v.fields["name"] for v in versions} == {f"{domain} Assist Config"}
            fields = [dict(v.fields) for v in versions]
            assert all(a != b for a, b in itertools.pairwise(fields))
            assert all(
                {"rules", "settings", "thresholds", "knowledge"} <= set(f["content"])
                for f in fields
            )
            newest.append(versions[-1].date)
    assert max(newest).startswith("2026-11-28")


def test_sandbox_serves_complete_bodies(sandbox_seed: Seed) -> None:
    """Each seeded version is served complete, whatever the YAML left out."""
    sb = Sandbox(sandbox_seed)
    view = sb.config("canary", SHIPPED["canary"][1][0])
    assert (view.version, view.versions) == (6, (6, 5, 4, 3, 2, 1))
    assert set(view.body) == {
        "id", "name", "description", "version", "deployed", "trafficPercent", "content",
        "dateCreated", "dateModified", "modifiedBy", "selfUri",
    }  # fmt: skip
    assert view.active_version == 6


BAD_SEED = """
orgs:
  "bad name!":
    org_id: not-a-uuid
    client_id: dup
    client_secret: s
    permissions: [agentassist:config:read, admin:everything]
    requests_per_minute: 0
    token_expires_in: 10
    faults: {server_error_rate: 3}
    surprise: true
    configs:
      - id: c1
        versions:
          - {version: 1, date: "2026-01-01T00:00:00Z", name: "", content: {}}
          - {version: 3, date: "2026-01-02T00:00:00Z"}
      - id: c2
        versions:
          - {version: 1, date: "2026-01-01T00:00:00Z", name: ok, content: {}, trafficPercent: 300}
          - {version: 2, date: "2025-01-01T00:00:00Z", content_changes: {a: 1}, bogus: 1}
    assistants:
      - {id: a1, name: A, state: Sleeping, dateCreated: "2026-01-01T00:00:00Z", dateModified: x}
  other:
    org_id: 6bf20828-23b1-5608-aeaf-43bd310cac84
    client_id: dup
    client_secret: s
"""


def test_bad_seed_lists_every_problem(tmp_path: Path) -> None:
    """An invalid seed is refused with every problem located, before anything serves."""
    path = tmp_path / "seed.yaml"
    path.write_text(BAD_SEED)
    with pytest.raises(SeedError) as caught:
        load_seed(path)
    assert isinstance(caught.value, PlanError)
    where = {p.path for p in caught.value.problems}
    org = "orgs.bad name!"
    assert {
        org,
        f"{org}.org_id",
        f"{org}.permissions",
        f"{org}.requests_per_minute",
        f"{org}.token_expires_in",
        f"{org}.faults",
        f"{org}.surprise",
        f"{org}.configs[0].versions[0]",
        f"{org}.configs[0].versions[1].version",
        f"{org}.configs[1].versions[0]",
        f"{org}.configs[1].versions[1].date",
        f"{org}.configs[1].versions[1].bogus",
        f"{org}.assistants[0]",
        f"{org}.assistants[0].dateModified",
        "orgs.other.client_id",
    } <= where, sorted(where)


@pytest.mark.parametrize("text", ["", "orgs: {}\n", "orgs: [1]\n", ": : :\n"])
def test_empty_or_broken_seed(tmp_path: Path, text: str) -> None:
    """A seed without orgs, or not YAML at all, is a SeedError."""
    path = tmp_path / "seed.yaml"
    path.write_text(text)
    with pytest.raises(SeedError):
        load_seed(path)


def test_missing_seed_file(tmp_path: Path) -> None:
    """A seed path that does not exist is a SeedError naming the file."""
    with pytest.raises(SeedError, match=r"nope\.yaml"):
        load_seed(tmp_path / "nope.yaml")


def test_generate_seed() -> None:
    """generate_seed: org-000.., client id = name, secret "<name>-secret", counts as asked."""
    seed = generate_seed(orgs=12, configs=3, versions=4, assistants=2, requests_per_minute=None)
    assert [o.name for o in seed.orgs][:2] == ["org-000", "org-001"]
    org = seed.org("org-011")
    assert (org.client_id, org.client_secret, org.requests_per_minute) == (
        "org-011",
        "org-011-secret",
        None,
    )
    assert (len(org.configs), len(org.assistants)) == (3, 2)
    assert [v.version for v in org.configs[0].versions] == [1, 2, 3, 4]
    contents = [v.fields["content"] for v in org.configs[0].versions]
    assert all(a != b for a, b in itertools.pairwise(contents))
    assert generate_seed(orgs=12, configs=3, versions=4, assistants=2) == seed
    assert len({o.org_id for o in generate_seed(orgs=200, configs=1, versions=1).orgs}) == 200
    sb = Sandbox(seed)
    assert sb.config("org-011", org.configs[0].id).version == 4


def test_serve_forever_prints_and_stops_cleanly() -> None:
    """`orchestrator sandbox --port 0` prints its URL and orgs, serves, and exits 0 on SIGINT."""
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "sandbox", "--seed", str(SEED), "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("sandbox serving 5 orgs on http://127.0.0.1:"), first
        assert first.rstrip().endswith("(Ctrl-C to stop)")
        url = first.split(" on ")[1].split()[0]
        table = [proc.stdout.readline() for _ in range(5)]
        assert "canary" in table[1] and "client_id" in table[0]
        assert not any("secret" in line for line in table)
        with urllib.request.urlopen(f"{url}/sandbox/orgs", timeout=5) as answer:
            assert [o["name"] for o in json.load(answer)] == list(SHIPPED)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "sandbox stopped" in out
