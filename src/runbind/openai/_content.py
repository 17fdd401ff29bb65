"""Response bodies, decoded here rather than by httpx: in bounded pieces, with typed errors.

httpx inflates each network read whole (64 KiB of gzip can be 64 MiB of text), before any size
limit or deadline is checked, and raises its own ``DecodingError`` for a body that is not what
its ``Content-Encoding`` claims. Here every read yields pieces of at most :data:`PIECE` bytes,
giving the event loop (and the caller's deadline) a turn between them, and a body that does not
decode is a :class:`DecodeError`: a server bug no retry fixes.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Iterator

import httpx

from .._core.errors import DecodeError

__all__ = ["ACCEPT_ENCODING", "PIECE", "body_pieces"]

ACCEPT_ENCODING = "gzip, deflate"
"""What the client asks for: the encodings it decodes in bounded pieces (br and zstd are left
out even where their libraries are installed)."""

PIECE = 64 * 1024
"""Bytes of decoded body handed on at a time."""

_GZIP = ("gzip", "x-gzip")
_MAGIC = b"\x1f\x8b"  # what opens a gzip member
_KNOWN = frozenset({*_GZIP, "deflate", "identity", "br", "zstd", "compress", "x-compress"})


class _Inflate:
    """One zlib layer: gzip (any number of members), or deflate (zlib-wrapped or raw, as
    servers send either under that name)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._gzip = encoding in _GZIP
        self._inflater = self._new()
        self._started = False  # some input went in (a raw-deflate retry is possible before)
        self._fed = False
        self._pending = False
        self._held = b""  # the opening of a next gzip member, cut by the end of a read

    def _new(self, raw: bool = False) -> zlib._Decompress:
        if self._gzip:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of ``data``, each at most :data:`PIECE` bytes, made one by one."""
        self._fed = self._fed or bool(data)
        data, self._held = self._held + data, b""
        while data or self._pending:
            if self._inflater.eof:
                if not self._gzip or not data.startswith(_MAGIC[: len(data)]):
                    return  # bytes after the end of the stream are ignored, as httpx does
                if len(data) < len(_MAGIC):
                    self._held = data  # the next gzip member may open in the next read
                    return
                self._inflater = self._new()  # the next gzip member
            try:
                piece = self._inflater.decompress(data, PIECE)
            except zlib.error:
                if self._gzip or self._started:
                    raise self._error(f"the body is not valid {self.encoding} data") from None
                self._inflater, self._started = self._new(raw=True), True
                continue  # a deflate body without its zlib wrapper
            self._started = True
            ended = self._inflater.eof
            data = self._inflater.unused_data if ended else self._inflater.unconsumed_tail
            # A full piece may leave output inside zlib even when all input went in.
            self._pending = len(piece) == PIECE and not ended
            if piece:
                yield piece

    def end(self) -> None:
        """Check that the body ended where its compressed stream does."""
        if self._fed and not self._inflater.eof:
            raise self._error(f"the {self.encoding} body was cut short")

    def _error(self, reason: str) -> DecodeError:
        return DecodeError("openai", "response", "", reason)


def _layers(response: httpx.Response) -> list[_Inflate]:
    """The decoders of ``response``'s ``Content-Encoding``, in the order they apply."""
    named = [
        value.strip().lower()
        for value in response.headers.get_list("content-encoding", split_commas=True)
    ]
    layers: list[_Inflate] = []
    for name in reversed(named):  # the last encoding applied is undone first
        if name in ("", "identity"):
            continue
        if name not in _GZIP and name != "deflate":
            # The value is the server's: only a name from the known list is quoted.
            shown = f"{name!r}" if name in _KNOWN else "an unknown one"
            reason = f"the body has a content encoding runbind does not decode ({shown})"
            raise DecodeError("openai", "response", "", reason)
        layers.append(_Inflate(name))
    return layers


def _through(layers: list[_Inflate], data: bytes) -> Iterator[bytes]:
    if not layers:
        if data:
            yield data
        return
    first, rest = layers[0], layers[1:]
    for piece in first.feed(data):
        yield from _through(rest, piece)


def _finish(layers: list[_Inflate]) -> None:
    for layer in layers:
        layer.end()


async def body_pieces(response: httpx.Response) -> AsyncIterator[bytes]:
    """The decoded body of ``response`` (read with ``stream=True``), piece by piece."""
    layers = _layers(response)
    async for raw in response.aiter_raw():
        if not layers:
            if raw:
                yield raw
            continue
        for piece in _through(layers, raw):
            yield piece
            await asyncio.sleep(0)  # one read may inflate to many pieces: others get a turn
    _finish(layers)
