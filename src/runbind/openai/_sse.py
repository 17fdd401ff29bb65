"""Server-sent events from a byte stream, with bounded memory (the WHATWG parsing rules)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from .._core.errors import DecodeError

__all__ = ["MAX_EVENT_SIZE", "ServerSentEvent", "parse_events"]

MAX_EVENT_SIZE = 16 * 1024 * 1024
"""Bytes one event (or one line) may take; a larger one is a :class:`DecodeError`."""


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event: its ``event`` name (``"message"`` when unnamed) and ``data``."""

    event: str
    data: str
    id: str | None = None


_BOM = b"\xef\xbb\xbf"


def _too_big(limit: int) -> DecodeError:
    return DecodeError("openai", "server-sent event", "", f"an event exceeds {limit} bytes")


async def _lines(chunks: AsyncIterator[bytes], max_size: int) -> AsyncIterator[bytes]:
    """The lines of ``chunks`` without their ends (CRLF, LF or CR), any split, bounded.

    Linear in the input: each chunk is searched once for its last line end (the buffer before
    it holds none), and the complete lines are split in one pass, so that a flood of line ends
    or a long line in small chunks costs no more than ordinary text.
    """
    buffer = bytearray()
    after_cr = False  # the last line ended with a CR: an LF opening the next chunk is its CRLF
    async for received in chunks:
        if not received:
            continue
        chunk = received[1:] if after_cr and received[0] == 0x0A else received
        after_cr = False
        last = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if last == -1:
            buffer += chunk
        else:
            complete = bytes(buffer) + chunk[: last + 1]
            buffer = bytearray(chunk[last + 1 :])
            after_cr = last == len(chunk) - 1 and chunk[last] == 0x0D  # a CR ends the chunk
            for line in complete.splitlines():  # bytes split only at CRLF, LF and CR
                yield line
        if len(buffer) > max_size:
            raise _too_big(max_size)


async def parse_events(
    chunks: AsyncIterator[bytes], *, max_size: int = MAX_EVENT_SIZE
) -> AsyncIterator[ServerSentEvent]:
    """The events of ``chunks`` (any split), ending with the stream; comments are skipped.

    An event cut off by the end of the stream is dropped and a byte order mark opening it is
    skipped, as the standard says. Text that is not UTF-8 or an event over ``max_size`` bytes
    is a :class:`DecodeError`.
    """
    name = ""
    data: list[str] = []
    event_id: str | None = None
    size = 0
    first = True
    async for raw in _lines(chunks, max_size):
        if first:
            raw, first = raw.removeprefix(_BOM), False  # noqa: PLW2901 - the same line, cleaned
        if not raw:
            if data:
                yield ServerSentEvent(name or "message", "\n".join(data), event_id)
            name, data, size = "", [], 0
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError("openai", "server-sent event", "", f"not UTF-8: {exc}") from None
        size += len(raw)
        if size > max_size:
            raise _too_big(max_size)
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            data.append(value)
        elif field == "event":
            name = value
        elif field == "id" and "\0" not in value:
            event_id = value
