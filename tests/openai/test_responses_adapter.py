"""The Responses adapter: a ``Response`` as a :class:`Run`, its stream events as
:class:`RunStreamEvent` (``event_index`` = ``sequence_number``), and the requires-action rule:
a completed response whose function calls have no outputs yet is paused, not succeeded."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from runbind import (
    DecodeError,
    InvalidArgumentError,
    Run,
    RunResult,
    RunStatus,
    RunStreamEvent,
    StreamEventKind,
)
from runbind._core.seam import adapter
from runbind.openai._statuses import OPENAI_RESPONSE_EVENT_KINDS, OPENAI_RESPONSE_STATUSES
from tests._spec_version import OPENAI, generated, requires_generated
from tests.test_properties import assert_predicates_consistent

if TYPE_CHECKING:
    from runbind_generated.openai import Response, ResponseStatus
else:  # newer than some spec versions: a stand-in skips the test using it
    Response = generated(OPENAI, "Response")
    ResponseStatus = generated(OPENAI, "ResponseStatus")

# The Responses API is newer than some openai-openapi versions (before 2025-03).
pytestmark = requires_generated(f"{OPENAI}.Response", f"{OPENAI}.ResponseStreamEvent")

ROOT = Path(__file__).resolve().parents[2]


def call(call_id: str, name: str = "get_weather") -> dict[str, Any]:
    return {"type": "function_call", "id": f"fc_{call_id}", "call_id": call_id, "name": name}


def payload(status: str = "completed", *output: dict[str, Any], **more: Any) -> dict[str, Any]:
    items = [
        item | {"arguments": "{}"} if item["type"] == "function_call" else item for item in output
    ]
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1_700_000_000,
        "status": status,
        "output": items,
        "model": "gpt-4o",
        "parallel_tool_calls": True,
        "tools": [{"type": "function", "name": "get_weather", "parameters": {}, "strict": True}],
        "metadata": {"k": "v"},
        "tool_choice": "auto",
        "temperature": 0.5,
        "top_p": 1.0,
        **more,
    }


MESSAGE = {
    "type": "message",
    "id": "msg_1",
    "role": "assistant",
    "status": "completed",
    "content": [
        {
            "type": "output_text",
            "text": "see here",
            "annotations": [
                {"type": "url_citation", "url": "https://e.x/", "start_index": 4}
                | {"end_index": 8, "title": "E"}
            ],
        }
    ],
}


def test_every_stream_event_type_and_status_of_the_spec_is_mapped() -> None:
    source = (ROOT / "generated/runbind_generated/openai/_responses.py").read_text()
    union = source[source.index("ResponseStreamEvent = TypeAliasType") :]
    union = union[: union.index("Tag(UNKNOWN_TAG)")]
    tags = set(re.findall(r'"((?:response\.|error)[a-z_.]*)"', union))
    assert len(tags) == 58
    assert set(OPENAI_RESPONSE_EVENT_KINDS) - tags == {"response.cancelled"}
    assert tags <= set(OPENAI_RESPONSE_EVENT_KINDS)
    assert {m.value for m in ResponseStatus} == set(OPENAI_RESPONSE_STATUSES)


@pytest.mark.parametrize(
    ("status", "output", "expected", "calls"),
    [
        ("completed", [MESSAGE], RunStatus.COMPLETED, 0),
        ("completed", [MESSAGE, call("c1"), call("c2")], RunStatus.REQUIRES_ACTION, 2),
        (
            "completed",
            [call("c1"), {"type": "function_call_output", "id": "o", "call_id": "c1"}],
            RunStatus.COMPLETED,
            0,
        ),
        ("in_progress", [call("c1")], RunStatus.IN_PROGRESS, 0),
        ("failed", [call("c1")], RunStatus.FAILED, 0),
        ("incomplete", [call("c1")], RunStatus.INCOMPLETE, 0),
        ("thinking", [call("c1")], RunStatus.UNKNOWN, 0),
    ],
)
def test_requires_action_is_a_completed_response_with_unanswered_calls(
    status: str, output: list[dict[str, Any]], expected: RunStatus, calls: int
) -> None:
    items = [
        item | {"output": "x", "status": "completed"}
        if item["type"] == "function_call_output"
        else item
        for item in output
    ]
    run = Run.from_openai_response(payload(status, *items, previous_response_id="resp_0"))
    assert (run.status, run.status_raw, len(run.tool_calls)) == (expected, status, calls)
    assert run.requires_action is (expected is RunStatus.REQUIRES_ACTION)
    assert run.required_action == ("submit_tool_outputs" if calls else None)
    assert [c.id for c in run.tool_calls] == ["c1", "c2"][:calls]
    assert run.previous_run_id == "resp_0"
    assert_predicates_consistent(run)
    result = RunResult.from_openai_response(payload(status, *items))
    assert result.tool_calls == run.tool_calls


def test_a_response_as_a_run() -> None:
    data = payload(
        "completed",
        MESSAGE,
        usage={"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}
        | {"output_tokens_details": {"reasoning_tokens": 0}},
        completed_at=1_700_000_009,
        instructions="be brief",
        max_output_tokens=64,
    )
    run = Run.from_openai_response(json.dumps(data))
    assert run == Run.from_openai_response(Response.model_validate(data))
    assert run == Run.from_openai_response(data)
    assert isinstance(run.raw, Response)
    assert (run.model, run.instructions, run.labels) == ("gpt-4o", "be brief", {"k": "v"})
    assert (run.custom_temperature, run.custom_max_tokens) == (0.5, 64)
    assert run.usage is not None
    assert (run.usage.prompt_tokens, run.usage.completion_tokens) == (3, 2)
    assert run.completed_at is not None
    assert run.completed_at.timestamp() == 1_700_000_009
    assert [(t.type, t.name) for t in run.tools] == [("function", "get_weather")]
    result = run.result()
    assert result.text == "see here"
    (citation,) = result.citations
    assert (citation.text, citation.sources[0].type) == ("here", "url")
    failed = Run.from_openai_response(
        payload("failed", error={"code": "server_error", "message": "boom"})
    )
    assert failed.last_error is not None
    assert str(failed.last_error) == "[server_error] boom"
    with pytest.raises(DecodeError, match="Response"):
        Run.from_openai_response({"object": "response"})


def test_stream_events() -> None:
    delta = {"type": "response.output_text.delta", "item_id": "m", "output_index": 0}
    delta |= {"content_index": 0, "delta": "he", "sequence_number": 7, "logprobs": []}
    event = RunStreamEvent.from_openai_response(json.dumps(delta))
    assert (event.status, event.event_index, event.text, event.is_running) == (
        StreamEventKind.PARTIAL_MESSAGE,
        7,
        "he",
        True,
    )
    completed = {"type": "response.completed", "sequence_number": 9}
    done = RunStreamEvent.from_openai_response(
        completed | {"response": payload("completed", MESSAGE)}
    )
    assert (done.status, done.is_succeeded, done.text) == (StreamEventKind.DONE, True, "see here")
    asks = RunStreamEvent.from_openai_response(
        completed | {"response": payload("completed", call("c1"))}
    )
    assert (asks.status, asks.requires_action, [c.id for c in asks.tool_calls]) == (
        StreamEventKind.TOOL_CALLS,
        True,
        ["c1"],
    )
    item = {"type": "response.output_item.done", "output_index": 0, "sequence_number": 3}
    message = RunStreamEvent.from_openai_response(item | {"item": MESSAGE})
    assert (message.status, message.text) == (StreamEventKind.MESSAGE, "see here")
    function = item | {"item": call("c1") | {"arguments": "{}", "status": "completed"}}
    step = RunStreamEvent.from_openai_response(function)
    assert (step.status, step.tool_calls, step.requires_action) == (
        StreamEventKind.RUN_STEP,
        (),
        False,
    )
    error = RunStreamEvent.from_openai_response(
        {"type": "error", "code": "x", "message": "bad", "param": None, "sequence_number": 1}
    )
    assert (error.status, error.is_failed, str(error.error)) == (
        StreamEventKind.ERROR,
        True,
        "[x] bad",
    )
    for event in (done, asks, message, error):
        assert_predicates_consistent(event)
    unnumbered = {"type": "response.pondering"}
    assert RunStreamEvent.from_openai_response(unnumbered, event_index=4).event_index == 4
    with pytest.raises(DecodeError, match="sequence_number"):
        RunStreamEvent.from_openai_response(unnumbered)


def test_tool_results_become_function_call_outputs() -> None:
    items = adapter("openai_responses").tool_results(
        [{"name": "f", "content": "ok", "tool_call_id": "c1"}]
    )
    assert items == [{"type": "function_call_output", "call_id": "c1", "output": "ok"}]
    with pytest.raises(InvalidArgumentError, match="tool_call_id"):
        adapter("openai_responses").tool_results([{"name": "f", "content": "ok"}])
