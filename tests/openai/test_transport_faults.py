"""OpenAI clients against transport faults scripted on the wire: refused connections, resets,
stalls, slow drips, TLS mistakes and 429/503 storms, each in a typed error or a retry that ends
within the caller's deadline, with no task, thread, descriptor or socket left behind."""

from __future__ import annotations

import asyncio
import itertools
import json
import ssl
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager

import httpx
import pytest

from runbind import ApiError, RetryPolicy, RunStatus, RunStreamEvent, RunTimeoutError
from runbind.emulator import Emulator
from runbind.openai import AsyncRuns
from tests import _leaks as leaks
from tests._flavours import AsyncFlavour, Connect, Flavour, Stream
from tests._misbehaving import (
    Plan,
    Proxy,
    Server,
    closed_port,
    http_answers,
    http_response,
    silent,
    tls_contexts,
)

from .conftest import make
from .test_faults import EVENTS, SCRIPT, TEXT, key, problems

# Wall-clock bounds on retries, backoff and load: timed without the coverage tracer.
pytestmark = [pytest.mark.usefixtures("no_coverage"), pytest.mark.serial]

FAST = RetryPolicy(attempts=5, initial=0.01, maximum=0.05)
SSE_END = b"\n\n"  # the blank line that ends each server-sent event


def no_leaks(runs: Flavour) -> AbstractContextManager[None]:
    """The block leaves no more threads, tasks, descriptors nor sockets than it found."""
    return leaks.no_leaks(runs.runner if isinstance(runs, AsyncFlavour) else None)


def url(port: int, scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{port}/v1"


@pytest.fixture(scope="module")
def proxy(emulator: Emulator) -> Iterator[tuple[Proxy, Server]]:
    """A fault proxy in front of the module's emulator."""
    forward = Proxy(emulator.http_port)
    with Server(forward) as server:
        yield forward, server


@pytest.fixture(autouse=True)
def _no_faults_left(emulator: Emulator) -> Iterator[None]:
    emulator.faults.clear()
    yield
    emulator.faults.clear()


def elapsed_since(started: float) -> float:
    return time.monotonic() - started


def attempt(runs: Flavour, call: str, timeout: float) -> object:
    """``call`` on made-up ids (a stream drained): what the client does before any answer."""
    if call == "get":
        return runs.get("run_1", thread_id="thread_1", timeout=timeout)
    if call == "wait":
        return runs.wait("run_1", thread_id="thread_1", timeout=timeout)
    if call == "listen":
        return list(runs.listen("run_1", thread_id="thread_1", timeout=timeout))
    return list(runs.create_stream("asst_1", "thread_1", timeout=timeout))


def collect(stream: Stream, into: list[RunStreamEvent]) -> None:
    """Drain ``stream`` into ``into`` (which keeps what came before an error)."""
    into.extend(stream)


# --------------------------------------------------------------------------- refused


@pytest.mark.parametrize("call", ["get", "wait", "listen", "create_stream"])
def test_connection_refused_is_a_connection_error_well_within_the_deadline(
    connect: Connect, emulator: Emulator, call: str
) -> None:
    runs = connect(emulator, base_url=url(closed_port()), retry=FAST)
    started = time.monotonic()
    with no_leaks(runs), pytest.raises(ApiError) as caught:
        attempt(runs, call, timeout=5)
    assert caught.value.code == "connection_error"
    assert elapsed_since(started) < 2.0


def test_connection_refused_with_retries_to_spare_ends_at_the_deadline(
    connect: Connect, emulator: Emulator
) -> None:
    runs = connect(emulator, base_url=url(closed_port()), retry=RetryPolicy(1000, 0.01, 0.05))
    started = time.monotonic()
    with no_leaks(runs), pytest.raises((ApiError, RunTimeoutError)) as caught:
        runs.get("run_1", thread_id="thread_1", timeout=0.5)
    assert not isinstance(caught.value, ApiError) or caught.value.code == "connection_error"
    assert 0.4 <= elapsed_since(started) < 0.8


# --------------------------------------------------------------------------- resets


@pytest.mark.parametrize("events", [1, 3, 8, EVENTS - 1])
def test_a_stream_reset_after_some_events_goes_on_by_polling_without_loss(
    connect: Connect, emulator: Emulator, proxy: tuple[Proxy, Server], events: int
) -> None:
    forward, server = proxy
    assistant, thread = make(emulator, SCRIPT, TEXT)
    undisturbed = [key(e) for e in connect(emulator).create_stream(assistant, thread)]
    runs = connect(emulator, base_url=url(server.port), retry=FAST)
    opened = len(forward.answered)
    with no_leaks(runs):
        forward.plan(Plan("reset", count=events, marker=SSE_END))
        stream = runs.create_stream(assistant, thread)
        got = list(stream)
        runs.close()
    assert problems(got, undisturbed, events, TEXT) == []
    assert stream.run is not None
    assert stream.run.status is RunStatus.COMPLETED
    assert len(forward.answered) - opened >= 2  # the reset stream, then the polls


def test_a_stream_reset_before_its_first_byte_is_a_connection_error_and_one_run(
    connect: Connect, emulator: Emulator, proxy: tuple[Proxy, Server]
) -> None:
    forward, server = proxy
    assistant, thread = make(emulator, SCRIPT, TEXT)
    runs = connect(emulator, base_url=url(server.port), retry=FAST)
    forward.plan(Plan("reset", count=0))
    with no_leaks(runs), pytest.raises(ApiError) as caught:
        list(runs.create_stream(assistant, thread))
    assert caught.value.code == "connection_error"
    assert len(emulator.openai_store.runs_of(thread)) == 1  # a streaming create is not retried


@pytest.mark.parametrize("at", [0, 20, 200])
def test_a_read_reset_mid_answer_is_retried_on_a_new_connection(
    connect: Connect, emulator: Emulator, proxy: tuple[Proxy, Server], at: int
) -> None:
    forward, server = proxy
    assistant, thread = make(emulator)
    run = connect(emulator).create(assistant, thread)
    runs = connect(emulator, base_url=url(server.port), retry=FAST)
    opened = len(forward.answered)
    with no_leaks(runs):
        forward.plan(Plan("reset", count=at))
        assert runs.get(run).id == run.id
        runs.close()
    assert forward.answered[opened] == at  # cut exactly there (0: before the status line)
    assert len(forward.answered) - opened == 2


# --------------------------------------------------------------------------- stalls


@pytest.mark.parametrize("call", ["get", "wait", "create_stream"])
def test_a_server_that_never_answers_ends_at_the_deadline(
    connect: Connect, emulator: Emulator, call: str
) -> None:
    with Server(silent) as server:
        runs = connect(emulator, base_url=url(server.port), retry=FAST)
        started = time.monotonic()
        with no_leaks(runs), pytest.raises(RunTimeoutError):
            attempt(runs, call, timeout=0.5)
        assert 0.45 <= elapsed_since(started) < 1.0
        assert server.accepted == 1


def test_headers_then_a_stalled_body_end_at_the_deadline(
    connect: Connect, emulator: Emulator
) -> None:
    async def answer(method: str, path: str, body: bytes) -> bytes:
        head = http_response(200, b"", (("content-type", "application/json"),))
        return head.replace(b"content-length: 0", b"content-length: 100") + b'{"id": "ru'

    with Server(http_answers(answer)) as server:
        runs = connect(emulator, base_url=url(server.port), retry=FAST)
        started = time.monotonic()
        with no_leaks(runs), pytest.raises(RunTimeoutError):
            runs.get("run_1", thread_id="thread_1", timeout=0.5)
        assert 0.45 <= elapsed_since(started) < 1.0


def test_a_stream_stalled_after_two_events_ends_at_the_deadline(
    connect: Connect, emulator: Emulator, proxy: tuple[Proxy, Server]
) -> None:
    forward, server = proxy
    assistant, thread = make(emulator, SCRIPT, TEXT)
    runs = connect(emulator, base_url=url(server.port), retry=FAST)
    got: list[RunStreamEvent] = []
    forward.plan(Plan("stall", count=2, marker=SSE_END))
    started = time.monotonic()
    with no_leaks(runs), pytest.raises(RunTimeoutError):
        collect(runs.create_stream(assistant, thread, timeout=0.6), got)
    assert 0.55 <= elapsed_since(started) < 1.1
    assert [e.status_raw for e in got] == ["thread.run.created", "thread.run.queued"]


# --------------------------------------------------------------------------- slow drip


def test_a_stream_dripping_inside_every_read_timeout_still_ends_at_the_deadline(
    connect: Connect, emulator: Emulator, proxy: tuple[Proxy, Server]
) -> None:
    forward, server = proxy
    assistant, thread = make(emulator, SCRIPT, TEXT)
    runs = connect(emulator, base_url=url(server.port), retry=FAST)
    got: list[RunStreamEvent] = []
    forward.plan(Plan(drip=(64, 0.02)))  # the whole stream would take over 2 s
    started = time.monotonic()
    with no_leaks(runs), pytest.raises(RunTimeoutError):
        collect(runs.create_stream(assistant, thread, timeout=1.0), got)
    assert 0.95 <= elapsed_since(started) < 1.5
    assert 0 < len(got) < EVENTS  # bytes kept coming (no read waited long), but not all of them


def test_a_body_dripping_inside_every_read_timeout_still_ends_at_the_deadline(
    connect: Connect, emulator: Emulator, proxy: tuple[Proxy, Server]
) -> None:
    forward, server = proxy
    assistant, thread = make(emulator)
    run = connect(emulator).create(assistant, thread)
    runs = connect(emulator, base_url=url(server.port), retry=FAST)
    opened = len(forward.answered)
    forward.plan(Plan(drip=(8, 0.05)))  # about 8 s for the run object
    started = time.monotonic()
    with no_leaks(runs), pytest.raises(RunTimeoutError):
        runs.get(run, timeout=1.0)
    assert 0.95 <= elapsed_since(started) < 1.5
    assert 100 < forward.answered[opened] < 400  # it was dripping when the deadline came


def test_a_slow_stream_within_the_deadline_arrives_whole(
    connect: Connect, emulator: Emulator, proxy: tuple[Proxy, Server]
) -> None:
    forward, server = proxy
    assistant, thread = make(emulator, SCRIPT, TEXT)
    undisturbed = [key(e) for e in connect(emulator).create_stream(assistant, thread)]
    runs = connect(emulator, base_url=url(server.port), retry=FAST)
    with no_leaks(runs):
        forward.plan(Plan(drip=(200, 0.01)))
        got = [key(e) for e in runs.create_stream(assistant, thread, timeout=10)]
        runs.close()
    assert got == undisturbed


# --------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def tls_proxy(emulator: Emulator) -> Iterator[tuple[Server, ssl.SSLContext]]:
    """A TLS front (self-signed CA made now) to the module's emulator, and a client context
    that trusts its CA."""
    server_context, client_context = tls_contexts("http/1.1")
    with Server(Proxy(emulator.http_port), tls=server_context) as server:
        yield server, client_context


def test_a_self_signed_certificate_is_refused_by_default_and_not_retried(
    connect: Connect, emulator: Emulator, tls_proxy: tuple[Server, ssl.SSLContext]
) -> None:
    server, _ = tls_proxy
    runs = connect(emulator, base_url=url(server.port, "https"), retry=FAST)
    accepted = server.accepted
    with no_leaks(runs), pytest.raises(ApiError) as caught:
        runs.get("run_1", thread_id="thread_1")
    assert caught.value.code == "connection_error"
    assert "TLS certificate verification failed" in caught.value.message
    assert server.accepted == accepted + 1  # one handshake: a retry cannot fix a certificate


def test_a_context_trusting_the_ca_reaches_the_server_over_tls(
    connect: Connect, emulator: Emulator, tls_proxy: tuple[Server, ssl.SSLContext]
) -> None:
    server, context = tls_proxy
    assistant, thread = make(emulator)
    runs = connect(emulator, base_url=url(server.port, "https"), verify=context, retry=FAST)
    with no_leaks(runs):
        run = runs.create(assistant, thread)
        assert runs.wait(run).status is RunStatus.COMPLETED
        runs.close()


def test_plain_http_to_a_tls_server_is_a_connection_error(
    connect: Connect, emulator: Emulator, tls_proxy: tuple[Server, ssl.SSLContext]
) -> None:
    server, _ = tls_proxy
    runs = connect(emulator, base_url=url(server.port), retry=FAST)
    with no_leaks(runs), pytest.raises(ApiError) as caught:
        runs.get("run_1", thread_id="thread_1")
    assert caught.value.code == "connection_error"


def test_tls_to_a_plain_http_server_is_a_tls_error(connect: Connect, emulator: Emulator) -> None:
    runs = connect(emulator, base_url=url(emulator.http_port, "https"), retry=FAST)
    with no_leaks(runs), pytest.raises(ApiError) as caught:
        runs.get("run_1", thread_id="thread_1")
    assert caught.value.code == "connection_error"
    assert "TLS failed" in caught.value.message


# --------------------------------------------------------------------------- storms

CALLS = 50


class Storm:
    """A raw server answering every path ``status`` (with ``headers``) ``failures`` times, then
    ``body`` with 200; it records when each path was asked."""

    def __init__(
        self, failures: int, status: int, headers: tuple[tuple[str, str], ...], body: bytes
    ) -> None:
        self.failures = failures
        self.status = status
        self.headers = headers
        self.body = body
        self.asked: dict[str, list[float]] = {}

    async def answer(self, method: str, path: str, body: bytes) -> bytes:
        times = self.asked.setdefault(path, [])
        times.append(time.monotonic())
        if len(times) <= self.failures:
            error = json.dumps({"error": {"message": "slow down", "type": "rate_limit"}})
            return http_response(self.status, error.encode(), self.headers)
        return http_response(200, self.body, (("content-type", "application/json"),))


def run_body(emulator: Emulator) -> tuple[bytes, str]:
    """A real run object's JSON (and its thread), made on the emulator."""
    assistant, thread = make(emulator)
    with httpx.Client(base_url=emulator.openai_base_url) as client:
        made = client.post(f"/threads/{thread}/runs", json={"assistant_id": assistant})
        made.raise_for_status()
        return made.content, thread


async def storm_of_gets(
    port: int, thread: str, policy: RetryPolicy, timeout: float
) -> tuple[list[object], float, int]:
    """``CALLS`` concurrent gets (run ids ``r0``...): their outcomes, the time, tasks after."""
    async with AsyncRuns(base_url=url(port), retry=policy) as runs:
        started = time.monotonic()
        outcomes = await asyncio.gather(
            *(runs.get(f"r{i}", thread_id=thread, timeout=timeout) for i in range(CALLS)),
            return_exceptions=True,
        )
        took = time.monotonic() - started
    await asyncio.sleep(0.05)
    return list(outcomes), took, len(asyncio.all_tasks()) - 1


def test_a_429_storm_with_retry_after_is_ridden_out_by_every_call(emulator: Emulator) -> None:
    body, thread = run_body(emulator)
    storm = Storm(3, 429, (("retry-after-ms", "200"),), body)
    with Server(http_answers(storm.answer)) as server, leaks.no_leaks(None):
        outcomes, took, tasks = asyncio.run(
            storm_of_gets(server.port, thread, RetryPolicy(5, 0.01, 0.05), timeout=10)
        )
    assert [type(o).__name__ for o in outcomes] == ["Run"] * CALLS
    assert tasks == 0
    assert sorted(len(t) for t in storm.asked.values()) == [4] * CALLS  # 3 refusals, then yes
    gaps = [b - a for times in storm.asked.values() for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.19, min(gaps)  # Retry-After honoured (the policy alone: <= 0.05 s)
    assert 0.6 <= took < 5.0


def test_a_503_storm_backs_off_exponentially(emulator: Emulator) -> None:
    body, thread = run_body(emulator)
    storm = Storm(4, 503, (), body)
    policy = RetryPolicy(6, initial=0.04, maximum=1.0, multiplier=2.0)
    with Server(http_answers(storm.answer)) as server, leaks.no_leaks(None):
        outcomes, _, _ = asyncio.run(storm_of_gets(server.port, thread, policy, timeout=10))
    assert [type(o).__name__ for o in outcomes] == ["Run"] * CALLS
    floors = [policy.initial * policy.multiplier**n / 2 for n in range(4)]  # full jitter's floor
    for path, times in storm.asked.items():
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert len(gaps) == 4, path
        assert all(gap >= floor for gap, floor in zip(gaps, floors, strict=True)), (path, gaps)


def test_a_429_storm_outlasting_the_deadline_fails_every_call_typed_in_time(
    emulator: Emulator,
) -> None:
    body, thread = run_body(emulator)
    storm = Storm(10_000, 429, (("retry-after-ms", "200"),), body)
    with Server(http_answers(storm.answer)) as server, leaks.no_leaks(None):
        outcomes, took, tasks = asyncio.run(
            storm_of_gets(server.port, thread, RetryPolicy(100, 0.01, 0.05), timeout=1.0)
        )
    # The 429 itself when the next Retry-After does not fit; RunTimeoutError when one that did
    # fit leaves no time for the try after it.
    assert all(isinstance(o, ApiError | RunTimeoutError) for o in outcomes), outcomes
    assert all(o.status_code == 429 for o in outcomes if isinstance(o, ApiError)), outcomes
    assert tasks == 0
    assert took < 1.5
    assert len(storm.asked) == CALLS
    assert max(len(t) for t in storm.asked.values()) <= 6  # 1 s holds 5 waits of 200 ms at most
    gaps = [b - a for times in storm.asked.values() for a, b in itertools.pairwise(times)]
    assert gaps  # some calls were retried,
    assert min(gaps) >= 0.19, min(gaps)  # never sooner than the server asked
