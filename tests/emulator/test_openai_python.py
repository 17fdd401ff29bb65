"""openai-python, unmodified, against the emulator's OpenAI side over real sockets.

The Assistants calls a program written for the real API makes: assistants, threads and
messages created, retrieved, modified, listed and deleted; runs polled (``create_and_poll``,
``submit_tool_outputs_and_poll``) and streamed through an ``AssistantEventHandler``, whose
tool-call handlers see each call created, its arguments arrive in pieces and the call done; run
steps listed and retrieved; the request id of every answer; retries of injected faults.
openai-python marks the Assistants API deprecated: its warnings are expected here.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import AssistantEventHandler, AsyncAssistantEventHandler
from openai.types.beta import Assistant, FunctionToolParam
from openai.types.beta.threads import Message, Run, Text, TextDelta
from openai.types.beta.threads.run_submit_tool_outputs_params import ToolOutput
from openai.types.beta.threads.runs import RunStep, ToolCall, ToolCallDelta

from runbind.emulator import Emulator

from ._clients import TIMEOUT, stop

pytestmark = [
    pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning"),
]

KEY = "sk-openai-python"
POLL_MS = 20
"""How often the polling helpers ask (their default is a second)."""
REQUEST_ID = re.compile(r"req_[0-9a-f]{32}")
WEATHER: FunctionToolParam = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """An emulator of this module's own, behind an API key as the real API is."""
    emu = Emulator(api_key=KEY).start_in_thread()
    try:
        yield emu
    finally:
        stop(emu)


@pytest.fixture
def client(emulator: Emulator) -> Iterator[openai.OpenAI]:
    """openai-python pointed at the emulator: only ``base_url`` and the key differ."""
    with openai.OpenAI(
        api_key=KEY, base_url=emulator.openai_base_url, timeout=TIMEOUT, max_retries=2
    ) as client:
        yield client


def _assistant(client: openai.OpenAI, behaviour: str, **extra: Any) -> Assistant:
    return client.beta.assistants.create(model="gpt-4o", metadata={"emulator": behaviour}, **extra)


def _text(message: Message) -> str:
    (part,) = message.content
    assert part.type == "text"
    return part.text.value


# --- resources ----------------------------------------------------------------------------------


def test_assistants_threads_and_messages_round_trip(client: openai.OpenAI) -> None:
    beta = client.beta
    assistant = _assistant(client, "echo", name="helper", tools=[WEATHER])
    assert (assistant.name, assistant.model, assistant.temperature) == ("helper", "gpt-4o", 1.0)
    assert assistant.tools[0].type == "function"
    assert beta.assistants.retrieve(assistant.id) == assistant
    updated = beta.assistants.update(assistant.id, name="renamed", description="d")
    assert (updated.name, updated.description, updated.tools) == ("renamed", "d", assistant.tools)
    listed = beta.assistants.list(limit=100, order="asc")
    assert updated in listed.data

    thread = beta.threads.create(messages=[{"role": "user", "content": "first"}])
    assert thread.tool_resources is not None
    assert beta.threads.retrieve(thread.id) == thread
    tagged = beta.threads.update(thread.id, metadata={"topic": "t"})
    assert tagged.metadata == {"topic": "t"}
    second = beta.threads.messages.create(thread.id, role="user", content="second")
    assert beta.threads.messages.retrieve(second.id, thread_id=thread.id) == second
    changed = beta.threads.messages.update(second.id, thread_id=thread.id, metadata={"k": "v"})
    assert changed.metadata == {"k": "v"}
    page = beta.threads.messages.list(thread.id, order="asc")
    assert [_text(m) for m in page.data] == ["first", "second"]
    gone = beta.threads.messages.delete(second.id, thread_id=thread.id)
    assert (gone.id, gone.deleted, gone.object) == (second.id, True, "thread.message.deleted")
    assert [_text(m) for m in beta.threads.messages.list(thread.id)] == ["first"]

    with pytest.raises(openai.NotFoundError) as missing:
        beta.threads.messages.retrieve(second.id, thread_id=thread.id)
    assert REQUEST_ID.fullmatch(missing.value.request_id or "")
    with pytest.raises(openai.BadRequestError) as refused:
        beta.assistants.update(assistant.id, extra_body={"colour": "red"})
    assert refused.value.param == "colour"

    assert beta.threads.delete(thread.id).deleted
    assert beta.assistants.delete(assistant.id).deleted
    with pytest.raises(openai.NotFoundError):
        beta.assistants.retrieve(assistant.id)


def test_every_answer_reports_its_request_id(client: openai.OpenAI) -> None:
    raw = client.beta.assistants.with_raw_response.create(model="gpt-4o")
    assistant = raw.parse()
    assert REQUEST_ID.fullmatch(raw.request_id or "")
    assert raw.headers["x-request-id"] == raw.request_id
    again = client.beta.assistants.retrieve(assistant.id)
    assert REQUEST_ID.fullmatch(again._request_id or "")
    assert again._request_id != raw.request_id


def test_injected_faults_are_retried_by_the_client(
    client: openai.OpenAI, emulator: Emulator
) -> None:
    before = emulator.faults.injected
    emulator.faults.fail(2, protocol="openai", status="rate_limited", retry_after=0.01)
    assistant = client.beta.assistants.create(model="gpt-4o")  # the third try succeeds
    assert emulator.faults.injected - before == 2
    emulator.faults.fail(3, protocol="openai", method="GET", status="unavailable")
    with pytest.raises(openai.InternalServerError) as failed:
        client.with_options(max_retries=0).beta.assistants.retrieve(assistant.id)
    assert failed.value.status_code == 503
    assert REQUEST_ID.fullmatch(failed.value.request_id or "")
    emulator.faults.clear()
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
    (message,) = client.beta.threads.messages.list(thread.id).data
    before = emulator.faults.injected
    emulator.faults.fail(1, protocol="openai", method="DELETE", retry_after=0.01)
    emulator.faults.stall(0.05, protocol="openai", method="POST")
    assert client.beta.threads.update(thread.id, metadata={"a": "b"}).metadata == {"a": "b"}
    assert client.beta.threads.messages.delete(message.id, thread_id=thread.id).deleted
    assert emulator.faults.injected - before == 2


# --- runs, polled -------------------------------------------------------------------------------


def test_create_and_poll_then_the_run_steps(client: openai.OpenAI) -> None:
    runs = client.beta.threads.runs
    assistant = _assistant(client, "echo chunks=2")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hello world"}])
    run = runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=POLL_MS
    )
    assert run.status == "completed"
    assert run.usage is not None
    assert run.usage.total_tokens > 0
    (step,) = runs.steps.list(run.id, thread_id=thread.id).data
    assert (step.type, step.status) == ("message_creation", "completed")
    assert step.step_details.type == "message_creation"
    assert step.usage is not None
    assert step.usage.model_dump() == run.usage.model_dump()
    assert runs.steps.retrieve(step.id, thread_id=thread.id, run_id=run.id) == step
    answer = client.beta.threads.messages.retrieve(
        step.step_details.message_creation.message_id, thread_id=thread.id
    )
    assert (_text(answer), answer.run_id, answer.status) == ("hello world", run.id, "completed")


def test_submit_tool_outputs_and_poll(client: openai.OpenAI) -> None:
    runs = client.beta.threads.runs
    assistant = _assistant(client, "tools calls=2", tools=[WEATHER])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "weather?"}])
    run = runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=POLL_MS
    )
    assert run.status == "requires_action"
    assert run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [c.function.name for c in calls] == ["get_weather"] * 2
    outputs: list[ToolOutput] = [
        {"tool_call_id": c.id, "output": f"sunny-{i}"} for i, c in enumerate(calls)
    ]
    done = runs.submit_tool_outputs_and_poll(
        tool_outputs=outputs, run_id=run.id, thread_id=thread.id, poll_interval_ms=POLL_MS
    )
    assert done.status == "completed"
    steps = runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    assert [(s.type, s.status) for s in steps] == [
        ("tool_calls", "completed"),
        ("message_creation", "completed"),
    ]
    details = steps[0].step_details
    assert details.type == "tool_calls"
    functions = [c.function for c in details.tool_calls if c.type == "function"]
    assert [(f.name, f.output) for f in functions] == [
        ("get_weather", "sunny-0"),
        ("get_weather", "sunny-1"),
    ]
    assert [c.id for c in details.tool_calls] == [c.id for c in calls]
    (answer,) = client.beta.threads.messages.list(thread.id, run_id=run.id).data
    assert _text(answer) == "get_weather: sunny-0; get_weather: sunny-1"


# --- runs, streamed -----------------------------------------------------------------------------


class Recorder(AssistantEventHandler):
    """Records what the handlers see: the tool calls' lifecycles, text and steps."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []
        self.created: list[ToolCall] = []
        self.deltas: dict[int, list[str]] = {}
        self.done: list[ToolCall] = []
        self.text = ""
        self.steps_done: list[RunStep] = []

    def on_tool_call_created(self, tool_call: ToolCall) -> None:
        self.seen.append(f"created {tool_call.id}")
        self.created.append(tool_call.model_copy(deep=True))

    def on_tool_call_delta(self, delta: ToolCallDelta, snapshot: ToolCall) -> None:
        assert delta.type == "function"
        assert delta.function is not None
        assert delta.function.arguments
        self.seen.append(f"delta {delta.index}")
        self.deltas.setdefault(delta.index, []).append(delta.function.arguments)

    def on_tool_call_done(self, tool_call: ToolCall) -> None:
        self.seen.append(f"done {tool_call.id}")
        self.done.append(tool_call)

    def on_text_delta(self, delta: TextDelta, snapshot: Text) -> None:
        self.text += delta.value or ""

    def on_run_step_done(self, run_step: RunStep) -> None:
        self.steps_done.append(run_step)


def test_stream_with_an_event_handler_fires_the_tool_call_handlers(client: openai.OpenAI) -> None:
    runs = client.beta.threads.runs
    assistant = _assistant(client, "tools calls=2 chunks=3", tools=[WEATHER])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "weather?"}])
    first = Recorder()
    with runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=first) as s:
        s.until_done()
        run = s.get_final_run()
    assert run.status == "requires_action"
    assert run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    ids = [c.id for c in calls]
    assert first.seen[0] == f"created {ids[0]}"
    assert first.seen.index(f"done {ids[0]}") < first.seen.index(f"created {ids[1]}")
    assert first.seen[-1] == f"done {ids[1]}"
    for index, call in enumerate(calls):
        created = first.created[index]
        assert created.type == "function"
        assert (created.id, created.function.name) == (call.id, "get_weather")
        assert created.function.arguments == ""
        assert len(first.deltas[index]) == 3  # the arguments in pieces
        assert "".join(first.deltas[index]) == call.function.arguments
        done = first.done[index]
        assert done.type == "function"
        assert done.function.arguments == call.function.arguments

    second = Recorder()
    outputs: list[ToolOutput] = [{"tool_call_id": i, "output": "rain"} for i in ids]
    with runs.submit_tool_outputs_stream(
        tool_outputs=outputs, run_id=run.id, thread_id=thread.id, event_handler=second
    ) as s:
        s.until_done()
        final = s.get_final_run()
        (message,) = s.get_final_messages()
    assert final.status == "completed"
    assert second.text == _text(message) == "get_weather: rain; get_weather: rain"
    assert [(s.type, s.status) for s in second.steps_done] == [
        ("tool_calls", "completed"),
        ("message_creation", "completed"),
    ]
    assert second.created == []  # the calls were the first stream's


def test_text_deltas_of_a_streamed_run(client: openai.OpenAI) -> None:
    assistant = _assistant(client, "echo chunks=4")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "abcdefgh"}])
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as s:
        pieces = list(s.text_deltas)
        (step,) = s.get_final_run_steps()  # as created: the helper only applies deltas
        run = s.get_final_run()
    assert pieces == ["ab", "cd", "ef", "gh"]
    assert step.type == "message_creation"
    got = client.beta.threads.runs.steps.retrieve(step.id, thread_id=thread.id, run_id=run.id)
    assert (got.status, got.completed_at is not None) == ("completed", True)


def test_the_async_client_streams_and_polls(emulator: Emulator) -> None:
    class Calls(AsyncAssistantEventHandler):
        def __init__(self) -> None:
            super().__init__()
            self.arguments: list[str] = []

        async def on_tool_call_delta(self, delta: ToolCallDelta, snapshot: ToolCall) -> None:
            assert delta.type == "function"
            if delta.function is not None and delta.function.arguments:
                self.arguments.append(delta.function.arguments)

    async def main() -> tuple[Run, Calls]:
        async with openai.AsyncOpenAI(
            api_key=KEY, base_url=emulator.openai_base_url, timeout=TIMEOUT
        ) as client:
            runs = client.beta.threads.runs
            assistant = await client.beta.assistants.create(
                model="gpt-4o", tools=[WEATHER], metadata={"emulator": "tools chunks=2"}
            )
            thread = await client.beta.threads.create()
            handler = Calls()
            async with runs.stream(
                thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
            ) as stream:
                await stream.until_done()
                run = await stream.get_final_run()
            assert run.required_action is not None
            (call,) = run.required_action.submit_tool_outputs.tool_calls
            assert "".join(handler.arguments) == call.function.arguments
            done = await runs.submit_tool_outputs_and_poll(
                tool_outputs=[{"tool_call_id": call.id, "output": "ok"}],
                run_id=run.id,
                thread_id=thread.id,
                poll_interval_ms=POLL_MS,
            )
            return done, handler

    done, handler = asyncio.run(main())
    assert done.status == "completed"
    assert len(handler.arguments) == 2
