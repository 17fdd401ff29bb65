"""Server-sent events from a byte stream, with bounded memory (the WHATWG parsing rules)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from ._errors import DecodeError

__all__ = ["MAX_EVENT_SIZE", "ServerSentEvent", "parse_events"]

MAX_EVENT_SIZE = 16 * 1024 * 1024
"""Bytes one event (or one line) may take; a larger one is a :class:`DecodeError`."""


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event: its ``event`` name (``"message"`` when unnamed) and ``data``."""

    event: str
    data: str
    id: str | None = None


def _too_big(limit: int) -> DecodeError:
    return DecodeError("openai", "server-sent event", "", f"an event exceeds {limit} bytes")


def _next_line_end(buffer: bytes | bytearray, start: int) -> tuple[int, int] | None:
    """``(end of line, start of next)`` of the first complete line from ``start``, if any."""
    cr = buffer.find(b"\r", start)
    lf = buffer.find(b"\n", start)
    if cr == -1 and lf == -1:
        return None
    if cr == -1 or (lf != -1 and lf < cr):
        return lf, lf + 1
    if cr + 1 == len(buffer):
        return None  # a CR at the end may be half of a CRLF: wait for more
    return cr, cr + 2 if buffer[cr + 1 : cr + 2] == b"\n" else cr + 1


async def _lines(chunks: AsyncIterator[bytes], max_size: int) -> AsyncIterator[bytes]:
    """The lines of ``chunks`` without their ends (CRLF, LF or CR), any split, bounded."""
    buffer = bytearray()
    async for chunk in chunks:
        buffer += chunk
        start = 0
        while (found := _next_line_end(buffer, start)) is not None:
            end, start_next = found
            yield bytes(buffer[start:end])
            start = start_next
        del buffer[:start]
        if len(buffer) > max_size:
            raise _too_big(max_size)
    if buffer.endswith(b"\r"):  # a CR at the very end ends its line: no LF can follow now
        for line in bytes(buffer[:-1]).split(b"\r"):
            yield line


async def parse_events(
    chunks: AsyncIterator[bytes], *, max_size: int = MAX_EVENT_SIZE
) -> AsyncIterator[ServerSentEvent]:
    """The events of ``chunks`` (any split), ending with the stream; comments are skipped.

    An event cut off by the end of the stream is dropped, as the standard says. Text that is
    not UTF-8 or an event over ``max_size`` bytes is a :class:`DecodeError`.
    """
    name = ""
    data: list[str] = []
    event_id: str | None = None
    size = 0
    async for raw in _lines(chunks, max_size):
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
