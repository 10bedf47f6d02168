"""What a server's answer is, and what it proves: never more than the contract says.

The client turns every answer into a :class:`Response` or a typed error
(:func:`api_error`); the resource kinds judge a ``Response`` here, against
api.md, before the engine believes anything of it:

- a **read** is the resource only if it is a JSON object of the right types
  (and, for a versioned kind, carries a version and a well-formed strong ETag);
- a **write** is confirmed only by an answer that *is* the resource at the
  version written (or, without versions, holding the content written). A
  ``204``, a ``202``, ``{}``, an HTML page, another version: the write's
  outcome is unknown, and the engine re-reads before it decides anything.

Anything else raises :class:`~orchestrator.errors.MalformedAnswer`, an item
error; nothing here assumes a default in place of a missing value.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator import errors, jsontext
from orchestrator.canonical import canonical
from orchestrator.genesys.content import comparable, content_hash
from orchestrator.genesys.retry import parse_retry_after
from orchestrator.logs import redact
from orchestrator.models import Kind

DEFAULT_RETRY_AFTER = 1.0  # for a 429 whose Retry-After is absent, odd or not positive
MESSAGE_CHARS = 500  # server text kept in an error message
ID_CHARS = 200  # server codes, correlation ids, redirect locations
MAX_PAGES = 1000  # history pages followed at most, whatever pageCount says
# A strong entity tag (RFC 9110 8.8.3): quoted, visible ASCII, no quote inside.
# It goes back into If-Match byte for byte, so anything else is refused here.
_STRONG_ETAG = re.compile(r'"[\x21\x23-\x7e]{0,1022}"')


@dataclass(frozen=True, slots=True)
class Response:
    """A 2xx (or, inside the client, 3xx) answer, parsed; where it came from."""

    status: int
    body: Any  # the parsed JSON; None when the body is empty or is not JSON
    etag: str | None
    correlation_id: str | None
    org: str = ""
    method: str = ""
    path: str = ""
    content_type: str | None = None
    size: int = 0  # bytes of body
    location: str | None = None  # a redirect's Location

    def malformed(self, message: str, resource_id: str | None) -> errors.MalformedAnswer:
        """The error for this answer breaking the contract as ``message`` says."""
        return errors.MalformedAnswer(
            f"HTTP {self.status} answer {message}",
            org=self.org,
            method=self.method,
            path=self.path,
            config_id=resource_id,
            status=self.status,
            correlation_id=self.correlation_id,
        )

    def shape(self) -> str:
        """What the body is, for messages: ``no body``, ``a JSON list``, ``text/html``..."""
        if isinstance(self.body, dict):
            return "a JSON object"
        if self.body is not None:
            return f"JSON of type {type(self.body).__name__}"
        if not self.size:
            return "no body"
        return f"a body that is not JSON ({bounded(self.content_type or 'no type', 60)})"


# ----- reading answers -----------------------------------------------------------


def parse_json(raw: bytes) -> Any:
    """The JSON in ``raw`` (UTF-8, RFC 8259); None if it is empty or not JSON.

    Also None for JSON holding a lone surrogate, as bytes (not UTF-8: the
    decode refuses them, where ``json.loads`` of bytes would let them pass)
    or escaped (``"\\ud800"``, which parses): no Unicode text can hold one,
    so its hash, its diff and its journal row could not be written.
    """
    if not raw:
        return None
    try:
        value = jsontext.loads(raw.decode("utf-8-sig"))
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested to exhaust the stack
        return None
    if (b"\\ud" in raw or b"\\uD" in raw) and not _unicode(value):
        return None
    return value


def _unicode(value: Any) -> bool:
    """Whether every string in ``value`` is text UTF-8 can hold (no lone surrogate)."""
    try:
        canonical(value)
    except UnicodeEncodeError:
        return False
    return True


def bounded(value: Any, limit: int) -> str | None:
    """Server text as the client keeps it: redacted, at most ``limit`` characters."""
    if value is None:
        return None
    text = redact(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def redirected(resp: Response, why: str, resource_id: str | None) -> errors.Redirected:
    """The error for a redirect the client does not follow (``why`` says so)."""
    location = bounded(resp.location, ID_CHARS)
    return errors.Redirected(
        f"redirected (HTTP {resp.status}) to {location or 'nowhere (no Location)'}; {why}",
        location=location,
        org=resp.org,
        method=resp.method,
        path=resp.path,
        config_id=resource_id,
        status=resp.status,
        code="redirected",
        correlation_id=resp.correlation_id,
    )


_BY_STATUS: dict[int, type[errors.ApiError]] = {
    400: errors.BadRequest,
    401: errors.AuthenticationFailed,
    403: errors.PermissionDenied,
    404: errors.NotFound,
    409: errors.Conflict,
    412: errors.Conflict,
    428: errors.BadRequest,
}


def api_error(
    status: int,
    body: Any,
    correlation: str | None,
    retry_after: str | None,
    where: Mapping[str, Any],
) -> errors.ApiError:
    """The typed error of a non-2xx answer (api.md section 3)."""
    info = body if isinstance(body, dict) else {}
    message = bounded(info.get("message") or f"HTTP {status}", MESSAGE_CHARS) or ""
    code = bounded(info.get("code") or f"http.{status}", ID_CHARS)
    correlation = correlation or bounded(info.get("contextId"), ID_CHARS)
    common: dict[str, Any] = {"status": status, "code": code, "correlation_id": correlation}
    if status == 429:
        wait = parse_retry_after(retry_after)
        return errors.RateLimited(
            message,
            retry_after=DEFAULT_RETRY_AFTER if wait is None else wait,
            **common,
            **where,
        )
    if status == 400 and "does not match the current version" in message:
        return errors.Conflict(message, **common, **where)
    if status >= 500:
        return errors.ServerError(message, **common, **where)
    kind = _BY_STATUS.get(status, errors.ApiError)
    return kind(message, **common, **where)


# ----- judging answers --------------------------------------------------------------


def _integer(value: Any) -> int | None:
    """``value`` if it is a JSON integer (``true`` is not one, though Python says so)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Checked:
    """A resource answer that passed the contract's checks (a kind makes its ``Live`` of it)."""

    fields: dict[str, Any]  # comparable content
    version: int | None
    etag: str | None
    modified: str | None
    hash: str


def resource(kind: Kind, resp: Response, rid: str, *, versioned: bool) -> Checked:
    """A resource answer, checked: a JSON object with a name, and version and ETag if versioned.

    Raises:
        errors.MalformedAnswer: it is not the resource as the contract shows it.
    """
    body = resp.body
    if not isinstance(body, dict):
        raise resp.malformed(f"is not the {kind} (got {resp.shape()})", rid)
    if "id" in body and str(body["id"]).lower() != rid.lower():  # ids are UUIDs: any case
        raise resp.malformed(f"is another resource (id {bounded(body['id'], ID_CHARS)})", rid)
    if not isinstance(body.get("name"), str):
        raise resp.malformed(f"is not the {kind}: it has no name", rid)
    version = _integer(body.get("version"))
    etag = resp.etag
    if versioned:
        if version is None or version < 1:
            got = bounded(json.dumps(body.get("version")), 40)
            raise resp.malformed(f"has no version number (version: {got})", rid)
        if etag is None or _STRONG_ETAG.fullmatch(etag) is None:
            got = "none" if etag is None else bounded(etag, 80)
            raise resp.malformed(f"has no usable strong ETag (ETag: {got})", rid)
    modified = body.get("dateModified")
    fields = comparable(kind, body)
    return Checked(
        fields=fields,
        version=version,
        etag=etag if versioned else None,
        modified=modified if isinstance(modified, str) else None,
        hash=content_hash(fields),
    )


def confirms(
    kind: Kind,
    resp: Response,
    rid: str,
    target_hash: str,
    *,
    version: int | None,
) -> Checked:
    """A write's answer, checked, if it confirms the write.

    ``version`` is the version written (None for kinds without versions).

    Raises:
        errors.MalformedAnswer: the answer does not confirm the write, so its
            outcome is unknown.
    """
    if resp.status != 200:
        raise resp.malformed(f"is not the contract's 200 to a write (got {resp.shape()})", rid)
    checked = resource(kind, resp, rid, versioned=version is not None)
    if version is not None and checked.version != version:
        raise resp.malformed(
            f"shows version {checked.version}, not the version written ({version})", rid
        )
    if checked.hash != target_hash:
        raise resp.malformed("shows content other than what was written", rid)
    return checked


def history_version(kind: Kind, resp: Response, rid: str, wanted: int) -> dict[str, Any]:
    """The comparable content of version ``wanted`` from its history answer.

    Raises:
        errors.MalformedAnswer: it is not that version.
    """
    body = resp.body
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        raise resp.malformed(f"is not version {wanted} of the {kind} (got {resp.shape()})", rid)
    if _integer(body.get("version")) != wanted:
        got = bounded(json.dumps(body.get("version")), 40)
        raise resp.malformed(f"is not version {wanted} (version: {got})", rid)
    return comparable(kind, body)


def history_page(resp: Response, rid: str) -> tuple[list[tuple[int, Any]], int]:
    """(version, dateCreated) of each entity of a history page, and the page count.

    Raises:
        errors.MalformedAnswer: it is not a page of versions.
    """
    body = resp.body
    entities = body.get("entities") if isinstance(body, dict) else None
    if not isinstance(entities, list):
        raise resp.malformed(f"is not a page of versions (got {resp.shape()})", rid)
    found = []
    for entity in entities:
        version = _integer(entity.get("version")) if isinstance(entity, dict) else None
        if version is not None:
            found.append((version, entity.get("dateCreated")))
    count = body.get("pageCount", 1)
    if _integer(count) is None:
        raise resp.malformed(f"has no page count (pageCount: {bounded(count, 40)})", rid)
    return found, max(1, min(count, MAX_PAGES))


def active_version(resp: Response, rid: str) -> int | None:
    """The version live conversations of ``rid`` use; None while analytics knows none.

    Raises:
        errors.MalformedAnswer: it is not an analytics answer.
    """
    body = resp.body
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list):
        raise resp.malformed(f"is not an analytics answer (got {resp.shape()})", rid)
    for result in results:
        if isinstance(result, dict) and result.get("configId") == rid:
            return _integer(result.get("activeVersion"))
    return None


def finite(value: Any) -> float | None:
    """``value`` as a finite number, or None (strings, booleans, NaN and infinity are not)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None
