"""Fault injection: failed requests, cut streams and stalls, armed from any thread.

:class:`Faults` holds the armed faults; :func:`grpc_hook` and :func:`http_hook` apply them to
the gRPC server (through a grpclib ``RecvRequest`` listener) and to the HTTP handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import threading
from collections.abc import AsyncGenerator, Sequence
from typing import TYPE_CHECKING, Any, Literal, get_args

import grpclib.events
import grpclib.server
import h2.exceptions
from grpclib import GRPCError
from grpclib.const import Status

from ._http import EventStream, Handler, Request, Response, StreamCut
from ._openai_requests import error_body

if TYPE_CHECKING:
    from grpclib._typing import IServerMethodFunc
    from grpclib.protocol import Connection

__all__ = ["Faults", "drop_connection", "grpc_hook", "http_hook"]

Protocol = Literal["yandex", "openai"]
FailStatus = Literal[
    "unavailable",
    "rate_limited",
    "internal",
    "not_found",
    "unauthenticated",
    "permission_denied",
    "conflict",
    "invalid_argument",
]
DropHow = Literal["reset", "unavailable"]
_Kind = Literal["fail", "drop", "stall"]

MESSAGE = "injected fault"
"""The message of an injected failure (gRPC status message, OpenAI ``error.message``)."""

_GRPC_STATUS = {
    "unavailable": Status.UNAVAILABLE,
    "rate_limited": Status.RESOURCE_EXHAUSTED,
    "internal": Status.INTERNAL,
    "not_found": Status.NOT_FOUND,
    "unauthenticated": Status.UNAUTHENTICATED,
    "permission_denied": Status.PERMISSION_DENIED,
    "conflict": Status.ALREADY_EXISTS,
    "invalid_argument": Status.INVALID_ARGUMENT,
}
_HTTP_STATUS = {
    "unavailable": 503,
    "rate_limited": 429,
    "internal": 500,
    "not_found": 404,
    "unauthenticated": 401,
    "permission_denied": 403,
    "conflict": 409,
    "invalid_argument": 400,
}
_STREAMING_RPCS = frozenset({"RunService/Listen", "RunService/Attach"})
_RESET_GRACE = 0.2
"""Seconds a gRPC connection stays open after the last event before a "reset" cut: grpcio
drops the messages it holds but the caller has not read yet when the connection goes."""


@dataclasses.dataclass(slots=True, eq=False)
class _Rule:
    kind: _Kind
    left: int
    protocol: Protocol | None
    method: str | None = None
    status: FailStatus = "unavailable"
    retry_after: float | None = None
    request_id: str | None = None
    after: int = 0
    how: DropHow = "reset"
    seconds: float = 0.0
    cleared: bool = False

    def matches(self, kind: _Kind, protocol: Protocol, names: Sequence[str]) -> bool:
        return (
            self.kind == kind
            and self.protocol in (None, protocol)
            and (self.method is None or self.method in names)
        )


def _check(value: object, allowed: object, name: str, *, optional: bool = False) -> None:
    choices = (*get_args(allowed), *((None,) if optional else ()))
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")


def _count(count: int, name: str = "count") -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"{name} must be a positive integer, got {count!r}")
    return count


def _seconds(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


class Faults:
    """Faults the emulator injects into the next matching requests; see ``Emulator.faults``.

    Every method is thread-safe: arm faults from the test's thread while the emulator serves
    on its own. Faults of different kinds are independent (a request may use up a stall and then
    a failure); faults of one kind are used up in the order they were armed.

    ``protocol`` is ``"yandex"`` (gRPC), ``"openai"`` (HTTP) or None (either). ``method`` is,
    on gRPC, an RPC name such as ``"Get"`` (any service) or ``"RunService/Get"``, and on HTTP
    a verb such as ``"GET"`` or ``"POST"`` (matched exactly); None matches every request.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._injected = 0

    def __repr__(self) -> str:
        with self._lock:
            armed = sum(rule.left for rule in self._rules)
            return f"Faults(armed={armed}, injected={self._injected})"

    @property
    def injected(self) -> int:
        """How many faults have fired so far (failures, stalls and cut streams)."""
        with self._lock:
            return self._injected

    def fail(
        self,
        count: int = 1,
        *,
        protocol: Protocol | None = None,
        status: FailStatus = "unavailable",
        retry_after: float | None = None,
        method: str | None = None,
        request_id: str | None = None,
    ) -> None:
        """The next ``count`` matching requests fail before reaching the handler.

        gRPC: status UNAVAILABLE / RESOURCE_EXHAUSTED / INTERNAL / NOT_FOUND / UNAUTHENTICATED
        / PERMISSION_DENIED / ALREADY_EXISTS / INVALID_ARGUMENT with the message
        ``"injected fault"``. HTTP: 503 / 429 / 500 / 404 / 401 / 403 / 409 / 400 with an
        OpenAI error object. With ``retry_after`` (seconds) the answer also carries
        ``retry-after`` (whole seconds, rounded up) and ``retry-after-ms`` (milliseconds), and
        with ``request_id`` an ``x-request-id``: HTTP headers, gRPC trailing metadata.
        """
        _check(protocol, Protocol, "protocol", optional=True)
        _check(status, FailStatus, "status")
        retry = None if retry_after is None else _seconds(retry_after, "retry_after")
        if request_id is not None and (
            not isinstance(request_id, str) or not request_id.isprintable()
        ):
            raise ValueError(f"request_id must be a printable string, got {request_id!r}")
        self._arm(
            _Rule(
                "fail",
                _count(count),
                protocol,
                method,
                status=status,
                retry_after=retry,
                request_id=request_id,
            )
        )

    def drop_stream(
        self,
        after: int,
        *,
        protocol: Protocol | None = None,
        count: int = 1,
        how: DropHow = "reset",
    ) -> None:
        """Cut the next ``count`` streams once ``after`` events have been sent (0: before any).

        Streams are gRPC ``RunService`` Listen/Attach responses and HTTP server-sent event
        responses (each SSE frame, ``done`` included, is one event). A stream that ends before
        ``after`` events is cut at its end instead, so the client never sees a clean end.
        ``"reset"`` closes the connection abruptly: on gRPC the whole HTTP/2 connection (every
        call on it fails; 0.2 s after the last event, as grpcio loses events its caller has not
        read yet when the connection goes), on HTTP the socket, without the chunked-encoding
        terminator.
        ``"unavailable"`` ends a gRPC stream with status UNAVAILABLE (HTTP: like ``"reset"``).
        A stream that fails on its own before it is cut gives its turn back.
        """
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ValueError(f"after must be an integer >= 0, got {after!r}")
        _check(protocol, Protocol, "protocol", optional=True)
        _check(how, DropHow, "how")
        self._arm(_Rule("drop", _count(count), protocol, after=after, how=how))

    def stall(
        self,
        seconds: float,
        *,
        protocol: Protocol | None = None,
        count: int = 1,
        method: str | None = None,
    ) -> None:
        """The next ``count`` matching requests wait ``seconds`` before they are handled.

        The wait ends early when the emulator stops (or, on gRPC, at the call's deadline).
        """
        _check(protocol, Protocol, "protocol", optional=True)
        self._arm(
            _Rule("stall", _count(count), protocol, method, seconds=_seconds(seconds, "seconds"))
        )

    def clear(self) -> None:
        """Disarm every fault not used yet (``injected`` keeps counting)."""
        with self._lock:
            for rule in self._rules:
                rule.cleared = True
            self._rules.clear()

    # --- used on the emulator's loop

    def _arm(self, rule: _Rule) -> None:
        with self._lock:
            self._rules.append(rule)

    def _take(self, kind: _Kind, protocol: Protocol, names: Sequence[str] = ()) -> _Rule | None:
        """Use up one turn of the first armed fault of ``kind`` that matches, if any."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(kind, protocol, names):
                    rule.left -= 1
                    if rule.left == 0:
                        self._rules.remove(rule)
                    if kind != "drop":  # a drop fires when the stream is cut
                        self._injected += 1
                    return rule
        return None

    def _fired(self) -> None:
        with self._lock:
            self._injected += 1

    def _give_back(self, rule: _Rule) -> None:
        """Return a turn taken by a stream that ended before it could be cut."""
        with self._lock:
            if rule.cleared:
                return
            rule.left += 1
            if rule not in self._rules:
                self._rules.insert(0, rule)


def _retry_headers(
    retry_after: float | None, request_id: str | None = None
) -> tuple[tuple[str, str], ...]:
    ids = () if request_id is None else (("x-request-id", request_id),)
    if retry_after is None:
        return ids
    return (
        ("retry-after", str(math.ceil(retry_after))),
        ("retry-after-ms", str(round(retry_after * 1000))),
        *ids,
    )


# --- gRPC


class _Cut(Exception):
    """Raised in place of sending the event at which a stream is cut."""


def grpc_hook(server: grpclib.server.Server, faults: Faults) -> None:
    """Apply ``faults`` to every call ``server`` receives (after listeners added before)."""

    async def on_request(event: grpclib.events.RecvRequest) -> None:
        service, _, name = event.method_name.rpartition("/")
        short = f"{service.rpartition('.')[2]}/{name}"
        names = (name, short)
        stall = faults._take("stall", "yandex", names)
        if stall is not None:
            await asyncio.sleep(stall.seconds)
        fail = faults._take("fail", "yandex", names)
        if fail is not None:
            event.method_func = _refusal(fail)
        elif short in _STREAMING_RPCS:
            drop = faults._take("drop", "yandex")
            if drop is not None:
                event.method_func = _cutting(event.method_func, drop, faults)

    grpclib.events.listen(server, grpclib.events.RecvRequest, on_request)


def _refusal(rule: _Rule) -> IServerMethodFunc:
    async def refuse(stream: grpclib.server.Stream[Any, Any]) -> None:
        await stream.send_trailing_metadata(
            status=_GRPC_STATUS[rule.status],
            status_message=MESSAGE,
            metadata=_retry_headers(rule.retry_after, rule.request_id),
        )

    return refuse


def _cutting(method: IServerMethodFunc, rule: _Rule, faults: Faults) -> IServerMethodFunc:
    async def cutting(stream: grpclib.server.Stream[Any, Any]) -> None:
        send = stream.send_message
        sent = 0

        async def counted(message: Any) -> None:
            nonlocal sent
            if sent >= rule.after:
                raise _Cut
            await send(message)
            sent += 1

        setattr(stream, "send_message", counted)  # noqa: B010 (mypy refuses method assignment)
        try:
            await method(stream)
        except _Cut:
            pass
        except BaseException:
            faults._give_back(rule)
            raise
        faults._fired()
        if rule.how == "unavailable":
            raise GRPCError(Status.UNAVAILABLE, f"{MESSAGE}: stream cut")
        if sent:
            await asyncio.sleep(_RESET_GRACE)
        drop_connection(stream._stream.connection, stream._stream.id)

    return cutting


def drop_connection(connection: Connection, last_stream_id: int | None = None) -> None:
    """End a grpclib server connection: GOAWAY, then close once what was sent is flushed.

    Calls still open on it end without trailers, as on a lost connection. The GOAWAY makes
    clients open a new connection for their next call instead of racing the close. grpclib has
    no public way to do this; its streams finish quietly once their transport is closing.
    """
    if connection.is_closing():
        return
    with contextlib.suppress(h2.exceptions.ProtocolError):
        connection._connection.close_connection(last_stream_id=last_stream_id)
        connection.flush()
    connection._transport.close()


# --- HTTP


def http_hook(handler: Handler, faults: Faults) -> Handler:
    """``handler`` with ``faults`` applied to every request it answers."""

    async def faulty(request: Request) -> Response | EventStream:
        names = (request.method,)
        stall = faults._take("stall", "openai", names)
        if stall is not None:
            await asyncio.sleep(stall.seconds)
        fail = faults._take("fail", "openai", names)
        if fail is not None:
            status = _HTTP_STATUS[fail.status]
            headers = (
                ("content-type", "application/json"),
                *_retry_headers(fail.retry_after, fail.request_id),
            )
            return Response(status, error_body(status, MESSAGE), headers)
        result = await handler(request)
        if isinstance(result, EventStream):
            drop = faults._take("drop", "openai")
            if drop is not None:
                return dataclasses.replace(result, frames=_cut_frames(result.frames, drop, faults))
        return result

    return faulty


async def _cut_frames(
    frames: AsyncGenerator[bytes, None], rule: _Rule, faults: Faults
) -> AsyncGenerator[bytes, None]:
    """``frames`` until ``rule.after`` of them are sent; then :class:`StreamCut`."""
    sent = 0
    try:
        async for frame in frames:
            if sent >= rule.after:
                break
            yield frame
            sent += 1
    except BaseException:
        faults._give_back(rule)
        raise
    finally:
        await frames.aclose()
    faults._fired()
    raise StreamCut
