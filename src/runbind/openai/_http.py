"""The OpenAI client's HTTP plumbing: a connection pool per event loop, bounded bodies, and one
retried JSON call under the call's deadline."""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

import httpx

from .._core import jsonio
from .._core.client_base import PerLoop, call_timeout, finite, left
from .._core.credentials import Secret, SecretHeaders
from .._core.errors import ApiError, DecodeError, InvalidArgumentError
from .._core.observe import Observer, RequestInfo
from .._core.retry import Deadline, RetryPolicy, call
from ._content import body_pieces
from ._pool import close_response, guard
from ._transport import check_response, check_status, headers, log, request_id, translate

__all__ = [
    "AUTH_HEADERS",
    "SECRET_HEADERS",
    "Json",
    "OpenAIHttp",
    "check_headers",
    "check_query",
]

Json = dict[str, Any]

AUTH_HEADERS = frozenset({"authorization", "api-key"})
"""Headers that carry the credential (Azure OpenAI takes ``api-key``): one given in
``default_headers`` replaces ``api_key``."""

SECRET_HEADERS = AUTH_HEADERS | {"x-api-key", "proxy-authorization", "cookie"}
"""Default headers whose values are credentials: kept as secrets (never shown, redacted)."""

_OWN_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "connection",
        "content-length",
        "content-type",
        "host",
        "idempotency-key",
        "transfer-encoding",
    }
)
"""Headers runbind sets itself: the body's framing and decoding depend on them."""

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # a header name (RFC 9110 token)

_T = TypeVar("_T")

# As many idle connections kept as open ones: httpcore's pool counts every connection, not only
# the idle ones, against the keep-alive limit, so with httpx's default (20) it closed pooled
# connections that many concurrent streams then had to open again (a port in TIME_WAIT each).
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)


def check_headers(default_headers: Mapping[str, str] | None) -> SecretHeaders:
    """``default_headers`` checked: header names and single-line string values, none of the
    headers runbind sets itself."""
    out = SecretHeaders()
    for name, value in (default_headers or {}).items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise InvalidArgumentError(f"default_headers: {name!r} is not a header name")
        if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
            raise InvalidArgumentError(f"default_headers: {name} must be a single-line string")
        if name.lower() in _OWN_HEADERS:
            raise InvalidArgumentError(f"default_headers: runbind sets {name} itself")
        if any(other.lower() == name.lower() for other in out):
            raise InvalidArgumentError(f"default_headers: {name} is given twice")
        out[name] = value
    return out


def check_query(default_query: Mapping[str, str] | None) -> dict[str, str]:
    """``default_query`` checked: string names and values."""
    out: dict[str, str] = {}
    for name, value in (default_query or {}).items():
        if not isinstance(name, str) or not name or not isinstance(value, str):
            raise InvalidArgumentError("default_query must map non-empty names to strings")
        out[name] = value
    return out


class OpenAIHttp:
    """What every OpenAI call goes through: URLs, the pool, headers, bodies, JSON, retries.

    A query in ``base_url`` (Azure's ``?api-version=``) and ``query`` go with every request;
    ``extra`` headers too (after runbind's, so they may replace ``OpenAI-Beta``, which only
    ``assistants`` clients send). ``client``,
    if given, is the caller's: used as it is, never closed; otherwise each event loop gets a
    pool of its own. ``secret`` is the credential a server may echo (``api_key`` or the one in
    ``extra``).
    """

    def __init__(
        self,
        base_url: str,
        api_key: Secret | None,
        *,
        verify: bool | ssl.SSLContext,
        max_body: int,
        policy: Callable[[], RetryPolicy],
        observer: Observer,
        timeout: Callable[[], float],
        extra: SecretHeaders | None = None,
        query: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
        trust_env: bool = False,
        secret: Secret | None = None,
        assistants: bool = True,
    ) -> None:
        parts = urlsplit(base_url)
        self.base_url = base_url
        self._root = urlunsplit(parts._replace(query="", fragment="")).rstrip("/")
        self._query = {**dict(parse_qsl(parts.query, keep_blank_values=True)), **(query or {})}
        self.api_key = api_key
        self.secret = secret if secret is not None else api_key
        self._extra = extra or SecretHeaders()
        self._assistants = assistants
        self.observer = observer
        self._verify = verify
        self._trust_env = trust_env
        self._max_body = max_body
        self._policy = policy
        self._timeout = timeout
        self._given = client
        self._pool: PerLoop[httpx.AsyncClient] = PerLoop(self._open)

    def _open(self) -> httpx.AsyncClient:
        # Pooled connections belong to the loop that opened them: a new loop starts afresh.
        client = httpx.AsyncClient(
            verify=self._verify,
            timeout=None,
            follow_redirects=False,
            trust_env=self._trust_env,
            limits=_LIMITS,
        )
        return guard(client)

    def client(self) -> httpx.AsyncClient:
        """The caller's client, else the running loop's connection pool."""
        return self._given if self._given is not None else self._pool.get()

    async def aclose(self) -> None:
        """Close the pool (calls after this open a new one); a caller's client stays open."""
        pool = self._pool.take()
        if pool is not None:
            with contextlib.suppress(Exception):
                await pool.aclose()

    def headers(self, idempotency_key: str | None = None) -> SecretHeaders:
        """The headers of one request: runbind's, then the default headers."""
        out = headers(self.api_key, idempotency_key)
        if not self._assistants:
            del out["OpenAI-Beta"]  # the Assistants API's flag: not for the Responses API
        for name, value in self._extra.items():
            for same in [k for k in out if k.lower() == name.lower()]:
                del out[same]
            out[name] = value
        return out

    def params(self, params: Mapping[str, str] | None = None) -> dict[str, str]:
        """The query of one request: the base URL's, the default query, then ``params``."""
        return {**self._query, **(params or {})}

    def build(
        self,
        method: str,
        url: str,
        timeout: float | None,
        *,
        body: Json | None = None,
        params: Mapping[str, str] | None = None,
        request_headers: SecretHeaders,
    ) -> httpx.Request:
        """One request, with the default query and headers (``request_headers``)."""
        return self.client().build_request(
            method,
            url,
            json=body,
            params=self.params(params),
            headers=request_headers,
            timeout=timeout,
        )

    async def send(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``, its answer streamed; redirects are never followed (a caller's
        client may follow them: runbind reports them instead)."""
        return await self.client().send(request, stream=True, follow_redirects=False)

    def step(self, deadline: Deadline) -> Deadline:
        """The deadline of one call inside a stream: the stream's, or the client's timeout
        when the stream has none."""
        return Deadline(call_timeout(deadline, self._timeout()))

    def info(self, what: str, method: str, url: str, attempt: int, *, stream: bool) -> RequestInfo:
        """What the hooks and the DEBUG line are told of a request (its URL without a query)."""
        target = str(httpx.URL(url).copy_with(query=None, fragment=None))
        return RequestInfo("openai", what, method, target, attempt, stream)

    def observed(
        self,
        what: str,
        method: str,
        url: str,
        attempt: Callable[[Deadline], Awaitable[tuple[_T, httpx.Response]]],
    ) -> Callable[[Deadline], Awaitable[tuple[_T, httpx.Response]]]:
        """``attempt`` with each try shown to the hooks and logged at DEBUG."""
        tries = 0

        async def observed(deadline: Deadline) -> tuple[_T, httpx.Response]:
            nonlocal tries
            tries += 1
            info = self.info(what, method, url, tries, stream=False)
            started = await self.observer.sent(info)
            try:
                found = await attempt(deadline)
            except BaseException as exc:
                await self.observer.answered(info, started, error=exc)
                raise
            response = found[1]
            await self.observer.answered(
                info,
                started,
                status_code=response.status_code,
                request_id=request_id(response, self.secret),
            )
            return found

        return observed

    def url(self, *parts: str) -> str:
        """The URL of ``parts`` under the base URL, each part escaped whole (without the base
        URL's query, which :meth:`params` adds)."""
        return self._root + "/" + "/".join(quote(p, safe="") for p in parts)

    async def read(self, response: httpx.Response) -> bytes:
        """The decoded body, refused as soon as it passes ``max_response_size`` (decoded bytes:
        a compressed body is never inflated past the limit)."""
        body = bytearray()
        async for chunk in body_pieces(response):
            body += chunk
            if len(body) > self._max_body:
                raise DecodeError("openai", "response", "", f"body over {self._max_body} bytes")
        return bytes(body)

    async def request(
        self,
        what: str,
        method: str,
        url: str,
        deadline: Deadline,
        *,
        body: Json | None = None,
        params: Mapping[str, str] | None = None,
        retry: bool = True,
        idempotency_key: str | None = None,
    ) -> tuple[Any, httpx.Response]:
        """One JSON call, retried per the policy: the decoded body and the response."""
        request_headers = self.headers(idempotency_key)

        async def attempt(deadline: Deadline) -> tuple[Any, httpx.Response]:
            try:
                timeout = finite(left(deadline, f"openai {what}"))
                # httpx's timeout bounds each read: a body dripped slowly would outlive it.
                async with asyncio.timeout(timeout):
                    request = self.build(
                        method,
                        url,
                        timeout,
                        body=body,
                        params=params,
                        request_headers=request_headers,
                    )
                    response = await self.send(request)
                    try:
                        check_status(response, self.secret)
                        data = await self.read(response)
                    finally:
                        await close_response(response)
            except (ApiError, DecodeError):
                raise
            except Exception as exc:
                raise translate(exc, what) from None
            check_response(response, data, self.secret)
            try:
                return jsonio.loads(data), response
            except ValueError as exc:
                raise DecodeError("openai", what, "", f"response is not JSON: {exc}") from None

        return await call(
            self.observed(what, method, url, attempt),
            deadline,
            self._policy(),
            retry=retry,
            what=f"openai {what}",
            log=log,
        )
