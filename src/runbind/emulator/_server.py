"""The :class:`Emulator`: both protocol sides on one event loop, in-process or in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import socket
import ssl
import threading
import weakref
from types import TracebackType
from typing import Any, Self

import grpclib.server
from grpclib.protocol import H2Protocol

from .._core.loop_thread import loop_thread
from .._core.net import is_loopback
from ._faults import Faults, drop_connection, grpc_hook, http_hook
from ._framing import framed
from ._http import EventStream, Handler, HttpServer, Request, Response, close_transports
from ._openai import OpenAIApp
from ._openai_requests import error_body
from ._seed import Provider, seed
from ._state import Store
from ._yandex_endpoints import keep_request_headers
from ._yandex_hooks import CheckedCodec, keep_metadata, require_key
from ._yandex_services import services

__all__ = ["Emulator"]

log = logging.getLogger("runbind.emulator")

_STOP_TIMEOUT = 10.0


def _with_key(handler: Handler, api_key: str) -> Handler:
    """``handler`` behind an ``Authorization: Bearer <key>`` or (as Azure OpenAI takes it)
    ``api-key: <key>`` check (401 otherwise)."""
    expected = api_key.encode()

    async def checked(request: Request) -> Response | EventStream:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" and "api-key" in request.headers:
            scheme, token = "bearer", request.headers["api-key"]
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected):
            body = json.dumps(
                {
                    "error": {
                        "message": "Missing or incorrect API key.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                }
            ).encode()
            return Response(401, body)
        return await handler(request)

    return checked


class _GrpcServer(grpclib.server.Server):
    """grpclib's server, able to close its open connections (``close()`` leaves them open), its
    methods reading requests through :func:`~runbind.emulator._framing.framed`."""

    def __init__(self, *args: Any, codec: CheckedCodec, **kwargs: Any) -> None:
        super().__init__(*args, codec=codec, **kwargs)
        self._mapping = framed(self._mapping, codec)
        self._protocols: weakref.WeakSet[H2Protocol] = weakref.WeakSet()

    def _protocol_factory(self) -> H2Protocol:
        protocol = super()._protocol_factory()
        self._protocols.add(protocol)
        keep_request_headers(protocol)  # endpoint discovery answers with the :authority
        return protocol

    def close_connections(self) -> None:
        """Close every open connection (GOAWAY, and what was written is flushed first)."""
        for protocol in list(self._protocols):
            connection = getattr(protocol, "connection", None)
            if connection is not None:
                drop_connection(connection)

    def transports(self) -> list[asyncio.BaseTransport]:
        """The transports of the connections this server accepted that it still knows."""
        connections = (getattr(p, "connection", None) for p in list(self._protocols))
        found = (getattr(c, "_transport", None) for c in connections)
        return [t for t in found if t is not None]


class Emulator:
    """A local server speaking the Yandex gRPC and the OpenAI REST protocols of runs.

    ``async with Emulator() as emu:`` runs it on the current loop; ``with Emulator() as emu:``
    runs it on a background thread. Ports default to free ones (see :attr:`grpc_port`,
    :attr:`http_port`). It binds 127.0.0.1 unless told otherwise and logs a warning when not.
    With ``api_key`` set, calls must carry it (``Authorization: Bearer <key>``; on gRPC also
    ``Api-Key <key>``, on HTTP also Azure's ``api-key: <key>``).

    :attr:`faults` injects failures, cut streams and stalls. With ``poll_after_ms`` set, OpenAI
    run objects come with an ``openai-poll-after-ms`` header. With ``grpc_tls`` (a server
    context; it is given ALPN ``h2``) the gRPC side speaks TLS, as clients that discover
    endpoints only over TLS (yandexcloud's SDK) need. After :meth:`stop` the emulator can
    :meth:`start` again, on the same ports and with the same state.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        grpc_port: int = 0,
        http_port: int = 0,
        api_key: str | None = None,
        max_message_size: int = 4 * 1024 * 1024,
        max_body_size: int = 1024 * 1024,
        poll_after_ms: int | None = None,
        grpc_tls: ssl.SSLContext | None = None,
    ) -> None:
        valid = isinstance(poll_after_ms, int) and not isinstance(poll_after_ms, bool)
        if poll_after_ms is not None and (not valid or poll_after_ms < 0):
            raise ValueError(f"poll_after_ms must be an integer >= 0, got {poll_after_ms!r}")
        self.host = host
        self.grpc_port: int = grpc_port
        self.http_port: int = http_port
        self._api_key = api_key
        self._max_message_size = max_message_size
        self._max_body_size = max_body_size
        self._grpc_tls = grpc_tls
        if grpc_tls is not None:
            grpc_tls.set_alpn_protocols(["h2"])
        self._tasks: set[asyncio.Task[None]] = set()
        self._grpc: _GrpcServer | None = None
        self._http: HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.yandex_store: Store = Store()
        self.openai_store: Store = Store()
        self.faults: Faults = Faults()
        """Faults to inject into the next requests and streams (thread-safe)."""
        # built once, so that a restart keeps their state (folders, idempotency keys, ...)
        self._services = services(self.yandex_store, self._tasks, lambda: self.grpc_target)
        self._app = OpenAIApp(self.openai_store, self._tasks, poll_after_ms)

    def __repr__(self) -> str:
        auth = "on" if self._api_key else "off"
        return f"Emulator(grpc={self.grpc_target}, http={self.openai_base_url}, auth={auth})"

    @property
    def grpc_target(self) -> str:
        """``host:port`` of the gRPC side."""
        return f"{self.host}:{self.grpc_port}"

    @property
    def openai_base_url(self) -> str:
        """Base URL of the OpenAI side (``.../v1``)."""
        return f"http://{self.host}:{self.http_port}/v1"

    async def start(self) -> None:
        """Start both servers on the running loop (again after :meth:`stop`, on the same ports)."""
        if self._grpc is not None or self._http is not None:
            raise RuntimeError("the emulator is already running")
        if not is_loopback(self.host):
            log.warning(
                "runbind emulator listening on %s: reachable from other machines%s",
                self.host,
                "" if self._api_key else ", and without an API key",
            )
        grpc = _GrpcServer(self._services, codec=CheckedCodec(self._max_message_size))
        keep_metadata(grpc)  # first: a refused call's answer carries its request ids too
        if self._api_key:
            require_key(grpc, self._api_key)
        grpc_hook(grpc, self.faults)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio only turns Nagle off (TCP_NODELAY) on accepted
        # connections of sockets created with it; without it every unary call waits ~40 ms.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.grpc_port))
        except OSError:
            sock.close()
            raise
        await grpc.start(sock=sock, ssl=self._grpc_tls)
        self._grpc = grpc
        self.grpc_port = int(sock.getsockname()[1])  # kept: a restart binds the same port
        app: Handler = http_hook(self._app, self.faults)
        if self._api_key:
            app = _with_key(app, self._api_key)
        http = HttpServer(app, max_body=self._max_body_size, error_body=error_body)
        self._http = http
        try:
            self.http_port = await http.start(self.host, self.http_port)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop both servers; end every stream, connection and scripted run.

        Runs not finished by then fail. The stores stay, for a later :meth:`start`.
        """
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        http, self._http = self._http, None
        if http is not None:
            await http.close()
        grpc, self._grpc = self._grpc, None
        if grpc is not None:
            grpc.close()
            grpc.close_connections()
            await grpc.wait_closed()
            await close_transports(grpc.transports())

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def start_in_thread(self) -> Self:
        """Run the emulator on a background thread; returns once it listens."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("the emulator is already running in a thread")
        ready = threading.Event()
        failure: list[BaseException] = []

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            try:
                await self.start()
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                raise
            ready.set()
            try:
                await self._stop.wait()
            finally:
                await self.stop()

        def run() -> None:
            with contextlib.suppress(BaseException):
                asyncio.run(main())

        self._thread = threading.Thread(target=run, name="runbind-emulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            raise failure[0]
        return self

    def stop_thread(self) -> None:
        """Stop an emulator started with :meth:`start_in_thread` and wait for its thread."""
        if self._thread is None or self._loop is None or self._stop is None:
            return
        stop = self._stop
        with contextlib.suppress(RuntimeError):  # the loop may already be gone
            self._loop.call_soon_threadsafe(stop.set)
        self._thread.join(_STOP_TIMEOUT)
        self._thread = None

    async def aseed(
        self,
        provider: Provider,
        question: str = "Hello!",
        *,
        behaviour: str = "echo",
        folder_id: str = "emulator",
    ) -> tuple[str, str]:
        """An assistant with ``behaviour`` and a thread holding ``question``, made on the
        ``"yandex"`` or ``"openai"`` side: ``(assistant id, thread id)`` for a run."""
        return await seed(
            provider,
            host=self.host,
            grpc_port=self.grpc_port,
            base_url=self.openai_base_url,
            api_key=self._api_key,
            question=question,
            behaviour=behaviour,
            folder_id=folder_id,
        )

    def seed(
        self,
        provider: Provider,
        question: str = "Hello!",
        *,
        behaviour: str = "echo",
        folder_id: str = "emulator",
    ) -> tuple[str, str]:
        """:meth:`aseed` for blocking code (async code awaits ``aseed`` instead)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("Emulator.seed blocks; in async code use await emu.aseed(...)")
        return loop_thread().run(
            self.aseed(provider, question, behaviour=behaviour, folder_id=folder_id)
        )

    def __enter__(self) -> Self:
        return self.start_in_thread()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_thread()
