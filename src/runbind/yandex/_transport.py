"""The gRPC side of the Yandex client: endpoint, TLS, credentials, codec and error mapping."""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from contextvars import ContextVar
from typing import Any, cast

import h2.exceptions
from grpclib.client import Channel, Handler
from grpclib.const import Status
from grpclib.encoding.proto import ProtoCodec
from grpclib.events import RecvInitialMetadata, RecvTrailingMetadata, listen
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError
from grpclib.protocol import H2Protocol
from h2.errors import ErrorCodes
from h2.events import RemoteSettingsChanged

from .._core import offload
from .._core.credentials import Secret, SecretHeaders, clip, safe_headers
from .._core.errors import (
    APIConnectionError,
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DecodeError,
    FieldError,
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
from . import _wire

__all__ = [
    "DEFAULT_ENDPOINT",
    "ClientCodec",
    "DeadlineGuard",
    "SecureChannel",
    "adopt",
    "auth_metadata",
    "begin_call",
    "error_class",
    "parse_endpoint",
    "request_id",
    "tls_for",
    "translate",
]

log = logging.getLogger("runbind.yandex")

DEFAULT_ENDPOINT = "assistant.api.cloud.yandex.net:443"
"""The Yandex Cloud AI Assistants gRPC endpoint."""

_RETRYABLE = frozenset({Status.UNAVAILABLE, Status.RESOURCE_EXHAUSTED})
"""Statuses that may pass: the ones the Yandex SDK retries (RESOURCE_EXHAUSTED is its quota)."""

_MESSAGE_TEXT = 1000  # characters of a server's status message shown
_ID_TEXT = 200  # characters of a request id kept

_ERRORS: dict[Status, type[ApiError]] = {
    Status.INVALID_ARGUMENT: BadRequestError,
    Status.OUT_OF_RANGE: BadRequestError,
    Status.UNAUTHENTICATED: AuthenticationError,
    Status.PERMISSION_DENIED: PermissionDeniedError,
    Status.NOT_FOUND: NotFoundError,
    Status.ALREADY_EXISTS: ConflictError,
    Status.ABORTED: ConflictError,
    Status.FAILED_PRECONDITION: ConflictError,
    Status.RESOURCE_EXHAUSTED: RateLimitError,
    Status.INTERNAL: ServerError,
    Status.UNAVAILABLE: ServerError,
    Status.UNKNOWN: ServerError,
    Status.DATA_LOSS: ServerError,
    Status.UNIMPLEMENTED: ServerError,
}
"""The error class of each gRPC status (DEADLINE_EXCEEDED is a :class:`RunTimeoutError`, the
rest, CANCELLED, the plain :class:`ApiError`)."""


def error_class(status: Status) -> type[ApiError]:
    """The :class:`ApiError` subclass for a gRPC ``status``."""
    return _ERRORS.get(status, ApiError)


class _Answer:
    """What the server answered the calling task's last call with, besides the status: its
    metadata (initial and trailing) and the wait its trailers asked for."""

    __slots__ = ("hint", "metadata")

    def __init__(self) -> None:
        self.metadata: list[tuple[str, object]] = []
        self.hint: float | None = None


_ANSWER: ContextVar[_Answer | None] = ContextVar("runbind_yandex_answer", default=None)
"""The last call's :class:`_Answer`, in the calling task's context: grpclib's ``GRPCError``
carries no metadata, and its events run in the caller's task, just before the error is raised
there, so a context variable hands them over."""


def begin_call(answer: object = None) -> object:
    """Forget the last call's answer: a call starts (its metadata is collected afresh); the
    handle to pass again to go on collecting for it, as a stream does before each read (a
    call made meanwhile in the same task started its own)."""
    if not isinstance(answer, _Answer):
        answer = _Answer()
    _ANSWER.set(answer)
    return answer


def _answer() -> _Answer:
    answer = _ANSWER.get()
    if answer is None:
        answer = _Answer()
        _ANSWER.set(answer)
    return answer


def request_id(*secrets: Secret | None) -> str | None:
    """The ``x-request-id`` of the calling task's last call (initial or trailing metadata)."""
    answer = _ANSWER.get()
    return None if answer is None else _request_id(answer, secrets)


def _request_id(answer: _Answer, secrets: tuple[Secret | None, ...]) -> str | None:
    for name, value in answer.metadata:
        if name == "x-request-id" and isinstance(value, str) and value:
            return clip(value, _ID_TEXT, *secrets)
    return None


def parse_endpoint(endpoint: str) -> tuple[str, int]:
    """``host`` and ``port`` of ``host:port`` (IPv6 hosts in brackets)."""
    host, sep, port = endpoint.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidArgumentError(f"endpoint must be 'host:port', got {endpoint!r}")
    return host.strip("[]"), int(port)


def tls_for(host: str, tls: bool | ssl.SSLContext | None) -> bool | ssl.SSLContext:
    """TLS unless the host is loopback (``None``); turning it off elsewhere is logged loudly."""
    if tls is None:
        return not is_loopback(host)
    if tls is False and not is_loopback(host):
        log.warning("runbind: TLS is off for %s; credentials travel in clear text", host)
    return tls


def auth_metadata(api_key: Secret | None, iam_token: Secret | None) -> SecretHeaders:
    """The ``authorization`` metadata for an API key or an IAM token (none without either)."""
    if api_key is not None:
        return SecretHeaders(authorization=f"Api-Key {api_key.reveal()}")
    if iam_token is not None:
        return SecretHeaders(authorization=f"Bearer {iam_token.reveal()}")
    return SecretHeaders()


class _LostBeforeSending(ConnectionError):
    """The connection ended before a request was sent on it: the request may be sent again."""


class _SettledProtocol(H2Protocol):
    """grpclib's client side of a connection, which notes when the server's first SETTINGS
    frame has arrived (or the connection is gone) in :attr:`settled`."""

    settled: asyncio.Event
    lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.settled = asyncio.Event()
        super().connection_made(transport)
        process = self.processor.process

        def noting(event: object) -> None:
            if isinstance(event, RemoteSettingsChanged):
                self.settled.set()
            process(event)  # type: ignore[arg-type]

        self.processor.process = noting  # type: ignore[method-assign]

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost = True
        self.settled.set()  # the calls waiting on it fail as the connection does
        super().connection_lost(exc)


class SecureChannel(Channel):
    """grpclib's channel with h2's outbound header normalisation on, which opens no stream
    before the server's settings are known.

    grpclib turns normalisation off, and with it h2's rule that sends ``authorization`` as a
    never-indexed HPACK field; hpack then keeps the credential in its dynamic table and logs it
    at DEBUG. And grpclib sends requests as soon as the connection is up: past the server's
    stream limit (which h2 servers treat as a connection error) when many calls start at once
    and the server's SETTINGS come late. Waiting for them, as grpc-go does, lets grpclib queue
    those calls instead (within each call's deadline).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        adopt(self)

    def _protocol_factory(self) -> H2Protocol:
        return _SettledProtocol(Handler(), self._config, self._h2_config)

    async def __connect__(self) -> H2Protocol:
        protocol = await super().__connect__()
        if isinstance(protocol, _SettledProtocol) and not protocol.settled.is_set():
            await protocol.settled.wait()
            if protocol.lost:
                raise _LostBeforeSending("the connection ended before the server's settings")
        return protocol

    def request(self, *args: Any, **kwargs: Any) -> Any:
        """grpclib's call, its replies read by a :class:`_Reader` (prefix checked, large decoded
        off the loop)."""
        stream = super().request(*args, **kwargs)
        codec = self._codec
        reply_type = args[3] if len(args) > 3 else kwargs.get("reply_type")
        if isinstance(codec, ClientCodec) and reply_type is not None:
            stream.recv_message = _reader_for(stream, codec, reply_type)  # type: ignore[method-assign]
        return stream


def adopt(channel: Channel) -> None:
    """What runbind needs of any channel it uses (its own or the caller's): h2's outbound header
    normalisation on (see :class:`SecureChannel`), and the metadata of answers read (request ids,
    retry hints)."""
    config = getattr(channel, "_h2_config", None)
    if config is None:  # pragma: no cover - a grpclib that no longer has it
        raise RuntimeError("grpclib.client.Channel has no _h2_config; runbind needs updating")
    config.normalize_outbound_headers = True
    listen(channel, RecvInitialMetadata, _remember_metadata)
    listen(channel, RecvTrailingMetadata, _remember_retry_hint)


def _reader_for(stream: Any, codec: ClientCodec, reply_type: Any) -> Any:
    """``stream.recv_message`` whose reads of the HTTP/2 stream go through a :class:`_Reader`."""
    recv_message = stream.recv_message

    async def read() -> Any:
        inner = getattr(stream, "_stream", None)  # the HTTP/2 stream, once the request is sent
        if inner is not None and "recv_data" not in vars(inner):
            inner.recv_data = _Reader(inner.recv_data, codec, reply_type).recv_data
        return await recv_message()

    return read


class _Reader:
    """The reads grpclib makes of one reply stream: a 5-byte prefix, then the message it announces.

    grpclib reads (and acknowledges) a whole message before the codec sees it, so a prefix of up
    to 4 GiB would be buffered: the size is checked on the prefix instead, and a compressed flag
    (never asked for) is refused there. A message is decoded here, on a worker thread when it is
    large (:mod:`runbind._core.offload`), so that the call's deadline and the loop keep running;
    grpclib's own decode call then takes the result (:meth:`ClientCodec.decode`).
    """

    __slots__ = ("_body", "_codec", "_name", "_recv", "_type")

    def __init__(self, recv_data: Any, codec: ClientCodec, reply_type: Any) -> None:
        self._recv = recv_data
        self._codec = codec
        self._type = reply_type
        self._name = getattr(reply_type, "__name__", "message")
        self._body = False  # whether the next read is the message a prefix announced

    async def recv_data(self, size: int) -> bytes:
        """``size`` bytes of the stream (fewer only at its end), checked as described above."""
        if self._body:
            self._body = False
            data = cast(bytes, await self._recv(size))
            if len(data) == size:  # grpclib reports a message cut short itself
                await self._codec.decode_ahead(data, self._type)
            return data
        prefix = cast(bytes, await self._recv(size))
        if size == 5 and len(prefix) == 5:
            limit = self._codec.max_message_size
            length = int.from_bytes(prefix[1:], "big")
            if prefix[0] != 0:
                reason = f"compressed flag {prefix[0]} set, but no compression was negotiated"
                raise DecodeError("yandex", self._name, "", reason)
            if length > limit:
                raise DecodeError(
                    "yandex", self._name, "", f"{length} bytes exceed the limit {limit}"
                )
            self._body = length > 0
        return prefix


async def _remember_metadata(event: RecvInitialMetadata) -> None:
    """Keep the initial metadata for :func:`translate` and :func:`request_id`."""
    _answer().metadata.extend(event.metadata.items())


async def _remember_retry_hint(event: RecvTrailingMetadata) -> None:
    """Keep the trailing metadata, and ``retry-after-ms`` / ``retry-after`` of a retryable
    status, for :func:`translate`."""
    hint = None
    metadata = event.metadata
    if event.status in _RETRYABLE:
        hint = hint_seconds(_text(metadata.get("retry-after-ms")), 1000.0)
        if hint is None:
            hint = hint_seconds(_text(metadata.get("retry-after")))
    answer = _answer()
    answer.metadata.extend(metadata.items())
    answer.hint = hint


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


class DeadlineGuard:
    """Undo the cancel grpclib's deadline timer puts on the calling task.

    At a deadline grpclib cancels the task awaiting the call and raises ``TimeoutError``
    instead of the ``CancelledError``, but never ``uncancel()``s, so the task stays
    "cancelling" and an enclosing ``asyncio.timeout()`` later misfires. (A class, not a
    generator: it wraps every message of a stream.)
    """

    __slots__ = ("_before", "_task")

    def __enter__(self) -> None:
        self._task = asyncio.current_task()
        self._before = self._task.cancelling() if self._task is not None else 0

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        # Only a cancel that grpclib turned into an ordinary error can leave the count raised.
        task = self._task
        if (
            kind is not None
            and issubclass(kind, Exception)
            and task is not None
            and task.cancelling() > self._before
        ):
            task.uncancel()


class ClientCodec(offload.DecodeAhead, ProtoCodec):
    """Protobuf with a size limit and the strict wire check before betterproto2 parses; a
    :class:`_Reader` decodes ahead (off the loop when large)."""

    def __init__(self, max_message_size: int) -> None:
        self.max_message_size = max_message_size

    def parse(self, data: bytes, message_type: Any) -> Any:
        """Parse ``data`` or raise a :class:`DecodeError` naming the field path."""
        name = message_type.__name__
        if len(data) > self.max_message_size:
            raise DecodeError(
                "yandex", name, "", f"{len(data)} bytes exceed the limit {self.max_message_size}"
            )
        try:
            return _wire.decode(message_type, data)
        except FieldError as exc:
            raise DecodeError("yandex", name, exc.path, exc.reason) from None


def translate(exc: Exception, what: str, *secrets: Secret | None) -> Exception:
    """The runbind error for a failure of ``what``: Transient when it may pass, else final.

    A status message that echoes one of ``secrets`` has it replaced by ``***`` (and a long one
    is cut, never inside a piece of one); a certificate that fails verification is final.
    """
    if isinstance(exc, DecodeError | RunTimeoutError | ApiError | Transient):
        return exc
    if isinstance(exc, GRPCError):
        message = clip(exc.message or "", _MESSAGE_TEXT, *secrets)
        if exc.status is Status.DEADLINE_EXCEEDED:
            return RunTimeoutError(f"yandex {what}: deadline exceeded")
        answer, _ = _ANSWER.get() or _Answer(), _ANSWER.set(None)
        name = exc.status.name
        error = error_class(exc.status)(
            "yandex",
            name,
            message,
            grpc_status=name,
            request_id=_request_id(answer, secrets),
            headers=safe_headers(answer.metadata, *secrets),
        )
        return Transient(error, answer.hint) if exc.status in _RETRYABLE else error
    if isinstance(exc, TimeoutError):
        return RunTimeoutError(f"yandex {what}: deadline exceeded")
    if isinstance(exc, AssertionError) and _raised_in_grpclib(exc):
        # grpclib asserts when a stream ends inside a message ("Received less data than
        # expected"): the peer cut the message short, as a lost connection does.
        reason = f"connection failed (message cut short: {exc})"
        return Transient(APIConnectionError("yandex", Status.UNAVAILABLE.name, reason))
    if isinstance(exc, _LostBeforeSending):
        error = APIConnectionError("yandex", Status.UNAVAILABLE.name, f"connection failed ({exc})")
        return Transient(error, unprocessed=True)
    if isinstance(
        exc, StreamTerminatedError | ProtocolError | OSError | EOFError | h2.exceptions.H2Error
    ):
        tls = tls_failure(exc)
        if tls is not None and tls[1]:
            return APIConnectionError("yandex", Status.UNAVAILABLE.name, tls[0])
        if tls is None and _refused(exc):
            reason = "the server refused the stream unprocessed (REFUSED_STREAM)"
            error = APIConnectionError("yandex", Status.UNAVAILABLE.name, reason)
            return Transient(error, unprocessed=True)
        reason = tls[0] if tls is not None else f"connection failed ({type(exc).__name__})"
        return Transient(APIConnectionError("yandex", Status.UNAVAILABLE.name, reason))
    return exc


_REFUSED = re.compile(
    rf"Stream reset by remote party, error_code: "
    rf"(?:{int(ErrorCodes.REFUSED_STREAM)}|ErrorCodes\.REFUSED_STREAM)"
)
"""grpclib's reason for a stream the server reset with ``REFUSED_STREAM`` (RFC 9113 §8.7: the
request was not processed, so it may be sent again); grpclib keeps only this text."""


def _refused(exc: Exception) -> bool:
    """Whether ``exc`` is grpclib's end of a stream the server refused unprocessed."""
    return isinstance(exc, StreamTerminatedError) and any(
        isinstance(arg, str) and _REFUSED.fullmatch(arg) is not None for arg in exc.args
    )


def _raised_in_grpclib(exc: BaseException) -> bool:
    """Whether ``exc`` was raised by grpclib's own code (not ours, nor the caller's)."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return str(tb.tb_frame.f_globals.get("__name__", "")).startswith("grpclib.")
