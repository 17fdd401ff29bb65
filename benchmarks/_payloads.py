"""The payloads the rows read: a ~3 KB Yandex ``Run`` (tool calls and two function tools, or a
completed answer without tools), a ~3 KB OpenAI ``requires_action`` run as JSON text, and an
OpenAI background response (reasoning, an answer with a citation, two function calls) as JSON
text and as the stream of events that builds it."""

from __future__ import annotations

import json
from typing import Any

from runbind_generated.proto.google.protobuf import Struct, Timestamp
from runbind_generated.proto.yandex.cloud.ai.assistants import v1
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs, threads
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.searchindex import SearchIndex
from runbind_generated.proto.yandex.cloud.ai.files.v1 import File

__all__ = ["openai_response_events", "openai_response_json", "openai_run_json", "yandex_run"]

Json = dict[str, Any]

WEATHER: Json = {
    "type": "object",
    "description": "Where and how to report the weather",
    "properties": {
        "city": {"type": "string", "description": "City name, e.g. Oslo or São Paulo"},
        "country": {"type": "string", "description": "ISO 3166-1 alpha-2 code", "maxLength": 2},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit", "kelvin"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 14, "default": 1},
        "hourly": {"type": "boolean", "default": False},
        "fields": {
            "type": "array",
            "description": "Which measurements to include in the report",
            "items": {"type": "string", "enum": ["temperature", "wind", "humidity", "pressure"]},
            "uniqueItems": True,
        },
        "location": {
            "type": "object",
            "description": "Exact coordinates, when the city name is ambiguous",
            "properties": {
                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                "lon": {"type": "number", "minimum": -180, "maximum": 180},
            },
            "required": ["lat", "lon"],
        },
    },
    "required": ["city"],
    "additionalProperties": False,
}
SEARCH: Json = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "description": "Full-text query over the handbook"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 50},
        "filters": {
            "type": "object",
            "properties": {
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 8},
                "updated_after": {"type": "string", "format": "date-time"},
                "language": {"type": "string", "enum": ["en", "ru", "de", "fr"]},
                "score": {"type": "number", "minimum": 0.0, "maximum": 1.0},
                "department": {"type": "string", "description": "Owning department, e.g. HR"},
            },
        },
        "sort": {"type": "string", "enum": ["relevance", "updated", "title"]},
        "snippets": {"type": "boolean", "description": "Return matching snippets as well"},
    },
    "required": ["query"],
}
ANSWER: Json = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "confidence": {"type": "number"},
        "sources": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["answer", "sources"],
}
LABELS = {"env": "prod", "team": "search", "tenant": "acme-eu", "channel": "web", "ab": "b"}
CALLS: list[tuple[str, Json]] = [
    ("get_weather", {"city": "Oslo", "country": "NO", "unit": "celsius", "days": 3.0}),
    ("get_weather", {"city": "Bergen", "country": "NO", "fields": ["wind", "temperature"]}),
    (
        "search_docs",
        {
            "query": "holiday policy 2025 carry-over rules",
            "limit": 5.0,
            "filters": {"tags": ["hr", "policy"], "language": "en", "department": "HR"},
            "sort": "relevance",
        },
    ),
    ("get_weather", {"city": "São Paulo", "country": "BR", "unit": "celsius", "hourly": True}),
]
ANSWER_TEXT = (
    "Oslo will be cold and clear for the next three days, with highs around four degrees and "
    "lows well below zero at night; São Paulo stays warm and humid with afternoon showers. "
)
CHUNK = "The handbook grants 25 days of paid holiday a year, plus public holidays of the country. "


def _ts(seconds: int, nanos: int) -> Timestamp:
    return Timestamp(seconds=seconds, nanos=nanos)


def _text(text: str) -> threads.ContentPart:
    return threads.ContentPart(text=threads.Text(content=text))


def _citation(file_id: str) -> threads.Citation:
    chunk = threads.FileChunk(
        search_index=SearchIndex(id="fvtq7w3e5r7t9y1u3i5o", name="handbook"),
        source_file=File(id=file_id, name="handbook.md", mime_type="text/markdown"),
        content=threads.ChunkContent(content=[_text(CHUNK), _text(CHUNK[:40])]),
    )
    return threads.Citation(sources=[threads.Source(chunk=chunk)])


def _answer() -> threads.Message:
    return threads.Message(
        id="fvt6h2j4l6n8p0r2t4v6",
        thread_id="fvt8p0r3c5e7g9i1k2m4",
        created_by="ajelprpohp7r8mk1c3fj",
        created_at=_ts(1753228812, 999999999),
        author=threads.Author(id="fvtd9b6v7h4q2k8s5n3j", role="ASSISTANT"),
        labels={"lang": "en", "model": "yandexgpt"},
        content=threads.MessageContent(content=[_text(ANSWER_TEXT * 8), _text(ANSWER_TEXT * 3)]),
        status=threads.MessageMessageStatus.COMPLETED,
        citations=[_citation("fvtf1a2b3c4d5e6f7g8h"), _citation("fvtf9z8y7x6w5v4u3t2s")],
    )


def _tool(name: str, description: str, schema: Json) -> v1.Tool:
    parameters = Struct.from_dict(schema)
    return v1.Tool(
        function=v1.FunctionTool(name=name, description=description, parameters=parameters)
    )


def yandex_run(*, tools: bool) -> runs.Run:
    """A realistic run: with tools it asks for four function calls, without it has answered."""
    if tools:
        calls = [
            v1.ToolCall(function_call=v1.FunctionCall(name=n, arguments=Struct.from_dict(a)))
            for n, a in CALLS
        ]
        state = runs.RunState(
            status=runs.RunStateRunStatus.TOOL_CALLS,
            tool_call_list=v1.ToolCallList(tool_calls=calls),
        )
        tool_list = [
            _tool("get_weather", "Current weather and forecast for a city", WEATHER),
            _tool("search_docs", "Search the employee handbook", SEARCH),
        ]
    else:
        state = runs.RunState(status=runs.RunStateRunStatus.COMPLETED, completed_message=_answer())
        tool_list = []
    truncation = v1.PromptTruncationOptions(
        max_prompt_tokens=16000,
        last_messages_strategy=v1.PromptTruncationOptionsLastMessagesStrategy(num_messages=24),
    )
    return runs.Run(
        id="fvt3kq1l2m9c0ab4r7e1",
        assistant_id="fvtd9b6v7h4q2k8s5n3j",
        thread_id="fvt8p0r3c5e7g9i1k2m4",
        created_by="ajelprpohp7r8mk1c3fj",
        created_at=_ts(1753228800, 123456789),
        labels=dict(LABELS),
        state=state,
        usage=runs.ContentUsage(prompt_tokens=1520, completion_tokens=87, total_tokens=1607),
        custom_prompt_truncation_options=truncation,
        custom_completion_options=v1.CompletionOptions(max_tokens=2048, temperature=0.3),
        tools=tool_list,
        custom_response_format=v1.ResponseFormat(
            json_schema=v1.JsonSchema(schema=Struct.from_dict(ANSWER))
        ),
    )


def _openai_tool(name: str, description: str, schema: Json) -> Json:
    function = {"name": name, "description": description, "parameters": schema, "strict": False}
    return {"type": "function", "function": function}


def openai_run_json() -> str:
    """A ``requires_action`` run with three tool calls, two function tools, usage, metadata."""
    calls = [
        {
            "id": f"call_{index}Xk2mP9qLr7sT4vW1yZ3bN5d",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)},
        }
        for index, (name, args) in enumerate(CALLS[1:])
    ]
    run: Json = {
        "id": "run_9kLm2Np4Qr6St8Uv0Wx2Yz4A",
        "object": "thread.run",
        "created_at": 1753228800,
        "assistant_id": "asst_3Hj5Kl7Mn9Pq1Rs3Tu5Vw7X",
        "thread_id": "thread_7Ab9Cd1Ef3Gh5Ij7Kl9Mn1O",
        "status": "requires_action",
        "started_at": 1753228801,
        "expires_at": 1753229400,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "required_action": {
            "type": "submit_tool_outputs",
            "submit_tool_outputs": {"tool_calls": calls},
        },
        "last_error": None,
        "model": "gpt-4o-2024-08-06",
        "instructions": "You answer employees' questions using the handbook and the weather tools.",
        "tools": [
            _openai_tool("get_weather", "Current weather and forecast for a city", WEATHER),
            _openai_tool("search_docs", "Search the employee handbook", SEARCH),
        ],
        "tool_resources": {},
        "metadata": dict(LABELS),
        "temperature": 0.3,
        "top_p": 1.0,
        "max_prompt_tokens": 16000,
        "max_completion_tokens": 2048,
        "truncation_strategy": {"type": "last_messages", "last_messages": 24},
        "incomplete_details": None,
        "usage": {"prompt_tokens": 1520, "completion_tokens": 87, "total_tokens": 1607},
        "response_format": "auto",
        "tool_choice": "auto",
        "parallel_tool_calls": True,
    }
    return json.dumps(run, separators=(",", ":"))


RESPONSE_ID = "resp_68a1c2e3f4b5a6978899aabbccddeeff0011223344556677"
ANSWER_TEXT = (
    "Oslo is cloudy at 4 °C with light wind from the south-west; Bergen expects rain all day. "
    "Per the handbook (section 4.2), remote work on days with an official weather warning "
    "needs no extra approval, so both offices may stay home tomorrow. I am fetching the "
    "three-day forecast for both cities and the handbook's list of exceptions to confirm."
)


def _response_tool(name: str, description: str, schema: Json) -> Json:
    return {
        "type": "function",
        "name": name,
        "description": description,
        "parameters": schema,
        "strict": False,
    }


def _output_items() -> list[Json]:
    """Reasoning, an assistant message with a citation, and two function calls."""
    reasoning: Json = {
        "type": "reasoning",
        "id": "rs_68a1c2e401a2b3c4d5e6f708192a3b4c",
        "summary": [{"type": "summary_text", "text": "Weather first, then the handbook."}],
    }
    message: Json = {
        "type": "message",
        "id": "msg_68a1c2e55f6e7d8c9b0a1f2e3d4c5b6a",
        "status": "completed",
        "role": "assistant",
        "content": [
            {
                "type": "output_text",
                "text": ANSWER_TEXT,
                "annotations": [
                    {
                        "type": "file_citation",
                        "file_id": "file-9Qw8Er7Ty6Ui5Op4As3Df2",
                        "filename": "handbook.pdf",
                        "index": 212,
                    }
                ],
                "logprobs": [],
            }
        ],
    }
    calls: list[Json] = [
        {
            "type": "function_call",
            "id": f"fc_68a1c2e6{index:02d}aa11bb22cc33dd44ee55ff66",
            "call_id": f"call_{index}Xk2mP9qLr7sT4vW1yZ3bN5d",
            "name": name,
            "arguments": json.dumps(args),
            "status": "completed",
        }
        for index, (name, args) in enumerate(CALLS[1:3])
    ]
    return [reasoning, message, *calls]


def _response(status: str, output: list[Json], *, usage: bool) -> Json:
    return {
        "id": RESPONSE_ID,
        "object": "response",
        "created_at": 1753228800,
        "status": status,
        "background": True,
        "completed_at": 1753228812 if status == "completed" else None,
        "error": None,
        "incomplete_details": None,
        "instructions": "You answer employees' questions using the handbook and the weather tools.",
        "max_output_tokens": 2048,
        "max_tool_calls": None,
        "model": "gpt-5.4-2026-03-05",
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": "resp_68a1c2d0aa00bb11cc22dd33ee44ff5566778899aabbccdd",
        "reasoning": {"effort": "low", "summary": "auto"},
        "service_tier": "default",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [
            _response_tool("get_weather", "Current weather and forecast for a city", WEATHER),
            _response_tool("search_docs", "Search the employee handbook", SEARCH),
        ],
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": (
            {
                "input_tokens": 1520,
                "input_tokens_details": {"cached_tokens": 1024, "cache_write_tokens": 0},
                "output_tokens": 187,
                "output_tokens_details": {"reasoning_tokens": 64},
                "total_tokens": 1707,
            }
            if usage
            else None
        ),
        "user": None,
        "metadata": dict(LABELS),
    }


def openai_response_json() -> str:
    """A completed background response (~4 KB): reasoning, a cited answer, two function calls."""
    return json.dumps(_response("completed", _output_items(), usage=True), separators=(",", ":"))


def openai_response_events() -> list[str]:
    """The stream of that response, one JSON ``data:`` payload per event (132 events): created,
    in progress, each item added and done, the answer in 4-character text deltas, the function
    arguments in 8-character deltas, and completed with the whole response."""
    reasoning, message, *calls = _output_items()
    events: list[Json] = [
        {"type": "response.created", "response": _response("queued", [], usage=False)},
        {"type": "response.in_progress", "response": _response("in_progress", [], usage=False)},
        {"type": "response.output_item.added", "output_index": 0, "item": reasoning},
        {"type": "response.output_item.done", "output_index": 0, "item": reasoning},
    ]
    empty = {**message, "status": "in_progress", "content": []}
    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    at = {"item_id": message["id"], "output_index": 1, "content_index": 0}
    events += [
        {"type": "response.output_item.added", "output_index": 1, "item": empty},
        {"type": "response.content_part.added", **at, "part": part},
    ]
    events += [
        {
            "type": "response.output_text.delta",
            **at,
            "delta": ANSWER_TEXT[i : i + 4],
            "logprobs": [],
        }
        for i in range(0, len(ANSWER_TEXT), 4)
    ]
    events += [
        {"type": "response.output_text.done", **at, "text": ANSWER_TEXT, "logprobs": []},
        {"type": "response.content_part.done", **at, "part": message["content"][0]},
        {"type": "response.output_item.done", "output_index": 1, "item": message},
    ]
    for index, call in enumerate(calls, start=2):
        started = {**call, "arguments": "", "status": "in_progress"}
        args = call["arguments"]
        where = {"item_id": call["id"], "output_index": index}
        events.append(
            {"type": "response.output_item.added", "output_index": index, "item": started}
        )
        events += [
            {"type": "response.function_call_arguments.delta", **where, "delta": args[i : i + 8]}
            for i in range(0, len(args), 8)
        ]
        events += [
            {
                "type": "response.function_call_arguments.done",
                **where,
                "name": call["name"],
                "arguments": args,
            },
            {"type": "response.output_item.done", "output_index": index, "item": call},
        ]
    events.append({"type": "response.completed", "response": json.loads(openai_response_json())})
    return [
        json.dumps({**event, "sequence_number": number}, separators=(",", ":"))
        for number, event in enumerate(events)
    ]
