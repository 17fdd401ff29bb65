"""OpenAI rows: our generated Pydantic models against openai-python's, validated and as its client
builds them (``construct_type``): an Assistants ``Run`` (also through ``runbind.Run.from_openai``),
a Responses ``Response``, and a stream of Responses events through the ``ResponseStreamEvent``
union."""

from __future__ import annotations

import json

from openai._models import construct_type
from openai.types.beta.threads import Run as OpenAIRun
from openai.types.responses import Response as OpenAIResponse
from openai.types.responses import ResponseStreamEvent as OpenAIResponseStreamEvent
from pydantic import TypeAdapter
from runbind_generated.openai import Response, ResponseStreamEvent, RunObject

import runbind

from ._payloads import openai_response_events, openai_response_json, openai_run_json
from ._results import Row
from ._timing import Contender, Settings, compare

__all__ = ["rows"]


def rows(settings: Settings) -> list[Row]:
    """The Assistants run rows, then the Responses rows."""
    return _run_rows(settings) + _response_rows(settings)


def _response_rows(settings: Settings) -> list[Row]:
    """A ~4 KB completed background response, and the 132 events of its stream (text and
    function-argument deltas, items added and done, created and completed with the response)."""
    text = openai_response_json()
    events = openai_response_events()
    ours_events = TypeAdapter(ResponseStreamEvent)
    theirs_events: TypeAdapter[object] = TypeAdapter(OpenAIResponseStreamEvent)
    for event in events:  # the same classes on both sides, none unknown
        mine, theirs = ours_events.validate_json(event), theirs_events.validate_json(event)
        assert type(mine).__name__.removeprefix("Response") in type(theirs).__name__, event[:60]
    mine_response = Response.model_validate_json(text)
    assert mine_response.id == OpenAIResponse.model_validate_json(text).id
    assert [type(item).__name__ for item in mine_response.output] == [
        "ReasoningItem",
        "OutputMessage",
        "FunctionToolCall",
        "FunctionToolCall",
    ]

    def stream_ours() -> object:
        return [ours_events.validate_json(event) for event in events]

    def stream_theirs() -> object:
        return [theirs_events.validate_json(event) for event in events]

    def stream_built() -> object:
        return [
            construct_type(type_=OpenAIResponseStreamEvent, value=json.loads(e)) for e in events
        ]

    stream_note = f"{len(events)} events, {sum(map(len, events))} B of JSON per stream;"
    stream_note += " construct_type is openai-python's stream path (no checks)"
    return [
        compare(
            "openai",
            "Responses stream JSON -> ResponseStreamEvent (132 events)",
            settings,
            Contender("TypeAdapter(ResponseStreamEvent)", stream_ours),
            Contender("openai TypeAdapter(ResponseStreamEvent)", stream_theirs),
            Contender("openai construct_type(json.loads)", stream_built),
            note=stream_note,
        ),
        compare(
            "openai",
            "OpenAI JSON -> Response.model_validate_json",
            settings,
            Contender("Response", lambda: Response.model_validate_json(text)),
            Contender(
                "openai Response.model_validate_json",
                lambda: OpenAIResponse.model_validate_json(text),
            ),
            Contender(
                "openai construct_type(json.loads)",
                lambda: construct_type(type_=OpenAIResponse, value=json.loads(text)),
            ),
            note=f"{len(text)} B of JSON; construct_type is openai-python's response path",
        ),
    ]


def _run_rows(settings: Settings) -> list[Row]:
    """Both Assistants rows, over the same ~3 KB ``requires_action`` run."""
    text = openai_run_json()
    ours = RunObject.model_validate_json(text)
    theirs = OpenAIRun.model_validate_json(text)
    built = construct_type(type_=OpenAIRun, value=json.loads(text))
    assert isinstance(built, OpenAIRun)
    for run in (theirs, built):
        assert run.required_action is not None
        assert len(run.required_action.submit_tool_outputs.tool_calls) == 3
    assert ours.id == theirs.id == built.id
    assert len(runbind.Run.from_openai(text).tool_calls) == 3

    anchors = [
        Contender("openai Run.model_validate_json", lambda: OpenAIRun.model_validate_json(text)),
        Contender(
            "openai construct_type(json.loads)",
            lambda: construct_type(type_=OpenAIRun, value=json.loads(text)),
        ),
    ]
    note = f"{len(text)} B of JSON; construct_type is openai-python's response path (no checks)"
    model = Contender("RunObject", lambda: RunObject.model_validate_json(text))
    adapter = Contender("Run.from_openai", lambda: runbind.Run.from_openai(text))
    return [
        compare(
            "openai",
            "OpenAI JSON -> RunObject.model_validate_json",
            settings,
            model,
            *anchors,
            note=note,
        ),
        compare(
            "openai",
            "OpenAI JSON -> runbind.Run.from_openai",
            settings,
            adapter,
            *anchors,
            note=note,
        ),
    ]
