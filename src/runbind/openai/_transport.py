"""The HTTP side of the OpenAI client: base URL, TLS, headers, errors and retry hints."""

from __future__ import annotations

import logging
import ssl
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from .._core import jsonio
from .._core.credentials import Secret, SecretHeaders, clip, safe_headers
from .._core.errors import (
    APIConnectionError,
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RunTimeoutError,
    ServerError,
)
from .._core.hints import hint_seconds
from .._core.net import is_loopback, tls_failure
from .._core.retry import Transient
from ._content import ACCEPT_ENCODING

__all__ = [
    "DEFAULT_BASE_URL",
    "check_base_url",
    "check_response",
    "check_status",
    "error_class",
    "headers",
    "poll_hint",
    "request_id",
    "retry_after",
    "translate",
]

log = logging.getLogger("runbind.openai")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
"""The OpenAI API."""

_RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})
_SUCCESS = frozenset({200, 201, 202, 203})
"""Statuses whose body is the answer (204, 205 and 206 carry none, or only a part of one)."""
_BODY_TEXT = 200  # characters of a body that is not a JSON error object shown in an error
_MESSAGE_TEXT = 1000  # characters of a server's error message shown
_HOST_TEXT = 100  # characters of a redirect's host name shown
_FIELD_TEXT = 200  # characters of an error body's type, param and code, and of a request id

_ERRORS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: BadRequestError,
    429: RateLimitError,
}
"""The error class of each HTTP status (as openai-python maps them); other 5xx are
:class:`ServerError`, anything else the plain :class:`ApiError`."""


def error_class(status: int) -> type[ApiError]:
    """The :class:`ApiError` subclass for an HTTP ``status``."""
    found = _ERRORS.get(status)
    if found is not None:
        return found
    return ServerError if status >= 500 else ApiError


def check_base_url(base_url: str, verify: bool | ssl.SSLContext) -> str:
    """``base_url`` without a trailing slash; plain HTTP or no verification off loopback warns."""
    try:
        parts = urlsplit(base_url)
        credentials = "@" in parts.netloc
        hostname = parts.hostname
    except (TypeError, ValueError):
        raise InvalidArgumentError("base_url must be an http(s) URL string") from None
    if credentials:
        # Checked first: the URL is never echoed while it may carry a password.
        raise InvalidArgumentError("base_url must not carry credentials; pass api_key")
    shown = urlunsplit(parts._replace(query="", fragment=""))  # a query might carry a secret
    if parts.scheme not in ("http", "https") or not hostname:
        raise InvalidArgumentError(f"base_url must be an http(s) URL, got {shown!r}")
    local = is_loopback(hostname)
    if parts.scheme == "http" and not local:
        log.warning("runbind: %s is plain HTTP; the API key travels in clear text", shown)
    if verify is False and not local:
        log.warning("runbind: TLS verification is off for %s", hostname)
    return base_url.rstrip("/")


def headers(api_key: Secret | None, idempotency_key: str | None = None) -> SecretHeaders:
    """Request headers: the bearer key, the Assistants beta flag and an idempotency key."""
    out = SecretHeaders(
        {
            "OpenAI-Beta": "assistants=v2",
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
        }
    )
    if api_key is not None:
        out["Authorization"] = f"Bearer {api_key.reveal()}"
    if idempotency_key is not None:
        if not isinstance(idempotency_key, str) or not idempotency_key:
            raise InvalidArgumentError("idempotency_key must be a non-empty string")
        out["Idempotency-Key"] = idempotency_key
    return out


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asks to wait (``retry-after-ms`` or ``retry-after``), capped at 60."""
    hint = hint_seconds(response.headers.get("retry-after-ms"), 1000.0)
    return hint if hint is not None else hint_seconds(response.headers.get("retry-after"))


def poll_hint(response: httpx.Response) -> float | None:
    """Seconds until the next poll the server suggests (``openai-poll-after-ms``)."""
    return hint_seconds(response.headers.get("openai-poll-after-ms"), 1000.0)


def request_id(response: httpx.Response, secret: Secret | None) -> str | None:
    """The server's ``x-request-id``, if it sent one."""
    value = response.headers.get("x-request-id")
    return clip(value, _FIELD_TEXT, secret) if value else None


def _details(body: bytes, status: int, secret: Secret | None) -> tuple[str, dict[str, str]]:
    """The error message of an error body, its JSON ``error.message`` else its first text; and
    the error object's ``type``, ``param`` and ``code`` that are strings.

    The body is read only in part and redacted before it is cut; what is shown never ends in a
    piece of the key (a key straddling either cut leaves none).
    """
    key = len(secret.reveal().encode()) if secret is not None else 0
    fields: dict[str, str] = {}
    try:
        decoded: Any = jsonio.loads(body)
        error = decoded["error"]
        # As much as a key opening within the limit needs to be whole (and so redacted).
        text = str(error["message"])[: _MESSAGE_TEXT + key]
        limit = _MESSAGE_TEXT
        for name in ("type", "param", "code"):
            value = error.get(name)
            if isinstance(value, str):
                fields[name] = clip(value[: _FIELD_TEXT + key], _FIELD_TEXT, secret)
    except (ValueError, KeyError, TypeError, AttributeError):
        text = body[: 4 * _BODY_TEXT + key].decode("utf-8", "replace")  # 4: UTF-8's widest
        limit = _BODY_TEXT
    message = clip(text, limit, secret).strip() or httpx.codes.get_reason_phrase(status)
    return message, fields


def _error(
    cls: type[ApiError], response: httpx.Response, message: str, secret: Secret | None, **kw: Any
) -> ApiError:
    """A ``cls`` error of ``response``: its status, request id and headers (credentials
    masked)."""
    return cls(
        "openai",
        kw.pop("code", None),
        message,
        status_code=response.status_code,
        request_id=request_id(response, secret),
        headers=safe_headers(response.headers.multi_items(), secret),
        **kw,
    )


def check_status(response: httpx.Response, secret: Secret | None) -> None:
    """Raise :class:`ApiError` for a status that is neither an answer nor an error (1xx, 204 to
    299, 3xx): its body, if any, is not read. A redirect is not followed and names the host it
    points to (not the whole location: it may carry a token)."""
    status = response.status_code
    if status in _SUCCESS or status >= 400:
        return
    reason = httpx.codes.get_reason_phrase(status) or "unknown status"
    if 300 <= status < 400 and status != 304:  # 304 answers a conditional request: none sent
        raise _error(ApiError, response, f"{reason}: {_redirect(response, secret)}", secret)
    raise _error(ApiError, response, f"{reason}: not an answer runbind expects", secret)


def _redirect(response: httpx.Response, secret: Secret | None) -> str:
    """Where a redirect points: the host of its location only, never its path or query."""
    location = response.headers.get("location")
    if not location:
        return "a redirect without a location (not followed)"
    try:
        host = urlsplit(urljoin(str(response.request.url), location)).hostname
    except ValueError:
        host = None
    if not host:
        return "a redirect to an unreadable location (not followed)"
    return f"a redirect to host {clip(host, _HOST_TEXT, secret)} (not followed)"


def check_response(response: httpx.Response, body: bytes, secret: Secret | None) -> None:
    """Raise the runbind error for a response that is not an answer (Transient when a retry
    may help)."""
    check_status(response, secret)
    if response.status_code < 400:
        return
    status = response.status_code
    message, fields = _details(body, status, secret)
    error = _error(error_class(status), response, message, secret, **fields)
    if status in _RETRYABLE:
        raise Transient(error, retry_after(response))
    raise error


def translate(exc: Exception, what: str) -> Exception:
    """The runbind error for a transport failure of ``what`` (a certificate that fails
    verification is final, other connection failures are Transient)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return RunTimeoutError(f"openai {what}: deadline exceeded")
    if isinstance(exc, httpx.TransportError | OSError):
        tls = tls_failure(exc)
        if tls is not None and tls[1]:
            return APIConnectionError("openai", "connection_error", tls[0])
        reason = tls[0] if tls is not None else f"connection failed ({type(exc).__name__})"
        return Transient(APIConnectionError("openai", "connection_error", reason))
    return exc
