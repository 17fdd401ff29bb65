"""Fuzzing ``runbind.openai._sse.parse_events`` and the OpenAI client's event decoding on top of it.

An independent whole-input parser (:func:`reference`, regular expressions over the complete
stream) is the oracle: for any bytes and any chunking, ``parse_events`` yields the same events,
or fails with :class:`~runbind.DecodeError` where the reference does. Inputs: streams of SSE
tokens (fields, comments, CR/LF/CRLF, non-UTF-8 bytes, NUL), byte-level edits of the emulator's
recorded streams, splits at every byte, missing blank lines, lines and events at and past the
size limit, and floods of line ends. Every event that parses is then decoded as the client does
(``RunStreamEvent.from_openai``): only DecodeError may escape.
Examples per test: ``RUNBIND_FUZZ_EXAMPLES`` (see ``tests/fuzz/_fuzz.py``).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import AsyncIterator, Iterable, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runbind import DecodeError, RunStreamEvent
from runbind._core.retry import RetryPolicy
from runbind.openai import AsyncRuns
from runbind.openai._sse import MAX_EVENT_SIZE, ServerSentEvent, parse_events

from ._fuzz import FUZZ, canned_server, corpus, peak_memory

Outcome = list[ServerSentEvent] | type[DecodeError]

LIMIT = 256
"""``max_size`` of most tests here (small, so that the limit is easy to reach)."""

_EOL = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"


def reference(data: bytes, max_size: int = LIMIT) -> Outcome:
    """The events of the whole stream ``data`` by the WHATWG rules, or DecodeError.

    runbind's own choices on top of the standard: text that is not UTF-8 and an event (or a
    line) over ``max_size`` bytes are errors, not replaced or truncated.
    """
    *lines, rest = _EOL.split(data.removeprefix(_BOM))
    pending = len(rest) + (len(_BOM) if not lines and data.startswith(_BOM) else 0)
    if pending > max_size:  # the unterminated line, as buffered (a first line with its BOM)
        return DecodeError
    events: list[ServerSentEvent] = []
    buffer: list[str] = []
    name, last_id, size = "", None, 0
    for raw in lines:
        if not raw:
            if buffer:
                events.append(ServerSentEvent(name or "message", "\n".join(buffer), last_id))
            name, buffer, size = "", [], 0
            continue
        size += len(raw)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            return DecodeError
        if size > max_size:
            return DecodeError
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "data":
            buffer.append(value)
        elif field == "event":
            name = value
        elif field == "id" and "\0" not in value:
            last_id = value
    return events


async def _feed(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def _collect(chunks: Iterable[bytes], max_size: int) -> Outcome:
    try:
        return [e async for e in parse_events(_feed(chunks), max_size=max_size)]
    except DecodeError:
        return DecodeError


def parse(chunkings: Sequence[Sequence[bytes]], max_size: int = LIMIT) -> list[Outcome]:
    """The outcome of each chunking, all parsed on one fresh event loop."""

    async def run() -> list[Outcome]:
        return [await _collect(chunks, max_size) for chunks in chunkings]

    return asyncio.run(run())


def split(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    """``data`` cut at ``cuts`` (positions, any order, duplicates give empty chunks)."""
    points = sorted(c % (len(data) + 1) for c in cuts)
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def by_sizes(data: bytes, sizes: Sequence[int]) -> list[bytes]:
    """``data`` in chunks of ``sizes`` bytes, taken in turn (many small chunks, many bounds)."""
    out, at, turn = [], 0, 0
    while at < len(data):
        size = sizes[turn % len(sizes)]
        out.append(data[at : at + size])
        at, turn = at + size, turn + 1
    return out


def decode_events(outcome: Outcome) -> int:
    """Decode every event as the OpenAI client does; returns how many decoded."""
    if outcome is DecodeError:
        return 0
    assert isinstance(outcome, list)
    decoded = 0
    for index, sse in enumerate(outcome):
        try:
            event = RunStreamEvent.from_openai(
                {"event": sse.event, "data": sse.data}, event_index=index
            )
        except DecodeError:
            continue  # anything else escaping fails the test
        assert event.event_index == index
        assert repr(event)
        decoded += 1
    return decoded


# ------------------------------------------------------------------------------------ fuzzing

TOKENS = [
    b"data:",
    b"data: ",
    b"event: ",
    b"id: ",
    b"id: a\x00b",
    b"retry: 10",
    b": comment",
    b":",
    b" ",
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    b"x",
    b'{"id": 1}',
    "é✓".encode(),
    b"\xc3",  # half of a two-byte character
    b"\xff",
    _BOM,
    b"thread.run.created",
    b"done",
    b"[DONE]",
]
"""Pieces SSE streams are made of, and a few that break them."""

streams = st.lists(st.sampled_from(TOKENS), max_size=40).map(b"".join)
cut_lists = st.lists(st.integers(0, 10_000), max_size=8)
chunk_sizes = st.lists(st.integers(1, 9), min_size=1, max_size=6)


@FUZZ
@given(data=streams, cuts=cut_lists, sizes=chunk_sizes)
def test_any_stream_in_any_chunks_parses_like_the_reference(
    data: bytes, cuts: list[int], sizes: list[int]
) -> None:
    whole, cut, small = parse([[data], split(data, cuts), by_sizes(data, sizes)])
    assert whole == cut == small == reference(data)
    decode_events(whole)


@FUZZ
@given(data=st.binary(max_size=300), cuts=cut_lists)
def test_random_bytes_parse_like_the_reference(data: bytes, cuts: list[int]) -> None:
    whole, chunked = parse([[data], split(data, cuts)])
    assert whole == chunked == reference(data)


@FUZZ
@given(data=streams, size=st.integers(0, 64))
def test_the_size_limit_is_the_same_whatever_the_chunking(data: bytes, size: int) -> None:
    outcomes = parse([[data], [data[i : i + 1] for i in range(len(data))]], max_size=size)
    assert outcomes == [reference(data, size)] * 2


SEEDS = [p for p in corpus("sse") if p.id.startswith("seed-")]
"""The emulator's recorded streams (echo, tool calls, a failure)."""


@st.composite
def edited_seeds(draw: st.DrawFn) -> bytes:
    """A recorded stream with a few byte-level edits (flips, cuts, inserted tokens, deletions)."""
    buf = bytearray(draw(st.sampled_from(SEEDS)).values[0])
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(buf)))
        edit = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if edit == "flip" and at < len(buf):
            buf[at] ^= 1 << draw(st.integers(0, 7))
        elif edit == "insert":
            buf[at:at] = draw(st.sampled_from(TOKENS))
        elif edit == "delete":
            del buf[at : at + draw(st.integers(1, 40))]
        else:
            del buf[at:]
    return bytes(buf)


@FUZZ
@given(data=edited_seeds(), cuts=cut_lists)
def test_edited_emulator_streams_parse_and_decode_with_only_decode_errors(
    data: bytes, cuts: list[int]
) -> None:
    whole, chunked = parse([[data], split(data, cuts)], max_size=MAX_EVENT_SIZE)
    assert whole == chunked == reference(data, MAX_EVENT_SIZE)
    decode_events(whole)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_recorded_stream_split_at_every_byte_gives_the_same_events(seed: bytes) -> None:
    expected = reference(seed, MAX_EVENT_SIZE)
    assert isinstance(expected, list)
    assert expected[-1] == ServerSentEvent("done", "[DONE]")
    assert decode_events(expected) == len(expected)
    chunkings = [[seed[:at], seed[at:]] for at in range(len(seed) + 1)]
    chunkings.append([seed[i : i + 1] for i in range(len(seed))])
    assert all(o == expected for o in parse(chunkings, max_size=MAX_EVENT_SIZE))


# ---------------------------------------------------------------------------- line endings

_events = st.lists(
    st.tuples(
        st.sampled_from(["", "thread.run.created", "thread.message.delta"]),
        st.lists(st.text(st.characters(exclude_characters="\r\n", codec="utf-8"), max_size=12)),
    ),
    min_size=1,
    max_size=6,
)


def _expected(events: list[tuple[str, list[str]]]) -> list[ServerSentEvent]:
    return [ServerSentEvent(n or "message", "\n".join(d)) for n, d in events if d]


def _write(events: list[tuple[str, list[str]]], ends: list[bytes]) -> bytes:
    """The stream of ``events``, its line ends taken from ``ends`` in turn."""
    out = bytearray()
    count = 0

    def line(text: str) -> None:
        nonlocal count
        out.extend(text.encode() + ends[count % len(ends)])
        count += 1

    for name, data in events:
        if name:
            line(f"event: {name}")
        for item in data:
            line(f"data: {item}")
        line("")
    return bytes(out)


@FUZZ
@given(events=_events, eol=st.sampled_from([b"\n", b"\r", b"\r\n"]), cuts=cut_lists)
def test_lf_cr_and_crlf_streams_give_the_written_events(
    events: list[tuple[str, list[str]]], eol: bytes, cuts: list[int]
) -> None:
    data = _write(events, [eol])
    assert parse([split(data, cuts)], max_size=1 << 20) == [_expected(events)]


@FUZZ
@given(events=_events, ends=st.lists(st.sampled_from([b"\n", b"\r\n"]), min_size=1), cuts=cut_lists)
def test_mixed_line_ends_give_the_written_events(
    events: list[tuple[str, list[str]]], ends: list[bytes], cuts: list[int]
) -> None:
    # CR alone is left out of the mix: a CR line end followed by an LF one reads as one CRLF.
    data = _write(events, ends)
    assert parse([split(data, cuts)], max_size=1 << 20) == [_expected(events)]


_lines = st.lists(
    st.tuples(
        st.sampled_from([b"", b"data: a", b"data:b", b"x", b"event: e", b":c", b"id: 1"]),
        st.sampled_from([b"\n", b"\r", b"\r\n"]),
    ),
    max_size=30,
)


@FUZZ
@given(lines=_lines, sizes=chunk_sizes)
def test_lines_with_any_mix_of_line_ends_in_small_chunks_parse_like_the_reference(
    lines: list[tuple[bytes, bytes]], sizes: list[int]
) -> None:
    data = b"".join(text + eol for text, eol in lines)
    assert parse([by_sizes(data, sizes)]) == [reference(data)]


@FUZZ
@given(events=_events, eol=st.sampled_from([b"\n", b"\r", b"\r\n"]))
def test_an_event_without_its_blank_line_is_dropped_at_the_end(
    events: list[tuple[str, list[str]]], eol: bytes
) -> None:
    data = _write(events, [eol])
    cut = data[: -len(eol)]  # the last event's blank line is missing
    expected = _expected(events[:-1])
    assert parse([[cut], [cut[i : i + 1] for i in range(len(cut))]], max_size=1 << 20) == [
        expected,
        expected,
    ]


def test_a_leading_byte_order_mark_is_skipped_even_split() -> None:
    data = _BOM + b"event: thread.run.created\ndata: {}\n\n"
    expected = [ServerSentEvent("thread.run.created", "{}")]
    assert parse([[data], [data[:1], data[1:2], data[2:]]]) == [expected, expected]
    # Only the first line's: later ones are ordinary (non-field) text.
    assert parse([[b"data: a\n" + _BOM + b"data: b\n\n"]]) == [[ServerSentEvent("message", "a")]]


MIXED = b"data: a\rx\ndata: b\r\n\r\n:c\revent: e\r\rdata: d\n\ndata: e\r\r\n\n"
"""A short stream with every kind of line end next to every other."""


def test_every_three_way_split_of_a_mixed_stream_gives_the_same_events() -> None:
    expected = reference(MIXED)
    assert expected == [
        ServerSentEvent("message", "a\nb"),  # an event named "e" had no data: none
        ServerSentEvent("message", "d"),
        ServerSentEvent("message", "e"),
    ]
    n = len(MIXED)
    chunkings = [[MIXED[:i], MIXED[i:j], MIXED[j:]] for i in range(n + 1) for j in range(i, n + 1)]
    assert all(o == expected for o in parse(chunkings))


def test_a_cr_inside_a_chunk_leaves_the_next_chunks_lf_alone() -> None:
    # Found by atheris: a CR followed by more text in its chunk was taken for a CR ending the
    # chunk, and the LF opening the next chunk was dropped as the rest of a CRLF.
    chunks = [b"data: a\r", b"data: b\r x", b"\ndata: c\n\n"]
    expected = [ServerSentEvent("message", "a\nb\nc")]
    assert reference(b"".join(chunks)) == expected
    assert parse([chunks]) == [expected]


@pytest.mark.parametrize(
    "data",
    [b"data: \xff\n\n", b"data: \xc3\n\n", b"event: \xed\xa0\x80\ndata: x\n\n", b"\xff\r\n"],
    ids=["0xff", "cut character", "encoded surrogate", "a line of one bad byte"],
)
def test_non_utf8_text_is_a_decode_error_in_any_chunks(data: bytes) -> None:
    chunkings = [[data], [data[i : i + 1] for i in range(len(data))]]
    assert parse(chunkings) == [DecodeError, DecodeError]


# --------------------------------------------------------------------------------- the limits


def test_a_line_of_the_limit_is_taken_and_one_byte_more_is_refused() -> None:
    for chunk in (1, 7, LIMIT):  # the pending line is checked after every chunk
        at_limit = b"data:" + b"x" * (LIMIT - 5)
        over = at_limit + b"x"
        ok, bad = parse([split(at_limit + b"\n\n", range(0, LIMIT, chunk)), [over + b"\n\n"]])
        assert ok == [ServerSentEvent("message", "x" * (LIMIT - 5))]
        assert bad is DecodeError
        # Unterminated: the buffered line alone is over the limit.
        assert parse([[at_limit], [over], split(over, range(0, LIMIT, chunk))]) == [
            [],
            DecodeError,
            DecodeError,
        ]


def test_an_event_of_the_limit_is_taken_and_one_byte_more_is_refused() -> None:
    lines = [b"event: e", b": a comment counts", b"data: " + b"y" * 100]
    used = sum(len(line) for line in lines)
    tail = b"data:" + b"z" * (LIMIT - used - 5)
    event = b"\n".join([*lines, tail])
    assert len(event) - len(lines) == LIMIT  # the line ends do not count
    ok, bad = parse([[event + b"\n\n"], [event + b"z\n\n"]])
    assert ok == [ServerSentEvent("e", "y" * 100 + "\n" + "z" * (LIMIT - used - 5))]
    assert bad is DecodeError
    # The count starts again with every event.
    assert parse([[(event + b"\n\n") * 3]]) == [ok * 3]


def _pending_limit_stream(size: int) -> AsyncIterator[bytes]:
    """One unterminated line of ``size`` bytes in 64 KiB chunks; reading past it fails."""

    async def chunks() -> AsyncIterator[bytes]:
        sent = 0
        while sent < size:
            step = min(1 << 16, size - sent)
            sent += step
            yield b"d" * step
        raise AssertionError("the parser read past an over-size line")  # pragma: no cover

    return chunks()


def test_the_default_limit_stops_an_endless_line_with_little_memory() -> None:
    async def run() -> None:
        with pytest.raises(DecodeError, match=f"exceeds {MAX_EVENT_SIZE} bytes"):
            async for _ in parse_events(_pending_limit_stream(MAX_EVENT_SIZE + 1)):
                pass  # pragma: no cover

    assert peak_memory(lambda: asyncio.run(run())) < 2 * MAX_EVENT_SIZE + (1 << 20)
    asyncio.run(run())


def test_an_event_of_the_default_limit_is_taken_in_a_small_multiple_of_its_size() -> None:
    data = b"data:" + b"q" * (MAX_EVENT_SIZE - 5) + b"\n\n"
    chunks = [data[i : i + (1 << 16)] for i in range(0, len(data), 1 << 16)]
    outcome: list[Outcome] = []
    assert peak_memory(lambda: outcome.extend(parse([chunks], MAX_EVENT_SIZE))) < 6 * len(data)
    assert isinstance(outcome[0], list)
    assert len(outcome[0][0].data) == MAX_EVENT_SIZE - 5


@pytest.mark.parametrize(
    "flood",
    [b"\n", b"\r", b"\r\n", b":\n", b"data: x\n\n"],
    ids=["LF", "CR", "CRLF", "comments", "tiny events"],
)
def test_a_flood_of_line_ends_in_one_chunk_does_not_hang(flood: bytes) -> None:
    # A guard against quadratic scans (each line searching the rest of the buffer), which took
    # tens of seconds here; linear parsing takes well under one. Not a performance figure.
    data = flood * ((2 << 20) // len(flood))
    started = time.monotonic()
    (outcome,) = parse([[data]], max_size=MAX_EVENT_SIZE)
    assert time.monotonic() - started < 15
    assert outcome == reference(data, MAX_EVENT_SIZE)


# ---------------------------------------------------------------------------- the client


async def _stream(body: bytes) -> list[RunStreamEvent]:
    async with canned_server(200, "text/event-stream", body) as url:
        runs = AsyncRuns(base_url=url, retry=RetryPolicy(attempts=1))
        try:
            stream = await runs.create("asst_1", "thread_1", stream=True, timeout=10)
            async with stream:
                return [event async for event in stream]
        finally:
            await runs.close()


@pytest.mark.parametrize("seed", SEEDS)
def test_the_client_yields_every_event_of_a_recorded_stream(seed: bytes) -> None:
    expected = reference(seed, MAX_EVENT_SIZE)
    assert isinstance(expected, list)
    events = asyncio.run(_stream(seed))
    assert [e.status_raw for e in events] == [e.event for e in expected]
    assert [e.event_index for e in events] == list(range(len(expected)))


@pytest.mark.parametrize(
    "body",
    [
        b"event: thread.run.created\ndata: \xff\n\n",
        b"event: thread.run.created\ndata: " + b"[" * 5000 + b"]" * 5000 + b"\n\n",
        b'event: thread.run.created\ndata: {"id": \n\n',
        b'event: thread.run.created\ndata: {"event": []}\n\n',
    ],
    ids=["non-utf-8", "5000 nested arrays", "cut JSON", "a list as a tag"],
)
def test_the_client_turns_a_hostile_event_into_a_decode_error(body: bytes) -> None:
    with pytest.raises(DecodeError):
        asyncio.run(_stream(body + b"event: done\ndata: [DONE]\n\n"))


# ------------------------------------------------------------------------------------- corpus


@pytest.mark.parametrize("data", corpus("sse"))
def test_the_corpus_replays_like_the_reference_in_any_chunks(data: bytes) -> None:
    expected = reference(data, MAX_EVENT_SIZE)
    sizes = [1, 2, 3, 4, 5, 7, 64]
    chunkings = [[data]] + [[data[i : i + n] for i in range(0, len(data), n)] for n in sizes]
    assert parse(chunkings, max_size=MAX_EVENT_SIZE) == [expected] * len(chunkings)
    decode_events(expected)
