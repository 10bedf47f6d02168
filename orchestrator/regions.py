"""Genesys Cloud regions and the hosts an org in each is reached at (api.md section 1)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

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
