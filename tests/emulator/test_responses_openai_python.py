"""openai-python, unmodified, against the emulator's Responses API over real sockets.

What a program written for the real API does with background responses: create and poll to
the end; create streamed and iterate; resume a stream cut by fault injection with
``retrieve(id, stream=True, starting_after=N)`` and get exactly the uninterrupted sequence;
cancel; a two-round function-calling loop through ``previous_response_id``; bad input refused
with the spec's error object (``openai.BadRequestError`` with its fields).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types.responses import FunctionToolParam, Response, ResponseStreamEvent
from openai.types.responses.response_input_param import FunctionCallOutput

from runbind.emulator import Emulator
from tests._spec_version import OPENAI, requires_generated

from ._clients import TIMEOUT, stop

# The Responses API is newer than some openai-openapi versions (before 2025-03).
pytestmark = requires_generated(f"{OPENAI}.CreateResponse", f"{OPENAI}.Response")

KEY = "sk-openai-python"
WEATHER: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {}},
    "strict": False,
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
        api_key=KEY, base_url=emulator.openai_base_url, timeout=TIMEOUT, max_retries=0
    ) as client:
        yield client


def _poll(client: openai.OpenAI, response: Response) -> Response:
    deadline = time.monotonic() + TIMEOUT
    while response.status in ("queued", "in_progress"):
        assert time.monotonic() < deadline, f"still {response.status}"
        time.sleep(0.01)
        response = client.responses.retrieve(response.id)
    return response


def _text(events: list[ResponseStreamEvent]) -> str:
    return "".join(e.delta for e in events if e.type == "response.output_text.delta")


def test_background_create_then_poll_to_completed(client: openai.OpenAI) -> None:
    created = client.responses.create(
        model="gpt-4o", input="hello background world", background=True, metadata={"k": "v"}
    )
    assert (created.status, created.background, created.output) == ("queued", True, [])
    done = _poll(client, created)
    assert done.status == "completed"
    assert done.output_text == "hello background world"
    assert done.metadata == {"k": "v"}
    assert done.usage is not None
    assert done.usage.total_tokens == done.usage.input_tokens + done.usage.output_tokens > 0
    (item,) = client.responses.input_items.list(done.id).data
    assert item.type == "message"
    assert item.role == "user"


def test_background_stream_iterated(client: openai.OpenAI) -> None:
    stream = client.responses.create(
        model="gpt-4o",
        input="one two three four",
        background=True,
        stream=True,
        metadata={"emulator": "echo chunks=4"},
    )
    events = list(stream)
    assert [e.sequence_number for e in events] == list(range(len(events)))
    kinds = [e.type for e in events]
    assert kinds[:5] == [
        "response.created",
        "response.queued",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds.count("response.output_text.delta") == 4
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    last = events[-1]
    assert last.type == "response.completed"
    assert last.response.output_text == _text(events) == "one two three four"


def test_cut_stream_resumed_with_starting_after_joins_exactly(
    client: openai.OpenAI, emulator: Emulator
) -> None:
    """A stream cut after every position of a response, resumed from the last sequence number
    seen, gives exactly the sequence of an uninterrupted stream of the same response."""
    script = {"emulator": "echo chunks=3"}
    whole = list(
        client.responses.create(
            model="gpt-4o", input="a b c", background=True, stream=True, metadata=script
        )
    )
    expected = [(e.sequence_number, e.type) for e in whole]
    for cut in range(1, len(whole)):
        emulator.faults.drop_stream(cut, protocol="openai")
        seen: list[ResponseStreamEvent] = []
        stream = client.responses.create(
            model="gpt-4o", input="a b c", background=True, stream=True, metadata=script
        )
        with pytest.raises(openai.APIConnectionError):
            seen.extend(stream)
        assert len(seen) == cut
        first = seen[0]
        assert first.type == "response.created"
        resumed = client.responses.retrieve(
            first.response.id, stream=True, starting_after=seen[-1].sequence_number
        )
        seen.extend(resumed)
        assert [(e.sequence_number, e.type) for e in seen] == expected, cut
        assert _text(seen) == _text(whole) == "a b c"
        last = seen[-1]
        assert last.type == "response.completed"
        assert last.response.output_text == "a b c"


def test_cancel(client: openai.OpenAI) -> None:
    slow = client.responses.create(
        model="gpt-4o", input="x", background=True, metadata={"emulator": "slow seconds=30"}
    )
    cancelled = client.responses.cancel(slow.id)
    assert cancelled.status == "cancelled"
    assert client.responses.retrieve(slow.id).status == "cancelled"
    assert client.responses.cancel(slow.id).status == "cancelled"  # as it is, once cancelled
    done = _poll(client, client.responses.create(model="gpt-4o", input="y", background=True))
    with pytest.raises(openai.BadRequestError, match="Cannot cancel a completed response"):
        client.responses.cancel(done.id)
    client.responses.delete(done.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(done.id)


def _outputs(response: Response, tag: str) -> list[FunctionCallOutput]:
    calls = [item for item in response.output if item.type == "function_call"]
    assert [c.name for c in calls] == ["get_weather"] * 2
    return [
        {"type": "function_call_output", "call_id": c.call_id, "output": f"{tag}-{i}"}
        for i, c in enumerate(calls)
    ]


def test_two_round_tool_loop_through_previous_response_id(client: openai.OpenAI) -> None:
    first = _poll(
        client,
        client.responses.create(
            model="gpt-4o",
            input="weather in Oslo and Bergen?",
            tools=[WEATHER],
            background=True,
            metadata={"emulator": "tools calls=2 rounds=2"},
        ),
    )
    assert first.status == "completed"
    second = _poll(
        client,
        client.responses.create(
            model="gpt-4o",
            previous_response_id=first.id,
            input=list(_outputs(first, "sunny")),
            tools=[WEATHER],
            background=True,
        ),
    )
    assert (second.status, second.previous_response_id) == ("completed", first.id)
    third = _poll(
        client,
        client.responses.create(
            model="gpt-4o",
            previous_response_id=second.id,
            input=list(_outputs(second, "windy")),
            tools=[WEATHER],
            background=True,
        ),
    )
    assert third.status == "completed"
    assert [item.type for item in third.output] == ["message"]
    for output in ("sunny-0", "sunny-1", "windy-0", "windy-1"):
        assert f"get_weather: {output}" in third.output_text
    items = client.responses.input_items.list(third.id, order="asc").data
    assert [i.type for i in items] == ["function_call_output"] * 2


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"model": "gpt-4o", "input": 5}, "input", "invalid_type"),
        ({"input": "hi"}, "model", "missing_required_parameter"),
        ({"model": "gpt-4o", "extra_body": {"colour": "red"}}, "colour", "unknown_parameter"),
        ({"model": "gpt-4o", "temperature": 3}, "temperature", "invalid_value"),
        (
            {"model": "gpt-4o", "previous_response_id": "resp_nope"},
            "previous_response_id",
            "previous_response_not_found",
        ),
        (
            {"model": "gpt-4o", "input": [{"type": "function_call_output", "call_id": "c"}]},
            "input[0].output",
            "missing_required_parameter",
        ),
        ({"model": "gpt-4o", "metadata": {"emulator": "dance"}}, "metadata.emulator", None),
    ],
)
def test_bad_input_is_a_bad_request_error(
    client: openai.OpenAI, body: dict[str, Any], param: str, code: str | None
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(**body)
    error = refused.value
    assert (error.status_code, error.type, error.param, error.code) == (
        400,
        "invalid_request_error",
        param,
        code,
    )
    assert isinstance(error.body, dict)
    assert set(error.body) == {"message", "type", "param", "code"}
    assert error.body["message"] in error.message
