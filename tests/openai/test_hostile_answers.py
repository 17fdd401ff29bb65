"""OpenAI clients against servers whose answers lie on the wire: compression bombs and lies,
redirects, and statuses that are neither an answer nor an error. Each ends in a typed error
(or the answer, where the answer is sound) within the deadline and in bounded memory."""

from __future__ import annotations

import asyncio
import gzip
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from runbind import ApiError, DecodeError, RetryPolicy, RunTimeoutError
from runbind.emulator import Emulator
from runbind.openai._content import PIECE
from tests._flavours import Connect
from tests._memory import traced
from tests._misbehaving import Server, http_answers, http_response

from .conftest import make
from .test_transport_faults import no_leaks, run_body, url

ONCE = RetryPolicy(attempts=3, initial=0.01, maximum=0.02)  # a retry would show as a 2nd request
JSON = ("content-type", "application/json")
SSE = ("content-type", "text/event-stream")
MiB = 1024 * 1024


def squeeze(wbits: int, fill: bytes, size: int) -> bytes:
    """``size`` bytes of ``fill`` compressed (gzip: 16 + 15, zlib: 15, raw deflate: -15),
    made 1 MiB at a time so that the test itself never holds the inflated text."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = fill * (MiB // len(fill))
    out = [packer.compress(block) for _ in range(size // MiB)]
    return b"".join([*out, packer.flush()])


GZIP, ZLIB, RAW = 16 + zlib.MAX_WBITS, zlib.MAX_WBITS, -zlib.MAX_WBITS


class Recorder:
    """A scripted HTTP/1.1 handler answering the n-th request (from 1) with ``respond(n)``
    (None: hang up); it records each request's head, its header names lowercased."""

    def __init__(self, respond: Callable[[int], bytes | None]) -> None:
        self.respond = respond
        self.heads: list[dict[str, str]] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            fields = {}
            for line in head.decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
            await reader.readexactly(int(fields.get("content-length", "0")))
            self.heads.append(fields)
            answer = self.respond(len(self.heads))
            if answer is None:
                return
            writer.write(answer)
            await writer.drain()


@contextmanager
def serving(respond: Callable[[int], bytes | None]) -> Iterator[tuple[Server, Recorder]]:
    recorder = Recorder(respond)
    with Server(recorder) as server:
        yield server, recorder


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """The block's peak of traced allocations, in bytes (all threads: the client's loop too)."""
    peak: list[int] = []
    with traced():
        try:
            yield peak
        finally:
            peak.append(tracemalloc.get_traced_memory()[1])


# --------------------------------------------------------------------------- bombs


def test_a_gzip_stream_of_newlines_ends_at_the_deadline_in_bounded_memory(
    connect: Connect, emulator: Emulator
) -> None:
    """The issue's case: 256 MiB of line ends in 260 KB of gzip, streamed. Each 64 KiB read
    inflated whole to ~64 MiB that the SSE splitter then took in one pass: 13 s past a 2 s
    deadline and 641 MB peak."""
    bomb = squeeze(GZIP, b"\n", 256 * MiB)
    answer = http_response(200, bomb, (SSE, ("content-encoding", "gzip")))
    with serving(lambda n: answer) as (server, _):
        runs = connect(emulator, base_url=url(server.port), retry=ONCE)
        started = time.monotonic()
        with no_leaks(runs), peak_memory() as peak, pytest.raises(RunTimeoutError):
            list(runs.create_stream("asst_1", "thread_1", timeout=1.0))
        took = time.monotonic() - started
    assert took < 2.0, took
    assert peak[0] < 16 * MiB, peak  # a few pieces of 64 KiB, not a 64 MiB read


@pytest.mark.parametrize(
    ("encoding", "wbits"),
    [("gzip", GZIP), ("x-gzip", GZIP), ("deflate", ZLIB), ("deflate", RAW)],
    ids=["gzip", "x-gzip", "deflate", "raw-deflate"],
)
def test_a_compressed_body_is_refused_past_the_limit_on_its_decoded_size(
    connect: Connect, emulator: Emulator, encoding: str, wbits: int
) -> None:
    """max_response_size counts decoded bytes, checked piece by piece: a 64 MiB bomb against a
    1 MiB limit is refused after about 1 MiB, never inflated whole."""
    bomb = squeeze(wbits, b" ", 64 * MiB)
    answer = http_response(200, bomb, (JSON, ("content-encoding", encoding)))
    with serving(lambda n: answer) as (server, recorder):
        runs = connect(emulator, base_url=url(server.port), retry=ONCE, max_response_size=MiB)
        with no_leaks(runs), peak_memory() as peak, pytest.raises(DecodeError) as caught:
            runs.get("run_1", thread_id="thread_1")
    assert f"body over {MiB} bytes" in str(caught.value)
    assert peak[0] < 2 * MiB + 4 * PIECE + len(bomb) * 4, peak
    assert len(recorder.heads) == 1  # a body too big is not retried


def test_nested_compression_is_bounded_at_every_layer(connect: Connect, emulator: Emulator) -> None:
    """``gzip, gzip``: the outer layer inflates to a bomb that inflates again."""
    inner = squeeze(GZIP, b" ", 256 * MiB)
    bomb = gzip.compress(inner, 9)
    answer = http_response(200, bomb, (JSON, ("content-encoding", "gzip, gzip")))
    with serving(lambda n: answer) as (server, _):
        runs = connect(emulator, base_url=url(server.port), retry=ONCE, max_response_size=MiB)
        with no_leaks(runs), peak_memory() as peak, pytest.raises(DecodeError):
            runs.get("run_1", thread_id="thread_1")
    assert peak[0] < 4 * MiB + 8 * PIECE + len(inner) * 3, peak


# --------------------------------------------------------------------------- lies


def compressed(encoding: str, body: bytes) -> bytes:
    """``body`` compressed as ``encoding`` says (``raw-deflate``: deflate without zlib's
    wrapper, which servers also send as ``deflate``)."""
    if encoding == "raw-deflate":
        packer = zlib.compressobj(6, zlib.DEFLATED, RAW)
        return packer.compress(body) + packer.flush()
    if encoding == "deflate":
        return zlib.compress(body)
    if encoding == "gzip, deflate":
        return zlib.compress(gzip.compress(body))
    if encoding == "gzip-members":  # two gzip members: one body
        return gzip.compress(body[:10]) + gzip.compress(body[10:])
    return gzip.compress(body)


@pytest.mark.parametrize(
    "encoding", ["gzip", "deflate", "raw-deflate", "gzip, deflate", "gzip-members"]
)
def test_a_compressed_answer_decodes(connect: Connect, emulator: Emulator, encoding: str) -> None:
    body, thread = run_body(emulator)
    name = {"raw-deflate": "deflate", "gzip-members": "gzip"}.get(encoding, encoding)
    answer = http_response(200, compressed(encoding, body), (JSON, ("content-encoding", name)))
    with serving(lambda n: answer) as (server, _):
        runs = connect(emulator, base_url=url(server.port), retry=ONCE)
        with no_leaks(runs):
            assert runs.get("run_1", thread_id=thread).thread_id == thread
            runs.close()


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "gzip, deflate"])
def test_a_body_that_is_not_what_its_encoding_claims_is_a_decode_error_not_retried(
    connect: Connect, emulator: Emulator, encoding: str
) -> None:
    """httpx raised its own ``DecodingError`` here. It is a server bug, which no retry fixes:
    a DecodeError, as for any other answer that does not decode."""
    body, thread = run_body(emulator)
    answer = http_response(200, body, (JSON, ("content-encoding", encoding)))
    with serving(lambda n: answer) as (server, recorder):
        runs = connect(emulator, base_url=url(server.port), retry=ONCE)
        with no_leaks(runs), pytest.raises(DecodeError) as caught:
            runs.get("run_1", thread_id=thread)
    assert "not valid" in str(caught.value)
    assert len(recorder.heads) == 1


def test_a_compressed_body_cut_short_is_a_decode_error(
    connect: Connect, emulator: Emulator
) -> None:
    body, thread = run_body(emulator)
    cut = gzip.compress(body)[:-12]  # the length prefix agrees: only the gzip stream is short
    answer = http_response(200, cut, (JSON, ("content-encoding", "gzip")))
    with serving(lambda n: answer) as (server, _):
        runs = connect(emulator, base_url=url(server.port), retry=ONCE)
        with no_leaks(runs):
            with pytest.raises(DecodeError) as caught:
                runs.get("run_1", thread_id=thread)
            runs.close()  # the body was read whole: its connection went back to the pool
    assert "cut short" in str(caught.value)


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "x-unknown"])
def test_an_encoding_not_asked_for_is_a_decode_error(
    connect: Connect, emulator: Emulator, encoding: str
) -> None:
    """The client asks for gzip and deflate only (the ones it decodes in bounded pieces), even
    where brotli or zstandard is installed; a server sending another is refused, typed."""
    body, thread = run_body(emulator)
    answer = http_response(200, body, (JSON, ("content-encoding", encoding)))
    with serving(lambda n: answer) as (server, recorder):
        runs = connect(emulator, base_url=url(server.port), retry=ONCE)
        with no_leaks(runs), pytest.raises(DecodeError) as caught:
            runs.get("run_1", thread_id=thread)
    assert "content encoding runbind does not decode" in str(caught.value)
    assert (repr(encoding) in str(caught.value)) is (encoding != "x-unknown")
    assert [head["accept-encoding"] for head in recorder.heads] == ["gzip, deflate"]


def test_a_stream_that_is_not_what_its_encoding_claims_is_a_decode_error(
    connect: Connect, emulator: Emulator
) -> None:
    answer = http_response(200, b"event: x\ndata: {}\n\n", (SSE, ("content-encoding", "gzip")))
    with serving(lambda n: answer) as (server, _):
        runs = connect(emulator, base_url=url(server.port), retry=ONCE)
        with no_leaks(runs), pytest.raises(DecodeError):
            list(runs.create_stream("asst_1", "thread_1"))


def recorded_stream(emulator: Emulator) -> bytes:
    """The raw server-sent events of a whole streamed run on the emulator."""
    assistant, thread = make(emulator)
    with httpx.Client(base_url=emulator.openai_base_url) as client:
        answer = client.post(
            f"/threads/{thread}/runs", json={"assistant_id": assistant, "stream": True}
        )
        answer.raise_for_status()
        return answer.content


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compressed_stream_decodes(connect: Connect, emulator: Emulator, encoding: str) -> None:
    events = recorded_stream(emulator)
    answer = http_response(200, compressed(encoding, events), (SSE, ("content-encoding", encoding)))
    with serving(lambda n: answer) as (server, _):
        runs = connect(emulator, base_url=url(server.port), retry=ONCE)
        with no_leaks(runs):
            got = [e.status_raw for e in runs.create_stream("asst_1", "thread_1")]
            runs.close()
    assert got[0] == "thread.run.created"
    assert got[-1] == "done"


# --------------------------------------------------------------------------- statuses


@pytest.mark.parametrize("status", [300, 301, 302, 303, 307, 308])
@pytest.mark.parametrize("with_body", [True, False], ids=["run-body", "no-body"])
def test_a_redirect_is_an_api_error_naming_only_the_host(
    connect: Connect, emulator: Emulator, status: int, with_body: bool
) -> None:
    """A redirect whose body was a run came back as that run; one without a body was a
    DecodeError. It is an ApiError naming the status and the host (not the path or query, which
    may carry a token); it is not followed and not retried."""
    body, thread = run_body(emulator) if with_body else (b"", "thread_1")
    with Server(http_answers(lambda *_: _never())) as elsewhere:
        location = f"http://127.0.0.1:{elsewhere.port}/v1/runs?token=tok_SECRET#frag"
        answer = http_response(status, body, (JSON, ("location", location)))
        with serving(lambda n: answer) as (server, recorder):
            runs = connect(emulator, base_url=url(server.port), retry=ONCE)
            with no_leaks(runs):
                with pytest.raises(ApiError) as caught:
                    runs.get("run_1", thread_id=thread)
                runs.close()
        assert elsewhere.accepted == 0
    assert caught.value.status_code == status
    assert "redirect to host 127.0.0.1 (not followed)" in caught.value.message
    assert "tok_SECRET" not in str(caught.value)
    assert str(elsewhere.port) not in str(caught.value)
    assert len(recorder.heads) == 1


async def _never() -> bytes:
    raise AssertionError("a redirect was followed")


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("/v1/elsewhere", "redirect to host 127.0.0.1"),
        ("//other.example:8443/x", "redirect to host other.example"),
        ("https://[::1]:1/x", "redirect to host ::1"),
        (None, "redirect without a location"),
        ("http://[bad", "redirect to an unreadable location"),
        ("http://:80/x", "redirect to an unreadable location"),
    ],
)
def test_a_redirect_names_the_host_it_points_to_or_says_why_it_cannot(
    connect: Connect, emulator: Emulator, location: str | None, shown: str
) -> None:
    headers = () if location is None else (("location", location),)
    answer = http_response(302, b"", headers)
    with serving(lambda n: answer) as (server, _):
        runs = connect(emulator, base_url=url(server.port), retry=ONCE)
        with no_leaks(runs):
            with pytest.raises(ApiError) as caught:
                runs.get("run_1", thread_id="thread_1")
            runs.close()
    assert caught.value.status_code == 302
    assert shown in caught.value.message


@pytest.mark.parametrize("status", [204, 205, 206, 207, 226, 299, 304])
@pytest.mark.parametrize("with_body", [True, False], ids=["run-body", "no-body"])
def test_a_status_that_is_neither_an_answer_nor_an_error_is_an_api_error(
    connect: Connect, emulator: Emulator, status: int, with_body: bool
) -> None:
    """204 and 304 have no body by definition (one sent anyway is not read as the answer, nor as
    the next response on the connection); 206 is a part; the rest are not the API's."""
    body, thread = run_body(emulator) if with_body else (b"", "thread_1")
    answers = [http_response(status, body, (JSON,)), http_response(200, run_body(emulator)[0])]
    with serving(lambda n: answers[min(n, 2) - 1]) as (server, recorder):
        runs = connect(emulator, base_url=url(server.port), retry=ONCE)
        with no_leaks(runs):
            with pytest.raises(ApiError) as caught:
                runs.get("run_1", thread_id=thread)
            assert runs.get("run_1", thread_id=thread).id  # a sound 200 next, on a sound connection
            runs.close()
    assert caught.value.status_code == status
    assert "not an answer runbind expects" in caught.value.message
    assert len(recorder.heads) == 2  # not retried


@pytest.mark.parametrize("status", [200, 201, 202, 203])
def test_a_success_status_with_a_run_is_the_run(
    connect: Connect, emulator: Emulator, status: int
) -> None:
    body, thread = run_body(emulator)
    answer = http_response(status, body, (JSON,))
    with serving(lambda n: answer) as (server, _):
        runs = connect(emulator, base_url=url(server.port), retry=ONCE)
        with no_leaks(runs):
            assert runs.get("run_1", thread_id=thread).thread_id == thread
            runs.close()


def test_informational_answers_before_the_answer_are_skipped(
    connect: Connect, emulator: Emulator
) -> None:
    body, thread = run_body(emulator)
    early = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n"
    answer = early + http_response(200, body, (JSON,))
    with serving(lambda n: answer) as (server, _):
        runs = connect(emulator, base_url=url(server.port), retry=ONCE)
        with no_leaks(runs):
            assert runs.get("run_1", thread_id=thread).thread_id == thread
            runs.close()


def test_switching_protocols_is_a_typed_error(connect: Connect, emulator: Emulator) -> None:
    body, thread = run_body(emulator)
    answer = b"HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\nconnection: upgrade\r\n\r\n" + body
    with serving(lambda n: answer) as (server, _):
        runs = connect(emulator, base_url=url(server.port), retry=ONCE)
        with no_leaks(runs), pytest.raises(ApiError) as caught:
            runs.get("run_1", thread_id=thread)
    assert caught.value.code == "connection_error"


@pytest.mark.parametrize(
    ("status", "headers"),
    [(302, (("location", "https://elsewhere.example/v1"),)), (204, ()), (304, ())],
)
def test_a_stream_answered_with_an_odd_status_is_an_api_error(
    connect: Connect, emulator: Emulator, status: int, headers: tuple[tuple[str, str], ...]
) -> None:
    events = recorded_stream(emulator)
    answer = http_response(status, events, (SSE, *headers))
    with serving(lambda n: answer) as (server, recorder):
        runs = connect(emulator, base_url=url(server.port), retry=ONCE)
        with no_leaks(runs):
            with pytest.raises(ApiError) as caught:
                list(runs.create_stream("asst_1", "thread_1"))
            runs.close()
    assert caught.value.status_code == status
    assert len(recorder.heads) == 1
