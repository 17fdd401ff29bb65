"""``runbind.openai._sse.parse_events``: WHATWG server-sent events from any chunking, memory
bounded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

import pytest

from runbind import DecodeError
from runbind.openai._sse import ServerSentEvent, parse_events

Chunks = Iterable[bytes]


async def _feed(chunks: Chunks) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def _collect(chunks: Chunks, max_size: int) -> list[ServerSentEvent]:
    return [e async for e in parse_events(_feed(chunks), max_size=max_size)]


def parse(*chunks: bytes, max_size: int = 1 << 20) -> list[ServerSentEvent]:
    """The events of ``chunks``, parsed on a fresh event loop."""
    return asyncio.run(_collect(chunks, max_size))


def parse_many(splits: list[list[bytes]]) -> list[list[ServerSentEvent]]:
    """The events of each chunking in ``splits`` (one event loop for all of them)."""

    async def run() -> list[list[ServerSentEvent]]:
        return [await _collect(chunks, 1 << 20) for chunks in splits]

    return asyncio.run(run())


def ev(data: str, event: str = "message", id_: str | None = None) -> ServerSentEvent:
    return ServerSentEvent(event, data, id_)


def stream(eol: str) -> tuple[bytes, list[ServerSentEvent]]:
    """A multi-event stream with ``eol`` line ends, and its events."""
    lines = [
        ": a comment first",
        "event: thread.run.created",
        'data: {"id":"run_1"}',
        "",
        "data: first line",
        "data:second line",
        "data:  two spaces",
        "id: 7",
        "",
        ": comment between events",
        "",
        "event: thread.message.delta",
        "data: é ünïcode ✓",
        "retry: 1000",
        "unknown: field",
        "",
        "event: done",
        "data: [DONE]",
        "",
        ": trailing comment",
        "",
    ]
    events = [
        ev('{"id":"run_1"}', "thread.run.created"),
        ev("first line\nsecond line\n two spaces", id_="7"),
        ev("é ünïcode ✓", "thread.message.delta", "7"),  # the last id carries on
        ev("[DONE]", "done", "7"),
    ]
    return eol.join(lines).encode(), events


EOLS = pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])


@EOLS
def test_whole_stream(eol: str) -> None:
    data, expected = stream(eol)
    assert parse(data) == expected


@EOLS
def test_every_split_point(eol: str) -> None:
    data, expected = stream(eol)
    splits = [[data[:i], data[i:]] for i in range(len(data) + 1)]
    results = parse_many(splits)
    wrong = [i for i, got in enumerate(results) if got != expected]
    assert not wrong, f"split at {wrong[:5]} gave {results[wrong[0]]}"


@EOLS
def test_every_pair_of_split_points_and_byte_by_byte(eol: str) -> None:
    data, expected = stream(eol)
    step = 7  # a sample of the pairs keeps this fast
    splits = [
        [data[:i], data[i:j], data[j:]]
        for i in range(0, len(data) + 1, step)
        for j in range(i, len(data) + 1)
    ]
    splits.append([data[i : i + 1] for i in range(len(data))])
    splits.append([b"" for _ in range(3)] + [data] + [b""])
    results = parse_many(splits)
    assert all(got == expected for got in results)


def test_crlf_split_between_chunks_is_one_line_end() -> None:
    # were the CR and the LF two line ends, the LF would end the event after "a"
    assert parse(b"data: a\r", b"\ndata: b\r\n\r\n") == [ev("a\nb")]
    assert parse(b"data: a\r", b"\n", b"\r", b"\n") == [ev("a")]


def test_cr_then_a_new_line_in_the_next_chunk() -> None:
    assert parse(b"data: a\r", b"data: b\r\r: end\r") == [ev("a\nb")]


def test_cr_at_the_end_of_the_stream_ends_the_event() -> None:
    assert parse(b"data: a\r\r") == [ev("a")]


def test_comments_only_give_no_events() -> None:
    assert parse(b": one\n:two\n\n: three\n\n") == []


def test_multi_line_and_empty_data() -> None:
    assert parse(b"data: a\ndata\ndata: c\n\n") == [ev("a\n\nc")]
    assert parse(b"data\n\n") == [ev("")]
    assert parse(b"event: x\n\n") == []  # no data: nothing to dispatch


def test_event_without_trailing_blank_line_is_dropped_at_end() -> None:
    assert parse(b"data: a\n\ndata: b\n") == [ev("a")]
    assert parse(b"data: a\n\ndata: b") == [ev("a")]


def test_not_utf8_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="UTF-8"):
        parse(b"data: ok\n\n", b"data: \xff\xfe\n\n")


def test_an_event_up_to_max_size_passes_and_over_it_fails() -> None:
    line = b"data: " + b"x" * 93 + b"\n"  # 100 bytes with its line end, 99 counted
    assert parse(line * 10 + b"\n", max_size=990)[0].data == "\n".join(["x" * 93] * 10)
    with pytest.raises(DecodeError, match="exceeds"):
        parse(line * 10 + b"\n", max_size=989)
    # the limit is per event: many small events are fine
    assert len(parse((line + b"\n") * 50, max_size=200)) == 50


def test_a_line_without_end_past_max_size_fails_with_bounded_memory() -> None:
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        yield b"data: "
        while pulled < 100:  # 100 KB: far past the limit, but a broken parser still ends
            pulled += 1
            yield b"y" * 1000

    async def run() -> None:
        async for _ in parse_events(endless(), max_size=10_000):
            pass

    with pytest.raises(DecodeError, match="exceeds"):
        asyncio.run(run())
    assert pulled <= 11, f"read {pulled} KB before giving up on a 10 KB limit"


def test_a_lone_cr_without_end_past_max_size_fails_too() -> None:
    pulled = 0

    async def crs() -> AsyncIterator[bytes]:
        nonlocal pulled
        while pulled < 100:
            pulled += 1
            yield b"data: " + b"z" * 994 + b"\r"  # every CR ends a line

    async def run() -> int:
        count = 0
        async for _ in parse_events(crs(), max_size=10_000):
            count += 1
        return count

    with pytest.raises(DecodeError, match="exceeds"):
        asyncio.run(run())
    assert pulled <= 12
