"""Misbehaving servers for the clients' transport fault tests, scripted on the wire.

:class:`Server` is a TCP (optionally TLS) server on 127.0.0.1, on a thread of its own with a
bounded lifetime, handing each connection to a handler. Handlers here: :class:`Proxy` (to the
emulator, with a :class:`Plan` per connection: reset, stall or drip the answer), :func:`silent`
(accepts, never answers), :func:`http_answers` (scripted HTTP/1.1 answers) and :func:`h2_script`
(an HTTP/2 server side made with the ``h2`` library that then misbehaves).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import ssl
import struct
import threading
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Literal, Self

import h2.config
import h2.connection
import h2.events
import trustme

__all__ = [
    "Handler",
    "Plan",
    "Proxy",
    "Server",
    "closed_port",
    "grpc_frame",
    "grpc_reply",
    "h2_every",
    "h2_script",
    "http_answers",
    "reset",
    "silent",
    "slow_to_decode",
    "tls_contexts",
]

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

LIFETIME = 30.0
"""Seconds a server lives at most, whatever its test does (no test can hang on one)."""


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reset(writer: asyncio.StreamWriter) -> None:
    """Close the connection with a TCP RST (``SO_LINGER`` 0), not a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def until_eof(reader: asyncio.StreamReader) -> None:
    """Read and drop what the client sends until it hangs up."""
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        while await reader.read(65536):
            pass


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept the connection and never answer (until the client gives up)."""
    await until_eof(reader)


class Server:
    """A server on 127.0.0.1 whose connections go to ``handler``, run on a thread of its own.

    ``with Server(handler) as server:`` starts it (``server.port``), and stops it at the end:
    the listening socket, every connection and the thread are gone when the block is left.
    ``accepted`` counts connections (TLS ones before their handshake). It stops by itself after
    ``lifetime`` seconds.
    """

    def __init__(
        self, handler: Handler, *, tls: ssl.SSLContext | None = None, lifetime: float = LIFETIME
    ) -> None:
        self._handler = handler
        self._tls = tls
        self._lifetime = lifetime
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="misbehaving-server", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.port = 0
        self.accepted = 0

    def __enter__(self) -> Self:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("misbehaving server did not start")
        if self._error is not None:
            raise self._error
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # already stopped at its lifetime
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        assert not self._thread.is_alive(), "misbehaving server did not stop"

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # pragma: no cover - reported to the test on start
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, context: None)  # failed handshakes are the point
        self._loop, self._stop = loop, asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()
        writers: set[asyncio.StreamWriter] = set()

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted += 1
            writers.add(writer)
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)
            try:
                if self._tls is not None:  # here, not in start_server: failed handshakes count
                    await writer.start_tls(self._tls)
                await self._handler(reader, writer)
            except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
                pass
            finally:
                tasks.discard(task)
                writers.discard(writer)
                if writer.transport.is_closing():
                    writer.transport.abort()
                else:
                    writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        self.port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._lifetime):
                await self._stop.wait()
        server.close()
        for task in list(tasks):
            task.cancel()
        for writer in list(writers):
            writer.transport.abort()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()
        await asyncio.sleep(0)  # let the aborted transports close their sockets


def tls_contexts(*alpn: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for 127.0.0.1 and localhost from a CA made now (no
    key is ever written to disk), and a client context that trusts that CA; both offer ``alpn``.
    """
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    if alpn:
        server.set_alpn_protocols(list(alpn))
        client.set_alpn_protocols(list(alpn))
    return server, client


# --------------------------------------------------------------------------- proxy


@dataclasses.dataclass(frozen=True)
class Plan:
    """What the proxy does to one connection's answer (server to client bytes).

    The fault starts once ``marker`` has passed ``count`` times (without a marker: once
    ``count`` bytes have passed; the cut falls right after). Then ``"reset"`` sends a TCP RST,
    ``"stall"`` forwards nothing more (the connection stays open until the client leaves).
    ``drip`` (bytes, seconds) forwards the answer in pieces of that size, one per interval.
    ``delay`` holds the connection's first bytes back that many seconds, both ways, then lets
    them through at once (a loaded machine: the server's HTTP/2 settings arrive late, and the
    client's first requests in one burst).
    """

    action: Literal["pass", "reset", "stall"] = "pass"
    count: int = 0
    marker: bytes | None = None
    drip: tuple[int, float] | None = None
    delay: float = 0.0


class Proxy:
    """A handler forwarding to ``127.0.0.1:port``, applying the next queued :class:`Plan` to
    each new connection (none left: it passes everything). ``answered`` counts each connection's
    forwarded answer bytes, in accept order."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._plans: list[Plan] = []
        self._lock = threading.Lock()
        self.answered: list[int] = []

    def plan(self, *plans: Plan) -> None:
        """Queue ``plans`` for the next connections, in order."""
        with self._lock:
            self._plans.extend(plans)

    def _next(self) -> Plan:
        with self._lock:
            return self._plans.pop(0) if self._plans else Plan()

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        plan = self._next()
        index = len(self.answered)
        self.answered.append(0)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._port)
        asked = asyncio.create_task(_pipe(reader, up_writer, plan.delay))  # until the client leaves
        try:
            await self._answer(plan, index, up_reader, writer, asked)
        finally:
            asked.cancel()
            with contextlib.suppress(BaseException):
                await asked
            up_writer.transport.abort()

    async def _answer(
        self,
        plan: Plan,
        index: int,
        up: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        asked: asyncio.Task[None],
    ) -> None:
        seen = bytearray()
        passed = 0
        if plan.delay:
            await asyncio.sleep(plan.delay)
        while data := await up.read(65536):
            if plan.action != "pass":
                seen += data
                cut = _cut_at(plan, bytes(seen), passed)
                if cut is not None:
                    await self._send(writer, data[: cut - passed], plan, index)
                    if plan.action == "reset":
                        await asyncio.sleep(0.05)  # the client reads what came before the cut
                        reset(writer)
                    else:  # stall until the client gives up
                        await asked
                    return
            passed += len(data)
            await self._send(writer, data, plan, index)

    async def _send(
        self, writer: asyncio.StreamWriter, data: bytes, plan: Plan, index: int
    ) -> None:
        step, pause = plan.drip or (len(data) or 1, 0.0)
        for start in range(0, len(data), step):
            writer.write(data[start : start + step])
            await writer.drain()
            self.answered[index] += len(data[start : start + step])
            if pause:
                await asyncio.sleep(pause)


def _cut_at(plan: Plan, seen: bytes, passed: int) -> int | None:
    """The offset in the answer where ``plan``'s fault starts, once ``seen`` reaches it."""
    if plan.marker is None:
        return plan.count if len(seen) >= plan.count else None
    at = -1
    for _ in range(plan.count):
        at = seen.find(plan.marker, at + 1)
        if at == -1:
            return None
    return max(at + len(plan.marker), passed) if plan.count else passed


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float = 0.0
) -> None:
    if delay:
        await asyncio.sleep(delay)
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        if writer.can_write_eof():
            writer.write_eof()


# --------------------------------------------------------------------------- HTTP/1.1


async def read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes] | None:
    """``(method, path, body)`` of the next HTTP/1.1 request (None at the end)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return method, path, body


Answer = Callable[[str, str, bytes], Awaitable[bytes | None]]


def http_answers(answer: Answer) -> Handler:
    """A keep-alive HTTP/1.1 handler: ``answer(method, path, body)`` gives each response's bytes
    (None: hang up)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await read_request(reader)) is not None:
            response = await answer(*request)
            if response is None:
                return
            writer.write(response)
            await writer.drain()

    return handle


def http_response(
    status: int, body: bytes = b"", headers: tuple[tuple[str, str], ...] = ()
) -> bytes:
    """An HTTP/1.1 response with a ``content-length``."""
    head = [f"HTTP/1.1 {status} X", f"content-length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


# --------------------------------------------------------------------------- HTTP/2


H2Act = Callable[[h2.connection.H2Connection, int, asyncio.StreamWriter], Awaitable[None]]


def h2_script(act: H2Act, *, hold: bool = False) -> Handler:
    """An HTTP/2 server side: preface and settings done with ``h2``, then ``act(connection,
    stream id, writer)`` on the first request's headers. The connection ends when it returns
    (with ``hold``, once the client leaves)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        connection = h2.connection.H2Connection(config=config)
        connection.initiate_connection()
        writer.write(connection.data_to_send())
        await writer.drain()
        while data := await reader.read(65536):
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    writer.write(connection.data_to_send())
                    await act(connection, event.stream_id, writer)
                    await writer.drain()
                    if hold:
                        await until_eof(reader)
                    return
            writer.write(connection.data_to_send())
            await writer.drain()

    return handle


def h2_every(act: H2Act) -> Handler:
    """An HTTP/2 server side that answers every request with ``act`` until the client leaves
    (``h2_script`` answers the first one only; a retried call needs more)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        connection = h2.connection.H2Connection(config=config)
        connection.initiate_connection()
        writer.write(connection.data_to_send())
        while data := await reader.read(65536):
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    writer.write(connection.data_to_send())
                    await act(connection, event.stream_id, writer)
            writer.write(connection.data_to_send())
            await writer.drain()

    return handle


GRPC_HEADERS = ((":status", "200"), ("content-type", "application/grpc"))
"""The response headers a gRPC server answers a call with."""


def grpc_frame(message: bytes, *, flag: int = 0) -> bytes:
    """``message`` as one gRPC length-prefixed message (``flag``: its compressed flag)."""
    return bytes((flag,)) + len(message).to_bytes(4, "big") + message


def grpc_reply(message: bytes, *, trailers: bool = True, then: bytes | None = None) -> Handler:
    """An HTTP/2 server answering the first call with ``message`` as one gRPC message, sent as
    the client's flow control allows, then OK trailers (without ``trailers``: nothing more, until
    the client leaves). With ``then``, each later call on the connection is answered with that
    message and OK trailers; without, later calls get no answer."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        connection = h2.connection.H2Connection(config=config)
        connection.initiate_connection()
        writer.write(connection.data_to_send())
        pending: dict[int, tuple[bytes, bool]] = {}  # stream -> what is left to send, trailers
        first = True
        while data := await reader.read(65536):
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.RequestReceived) and (first or then is not None):
                    answer = (message, trailers) if first else (then or b"", True)
                    first = False
                    pending[event.stream_id] = (grpc_frame(answer[0]), answer[1])
                    connection.send_headers(event.stream_id, GRPC_HEADERS)
            for stream_id, (unsent, end) in list(pending.items()):
                if not unsent:
                    continue
                left = unsent
                window = min(connection.local_flow_control_window(stream_id), len(left))
                while window > 0:
                    size = min(window, connection.max_outbound_frame_size)
                    connection.send_data(stream_id, left[:size])
                    left, window = left[size:], window - size
                pending[stream_id] = (left, end)
                if not left and end:
                    connection.send_headers(stream_id, (("grpc-status", "0"),), end_stream=True)
            writer.write(connection.data_to_send())
            await writer.drain()

    return handle


SLOW_FIELD = b"\xc0\x3e\x01"
"""Field 1000 (unknown to every message of the services), varint 1: the most fields per byte."""


def slow_to_decode(message_type: Any, seconds: float = 1.0, limit: int = 48 << 20) -> bytes:
    """A ``message_type`` of unknown fields whose decode takes at least ``seconds`` here, timed
    (or ``limit`` bytes, if this machine decodes faster than that): the costliest shape per
    byte, a hostile server's or client's way to keep a decoder busy."""
    count = 50_000
    while True:
        data = SLOW_FIELD * count
        started = time.perf_counter()
        message_type.parse(data)
        took = time.perf_counter() - started
        if took >= seconds or len(data) * 2 > limit:
            return data
        # the cost may grow faster than the size (quadratic decoders): approach from below
        count = int(count * min(4.0, max(1.25, 1.1 * (seconds / took) ** 0.5)))
