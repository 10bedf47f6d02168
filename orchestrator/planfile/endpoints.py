"""Where an org is reached: Genesys Cloud regions (api.md section 1) and direct base URLs.

An environment file names an org's region, its domain, or a ``base_url``
directly; this module turns each into the API and login bases, and decides
where plain http may be allowed (loopback only).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from types import MappingProxyType
from urllib.parse import urlsplit

REGIONS: Mapping[str, str] = MappingProxyType(
    {
        "us-east-1": "mypurecloud.com",
        "us-east-2": "use2.us-gov-pure.cloud",  # FedRAMP
        "us-west-2": "usw2.pure.cloud",
        "ca-central-1": "cac1.pure.cloud",
        "sa-east-1": "sae1.pure.cloud",
        "mx-central-1": "mxc1.pure.cloud",
        "eu-west-1": "mypurecloud.ie",
        "eu-west-2": "euw2.pure.cloud",
        "eu-central-1": "mypurecloud.de",
        "eu-central-2": "euc2.pure.cloud",
        "eusc-de-east-1": "edee1.eusc-pure.cloud",
        "me-central-1": "mec1.pure.cloud",
        "ap-south-1": "aps1.pure.cloud",
        "ap-southeast-1": "apse1.pure.cloud",
        "ap-southeast-2": "mypurecloud.com.au",
        "ap-northeast-1": "mypurecloud.jp",
        "ap-northeast-2": "apne2.pure.cloud",
        "ap-northeast-3": "apne3.pure.cloud",
    }
)
"""Region name -> the domain its orgs live under."""

DOMAINS: frozenset[str] = frozenset(REGIONS.values())


def api_base(domain: str) -> str:
    """The API base URL of an org under ``domain``, without a trailing slash."""
    return f"https://api.{domain}"


def login_base(domain: str) -> str:
    """The OAuth (login) base URL of an org under ``domain``."""
    return f"https://login.{domain}"


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1``: this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_base_url(text: str) -> tuple[str, bool]:
    """The normalised base URL (no trailing ``/``) and whether it is loopback.

    Only a scheme, a host and a port are allowed: a path would be silently
    dropped by the client, and credentials or a query in a URL end up in logs.

    Raises:
        ValueError: saying what is wrong with the URL.
    """
    try:
        parts = urlsplit(text.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError(f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError("expected a URL like https://api.example.com or http://127.0.0.1:8787")
    if parts.username is not None or parts.password is not None:
        raise ValueError("credentials do not belong in a URL: use client_id and client_secret")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("only scheme, host and port are allowed (no path, query or fragment)")
    loopback = is_loopback_host(host)
    if parts.scheme == "http" and not loopback:
        raise ValueError("must be https:// (plain http is only allowed for a loopback address)")
    return f"{parts.scheme}://{parts.netloc}", loopback
