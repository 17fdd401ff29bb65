"""The OpenAI client's HTTP plumbing: a connection pool per event loop, bounded bodies, and one
retried JSON call under the call's deadline."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from .._core import jsonio
from .._core.client_base import PerLoop, left
from .._core.credentials import Secret
from .._core.errors import ApiError, DecodeError
from .._core.observe import Observer, RequestInfo
from .._core.retry import Deadline, RetryPolicy, call
from ._content import body_pieces
from ._transport import check_response, check_status, headers, log, request_id, translate

__all__ = ["Json", "OpenAIHttp"]

Json = dict[str, Any]

_T = TypeVar("_T")

# As many idle connections kept as open ones: httpcore's pool counts every connection, not only
# the idle ones, against the keep-alive limit, so with httpx's default (20) it closed pooled
# connections that many concurrent streams then had to open again (a port in TIME_WAIT each).
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)


class OpenAIHttp:
    """What every OpenAI call goes through: URLs, the pool, bodies, JSON, retries."""

    def __init__(
        self,
        base_url: str,
        api_key: Secret | None,
        *,
        verify: bool | ssl.SSLContext,
        max_body: int,
        policy: Callable[[], RetryPolicy],
        observer: Observer,
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.observer = observer
        self._verify = verify
        self._max_body = max_body
        self._policy = policy
        self._pool: PerLoop[httpx.AsyncClient] = PerLoop(self._open)

    def _open(self) -> httpx.AsyncClient:
        # Pooled connections belong to the loop that opened them: a new loop starts afresh.
        return httpx.AsyncClient(
            verify=self._verify,
            timeout=None,
            follow_redirects=False,
            trust_env=False,
            limits=_LIMITS,
        )

    def client(self) -> httpx.AsyncClient:
        """The running loop's connection pool."""
        return self._pool.get()

    async def aclose(self) -> None:
        """Close the pool (calls after this open a new one)."""
        pool = self._pool.take()
        if pool is not None:
            with contextlib.suppress(Exception):
                await pool.aclose()

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
                request_id=request_id(response, self.api_key),
            )
            return found

        return observed

    def url(self, *parts: str) -> str:
        """The URL of ``parts`` under the base URL, each part escaped whole."""
        return self.base_url + "/" + "/".join(quote(p, safe="") for p in parts)

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
        request_headers = headers(self.api_key, idempotency_key)

        async def attempt(deadline: Deadline) -> tuple[Any, httpx.Response]:
            try:
                timeout = left(deadline, f"openai {what}")
                # httpx's timeout bounds each read: a body dripped slowly would outlive it.
                async with asyncio.timeout(timeout):
                    request = self.client().build_request(
                        method,
                        url,
                        json=body,
                        params=params,
                        headers=request_headers,
                        timeout=timeout,
                    )
                    response = await self.client().send(request, stream=True)
                    try:
                        check_status(response, self.api_key)
                        data = await self.read(response)
                    finally:
                        await response.aclose()
            except (ApiError, DecodeError):
                raise
            except Exception as exc:
                raise translate(exc, what) from None
            check_response(response, data, self.api_key)
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
