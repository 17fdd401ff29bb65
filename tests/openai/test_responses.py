"""``runbind.openai.AsyncResponses`` / ``Responses`` against the emulator's Responses API on
127.0.0.1: the lifecycle, streams cut after every event and resumed, a two-round tool loop as a
chain of runs, and the blocking twin. (Unknown values and odd servers: ``test_responses_odd``.)
"""

from __future__ import annotations

import asyncio
import inspect
import typing
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from runbind import RunStatus, RunStreamEvent, StreamEventKind
from runbind.emulator import Emulator
from runbind.openai import AsyncResponses, AsyncRuns, Responses
from tests._flavours import TIMEOUT
from tests.openai.test_runs import _public, _signature

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {}},
    "strict": False,
}
ECHO = {"emulator": "echo chunks=3"}


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner


@pytest.fixture
def client(emulator: Emulator, runner: asyncio.Runner) -> Iterator[AsyncResponses]:
    client = AsyncResponses(base_url=emulator.openai_base_url, timeout=TIMEOUT)
    yield client
    runner.run(client.close())


async def _all(events: AsyncIterator[RunStreamEvent]) -> list[RunStreamEvent]:
    return [event async for event in events]


def _seen(events: list[RunStreamEvent]) -> list[tuple[int, str | int]]:
    return [(e.event_index, e.status_raw) for e in events]


def _text(events: list[RunStreamEvent]) -> str:
    return "".join(e.text or "" for e in events if e.status is StreamEventKind.PARTIAL_MESSAGE)


def test_lifecycle(client: AsyncResponses, runner: asyncio.Runner, emulator: Emulator) -> None:
    async def go() -> None:
        run = await client.create("gpt-4o", "hello there world", labels=ECHO)
        assert (run.provider, run.status, run.status_raw, run.is_running) == (
            "openai_responses",
            RunStatus.QUEUED,
            "queued",
            True,
        )
        result = await client.wait(run, timeout=TIMEOUT, poll_interval=0.01)
        assert (result.status, result.is_succeeded, result.text) == (
            RunStatus.COMPLETED,
            True,
            "hello there world",
        )
        assert result.usage is not None
        assert result.usage.total_tokens > 0
        assert await client.get_status(run.id) is RunStatus.COMPLETED
        assert (await client.get_result(run)).text == "hello there world"
        events = await _all(client.listen(run, events_start_idx=5))
        assert [e.event_index for e in events] == list(range(5, 12))
        assert events[-1].status is StreamEventKind.DONE
        assert events[-1].text == "hello there world"
        slow = await client.create("gpt-4o", "x", labels={"emulator": "slow seconds=30"})
        cancelled = await client.cancel(slow)
        assert (cancelled.status, cancelled.is_failed) == (RunStatus.CANCELLED, True)
        listened = await _all(client.listen(slow))
        assert listened[-1].run is not None
        assert listened[-1].run.status is RunStatus.CANCELLED

    runner.run(go())


def test_no_assistants_beta_header(emulator: Emulator, runner: asyncio.Runner) -> None:
    sent: list[httpx.Headers] = []

    async def go() -> None:
        async def note(request: httpx.Request) -> None:
            sent.append(request.headers)

        async with httpx.AsyncClient(event_hooks={"request": [note]}) as http:
            client = AsyncResponses(base_url=emulator.openai_base_url, http_client=http)
            await client.wait(await client.create("m", "hi"), timeout=TIMEOUT, poll_interval=0.01)

    runner.run(go())
    assert sent
    assert all("openai-beta" not in headers for headers in sent)


def test_cut_streams_resume_to_exactly_the_uninterrupted_sequence(
    client: AsyncResponses, runner: asyncio.Runner, emulator: Emulator
) -> None:
    """A stream cut after every event position, of a create and of a listen, is resumed by the
    client after its last sequence number: the same events, in order, none twice."""

    async def go() -> None:
        whole = await _all(await client.create("gpt-4o", "a b c", labels=ECHO, stream=True))
        assert [e.event_index for e in whole] == list(range(len(whole))) == list(range(12))
        expected = _seen(whole)
        assert _text(whole) == "a b c"
        done = whole[-1].run
        assert done is not None
        for cut in range(1, len(whole)):
            emulator.faults.drop_stream(cut, protocol="openai")
            created = await _all(await client.create("gpt-4o", "a b c", labels=ECHO, stream=True))
            assert _seen(created) == expected, cut
            assert _text(created) == "a b c"
            assert created[-1].text == "a b c"
            emulator.faults.drop_stream(cut, protocol="openai")
            listened = await _all(client.listen(done))
            assert _seen(listened) == expected, cut
            assert _text(listened) == "a b c"
        assert emulator.faults.injected >= 2 * (len(whole) - 1)

    runner.run(go())


def test_two_round_tool_loop(client: AsyncResponses, runner: asyncio.Runner) -> None:
    """Two rounds of function calls, each answered by a new run continuing the last: each round
    requires action (its response completed, its calls unanswered), the last run succeeds with
    every result in its text."""

    async def go() -> None:
        run = await client.create(
            "gpt-4o",
            "weather in Oslo and Bergen?",
            tools=[WEATHER],
            labels={"emulator": "tools calls=2 rounds=2"},
        )
        chain = [run.id]
        assert not run.requires_action
        outputs: list[str] = []
        for round_ in range(2):
            result = await client.wait(run, timeout=TIMEOUT, poll_interval=0.01)
            assert result.requires_action, round_
            assert (result.status, result.status_raw) == (RunStatus.REQUIRES_ACTION, "completed")
            assert not result.is_finished
            assert not result.is_succeeded
            assert result.run.required_action == "submit_tool_outputs"
            assert [c.name for c in result.tool_calls] == ["get_weather"] * 2
            results = [c.result(f"r{round_}-{i}") for i, c in enumerate(result.tool_calls)]
            outputs += [r["content"] for r in results]
            run = await client.submit_tool_results(result.run, results)
            assert run.previous_run_id == chain[-1]
            assert not run.requires_action
            chain.append(run.id)
        final = await client.wait(run, timeout=TIMEOUT, poll_interval=0.01)
        assert (final.status, final.is_succeeded, final.requires_action) == (
            RunStatus.COMPLETED,
            True,
            False,
        )
        assert final.tool_calls == ()
        assert final.text is not None
        for output in outputs:
            assert f"get_weather: {output}" in final.text
        assert len(set(chain)) == 3

    runner.run(go())


def test_tool_loop_streamed(client: AsyncResponses, runner: asyncio.Runner) -> None:
    """The same loop streamed: a round's stream ends with a TOOL_CALLS event that requires
    action; the results' stream is the new run's, ending DONE."""

    async def go() -> None:
        stream = await client.create(
            "gpt-4o",
            "weather?",
            tools=[WEATHER],
            labels={"emulator": "tools calls=1"},
            stream=True,
        )
        events = await _all(stream)
        last = events[-1]
        assert (last.status, last.requires_action, last.status_raw) == (
            StreamEventKind.TOOL_CALLS,
            True,
            "response.completed",
        )
        assert [e.requires_action for e in events].count(True) == 1
        assert [len(e.tool_calls) for e in events].count(1) == 1  # the calls, once
        (call,) = last.tool_calls
        answer = await client.submit_tool_results(
            stream.current_run.id, [call.result({"temp": 3})], stream=True
        )
        after = await _all(answer)
        assert after[0].event_index == 0
        assert after[-1].status is StreamEventKind.DONE
        assert after[-1].text == 'get_weather: {"temp": 3}'
        assert answer.current_run.previous_run_id == stream.current_run.id

    runner.run(go())


def test_blocking_client(emulator: Emulator) -> None:
    with Responses(base_url=emulator.openai_base_url, timeout=TIMEOUT) as client:
        assert repr(client).startswith("Responses(")
        run = client.create("gpt-4o", "one two", labels=ECHO)
        assert client.wait(run, timeout=TIMEOUT, poll_interval=0.01).text == "one two"
        emulator.faults.drop_stream(4, protocol="openai")
        with client.create("gpt-4o", "one two", labels=ECHO, stream=True) as stream:
            events = list(stream)
        assert [e.event_index for e in events] == list(range(len(events)))
        assert events[-1].text == "one two"
        assert [e.event_index for e in client.listen(run, events_start_idx=10)] == [10, 11]
        asked = client.wait(
            client.create("m", "w?", tools=[WEATHER], labels={"emulator": "tools"}),
            timeout=TIMEOUT,
            poll_interval=0.01,
        )
        assert asked.requires_action
        answered = client.submit_tool_results(asked.run, [asked.tool_calls[0].result("ok")])
        assert client.wait(answered, timeout=TIMEOUT, poll_interval=0.01).is_succeeded


# --------------------------------------------------------------------------- signatures

PUBLIC = {"create", "get", "listen", "submit_tool_results", "cancel", "get_status"}
PUBLIC |= {"get_result", "wait", "close"}


def test_the_blocking_twin_keeps_every_signature() -> None:
    """``Responses`` has ``AsyncResponses``'s methods, overloads and constructor, blocking;
    the method names are those of the other Runs clients."""
    assert _public(AsyncResponses) == _public(Responses) == PUBLIC
    assert _public(AsyncRuns) > PUBLIC
    for name in PUBLIC:
        async_fn, sync_fn = getattr(AsyncResponses, name), getattr(Responses, name)
        assert _signature(async_fn, sync=False) == _signature(sync_fn, sync=True), name
        assert inspect.iscoroutinefunction(async_fn) is (name != "listen")
        assert not inspect.iscoroutinefunction(sync_fn)
        assert inspect.getdoc(sync_fn)
    init = _signature(AsyncResponses.__init__, sync=True)
    assert init == _signature(Responses.__init__, sync=True)
    assert init == _signature(AsyncRuns.__init__, sync=True)
    for name in ("create", "submit_tool_results"):
        overloads = typing.get_overloads(getattr(AsyncResponses, name))
        assert len(overloads) == 3
        assert [_signature(f, sync=False) for f in overloads] == [
            _signature(f, sync=True) for f in typing.get_overloads(getattr(Responses, name))
        ]
