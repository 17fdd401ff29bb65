"""The OpenAI adapters read recorded-looking Assistants payloads into runbind objects exactly."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from runbind_generated.openai import MessageObject, SubmitToolOutputsRunRequest

from runbind import (
    Citation,
    CitationSource,
    DecodeError,
    ErrorDetails,
    Message,
    Part,
    PromptTruncationOptions,
    Run,
    RunFailedError,
    RunResult,
    RunStatus,
    RunStreamEvent,
    StreamEventKind,
    ToolCall,
    Usage,
    to_openai_tool_outputs,
)
from runbind.openai._statuses import OPENAI_EVENT_KINDS

Payload = dict[str, Any]

CREATED = 1717000000
STARTED = 1717000001
FINISHED = 1717000012
EXPIRES = 1717000600


WEATHER_PARAMS: Payload = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city"],
    "additionalProperties": False,
}

ANSWER_SCHEMA: Payload = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "sources": {"type": "array"}},
    "required": ["answer", "sources"],
    "additionalProperties": False,
}


def run_payload(status: str | int = "completed", **changes: Any) -> Payload:
    """A RunObject as the API returns it (GET /v1/threads/{thread_id}/runs/{run_id})."""
    run: Payload = {
        "id": "run_abc123",
        "object": "thread.run",
        "created_at": CREATED,
        "assistant_id": "asst_abc123",
        "thread_id": "thread_abc123",
        "status": status,
        "started_at": STARTED,
        "expires_at": None,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "required_action": None,
        "last_error": None,
        "model": "gpt-4o-2024-08-06",
        "instructions": "You answer questions about the uploaded handbook.",
        "tools": [],
        "tool_resources": {},
        "metadata": {},
        "temperature": 1.0,
        "top_p": 1.0,
        "max_prompt_tokens": None,
        "max_completion_tokens": None,
        "truncation_strategy": {"type": "auto", "last_messages": None},
        "incomplete_details": None,
        "usage": None,
        "response_format": "auto",
        "tool_choice": "auto",
        "parallel_tool_calls": True,
    }
    run.update(changes)
    return run


def completed_run() -> Payload:
    """A completed run with every optional setting filled in."""
    return run_payload(
        "completed",
        completed_at=FINISHED,
        metadata={"user": "u-42", "channel": "web"},
        temperature=0.2,
        max_prompt_tokens=20000,
        max_completion_tokens=1024,
        truncation_strategy={"type": "last_messages", "last_messages": 10},
        response_format={
            "type": "json_schema",
            "json_schema": {
                "name": "handbook_answer",
                "description": "An answer with sources",
                "schema": ANSWER_SCHEMA,
                "strict": True,
            },
        },
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Current weather in a city",
                    "parameters": WEATHER_PARAMS,
                    "strict": False,
                },
            },
            {"type": "code_interpreter"},
            {"type": "file_search", "file_search": {"max_num_results": 5}},
            {"type": "web_search", "web_search": {"search_context_size": "medium"}},
        ],
        usage={"prompt_tokens": 1530, "completion_tokens": 212, "total_tokens": 1742},
    )


def answer_message(status: str = "completed", **changes: Any) -> Payload:
    """The assistant's answer (GET /v1/threads/{thread_id}/messages/{message_id})."""
    message: Payload = {
        "id": "msg_abc123",
        "object": "thread.message",
        "created_at": STARTED,
        "assistant_id": "asst_abc123",
        "thread_id": "thread_abc123",
        "run_id": "run_abc123",
        "status": status,
        "incomplete_details": None,
        "completed_at": FINISHED,
        "incomplete_at": None,
        "role": "assistant",
        "content": [
            {
                "type": "text",
                "text": {
                    "value": "Leave is 25 days a year【4:0†handbook.pdf】.",
                    "annotations": [
                        {
                            "type": "file_citation",
                            "text": "【4:0†handbook.pdf】",
                            "start_index": 25,
                            "end_index": 43,
                            "file_citation": {"file_id": "file-Handbook01"},
                        }
                    ],
                },
            },
            {
                "type": "text",
                "text": {
                    "value": "Carry-over is capped at 5 days【4:1†policy.pdf】; chart: "
                    "sandbox:/mnt/data/leave.png",
                    "annotations": [
                        {
                            "type": "file_citation",
                            "text": "【4:1†policy.pdf】",
                            "start_index": 30,
                            "end_index": 46,
                            "file_citation": {"file_id": "file-Policy02"},
                        },
                        {
                            "type": "file_path",
                            "text": "sandbox:/mnt/data/leave.png",
                            "start_index": 55,
                            "end_index": 82,
                            "file_path": {"file_id": "file-Chart03"},
                        },
                    ],
                },
            },
        ],
        "attachments": [],
        "metadata": {"lang": "en"},
    }
    message.update(changes)
    return message


def tool_call(call_id: str, name: str, arguments: str) -> Payload:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def requires_action_run(*calls: Payload) -> Payload:
    return run_payload(
        "requires_action",
        expires_at=EXPIRES,
        required_action={
            "type": "submit_tool_outputs",
            "submit_tool_outputs": {"tool_calls": calls},
        },
    )


THREE_CALLS = (
    tool_call("call_Paris01", "get_weather", '{"city": "Paris", "unit": "celsius"}'),
    tool_call("call_Tokyo02", "get_weather", '{"city":"Tokyo"}'),
    tool_call("call_Time03", "get_time", '{"timezone": "Europe/Berlin"}'),
)


def predicates(obj: Any) -> tuple[bool, bool, bool, bool, bool]:
    """(running, succeeded, failed, finished, requires_action) of a run, result or event."""
    return (
        obj.is_running,
        obj.is_succeeded,
        obj.is_failed,
        obj.is_finished,
        obj.requires_action,
    )


NONE = (False, False, False, False, False)
RUNNING = (True, False, False, False, False)
SUCCEEDED = (False, True, False, True, False)
FAILED = (False, False, True, True, False)
ACTION = (False, False, False, False, True)


# --------------------------------------------------------------------------------------------
# A completed run and its answer
# --------------------------------------------------------------------------------------------


@pytest.fixture
def completed() -> RunResult:
    return RunResult.from_openai(completed_run(), answer_message())


def test_completed_result_status_and_predicates(completed: RunResult) -> None:
    assert completed.status is RunStatus.COMPLETED
    assert completed.status_raw == "completed"
    assert completed.status_name == "completed"
    assert predicates(completed) == SUCCEEDED
    assert predicates(completed.run) == SUCCEEDED
    assert completed.error is None
    assert completed.tool_calls == ()


def test_completed_result_text_and_parts(completed: RunResult) -> None:
    first = "Leave is 25 days a year【4:0†handbook.pdf】."
    second = "Carry-over is capped at 5 days【4:1†policy.pdf】; chart: sandbox:/mnt/data/leave.png"
    assert completed.text == f"{first}\n{second}"
    assert completed.parts == (Part("text", first), Part("text", second))
    assert all(part.raw is not None for part in completed.parts)


def test_completed_result_citations_skip_file_path(completed: RunResult) -> None:
    assert completed.citations == (
        Citation(
            sources=(CitationSource("file", file_id="file-Handbook01"),),
            text="【4:0†handbook.pdf】",
            start_index=25,
            end_index=43,
        ),
        Citation(
            sources=(CitationSource("file", file_id="file-Policy02"),),
            text="【4:1†policy.pdf】",
            start_index=30,
            end_index=46,
        ),
    )
    file_ids = {s.file_id for c in completed.citations for s in c.sources}
    assert "file-Chart03" not in file_ids


def test_completed_result_message_fields(completed: RunResult) -> None:
    message = completed.message
    assert message is not None
    assert message.id == "msg_abc123"
    assert message.thread_id == "thread_abc123"
    assert message.run_id == "run_abc123"
    assert message.assistant_id == "asst_abc123"
    assert message.role == "assistant"
    assert message.status == "completed"
    assert message.created_at == datetime(2024, 5, 29, 16, 26, 41, tzinfo=UTC)
    assert message.labels == {"lang": "en"}
    assert message.partial is False
    assert isinstance(message.raw, MessageObject)
    assert message.raw.id == "msg_abc123"


def test_completed_run_identity_times_and_usage(completed: RunResult) -> None:
    run = completed.run
    assert run.provider == "openai"
    assert (run.id, run.thread_id, run.assistant_id) == (
        "run_abc123",
        "thread_abc123",
        "asst_abc123",
    )
    assert completed.usage == Usage(prompt_tokens=1530, completion_tokens=212, total_tokens=1742)
    assert run.usage == completed.usage
    assert run.created_at == datetime(2024, 5, 29, 16, 26, 40, tzinfo=UTC)
    assert run.started_at == datetime(2024, 5, 29, 16, 26, 41, tzinfo=UTC)
    assert run.completed_at == datetime(2024, 5, 29, 16, 26, 52, tzinfo=UTC)
    for moment in (run.created_at, run.started_at, run.completed_at):
        assert moment is not None
        assert moment.utcoffset() is not None
        assert moment.utcoffset() == UTC.utcoffset(None)
    assert run.expires_at is None
    assert run.failed_at is None
    assert run.cancelled_at is None
    assert run.created_by is None


def test_completed_run_settings(completed: RunResult) -> None:
    run = completed.run
    assert run.model == "gpt-4o-2024-08-06"
    assert run.instructions == "You answer questions about the uploaded handbook."
    assert run.metadata == {"user": "u-42", "channel": "web"}
    assert run.labels == run.metadata
    assert run.custom_temperature == pytest.approx(0.2)
    assert run.custom_max_tokens == 1024
    assert run.custom_max_prompt_tokens == 20000
    assert run.custom_prompt_truncation_options == PromptTruncationOptions(
        max_prompt_tokens=20000, strategy="last_messages", num_messages=10
    )
    fmt = run.custom_response_format
    assert fmt is not None
    assert fmt.type == "json_schema"
    assert fmt.json_schema == ANSWER_SCHEMA
    assert fmt.name == "handbook_answer"
    assert fmt.strict is True
    assert run.required_action is None
    assert run.incomplete_details is None
    assert run.last_error is None


def test_completed_run_tools(completed: RunResult) -> None:
    function, code, search, web = completed.run.tools
    assert function.type == "function"
    assert function.name == "get_weather"
    assert function.description == "Current weather in a city"
    assert function.parameters == WEATHER_PARAMS
    assert (code.type, code.name, code.parameters) == ("code_interpreter", None, None)
    assert (search.type, search.name, search.parameters) == ("file_search", None, None)
    assert web.type == "web_search"
    assert isinstance(web.raw, BaseModel)
    assert web.raw.model_dump(mode="json") == {
        "type": "web_search",
        "web_search": {"search_context_size": "medium"},
    }


def test_auto_truncation_and_text_formats() -> None:
    run = Run.from_openai(run_payload(response_format={"type": "json_object"}))
    assert run.custom_prompt_truncation_options == PromptTruncationOptions(
        max_prompt_tokens=None, strategy="auto", num_messages=None
    )
    fmt = run.custom_response_format
    assert fmt is not None
    assert (fmt.type, fmt.json_schema, fmt.name) == ("json_object", None, None)
    auto = Run.from_openai(run_payload(truncation_strategy=None))
    assert auto.custom_prompt_truncation_options is None
    assert auto.custom_response_format is not None
    assert auto.custom_response_format.type == "auto"


def test_inputs_json_text_bytes_and_model_agree() -> None:
    payload = completed_run()
    from_dict = Run.from_openai(payload)
    from_text = Run.from_openai(json.dumps(payload))
    from_bytes = Run.from_openai(json.dumps(payload).encode())
    from_model = Run.from_openai(from_dict.raw)
    assert from_dict == from_text == from_bytes == from_model
    assert from_model.raw is from_dict.raw


def test_run_without_message_has_no_answer() -> None:
    result = RunResult.from_openai(completed_run())
    assert result.message is None
    assert result.text is None
    assert result.parts == ()
    assert result.citations == ()


# --------------------------------------------------------------------------------------------
# Failed, incomplete, expired, cancelled runs
# --------------------------------------------------------------------------------------------


def failed_run() -> Payload:
    return run_payload(
        "failed",
        failed_at=FINISHED,
        last_error={
            "code": "rate_limit_exceeded",
            "message": "Rate limit reached for gpt-4o on tokens per min (TPM).",
        },
    )


def test_failed_run() -> None:
    result = RunResult.from_openai(failed_run())
    assert result.status is RunStatus.FAILED
    assert result.is_failed
    assert result.is_finished
    assert predicates(result) == FAILED
    assert result.run.failed_at == datetime(2024, 5, 29, 16, 26, 52, tzinfo=UTC)
    expected = ErrorDetails(
        "rate_limit_exceeded", "Rate limit reached for gpt-4o on tokens per min (TPM)."
    )
    assert result.error == expected
    assert result.run.last_error == expected
    assert str(result.error) == (
        "[rate_limit_exceeded] Rate limit reached for gpt-4o on tokens per min (TPM)."
    )


@pytest.mark.parametrize("read", ["message", "text", "parts", "citations"])
def test_failed_run_answer_raises(read: str) -> None:
    result = RunResult.from_openai(failed_run())
    with pytest.raises(RunFailedError) as info:
        getattr(result, read)
    assert info.value.status is RunStatus.FAILED
    assert info.value.error is not None
    assert info.value.error.message == "Rate limit reached for gpt-4o on tokens per min (TPM)."
    assert info.value.error.code == "rate_limit_exceeded"


def test_incomplete_run() -> None:
    payload = run_payload(
        "incomplete",
        max_completion_tokens=256,
        incomplete_details={"reason": "max_completion_tokens"},
        usage={"prompt_tokens": 900, "completion_tokens": 256, "total_tokens": 1156},
    )
    run = Run.from_openai(payload)
    assert run.status is RunStatus.INCOMPLETE
    assert predicates(run) == FAILED
    assert run.incomplete_details is not None
    assert run.incomplete_details.reason == "max_completion_tokens"
    assert run.custom_max_tokens == 256

    truncated = answer_message(
        "incomplete",
        completed_at=None,
        incomplete_at=FINISHED,
        incomplete_details={"reason": "max_tokens"},
        content=[{"type": "text", "text": {"value": "The leave policy says", "annotations": []}}],
    )
    result = RunResult.from_openai(payload, truncated)
    assert result.is_failed
    assert result.text == "The leave policy says"
    assert result.message is not None
    assert result.message.status == "incomplete"

    with pytest.raises(RunFailedError) as info:
        _ = RunResult.from_openai(payload).text
    assert info.value.status is RunStatus.INCOMPLETE
    assert info.value.error is None


def test_expired_run() -> None:
    run = Run.from_openai(run_payload("expired", expires_at=EXPIRES))
    assert run.status is RunStatus.EXPIRED
    assert run.is_finished
    assert run.is_failed
    assert predicates(run) == FAILED
    assert run.expires_at == datetime(2024, 5, 29, 16, 36, 40, tzinfo=UTC)


def test_cancelled_run() -> None:
    run = Run.from_openai(run_payload("cancelled", cancelled_at=FINISHED))
    assert run.status is RunStatus.CANCELLED
    assert predicates(run) == FAILED
    assert run.cancelled_at == datetime(2024, 5, 29, 16, 26, 52, tzinfo=UTC)
    with pytest.raises(RunFailedError) as info:
        _ = run.result().message
    assert info.value.status is RunStatus.CANCELLED


def test_cancelling_run() -> None:
    run = Run.from_openai(run_payload("cancelling"))
    assert run.status is RunStatus.CANCELLING
    assert run.is_running
    assert predicates(run) == RUNNING
    assert run.result().message is None


@pytest.mark.parametrize(
    ("raw", "status", "expected"),
    [
        ("queued", RunStatus.QUEUED, RUNNING),
        ("in_progress", RunStatus.IN_PROGRESS, RUNNING),
        ("requires_action", RunStatus.REQUIRES_ACTION, ACTION),
        ("cancelling", RunStatus.CANCELLING, RUNNING),
        ("cancelled", RunStatus.CANCELLED, FAILED),
        ("failed", RunStatus.FAILED, FAILED),
        ("completed", RunStatus.COMPLETED, SUCCEEDED),
        ("incomplete", RunStatus.INCOMPLETE, FAILED),
        ("expired", RunStatus.EXPIRED, FAILED),
    ],
)
def test_every_status_maps(
    raw: str, status: RunStatus, expected: tuple[bool, bool, bool, bool, bool]
) -> None:
    payload = run_payload(raw)
    if raw == "requires_action":
        payload = requires_action_run(*THREE_CALLS)
    run = Run.from_openai(payload)
    assert run.status is status
    assert run.status_raw == raw
    assert run.status_name == raw
    assert predicates(run) == expected


# --------------------------------------------------------------------------------------------
# Requires action: parallel function calls and their outputs
# --------------------------------------------------------------------------------------------


def test_requires_action_run_tool_calls() -> None:
    result = RunResult.from_openai(requires_action_run(*THREE_CALLS))
    assert result.status is RunStatus.REQUIRES_ACTION
    assert result.requires_action
    assert not result.is_finished
    assert not result.is_running
    assert predicates(result) == ACTION
    assert result.run.required_action == "submit_tool_outputs"
    assert result.message is None
    assert result.text is None
    assert [c.id for c in result.tool_calls] == ["call_Paris01", "call_Tokyo02", "call_Time03"]
    assert [c.name for c in result.tool_calls] == ["get_weather", "get_weather", "get_time"]
    assert [c.type for c in result.tool_calls] == ["function"] * 3
    assert [c.arguments for c in result.tool_calls] == [
        {"city": "Paris", "unit": "celsius"},
        {"city": "Tokyo"},
        {"timezone": "Europe/Berlin"},
    ]
    assert result.tool_calls[1] == ToolCall("call_Tokyo02", "get_weather", '{"city":"Tokyo"}')
    assert result.run.tool_calls == result.tool_calls


@pytest.mark.parametrize("stream", [None, True, False])
def test_requires_action_outputs_request(stream: bool | None) -> None:
    result = RunResult.from_openai(requires_action_run(*THREE_CALLS))
    paris, tokyo, clock = result.tool_calls
    outputs = [
        paris.result({"temperature": 18, "unit": "celsius"}),
        tokyo.result("22C, sunny"),
        clock.result(["14:05", "CEST"]),
    ]
    request = to_openai_tool_outputs(outputs, stream=stream)
    assert isinstance(request, SubmitToolOutputsRunRequest)
    assert request.stream is stream
    assert [(o.tool_call_id, o.output) for o in request.tool_outputs] == [
        ("call_Paris01", '{"temperature": 18, "unit": "celsius"}'),
        ("call_Tokyo02", "22C, sunny"),
        ("call_Time03", '["14:05", "CEST"]'),
    ]
    body = request.model_dump(mode="json", exclude_none=True)
    assert body["tool_outputs"][0] == {
        "tool_call_id": "call_Paris01",
        "output": '{"temperature": 18, "unit": "celsius"}',
    }
    assert ("stream" in body) is (stream is not None)


def test_invalid_arguments_decode_lazily() -> None:
    calls = (
        tool_call("call_ok", "get_weather", '{"city": "Oslo"}'),
        tool_call("call_bad", "get_weather", '{"city": "Oslo"'),
        tool_call("call_list", "get_weather", '["Oslo"]'),
    )
    result = RunResult.from_openai(requires_action_run(*calls))
    ok, bad, listed = result.tool_calls
    assert ok.arguments == {"city": "Oslo"}
    assert bad.arguments_json == '{"city": "Oslo"'
    with pytest.raises(DecodeError) as info:
        _ = bad.arguments
    assert info.value.path == "arguments"
    assert info.value.provider == "model"
    assert "get_weather" in info.value.type_name
    with pytest.raises(DecodeError) as listed_info:
        _ = listed.arguments
    assert listed_info.value.path == "arguments"


# --------------------------------------------------------------------------------------------
# Streams
# --------------------------------------------------------------------------------------------


def step_payload(status: str, **changes: Any) -> Payload:
    step: Payload = {
        "id": "step_abc123",
        "object": "thread.run.step",
        "created_at": STARTED,
        "run_id": "run_abc123",
        "assistant_id": "asst_abc123",
        "thread_id": "thread_abc123",
        "type": "message_creation",
        "status": status,
        "cancelled_at": None,
        "completed_at": None,
        "expires_at": None,
        "failed_at": None,
        "last_error": None,
        "step_details": {
            "type": "message_creation",
            "message_creation": {"message_id": "msg_abc123"},
        },
        "usage": None,
    }
    step.update(changes)
    return step


def delta_payload(index: int, value: str, *, role: bool = False) -> Payload:
    delta: Payload = {
        "content": [{"index": index, "type": "text", "text": {"value": value, "annotations": []}}]
    }
    if role:
        delta["role"] = "assistant"
    return {"id": "msg_abc123", "object": "thread.message.delta", "delta": delta}


def streamed_message(status: str) -> Payload:
    content = (
        []
        if status == "in_progress"
        else [{"type": "text", "text": {"value": "Hello, world!", "annotations": []}}]
    )
    return answer_message(
        status,
        content=content,
        completed_at=None if status == "in_progress" else FINISHED,
        metadata={},
    )


def sse(name: str, data: Payload | str) -> Payload:
    """An event as an SSE reader hands it over: the data is the JSON text of the line."""
    return {"event": name, "data": data if isinstance(data, str) else json.dumps(data)}


def stream_events() -> list[Payload]:
    """The events of a streamed run, in the order the API sends them."""
    return [
        sse("thread.run.created", run_payload("queued", started_at=None, expires_at=EXPIRES)),
        {"event": "thread.run.queued", "data": run_payload("queued", started_at=None)},
        sse("thread.run.in_progress", run_payload("in_progress", expires_at=EXPIRES)),
        sse("thread.run.step.created", step_payload("in_progress")),
        sse("thread.message.created", streamed_message("in_progress")),
        sse("thread.message.delta", delta_payload(0, "Hello", role=True)),
        sse("thread.message.delta", delta_payload(0, ", wor")),
        {"event": "thread.message.delta", "data": delta_payload(0, "ld!")},
        sse("thread.message.completed", streamed_message("completed")),
        sse("thread.run.step.completed", step_payload("completed", completed_at=FINISHED)),
        sse(
            "thread.run.completed",
            run_payload(
                "completed",
                completed_at=FINISHED,
                usage={"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14},
            ),
        ),
        {"event": "done", "data": "[DONE]"},
    ]


@pytest.fixture
def stream() -> list[RunStreamEvent]:
    return [
        RunStreamEvent.from_openai(event, event_index=index + 100)
        for index, event in enumerate(stream_events())
    ]


def test_stream_kinds_follow_table(stream: list[RunStreamEvent]) -> None:
    K = StreamEventKind
    assert [e.status for e in stream] == [
        K.RUN,
        K.RUN,
        K.RUN,
        K.RUN_STEP,
        K.MESSAGE,
        K.PARTIAL_MESSAGE,
        K.PARTIAL_MESSAGE,
        K.PARTIAL_MESSAGE,
        K.MESSAGE,
        K.RUN_STEP,
        K.DONE,
        K.END,
    ]
    names = [e["event"] for e in stream_events()]
    assert [e.status for e in stream] == [OPENAI_EVENT_KINDS[n] for n in names]
    assert [e.status_raw for e in stream] == names
    assert [e.status_name for e in stream] == names
    assert all(e.provider == "openai" for e in stream)


def test_stream_event_index_is_passed_through(stream: list[RunStreamEvent]) -> None:
    assert [e.event_index for e in stream] == list(range(100, 112))
    event = RunStreamEvent.from_openai(stream_events()[0], event_index=0)
    assert event.event_index == 0


def test_stream_deltas_carry_new_text(stream: list[RunStreamEvent]) -> None:
    deltas = [e for e in stream if e.status is StreamEventKind.PARTIAL_MESSAGE]
    assert [e.text for e in deltas] == ["Hello", ", wor", "ld!"]
    for event in deltas:
        assert event.message is not None
        assert event.message.partial is True
        assert event.message.id == "msg_abc123"
        assert event.run is None
        assert event.run_status is None
        assert predicates(event) == RUNNING
    assert deltas[0].message is not None
    assert deltas[0].message.role == "assistant"
    assert deltas[1].message is not None
    assert deltas[1].message.role is None


def test_stream_completed_message(stream: list[RunStreamEvent]) -> None:
    created, completed = stream[4], stream[8]
    assert created.message is not None
    assert created.message.status == "in_progress"
    assert created.text == ""
    assert completed.message is not None
    assert completed.message.partial is False
    assert completed.message.status == "completed"
    assert completed.message.id == "msg_abc123"
    assert completed.text == "Hello, world!"
    assert completed.parts == (Part("text", "Hello, world!"),)


def test_stream_run_events(stream: list[RunStreamEvent]) -> None:
    assert [e.run_status for e in stream] == [
        RunStatus.QUEUED,
        RunStatus.QUEUED,
        RunStatus.IN_PROGRESS,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        RunStatus.COMPLETED,
        None,
    ]
    created, done = stream[0], stream[10]
    assert created.run is not None
    assert created.run.id == "run_abc123"
    assert created.run.expires_at == datetime(2024, 5, 29, 16, 36, 40, tzinfo=UTC)
    assert created.message is None
    assert created.text is None
    assert done.run is not None
    assert done.run.usage == Usage(10, 4, 14)
    assert done.error is None


def test_stream_predicates(stream: list[RunStreamEvent]) -> None:
    assert [predicates(e) for e in stream] == [
        RUNNING,  # RUN (queued run)
        RUNNING,  # RUN (queued run)
        RUNNING,  # RUN (in-progress run)
        RUNNING,  # RUN_STEP
        RUNNING,  # MESSAGE
        RUNNING,  # PARTIAL_MESSAGE
        RUNNING,
        RUNNING,
        RUNNING,  # MESSAGE
        RUNNING,  # RUN_STEP
        SUCCEEDED,  # DONE
        NONE,  # END
    ]
    assert all(e.error is None for e in stream)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("cancelling", RUNNING),
        ("cancelled", FAILED),
        ("expired", FAILED),
        ("incomplete", FAILED),
    ],
)
def test_run_events_take_run_status_predicates(
    status: str, expected: tuple[bool, bool, bool, bool, bool]
) -> None:
    event = RunStreamEvent.from_openai(
        sse(f"thread.run.{status}", run_payload(status)), event_index=7
    )
    assert event.status is StreamEventKind.RUN
    assert event.run_status == RunStatus(status)
    assert predicates(event) == expected


def test_requires_action_event() -> None:
    event = RunStreamEvent.from_openai(
        sse("thread.run.requires_action", requires_action_run(*THREE_CALLS)), event_index=5
    )
    assert event.status is StreamEventKind.TOOL_CALLS
    assert event.run_status is RunStatus.REQUIRES_ACTION
    assert predicates(event) == ACTION
    assert [c.id for c in event.tool_calls] == ["call_Paris01", "call_Tokyo02", "call_Time03"]
    assert event.tool_calls[2].arguments == {"timezone": "Europe/Berlin"}
    assert event.text is None
    assert event.message is None
    assert event.error is None


def test_error_event() -> None:
    data = {
        "code": "server_error",
        "message": "The server had an error while processing your request.",
        "param": None,
        "type": "server_error",
    }
    event = RunStreamEvent.from_openai(sse("error", data), event_index=9)
    assert event.status is StreamEventKind.ERROR
    assert event.error == ErrorDetails(
        "server_error", "The server had an error while processing your request."
    )
    assert event.is_failed
    assert event.is_finished
    assert event.run is None
    with pytest.raises(RunFailedError) as info:
        _ = event.message
    assert info.value.status is RunStatus.FAILED
    assert info.value.error == event.error
    with pytest.raises(RunFailedError):
        _ = event.text


def test_run_failed_event() -> None:
    event = RunStreamEvent.from_openai(sse("thread.run.failed", failed_run()), event_index=4)
    assert event.status is StreamEventKind.ERROR
    assert event.run_status is RunStatus.FAILED
    assert event.run is not None
    assert event.error == event.run.last_error
    assert event.error == ErrorDetails(
        "rate_limit_exceeded", "Rate limit reached for gpt-4o on tokens per min (TPM)."
    )
    assert predicates(event) == FAILED
    with pytest.raises(RunFailedError) as info:
        _ = event.message
    assert info.value.status is RunStatus.FAILED
    assert info.value.error == event.error


def test_event_inputs_agree() -> None:
    payload: Payload = {"event": "thread.message.delta", "data": delta_payload(0, "Hi")}
    from_dict = RunStreamEvent.from_openai(payload, event_index=1)
    from_sse = RunStreamEvent.from_openai(
        sse("thread.message.delta", payload["data"]), event_index=1
    )
    from_text = RunStreamEvent.from_openai(json.dumps(payload), event_index=1)
    from_model = RunStreamEvent.from_openai(from_dict.raw, event_index=1)
    assert from_dict.text == from_sse.text == from_text.text == from_model.text == "Hi"
    assert from_dict == from_sse == from_text == from_model
    assert isinstance(from_dict.raw, BaseModel)


# --------------------------------------------------------------------------------------------
# Values this version does not know
# --------------------------------------------------------------------------------------------


def test_unknown_run_status() -> None:
    result = RunResult.from_openai(run_payload("paused"))
    assert result.status is RunStatus.UNKNOWN
    assert result.status_raw == "paused"
    assert result.status_name == "UNKNOWN('paused')"
    assert result.run.status_name == "UNKNOWN('paused')"
    assert predicates(result) == NONE
    assert predicates(result.run) == NONE
    assert result.message is None


def test_unknown_event_name() -> None:
    event = RunStreamEvent.from_openai(
        sse("thread.run.paused", run_payload("paused")), event_index=3
    )
    assert event.status is StreamEventKind.UNKNOWN
    assert event.status_raw == "thread.run.paused"
    assert event.status_name == "UNKNOWN('thread.run.paused')"
    assert "thread.run.paused" in event.status_name
    assert predicates(event) == NONE
    assert event.event_index == 3
    assert event.message is None
    assert event.raw.model_dump(mode="json")["data"]["id"] == "run_abc123"


def test_unknown_fields_are_kept() -> None:
    payload = completed_run()
    payload["reasoning_effort"] = "high"
    payload["usage"] = {
        **payload["usage"],
        "prompt_token_details": {"cached_tokens": 1024},
    }
    run = Run.from_openai(payload)
    assert run.raw.model_extra is not None
    assert run.raw.model_extra["reasoning_effort"] == "high"
    assert run.raw.usage is not None
    assert run.raw.usage.model_extra == {"prompt_token_details": {"cached_tokens": 1024}}
    dumped = run.raw.model_dump(mode="json", by_alias=True)
    assert dumped["reasoning_effort"] == "high"
    assert dumped["usage"]["prompt_token_details"] == {"cached_tokens": 1024}
    assert run.usage == Usage(1530, 212, 1742)


def test_unknown_content_and_annotation_types_are_kept() -> None:
    message = answer_message(
        content=[
            {
                "type": "text",
                "text": {
                    "value": "See the map.",
                    "annotations": [
                        {"type": "url_citation", "url": "https://example.com", "start_index": 0}
                    ],
                },
            },
            {"type": "audio", "audio": {"id": "audio_1"}},
            {"type": "refusal", "refusal": "I cannot share that."},
        ]
    )
    parsed = Message.from_openai(message)
    assert [p.type for p in parsed.parts] == ["text", "audio", "refusal"]
    assert parsed.parts[2].text == "I cannot share that."
    assert parsed.text == "See the map."
    assert parsed.citations == ()
    assert isinstance(parsed.parts[1].raw, BaseModel)
    assert parsed.parts[1].raw.model_dump(mode="json") == {
        "type": "audio",
        "audio": {"id": "audio_1"},
    }


# --------------------------------------------------------------------------------------------
# Bad input: always a DecodeError naming where decoding stopped
# --------------------------------------------------------------------------------------------


def _without(payload: Payload, key: str) -> Payload:
    out = copy.deepcopy(payload)
    del out[key]
    return out


BAD_RUNS: list[tuple[str, Any, str]] = [
    ("malformed JSON", '{"id": "run_abc123", "status": ', ""),
    ("JSON list", json.dumps([completed_run()]), ""),
    ("Python list", [completed_run()], ""),
    ("int", 42, ""),
    ("None", None, ""),
    ("status int", run_payload(status=5), "status"),
    ("created_at text", run_payload(created_at="yesterday"), "created_at"),
    ("created_at huge", run_payload(created_at=10**20), "created_at"),
    ("created_at huge JSON", json.dumps(run_payload(created_at=10**20)), "created_at"),
    ("missing assistant_id", _without(run_payload(), "assistant_id"), "assistant_id"),
    ("missing status", _without(run_payload(), "status"), "status"),
    ("usage wrong type", run_payload(usage={"prompt_tokens": "many"}), "usage."),
]


@pytest.mark.parametrize(
    ("value", "path"),
    [pytest.param(value, path, id=label) for label, value, path in BAD_RUNS],
)
def test_bad_run_input(value: Any, path: str) -> None:
    with pytest.raises(DecodeError) as info:
        Run.from_openai(value)
    error = info.value
    assert error.provider == "openai"
    assert error.type_name == "RunObject"
    if path.endswith("."):
        assert error.path.startswith(path)
    else:
        assert error.path == path
    assert error.reason
    assert "openai RunObject" in str(error)


@pytest.mark.parametrize(
    "bad_tool",
    [
        {"type": "function"},
        {"type": "function", "function": {"description": "no name"}},
        "code_interpreter",
        ["function"],
    ],
)
def test_bad_tool_path(bad_tool: Any) -> None:
    payload = run_payload(tools=[{"type": "code_interpreter"}, bad_tool])
    with pytest.raises(DecodeError) as info:
        RunResult.from_openai(payload)
    assert info.value.provider == "openai"
    assert info.value.path.split(".")[:2] == ["tools", "1"]


def test_bad_input_is_never_a_bare_library_error() -> None:
    cases: list[Callable[[], object]] = [
        lambda: Run.from_openai(b"\xff\xfe"),
        lambda: Run.from_openai("null"),
        lambda: Run.from_openai({}),
        lambda: Run.from_openai(run_payload(required_action={"type": "submit_tool_outputs"})),
        lambda: Run.from_openai(run_payload(metadata=["not", "a", "dict"])),
        lambda: Message.from_openai({}),
        lambda: RunStreamEvent.from_openai({"event": "thread.run.created"}, event_index=0),
        lambda: RunStreamEvent.from_openai(7, event_index=0),  # type: ignore[arg-type]
    ]
    for case in cases:
        with pytest.raises(DecodeError) as info:
            case()
        assert info.value.provider == "openai"


def test_bad_message_input() -> None:
    no_value = answer_message(content=[{"type": "text", "text": {"annotations": []}}])
    with pytest.raises(DecodeError) as info:
        Message.from_openai(no_value)
    assert (info.value.provider, info.value.type_name) == ("openai", "MessageObject")
    assert info.value.path.startswith("content.0.")
    assert info.value.path.endswith(".value")

    with pytest.raises(DecodeError) as info:
        Message.from_openai(answer_message(created_at=10**20))
    assert info.value.path == "created_at"

    with pytest.raises(DecodeError) as info:
        Message.from_openai(_without(answer_message(), "role"))
    assert info.value.path == "role"

    with pytest.raises(DecodeError) as info:
        Message.from_openai('{"id": "msg_abc123",')
    assert (info.value.type_name, info.value.path) == ("MessageObject", "")

    with pytest.raises(DecodeError) as info:
        Message.from_openai(3.5)  # type: ignore[arg-type]
    assert info.value.path == ""

    with pytest.raises(DecodeError) as info:
        RunResult.from_openai(completed_run(), {"id": "msg_abc123"})
    assert info.value.type_name == "MessageObject"


def test_bad_event_input() -> None:
    with pytest.raises(DecodeError) as info:
        RunStreamEvent.from_openai(
            {"event": "thread.message.delta", "data": '{"id": "msg_abc123", '}, event_index=6
        )
    assert (info.value.provider, info.value.type_name) == ("openai", "AssistantStreamEvent")
    assert info.value.path == "data"

    with pytest.raises(DecodeError) as info:
        RunStreamEvent.from_openai(sse("thread.run.created", "not json at all"), event_index=0)
    assert info.value.path == "data"

    with pytest.raises(DecodeError) as info:
        RunStreamEvent.from_openai(
            sse("thread.run.created", run_payload(created_at=10**20)), event_index=0
        )
    assert info.value.path == "data.created_at"

    with pytest.raises(DecodeError) as info:
        RunStreamEvent.from_openai(sse("thread.run.created", run_payload(status=5)), event_index=0)
    assert info.value.path == "data.status"

    with pytest.raises(DecodeError) as info:
        RunStreamEvent.from_openai("{not json", event_index=0)
    assert info.value.path == ""


@pytest.mark.parametrize(
    ("decode", "path"),
    [
        pytest.param(
            lambda: Run.from_openai(
                run_payload(tools=[{"type": "code_interpreter"}, {"type": "function"}])
            ),
            "tools.1.function",
            id="tool",
        ),
        pytest.param(
            lambda: Message.from_openai(
                answer_message(content=[{"type": "text", "text": {"annotations": []}}])
            ),
            "content.0.text.value",
            id="message-content",
        ),
        pytest.param(
            lambda: RunStreamEvent.from_openai(
                sse("thread.run.created", run_payload(status=5)), event_index=0
            ),
            "data.status",
            id="event-data",
        ),
    ],
)
def test_path_is_a_path_into_the_input(decode: Callable[[], object], path: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode()
    assert info.value.path == path


def test_delta_citation() -> None:
    data = {
        "id": "msg_abc123",
        "object": "thread.message.delta",
        "delta": {
            "content": [
                {
                    "index": 0,
                    "type": "text",
                    "text": {
                        "value": "【4:0†handbook.pdf】",
                        "annotations": [
                            {
                                "index": 0,
                                "type": "file_citation",
                                "text": "【4:0†handbook.pdf】",
                                "start_index": 25,
                                "end_index": 43,
                                "file_citation": {"file_id": "file-Handbook01", "quote": ""},
                            },
                            {
                                "index": 1,
                                "type": "file_path",
                                "text": "sandbox:/mnt/data/a.png",
                                "file_path": {"file_id": "file-Chart03"},
                            },
                        ],
                    },
                }
            ]
        },
    }
    event = RunStreamEvent.from_openai(sse("thread.message.delta", data), event_index=12)
    assert event.citations == (
        Citation(
            sources=(CitationSource("file", file_id="file-Handbook01"),),
            text="【4:0†handbook.pdf】",
            start_index=25,
            end_index=43,
        ),
    )


# --------------------------------------------------------------------------------------------
# Deferred fields and what a run parse loads
# --------------------------------------------------------------------------------------------


def _eager(run: Run) -> Run:
    """The same run built by ``Run(...)``, every field given."""
    return Run(**{f.name: getattr(run, f.name) for f in dataclasses.fields(Run)})


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(completed_run(), id="completed"),
        pytest.param(requires_action_run(*THREE_CALLS), id="requires-action"),
        pytest.param(failed_run(), id="failed"),
        pytest.param(run_payload("incomplete", incomplete_details=None), id="incomplete"),
    ],
)
def test_deferred_fields_make_an_ordinary_run(payload: Payload) -> None:
    lazy, reading = Run.from_openai(payload), Run.from_openai(payload)
    assert type(lazy) is Run
    eager = _eager(reading)  # reads (so builds) every deferred field of `reading`
    assert lazy == eager
    assert eager == lazy
    assert repr(lazy) == repr(eager)
    assert dataclasses.asdict(lazy) == dataclasses.asdict(eager)
    assert copy.copy(lazy) == eager
    assert pickle.loads(pickle.dumps(lazy)) == eager
    assert dataclasses.replace(lazy, id="run_other") == dataclasses.replace(eager, id="run_other")
    fresh = Run.from_openai(payload)
    assert fresh.tools is fresh.tools  # built once, then kept
    assert fresh.tool_calls is fresh.tool_calls


def test_deferred_fields_are_frozen() -> None:
    run = Run.from_openai(requires_action_run(*THREE_CALLS))
    for name in ("tools", "tool_calls", "usage", "last_error"):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(run, name, None)
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(run, name)
    assert len(run.tool_calls) == 3


def test_bad_payloads_fail_at_parse_not_at_a_later_read() -> None:
    """What can fail to convert is converted eagerly (timestamps); validation covers the rest."""
    for payload in (run_payload(created_at=10**20), run_payload(expires_at=10**20)):
        with pytest.raises(DecodeError):
            Run.from_openai(payload)


def test_known_tool_type_that_does_not_match_is_an_error() -> None:
    """The unknown-tool branch does not take a known type whose variant failed."""
    bad = {"type": "function", "function": {"description": "no name"}}
    with pytest.raises(DecodeError) as info:
        Run.from_openai(json.dumps(run_payload(tools=[bad])))
    assert info.value.path == "tools.0.function.name"
    assert "is known" not in info.value.reason
    new = {"type": "web_search", "web_search": {}}
    run = Run.from_openai(json.dumps(run_payload(tools=[new])))
    assert [t.type for t in run.tools] == ["web_search"]
    with pytest.raises(DecodeError) as info:
        Run.from_openai(run_payload(response_format={"type": "json_schema"}))
    assert info.value.path == "response_format.json_schema"


_LOADED = """
import sys, runbind
before = sorted(m for m in sys.modules if m.split(".")[0] in {"asyncio", "pydantic"})
run = runbind.Run.from_openai(open(sys.argv[1], encoding="utf-8").read())
assert len(run.tool_calls) == 3
models = "runbind_generated.openai.models" in sys.modules
from runbind_generated.openai import AssistantObject, MessageObject, RunObject
print(before, models, RunObject.__pydantic_complete__, MessageObject.__pydantic_complete__,
      AssistantObject.__pydantic_complete__)
"""


def test_a_run_parse_loads_only_the_run_models(tmp_path: Path) -> None:
    payload = tmp_path / "run.json"
    payload.write_text(json.dumps(requires_action_run(*THREE_CALLS)), encoding="utf-8")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", _LOADED, str(payload)],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    )
    # `import runbind` loads neither pydantic nor asyncio; the parse imports `_runs` only and
    # builds the schemas of the run, not those of its answer message or of other objects.
    assert out.stdout.split() == ["[]", "False", "True", "False", "False"]
