"""Base URLs given directly (``base_url:``): where https may be skipped and where not."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


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
