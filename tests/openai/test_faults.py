"""OpenAI clients against injected faults over real sockets: cut SSE streams, retries, stalls."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest

from runbind import ApiError, RetryPolicy, RunStatus, RunStreamEvent, RunTimeoutError
from runbind.emulator import Emulator
from tests import _leaks as leaks
from tests._flavours import AsyncFlavour, Connect, Flavour, Stream, stop

from .conftest import make

TEXT = "hello there world"
SCRIPT = "echo chunks=9"  # 7 opening events + 9 deltas + 4 closing events = 20
EVENTS = 20
TOOLS_ANSWER = "get_weather: r0; get_weather: r1"
FAST = RetryPolicy(attempts=5, initial=0.01, maximum=0.05)

Key = tuple[int, str, str | None, str | None]


def key(event: RunStreamEvent) -> Key:
    """What must match between a disturbed and an undisturbed stream."""
    status = None if event.run is None else event.run.status.value
    text = str(event.error) if event.error is not None else event.text
    return event.event_index, str(event.status_raw), text, status


def message_id(event: RunStreamEvent) -> str:
    return str(getattr(getattr(event.raw, "data", None), "id", ""))


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


def problems(got: list[RunStreamEvent], undisturbed: list[Key], cut: int, answer: str) -> list[str]:
    """How a stream cut after ``cut`` events and continued by polling breaks the rules (if it
    does): the undisturbed prefix exactly, then no status or message again, one answer, done."""
    found: list[str] = []
    keys = [key(e) for e in got]
    if keys[:cut] != undisturbed[:cut]:
        found.append(f"prefix {keys[:cut]} != {undisturbed[:cut]}")
    first = undisturbed[0][0]  # streams after a submit are numbered on
    if [k[0] for k in keys] != list(range(first, first + len(keys))):
        found.append(f"indices {[k[0] for k in keys]}")
    seen = {k[3] for k in keys[:cut] if k[3] is not None}
    polled = [k[3] for k in keys[cut:] if k[3] is not None]
    if len(set(polled)) != len(polled) or seen & set(polled):
        found.append(f"run status repeated: seen {seen}, then {polled}")
    completed = [e for e in got if e.status_raw == "thread.message.completed"]
    if [e.text for e in completed] != [answer]:
        found.append(f"answers {[e.text for e in completed]}")
    ids = [message_id(e) for e in completed]
    if len(set(ids)) != len(ids):
        found.append(f"message ids repeated {ids}")
    if not keys or keys[-1][1] != "done":
        found.append(f"ends with {keys[-1] if keys else None}")
    return found


def tool_results(stream: Stream) -> list[Any]:
    assert stream.run is not None
    return [c.result(f"r{i}") for i, c in enumerate(stream.run.tool_calls)]


# --------------------------------------------------------------------------- cut SSE streams


def test_create_stream_cut_at_every_position_goes_on_by_polling(
    connect: Connect, emulator: Emulator
) -> None:
    runs = fast(connect, emulator)
    assistant, thread = make(emulator, SCRIPT, TEXT)
    undisturbed = [key(e) for e in runs.create_stream(assistant, thread)]
    assert len(undisturbed) == EVENTS
    assert undisturbed[-1][1] == "done"

    wrong: dict[int, list[str]] = {}
    with no_leaks(runs):
        for cut in range(1, EVENTS):
            fired = emulator.faults.injected
            emulator.faults.drop_stream(cut, protocol="openai")
            stream = runs.create_stream(assistant, thread)
            got = list(stream)
            found = problems(got, undisturbed, cut, TEXT)
            if emulator.faults.injected != fired + 1:
                found.append("not cut")
            if stream.run is None or stream.run.status is not RunStatus.COMPLETED:
                found.append(f"run {stream.run}")
            if found:
                wrong[cut] = found
        runs.close()  # the polls' keep-alive connection is pooled, not leaked: close it here
    assert wrong == {}


@pytest.mark.parametrize("cut", [1, 5, 12])
def test_create_stream_cut_on_a_live_run_goes_on_by_polling(
    connect: Connect, emulator: Emulator, cut: int
) -> None:
    runs = fast(connect, emulator)
    assistant, thread = make(emulator, SCRIPT + " delay=0.01", TEXT)
    undisturbed = [key(e) for e in runs.create_stream(assistant, thread)]
    fired = emulator.faults.injected
    emulator.faults.drop_stream(cut, protocol="openai")
    stream = runs.create_stream(assistant, thread)
    got = [next(stream)]
    assert got[0].run is not None
    assert not runs.get(got[0].run).is_finished  # the run is live while it streams
    got.extend(stream)
    assert emulator.faults.injected == fired + 1
    assert problems(got, undisturbed, cut, TEXT) == []


def test_create_stream_cut_before_any_event_is_a_connection_error(
    connect: Connect, emulator: Emulator
) -> None:
    runs = fast(connect, emulator)
    assistant, thread = make(emulator, SCRIPT, TEXT)
    emulator.faults.drop_stream(0, protocol="openai")
    with pytest.raises(ApiError) as caught:
        list(runs.create_stream(assistant, thread))
    assert caught.value.code == "connection_error"
    # The server did start the run, but its id only travels in the first event
    # (thread.run.created): with nothing received the client cannot follow it by polling, and
    # a streaming create is never retried (that could start a second run).
    assert len(emulator.openai_store.runs_of(thread)) == 1


@pytest.mark.parametrize("cut", [0, 1, 3, 8, 12])
def test_submit_stream_cut_goes_on_by_polling(
    connect: Connect, emulator: Emulator, cut: int
) -> None:
    runs = fast(connect, emulator)
    assistant, thread = make(emulator, "tools calls=2", TEXT)
    opening = runs.finish(assistant, thread)
    undisturbed = [key(e) for e in runs.submit_stream(opening.run or "", tool_results(opening))]
    assert len(undisturbed) == 14
    # numbered on after the 15 events of the create stream: run created, queued, in progress,
    # step created, in progress, per call 4 step deltas (id and name, then the arguments in 3
    # pieces), requires_action
    assert undisturbed[0][0] == 15

    assistant, thread = make(emulator, "tools calls=2", TEXT)
    opening = runs.finish(assistant, thread)
    assert opening.run is not None
    fired = emulator.faults.injected
    emulator.faults.drop_stream(cut, protocol="openai")
    got = list(runs.submit_stream(opening.run, tool_results(opening)))
    assert emulator.faults.injected == fired + 1
    assert problems(got, undisturbed, cut, TOOLS_ANSWER) == []


@pytest.mark.parametrize("call", ["create", "submit"])
def test_stream_cut_just_before_done_still_ends_with_done(
    connect: Connect, emulator: Emulator, call: str
) -> None:
    runs = fast(connect, emulator)
    if call == "create":
        assistant, thread = make(emulator, SCRIPT, TEXT)
        emulator.faults.drop_stream(EVENTS - 1, protocol="openai")
        got = list(runs.create_stream(assistant, thread))
    else:
        assistant, thread = make(emulator, "tools calls=2", TEXT)
        opening = runs.finish(assistant, thread)
        assert opening.run is not None
        emulator.faults.drop_stream(13, protocol="openai")  # of 14: before `done`
        got = list(runs.submit_stream(opening.run, tool_results(opening)))
    assert emulator.faults.injected > 0
    assert got[-2].status_raw == "thread.run.completed"
    assert got[-1].status_raw == "done"


# --------------------------------------------------------------------------- failed calls


def test_get_honours_retry_after(connect: Connect, emulator: Emulator) -> None:
    runs = fast(connect, emulator)
    assistant, thread = make(emulator)
    run = runs.create(assistant, thread)
    fired = emulator.faults.injected
    emulator.faults.fail(2, protocol="openai", status="rate_limited", retry_after=0.3, method="GET")
    started = time.monotonic()
    with no_leaks(runs):
        assert runs.get(run).id == run.id
    assert 0.6 <= time.monotonic() - started < 1.5
    assert emulator.faults.injected == fired + 2


def test_retry_after_beyond_the_deadline_fails_at_once(
    connect: Connect, emulator: Emulator
) -> None:
    runs = fast(connect, emulator)
    assistant, thread = make(emulator)
    run = runs.create(assistant, thread)
    fired = emulator.faults.injected
    emulator.faults.fail(2, protocol="openai", status="rate_limited", retry_after=5, method="GET")
    started = time.monotonic()
    with pytest.raises(ApiError) as caught:
        runs.get(run, timeout=1)
    assert time.monotonic() - started < 0.3
    assert caught.value.status_code == 429
    assert emulator.faults.injected == fired + 1


def test_a_burst_of_503_then_success(connect: Connect, emulator: Emulator) -> None:
    runs = fast(connect, emulator)
    assistant, thread = make(emulator)
    run = runs.create(assistant, thread)
    fired = emulator.faults.injected
    emulator.faults.fail(3, protocol="openai", method="GET")
    assert runs.get(run).id == run.id
    assert emulator.faults.injected == fired + 3


def test_503_beyond_policy_attempts_is_raised(connect: Connect, emulator: Emulator) -> None:
    policy = RetryPolicy(attempts=4, initial=0.01, maximum=0.05)
    runs = fast(connect, emulator, policy)
    assistant, thread = make(emulator)
    run = runs.create(assistant, thread)
    fired = emulator.faults.injected
    emulator.faults.fail(10, protocol="openai", method="GET")
    with pytest.raises(ApiError) as caught:
        runs.get(run)
    assert caught.value.status_code == 503
    assert emulator.faults.injected == fired + policy.attempts


def test_create_without_idempotency_key_is_not_retried(
    connect: Connect, emulator: Emulator
) -> None:
    runs = fast(connect, emulator)
    assistant, thread = make(emulator)
    fired = emulator.faults.injected
    emulator.faults.fail(2, protocol="openai", method="POST")
    with pytest.raises(ApiError) as caught:
        runs.create(assistant, thread)
    assert caught.value.status_code == 503
    assert emulator.faults.injected == fired + 1
    assert emulator.openai_store.runs_of(thread) == []


def test_create_with_idempotency_key_is_retried_and_makes_one_run(
    connect: Connect, emulator: Emulator
) -> None:
    runs = fast(connect, emulator)
    assistant, thread = make(emulator)
    fired = emulator.faults.injected
    emulator.faults.fail(2, protocol="openai", method="POST")
    run = runs.create(assistant, thread, idempotency_key=f"key-{thread}")
    assert emulator.faults.injected == fired + 2
    assert [r.id for r in emulator.openai_store.runs_of(thread)] == [run.id]
    # The Idempotency-Key header went out: the same key gets the same run back.
    assert runs.create(assistant, thread, idempotency_key=f"key-{thread}").id == run.id
    assert len(emulator.openai_store.runs_of(thread)) == 1


# --------------------------------------------------------------------------- polling, stalls


def test_wait_honours_poll_after_ms(connect: Connect, monkeypatch: pytest.MonkeyPatch) -> None:
    emu = Emulator(poll_after_ms=300).start_in_thread()
    try:
        runs = connect(emu)
        assistant, thread = make(emu, "slow seconds=1")
        run = runs.create(assistant, thread)
        polls: list[float] = []
        send = httpx.AsyncClient.send

        async def counted(
            self: httpx.AsyncClient, request: httpx.Request, **options: Any
        ) -> httpx.Response:
            if request.method == "GET" and request.url.path.endswith(f"/runs/{run.id}"):
                polls.append(time.monotonic())
            return await send(self, request, **options)

        monkeypatch.setattr(httpx.AsyncClient, "send", counted)
        result = runs.wait(run, poll_interval=0.01)
        monkeypatch.undo()
    finally:
        stop(emu)
    assert result.status is RunStatus.COMPLETED
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert 3 <= len(polls) <= 7, gaps  # without the hint: about 10
    assert min(gaps) >= 0.23, gaps  # 300 ms less the 20 % jitter


def test_wait_stalled_after_the_first_poll_times_out_with_the_running_run(
    connect: Connect, emulator: Emulator
) -> None:
    runs = fast(connect, emulator)
    assistant, thread = make(emulator, "slow seconds=5")
    run = runs.create(assistant, thread)
    fired = emulator.faults.injected
    arm = threading.Timer(0.2, lambda: emulator.faults.stall(5, protocol="openai", method="GET"))
    started = time.monotonic()
    with no_leaks(runs):
        arm.start()
        try:
            with pytest.raises(RunTimeoutError) as caught:
                runs.wait(run, timeout=1, poll_interval=0.05)
        finally:
            arm.join()
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1.5, elapsed
    assert emulator.faults.injected == fired + 1
    last = caught.value.last_run
    assert last is not None
    assert last.id == run.id
    assert last.status is RunStatus.IN_PROGRESS


def test_streaming_create_stalled_past_its_timeout(connect: Connect, emulator: Emulator) -> None:
    runs = fast(connect, emulator)
    assistant, thread = make(emulator)
    emulator.faults.stall(1.5, protocol="openai", method="POST")
    started = time.monotonic()
    with pytest.raises(RunTimeoutError):
        list(runs.create_stream(assistant, thread, timeout=0.5))
    assert 0.45 <= time.monotonic() - started < 1.0
