"""Yandex clients against injected faults over real sockets: resumed streams, restarts, retries."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Literal

import pytest

from runbind import (
    ApiError,
    RetryPolicy,
    RunStatus,
    RunStreamEvent,
    RunTimeoutError,
    StreamEventKind,
)
from runbind.emulator import Emulator
from runbind.yandex import AsyncRuns
from tests import _leaks as leaks
from tests._flavours import AsyncFlavour, Connect, Flavour

from .conftest import make

PARTIAL = StreamEventKind.PARTIAL_MESSAGE
DONE = StreamEventKind.DONE
ERROR = StreamEventKind.ERROR

TEXT = "abcdefghijklmnopqrs"  # 19 letters: `echo chunks=19` sends one letter per partial
SCRIPT = "echo chunks=19"  # 19 partial messages + DONE = 20 events
EVENTS = 20
FAST = RetryPolicy(attempts=5, initial=0.01, maximum=0.05)

Key = tuple[int, StreamEventKind, str | None]
DropHow = Literal["reset", "unavailable"]


def key(event: RunStreamEvent) -> Key:
    """What must match between a disturbed and an undisturbed stream (an error's text for
    error events, whose ``text`` raises)."""
    detail = str(event.error) if event.error is not None else event.text
    return event.event_index, event.status, detail


def keys(events: Iterator[RunStreamEvent]) -> list[Key]:
    return [key(e) for e in events]


@pytest.fixture(autouse=True)
def _no_faults_left(emulator: Emulator) -> Iterator[None]:
    """Every test starts and ends with no armed fault on the module's emulator."""
    emulator.faults.clear()
    yield
    emulator.faults.clear()


def fast(connect: Connect, emulator: Emulator, policy: RetryPolicy = FAST) -> Flavour:
    return connect(emulator, retry=policy)


def no_leaks(runs: Flavour) -> AbstractContextManager[None]:
    """The block leaves no more threads nor unfinished tasks than it found."""
    return leaks.no_leaks(runs.runner if isinstance(runs, AsyncFlavour) else None)


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- dropped streams


@pytest.mark.parametrize("how", ["reset", "unavailable"])
def test_listen_dropped_at_every_position_yields_the_undisturbed_sequence(
    connect: Connect, emulator: Emulator, how: DropHow
) -> None:
    runs = fast(connect, emulator)
    assistant, thread = make(emulator, SCRIPT, TEXT)
    stream = runs.create_stream(assistant, thread)
    undisturbed = keys(stream)
    assert len(undisturbed) == EVENTS
    assert [k[1] for k in undisturbed] == [PARTIAL] * 19 + [DONE]
    assert [k[0] for k in undisturbed] == list(range(EVENTS))
    assert undisturbed[-1][2] == TEXT
    run = stream.run
    assert run is not None

    # Every position on both flavours, but the slow "reset" cut (0.2 s of grace each) only at a
    # few on the sync one: it runs the very same resumption code on its loop thread.
    positions = range(EVENTS) if runs.name == "async" or how == "unavailable" else (0, 1, 10, 19)
    wrong: dict[int, object] = {}
    with no_leaks(runs):
        for after in positions:
            fired = emulator.faults.injected
            emulator.faults.drop_stream(after, protocol="yandex", how=how)
            got = keys(runs.listen(run))
            if got != undisturbed or emulator.faults.injected != fired + 1:
                wrong[after] = (got, emulator.faults.injected - fired)
    assert wrong == {}


@pytest.mark.parametrize("how", ["reset", "unavailable"])
@pytest.mark.parametrize("after", [0, 10, 19])
def test_live_stream_dropped_mid_run_yields_every_event_once(
    connect: Connect, emulator: Emulator, how: DropHow, after: int
) -> None:
    runs = fast(connect, emulator)
    assistant, thread = make(emulator, SCRIPT + " delay=0.01", TEXT)
    fired = emulator.faults.injected
    emulator.faults.drop_stream(after, protocol="yandex", how=how)
    stream = runs.create_stream(assistant, thread)
    first = next(stream)
    assert stream.run is not None
    assert not runs.get(stream.run).is_finished  # the run is live while it is listened to
    got = [key(first), *keys(stream)]
    assert emulator.faults.injected == fired + 1  # the live stream was cut
    undisturbed = keys(runs.listen(stream.run))
    assert len(undisturbed) == EVENTS
    assert got == undisturbed


def test_two_drops_in_one_listen(connect: Connect, emulator: Emulator) -> None:
    runs = fast(connect, emulator)
    assistant, thread = make(emulator, SCRIPT, TEXT)
    stream = runs.create_stream(assistant, thread)
    undisturbed = keys(stream)
    assert stream.run is not None

    fired = emulator.faults.injected
    emulator.faults.drop_stream(3, protocol="yandex")  # cut after event 2
    emulator.faults.drop_stream(5, protocol="yandex", how="unavailable")  # then after event 7
    assert keys(runs.listen(stream.run)) == undisturbed
    assert emulator.faults.injected == fired + 2

    emulator.faults.drop_stream(4, protocol="yandex", count=2)  # after events 3 and 7
    assert keys(runs.listen(stream.run)) == undisturbed
    assert emulator.faults.injected == fired + 4


@pytest.mark.parametrize("how", ["reset", "unavailable"])
def test_drops_beyond_the_retry_budget_end_in_unavailable(
    connect: Connect, emulator: Emulator, how: DropHow
) -> None:
    runs = fast(connect, emulator, RetryPolicy(attempts=3, initial=0.01, maximum=0.05))
    assistant, thread = make(emulator, SCRIPT, TEXT)
    stream = runs.create_stream(assistant, thread)
    assert len(list(stream)) == EVENTS
    run = stream.run
    assert run is not None
    fired = emulator.faults.injected
    emulator.faults.drop_stream(0, protocol="yandex", count=5, how=how)
    started = time.monotonic()
    with no_leaks(runs), pytest.raises(ApiError) as caught:
        list(runs.listen(run))
    assert time.monotonic() - started < 2.0  # no hang (the listen's own timeout is 10 s)
    assert caught.value.code == "UNAVAILABLE"
    assert emulator.faults.injected == fired + 3  # exactly policy.attempts streams were opened


# --------------------------------------------------------------------------- restart


def test_emulator_restart_mid_listen_ends_the_run_consistently() -> None:
    """Stopping the emulator fails the live run (an ERROR event is logged); the listen
    reconnects to the restarted emulator and yields every event once, ending at that ERROR."""

    async def scenario() -> tuple[list[Key], list[Key], RunStatus, int]:
        async with Emulator() as emu:
            assistant, thread = await emu.aseed("yandex", TEXT, behaviour=SCRIPT + " delay=0.05")
            policy = RetryPolicy(attempts=10, initial=0.05, maximum=0.2)
            async with AsyncRuns(endpoint=emu.grpc_target, retry=policy) as runs:
                stream = await runs.create(assistant, thread, stream=True, timeout=10)
                got: list[Key] = []
                async for event in stream:
                    got.append(key(event))
                    if len(got) == 3:
                        await emu.stop()
                        await emu.start()
                assert stream.run is not None
                status = (await runs.get(stream.run, timeout=5)).status
                replay = [key(e) async for e in runs.listen(stream.run, timeout=5)]
                tasks = len(asyncio.all_tasks())
            return got, replay, status, tasks

    got, replay, status, tasks = asyncio.run(scenario())
    assert [k[0] for k in got] == list(range(len(got)))  # no gap, no repeat
    assert 4 <= len(got) < EVENTS  # 3 before the stop, cut before the end
    assert [k[1] for k in got] == [PARTIAL] * (len(got) - 1) + [ERROR]
    assert [k[2] for k in got[:-1]] == [TEXT[: i + 1] for i in range(len(got) - 1)]
    assert got[-1][2] == "[13] the emulator stopped"
    assert got == replay
    assert status is RunStatus.FAILED
    assert tasks == 1  # only the scenario itself


# --------------------------------------------------------------------------- failed calls


def test_get_retries_a_burst_of_unavailable(connect: Connect, emulator: Emulator) -> None:
    runs = fast(connect, emulator)
    assistant, thread = make(emulator)
    run = runs.create(assistant, thread)
    fired = emulator.faults.injected
    emulator.faults.fail(3, protocol="yandex", method="Get")
    with no_leaks(runs):
        assert runs.get(run).id == run.id
    assert emulator.faults.injected == fired + 3


def test_get_gives_up_after_policy_attempts(connect: Connect, emulator: Emulator) -> None:
    policy = RetryPolicy(attempts=4, initial=0.01, maximum=0.05)
    runs = fast(connect, emulator, policy)
    assistant, thread = make(emulator)
    run = runs.create(assistant, thread)
    fired = emulator.faults.injected
    emulator.faults.fail(10, protocol="yandex", method="RunService/Get")
    with pytest.raises(ApiError) as caught:
        runs.get(run)
    assert caught.value.code == "UNAVAILABLE"
    assert "injected fault" in str(caught.value)
    assert emulator.faults.injected == fired + policy.attempts


def test_create_without_idempotency_key_is_not_retried(
    connect: Connect, emulator: Emulator
) -> None:
    runs = fast(connect, emulator)
    assistant, thread = make(emulator)
    fired = emulator.faults.injected
    emulator.faults.fail(2, protocol="yandex", method="RunService/Create")
    with pytest.raises(ApiError) as caught:
        runs.create(assistant, thread)
    assert caught.value.code == "UNAVAILABLE"
    assert emulator.faults.injected == fired + 1  # one try only
    assert emulator.yandex_store.runs_of(thread) == []  # and no run made


def test_create_with_idempotency_key_is_retried_and_makes_one_run(
    connect: Connect, emulator: Emulator
) -> None:
    runs = fast(connect, emulator)
    assistant, thread = make(emulator)
    fired = emulator.faults.injected
    emulator.faults.fail(2, protocol="yandex", method="RunService/Create")
    run = runs.create(assistant, thread, idempotency_key=f"key-{thread}")
    assert emulator.faults.injected == fired + 2
    assert [r.id for r in emulator.yandex_store.runs_of(thread)] == [run.id]
    again = runs.create(assistant, thread, idempotency_key=f"key-{thread}")  # the key went out
    assert again.id == run.id
    assert len(emulator.yandex_store.runs_of(thread)) == 1


# --------------------------------------------------------------------------- stalls, deadlines


def test_get_under_a_stall_times_out_at_its_own_deadline(
    connect: Connect, emulator: Emulator
) -> None:
    runs = fast(connect, emulator)
    assistant, thread = make(emulator)
    run = runs.create(assistant, thread)
    emulator.faults.stall(5, protocol="yandex", method="RunService/Get")
    started = time.monotonic()
    with no_leaks(runs), pytest.raises(RunTimeoutError):
        runs.get(run, timeout=0.3)
    assert 0.25 <= time.monotonic() - started < 1.0


def test_wait_stalled_after_the_first_poll_times_out_with_the_running_run(
    connect: Connect, emulator: Emulator
) -> None:
    runs = fast(connect, emulator)
    assistant, thread = make(emulator, "slow seconds=5")
    run = runs.create(assistant, thread)
    fired = emulator.faults.injected
    arm = threading.Timer(
        0.2, lambda: emulator.faults.stall(5, protocol="yandex", method="RunService/Get")
    )
    started = time.monotonic()
    arm.start()
    try:
        with pytest.raises(RunTimeoutError) as caught:
            runs.wait(run, timeout=1, poll_interval=0.05)
    finally:
        arm.join()
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1.5, elapsed
    assert emulator.faults.injected == fired + 1  # one poll hung, until the deadline
    last = caught.value.last_run
    assert last is not None
    assert last.id == run.id
    assert last.status is RunStatus.IN_PROGRESS


def test_connection_refused_is_unavailable_within_the_deadline(
    connect: Connect, emulator: Emulator
) -> None:
    endpoint = f"127.0.0.1:{closed_port()}"
    few = connect(emulator, endpoint=endpoint, retry=RetryPolicy(3, 0.01, 0.05))
    started = time.monotonic()
    with pytest.raises(ApiError) as caught:
        few.get("fvtrun0", timeout=5)
    assert caught.value.code == "UNAVAILABLE"
    assert time.monotonic() - started < 1.0

    # With more attempts than the deadline allows, the deadline ends the retries. Which error
    # comes out is a race: UNAVAILABLE when the next backoff does not fit, RunTimeoutError when
    # a backoff that did fit overruns the deadline by a hair (then the next try finds none left).
    many = connect(emulator, endpoint=endpoint, retry=RetryPolicy(100, 0.01, 0.05))
    started = time.monotonic()
    with pytest.raises((ApiError, RunTimeoutError)) as ended:
        many.get("fvtrun0", timeout=0.5)
    assert not isinstance(ended.value, ApiError) or ended.value.code == "UNAVAILABLE"
    assert 0.4 <= time.monotonic() - started < 0.7


def test_a_timed_out_call_leaves_the_callers_task_untouched(emulator: Emulator) -> None:
    assistant, thread = make(emulator)

    async def scenario() -> tuple[int, str]:
        async with AsyncRuns(endpoint=emulator.grpc_target, retry=FAST) as runs:
            run = await runs.create(assistant, thread, timeout=5)
            emulator.faults.stall(5, protocol="yandex", method="RunService/Get")
            task = asyncio.current_task()
            assert task is not None
            try:
                async with asyncio.timeout(0.6):
                    with pytest.raises(RunTimeoutError):
                        await runs.get(run, timeout=0.2)
                    cancelling = task.cancelling()
                    await asyncio.sleep(5)
            except TimeoutError:
                return cancelling, "TimeoutError"
            except asyncio.CancelledError:
                return cancelling, "CancelledError"
            return cancelling, "nothing"

    assert asyncio.run(scenario()) == (0, "TimeoutError")
