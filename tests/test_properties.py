"""Hypothesis: Run-layer adapters accept all valid provider data, keep every field and agree."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from runbind_generated.openai import (
    MessageObject,
    MessageObjectIncompleteDetailsReason,
    MessageObjectRole,
    MessageObjectStatus,
    RunObject,
    RunObjectIncompleteDetailsReason,
    RunObjectLastErrorCode,
    RunObjectStatus,
    RunStepObjectStatus,
)
from runbind_generated.proto.google.protobuf import Struct, Timestamp, Value
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import (
    CompletionOptions,
    FunctionCall,
    FunctionTool,
    PromptTruncationOptionsAutoStrategy,
    PromptTruncationOptionsLastMessagesStrategy,
    SearchIndexTool,
    ToolCallList,
)
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import (
    PromptTruncationOptions as YPromptTruncationOptions,
)
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import Tool as YTool
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import ToolCall as YToolCall
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import (
    ContentUsage,
    RunState,
    RunStateRunStatus,
    StreamCursor,
    StreamEventEventType,
)
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import Run as YRun
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import (
    StreamEvent as YStreamEvent,
)
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.searchindex import SearchIndex
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.threads import (
    Author,
    ContentPart,
    MessageContent,
    MessageMessageStatus,
    Text,
)
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.threads import (
    Message as YMessage,
)
from runbind_generated.proto.yandex.cloud.ai.common import Error as YError
from runbind_generated.proto.yandex.cloud.ai.files.v1 import File

from runbind import (
    RUN_STATUS_TRAITS,
    STREAM_EVENT_TRAITS,
    Citation,
    CitationSource,
    ErrorDetails,
    IncompleteDetails,
    Message,
    Part,
    PromptTruncationOptions,
    ResponseFormat,
    Run,
    RunFailedError,
    RunResult,
    RunStatus,
    RunStreamEvent,
    StatusTraits,
    StreamEventKind,
    Tool,
    ToolCall,
    Usage,
)
from runbind.openai._statuses import OPENAI_EVENT_KINDS, OPENAI_RUN_STATUSES
from runbind.yandex._statuses import YANDEX_EVENT_KINDS, YANDEX_RUN_STATUSES
from tests._spec_version import THREADS, V1, generated

if TYPE_CHECKING:
    from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import GenSearchTool, JsonSchema
    from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import (
        ResponseFormat as YResponseFormat,
    )
    from runbind_generated.proto.yandex.cloud.ai.assistants.v1.threads import (
        ChunkContent,
        FileChunk,
        Source,
    )
    from runbind_generated.proto.yandex.cloud.ai.assistants.v1.threads import Citation as YCitation
else:  # newer than some spec versions: a stand-in skips the test using it
    GenSearchTool = generated(V1, "GenSearchTool")
    JsonSchema = generated(V1, "JsonSchema")
    YResponseFormat = generated(V1, "ResponseFormat")
    ChunkContent = generated(THREADS, "ChunkContent")
    FileChunk = generated(THREADS, "FileChunk")
    Source = generated(THREADS, "Source")
    YCitation = generated(THREADS, "Citation")

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

MIN_SECONDS = -62_135_596_800  # 0001-01-01T00:00:00Z
MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z

# --------------------------------------------------------------------------- shared strategies

TEXT = st.text(st.characters(codec="utf-8"), max_size=10)
INT64 = st.integers(-(2**63), 2**63 - 1)
COUNTS = st.integers(0, 2**53)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)
LABELS = st.dictionaries(TEXT, TEXT, max_size=3)
SECONDS = st.integers(MIN_SECONDS, MAX_SECONDS)

_STRUCT_LEAVES = st.none() | st.booleans() | FLOATS | TEXT  # Struct stores numbers as doubles
STRUCT_VALUES = st.recursive(
    _STRUCT_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
STRUCT_DICTS = st.dictionaries(TEXT, STRUCT_VALUES, max_size=3)
STRUCTS = STRUCT_DICTS.map(Struct.from_dict)

_JSON_LEAVES = _STRUCT_LEAVES | st.integers(-(2**53), 2**53)
JSON_VALUES = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
JSON_OBJECTS = st.dictionaries(TEXT, JSON_VALUES, max_size=3)


def _unknown_text(known: set[str] | frozenset[str]) -> st.SearchStrategy[str]:
    """Strings a provider does not list (a value from a newer API version)."""
    return st.text(st.characters(codec="utf-8"), min_size=1, max_size=12).filter(
        lambda s: s not in known
    )


# --------------------------------------------------------------------------- Yandex strategies

TIMESTAMPS = st.builds(Timestamp, seconds=SECONDS, nanos=st.integers(0, 999_999_999))
Y_ERRORS = st.builds(YError, code=INT64, message=TEXT)
Y_PARTS = st.lists(
    st.builds(ContentPart, text=st.builds(Text, content=TEXT)) | st.builds(ContentPart),
    max_size=3,
)
Y_CONTENTS = st.builds(MessageContent, content=Y_PARTS)
Y_SOURCES = st.builds(Source) | st.builds(
    Source,
    chunk=st.builds(
        FileChunk,
        search_index=st.none() | st.builds(SearchIndex, id=TEXT),
        source_file=st.none() | st.builds(File, id=TEXT),
        content=st.none() | st.builds(ChunkContent, content=Y_PARTS),
    ),
)
Y_MESSAGE_STATUSES = st.sampled_from(list(MessageMessageStatus)) | st.integers(4, 1000).map(
    MessageMessageStatus
)
Y_MESSAGES = st.builds(
    YMessage,
    id=TEXT,
    thread_id=TEXT,
    created_by=TEXT,
    created_at=st.none() | TIMESTAMPS,
    author=st.none() | st.builds(Author, id=TEXT, role=TEXT),
    labels=LABELS,
    content=st.none() | Y_CONTENTS,
    status=Y_MESSAGE_STATUSES,
    citations=st.lists(st.builds(YCitation, sources=st.lists(Y_SOURCES, max_size=2)), max_size=2),
)
Y_TOOL_CALL_LISTS = st.builds(
    ToolCallList,
    tool_calls=st.lists(
        st.builds(YToolCall)
        | st.builds(
            YToolCall,
            function_call=st.builds(FunctionCall, name=TEXT, arguments=st.none() | STRUCTS),
        ),
        max_size=3,
    ),
)
Y_RUN_STATUSES = st.sampled_from(list(RunStateRunStatus)) | st.integers(6, 1000).map(
    RunStateRunStatus
)
Y_RUN_STATES = (
    st.builds(RunState, status=Y_RUN_STATUSES)
    | st.builds(RunState, status=Y_RUN_STATUSES, error=Y_ERRORS)
    | st.builds(RunState, status=Y_RUN_STATUSES, completed_message=Y_MESSAGES)
    | st.builds(RunState, status=Y_RUN_STATUSES, tool_call_list=Y_TOOL_CALL_LISTS)
)
Y_TOOLS = (
    st.builds(
        YTool,
        function=st.builds(
            FunctionTool, name=TEXT, description=TEXT, parameters=st.none() | STRUCTS
        ),
    )
    | st.builds(
        YTool,
        search_index=st.builds(
            SearchIndexTool,
            search_index_ids=st.lists(TEXT, max_size=2),
            max_num_results=st.none() | st.integers(1, 50),
        ),
    )
    | st.builds(YTool, gen_search=st.builds(GenSearchTool, description=TEXT))
    | st.builds(YTool)
)
Y_TRUNCATIONS = st.builds(
    YPromptTruncationOptions,
    max_prompt_tokens=st.none() | INT64,
    auto_strategy=st.none() | st.builds(PromptTruncationOptionsAutoStrategy),
) | st.builds(
    YPromptTruncationOptions,
    max_prompt_tokens=st.none() | INT64,
    last_messages_strategy=st.builds(
        PromptTruncationOptionsLastMessagesStrategy, num_messages=INT64
    ),
)
Y_RESPONSE_FORMATS = (
    st.builds(YResponseFormat, json_object=st.booleans())
    | st.builds(YResponseFormat, json_schema=st.builds(JsonSchema, schema=st.none() | STRUCTS))
    | st.builds(YResponseFormat)
)
Y_RUNS = st.builds(
    YRun,
    id=TEXT,
    assistant_id=TEXT,
    thread_id=TEXT,
    created_by=TEXT,
    created_at=st.none() | TIMESTAMPS,
    labels=LABELS,
    state=st.none() | Y_RUN_STATES,
    usage=st.none()
    | st.builds(ContentUsage, prompt_tokens=INT64, completion_tokens=INT64, total_tokens=INT64),
    custom_prompt_truncation_options=st.none() | Y_TRUNCATIONS,
    custom_completion_options=st.none()
    | st.builds(
        CompletionOptions,
        max_tokens=st.none() | INT64,
        temperature=st.none() | FLOATS,
    ),
    tools=st.lists(Y_TOOLS, max_size=3),
    custom_response_format=st.none() | Y_RESPONSE_FORMATS,
)
Y_EVENT_TYPES = st.sampled_from(list(StreamEventEventType)) | st.integers(5, 1000).map(
    StreamEventEventType
)
Y_CURSORS = st.none() | st.builds(
    StreamCursor, current_event_idx=INT64, num_user_events_received=INT64
)
Y_EVENTS = (
    st.builds(YStreamEvent, event_type=Y_EVENT_TYPES, stream_cursor=Y_CURSORS)
    | st.builds(YStreamEvent, event_type=Y_EVENT_TYPES, stream_cursor=Y_CURSORS, error=Y_ERRORS)
    | st.builds(
        YStreamEvent, event_type=Y_EVENT_TYPES, stream_cursor=Y_CURSORS, partial_message=Y_CONTENTS
    )
    | st.builds(
        YStreamEvent,
        event_type=Y_EVENT_TYPES,
        stream_cursor=Y_CURSORS,
        completed_message=Y_MESSAGES,
    )
    | st.builds(
        YStreamEvent,
        event_type=Y_EVENT_TYPES,
        stream_cursor=Y_CURSORS,
        tool_call_list=Y_TOOL_CALL_LISTS,
    )
)

# --------------------------------------------------------------------------- OpenAI strategies

RUN_FIELDS = frozenset(RunObject.model_fields) | {"schema"}
RUN_STATUS_VALUES = [s.value for s in RunObjectStatus]
RUN_EVENTS = [
    "thread.run.created",
    "thread.run.queued",
    "thread.run.in_progress",
    "thread.run.requires_action",
    "thread.run.completed",
    "thread.run.incomplete",
    "thread.run.failed",
    "thread.run.cancelling",
    "thread.run.cancelled",
    "thread.run.expired",
]
STEP_EVENTS = [
    "thread.run.step.created",
    "thread.run.step.in_progress",
    "thread.run.step.completed",
    "thread.run.step.failed",
    "thread.run.step.cancelled",
    "thread.run.step.expired",
]
MESSAGE_EVENTS = [
    "thread.message.created",
    "thread.message.in_progress",
    "thread.message.completed",
    "thread.message.incomplete",
]
OTHER_EVENTS = ["thread.created", "thread.run.step.delta", "thread.message.delta", "error", "done"]
ALL_EVENTS = frozenset([*RUN_EVENTS, *STEP_EVENTS, *MESSAGE_EVENTS, *OTHER_EVENTS])


def _maybe(
    draw: st.DrawFn,
    target: dict[str, Any],
    key: str,
    values: st.SearchStrategy[Any],
    *,
    nullable: bool = True,
) -> None:
    """Leave ``key`` out, set it to null (when the schema allows), or set it to a drawn value."""
    choices = ("absent", "null", "value") if nullable else ("absent", "value")
    choice = draw(st.sampled_from(choices))
    if choice == "null":
        target[key] = None
    elif choice == "value":
        target[key] = draw(values)


def _function_tool(
    name: str, description: str | None, params: dict[str, Any] | None
) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name}
    if description is not None:
        function["description"] = description
    if params is not None:
        function["parameters"] = params
    return {"type": "function", "function": function}


@st.composite
def openai_tools(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["function", "code_interpreter", "file_search", "unknown"]))
    if kind == "function":
        tool = _function_tool(draw(TEXT), draw(st.none() | TEXT), draw(st.none() | JSON_OBJECTS))
        _maybe(draw, tool["function"], "strict", st.booleans())
        return tool
    if kind == "code_interpreter":
        return {"type": "code_interpreter"}
    if kind == "file_search":
        tool = {"type": "file_search"}
        _maybe(
            draw,
            tool,
            "file_search",
            st.fixed_dictionaries(
                {},
                optional={
                    "max_num_results": st.integers(1, 50),
                },
            ),
        )
        return tool
    unknown: dict[str, Any] = draw(JSON_OBJECTS)
    unknown["type"] = draw(_unknown_text({"function", "code_interpreter", "file_search"}))
    return unknown


@st.composite
def openai_tool_calls(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "id": draw(TEXT),
        "type": "function",
        "function": {"name": draw(TEXT), "arguments": json.dumps(draw(JSON_OBJECTS))},
    }


@st.composite
def openai_response_formats(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["auto", "text", "json_object", "json_schema", "unknown"]))
    if kind == "auto":
        return "auto"
    if kind in ("text", "json_object"):
        return {"type": kind}
    if kind == "unknown":
        return {"type": draw(_unknown_text({"text", "json_object", "json_schema"}))}
    spec: dict[str, Any] = {"name": draw(TEXT)}
    _maybe(draw, spec, "description", TEXT)
    _maybe(draw, spec, "schema", JSON_OBJECTS)
    _maybe(draw, spec, "strict", st.booleans())
    return {"type": "json_schema", "json_schema": spec}


@st.composite
def openai_runs(draw: st.DrawFn) -> dict[str, Any]:
    """A RunObject dict: every optional field present, null or absent at random."""
    run: dict[str, Any] = {
        "id": draw(TEXT),
        "object": "thread.run",
        "created_at": draw(SECONDS),
        "thread_id": draw(TEXT),
        "assistant_id": draw(TEXT),
        "status": draw(st.sampled_from(RUN_STATUS_VALUES) | _unknown_text(set(RUN_STATUS_VALUES))),
        "model": draw(TEXT),
        "tools": draw(st.lists(openai_tools(), max_size=4)),
        "parallel_tool_calls": draw(st.booleans()),
    }
    _maybe(
        draw,
        run,
        "required_action",
        st.fixed_dictionaries(
            {
                "type": st.just("submit_tool_outputs"),
                "submit_tool_outputs": st.fixed_dictionaries(
                    {"tool_calls": st.lists(openai_tool_calls(), max_size=3)}
                ),
            }
        ),
    )
    codes = [c.value for c in RunObjectLastErrorCode]
    _maybe(
        draw,
        run,
        "last_error",
        st.fixed_dictionaries(
            {"code": st.sampled_from(codes) | _unknown_text(set(codes)), "message": TEXT}
        ),
    )
    for key in ("expires_at", "started_at", "cancelled_at", "failed_at", "completed_at"):
        _maybe(draw, run, key, SECONDS)
    reasons = [r.value for r in RunObjectIncompleteDetailsReason]
    _maybe(
        draw,
        run,
        "incomplete_details",
        st.fixed_dictionaries(
            {},
            optional={"reason": st.none() | st.sampled_from(reasons) | _unknown_text(set(reasons))},
        ),
    )
    _maybe(draw, run, "instructions", TEXT)
    _maybe(draw, run, "metadata", LABELS)
    _maybe(
        draw,
        run,
        "usage",
        st.fixed_dictionaries(
            {"completion_tokens": COUNTS, "prompt_tokens": COUNTS, "total_tokens": COUNTS}
        ),
    )
    _maybe(draw, run, "temperature", FLOATS)
    _maybe(draw, run, "top_p", FLOATS)
    _maybe(draw, run, "max_prompt_tokens", st.integers(256, 2**53))
    _maybe(draw, run, "max_completion_tokens", st.integers(256, 2**53))
    _maybe(
        draw,
        run,
        "truncation_strategy",
        st.fixed_dictionaries(
            {"type": st.sampled_from(["auto", "last_messages"])},
            optional={"last_messages": st.none() | st.integers(1, 2**31)},
        ),
    )
    _maybe(draw, run, "response_format", openai_response_formats())
    extras = draw(st.dictionaries(_unknown_text(RUN_FIELDS), JSON_VALUES, max_size=2))
    run.update(extras)
    return run


@st.composite
def openai_annotations(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["file_citation", "file_path", "unknown"]))
    if kind == "unknown":
        return {"type": draw(_unknown_text({"file_citation", "file_path"})), "text": draw(TEXT)}
    start = draw(st.integers(0, 10_000))
    return {
        "type": kind,
        "text": draw(TEXT),
        kind: {"file_id": draw(TEXT)},
        "start_index": start,
        "end_index": draw(st.integers(start, 20_000)),
    }


@st.composite
def openai_content(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["text", "text", "refusal", "image_file", "image_url", "unknown"]))
    if kind == "text":
        annotations = draw(st.lists(openai_annotations(), max_size=3))
        return {"type": "text", "text": {"value": draw(TEXT), "annotations": annotations}}
    if kind == "refusal":
        return {"type": "refusal", "refusal": draw(TEXT)}
    if kind == "image_file":
        return {"type": "image_file", "image_file": {"file_id": draw(TEXT)}}
    if kind == "image_url":
        return {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    known = {"text", "refusal", "image_file", "image_url"}
    return {"type": draw(_unknown_text(known)), "payload": draw(JSON_VALUES)}


@st.composite
def openai_messages(draw: st.DrawFn) -> dict[str, Any]:
    roles = [r.value for r in MessageObjectRole]
    statuses = [s.value for s in MessageObjectStatus]
    message: dict[str, Any] = {
        "id": draw(TEXT),
        "object": "thread.message",
        "created_at": draw(SECONDS),
        "thread_id": draw(TEXT),
        "role": draw(st.sampled_from(roles) | _unknown_text(set(roles))),
        "content": draw(st.lists(openai_content(), max_size=4)),
    }
    _maybe(draw, message, "status", st.sampled_from(statuses) | _unknown_text(set(statuses)))
    reasons = [r.value for r in MessageObjectIncompleteDetailsReason]
    _maybe(draw, message, "incomplete_details", st.builds(dict, reason=st.sampled_from(reasons)))
    _maybe(draw, message, "completed_at", SECONDS)
    _maybe(draw, message, "assistant_id", TEXT)
    _maybe(draw, message, "run_id", TEXT)
    _maybe(draw, message, "metadata", LABELS)
    return message


@st.composite
def openai_message_deltas(draw: st.DrawFn) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    _maybe(draw, delta, "role", st.sampled_from(["user", "assistant"]))
    parts: list[dict[str, Any]] = []
    for index in range(draw(st.integers(0, 3))):
        part: dict[str, Any] = {"index": index, "type": "text"}
        text: dict[str, Any] = {}
        _maybe(draw, text, "value", TEXT)
        if draw(st.booleans()):
            cited: dict[str, Any] = {"index": 0, "type": "file_citation"}
            _maybe(draw, cited, "text", TEXT)
            _maybe(draw, cited, "file_citation", st.builds(dict, file_id=TEXT))
            _maybe(draw, cited, "start_index", st.integers(0, 100))
            text["annotations"] = [cited]
        _maybe(draw, part, "text", st.just(text))
        parts.append(part)
    _maybe(draw, delta, "content", st.just(parts))
    return {"id": draw(TEXT), "object": "thread.message.delta", "delta": delta}


@st.composite
def openai_events(draw: st.DrawFn) -> dict[str, Any]:
    """An ``{"event", "data"}`` dict over the whole AssistantStreamEvent vocabulary (+ unknown)."""
    name = draw(st.sampled_from(sorted(ALL_EVENTS)) | _unknown_text(ALL_EVENTS))
    data: Any
    if name in RUN_EVENTS:
        data = draw(openai_runs())
    elif name in MESSAGE_EVENTS:
        data = draw(openai_messages())
    elif name == "thread.message.delta":
        data = draw(openai_message_deltas())
    elif name in STEP_EVENTS:
        data = {
            "id": draw(TEXT),
            "object": "thread.run.step",
            "created_at": draw(SECONDS),
            "assistant_id": draw(TEXT),
            "thread_id": draw(TEXT),
            "run_id": draw(TEXT),
            "type": "message_creation",
            "status": draw(st.sampled_from([s.value for s in RunStepObjectStatus])),
            "step_details": {
                "type": "message_creation",
                "message_creation": {"message_id": draw(TEXT)},
            },
        }
    elif name == "thread.run.step.delta":
        data = {"id": draw(TEXT), "object": "thread.run.step.delta", "delta": {}}
    elif name == "thread.created":
        data = {"id": draw(TEXT), "object": "thread", "created_at": draw(SECONDS)}
        _maybe(draw, data, "metadata", LABELS)
    elif name == "error":
        data = {"message": draw(TEXT), "type": draw(TEXT)}
        _maybe(draw, data, "code", TEXT)
        _maybe(draw, data, "param", TEXT)
    elif name == "done":
        data = "[DONE]"
    else:
        data = draw(JSON_OBJECTS)
    return {"event": name, "data": data}


# --------------------------------------------------------------------------- expectations


def _y_time(ts: Timestamp | None) -> datetime | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts.seconds, UTC).replace(microsecond=ts.nanos // 1000)


def _struct_py(struct: Struct) -> dict[str, Any]:
    """An independent Struct -> Python oracle (walks the Value oneof directly)."""
    return {key: _value_py(value) for key, value in struct.fields.items()}


def _value_py(value: Value) -> Any:
    if value.struct_value is not None:
        return _struct_py(value.struct_value)
    if value.list_value is not None:
        return [_value_py(v) for v in value.list_value.values]
    if value.string_value is not None:
        return value.string_value
    if value.bool_value is not None:
        return value.bool_value
    if value.number_value is not None:
        return value.number_value
    return None


def _enum_name(number: int, names: Mapping[int, str]) -> str:
    return names.get(number, f"UNKNOWN({number!r})")


RUN_STATUS_NAMES = {int(m.value): m.name for m in RunStateRunStatus}
EVENT_TYPE_NAMES = {int(m.value): m.name for m in StreamEventEventType}
MESSAGE_STATUS_NAMES = {int(m.value): m.name for m in MessageMessageStatus}


def _y_parts(parts: list[ContentPart]) -> tuple[Part, ...]:
    return tuple(
        Part("text", p.text.content) if p.text is not None else Part("unknown") for p in parts
    )


def _y_message(message: YMessage) -> Message:
    citations = []
    for citation in message.citations:
        sources = []
        for source in citation.sources:
            chunk = source.chunk
            if chunk is None:
                sources.append(CitationSource("unknown"))
                continue
            text = None
            if chunk.content is not None:
                text = "\n".join(
                    p.text.content for p in chunk.content.content if p.text is not None
                )
            sources.append(
                CitationSource(
                    "file_chunk",
                    file_id=None if chunk.source_file is None else chunk.source_file.id,
                    search_index_id=None if chunk.search_index is None else chunk.search_index.id,
                    text=text,
                )
            )
        citations.append(Citation(tuple(sources)))
    author = message.author
    return Message(
        parts=_y_parts([] if message.content is None else message.content.content),
        citations=tuple(citations),
        id=message.id,
        thread_id=message.thread_id,
        role=None if author is None else author.role,
        author_id=None if author is None else author.id,
        created_by=message.created_by,
        created_at=_y_time(message.created_at),
        status=_enum_name(int(message.status), MESSAGE_STATUS_NAMES),
        labels=dict(message.labels),
    )


def _y_tool_calls(calls: ToolCallList | None) -> tuple[ToolCall, ...]:
    out = []
    for call in [] if calls is None else calls.tool_calls:
        fn = call.function_call
        if fn is None:
            out.append(ToolCall(None, "", "{}", "unknown"))
        else:
            args = {} if fn.arguments is None else _struct_py(fn.arguments)
            out.append(ToolCall(None, fn.name, json.dumps(args)))
    return tuple(out)


def _y_tool(tool: YTool) -> Tool:
    if tool.function is not None:
        fn = tool.function
        params = None if fn.parameters is None else _struct_py(fn.parameters)
        return Tool("function", fn.name, fn.description, params)
    if tool.search_index is not None:
        return Tool("search_index")
    if tool.gen_search is not None:
        return Tool("gen_search", description=tool.gen_search.description or None)
    return Tool("unknown")


def _y_error(error: YError | None) -> ErrorDetails | None:
    return None if error is None else ErrorDetails(error.code, error.message)


def _y_response_format(fmt: YResponseFormat | None) -> ResponseFormat | None:
    if fmt is None:
        return None
    if fmt.json_schema is not None:
        schema = fmt.json_schema.schema
        return ResponseFormat("json_schema", None if schema is None else _struct_py(schema))
    if fmt.json_object is not None:
        return ResponseFormat("json_object" if fmt.json_object else "text")
    return ResponseFormat("unspecified")


def _y_truncation(options: YPromptTruncationOptions | None) -> PromptTruncationOptions | None:
    if options is None:
        return None
    if options.last_messages_strategy is not None:
        num = options.last_messages_strategy.num_messages
        return PromptTruncationOptions(options.max_prompt_tokens, "last_messages", num)
    strategy = None if options.auto_strategy is None else "auto"
    return PromptTruncationOptions(options.max_prompt_tokens, strategy, None)


def _y_run(run: YRun) -> Run:
    """The runbind Run a Yandex Run must become, computed from the source message."""
    state = run.state
    number = 0 if state is None else int(state.status)
    completion = run.custom_completion_options
    truncation = run.custom_prompt_truncation_options
    usage = run.usage
    completed = None if state is None else state.completed_message
    return Run(
        provider="yandex",
        id=run.id,
        assistant_id=run.assistant_id,
        thread_id=run.thread_id,
        status=YANDEX_RUN_STATUSES.get(number, RunStatus.UNKNOWN),
        status_raw=number,
        status_name=_enum_name(number, RUN_STATUS_NAMES),
        created_at=_y_time(run.created_at),
        created_by=run.created_by,
        labels=dict(run.labels),
        custom_temperature=None if completion is None else completion.temperature,
        custom_max_tokens=None if completion is None else completion.max_tokens,
        custom_max_prompt_tokens=None if truncation is None else truncation.max_prompt_tokens,
        custom_prompt_truncation_options=_y_truncation(truncation),
        custom_response_format=_y_response_format(run.custom_response_format),
        tools=tuple(_y_tool(t) for t in run.tools),
        usage=(
            None
            if usage is None
            else Usage(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
        ),
        last_error=_y_error(None if state is None else state.error),
        tool_calls=_y_tool_calls(None if state is None else state.tool_call_list),
        completed_message=None if completed is None else _y_message(completed),
    )


def _o_time(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _o_tool(tool: dict[str, Any]) -> Tool:
    kind = tool.get("type")
    if kind == "function":
        fn = tool["function"]
        return Tool("function", fn["name"], fn.get("description"), fn.get("parameters"))
    if kind in ("code_interpreter", "file_search"):
        return Tool(kind)
    return Tool(kind or "unknown")


def _o_response_format(fmt: Any) -> ResponseFormat | None:
    if fmt is None:
        return None
    if isinstance(fmt, str):
        return ResponseFormat(fmt)
    if fmt["type"] == "json_schema":
        spec = fmt["json_schema"]
        strict = spec.get("strict", False)  # the model's default when absent
        return ResponseFormat("json_schema", spec.get("schema"), spec["name"], strict)
    return ResponseFormat(fmt["type"] or "unknown")


def _o_run(run: dict[str, Any]) -> Run:
    """The runbind Run an OpenAI RunObject dict must become."""
    status = run["status"]
    known = OPENAI_RUN_STATUSES.get(status)
    truncation = run.get("truncation_strategy")
    options = None
    if truncation is not None or run.get("max_prompt_tokens") is not None:
        options = PromptTruncationOptions(
            run.get("max_prompt_tokens"),
            None if truncation is None else truncation["type"],
            None if truncation is None else truncation.get("last_messages"),
        )
    action = run.get("required_action")
    error = run.get("last_error")
    incomplete = run.get("incomplete_details")
    usage = run.get("usage")
    return Run(
        provider="openai",
        id=run["id"],
        assistant_id=run["assistant_id"],
        thread_id=run["thread_id"],
        status=RunStatus.UNKNOWN if known is None else known,
        status_raw=status,
        status_name=status if known is not None else f"UNKNOWN({status!r})",
        created_at=_o_time(run["created_at"]),
        labels=run.get("metadata") or {},
        custom_temperature=run.get("temperature"),
        custom_max_tokens=run.get("max_completion_tokens"),
        custom_max_prompt_tokens=run.get("max_prompt_tokens"),
        custom_prompt_truncation_options=options,
        custom_response_format=_o_response_format(run.get("response_format")),
        tools=tuple(_o_tool(t) for t in run["tools"]),
        usage=(
            None
            if usage is None
            else Usage(usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"])
        ),
        last_error=None if error is None else ErrorDetails(error["code"], error["message"]),
        tool_calls=tuple(
            ToolCall(c["id"], c["function"]["name"], c["function"]["arguments"], c["type"])
            for c in ([] if action is None else action["submit_tool_outputs"]["tool_calls"])
        ),
        expires_at=_o_time(run.get("expires_at")),
        started_at=_o_time(run.get("started_at")),
        completed_at=_o_time(run.get("completed_at")),
        cancelled_at=_o_time(run.get("cancelled_at")),
        failed_at=_o_time(run.get("failed_at")),
        incomplete_details=(
            None if incomplete is None else IncompleteDetails(incomplete.get("reason"))
        ),
        required_action=None if action is None else action["type"],
        model=run["model"],
        instructions=run.get("instructions"),
    )


def _o_citation(annotation: dict[str, Any], *, delta: bool) -> Citation | None:
    if annotation["type"] != "file_citation":
        return None
    cited = annotation.get("file_citation")
    sources = () if cited is None else (CitationSource("file", file_id=cited["file_id"]),)
    if delta:
        return Citation(
            sources,
            annotation.get("text"),
            annotation.get("start_index"),
            annotation.get("end_index"),
        )
    return Citation(sources, annotation["text"], annotation["start_index"], annotation["end_index"])


def _o_parts(
    content: list[dict[str, Any]], *, delta: bool
) -> tuple[tuple[Part, ...], tuple[Citation, ...]]:
    parts: list[Part] = []
    citations: list[Citation] = []
    for part in content:
        kind = part["type"]
        if kind == "text":
            text = part.get("text")
            parts.append(Part("text", None if text is None else text.get("value")))
            for annotation in [] if text is None else text.get("annotations") or []:
                citation = _o_citation(annotation, delta=delta)
                if citation is not None:
                    citations.append(citation)
        elif kind == "refusal":
            parts.append(Part("refusal", part["refusal"]))
        else:
            parts.append(Part(kind or "unknown"))
    return tuple(parts), tuple(citations)


def _o_message(message: dict[str, Any]) -> Message:
    parts, citations = _o_parts(message["content"], delta=False)
    return Message(
        parts=parts,
        citations=citations,
        id=message["id"],
        thread_id=message["thread_id"],
        role=message["role"],
        created_at=_o_time(message["created_at"]),
        status=message.get("status"),
        run_id=message.get("run_id"),
        assistant_id=message.get("assistant_id"),
        labels=message.get("metadata") or {},
    )


def _o_delta(delta: dict[str, Any]) -> Message:
    parts, citations = _o_parts(delta["delta"].get("content") or [], delta=True)
    return Message(
        parts=parts,
        citations=citations,
        id=delta["id"],
        role=delta["delta"].get("role"),
        partial=True,
    )


# --------------------------------------------------------------------------- assertions


def _calls(calls: tuple[ToolCall, ...]) -> list[tuple[str | None, str, str, dict[str, Any]]]:
    """Tool calls compared by meaning: (id, name, type, parsed arguments)."""
    return [(c.id, c.name, c.type, c.arguments) for c in calls]


def assert_same_run(actual: Run, expected: Run) -> None:
    """Every field of ``actual`` equals ``expected`` (tool-call arguments compared parsed)."""
    for f in fields(Run):
        if f.name in ("raw", "tool_calls"):
            continue
        assert getattr(actual, f.name) == getattr(expected, f.name), f.name
    assert _calls(actual.tool_calls) == _calls(expected.tool_calls)
    for when in (actual.created_at, actual.expires_at, actual.started_at, actual.completed_at):
        assert when is None or when.utcoffset() == timedelta(0)


Predicated = Run | RunResult | RunStreamEvent


def assert_predicates_consistent(obj: Predicated) -> None:
    """Property (d): the five predicates agree with each other and with the tables."""
    running, succeeded, failed = obj.is_running, obj.is_succeeded, obj.is_failed
    finished, action = obj.is_finished, obj.requires_action
    assert finished == (succeeded or failed)
    assert not (succeeded and failed)
    assert sum((running, finished, action)) <= 1
    if isinstance(obj, RunStreamEvent):
        table = STREAM_EVENT_TRAITS[obj.status]
        unknown = obj.status is StreamEventKind.UNKNOWN or (
            table is None and (obj.run is None or obj.run.status is RunStatus.UNKNOWN)
        )
        expected: StatusTraits = (
            table
            if table is not None
            else RUN_STATUS_TRAITS[RunStatus.UNKNOWN if obj.run is None else obj.run.status]
        )
    else:
        unknown = obj.status is RunStatus.UNKNOWN
        expected = RUN_STATUS_TRAITS[obj.status]
    assert (running, succeeded, failed, finished, action) == tuple(expected)
    if unknown:
        assert not any((running, succeeded, failed, finished, action))


def assert_answer(obj: RunResult | RunStreamEvent, expected: Message | None) -> None:
    """``message``/``text``/``parts``/``citations`` read the expected answer (or raise)."""
    if expected is None and obj.is_failed:
        with pytest.raises(RunFailedError) as info:
            _ = obj.message
        assert info.value.error == obj.error
        with pytest.raises(RunFailedError):
            _ = obj.text
        return
    assert obj.message == expected
    if expected is None:
        assert obj.text is None
        assert obj.parts == ()
        assert obj.citations == ()
    else:
        assert obj.text == "\n".join(
            p.text for p in expected.parts if p.type == "text" and p.text is not None
        )
        assert obj.parts == expected.parts
        assert obj.citations == expected.citations


# --------------------------------------------------------------------------- (a, b, d) Yandex


@FAST
@given(message=Y_RUNS)
def test_yandex_run_keeps_every_field(message: YRun) -> None:
    data = bytes(message)
    expected = _y_run(message)
    from_message = Run.from_yandex(message)
    from_bytes = Run.from_yandex(data)
    for run in (from_message, from_bytes):
        assert_same_run(run, expected)
        assert run.metadata == run.labels
        assert_predicates_consistent(run)
    assert from_message.raw is message
    assert isinstance(from_bytes.raw, YRun)
    assert bytes(from_bytes.raw) == data
    # Yandex has no tool-call ids, model, instructions or other timestamps.
    assert all(c.id is None for c in from_bytes.tool_calls)
    assert from_bytes.model is None
    assert from_bytes.instructions is None


@FAST
@given(message=Y_RUNS)
def test_yandex_run_result_reads_the_run(message: YRun) -> None:
    data = bytes(message)
    expected = _y_run(message)
    for result in (RunResult.from_yandex(message), RunResult.from_yandex(data)):
        assert_same_run(result.run, expected)
        assert (result.status, result.status_raw, result.status_name) == (
            expected.status,
            expected.status_raw,
            expected.status_name,
        )
        assert result.error == expected.last_error
        assert _calls(result.tool_calls) == _calls(expected.tool_calls)
        assert result.usage == expected.usage
        assert result.raw is result.run.raw
        assert_predicates_consistent(result)
        assert_answer(result, expected.completed_message)


@FAST
@given(message=Y_EVENTS)
def test_yandex_stream_event_keeps_every_field(message: YStreamEvent) -> None:
    data = bytes(message)
    number = int(message.event_type)
    kind = YANDEX_EVENT_KINDS.get(number, StreamEventKind.UNKNOWN)
    cursor = message.stream_cursor
    answer: Message | None = None
    if message.partial_message is not None:
        answer = Message(parts=_y_parts(message.partial_message.content), partial=True)
    elif message.completed_message is not None:
        answer = _y_message(message.completed_message)
    from_message = RunStreamEvent.from_yandex(message)
    from_bytes = RunStreamEvent.from_yandex(data)
    for event in (from_message, from_bytes):
        assert event.provider == "yandex"
        assert event.status is kind
        assert event.status_raw == number
        assert event.status_name == _enum_name(number, EVENT_TYPE_NAMES)
        assert event.event_index == (0 if cursor is None else cursor.current_event_idx)
        assert event.error == _y_error(message.error)
        assert _calls(event.tool_calls) == _calls(_y_tool_calls(message.tool_call_list))
        assert event.run is None
        assert event.run_status is None
        assert_predicates_consistent(event)
        assert_answer(event, answer)
    assert from_message.raw is message
    assert isinstance(from_bytes.raw, YStreamEvent)
    assert bytes(from_bytes.raw) == data


# --------------------------------------------------------------------------- (a, b, d) OpenAI


@FAST
@given(run=openai_runs())
def test_openai_run_keeps_every_field(run: dict[str, Any]) -> None:
    expected = _o_run(run)
    text = json.dumps(run)
    extras = {k: v for k, v in run.items() if k not in RUN_FIELDS}
    for adapted in (Run.from_openai(run), Run.from_openai(text), Run.from_openai(text.encode())):
        assert_same_run(adapted, expected)
        # OpenAI keeps the exact JSON text the model wrote.
        assert [c.arguments_json for c in adapted.tool_calls] == [
            c.arguments_json for c in expected.tool_calls
        ]
        assert adapted.created_by is None
        assert adapted.completed_message is None
        assert isinstance(adapted.raw, RunObject)
        assert adapted.raw.model_extra == extras
        assert_predicates_consistent(adapted)
    model = RunObject.model_validate(run)
    assert Run.from_openai(model).raw is model


@FAST
@given(run=openai_runs(), message=st.none() | openai_messages())
def test_openai_run_result_reads_run_and_message(
    run: dict[str, Any], message: dict[str, Any] | None
) -> None:
    expected = _o_run(run)
    result = RunResult.from_openai(run, message)
    assert_same_run(result.run, expected)
    assert (result.status, result.status_raw, result.status_name) == (
        expected.status,
        expected.status_raw,
        expected.status_name,
    )
    assert result.error == expected.last_error
    assert result.tool_calls == expected.tool_calls
    assert result.usage == expected.usage
    assert isinstance(result.raw, RunObject)
    assert_predicates_consistent(result)
    assert_answer(result, None if message is None else _o_message(message))


@FAST
@given(message=openai_messages())
def test_openai_message_keeps_every_field(message: dict[str, Any]) -> None:
    expected = _o_message(message)
    text = json.dumps(message)
    for adapted in (Message.from_openai(message), Message.from_openai(text)):
        assert adapted == expected
        assert adapted.created_at is not None
        assert adapted.created_at.utcoffset() == timedelta(0)
        assert isinstance(adapted.raw, MessageObject)
        assert [p.raw for p in adapted.parts] == list(adapted.raw.content)


@SLOW
@given(event=openai_events(), index=st.integers(0, 2**31))
def test_openai_stream_event_keeps_every_field(event: dict[str, Any], index: int) -> None:
    name = event["event"]
    data = event["data"]
    kind = OPENAI_EVENT_KINDS.get(name, StreamEventKind.UNKNOWN)
    run = _o_run(data) if name in RUN_EVENTS else None
    answer: Message | None = None
    if name in MESSAGE_EVENTS:
        answer = _o_message(data)
    elif name == "thread.message.delta":
        answer = _o_delta(data)
    error = run.last_error if run is not None else None
    if name == "error":
        error = ErrorDetails(data.get("code"), data["message"])
    sse = {**event, "data": data if name == "done" else json.dumps(data)}
    inputs: list[Any] = [event, sse, json.dumps(event)]
    for raw in inputs:
        adapted = RunStreamEvent.from_openai(raw, event_index=index)
        assert adapted.provider == "openai"
        assert adapted.status is kind
        assert adapted.status_raw == name
        assert adapted.status_name == (name if name in ALL_EVENTS else f"UNKNOWN({name!r})")
        assert adapted.event_index == index
        assert adapted.error == error
        if run is None:
            assert adapted.run is None
            assert adapted.tool_calls == ()
        else:
            assert adapted.run is not None
            assert_same_run(adapted.run, run)
            assert adapted.run_status is run.status
            assert adapted.tool_calls == run.tool_calls
        assert_predicates_consistent(adapted)
        assert_answer(adapted, answer)
        assert isinstance(adapted.raw, BaseModel)
        assert adapted.raw.event == name


# --------------------------------------------------------------------------- (c) agreement

COMMON_STATUSES = {
    "queued": RunStateRunStatus.PENDING,
    "in_progress": RunStateRunStatus.IN_PROGRESS,
    "requires_action": RunStateRunStatus.TOOL_CALLS,
    "failed": RunStateRunStatus.FAILED,
    "completed": RunStateRunStatus.COMPLETED,
}


@dataclass(frozen=True)
class LogicalRun:
    """One run, independent of provider; written out as a Yandex Run and an OpenAI RunObject."""

    id: str
    assistant_id: str
    thread_id: str
    created_at: int
    labels: dict[str, str]
    status: str
    usage: tuple[int, int, int] | None
    temperature: float | None
    max_tokens: int | None
    max_prompt_tokens: int | None
    truncation: tuple[str, int | None] | None
    tools: list[tuple[str, str, dict[str, Any] | None]]
    calls: list[tuple[str, str, dict[str, Any]]]
    error: tuple[str, str] | None
    model: str


@st.composite
def logical_runs(draw: st.DrawFn) -> LogicalRun:
    status = draw(st.sampled_from(sorted(COMMON_STATUSES)))
    calls: list[tuple[str, str, dict[str, Any]]] = []
    if status == "requires_action":
        calls = draw(
            st.lists(
                st.tuples(TEXT, TEXT, STRUCT_DICTS),
                min_size=1,
                max_size=3,
                unique_by=lambda c: c[0],
            )
        )
    codes = [c.value for c in RunObjectLastErrorCode]
    return LogicalRun(
        id=draw(TEXT),
        assistant_id=draw(TEXT),
        thread_id=draw(TEXT),
        created_at=draw(SECONDS),
        labels=draw(LABELS),
        status=status,
        usage=draw(st.none() | st.tuples(COUNTS, COUNTS, COUNTS)),
        temperature=draw(st.none() | FLOATS),
        max_tokens=draw(st.none() | st.integers(256, 2**62)),
        max_prompt_tokens=draw(st.none() | st.integers(256, 2**62)),
        truncation=draw(
            st.none()
            | st.tuples(st.just("auto"), st.none())
            | st.tuples(st.just("last_messages"), st.integers(1, 2**31))
        ),
        tools=draw(st.lists(st.tuples(TEXT, TEXT, st.none() | STRUCT_DICTS), max_size=3)),
        calls=calls,
        error=draw(st.tuples(st.sampled_from(codes), TEXT)) if status == "failed" else None,
        model=draw(TEXT),
    )


def to_yandex(run: LogicalRun) -> YRun:
    state = RunState(status=COMMON_STATUSES[run.status])
    if run.error is not None:
        state.error = YError(code=13, message=run.error[1])
    if run.calls:
        state.tool_call_list = ToolCallList(
            tool_calls=[
                YToolCall(function_call=FunctionCall(name=name, arguments=Struct.from_dict(args)))
                for _, name, args in run.calls
            ]
        )
    truncation = None
    if run.max_prompt_tokens is not None or run.truncation is not None:
        truncation = YPromptTruncationOptions(max_prompt_tokens=run.max_prompt_tokens)
        if run.truncation is not None and run.truncation[0] == "auto":
            truncation.auto_strategy = PromptTruncationOptionsAutoStrategy()
        elif run.truncation is not None:
            truncation.last_messages_strategy = PromptTruncationOptionsLastMessagesStrategy(
                num_messages=run.truncation[1] or 0
            )
    completion = None
    if run.temperature is not None or run.max_tokens is not None:
        completion = CompletionOptions(max_tokens=run.max_tokens, temperature=run.temperature)
    return YRun(
        id=run.id,
        assistant_id=run.assistant_id,
        thread_id=run.thread_id,
        created_by="user",
        created_at=Timestamp(seconds=run.created_at),
        labels=dict(run.labels),
        state=state,
        usage=(
            None
            if run.usage is None
            else ContentUsage(
                prompt_tokens=run.usage[0],
                completion_tokens=run.usage[1],
                total_tokens=run.usage[2],
            )
        ),
        custom_prompt_truncation_options=truncation,
        custom_completion_options=completion,
        tools=[
            YTool(
                function=FunctionTool(
                    name=name,
                    description=description,
                    parameters=None if params is None else Struct.from_dict(params),
                )
            )
            for name, description, params in run.tools
        ],
    )


def to_openai(run: LogicalRun) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": run.id,
        "object": "thread.run",
        "created_at": run.created_at,
        "thread_id": run.thread_id,
        "assistant_id": run.assistant_id,
        "status": run.status,
        "model": run.model,
        "tools": [_function_tool(n, d, p) for n, d, p in run.tools],
        "metadata": dict(run.labels),
        "parallel_tool_calls": True,
        "temperature": run.temperature,
        "max_completion_tokens": run.max_tokens,
        "max_prompt_tokens": run.max_prompt_tokens,
    }
    if run.usage is not None:
        out["usage"] = dict(
            zip(("prompt_tokens", "completion_tokens", "total_tokens"), run.usage, strict=True)
        )
    if run.truncation is not None:
        out["truncation_strategy"] = {"type": run.truncation[0], "last_messages": run.truncation[1]}
    if run.error is not None:
        out["last_error"] = {"code": run.error[0], "message": run.error[1]}
    if run.calls:
        out["required_action"] = {
            "type": "submit_tool_outputs",
            "submit_tool_outputs": {
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": json.dumps(args)},
                    }
                    for call_id, name, args in run.calls
                ]
            },
        }
    return out


PREDICATES: tuple[Callable[[Predicated], bool], ...] = (
    lambda o: o.is_running,
    lambda o: o.is_succeeded,
    lambda o: o.is_failed,
    lambda o: o.is_finished,
    lambda o: o.requires_action,
)


@FAST
@given(logical=logical_runs())
def test_providers_agree_on_one_logical_run(logical: LogicalRun) -> None:
    yandex = Run.from_yandex(bytes(to_yandex(logical)))
    openai = Run.from_openai(to_openai(logical))
    same = (
        "id",
        "assistant_id",
        "thread_id",
        "created_at",
        "labels",
        "status",
        "custom_temperature",
        "custom_max_tokens",
        "custom_max_prompt_tokens",
        "custom_prompt_truncation_options",
        "tools",
        "usage",
    )
    for name in same:
        assert getattr(yandex, name) == getattr(openai, name), name
    assert yandex.created_at == datetime.fromtimestamp(logical.created_at, UTC)
    assert yandex.status == OPENAI_RUN_STATUSES[logical.status]
    assert [p(yandex) for p in PREDICATES] == [p(openai) for p in PREDICATES]
    assert [(c.name, c.arguments) for c in yandex.tool_calls] == [
        (c.name, c.arguments) for c in openai.tool_calls
    ]
    assert [(c.name, c.arguments) for c in openai.tool_calls] == [
        (name, args) for _, name, args in logical.calls
    ]
    assert [c.id for c in openai.tool_calls] == [call_id for call_id, _, _ in logical.calls]
    if logical.error is None:
        assert yandex.last_error is None
        assert openai.last_error is None
    else:
        assert yandex.last_error is not None
        assert openai.last_error is not None
        assert yandex.last_error.message == openai.last_error.message == logical.error[1]
    # What Yandex does not have is None there.
    assert all(c.id is None for c in yandex.tool_calls)
    assert (yandex.model, yandex.instructions) == (None, None)
    assert openai.model == logical.model
    for name in ("expires_at", "started_at", "completed_at", "cancelled_at", "failed_at"):
        assert getattr(yandex, name) is None, name
    yandex_result = RunResult.from_yandex(to_yandex(logical))
    openai_result = RunResult.from_openai(to_openai(logical))
    assert [p(yandex_result) for p in PREDICATES] == [p(openai_result) for p in PREDICATES]
    assert [p(yandex_result) for p in PREDICATES] == [p(yandex) for p in PREDICATES]
    assert yandex_result.status == openai_result.status
    assert yandex_result.usage == openai_result.usage


# --------------------------------------------------------------------------- (d) everything

ADAPTED: st.SearchStrategy[Predicated] = st.one_of(
    Y_RUNS.map(Run.from_yandex),
    Y_RUNS.map(lambda r: RunResult.from_yandex(bytes(r))),
    Y_EVENTS.map(RunStreamEvent.from_yandex),
    openai_runs().map(Run.from_openai),
    openai_runs().map(RunResult.from_openai),
    st.builds(
        lambda e, i: RunStreamEvent.from_openai(e, event_index=i),
        openai_events(),
        st.integers(0, 1000),
    ),
)


@SLOW
@given(obj=ADAPTED)
def test_predicates_are_consistent_on_every_adapted_object(obj: Predicated) -> None:
    assert_predicates_consistent(obj)
    if obj.status in (RunStatus.UNKNOWN, StreamEventKind.UNKNOWN):
        assert not any(p(obj) for p in PREDICATES)
