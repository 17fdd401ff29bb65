"""A small HTTP/1.1 server on asyncio and h11: JSON responses and server-sent event streams.

Every limit holds per request whatever the arrival pattern of its bytes (all at once, byte by
byte, pipelined, chunked): the request line and headers (431 past :data:`MAX_HEAD_BYTES`), the
body (413 past the server's ``max_body``), the chunked framing around it (413 past
:data:`MAX_FRAMING_BYTES`), and the time to send the head and the body. Malformed requests get
400, and a handler's unexpected exception is a 500 with a generic message (the traceback goes to
the log, never to the client).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import urllib.parse
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import h11

__all__ = [
    "EventStream",
    "Handler",
    "HttpServer",
    "Request",
    "Response",
    "StreamCut",
    "close_transports",
    "sse",
]


@dataclass(frozen=True, slots=True)
class Request:
    """One request: ``headers`` have lower-case names; ``query`` keeps the last value per name,
    ``params`` every query pair in order (a repeated ``include[]``)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Response:
    """A complete response."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)

    @classmethod
    def json(cls, status: int, value: Any) -> Response:
        """``value`` as a JSON response."""
        return cls(status, json.dumps(value, separators=(",", ":")).encode())


@dataclass(frozen=True, slots=True)
class EventStream:
    """A ``text/event-stream`` response; each item of ``frames`` is one whole SSE frame."""

    frames: AsyncGenerator[bytes, None]
    status: int = 200
    headers: tuple[tuple[str, str], ...] = field(default=())


class StreamCut(Exception):
    """Raised by an :class:`EventStream`'s frames: close the connection without ending the body."""


def sse(event: str, data: str) -> bytes:
    """One server-sent event frame."""
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {event}\n{lines}\n".encode()


Handler = Callable[[Request], Awaitable[Response | EventStream]]


ErrorBody = Callable[[int, str], bytes]
_READ_CHUNK = 65536

MAX_HEAD_BYTES = 32768
"""The request line and headers of one request, up to and including the blank line ending them.

h11 refuses an *incomplete* head past this size (its receive buffer), but takes a longer one
that arrives complete in one read; the size of every head is checked here as well.
"""

MAX_FRAMING_BYTES = 32768
"""The chunked framing of one request body: size lines, extensions, line ends and trailers.

It bounds the work of many tiny chunks (each one an event to parse) as the body limit bounds
their data, and it is the bound h11 puts on one incomplete size line or trailer section.
"""

HEAD_TIMEOUT = 30.0
"""Seconds a request's line and headers may take to arrive, from their first byte."""

BODY_TIMEOUT = 60.0
"""Seconds a request's body may take to arrive, from the end of its head."""

IDLE_TIMEOUT = 120.0
"""Seconds a kept-alive connection may wait for its next request."""

REQUEST_ID = "x-request-id"
"""The header naming each answer (``req_`` and 32 hex digits, as OpenAI's), so that a client can
report which request failed; every answer carries one, the server's own errors included."""

_FRAMING = f"the chunked framing of the request body exceeds {MAX_FRAMING_BYTES} bytes"

log = logging.getLogger("runbind.emulator")


_LATE_TURNS = 3
"""Loop turns a server's close waits for the tasks of connections accepted just before it."""
_FLUSH = 1.0
"""Seconds a closing connection may take to send what it has written before it is aborted."""


def _socket_open(transport: asyncio.BaseTransport) -> bool:
    sock = transport.get_extra_info("socket")
    return sock is not None and sock.fileno() != -1


async def close_transports(transports: list[asyncio.BaseTransport]) -> None:
    """Close ``transports`` for good: each may flush what it has written for up to
    :data:`_FLUSH` seconds, then is aborted. A closing transport whose peer stopped reading
    keeps its buffer, and with it its socket, until the loop is gone and then for ever."""
    for transport in transports:
        transport.close()
    with contextlib.suppress(asyncio.CancelledError):  # a cancelled connection still closes
        await asyncio.sleep(0)  # a transport with nothing left to send closes on this turn
        give_up = asyncio.get_running_loop().time() + _FLUSH
        while any(_socket_open(t) for t in transports):
            if asyncio.get_running_loop().time() >= give_up:
                break
            await asyncio.sleep(0.01)
    for transport in transports:
        if _socket_open(transport):
            transport.abort()  # type: ignore[attr-defined]


class HttpServer:
    """Serves ``handler`` on one TCP port; keep-alive, bounded bodies, SSE streaming."""

    def __init__(self, handler: Handler, *, max_body: int, error_body: ErrorBody) -> None:
        self._handler = handler
        self._max_body = max_body
        self._error_body = error_body
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._transports: weakref.WeakSet[asyncio.BaseTransport] = weakref.WeakSet()

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0: any free port); the bound port."""
        self._server = await asyncio.start_server(self._accept, host, port, reuse_address=True)
        sockets = self._server.sockets
        return int(sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening and end every open connection."""
        if self._server is not None:
            self._server.close()
        # A connection accepted just before the close starts its task a few loop turns later:
        # end those too, or their sockets would outlive the server (asyncio.run cancels a task
        # that never started without running its cleanup).
        for _ in range(_LATE_TURNS):
            await asyncio.sleep(0)
            for task in list(self._connections):
                task.cancel()
            if self._connections:
                await asyncio.gather(*self._connections, return_exceptions=True)
        await close_transports(list(self._transports))
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self._transports.add(writer.transport)
        try:
            await _Connection(self, reader, writer).serve()
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        except asyncio.CancelledError:
            # close() ends open connections this way; finishing normally keeps asyncio's
            # start_server callback from logging the cancellation as an error.
            pass
        finally:
            self._connections.discard(task)
            await close_transports([writer.transport])
            self._transports.discard(writer.transport)


class _TooLarge(Exception):
    """A limit of :mod:`_http` was passed: answer ``status`` with ``message`` and close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Connection:
    def __init__(
        self, server: HttpServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        self.fed = 0  # bytes of the connection given to h11

    def _parsed(self) -> int:
        """Bytes of the connection h11 has turned into events (what it holds back excluded).

        h11 has no public count of what it buffers (``trailing_data`` copies it); its receive
        buffer's length is read instead (h11 is pinned below 1.0, and the limit tests cover it).
        """
        return self.fed - len(self.conn._receive_buffer)

    async def _feed(self, until: float) -> None:
        """Give h11 the next chunk of the connection, read by the loop time ``until``
        (TimeoutError), and count it in :attr:`fed`."""
        async with asyncio.timeout_at(until):
            data = await self.reader.read(_READ_CHUNK)
        self.fed += len(data)
        self.conn.receive_data(data)

    async def _next(self, until: float) -> Any:
        """The next h11 event; reading stops at the loop time ``until`` (TimeoutError)."""
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            await self._feed(until)

    async def _send(self, *events: Any) -> None:
        for event in events:
            data = self.conn.send(event)
            if data:
                self.writer.write(data)
        await self.writer.drain()

    async def _error(self, status: int, message: str) -> None:
        body = self.server._error_body(status, message)
        headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
        headers += [("connection", "close"), _request_id()]
        with contextlib.suppress(h11.LocalProtocolError):
            await self._send(h11.Response(status_code=status, headers=headers), h11.Data(data=body))
            await self._send(h11.EndOfMessage())

    async def _head(self) -> Any:
        """The next event of a new request cycle: :data:`IDLE_TIMEOUT` for the request's first
        byte, then :data:`HEAD_TIMEOUT` for the rest of its head."""
        if not len(self.conn._receive_buffer):
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            await self._feed(asyncio.get_running_loop().time() + IDLE_TIMEOUT)
        return await self._next(asyncio.get_running_loop().time() + HEAD_TIMEOUT)

    async def serve(self) -> None:
        while True:
            start = self._parsed()
            try:
                event = await self._head()
            except h11.RemoteProtocolError as exc:
                await self._error(exc.error_status_hint, f"malformed HTTP request: {exc}")
                return
            if not isinstance(event, h11.Request):  # closed, paused or not a request
                return
            if self._parsed() - start > MAX_HEAD_BYTES:
                await self._error(431, f"request line and headers exceed {MAX_HEAD_BYTES} bytes")
                return
            try:
                until = asyncio.get_running_loop().time() + BODY_TIMEOUT
                request = await self._read(event, until)
            except _TooLarge as exc:
                await self._error(exc.status, exc.message)
                return
            if request is None:
                return
            await self._respond(request)
            if self.conn.our_state is h11.MUST_CLOSE or self.conn.their_state is h11.MUST_CLOSE:
                return
            try:
                self.conn.start_next_cycle()
            except h11.LocalProtocolError:
                return

    async def _read(self, head: h11.Request, until: float) -> Request | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in head.headers}
        limit = self.server._max_body
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise _TooLarge(413, f"request body exceeds {limit} bytes")
        body = bytearray()
        start = self._parsed()
        while True:
            try:
                event = await self._next(until)
            except h11.RemoteProtocolError as exc:
                if exc.error_status_hint == 431:  # an incomplete size line or trailer section
                    raise _TooLarge(413, _FRAMING) from None
                await self._error(exc.error_status_hint, f"malformed HTTP request: {exc}")
                return None
            if isinstance(event, h11.Data):
                body += event.data
                if len(body) > limit:
                    raise _TooLarge(413, f"request body exceeds {limit} bytes")
            elif not isinstance(event, h11.EndOfMessage):
                return None
            if self._parsed() - start - len(body) > MAX_FRAMING_BYTES:
                raise _TooLarge(413, _FRAMING)
            if isinstance(event, h11.EndOfMessage):
                break
        target = head.target.decode("latin-1")
        path, _, query = target.partition("?")
        params = tuple(urllib.parse.parse_qsl(query, keep_blank_values=True))
        return Request(
            method=head.method.decode("latin-1").upper(),
            path=urllib.parse.unquote(path),
            query=dict(params),
            headers=headers,
            body=bytes(body),
            params=params,
        )

    async def _respond(self, request: Request) -> None:
        try:
            result = await self.server._handler(request)
        except Exception:
            log.exception("emulator handler failed on %s %s", request.method, request.path)
            await self._error(500, "internal error in the emulator")
            return
        if isinstance(result, Response):
            headers = [*_with_id(result.headers), ("content-length", str(len(result.body)))]
            await self._send(
                h11.Response(status_code=result.status, headers=headers),
                h11.Data(data=result.body),
                h11.EndOfMessage(),
            )
            return
        headers = [
            ("content-type", "text/event-stream; charset=utf-8"),
            ("cache-control", "no-cache"),
            *_with_id(result.headers),
        ]
        await self._send(h11.Response(status_code=result.status, headers=headers))
        try:
            async for frame in result.frames:
                await self._send(h11.Data(data=frame))
        except StreamCut:
            # the connection closes (what was sent is flushed) without the terminating chunk
            raise ConnectionAbortedError("event stream cut") from None
        finally:
            await result.frames.aclose()
        await self._send(h11.EndOfMessage())


def _request_id() -> tuple[str, str]:
    """A fresh :data:`REQUEST_ID` header."""
    return REQUEST_ID, f"req_{secrets.token_hex(16)}"


def _with_id(headers: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """``headers`` with a :data:`REQUEST_ID` (a fresh one unless the handler set its own)."""
    if any(name.lower() == REQUEST_ID for name, _ in headers):
        return list(headers)
    return [*headers, _request_id()]
