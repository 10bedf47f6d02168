"""The project's exception tree; every class knows the exit status it maps to.

::

    ItemError                          (not raised) why one item failed, as reports show it

    OrchestratorError                  exit 1
    ├── UsageError                     exit 2   bad command line, unknown run id
    ├── PlanError                      exit 2   plan/environment file invalid (all problems)
    ├── JournalError                   exit 2   journal unreadable, run locked by another process
    ├── TargetUnavailable              exit 1   an item's target is gone (pruned, no snapshot)
    ├── Unrestorable                   exit 1   the target cannot be written safely (unknown field)
    ├── QueueTaken                     exit 1   a target queue now belongs to another assistant
    └── RequestError                   exit 1   one request failed; carries org, config, status, ids
        ├── TransportError                      no HTTP answer (timeout, refused, dropped)
        │   └── ResponseTooLarge                body over the client's size limit
        ├── MalformedAnswer                     a 2xx that is not what the contract promises
        └── ApiError                            an HTTP answer that is not 2xx
            ├── Redirected                      3xx: never followed on a write or to another origin
            ├── BadRequest                      400, 428: permanent
            ├── AuthenticationFailed            401 after one token refresh; token refusals
            ├── PermissionDenied                403: stop writing to the org
            ├── NotFound                        404: config or version absent (or pruned)
            ├── Conflict                        409, 412, 400 "does not match the current version"
            ├── RateLimited                     429, with ``retry_after`` seconds
            └── ServerError                     5xx: transient

Only ``client.py`` touches aiohttp's exceptions; it raises these. Messages are
built from the fields, and no field ever holds a secret or a token. Text that
came from a server is kept as it came (redacted, bounded in length); it is
escaped where it is printed, never trusted to be clean. A failed
preflight (exit 4), a halt (3) and an interruption (130) are outcomes of a
run, not exceptions: the engine returns them in its ``Result``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from orchestrator.statuses import ExitCode


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemError:
    """Why an item did not succeed: the report's ``error`` object (cli.md).

    ``http_status`` and ``correlation_id`` are None for failures without an
    HTTP answer of their own (a drift, a timeout, a halted wave).
    """

    code: str
    message: str
    http_status: int | None = None
    correlation_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form, keys in the contract's order."""
        return {
            "http_status": self.http_status,
            "code": self.code,
            "message": self.message,
            "correlation_id": self.correlation_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ItemError:
        """Inverse of :meth:`as_dict` (as the journal stores it)."""
        return cls(
            code=str(data.get("code")),
            message=str(data.get("message")),
            http_status=data.get("http_status"),
            correlation_id=data.get("correlation_id"),
        )

    def saying(self, message: str) -> ItemError:
        """The same error with another message."""
        return replace(self, message=message)


class OrchestratorError(Exception):
    """Base of every error the orchestrator raises on purpose."""

    exit_code = ExitCode.FAILURES


class UsageError(OrchestratorError):
    """The command line asks for something impossible."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One thing wrong in a plan or environment file, located precisely."""

    file: str
    path: str
    message: str
    line: int | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}: " if self.path else f"{self.file}: "
        text = where + self.message
        if self.line is not None:
            text += f" (line {self.line})"
        if self.hint:
            text += f"; {self.hint}"
        return text


class PlanError(OrchestratorError):
    """A plan or environment file is invalid; holds every problem found."""

    exit_code = ExitCode.USAGE

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class JournalError(OrchestratorError):
    """The journal cannot be used as asked (locked, missing run, corrupt)."""

    exit_code = ExitCode.USAGE


class TargetUnavailable(OrchestratorError):
    """An item's rollback target does not exist or is no longer kept.

    ``code`` is machine-readable (``target.pruned``, ``target.missing``,
    ``snapshot.missing``); ``cause`` is the HTTP error that revealed it, if any.
    """

    def __init__(self, message: str, *, code: str, cause: RequestError | None = None) -> None:
        self.detail = message
        self.code = code
        self.cause = cause
        super().__init__(message)

    def item_error(self) -> ItemError:
        """The error as an item's ``error``."""
        return ItemError(
            code=self.code,
            message=self.detail,
            http_status=self.cause.status if self.cause else None,
            correlation_id=self.cause.correlation_id if self.cause else None,
        )


class Unrestorable(OrchestratorError):
    """The target cannot be written safely, so the item is refused rather than half restored.

    ``code``: ``field.unknown`` (a field the orchestrator does not know
    differs), ``field.immutable`` (the server forbids the change),
    ``target.incomplete`` (the target lacks a part a write cannot remove).
    """

    def __init__(self, message: str, *, code: str) -> None:
        self.detail = message
        self.code = code
        super().__init__(message)

    def item_error(self) -> ItemError:
        """The error as an item's ``error``."""
        return ItemError(code=self.code, message=self.detail)


class QueueTaken(OrchestratorError):
    """A queue the target binds to an assistant is now bound to another assistant.

    Binding it would move it away from that assistant, which is someone
    else's deployment: the orchestrator never does that, whatever
    ``on_drift`` says. The item ends ``drifted``.
    """

    code = "queue.taken"

    def __init__(
        self, *, queue_id: str, assistant_id: str, owner_id: str, owner_name: str | None
    ) -> None:
        self.queue_id = queue_id
        self.assistant_id = assistant_id
        self.owner_id = owner_id
        self.owner_name = owner_name
        owner = f"{owner_name} ({owner_id})" if owner_name else owner_id
        self.detail = (
            f"queue {queue_id} is now bound to assistant {owner}, not to assistant "
            f"{assistant_id}: not moved (the orchestrator never takes a queue from another "
            "assistant, not even with on_drift: overwrite); unbind it there first"
        )
        super().__init__(self.detail)

    def item_error(self) -> ItemError:
        """The error as an item's ``error``."""
        return ItemError(code=self.code, message=self.detail)


class RequestError(OrchestratorError):
    """A request to an org failed. Carries where, what and the correlation id."""

    code = "error"

    def __init__(
        self,
        message: str,
        *,
        org: str,
        method: str,
        path: str,
        config_id: str | None = None,
        status: int | None = None,
        code: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        self.detail = message
        self.org = org
        self.method = method
        self.path = path
        self.config_id = config_id
        self.status = status
        if code is not None:
            self.code = code
        self.correlation_id = correlation_id
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [f"org {self.org}"]
        if self.config_id:
            parts.append(f"config {self.config_id}")
        parts.append(f"{self.method} {self.path}")
        parts.append(f"HTTP {self.status}" if self.status is not None else "no HTTP answer")
        head = ", ".join(parts)
        tail = f" [{self.code}]" if self.code else ""
        corr = f" (correlation id {self.correlation_id})" if self.correlation_id else ""
        return f"{head}: {self.detail}{tail}{corr}"

    def item_error(self) -> ItemError:
        """The error as an item's ``error``."""
        return ItemError(
            code=self.code,
            message=self.detail,
            http_status=self.status,
            correlation_id=self.correlation_id,
        )


class TransportError(RequestError):
    """No HTTP answer arrived: timeout, refused or dropped connection.

    ``maybe_applied`` is true when the request was a write that the server may
    have applied before the connection failed; the caller must re-read.
    """

    code = "connection"

    def __init__(self, message: str, *, maybe_applied: bool = False, **kw: object) -> None:
        self.maybe_applied = maybe_applied
        super().__init__(message, **kw)  # type: ignore[arg-type]


class ResponseTooLarge(TransportError):
    """The response body exceeded the client's limit and was not read."""

    code = "response.too.large"


class MalformedAnswer(RequestError):
    """A 2xx answer that breaks the contract: not JSON, the wrong shape or types, no ETag.

    Raised for reads (the item fails) and for writes, where it means the
    outcome is unknown: the write may or may not have been applied.
    """

    code = "answer.malformed"


class ApiError(RequestError):
    """The server answered with a non-2xx status."""


class Redirected(ApiError):
    """3xx: not followed on a write, nor to another origin; ``location`` says where it pointed."""

    code = "redirected"

    def __init__(self, message: str, *, location: str | None, **kw: object) -> None:
        self.location = location
        super().__init__(message, **kw)  # type: ignore[arg-type]


class BadRequest(ApiError):
    """400 or 428: the request itself is wrong; retrying cannot help."""


class AuthenticationFailed(ApiError):
    """The credentials or token were refused."""


class PermissionDenied(ApiError):
    """403: the client lacks a permission; writes to this org must stop."""


class NotFound(ApiError):
    """404: the config, assistant or version does not exist (or was pruned)."""


class Conflict(ApiError):
    """409, 412, or a 400 saying the version does not match: re-read and retry."""


class RateLimited(ApiError):
    """429: the org must pause for ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float, **kw: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)  # type: ignore[arg-type]


class ServerError(ApiError):
    """5xx: transient; retried with backoff."""
