"""Yandex clients against transport faults scripted on the wire: refused connections, resets
mid-stream, stalls, slow drips, broken HTTP/2, TLS mistakes and UNAVAILABLE storms, each in a
typed error or a retry that ends within the caller's deadline, with no task, thread, descriptor
or socket left behind."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager

import h2.config
import h2.connection
import h2.errors
import h2.events
import pytest

from runbind import (
    ApiError,
    DecodeError,
    RetryPolicy,
    Run,
    RunStatus,
    RunStreamEvent,
    RunTimeoutError,
)
from runbind.emulator import Emulator
from runbind.yandex import AsyncRuns
from tests import _leaks as leaks
from tests._flavours import AsyncFlavour, Connect, Flavour, Stream
from tests._misbehaving import (
    GRPC_HEADERS,
    H2Act,
    Plan,
    Proxy,
    Server,
    closed_port,
    h2_every,
    h2_script,
    silent,
    tls_contexts,
)

from .conftest import make, make_many
from .test_faults import EVENTS, SCRIPT, TEXT, Key, key, keys

# Wall-clock bounds on retries, backoff and load: timed without the coverage tracer.
pytestmark = [pytest.mark.usefixtures("no_coverage"), pytest.mark.serial]

FAST = RetryPolicy(attempts=5, initial=0.01, maximum=0.05)


def no_leaks(runs: Flavour) -> AbstractContextManager[None]:
    """The block leaves no more threads, tasks, descriptors nor sockets than it found."""
    return leaks.no_leaks(runs.runner if isinstance(runs, AsyncFlavour) else None)


def endpoint(port: int) -> str:
    return f"127.0.0.1:{port}"


def elapsed_since(started: float) -> float:
    return time.monotonic() - started


def attempt(runs: Flavour, call: str, timeout: float) -> object:
    """``call`` on made-up ids (a stream drained): what the client does before any answer."""
    if call == "get":
        return runs.get("fvtrun0", timeout=timeout)
    if call == "wait":
        return runs.wait("fvtrun0", timeout=timeout)
    if call == "listen":
        return list(runs.listen("fvtrun0", timeout=timeout))
    return list(runs.create_stream("fvtasst0", "fvtthread0", timeout=timeout))


def collect(stream: Stream, into: list[RunStreamEvent]) -> None:
    """Drain ``stream`` into ``into`` (which keeps what came before an error)."""
    into.extend(stream)


@pytest.fixture(autouse=True)
def _no_faults_left(emulator: Emulator) -> Iterator[None]:
    emulator.faults.clear()
    yield
    emulator.faults.clear()


@pytest.fixture(scope="module")
def proxy(emulator: Emulator) -> Iterator[tuple[Proxy, Server]]:
    """A fault proxy in front of the module's emulator's gRPC port."""
    forward = Proxy(emulator.grpc_port)
    with Server(forward) as server:
        yield forward, server


@pytest.fixture(scope="module")
def finished(emulator: Emulator) -> tuple[Run, list[Key]]:
    """A run of :data:`SCRIPT` that has finished, and its undisturbed events."""
    assistant, thread = make(emulator, SCRIPT, TEXT)

    async def scenario() -> tuple[Run, list[Key]]:
        async with AsyncRuns(endpoint=emulator.grpc_target) as runs:
            stream = await runs.create(assistant, thread, stream=True, timeout=10)
            got = [key(e) async for e in stream]
            assert stream.run is not None
            return stream.run, got

    run, undisturbed = asyncio.run(scenario())
    assert len(undisturbed) == EVENTS
    return run, undisturbed


# --------------------------------------------------------------------------- refused


@pytest.mark.parametrize("call", ["wait", "listen", "create_stream"])
def test_connection_refused_is_unavailable_well_within_the_deadline(
    connect: Connect, emulator: Emulator, call: str
) -> None:
    runs = connect(emulator, endpoint=endpoint(closed_port()), retry=FAST)
    started = time.monotonic()
    with no_leaks(runs), pytest.raises(ApiError) as caught:
        attempt(runs, call, timeout=5)
    assert caught.value.code == "UNAVAILABLE"
    assert elapsed_since(started) < 2.0


# --------------------------------------------------------------------------- resets


@pytest.mark.parametrize("share", [0.0, 0.2, 0.5, 0.8])
def test_a_listen_reset_mid_stream_resumes_without_loss_or_repeats(
    connect: Connect,
    emulator: Emulator,
    proxy: tuple[Proxy, Server],
    finished: tuple[Run, list[Key]],
    share: float,
) -> None:
    forward, server = proxy
    run, undisturbed = finished
    assert keys(connect(emulator, endpoint=endpoint(server.port)).listen(run)) == undisturbed
    whole = forward.answered[-1]  # bytes of a connection that only listens
    runs = connect(emulator, endpoint=endpoint(server.port), retry=FAST)
    opened = len(forward.answered)
    cut = int(whole * share)
    forward.plan(Plan("reset", count=cut))
    with no_leaks(runs):
        got = keys(runs.listen(run))
        runs.close()
    assert got == undisturbed
    assert forward.answered[opened] == cut  # the first connection was cut right there
    assert len(forward.answered) - opened == 2  # and the listen went on on a second one


def test_resets_beyond_the_retry_budget_end_in_unavailable(
    connect: Connect,
    emulator: Emulator,
    proxy: tuple[Proxy, Server],
    finished: tuple[Run, list[Key]],
) -> None:
    forward, server = proxy
    run, _ = finished
    runs = connect(emulator, endpoint=endpoint(server.port), retry=FAST)
    forward.plan(*[Plan("reset", count=40)] * FAST.attempts)
    opened = len(forward.answered)
    with no_leaks(runs), pytest.raises(ApiError) as caught:
        list(runs.listen(run))
    assert caught.value.code == "UNAVAILABLE"
    assert len(forward.answered) - opened == FAST.attempts


# --------------------------------------------------------------------------- stalls


@pytest.mark.parametrize("call", ["get", "wait", "listen", "create_stream"])
def test_a_server_that_never_answers_ends_at_the_deadline(
    connect: Connect, emulator: Emulator, call: str
) -> None:
    with Server(silent) as server:
        ends_at_the_deadline(connect(emulator, endpoint=endpoint(server.port), retry=FAST), call)
        assert server.accepted == 1


def ends_at_the_deadline(runs: Flavour, call: str) -> None:
    """``call`` raises RunTimeoutError at its 0.5 s deadline, not before, and leaks nothing."""
    started = time.monotonic()
    with no_leaks(runs):
        with pytest.raises(RunTimeoutError):
            attempt(runs, call, timeout=0.5)
        took = elapsed_since(started)
        runs.close()  # the channel keeps its connection for the next call until closed
    assert 0.45 <= took < 1.0


async def headers_then_stall(
    connection: h2.connection.H2Connection, stream_id: int, writer: asyncio.StreamWriter
) -> None:
    connection.send_headers(stream_id, GRPC_HEADERS)
    writer.write(connection.data_to_send())  # and then nothing, until the client leaves


@pytest.mark.parametrize("call", ["get", "listen"])
def test_headers_then_a_stalled_body_end_at_the_deadline(
    connect: Connect, emulator: Emulator, call: str
) -> None:
    with Server(h2_script(headers_then_stall, hold=True)) as server:
        ends_at_the_deadline(connect(emulator, endpoint=endpoint(server.port), retry=FAST), call)


# --------------------------------------------------------------------------- slow drip


def test_a_listen_dripping_inside_the_deadline_arrives_whole(
    connect: Connect,
    emulator: Emulator,
    proxy: tuple[Proxy, Server],
    finished: tuple[Run, list[Key]],
) -> None:
    forward, server = proxy
    run, undisturbed = finished
    runs = connect(emulator, endpoint=endpoint(server.port), retry=FAST)
    forward.plan(Plan(drip=(32, 0.01)))
    with no_leaks(runs):
        got = keys(runs.listen(run, timeout=10))
        runs.close()
    assert got == undisturbed


def test_a_listen_dripping_past_the_deadline_ends_at_it(
    connect: Connect,
    emulator: Emulator,
    proxy: tuple[Proxy, Server],
    finished: tuple[Run, list[Key]],
) -> None:
    forward, server = proxy
    run, _ = finished
    runs = connect(emulator, endpoint=endpoint(server.port), retry=FAST)
    opened = len(forward.answered)
    got: list[RunStreamEvent] = []
    forward.plan(Plan(drip=(8, 0.05)))  # the listen's bytes would take about 2 s
    started = time.monotonic()
    with no_leaks(runs):
        with pytest.raises(RunTimeoutError):
            collect(runs.listen(run, timeout=1.0), got)
        took = elapsed_since(started)
        runs.close()
    assert 0.95 <= took < 1.5
    assert len(got) < EVENTS
    assert forward.answered[opened] >= 100  # bytes kept coming until the deadline


# --------------------------------------------------------------------------- broken HTTP/2


async def truncated_frame(
    connection: h2.connection.H2Connection, stream_id: int, writer: asyncio.StreamWriter
) -> None:
    connection.send_headers(stream_id, GRPC_HEADERS)
    writer.write(connection.data_to_send())
    # A DATA frame header announcing 16 KiB on the stream, then 3 bytes and the end.
    writer.write(b"\x00\x40\x00\x00\x00" + stream_id.to_bytes(4, "big") + b"abc")


async def garbage(
    connection: h2.connection.H2Connection, stream_id: int, writer: asyncio.StreamWriter
) -> None:
    writer.write(b"\xff" * 64)


async def goaway(
    connection: h2.connection.H2Connection, stream_id: int, writer: asyncio.StreamWriter
) -> None:
    connection.close_connection()
    writer.write(connection.data_to_send())


async def reset_stream(
    connection: h2.connection.H2Connection, stream_id: int, writer: asyncio.StreamWriter
) -> None:
    connection.reset_stream(stream_id)
    writer.write(connection.data_to_send())
    await writer.drain()
    await asyncio.sleep(0.05)


async def cut_message(
    connection: h2.connection.H2Connection, stream_id: int, writer: asyncio.StreamWriter
) -> None:
    connection.send_headers(stream_id, GRPC_HEADERS)
    # A gRPC message announcing 100 bytes, 10 sent, then the stream ends.
    connection.send_data(stream_id, b"\x00\x00\x00\x00\x64" + b"\x0a" * 10, end_stream=True)
    writer.write(connection.data_to_send())


async def huge_message(
    connection: h2.connection.H2Connection, stream_id: int, writer: asyncio.StreamWriter
) -> None:
    connection.send_headers(stream_id, GRPC_HEADERS)
    # A gRPC message announcing 4 GiB - 1, then as much of it as flow control lets through.
    connection.send_data(stream_id, b"\x00\xff\xff\xff\xff")
    window = connection.local_flow_control_window(stream_id)
    while window > 0:
        chunk = min(window, connection.max_outbound_frame_size)
        connection.send_data(stream_id, b"\x0a" * chunk)
        window -= chunk
    writer.write(connection.data_to_send())


def test_a_length_prefix_over_the_limit_is_refused_before_the_message_is_read(
    connect: Connect, emulator: Emulator
) -> None:
    """grpclib would buffer (and acknowledge) the whole announced message before the codec's
    size check; the client refuses it from its 5-byte prefix, at once and without retrying."""
    with Server(h2_script(huge_message, hold=True)) as server:
        runs = connect(emulator, endpoint=endpoint(server.port), retry=FAST, max_message_size=1024)
        started = time.monotonic()
        with no_leaks(runs):
            with pytest.raises(DecodeError) as caught:
                runs.get("fvtrun0", timeout=5)
            assert elapsed_since(started) < 2.0
            runs.close()  # the connection is sound and pooled; closing it is not the test
        assert "4294967295 bytes exceed the limit 1024" in str(caught.value)
        assert server.accepted == 1


SCRIPTS: dict[str, H2Act] = {
    "truncated frame": truncated_frame,
    "garbage": garbage,
    "goaway": goaway,
    "rst_stream": reset_stream,
    "cut message": cut_message,
}


@pytest.mark.parametrize("call", ["get", "listen"])
@pytest.mark.parametrize("script", SCRIPTS)
def test_broken_http2_ends_in_a_typed_error_without_hanging(
    connect: Connect, emulator: Emulator, script: str, call: str
) -> None:
    with Server(h2_script(SCRIPTS[script])) as server:
        runs = connect(emulator, endpoint=endpoint(server.port), retry=FAST)
        started = time.monotonic()
        with no_leaks(runs):
            with pytest.raises(ApiError) as caught:
                attempt(runs, call, timeout=5)
            took = elapsed_since(started)
            # The channel keeps its connection until closed: a server that closes it after the
            # error leaves it in CLOSE_WAIT until the caller's loop runs again.
            runs.close()
        assert took < 2.0
        assert caught.value.code in ("UNAVAILABLE", "INTERNAL"), caught.value
        assert 1 <= server.accepted <= FAST.attempts


async def compressed_message(
    connection: h2.connection.H2Connection, stream_id: int, writer: asyncio.StreamWriter
) -> None:
    connection.send_headers(stream_id, GRPC_HEADERS)
    # A gRPC message with the compressed flag set, though the call asked for no compression.
    connection.send_data(stream_id, b"\x01\x00\x00\x00\x02\x0a\x00")
    connection.send_headers(stream_id, (("grpc-status", "0"),), end_stream=True)
    writer.write(connection.data_to_send())


@pytest.mark.parametrize("call", ["get", "listen"])
def test_a_compressed_message_nobody_asked_for_is_a_decode_error(
    connect: Connect, emulator: Emulator, call: str
) -> None:
    """grpclib raised a bare ``NotImplementedError`` for it, which escaped the clients."""
    with Server(h2_script(compressed_message, hold=True)) as server:
        runs = connect(emulator, endpoint=endpoint(server.port), retry=FAST)
        with no_leaks(runs):
            with pytest.raises(DecodeError) as caught:
                attempt(runs, call, timeout=5)
            runs.close()
        assert "compressed flag 1" in str(caught.value)
        assert server.accepted == 1


# --------------------------------------------------------------------------- refused streams


def test_many_creates_at_once_on_a_new_connection_keep_to_the_servers_stream_limit(
    emulator: Emulator, proxy: tuple[Proxy, Server]
) -> None:
    """150 creates start together on a new connection whose server settings come late (a
    loaded machine). Sent at once, the 101st stream broke the server's limit of 100 and h2 closed
    the whole connection (every create failed, some after the run was made); the client waits
    for the settings and queues the calls past the limit instead: one connection, each run made
    exactly once."""
    forward, server = proxy
    count = 150
    assistant, threads = make_many(emulator, "echo chunks=1", count, folder="refused")
    forward.plan(Plan(delay=0.3))
    accepted = server.accepted

    async def scenario() -> list[Run]:
        async with AsyncRuns(endpoint=endpoint(server.port), retry=FAST) as runs:
            made = [runs.create(assistant, thread, timeout=10) for thread in threads]
            return list(await asyncio.gather(*made))

    made = asyncio.run(scenario())
    assert [run.thread_id for run in made] == threads
    created = [run for run in emulator.yandex_store.runs.values() if run.assistant_id == assistant]
    assert sorted(run.id for run in created) == sorted(run.id for run in made)
    assert len(created) == count
    assert server.accepted == accepted + 1


async def refuse(
    connection: h2.connection.H2Connection, stream_id: int, writer: asyncio.StreamWriter
) -> None:
    """Refuse the stream unprocessed (as a server over its stream limit does), keeping the
    connection."""
    connection.reset_stream(stream_id, error_code=h2.errors.ErrorCodes.REFUSED_STREAM)


def send(runs: Flavour, call: str) -> Run:
    """A ``create`` or a ``submit`` of one tool result: the calls that are not idempotent."""
    if call == "create":
        return runs.create("fvtasst0", "fvtthread0", timeout=5)
    return runs.submit("fvtrun0", [{"name": "f", "content": "x"}], timeout=5)


@pytest.mark.parametrize("call", ["create", "submit"])
def test_a_server_refusing_every_stream_ends_in_unavailable_after_the_retry_budget(
    connect: Connect, emulator: Emulator, call: str
) -> None:
    """Refused streams are sent again even without an idempotency key, but only as often as
    the retry policy allows; the error says the server refused them."""
    refused: list[int] = []

    async def counted(
        connection: h2.connection.H2Connection, stream_id: int, writer: asyncio.StreamWriter
    ) -> None:
        refused.append(stream_id)
        await refuse(connection, stream_id, writer)

    with Server(h2_every(counted)) as server:
        runs = connect(emulator, endpoint=endpoint(server.port), retry=FAST)
        with no_leaks(runs):
            with pytest.raises(ApiError) as caught:
                send(runs, call)
            runs.close()
        assert caught.value.code == "UNAVAILABLE"
        assert "REFUSED_STREAM" in str(caught.value)
        assert len(refused) == FAST.attempts
        assert server.accepted == 1


def failed_create(connect: Connect, emulator: Emulator, server: Server) -> ApiError:
    """The error of a create without an idempotency key against ``server``, nothing leaked."""
    runs = connect(emulator, endpoint=endpoint(server.port), retry=FAST)
    with no_leaks(runs):
        with pytest.raises(ApiError) as caught:
            runs.create("fvtasst0", "fvtthread0", timeout=5)
        runs.close()
    return caught.value


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept, then close at once: no HTTP/2 settings, no answer."""


def test_a_create_is_sent_again_when_the_connection_ends_before_the_servers_settings(
    connect: Connect, emulator: Emulator
) -> None:
    """No request goes out before the server's settings, so a connection that ends first has
    carried none: even a create without an idempotency key is tried again, within the policy."""
    with Server(hang_up) as server:
        error = failed_create(connect, emulator, server)
    assert error.code == "UNAVAILABLE"
    assert "the connection ended before the server's settings" in str(error)
    assert server.accepted == FAST.attempts


@pytest.mark.parametrize("code", ["CANCEL", "INTERNAL_ERROR", "NO_ERROR"])
def test_a_create_reset_otherwise_is_not_sent_again_without_an_idempotency_key(
    connect: Connect, emulator: Emulator, code: str
) -> None:
    """Any other reset may come after the server acted on the request: a create is not sent
    twice unless the caller's idempotency key makes that safe."""
    error_code = h2.errors.ErrorCodes[code]

    async def reset_with(
        connection: h2.connection.H2Connection, stream_id: int, writer: asyncio.StreamWriter
    ) -> None:
        connection.reset_stream(stream_id, error_code=error_code)
        writer.write(connection.data_to_send())
        await writer.drain()
        await asyncio.sleep(0.05)

    with Server(h2_script(reset_with)) as server:
        error = failed_create(connect, emulator, server)
    assert error.code == "UNAVAILABLE"
    assert "REFUSED_STREAM" not in str(error)
    assert server.accepted == 1


# --------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def tls_proxy(emulator: Emulator) -> Iterator[tuple[Server, ssl.SSLContext]]:
    """A TLS front (self-signed CA made now) to the module's emulator, and a client context
    that trusts its CA."""
    server_context, client_context = tls_contexts("h2")
    with Server(Proxy(emulator.grpc_port), tls=server_context) as server:
        yield server, client_context


def test_a_self_signed_certificate_is_refused_by_default_and_not_retried(
    connect: Connect, emulator: Emulator, tls_proxy: tuple[Server, ssl.SSLContext]
) -> None:
    server, _ = tls_proxy
    runs = connect(emulator, endpoint=endpoint(server.port), tls=True, retry=FAST)
    accepted = server.accepted
    with no_leaks(runs), pytest.raises(ApiError) as caught:
        runs.get("fvtrun0")
    assert caught.value.code == "UNAVAILABLE"
    assert "TLS certificate verification failed" in caught.value.message
    assert server.accepted == accepted + 1  # one handshake: a retry cannot fix a certificate


def test_a_context_trusting_the_ca_reaches_the_server_over_tls(
    connect: Connect, emulator: Emulator, tls_proxy: tuple[Server, ssl.SSLContext]
) -> None:
    server, context = tls_proxy
    assistant, thread = make(emulator)
    runs = connect(emulator, endpoint=endpoint(server.port), tls=context, retry=FAST)
    with no_leaks(runs):
        run = runs.create(assistant, thread)
        assert runs.wait(run).status is RunStatus.COMPLETED
        runs.close()


def test_plaintext_to_a_tls_server_is_unavailable(
    connect: Connect, emulator: Emulator, tls_proxy: tuple[Server, ssl.SSLContext]
) -> None:
    server, _ = tls_proxy
    runs = connect(emulator, endpoint=endpoint(server.port), retry=FAST)  # loopback: no TLS
    with no_leaks(runs), pytest.raises(ApiError) as caught:
        runs.get("fvtrun0")
    assert caught.value.code == "UNAVAILABLE"


def test_tls_to_a_plaintext_server_is_a_tls_error(connect: Connect, emulator: Emulator) -> None:
    runs = connect(emulator, tls=True, retry=FAST)
    with no_leaks(runs), pytest.raises(ApiError) as caught:
        runs.get("fvtrun0")
    assert caught.value.code == "UNAVAILABLE"
    assert "TLS failed" in caught.value.message


# --------------------------------------------------------------------------- storms

CALLS = 50


async def storm_of_gets(
    emulator: Emulator, run: Run, policy: RetryPolicy, timeout: float
) -> tuple[list[object], float, int]:
    """``CALLS`` concurrent gets of ``run``: their outcomes, the time, tasks left after."""
    async with AsyncRuns(endpoint=emulator.grpc_target, retry=policy) as runs:
        started = time.monotonic()
        outcomes = await asyncio.gather(
            *(runs.get(run, timeout=timeout) for _ in range(CALLS)), return_exceptions=True
        )
        took = time.monotonic() - started
    await asyncio.sleep(0.05)
    return list(outcomes), took, len(asyncio.all_tasks()) - 1


def test_an_unavailable_storm_is_ridden_out_by_every_call(
    emulator: Emulator, finished: tuple[Run, list[Key]]
) -> None:
    run, _ = finished
    fired = emulator.faults.injected
    emulator.faults.fail(2 * CALLS, protocol="yandex", method="RunService/Get")
    policy = RetryPolicy(attempts=10, initial=0.01, maximum=0.05)
    with leaks.no_leaks(None):
        outcomes, took, tasks = asyncio.run(storm_of_gets(emulator, run, policy, timeout=10))
    assert [type(o).__name__ for o in outcomes] == ["Run"] * CALLS
    assert emulator.faults.injected == fired + 2 * CALLS  # every refusal was met with a retry
    assert tasks == 0
    assert took < 5.0


def test_an_unavailable_storm_outlasting_the_deadline_fails_every_call_typed_in_time(
    emulator: Emulator, finished: tuple[Run, list[Key]]
) -> None:
    run, _ = finished
    fired = emulator.faults.injected
    emulator.faults.fail(100_000, protocol="yandex", method="RunService/Get")
    policy = RetryPolicy(attempts=1000, initial=0.05, maximum=0.1)
    with leaks.no_leaks(None):
        outcomes, took, tasks = asyncio.run(storm_of_gets(emulator, run, policy, timeout=1.0))
    # UNAVAILABLE when the next backoff does not fit; RunTimeoutError when one that did fit
    # leaves no time for the try after it.
    assert all(isinstance(o, ApiError | RunTimeoutError) for o in outcomes), outcomes
    assert all(o.code == "UNAVAILABLE" for o in outcomes if isinstance(o, ApiError)), outcomes
    assert tasks == 0
    assert took < 1.5
    tries = emulator.faults.injected - fired
    # Every call was retried, and backed off: waits of 25..100 ms fit 41 tries in 1 s at most.
    assert CALLS * 2 <= tries <= CALLS * 41


@pytest.mark.parametrize("after", [0.3, None], ids=["with-hint", "without-hint"])
def test_a_resource_exhausted_storm_is_ridden_out_after_the_servers_hint(
    emulator: Emulator, finished: tuple[Run, list[Key]], after: float | None
) -> None:
    """RESOURCE_EXHAUSTED (a quota, gRPC's 429) is retried, as the Yandex SDK does, and the
    trailers' ``retry-after-ms`` is honoured: every retry waits for it, well past FAST's 50 ms."""
    run, _ = finished
    fired = emulator.faults.injected
    emulator.faults.fail(CALLS, protocol="yandex", status="rate_limited", retry_after=after)
    with leaks.no_leaks(None):
        outcomes, took, tasks = asyncio.run(storm_of_gets(emulator, run, FAST, timeout=10))
    assert [type(o).__name__ for o in outcomes] == ["Run"] * CALLS
    assert emulator.faults.injected == fired + CALLS
    assert tasks == 0
    if after is not None:
        assert took >= after


def test_a_resource_exhausted_hint_beyond_the_deadline_fails_at_once(
    emulator: Emulator, finished: tuple[Run, list[Key]]
) -> None:
    run, _ = finished
    fired = emulator.faults.injected
    emulator.faults.fail(CALLS, protocol="yandex", status="rate_limited", retry_after=30)
    with leaks.no_leaks(None):
        outcomes, took, tasks = asyncio.run(storm_of_gets(emulator, run, FAST, timeout=5))
    assert all(isinstance(o, ApiError) and o.code == "RESOURCE_EXHAUSTED" for o in outcomes)
    assert emulator.faults.injected == fired + CALLS  # one try each: the wait cannot fit
    assert took < 2.5
    assert tasks == 0


def test_listen_refused_with_resource_exhausted_reopens_after_the_servers_hint(
    connect: Connect, emulator: Emulator, finished: tuple[Run, list[Key]]
) -> None:
    run, _ = finished
    runs = connect(emulator, retry=FAST)
    undisturbed = list(runs.listen(run, timeout=10))
    emulator.faults.fail(
        1, protocol="yandex", method="RunService/Listen", status="rate_limited", retry_after=0.3
    )
    started = time.monotonic()
    with no_leaks(runs):
        events = list(runs.listen(run, timeout=10))
    assert elapsed_since(started) >= 0.3  # FAST alone would have retried within 50 ms
    assert [e.event_index for e in events] == [e.event_index for e in undisturbed]
