"""The :class:`Emulator`: both protocol sides on one event loop, in-process or in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import socket
import threading
from types import TracebackType
from typing import Self

import grpclib.server

from ._http import EventStream, Handler, HttpServer, Request, Response
from ._openai import OpenAIApp
from ._openai_requests import error_body
from ._state import Store
from ._yandex import CheckedCodec, require_key, services

__all__ = ["Emulator"]

log = logging.getLogger("runbind.emulator")

_STOP_TIMEOUT = 10.0


def _with_key(handler: Handler, api_key: str) -> Handler:
    """``handler`` behind an ``Authorization: Bearer <key>`` check (401 otherwise)."""
    expected = api_key.encode()

    async def checked(request: Request) -> Response | EventStream:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
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


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Emulator:
    """A local server speaking the Yandex gRPC and the OpenAI REST protocols of runs.

    ``async with Emulator() as emu:`` runs it on the current loop; ``with Emulator() as emu:``
    runs it on a background thread. Ports default to free ones (see :attr:`grpc_port`,
    :attr:`http_port`). It binds 127.0.0.1 unless told otherwise and logs a warning when not.
    With ``api_key`` set, calls must carry it (``Authorization: Bearer <key>``; on gRPC also
    ``Api-Key <key>``).
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
    ) -> None:
        self.host = host
        self.grpc_port = grpc_port
        self.http_port = http_port
        self._api_key = api_key
        self._max_message_size = max_message_size
        self._max_body_size = max_body_size
        self._tasks: set[asyncio.Task[None]] = set()
        self._grpc: grpclib.server.Server | None = None
        self._http: HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.yandex_store = Store()
        self.openai_store = Store()

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
        """Start both servers on the running loop."""
        if not is_loopback(self.host):
            log.warning(
                "runbind emulator listening on %s: reachable from other machines%s",
                self.host,
                "" if self._api_key else ", and without an API key",
            )
        grpc = grpclib.server.Server(
            services(self.yandex_store, self._tasks),
            codec=CheckedCodec(self._max_message_size),
        )
        if self._api_key:
            require_key(grpc, self._api_key)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio only turns Nagle off (TCP_NODELAY) on accepted
        # connections of sockets created with it; without it every unary call waits ~40 ms.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.grpc_port))
        await grpc.start(sock=sock)
        self._grpc = grpc
        self.grpc_port = int(sock.getsockname()[1])
        app: Handler = OpenAIApp(self.openai_store, self._tasks)
        if self._api_key:
            app = _with_key(app, self._api_key)
        http = HttpServer(app, max_body=self._max_body_size, error_body=error_body)
        self.http_port = await http.start(self.host, self.http_port)
        self._http = http

    async def stop(self) -> None:
        """Stop both servers, end every stream and every scripted run."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
        if self._grpc is not None:
            self._grpc.close()
            await self._grpc.wait_closed()

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

    def __enter__(self) -> Self:
        return self.start_in_thread()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_thread()
