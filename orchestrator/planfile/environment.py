"""Environment files, and a plan's inline ``orgs:``: how to reach each org.

``${NAME}`` is resolved here, from the process environment, in every string
value of an org; nowhere else in a plan.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from orchestrator.models import Org, Secret
from orchestrator.planfile import endpoints
from orchestrator.planfile.interpolation import expand, is_reference
from orchestrator.planfile.problems import Problems, describe, suggest
from orchestrator.planfile.yamlsafe import Map, Node, Scalar, join_key

ORG_NAME = re.compile(r"[A-Za-z0-9._-]+")
ORG_NAME_RULE = "org names are letters, digits, '-', '_' and '.'"
_ORG_ID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_HOSTNAME = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]")
_WHERE = ("region", "domain", "base_url")
_ORG_KEYS = (
    *_WHERE,
    "org_id",
    "client_id",
    "client_secret",
    "requests_per_minute",
    "concurrency",
)
_KEY_HINTS = {
    "url": "did you mean base_url?",
    "host": "did you mean base_url or domain?",
    "secret": "did you mean client_secret?",
    "rpm": "did you mean requests_per_minute?",
    "rate_limit": "did you mean requests_per_minute?",
}
_PLAN_KEYS = frozenset({"plan", "name", "targets", "waves", "defaults", "environments"})
_SECRET_DOLLAR = (
    "a `$` in a secret must start ${NAME}, the only interpolation there is"
    " (the value is not shown: it is a secret)"
)


@dataclass(frozen=True, slots=True)
class OrgsRead:
    """The orgs that validated, and every org name written (valid or not).

    Targets are checked against ``names`` so that one broken org does not also
    make every target that mentions it "unknown".
    """

    orgs: tuple[Org, ...]
    names: tuple[str, ...] | None  # None: no `orgs:` mapping could be read at all


def read_environment(
    root: Node, problems: Problems, environ: Mapping[str, str], sandbox_url: str | None
) -> OrgsRead:
    """The orgs of an environment file's root node."""
    top = problems.mapping(root, "")
    if top is None:
        return OrgsRead((), None)
    hints = dict.fromkeys(_PLAN_KEYS, "this looks like a plan file, not an environment file")
    problems.check_keys(top, "", ("orgs",), required=("orgs",), hints=hints)
    if "orgs" not in top.entries:
        return OrgsRead((), None)
    return read_orgs(top.entries["orgs"][1], "orgs", problems, environ, sandbox_url)


def read_orgs(
    node: Node,
    path: str,
    problems: Problems,
    environ: Mapping[str, str],
    sandbox_url: str | None,
) -> OrgsRead:
    """The orgs of an ``orgs:`` mapping (environment file or inline in a plan)."""
    mapping = problems.mapping(node, path)
    if mapping is None:
        return OrgsRead((), None)
    if not mapping.entries:
        problems.add(mapping, path, "expected at least one org")
        return OrgsRead((), None)
    orgs: list[Org] = []
    for name, (line, value) in mapping.entries.items():
        org_path = join_key(path, name)
        if not ORG_NAME.fullmatch(name):
            problems.add(line, org_path, f"org name {name!r} is not allowed: {ORG_NAME_RULE}")
        reader = _OrgReader(name, org_path, problems, environ)
        org = reader.read(value, sandbox_url)
        if org is not None and ORG_NAME.fullmatch(name):
            orgs.append(org)
    return OrgsRead(tuple(orgs), tuple(mapping.entries))


class _OrgReader:
    """Reads one org's mapping; records problems, returns the Org if all is well."""

    def __init__(
        self, name: str, path: str, problems: Problems, environ: Mapping[str, str]
    ) -> None:
        self.name = name
        self.path = path
        self.problems = problems
        self.environ = environ

    def read(self, node: Node, sandbox_url: str | None) -> Org | None:
        """The org, or None if anything about it is wrong (problems recorded)."""
        mapping = self.problems.mapping(node, self.path)
        if mapping is None:
            return None
        before = len(self.problems.sink)
        self.problems.check_keys(
            mapping,
            self.path,
            _ORG_KEYS,
            required=("client_id", "client_secret"),
            hints=_KEY_HINTS,
        )
        located = self._location(mapping)
        client_id = self._text(mapping, "client_id")
        secret = self._secret(mapping, _loopback(mapping, located))
        org_id = self._text(mapping, "org_id")
        if org_id is not None and not _ORG_ID.fullmatch(org_id):
            self._problem(mapping, "org_id", "expected an org id (a UUID like 8a5c2e44-...)")
            org_id = None
        rpm = self._integer(mapping, "requests_per_minute", 300)
        concurrency = self._integer(mapping, "concurrency", 4)
        if len(self.problems.sink) > before or None in (located, client_id, secret, rpm):
            return None
        assert located and client_id and secret and rpm and concurrency
        api_base, login_base, loopback = located
        if loopback and sandbox_url is not None:
            api_base = login_base = sandbox_url
        return Org(
            name=self.name,
            api_base=api_base,
            login_base=login_base,
            client_id=client_id,
            client_secret=Secret(secret),
            org_id=org_id.lower() if org_id else None,
            requests_per_minute=rpm,
            concurrency=concurrency,
        )

    def _location(self, mapping: Map) -> tuple[str, str, bool] | None:
        """(api base, login base, loopback?) from exactly one of region/domain/base_url."""
        given = [key for key in _WHERE if key in mapping.entries]
        if len(given) != 1:
            found = " and ".join(given)
            why = f"give only one of them (found {found})" if given else "none is given"
            self.problems.add(
                mapping, self.path, f"expected one of region, domain or base_url: {why}"
            )
            return None
        key = given[0]
        text = self._text(mapping, key)
        if text is None:
            return None
        if key == "region":
            return self._region(mapping, text)
        if key == "domain":
            return self._domain(mapping, text)
        try:
            url, loopback = endpoints.parse_base_url(text)
        except ValueError as exc:
            self._problem(mapping, key, str(exc))
            return None
        return url, url, loopback

    def _region(self, mapping: Map, region: str) -> tuple[str, str, bool] | None:
        domain = endpoints.REGIONS.get(region)
        if domain is not None:
            return endpoints.api_base(domain), endpoints.login_base(domain), False
        if region in endpoints.DOMAINS:
            hint: str | None = f"{region} is a domain: write domain: {region}"
        else:
            hint = suggest(region, endpoints.REGIONS) or "see the region table in the README"
        self._problem(mapping, "region", f"unknown region {region!r}", hint)
        return None

    def _domain(self, mapping: Map, domain: str) -> tuple[str, str, bool] | None:
        domain = domain.strip().lower().rstrip(".")
        if _HOSTNAME.fullmatch(domain):
            if domain.startswith(("api.", "login.")):
                bare = domain.split(".", 1)[1]
                self._problem(mapping, "domain", "expected the org's domain", f"write {bare}")
                return None
            return endpoints.api_base(domain), endpoints.login_base(domain), False
        if domain in endpoints.REGIONS:
            hint: str | None = f"{domain} is a region: write region: {domain}"
        elif "://" in domain:
            hint = "a URL goes in base_url; domain is a host name like mypurecloud.ie"
        else:
            hint = "a host name like mypurecloud.ie"
        self._problem(mapping, "domain", f"{domain!r} is not a domain", hint)
        return None

    def _secret(self, mapping: Map, loopback: bool | None) -> str | None:
        entry = mapping.entries.get("client_secret")
        secret = self._text(mapping, "client_secret")
        if entry is None or secret is None:
            return None
        raw = entry[1].value if isinstance(entry[1], Scalar) else None
        if loopback is False and not (isinstance(raw, str) and is_reference(raw)):
            self._problem(
                mapping,
                "client_secret",
                "a literal secret is only allowed for a loopback base_url",
                "real credentials never sit in a file: write "
                f"client_secret: ${{{_variable(self.name)}}} and set that variable",
            )
            return None
        return secret

    def _text(self, mapping: Map, key: str) -> str | None:
        """The string value of ``key`` with ``${NAME}`` resolved, or None."""
        entry = mapping.entries.get(key)
        if entry is None:
            return None
        node = entry[1]
        path = join_key(self.path, key)
        shown = key != "client_secret"
        if not isinstance(node, Scalar) or not isinstance(node.value, str):
            got = describe(node) if shown else "something else"
            self.problems.add(node, path, f"expected a string, got {got}")
            return None
        try:
            text = expand(node.value, self.environ)
        except ValueError as exc:
            # Only "`$NAME` is not interpolated" quotes a piece of the value.
            why = str(exc) if shown or "is not interpolated" not in str(exc) else _SECRET_DOLLAR
            self.problems.add(node, path, why)
            return None
        if not text.strip():
            self.problems.add(node, path, "is empty")
            return None
        return text

    def _integer(self, mapping: Map, key: str, default: int) -> int | None:
        entry = mapping.entries.get(key)
        if entry is None:
            return default
        return self.problems.integer(entry[1], join_key(self.path, key), minimum=1)

    def _problem(self, mapping: Map, key: str, message: str, hint: str | None = None) -> None:
        self.problems.add(mapping.entries[key][1], join_key(self.path, key), message, hint)


def _variable(org: str) -> str:
    return "GC_" + re.sub(r"[^A-Z0-9]+", "_", org.upper()).strip("_") + "_CLIENT_SECRET"


def _loopback(mapping: Map, located: tuple[str, str, bool] | None) -> bool | None:
    """Whether the org is on loopback; None if that cannot be told (a bad base_url)."""
    if located is not None:
        return located[2]
    if "region" in mapping.entries or "domain" in mapping.entries:
        return False  # a region or domain is never loopback, valid or not
    return None
