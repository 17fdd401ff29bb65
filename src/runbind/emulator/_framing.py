"""gRPC request framing on the emulator: every message read from its 5-byte prefix, checked first.

grpclib reads (and acknowledges) the whole message a prefix announces before its codec sees the
size, answers a compressed flag, a stream cut inside a message or a unary call without its
message with UNKNOWN and a logged traceback, and ignores what follows a unary call's message.
Here each method's stream reads through a :class:`_Reader`: the size is refused on the prefix
(RESOURCE_EXHAUSTED), malformed framing is INVALID_ARGUMENT, and a large message is decoded
off the loop (:mod:`runbind._core.offload`) so that other calls are answered meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import grpclib.const
import grpclib.server
from grpclib import GRPCError
from grpclib.const import Status

from ._yandex_hooks import CheckedCodec, too_large

__all__ = ["framed"]


def framed(
    mapping: Mapping[str, grpclib.const.Handler], codec: CheckedCodec
) -> dict[str, grpclib.const.Handler]:
    """``mapping`` (grpclib's method table) with each method reading through a :class:`_Reader`."""
    return {
        name: handler._replace(func=_serve(handler, codec)) for name, handler in mapping.items()
    }


def _serve(handler: grpclib.const.Handler, codec: CheckedCodec) -> Callable[..., Any]:
    func = handler.func
    unary = not handler.cardinality.client_streaming

    async def serve(stream: grpclib.server.Stream[Any, Any]) -> None:
        reader = _Reader(stream, codec, handler.request_type, unary)
        inner = stream._stream  # the HTTP/2 stream
        inner.recv_data = reader.recv_data  # type: ignore[method-assign]
        stream.recv_message = reader.recv_message  # type: ignore[method-assign]
        await func(stream)

    return serve


def _invalid(reason: str) -> NoReturn:
    raise GRPCError(Status.INVALID_ARGUMENT, f"malformed gRPC framing: {reason}")


class _Reader:
    """The reads grpclib makes of one request stream, and the count of a unary call's messages."""

    __slots__ = ("_body", "_codec", "_recv", "_recv_message", "_type", "_unary")

    def __init__(
        self,
        stream: grpclib.server.Stream[Any, Any],
        codec: CheckedCodec,
        request_type: Any,
        unary: bool,
    ) -> None:
        self._recv = stream._stream.recv_data
        self._recv_message = stream.recv_message
        self._codec = codec
        self._type = request_type
        self._unary = unary
        self._body = 0  # the size of the message the last prefix announced, until it is read

    async def _read(self, size: int, what: str) -> bytes:
        try:
            return await self._recv(size)
        except AssertionError:  # grpclib: "Received less data than expected"
            _invalid(f"the request ended inside {what}")

    async def recv_data(self, size: int) -> bytes:
        """``size`` bytes of the stream (none at its end): a prefix, checked, or its message."""
        if self._body:
            self._body = 0
            data = await self._read(size, f"a message of {size} bytes")
            await self._codec.decode_ahead(data, self._type)
            return data
        prefix = await self._read(size, "a message prefix")
        if size != 5 or not prefix:
            return prefix
        flag, length = prefix[0], int.from_bytes(prefix[1:], "big")
        if flag == 1:
            _invalid("compressed flag set, but the emulator takes no grpc-encoding")
        if flag:
            _invalid(f"compressed flag {flag} (must be 0 or 1)")
        limit = self._codec.max_message_size
        if length > limit:
            too_large(length, limit)
        self._body = length
        return prefix

    async def recv_message(self) -> Any:
        """grpclib's next message; for a method taking one request message, that message and
        then the end of the request stream."""
        message = await self._recv_message()
        if self._unary:
            if message is None:
                _invalid("the call ended without its request message")
            if await self._recv(1):
                _invalid("the method takes one request message; more data followed it")
        return message
