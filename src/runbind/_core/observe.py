"""What a client shows of its requests: the hooks a caller gives for metrics and tracing, and
one DEBUG log line per request (every attempt of a call is a request)."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .errors import ApiError, InvalidArgumentError
from .retry import Transient

__all__ = ["Observer", "RequestHook", "RequestInfo", "ResponseHook", "ResponseInfo"]


@dataclass(frozen=True, slots=True, eq=False)
class RequestInfo:
    """One request a client is about to send: an attempt of a call (a retry is another one).

    Compared and hashed by identity, so that a hook can key a span or a timer on it and find it
    again as :attr:`ResponseInfo.request`. It holds no credential, header or body.
    """

    provider: str
    """``"openai"`` or ``"yandex"``."""
    call: str
    """The client method it serves: ``"create"``, ``"get"``, ``"listen"``, ..."""
    method: str
    """The HTTP method (``"POST"``) or the gRPC method path
    (``"/yandex.cloud.ai.assistants.v1.runs.RunService/Get"``)."""
    target: str
    """The URL without its query (HTTP) or ``host:port`` (gRPC)."""
    attempt: int
    """1 for the first try of the call, 2 for its first retry, ..."""
    stream: bool
    """Whether the answer is a stream (its response comes when the stream starts)."""


@dataclass(frozen=True, slots=True, eq=False)
class ResponseInfo:
    """How a request ended: its answer's status, or the error it failed with.

    For a stream it comes when the stream starts (its status, or its first event on gRPC), or
    when it fails before that; the events that follow are not requests of their own.
    """

    request: RequestInfo
    """The request this answers (the same object the request hook got)."""
    duration: float
    """Seconds from sending the request to this answer."""
    status_code: int | None = None
    """The HTTP status, if an HTTP answer came."""
    grpc_status: str | None = None
    """The gRPC status name (``"OK"``, ``"NOT_FOUND"``), if a gRPC answer came."""
    request_id: str | None = None
    """The server's ``x-request-id``, if it sent one."""
    error: BaseException | None = None
    """The runbind error the request failed with (the call may still succeed on a retry)."""


RequestHook = Callable[[RequestInfo], object]
"""A request hook: a function or coroutine function of :class:`RequestInfo`."""
ResponseHook = Callable[[ResponseInfo], object]
"""A response hook: a function or coroutine function of :class:`ResponseInfo`."""


def _checked(hook: object, name: str) -> Callable[[object], object] | None:
    if hook is not None and not callable(hook):
        raise InvalidArgumentError(f"{name} must be a callable, got {type(hook).__name__}")
    return hook


class Observer:
    """The hooks and the DEBUG line of one client (``provider``), around each request."""

    __slots__ = ("_log", "_on_request", "_on_response", "provider")

    def __init__(
        self,
        provider: str,
        log: logging.Logger,
        on_request: RequestHook | None,
        on_response: ResponseHook | None,
    ) -> None:
        self.provider = provider
        self._log = log
        self._on_request = _checked(on_request, "on_request")
        self._on_response = _checked(on_response, "on_response")

    async def sent(self, info: RequestInfo) -> float:
        """Call the request hook; the time the request starts, for :meth:`answered`."""
        if self._on_request is not None:
            await self._run(self._on_request, info, "on_request")
        return time.monotonic()

    async def answered(
        self,
        info: RequestInfo,
        started: float,
        *,
        status_code: int | None = None,
        grpc_status: str | None = None,
        request_id: str | None = None,
        error: BaseException | None = None,
    ) -> None:
        """Log the request at DEBUG and call the response hook; an :class:`ApiError` (or a
        :class:`Transient` one) gives its status and request id."""
        duration = time.monotonic() - started
        if isinstance(error, Transient):
            error = error.error
        if isinstance(error, ApiError):
            status_code = error.status_code if status_code is None else status_code
            grpc_status = error.grpc_status if grpc_status is None else grpc_status
            request_id = error.request_id if request_id is None else request_id
        if self._log.isEnabledFor(logging.DEBUG):
            status = status_code if status_code is not None else grpc_status
            outcome = f"{status}" if status is not None else "no answer"
            if error is not None:
                outcome += f" ({type(error).__name__})"
            self._log.debug(
                "runbind: %s %s %s %s -> %s in %.3f s (attempt %d)",
                info.provider,
                info.call,
                info.method,
                info.target,
                outcome,
                duration,
                info.attempt,
            )
        if self._on_response is not None:
            response = ResponseInfo(info, duration, status_code, grpc_status, request_id, error)
            await self._run(self._on_response, response, "on_response")

    async def _run(self, hook: Callable[[object], object], info: object, name: str) -> None:
        """``hook(info)``, awaited if it gives an awaitable. A hook that fails is logged, never
        raised: metrics and tracing must not break the calls they watch."""
        try:
            result = hook(info)
            if inspect.isawaitable(result):
                await _awaited(result)
        except Exception:
            self._log.warning("runbind: the %s hook failed", name, exc_info=True)


async def _awaited(result: Awaitable[object]) -> None:
    await result
