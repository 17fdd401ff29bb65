"""The emulator's OpenAI side answers every Assistants call per spec, with spec-valid events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pydantic
import pytest
from pydantic import BaseModel, TypeAdapter
from runbind_generated.openai import (
    AssistantObject,
    AssistantStreamEvent,
    DeleteAssistantResponse,
    DeleteMessageResponse,
    DeleteThreadResponse,
    ListAssistantsResponse,
    ListMessagesResponse,
    ListRunsResponse,
    ListRunStepsResponse,
    MessageObject,
    RunObject,
    RunStepObject,
    ThreadObject,
)
from runbind_generated.openai.models import UnknownAssistantStreamEvent

from runbind.emulator._http import EventStream, Request, Response
from runbind.emulator._openai import OpenAIApp
from runbind.emulator._state import CoreRun, Store
from tests._spec_version import OPENAI, generated, lacks

if TYPE_CHECKING:
    from runbind_generated.openai import ErrorResponse
elif lacks(f"{OPENAI}.ErrorResponse"):
    # Slices before 2026-08 have only Error: the same {"error": Error} shape, on its base.
    _ERROR = generated(OPENAI, "Error")
    ErrorResponse = pydantic.create_model(
        "ErrorResponse", __base__=_ERROR.__bases__[0], error=(_ERROR, ...)
    )
else:
    ErrorResponse = generated(OPENAI, "ErrorResponse")

Json = dict[str, Any]
Event = tuple[str, Any]

_EVENTS: TypeAdapter[Any] = TypeAdapter(AssistantStreamEvent)
_UNSET = object()

MESSAGE_EVENTS = [
    "thread.run.step.created",
    "thread.run.step.in_progress",
    "thread.message.created",
    "thread.message.in_progress",
]
TOOL_STEP = ["thread.run.step.created", "thread.run.step.in_progress"]


def _from_deltas(step_id: str, deltas: list[Json]) -> list[Json]:
    """The tool calls a step's deltas add up to, as openai-python accumulates them: a call's
    first delta (its index new) brings id, name and empty arguments, the next ones text."""
    calls: list[Json] = []
    for delta in deltas:
        assert delta["id"] == step_id
        assert delta["object"] == "thread.run.step.delta"
        (part,) = delta["delta"]["step_details"]["tool_calls"]
        if part["index"] == len(calls):
            assert part["function"]["arguments"] == ""
            calls.append({k: v for k, v in part.items() if k != "index"})
        else:
            assert part["index"] == len(calls) - 1
            assert set(part) == {"index", "type", "function"}
            assert set(part["function"]) == {"arguments"}
            assert part["function"]["arguments"]
            calls[-1]["function"]["arguments"] += part["function"]["arguments"]
    return calls


def _conforms(model: type[BaseModel], body: Json) -> None:
    """``body`` validates as ``model`` and carries exactly its fields (absent ones as null)."""
    model.model_validate(body)
    assert set(body) == set(model.model_fields), model.__name__


class Client:
    """Calls an :class:`OpenAIApp` in-process and checks what it answers."""

    def __init__(self) -> None:
        self.store = Store()
        self.tasks: set[asyncio.Task[None]] = set()
        self.app = OpenAIApp(self.store, self.tasks)

    async def call(
        self,
        method: str,
        path: str,
        body: Any = _UNSET,
        *,
        raw: bytes | None = None,
        query: dict[str, str] | None = None,
    ) -> Response | EventStream:
        """The app's answer to one request."""
        data = raw if raw is not None else b"" if body is _UNSET else json.dumps(body).encode()
        pairs = tuple((query or {}).items())
        return await self.app(Request(method, path, query or {}, {}, data, pairs))

    async def ok(
        self,
        method: str,
        path: str,
        model: type[BaseModel],
        body: Any = _UNSET,
        query: dict[str, str] | None = None,
    ) -> Json:
        """A 200 JSON answer, checked against ``model``."""
        response = await self.call(method, path, body, query=query)
        assert isinstance(response, Response)
        assert response.status == 200, response.body
        assert dict(response.headers)["content-type"] == "application/json"
        value: Json = json.loads(response.body)
        _conforms(model, value)
        return value

    async def fails(
        self,
        status: int,
        method: str,
        path: str,
        body: Any = _UNSET,
        *,
        raw: bytes | None = None,
        query: dict[str, str] | None = None,
    ) -> Json:
        """An error answer with ``status``: the spec's error object (returns its ``error``)."""
        response = await self.call(method, path, body, raw=raw, query=query)
        assert isinstance(response, Response)
        assert response.status == status, response.body
        value = json.loads(response.body)
        ErrorResponse.model_validate(value)
        error: Json = value["error"]
        assert error["type"] == "invalid_request_error"
        assert error["code"] is None
        assert error["message"]
        return error

    async def stream(self, method: str, path: str, body: Json) -> list[Event]:
        """Every event of an SSE answer, each checked as an ``AssistantStreamEvent``."""
        response = await self.call(method, path, body)
        assert isinstance(response, EventStream)
        assert response.status == 200
        events = []
        async with asyncio.timeout(5):
            async for frame in response.frames:
                events.append(_event(frame))
        assert events[-1] == ("done", "[DONE]")
        assert all(name != "done" for name, _ in events[:-1])
        return events

    async def assistant(self, script: str, **extra: Any) -> Json:
        """A new assistant following ``script``."""
        body = {"model": "gpt-4o", "metadata": {"emulator": script}, **extra}
        return await self.ok("POST", "/v1/assistants", AssistantObject, body)

    async def thread(self, text: str = "hello there world") -> Json:
        """A new thread with one user message."""
        body = {"messages": [{"role": "user", "content": text}]}
        return await self.ok("POST", "/v1/threads", ThreadObject, body)

    async def start(self, thread_id: str, assistant_id: str, **extra: Any) -> Json:
        """A run created without streaming."""
        path = f"/v1/threads/{thread_id}/runs"
        return await self.ok("POST", path, RunObject, {"assistant_id": assistant_id, **extra})

    def core(self, run_id: str) -> CoreRun:
        """The core state of a run."""
        run = self.store.runs.get(run_id)
        assert run is not None
        return run

    async def until(self, run_id: str, check: Callable[[CoreRun], bool]) -> None:
        """Wait (at most 5 s) until ``check`` holds for the run."""
        run = self.core(run_id)
        async with asyncio.timeout(5), run.changed:
            await run.changed.wait_for(lambda: check(run))

    async def finish(self, thread_id: str, run_id: str) -> Json:
        """The run once its task has ended."""
        task = self.core(run_id).task
        assert task is not None
        await asyncio.wait_for(asyncio.shield(task), 5)
        return await self.ok("GET", f"/v1/threads/{thread_id}/runs/{run_id}", RunObject)

    async def messages(self, thread_id: str, **query: str) -> Json:
        """A page of a thread's messages."""
        path = f"/v1/threads/{thread_id}/messages"
        return await self.ok("GET", path, ListMessagesResponse, query=query)


def _event(frame: bytes) -> Event:
    lines = frame.decode().split("\n")
    assert frame.endswith(b"\n\n")
    assert lines[0].startswith("event: ")
    name = lines[0].removeprefix("event: ")
    data = "\n".join(line.removeprefix("data: ") for line in lines[1:] if line)
    payload: Any = data if name == "done" else json.loads(data)
    parsed = _EVENTS.validate_python({"event": name, "data": payload})
    assert not isinstance(parsed, UnknownAssistantStreamEvent), name
    return name, payload


def scenario(test: Callable[[Client], Awaitable[None]]) -> None:
    """Run ``test`` against a fresh app on a fresh event loop."""

    async def main() -> None:
        await test(Client())

    asyncio.run(main())


def names(events: list[Event]) -> list[str]:
    """The event names."""
    return [name for name, _ in events]


def _calls(run: Json) -> list[Json]:
    calls: list[Json] = run["required_action"]["submit_tool_outputs"]["tool_calls"]
    return calls


# --- lifecycles ---------------------------------------------------------------------------


def test_echo_run_without_streaming_completes_with_the_echoed_answer() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant(
            "echo delay=0", instructions="be brief", temperature=0.5, name="echoer"
        )
        assert assistant["id"].startswith("asst_")
        assert assistant["name"] == "echoer"
        assert assistant["response_format"] == "auto"
        thread = await c.thread("one two three four")
        assert thread["id"].startswith("thread_")
        run = await c.start(thread["id"], assistant["id"], metadata={"k": "v"}, top_p=0.5)
        assert run["id"].startswith("run_")
        assert run["status"] == "queued"
        assert run["model"] == "gpt-4o"
        assert run["instructions"] == "be brief"
        assert (run["temperature"], run["top_p"]) == (0.5, 0.5)
        assert run["metadata"] == {"k": "v"}
        assert run["tool_choice"] == "auto"
        assert run["parallel_tool_calls"] is True
        assert run["truncation_strategy"] == {"type": "auto", "last_messages": None}
        assert run["expires_at"] is not None
        assert run["required_action"] is None
        assert run["usage"] is None
        done = await c.finish(thread["id"], run["id"])
        assert done["status"] == "completed"
        assert done["started_at"] is not None
        assert done["completed_at"] is not None
        assert done["expires_at"] is None
        assert done["usage"]["total_tokens"] == 8
        page = await c.messages(thread["id"], order="asc")
        user, answer = page["data"]
        assert user["role"] == "user"
        assert user["run_id"] is None
        assert answer["role"] == "assistant"
        assert answer["id"].startswith("msg_")
        assert answer["status"] == "completed"
        assert answer["run_id"] == run["id"]
        assert answer["assistant_id"] == assistant["id"]
        assert answer["content"] == [
            {"type": "text", "text": {"value": "one two three four", "annotations": []}}
        ]
        one = await c.ok(
            "GET", f"/v1/threads/{thread['id']}/messages/{answer['id']}", MessageObject
        )
        assert one == answer

    scenario(test)


def test_echo_stream_has_the_spec_order_and_only_deltas() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("echo chunks=3 delay=0")
        thread = await c.thread("abcdefghi")
        events = await c.stream(
            "POST",
            f"/v1/threads/{thread['id']}/runs",
            {"assistant_id": assistant["id"], "stream": True},
        )
        assert names(events) == [
            "thread.run.created",
            "thread.run.queued",
            "thread.run.in_progress",
            *MESSAGE_EVENTS,
            "thread.message.delta",
            "thread.message.delta",
            "thread.message.delta",
            "thread.message.completed",
            "thread.run.step.completed",
            "thread.run.completed",
            "done",
        ]
        deltas = [d["delta"]["content"] for n, d in events if n == "thread.message.delta"]
        assert [d[0]["text"]["value"] for d in deltas] == ["abc", "def", "ghi"]
        assert all(d[0]["index"] == 0 and "role" not in d[0] for d in deltas)
        step = events[3][1]
        assert step["type"] == "message_creation"
        assert step["id"].startswith("step_")
        created = events[5][1]
        assert created["status"] == "in_progress"
        assert created["content"] == []
        assert step["step_details"]["message_creation"]["message_id"] == created["id"]
        completed = events[-4][1]
        assert completed["content"][0]["text"]["value"] == "abcdefghi"
        assert completed["completed_at"] is not None
        step_done = events[-3][1]
        assert step_done["status"] == "completed"
        assert step_done["usage"] is not None
        assert events[-2][1]["status"] == "completed"

    scenario(test)


def test_tools_stream_pauses_then_submit_stream_finishes_the_run() -> None:
    async def test(c: Client) -> None:
        tools = [
            {"type": "function", "function": {"name": "get_time"}},
            {"type": "function", "function": {"name": "get_place"}},
        ]
        assistant = await c.assistant("tools calls=3 delay=0", tools=tools)
        thread = await c.thread()
        runs = f"/v1/threads/{thread['id']}/runs"
        first = await c.stream("POST", runs, {"assistant_id": assistant["id"], "stream": True})
        deltas = [d for n, d in first if n == "thread.run.step.delta"]
        assert names(first) == [
            "thread.run.created",
            "thread.run.queued",
            "thread.run.in_progress",
            *TOOL_STEP,
            *["thread.run.step.delta"] * len(deltas),
            "thread.run.requires_action",
            "done",
        ]
        run = first[-2][1]
        calls = _calls(run)
        assert [call["function"]["name"] for call in calls] == ["get_time", "get_place", "get_time"]
        assert len({call["id"] for call in calls}) == 3
        assert all(call["id"].startswith("call_") for call in calls)
        assert json.loads(calls[2]["function"]["arguments"])["index"] == 2
        step = first[3][1]
        assert step["type"] == "tool_calls"
        assert step["step_details"]["tool_calls"] == []  # the calls follow in deltas
        assert _from_deltas(step["id"], deltas) == [
            {**call, "function": {**call["function"], "output": None}} for call in calls
        ]
        got = await c.ok("GET", f"{runs}/{run['id']}/steps/{step['id']}", RunStepObject)
        assert got["status"] == "in_progress"
        assert got["usage"] is None
        assert [t["id"] for t in got["step_details"]["tool_calls"]] == [c["id"] for c in calls]
        current = await c.ok("GET", f"{runs}/{run['id']}", RunObject)
        assert current["status"] == "requires_action"
        assert _calls(current) == calls

        outputs = [
            {"tool_call_id": call["id"], "output": f"out{i}"} for i, call in enumerate(calls)
        ]
        second = await c.stream(
            "POST",
            f"{runs}/{run['id']}/submit_tool_outputs",
            {"tool_outputs": outputs[::-1], "stream": True},
        )
        assert names(second)[:3] == [
            "thread.run.step.completed",
            "thread.run.queued",
            "thread.run.in_progress",
        ]
        assert names(second)[3:7] == MESSAGE_EVENTS
        assert names(second)[-4:] == [
            "thread.message.completed",
            "thread.run.step.completed",
            "thread.run.completed",
            "done",
        ]
        done_step = second[0][1]
        assert done_step["id"] == step["id"]
        assert done_step["status"] == "completed"
        tool_calls = done_step["step_details"]["tool_calls"]
        assert [t["function"]["output"] for t in tool_calls] == ["out0", "out1", "out2"]
        answer = second[-4][1]["content"][0]["text"]["value"]
        assert answer == "get_time: out0; get_place: out1; get_time: out2"
        assert second[-2][1]["required_action"] is None
        tool_usage = done_step["usage"]
        assert tool_usage["completion_tokens"] > 0
        message_usage = second[-3][1]["usage"]
        run_usage = second[-2][1]["usage"]
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            assert run_usage[key] == tool_usage[key] + message_usage[key]
        steps = await c.ok("GET", f"{runs}/{run['id']}/steps", ListRunStepsResponse)
        assert [s["id"] for s in steps["data"]] == [second[-3][1]["id"], step["id"]]
        assert steps["data"][1] == done_step
        assert steps["data"][0] == second[-3][1]

    scenario(test)


def test_tools_without_streaming_and_run_tools_override_the_assistant() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant(
            "tools calls=2 delay=0", tools=[{"type": "function", "function": {"name": "a"}}]
        )
        thread = await c.thread()
        override = [{"type": "function", "function": {"name": "lookup", "description": "d"}}]
        run = await c.start(thread["id"], assistant["id"], tools=override)
        assert run["tools"][0]["function"]["name"] == "lookup"
        await c.until(run["id"], lambda r: r.waiting_for_results)
        path = f"/v1/threads/{thread['id']}/runs/{run['id']}"
        waiting = await c.ok("GET", path, RunObject)
        calls = _calls(waiting)
        assert [call["function"]["name"] for call in calls] == ["lookup", "lookup"]
        outputs = [{"tool_call_id": call["id"], "output": "x"} for call in calls]
        submitted = await c.ok(
            "POST", f"{path}/submit_tool_outputs", RunObject, {"tool_outputs": outputs}
        )
        assert submitted["status"] != "requires_action"
        assert submitted["required_action"] is None
        done = await c.finish(thread["id"], run["id"])
        assert done["status"] == "completed"
        await c.fails(400, "POST", f"{path}/submit_tool_outputs", {"tool_outputs": outputs})
        page = await c.messages(thread["id"], run_id=run["id"])
        assert [m["content"][0]["text"]["value"] for m in page["data"]] == ["lookup: x; lookup: x"]

    scenario(test)


def test_fail_ends_failed_with_the_scripted_error() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("fail code=rate_limit_exceeded message=too_many delay=0")
        thread = await c.thread()
        events = await c.stream(
            "POST",
            f"/v1/threads/{thread['id']}/runs",
            {"assistant_id": assistant["id"], "stream": True},
        )
        assert names(events) == [
            "thread.run.created",
            "thread.run.queued",
            "thread.run.in_progress",
            "thread.run.failed",
            "done",
        ]
        failed = events[-2][1]
        assert failed["last_error"] == {"code": "rate_limit_exceeded", "message": "too many"}
        assert failed["failed_at"] is not None
        got = await c.ok("GET", f"/v1/threads/{thread['id']}/runs/{failed['id']}", RunObject)
        assert got["status"] == "failed"
        assert got["last_error"] == failed["last_error"]

    scenario(test)


def test_fail_after_partial_answer_leaves_the_message_incomplete() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("fail chunks=2 delay=0")
        thread = await c.thread("abcd")
        events = await c.stream(
            "POST",
            f"/v1/threads/{thread['id']}/runs",
            {"assistant_id": assistant["id"], "stream": True},
        )
        assert names(events)[3:] == [
            *MESSAGE_EVENTS,
            "thread.message.delta",
            "thread.message.delta",
            "thread.message.incomplete",
            "thread.run.step.failed",
            "thread.run.failed",
            "done",
        ]
        message = events[-4][1]
        assert message["status"] == "incomplete"
        assert message["incomplete_details"] == {"reason": "run_failed"}
        assert message["content"][0]["text"]["value"] == "abcd"
        step = events[-3][1]
        assert step["last_error"]["code"] == "server_error"
        assert step["failed_at"] is not None
        page = await c.messages(thread["id"])
        assert page["data"][0]["status"] == "incomplete"

    scenario(test)


def test_slow_run_is_cancelled_on_request() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("slow seconds=30 delay=0")
        thread = await c.thread()
        run = await c.start(thread["id"], assistant["id"])
        await c.until(run["id"], lambda r: r.status == "in_progress")
        path = f"/v1/threads/{thread['id']}/runs/{run['id']}"
        cancelling = await c.ok("POST", f"{path}/cancel", RunObject)
        assert cancelling["status"] == "cancelling"
        async with asyncio.timeout(5):
            done = await c.finish(thread["id"], run["id"])
        assert done["status"] == "cancelled"
        assert done["cancelled_at"] is not None
        events = c.core(run["id"]).events
        assert [name for name, _ in events][-2:] == [
            "thread.run.cancelling",
            "thread.run.cancelled",
        ]
        assert json.loads(events[-1][1])["cancelled_at"] is not None
        error = await c.fails(400, "POST", f"{path}/cancel")
        assert "cancelled" in error["message"]

    scenario(test)


def test_cancel_while_waiting_for_tool_outputs_cancels_the_tool_step() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("tools delay=0")
        thread = await c.thread()
        runs = f"/v1/threads/{thread['id']}/runs"
        first = await c.stream("POST", runs, {"assistant_id": assistant["id"], "stream": True})
        run = first[-2][1]
        assert _calls(run)[0]["function"]["name"] == "get_weather"
        await c.ok("POST", f"{runs}/{run['id']}/cancel", RunObject)
        done = await c.finish(thread["id"], run["id"])
        assert done["status"] == "cancelled"
        tail = [name for name, _ in c.core(run["id"]).events][-3:]
        assert tail == [
            "thread.run.cancelling",
            "thread.run.step.cancelled",
            "thread.run.cancelled",
        ]
        await c.fails(
            400,
            "POST",
            f"{runs}/{run['id']}/submit_tool_outputs",
            {"tool_outputs": [{"tool_call_id": _calls(run)[0]["id"], "output": "x"}]},
        )

    scenario(test)


def test_incomplete_run_reports_max_completion_tokens() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("incomplete chunks=4 delay=0")
        thread = await c.thread("abcdefgh")
        events = await c.stream(
            "POST",
            f"/v1/threads/{thread['id']}/runs",
            {"assistant_id": assistant["id"], "stream": True},
        )
        assert names(events)[-6:] == [
            "thread.message.delta",
            "thread.message.delta",
            "thread.message.incomplete",
            "thread.run.step.completed",
            "thread.run.incomplete",
            "done",
        ]
        run = events[-2][1]
        assert run["incomplete_details"] == {"reason": "max_completion_tokens"}
        message = events[-4][1]
        assert message["incomplete_details"] == {"reason": "max_tokens"}
        assert message["content"][0]["text"]["value"] == "abcd"

    scenario(test)


def test_expire_run_expires_when_no_outputs_come() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("expire seconds=0.05 delay=0")
        thread = await c.thread()
        run = await c.start(thread["id"], assistant["id"])
        done = await c.finish(thread["id"], run["id"])
        assert done["status"] == "expired"
        assert done["required_action"] is None
        assert done["expires_at"] is None
        tail = [name for name, _ in c.core(run["id"]).events][-3:]
        assert tail == [
            "thread.run.requires_action",
            "thread.run.step.expired",
            "thread.run.expired",
        ]
        for name, data in c.core(run["id"]).events:
            _event(f"event: {name}\ndata: {data}\n\n".encode())
        await c.fails(
            400,
            "POST",
            f"/v1/threads/{thread['id']}/runs/{run['id']}/submit_tool_outputs",
            {"tool_outputs": []},
        )

    scenario(test)


def test_create_thread_and_run_streams_thread_created_first() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("echo chunks=1 delay=0")
        events = await c.stream(
            "POST",
            "/v1/threads/runs",
            {
                "assistant_id": assistant["id"],
                "stream": True,
                "thread": {"messages": [{"role": "user", "content": "hi"}], "metadata": {"a": "b"}},
            },
        )
        assert names(events)[:3] == ["thread.created", "thread.run.created", "thread.run.queued"]
        thread = events[0][1]
        assert thread["metadata"] == {"a": "b"}
        assert events[1][1]["thread_id"] == thread["id"]
        assert names(events)[-2] == "thread.run.completed"
        got = await c.ok("GET", f"/v1/threads/{thread['id']}", ThreadObject)
        assert got["id"] == thread["id"]
        plain = await c.ok("POST", "/v1/threads/runs", RunObject, {"assistant_id": assistant["id"]})
        assert plain["status"] == "queued"
        assert plain["thread_id"] != thread["id"]

    scenario(test)


def test_messages_keep_content_parts_metadata_and_attachments() -> None:
    async def test(c: Client) -> None:
        thread = await c.ok("POST", "/v1/threads", ThreadObject)
        body = {
            "role": "user",
            "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
            ],
            "attachments": [{"file_id": "file_1", "tools": [{"type": "file_search"}]}],
            "metadata": {"m": "1"},
        }
        path = f"/v1/threads/{thread['id']}/messages"
        message = await c.ok("POST", path, MessageObject, body)
        assert message["content"][0] == {
            "type": "text",
            "text": {"value": "look", "annotations": []},
        }
        assert message["content"][1]["image_url"]["url"] == "https://example.com/a.png"
        assert message["attachments"][0]["file_id"] == "file_1"
        assert message["metadata"] == {"m": "1"}
        assert message["status"] == "completed"
        assistant = await c.assistant("echo delay=0")
        run = await c.start(thread["id"], assistant["id"])
        await c.finish(thread["id"], run["id"])
        page = await c.messages(thread["id"])
        assert page["data"][0]["content"][0]["text"]["value"] == "look"

    scenario(test)


def test_additional_messages_and_instructions_join_the_run() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("echo delay=0", instructions="base")
        thread = await c.ok("POST", "/v1/threads", ThreadObject)
        run = await c.start(
            thread["id"],
            assistant["id"],
            instructions="override",
            additional_instructions="more",
            additional_messages=[{"role": "user", "content": "extra words"}],
            model="gpt-4.1",
            tool_choice="none",
            parallel_tool_calls=False,
            response_format={"type": "json_object"},
            max_completion_tokens=300,
            truncation_strategy={"type": "last_messages", "last_messages": 3},
        )
        assert run["instructions"] == "override\nmore"
        assert run["model"] == "gpt-4.1"
        assert run["tool_choice"] == "none"
        assert run["parallel_tool_calls"] is False
        assert run["response_format"] == {"type": "json_object"}
        assert run["max_completion_tokens"] == 300
        assert run["truncation_strategy"] == {"type": "last_messages", "last_messages": 3}
        await c.finish(thread["id"], run["id"])
        page = await c.messages(thread["id"], order="asc")
        assert [m["content"][0]["text"]["value"] for m in page["data"]] == ["extra words"] * 2

    scenario(test)


def test_modify_run_replaces_its_metadata() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("echo delay=0")
        thread = await c.thread()
        run = await c.start(thread["id"], assistant["id"], metadata={"a": "1"})
        path = f"/v1/threads/{thread['id']}/runs/{run['id']}"
        changed = await c.ok("POST", path, RunObject, {"metadata": {"b": "2"}})
        assert changed["metadata"] == {"b": "2"}
        kept = await c.ok("POST", path, RunObject, {})
        assert kept["metadata"] == {"b": "2"}
        got = await c.ok("GET", path, RunObject)
        assert got["metadata"] == {"b": "2"}
        error = await c.fails(400, "POST", path, {"metadata": {"b": 2}})
        assert error["param"] == "metadata.b"
        error = await c.fails(400, "POST", path, {"status": "completed"})
        assert error["param"] == "status"

    scenario(test)


def test_delete_thread_and_assistant() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("slow seconds=30 delay=0")
        thread = await c.thread()
        run = await c.start(thread["id"], assistant["id"])
        gone = await c.ok("DELETE", f"/v1/threads/{thread['id']}", DeleteThreadResponse)
        assert gone == {"id": thread["id"], "object": "thread.deleted", "deleted": True}
        await c.fails(404, "GET", f"/v1/threads/{thread['id']}")
        await c.fails(404, "GET", f"/v1/threads/{thread['id']}/runs/{run['id']}")
        task = c.core(run["id"]).task
        assert task is not None
        await asyncio.wait_for(task, 5)
        assert c.core(run["id"]).status == "cancelled"
        path = f"/v1/assistants/{assistant['id']}"
        got = await c.ok("GET", path, AssistantObject)
        assert got == assistant
        deleted = await c.ok("DELETE", path, DeleteAssistantResponse)
        assert deleted == {"id": assistant["id"], "object": "assistant.deleted", "deleted": True}
        error = await c.fails(404, "GET", path)
        assert error["message"] == f"No assistant found with id '{assistant['id']}'."

    scenario(test)


def test_modify_assistant_changes_only_what_the_body_sets() -> None:
    async def test(c: Client) -> None:
        tools = [{"type": "function", "function": {"name": "lookup"}}]
        assistant = await c.assistant("echo delay=0", name="a", tools=tools, temperature=0.5)
        path = f"/v1/assistants/{assistant['id']}"
        changed = await c.ok(
            "POST",
            path,
            AssistantObject,
            {"name": None, "description": "d", "metadata": {"emulator": "tools delay=0"}},
        )
        assert changed == {
            **assistant,
            "name": None,
            "description": "d",
            "metadata": {"emulator": "tools delay=0"},
        }
        assert await c.ok("GET", path, AssistantObject) == changed
        assert await c.ok("POST", path, AssistantObject, {"metadata": None}) == changed
        # the new behaviour holds for the next run: tools now
        thread = await c.thread()
        run = await c.start(thread["id"], assistant["id"])
        await c.until(run["id"], lambda r: r.waiting_for_results)
        assert _calls(await c.ok("GET", f"/v1/threads/{thread['id']}/runs/{run['id']}", RunObject))
        moved = await c.ok("POST", path, AssistantObject, {"model": "gpt-4.1", "tools": []})
        assert (moved["model"], moved["tools"], moved["temperature"]) == ("gpt-4.1", [], 0.5)
        for body, param in [
            ({"colour": "red"}, "colour"),
            ({"tools": None}, "tools"),
            ({"temperature": 3}, "temperature"),
            ({"metadata": {"emulator": "dance"}}, "metadata.emulator"),
            ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ]:
            error = await c.fails(400, "POST", path, body)
            assert error["param"] == param, body
        assert await c.ok("GET", path, AssistantObject) == moved
        await c.fails(404, "POST", "/v1/assistants/asst_nope", {"name": "x"})

    scenario(test)


def test_modify_thread_and_message_replace_their_metadata() -> None:
    async def test(c: Client) -> None:
        thread = await c.thread()
        path = f"/v1/threads/{thread['id']}"
        resources = {"code_interpreter": {"file_ids": ["f1"]}}
        changed = await c.ok(
            "POST", path, ThreadObject, {"metadata": {"a": "1"}, "tool_resources": resources}
        )
        assert changed == {**thread, "metadata": {"a": "1"}, "tool_resources": resources}
        kept = await c.ok("POST", path, ThreadObject, {"metadata": None})
        assert kept == changed
        cleared = await c.ok("POST", path, ThreadObject, {"tool_resources": None})
        assert cleared["tool_resources"] == {}
        assert await c.ok("GET", path, ThreadObject) == cleared
        error = await c.fails(400, "POST", path, {"messages": []})
        assert error["param"] == "messages"
        (message,) = (await c.messages(thread["id"]))["data"]
        where = f"{path}/messages/{message['id']}"
        tagged = await c.ok("POST", where, MessageObject, {"metadata": {"m": "2"}})
        assert tagged == {**message, "metadata": {"m": "2"}}
        assert await c.ok("GET", where, MessageObject) == tagged
        error = await c.fails(400, "POST", where, {"content": "new"})
        assert error["param"] == "content"
        await c.fails(404, "POST", f"{path}/messages/msg_nope", {})
        await c.fails(404, "POST", "/v1/threads/thread_nope", {})

    scenario(test)


def test_delete_message_but_not_the_answer_of_an_active_run() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("echo chunks=3 delay=0.2")
        thread = await c.thread("one")
        path = f"/v1/threads/{thread['id']}/messages"
        second = await c.ok("POST", path, MessageObject, {"role": "user", "content": "two"})
        gone = await c.ok("DELETE", f"{path}/{second['id']}", DeleteMessageResponse)
        assert gone == {"id": second["id"], "object": "thread.message.deleted", "deleted": True}
        await c.fails(404, "GET", f"{path}/{second['id']}")
        await c.fails(404, "DELETE", f"{path}/{second['id']}")
        assert [m["id"] for m in (await c.messages(thread["id"]))["data"]] != [second["id"]]
        run = await c.start(thread["id"], assistant["id"])
        await c.until(run["id"], lambda r: r.answer is not None)
        answer = c.core(run["id"]).answer
        assert answer is not None
        error = await c.fails(400, "DELETE", f"{path}/{answer.id}")
        assert run["id"] in error["message"]
        await c.finish(thread["id"], run["id"])
        await c.ok("DELETE", f"{path}/{answer.id}", DeleteMessageResponse)
        texts = [m["content"][0]["text"]["value"] for m in (await c.messages(thread["id"]))["data"]]
        assert texts == ["one"]

    scenario(test)


# --- run steps ------------------------------------------------------------------------------


def test_run_steps_list_and_retrieve_with_their_own_statuses() -> None:
    async def test(c: Client) -> None:
        thread = await c.thread()
        runs = f"/v1/threads/{thread['id']}/runs"
        ended: dict[str, tuple[str, ...]] = {}
        for script, want in [
            ("echo delay=0", ("completed",)),
            ("fail chunks=1 delay=0", ("failed",)),
            ("expire seconds=0.05 delay=0", ("expired",)),
            ("tools calls=2 delay=0", ("in_progress",)),
        ]:
            assistant = await c.assistant(script)
            run = await c.start(thread["id"], assistant["id"])
            if want == ("in_progress",):
                await c.until(run["id"], lambda r: r.waiting_for_results)
            else:
                await c.finish(thread["id"], run["id"])
            page = await c.ok("GET", f"{runs}/{run['id']}/steps", ListRunStepsResponse)
            ended[script] = tuple(s["status"] for s in page["data"])
            assert ended[script] == want, script
            for step in page["data"]:
                assert step["run_id"] == run["id"]
                assert step["thread_id"] == thread["id"]
                assert step["assistant_id"] == assistant["id"]
                done = step["status"] == "completed"
                assert (step["usage"] is not None) is done
                assert (step["completed_at"] is not None) is done
                assert (step["failed_at"] is not None) is (step["status"] == "failed")
                assert (step["expired_at"] is not None) is (step["status"] == "expired")
                assert (step["last_error"] is not None) is (step["status"] == "failed")
                one = await c.ok("GET", f"{runs}/{run['id']}/steps/{step['id']}", RunStepObject)
                assert one == step
        # the waiting run: cancelled, its step too
        await c.ok("POST", f"{runs}/{run['id']}/cancel", RunObject)
        await c.finish(thread["id"], run["id"])
        page = await c.ok("GET", f"{runs}/{run['id']}/steps", ListRunStepsResponse)
        (step,) = page["data"]
        assert (step["status"], step["type"]) == ("cancelled", "tool_calls")
        assert step["cancelled_at"] is not None
        calls = step["step_details"]["tool_calls"]
        assert [(t["type"], t["function"]["output"]) for t in calls] == [("function", None)] * 2

    scenario(test)


def test_run_steps_page_like_every_list_and_refuse_unknown_ids() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("tools delay=0")
        thread = await c.thread()
        run = await c.start(thread["id"], assistant["id"])
        await c.until(run["id"], lambda r: r.waiting_for_results)
        runs = f"/v1/threads/{thread['id']}/runs"
        (call,) = _calls(await c.ok("GET", f"{runs}/{run['id']}", RunObject))
        outputs = {"tool_outputs": [{"tool_call_id": call["id"], "output": "x"}]}
        await c.ok("POST", f"{runs}/{run['id']}/submit_tool_outputs", RunObject, outputs)
        await c.finish(thread["id"], run["id"])
        steps = f"{runs}/{run['id']}/steps"
        newest = await c.ok("GET", steps, ListRunStepsResponse)
        kinds = [s["type"] for s in newest["data"]]
        assert kinds == ["message_creation", "tool_calls"]  # newest first by default
        ids = [s["id"] for s in newest["data"]]
        oldest = await c.ok(
            "GET", steps, ListRunStepsResponse, query={"order": "asc", "limit": "1"}
        )
        assert ([s["id"] for s in oldest["data"]], oldest["has_more"]) == ([ids[1]], True)
        assert (oldest["first_id"], oldest["last_id"]) == (ids[1], ids[1])
        after = await c.ok(
            "GET", steps, ListRunStepsResponse, query={"order": "asc", "after": ids[1]}
        )
        assert ([s["id"] for s in after["data"]], after["has_more"]) == ([ids[0]], False)
        included = await c.call("GET", steps, query={"include[]": _GOOD_INCLUDE})
        assert isinstance(included, Response)
        assert included.status == 200
        error = await c.fails(400, "GET", steps, query={"include[]": "bogus"})
        assert error["param"] == "include[]"
        error = await c.fails(400, "GET", steps, query={"after": "step_nope"})
        assert error["param"] == "after"
        error = await c.fails(404, "GET", f"{steps}/step_nope")
        assert error["message"] == "No run step found with id 'step_nope'."
        other = await c.start(thread["id"], (await c.assistant("echo delay=0"))["id"])
        await c.fails(404, "GET", f"{runs}/{other['id']}/steps/{ids[0]}")
        await c.fails(404, "GET", f"{runs}/run_nope/steps")
        await c.fails(404, "GET", f"/v1/threads/thread_nope/runs/{run['id']}/steps")

    scenario(test)


# --- lists ----------------------------------------------------------------------------------


def test_run_list_pages_like_openai() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("echo delay=0")
        thread = await c.thread()
        path = f"/v1/threads/{thread['id']}/runs"
        empty = await c.call("GET", path)
        assert isinstance(empty, Response)
        assert json.loads(empty.body) == {
            "object": "list",
            "data": [],
            "first_id": None,
            "last_id": None,
            "has_more": False,
        }
        ids = []
        for _ in range(5):
            run = await c.start(thread["id"], assistant["id"])
            await c.finish(thread["id"], run["id"])
            ids.append(run["id"])

        async def page(**query: str) -> tuple[list[str], bool]:
            body = await c.ok("GET", path, ListRunsResponse, query=query)
            got = [r["id"] for r in body["data"]]
            assert (body["first_id"], body["last_id"]) == (got[0], got[-1])
            return got, body["has_more"]

        assert await page() == (ids[::-1], False)
        assert await page(order="asc", limit="2") == (ids[:2], True)
        assert await page(order="asc", limit="2", after=ids[1]) == (ids[2:4], True)
        assert await page(order="asc", limit="2", after=ids[3]) == (ids[4:], False)
        assert await page(limit="2") == ([ids[4], ids[3]], True)
        assert await page(limit="2", after=ids[3]) == ([ids[2], ids[1]], True)
        assert await page(order="asc", limit="2", before=ids[4]) == (ids[2:4], True)
        assert await page(order="asc", before=ids[2]) == (ids[:2], False)
        assert await page(limit="2", before=ids[0]) == ([ids[2], ids[1]], True)
        assert await page(order="asc", after=ids[0], before=ids[3]) == (ids[1:3], False)
        assert await page(limit="100") == (ids[::-1], False)

    scenario(test)


def test_message_and_assistant_lists_page_too() -> None:
    async def test(c: Client) -> None:
        thread = await c.ok("POST", "/v1/threads", ThreadObject)
        path = f"/v1/threads/{thread['id']}/messages"
        made = [
            (await c.ok("POST", path, MessageObject, {"role": "user", "content": str(i)}))["id"]
            for i in range(3)
        ]
        first = await c.messages(thread["id"], limit="2")
        assert [m["id"] for m in first["data"]] == [made[2], made[1]]
        assert first["has_more"] is True
        rest = await c.messages(thread["id"], limit="2", after=first["last_id"])
        assert [m["id"] for m in rest["data"]] == [made[0]]
        assert rest["has_more"] is False
        one = await c.assistant("echo")
        two = await c.assistant("tools")
        listed = await c.ok("GET", "/v1/assistants", ListAssistantsResponse, query={"order": "asc"})
        assert [a["id"] for a in listed["data"]] == [one["id"], two["id"]]

    scenario(test)


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"order": "up"}, "order"),
        ({"after": "run_nope"}, "after"),
        ({"before": "run_nope"}, "before"),
    ],
)
def test_bad_list_parameters_are_400_naming_them(query: dict[str, str], param: str) -> None:
    async def test(c: Client) -> None:
        thread = await c.thread()
        for path in (f"/v1/threads/{thread['id']}/runs", f"/v1/threads/{thread['id']}/messages"):
            error = await c.fails(400, "GET", path, query=query)
            assert error["param"] == param

    scenario(test)


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "assistant_id"),
        ({"assistant_id": 5}, "assistant_id"),
        ({"assistant_id": "A", "foo": 1}, "foo"),
        ({"assistant_id": "A", "temperature": 3}, "temperature"),
        ({"assistant_id": "A", "max_prompt_tokens": 1}, "max_prompt_tokens"),
        ({"assistant_id": "A", "tools": [{"type": "function"}]}, "tools[0].function"),
        (
            {"assistant_id": "A", "tools": [{"type": "function", "function": {}}]},
            "tools[0].function.name",
        ),
        ({"assistant_id": "A", "tools": [{"type": "web_search"}]}, "tools[0].type"),
        (
            {"assistant_id": "A", "additional_messages": [{"role": "user", "content": 5}]},
            "additional_messages[0].content",
        ),
        (
            {"assistant_id": "A", "additional_messages": [{"role": "system", "content": "x"}]},
            "additional_messages[0].role",
        ),
        (
            {
                "assistant_id": "A",
                "additional_messages": [{"role": "user", "content": [{"type": "audio"}]}],
            },
            "additional_messages[0].content[0].type",
        ),
        (
            {"assistant_id": "A", "additional_messages": [{"role": "user", "content": []}]},
            "additional_messages[0].content",
        ),
        ({"assistant_id": "A", "metadata": {str(i): "v" for i in range(17)}}, "metadata"),
        ({"assistant_id": "A", "metadata": {"k": "v" * 513}}, "metadata"),
        (
            {
                "assistant_id": "A",
                "truncation_strategy": {"type": "last_messages", "last_messages": 0},
            },
            "truncation_strategy.last_messages",
        ),
    ],
)
def test_invalid_run_bodies_are_400_naming_the_field(body: Json, param: str) -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("echo delay=0")
        thread = await c.thread()
        text = json.dumps(body).replace('"A"', json.dumps(assistant["id"]))
        error = await c.fails(400, "POST", f"/v1/threads/{thread['id']}/runs", raw=text.encode())
        assert error["param"] == param
        assert c.store.runs_of(thread["id"]) == []
        assert len(c.store.threads.get(thread["id"]).messages) == 1  # type: ignore[union-attr]

    scenario(test)


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[1, 2]",
        b'"text"',
        b'{"assistant_id": "a", "temperature": NaN}',
        b'{"assistant_id": "a", "temperature": Infinity}',
        b"\xff\xfe\x00",
        b'{"metadata": ' * 100 + b"{}" + b"}" * 100,
        b"[" * 100000 + b"]" * 100000,
    ],
)
def test_unreadable_bodies_are_400_without_a_param(raw: bytes) -> None:
    async def test(c: Client) -> None:
        thread = await c.thread()
        error = await c.fails(400, "POST", f"/v1/threads/{thread['id']}/runs", raw=raw)
        assert error["param"] is None

    scenario(test)


def test_bad_assistants_and_messages_are_400() -> None:
    async def test(c: Client) -> None:
        error = await c.fails(
            400, "POST", "/v1/assistants", {"model": "m", "metadata": {"emulator": "dance"}}
        )
        assert error["param"] == "metadata.emulator"
        assert "dance" in error["message"]
        error = await c.fails(
            400, "POST", "/v1/assistants", {"model": "m", "instructions": "emulator: tools calls=0"}
        )
        assert error["param"] == "instructions"
        error = await c.fails(400, "POST", "/v1/assistants", {"name": "no model"})
        assert error["param"] == "model"
        assert error["message"] == "Missing required parameter: 'model'."
        assert len(c.store.assistants) == 0
        error = await c.fails(
            400, "POST", "/v1/threads", {"messages": [{"role": "user", "content": "a"}, {}]}
        )
        assert error["param"] == "messages[1].role"
        assert len(c.store.threads) == 0
        thread = await c.thread()
        error = await c.fails(400, "POST", f"/v1/threads/{thread['id']}/messages", {"role": "user"})
        assert error["param"] == "content"

    scenario(test)


def test_a_run_cannot_inherit_more_tools_than_a_run_object_holds() -> None:
    async def test(c: Client) -> None:
        tools = [{"type": "function", "function": {"name": f"f{i}"}} for i in range(21)]
        assistant = await c.assistant("tools delay=0", tools=tools)
        thread = await c.thread()
        runs = f"/v1/threads/{thread['id']}/runs"
        error = await c.fails(400, "POST", runs, {"assistant_id": assistant["id"]})
        assert error["param"] == "tools"
        error = await c.fails(400, "POST", "/v1/threads/runs", {"assistant_id": assistant["id"]})
        assert error["param"] == "tools"
        assert len(c.store.threads) == 1
        run = await c.start(thread["id"], assistant["id"], tools=tools[20:])
        await c.until(run["id"], lambda r: r.waiting_for_results)
        waiting = await c.ok("GET", f"{runs}/{run['id']}", RunObject)
        assert _calls(waiting)[0]["function"]["name"] == "f20"

    scenario(test)


def test_unknown_ids_are_404() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("echo delay=0")
        thread = await c.thread()
        t = thread["id"]
        cases: list[tuple[str, str, Json | None, str]] = [
            ("GET", "/v1/assistants/asst_x", None, "No assistant found with id 'asst_x'."),
            ("DELETE", "/v1/assistants/asst_x", None, "No assistant found with id 'asst_x'."),
            ("GET", "/v1/threads/thread_x", None, "No thread found with id 'thread_x'."),
            ("DELETE", "/v1/threads/thread_x", None, "No thread found with id 'thread_x'."),
            ("GET", "/v1/threads/thread_x/messages", None, "No thread found with id 'thread_x'."),
            ("GET", f"/v1/threads/{t}/messages/msg_x", None, "No message found with id 'msg_x'."),
            ("GET", f"/v1/threads/{t}/runs/run_x", None, "No run found with id 'run_x'."),
            ("POST", f"/v1/threads/{t}/runs/run_x", {}, "No run found with id 'run_x'."),
            ("POST", f"/v1/threads/{t}/runs/run_x/cancel", None, "No run found with id 'run_x'."),
            (
                "POST",
                f"/v1/threads/{t}/runs/run_x/submit_tool_outputs",
                {"tool_outputs": []},
                "No run found with id 'run_x'.",
            ),
            ("POST", f"/v1/threads/{t}/runs", {"assistant_id": "asst_x"}, "No assistant found"),
            ("POST", "/v1/threads/runs", {"assistant_id": "asst_x"}, "No assistant found"),
            ("GET", "/v1/threads/runs", None, "No thread found with id 'runs'."),
        ]
        for method, path, body, message in cases:
            error = await c.fails(404, method, path, _UNSET if body is None else body)
            assert error["message"].startswith(message), (method, path)
        other = await c.thread()
        run = await c.start(t, assistant["id"])
        error = await c.fails(404, "GET", f"/v1/threads/{other['id']}/runs/{run['id']}")
        assert error["message"] == f"No run found with id '{run['id']}'."
        assert len(c.store.threads) == 2

    scenario(test)


def test_unknown_paths_are_404_and_wrong_methods_405() -> None:
    async def test(c: Client) -> None:
        for path in ("/v1/nope", "/v2/threads", "/", "", "/v1", "/v1/threads/", "/v1/threads/a/b"):
            error = await c.fails(404, "GET", path)
            assert error["message"] == f"Invalid URL (GET {path})"
        cases = [
            ("PUT", "/v1/threads", "POST"),
            ("GET", "/v1/threads", "POST"),
            ("PATCH", "/v1/assistants", "GET, POST"),
            ("PUT", "/v1/threads/thread_x", "GET, POST, DELETE"),
            ("PATCH", "/v1/threads/t/messages/m", "GET, POST, DELETE"),
            ("POST", "/v1/threads/t/runs/r/steps", "GET"),
            ("DELETE", "/v1/threads/t/runs/r/steps/s", "GET"),
            ("DELETE", "/v1/threads/t/runs/r", "GET, POST"),
            ("GET", "/v1/threads/t/runs/r/cancel", "POST"),
            ("GET", "/v1/threads/t/runs/r/submit_tool_outputs", "POST"),
        ]
        for method, path, allow in cases:
            response = await c.call(method, path)
            assert isinstance(response, Response)
            assert response.status == 405, (method, path)
            assert dict(response.headers)["allow"] == allow
            ErrorResponse.model_validate_json(response.body)

    scenario(test)


def test_active_runs_block_new_runs_and_messages() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("tools delay=0")
        thread = await c.thread()
        runs = f"/v1/threads/{thread['id']}/runs"
        run = await c.start(thread["id"], assistant["id"])
        error = await c.fails(400, "POST", runs, {"assistant_id": assistant["id"]})
        assert run["id"] in error["message"]
        error = await c.fails(
            400, "POST", f"/v1/threads/{thread['id']}/messages", {"role": "user", "content": "x"}
        )
        assert run["id"] in error["message"]
        await c.until(run["id"], lambda r: r.waiting_for_results)
        await c.fails(400, "POST", runs, {"assistant_id": assistant["id"]})
        assert len(c.store.runs_of(thread["id"])) == 1

    scenario(test)


def test_submit_tool_outputs_must_answer_every_call_exactly() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("tools calls=2 delay=0")
        thread = await c.thread()
        run = await c.start(thread["id"], assistant["id"])
        path = f"/v1/threads/{thread['id']}/runs/{run['id']}/submit_tool_outputs"
        error = await c.fails(400, "POST", path, {"tool_outputs": []})
        assert "do not accept tool outputs" in error["message"]
        await c.until(run["id"], lambda r: r.waiting_for_results)
        waiting = await c.ok("GET", f"/v1/threads/{thread['id']}/runs/{run['id']}", RunObject)
        one, two = (call["id"] for call in _calls(waiting))
        cases: list[tuple[list[Json], str]] = [
            ([], "tool_outputs"),
            ([{"tool_call_id": one, "output": "a"}], "tool_outputs"),
            ([{"tool_call_id": one}, {"tool_call_id": "call_x"}], "tool_outputs"),
            ([{"tool_call_id": one}, {"tool_call_id": one}], "tool_outputs"),
            ([{"tool_call_id": one}, {"tool_call_id": two}, {"tool_call_id": "x"}], "tool_outputs"),
            ([{"tool_call_id": one}, {"output": "b"}], "tool_outputs[1].tool_call_id"),
            ([{"tool_call_id": one, "output": 5}], "tool_outputs[0].output"),
        ]
        for outputs, param in cases:
            error = await c.fails(400, "POST", path, {"tool_outputs": outputs})
            assert error["param"] == param, outputs
        error = await c.fails(400, "POST", path, {"tool_outputs": [], "extra": 1})
        assert error["param"] == "extra"
        assert c.core(run["id"]).waiting_for_results
        outputs = [{"tool_call_id": two, "output": "b"}, {"tool_call_id": one}]
        await c.ok("POST", path, RunObject, {"tool_outputs": outputs})
        await c.fails(400, "POST", path, {"tool_outputs": outputs})
        done = await c.finish(thread["id"], run["id"])
        assert done["status"] == "completed"
        page = await c.messages(thread["id"], limit="1")
        assert page["data"][0]["content"][0]["text"]["value"] == "get_weather: ; get_weather: b"

    scenario(test)


def test_cancel_of_a_finished_run_is_400() -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("echo delay=0")
        thread = await c.thread()
        run = await c.start(thread["id"], assistant["id"])
        await c.finish(thread["id"], run["id"])
        error = await c.fails(400, "POST", f"/v1/threads/{thread['id']}/runs/{run['id']}/cancel")
        assert error["message"] == "Cannot cancel run with status 'completed'."

    scenario(test)


# --- found by schemathesis (tests/emulator/test_openai_schema.py) ---------------------------


def test_request_values_are_echoed_without_nulls_for_what_was_not_sent() -> None:
    """A function tool given a name only comes back with a name only: its description and
    parameters are optional but not nullable, so a null there breaks the spec."""

    async def test(c: Client) -> None:
        tool = {"type": "function", "function": {"name": "lookup"}}
        assistant = await c.assistant("echo delay=0", tools=[tool])
        assert assistant["tools"] == [tool]
        assert assistant["tool_resources"] == {}
        resources = {"code_interpreter": {"file_ids": ["file_1"]}}
        body = {"tool_resources": resources}
        thread = await c.ok("POST", "/v1/threads", ThreadObject, body)
        assert thread["tool_resources"] == resources
        empty = await c.ok("POST", "/v1/threads", ThreadObject, {})
        assert empty["tool_resources"] == {}
        run = await c.start(thread["id"], assistant["id"])
        assert run["tools"] == [tool]
        assert run["truncation_strategy"] == {"type": "auto", "last_messages": None}

    scenario(test)


_USER = {"role": "user", "content": "x"}
_FILE = {"file_id": "file_1", "tools": [{"type": "file_search"}]}


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/threads", {"messages": None}, "messages"),
        (
            "/v1/threads",
            {"messages": [{**_USER, "attachments": [{**_FILE, "tools": None}]}]},
            "messages[0].attachments[0].tools",
        ),
        (
            "/v1/threads",
            {"tool_resources": {"code_interpreter": None}},
            "tool_resources.code_interpreter",
        ),
        (
            "T/messages",
            {**_USER, "attachments": [{**_FILE, "file_id": None}]},
            "attachments[0].file_id",
        ),
        (
            "/v1/assistants",
            {
                "model": "m",
                "tools": [{"type": "function", "function": {"name": "f", "description": None}}],
            },
            "tools[0].function.description",
        ),
        (
            "/v1/assistants",
            {
                "model": "m",
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "n", "schema": None},
                },
            },
            "response_format.json_schema.schema",
        ),
        (
            "/v1/assistants",
            {
                "model": "m",
                "tool_resources": {"file_search": {"vector_stores": [{"chunking_strategy": None}]}},
            },
            "tool_resources.file_search.vector_stores[0].chunking_strategy",
        ),
        ("/v1/threads/runs", {"assistant_id": "A", "thread": None}, "thread"),
        (
            "/v1/threads/runs",
            {
                "assistant_id": "A",
                "thread": {"messages": [{**_USER, "attachments": [{"tools": None}]}]},
            },
            "thread.messages[0].attachments[0].tools",
        ),
        (
            "T/runs",
            {
                "assistant_id": "A",
                "additional_messages": [{**_USER, "attachments": [{"file_id": None}]}],
            },
            "additional_messages[0].attachments[0].file_id",
        ),
        (
            "T/runs",
            {
                "assistant_id": "A",
                "tools": [{"type": "function", "function": {"name": "f", "parameters": None}}],
            },
            "tools[0].function.parameters",
        ),
    ],
)
def test_a_null_where_the_spec_admits_none_is_400_naming_the_field(
    path: str, body: Json, param: str
) -> None:
    """An optional property that is not nullable may be left out but not sent as null, at the
    top level or nested in objects and list items (the models read both as None; the emulator
    tells them apart by the generated ``NOT_NULLABLE`` table). Nothing is stored."""

    async def test(c: Client) -> None:
        assistant = await c.assistant("echo delay=0")
        thread = await c.thread()
        text = json.dumps(body).replace('"A"', json.dumps(assistant["id"]))
        before = (len(c.store.assistants), len(c.store.threads), len(c.store.runs))
        messages = len((await c.messages(thread["id"]))["data"])
        where = path.replace("T/", f"/v1/threads/{thread['id']}/")
        error = await c.fails(400, "POST", where, raw=text.encode())
        assert error["param"] == param
        assert "null" in error["message"]
        assert (len(c.store.assistants), len(c.store.threads), len(c.store.runs)) == before
        assert len((await c.messages(thread["id"]))["data"]) == messages

    scenario(test)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/assistants", {"model": "m", "name": None, "metadata": None, "tool_resources": None}),
        ("/v1/threads", {"tool_resources": None, "metadata": None}),
        ("/v1/threads", {"messages": [{**_USER, "attachments": None, "metadata": None}]}),
        ("T/messages", {**_USER, "attachments": None}),
        (
            "T/runs",
            {"assistant_id": "A", "additional_messages": None, "tools": None, "stream": None},
        ),
        ("/v1/threads/runs", {"assistant_id": "A", "tool_resources": None, "model": None}),
    ],
)
def test_a_null_where_the_spec_admits_one_is_taken(path: str, body: Json) -> None:
    """The nullable properties still take null (the check is per property, from the spec)."""

    async def test(c: Client) -> None:
        assistant = await c.assistant("echo delay=0")
        thread = await c.thread()
        text = json.dumps(body).replace('"A"', json.dumps(assistant["id"]))
        where = path.replace("T/", f"/v1/threads/{thread['id']}/")
        response = await c.call("POST", where, raw=text.encode())
        assert isinstance(response, Response)
        assert response.status == 200, response.body
        run = json.loads(response.body)
        if run.get("object") == "thread.run":
            await c.finish(run["thread_id"], run["id"])

    scenario(test)


_GOOD_INCLUDE = "step_details.tool_calls[*].file_search.results[*].content"


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/assistants", {"model": "m", "reasoning_effort": "extreme"}, "reasoning_effort"),
        (
            "/v1/assistants",
            {"model": "m", "tool_resources": {"file_search": {}}},
            "tool_resources.file_search",
        ),
        (
            "/v1/assistants",
            {
                "model": "m",
                "tool_resources": {"file_search": {"vector_store_ids": [], "vector_stores": []}},
            },
            "tool_resources.file_search",
        ),
        (
            "/v1/assistants",
            {"model": "m", "tool_resources": {"file_search": {"vector_stores": [{"x": 1}]}}},
            None,  # accepted: one of the two is given
        ),
        (
            "/v1/assistants",
            {
                "model": "m",
                "tool_resources": {
                    "file_search": {"vector_stores": [{"chunking_strategy": {"static": {}}}]}
                },
            },
            "tool_resources.file_search.vector_stores[0].chunking_strategy.type",
        ),
        (
            "/v1/threads",
            {"messages": [{"role": "user", "content": "x", "attachments": [{"tools": [{}]}]}]},
            "messages[0].attachments[0].tools[0].type",
        ),
        (
            "/v1/threads",
            {
                "messages": [
                    {"role": "user", "content": "x", "attachments": [{"tools": [{"type": "web"}]}]}
                ]
            },
            "messages[0].attachments[0].tools[0].type",
        ),
        ("/v1/threads", {"tool_resources": {"file_search": {}}}, "tool_resources.file_search"),
        (
            "/v1/threads/runs",
            {"assistant_id": "A", "thread": {"tool_resources": {"file_search": {}}}},
            "thread.tool_resources.file_search",
        ),
        ("/v1/threads/runs", {"assistant_id": "A", "tool_choice": "sometimes"}, "tool_choice"),
        (
            "/v1/threads/runs",
            {"assistant_id": "A", "truncation_strategy": {"type": "middle"}},
            "truncation_strategy.type",
        ),
        (
            "/v1/threads/runs",
            {"assistant_id": "A", "response_format": {"type": "xml"}},
            "response_format.type",
        ),
    ],
)
def test_values_the_spec_does_not_allow_are_400_naming_the_field(
    path: str, body: Json, param: str | None
) -> None:
    """The request models are open (unknown enum values and union variants parse, for
    responses); a request carrying one is refused, and nothing is stored."""

    async def test(c: Client) -> None:
        assistant = await c.assistant("echo delay=0")
        text = json.dumps(body).replace('"A"', json.dumps(assistant["id"]))
        before = (len(c.store.assistants), len(c.store.threads))
        if param is None:
            response = await c.call("POST", path, raw=text.encode())
            assert isinstance(response, Response)
            assert response.status == 200, response.body
            return
        error = await c.fails(400, "POST", path, raw=text.encode())
        assert error["param"] == param
        assert (len(c.store.assistants), len(c.store.threads)) == before

    scenario(test)


@pytest.mark.parametrize(
    ("include", "status"),
    [
        ((_GOOD_INCLUDE,), 200),
        (("bogus",), 400),
        (("bogus", _GOOD_INCLUDE), 400),  # not only the last value counts
        ((_GOOD_INCLUDE, ""), 400),
    ],
)
def test_a_run_takes_only_the_include_values_the_spec_lists(
    include: tuple[str, ...], status: int
) -> None:
    async def test(c: Client) -> None:
        assistant = await c.assistant("echo delay=0")
        thread = await c.thread()
        params = tuple(("include[]", value) for value in include)
        body = json.dumps({"assistant_id": assistant["id"]}).encode()
        path = f"/v1/threads/{thread['id']}/runs"
        response = await c.app(Request("POST", path, dict(params), {}, body, params))
        assert isinstance(response, Response)
        assert response.status == status, response.body
        if status == 400:
            assert json.loads(response.body)["error"]["param"] == "include[]"
            assert c.store.runs_of(thread["id"]) == []
        else:
            await c.finish(thread["id"], json.loads(response.body)["id"])

    scenario(test)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"assistant_id": "A", "temperature": False}, "temperature"),
        ({"assistant_id": "A", "temperature": "0.5"}, "temperature"),
        ({"assistant_id": "A", "stream": "true"}, "stream"),
        ({"assistant_id": "A", "stream": 1}, "stream"),
        ({"assistant_id": "A", "max_prompt_tokens": "500"}, "max_prompt_tokens"),
        ({"assistant_id": "A", "parallel_tool_calls": 0}, "parallel_tool_calls"),
    ],
)
def test_json_values_of_the_wrong_type_are_400_not_coerced(body: Json, param: str) -> None:
    """``false`` is no number and ``"true"`` no boolean in JSON Schema: the request models are
    validated strictly, as the API does, not with Pydantic's lax coercions."""

    async def test(c: Client) -> None:
        assistant = await c.assistant("echo delay=0")
        thread = await c.thread()
        text = json.dumps(body).replace('"A"', json.dumps(assistant["id"]))
        error = await c.fails(400, "POST", f"/v1/threads/{thread['id']}/runs", raw=text.encode())
        assert error["param"] == param
        assert c.store.runs_of(thread["id"]) == []

    scenario(test)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"max_prompt_tokens": 8963.0, "temperature": 1}, 200),
        ({"max_completion_tokens": 1e3}, 200),
        ({"max_prompt_tokens": 8963.5}, 400),
        ({"temperature": 1e400}, 400),
    ],
)
def test_integral_json_numbers_are_integers(body: Json, status: int) -> None:
    """JSON Schema counts ``8963.0`` an integer: strict validation must not refuse it."""

    async def test(c: Client) -> None:
        assistant = await c.assistant("echo delay=0")
        thread = await c.thread()
        path = f"/v1/threads/{thread['id']}/runs"
        response = await c.call("POST", path, {"assistant_id": assistant["id"], **body})
        assert isinstance(response, Response)
        assert response.status == status, response.body
        if status == 200:
            run = await c.finish(thread["id"], json.loads(response.body)["id"])
            assert run["status"] == "completed"

    scenario(test)
