"""The Yandex adapters read runs, results and stream events field by field and reject bad bytes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import betterproto2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from runbind_generated.proto.google.protobuf import NullValue, Struct, Timestamp
from runbind_generated.proto.google.protobuf import Value as PValue
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import (
    CompletionOptions,
    FunctionCall,
    FunctionTool,
    PromptTruncationOptionsLastMessagesStrategy,
    SearchIndexTool,
    ToolCallList,
    ToolResultList,
)
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import (
    PromptTruncationOptions as YTruncation,
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
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import StreamEvent as YEvent
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.searchindex import SearchIndex
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.threads import (
    Author,
    ContentPart,
    MessageContent,
    MessageMessageStatus,
    Text,
)
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.threads import Message as YMessage
from runbind_generated.proto.yandex.cloud.ai.common import Error as YError
from runbind_generated.proto.yandex.cloud.ai.files.v1 import File

from runbind import (
    Citation,
    CitationSource,
    DecodeError,
    ErrorDetails,
    Message,
    Part,
    PromptTruncationOptions,
    ResponseFormat,
    Run,
    RunFailedError,
    RunResult,
    RunStatus,
    RunStreamEvent,
    StreamEventKind,
    Tool,
    ToolCall,
    Usage,
    to_yandex_tool_results,
)
from runbind._core.errors import FieldError
from runbind.yandex import _wire
from tests._spec_version import THREADS, V1, generated, requires_generated
from tests.generated.test_proto_wire import World, world  # noqa: F401

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

# What the Google-built messages below set (cloudapi commits before 2025-02 have none of it).
NEWER_PROTOS = requires_generated(
    f"{V1}.GenSearchTool", f"{V1}.ResponseFormat", f"{THREADS}.Citation"
)

# --------------------------------------------------------------------------- recorded-looking ids

RUN_ID = "fvt3kq1l2m9c0ab4r7e1"
ASSISTANT_ID = "fvtd9b6v7h4q2k8s5n3j"
THREAD_ID = "fvt8p0r3c5e7g9i1k2m4"
MESSAGE_ID = "fvt6h2j4l6n8p0r2t4v6"
USER_ID = "ajelprpohp7r8mk1c3fj"
INDEX_ID = "fvtq7w3e5r7t9y1u3i5o"
FILE_1 = "fvtf1a2b3c4d5e6f7g8h"
FILE_2 = "fvtf9z8y7x6w5v4u3t2s"

RUN_SECONDS, RUN_NANOS = 1753228800, 123456789
RUN_CREATED = datetime(2025, 7, 23, 0, 0, 0, 123456, tzinfo=UTC)
MSG_SECONDS, MSG_NANOS = 1753228812, 999999999
MSG_CREATED = datetime(2025, 7, 23, 0, 0, 12, 999999, tzinfo=UTC)

PART_1 = "Paris is the capital of France."
PART_2 = "It has been the capital since 508 AD — «Lutèce» 🗼."
CHUNK_1A = "Paris is the capital and largest city of France."
CHUNK_1B = "Population: 2.1 million."
CHUNK_2 = "Clovis I made Paris his capital in 508."
RUN_LABELS = {"env": "prod", "team": "search"}
MSG_LABELS = {"lang": "en"}
SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "sources": {"type": "array"}},
    "required": ["answer"],
}
WEATHER_PARAMS = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
}
ERROR_CODE = 13
ERROR_MESSAGE = "internal error: model is overloaded, retry later"
TOOL_ARGS: list[tuple[str, dict[str, Any]]] = [
    ("get_weather", {"city": "Paris", "unit": "celsius"}),
    ("search_docs", {"query": "café opening hours", "limit": 5.0, "filters": {"tags": ["a", "b"]}}),
    ("get_time", {}),
]
STREAM_TEXTS = ["The", "The capital of", "The capital of France is Paris."]

RUN_FIELDS = {
    "id",
    "assistant_id",
    "thread_id",
    "created_by",
    "created_at",
    "labels",
    "state",
    "usage",
    "custom_prompt_truncation_options",
    "custom_completion_options",
    "tools",
    "custom_response_format",
}

# --------------------------------------------------------------------------- builders


def _text_part(text: str) -> ContentPart:
    return ContentPart(text=Text(content=text))


def _chunk_source(index_id: str, file_id: str, texts: list[str]) -> Source:
    return Source(
        chunk=FileChunk(
            search_index=SearchIndex(id=index_id, name="docs"),
            source_file=File(id=file_id, name="paris.md"),
            content=ChunkContent(content=[_text_part(t) for t in texts]),
        )
    )


def _completed_message() -> YMessage:
    return YMessage(
        id=MESSAGE_ID,
        thread_id=THREAD_ID,
        created_by=USER_ID,
        created_at=Timestamp(seconds=MSG_SECONDS, nanos=MSG_NANOS),
        author=Author(id=ASSISTANT_ID, role="ASSISTANT"),
        labels=dict(MSG_LABELS),
        content=MessageContent(content=[_text_part(PART_1), _text_part(PART_2)]),
        status=MessageMessageStatus.COMPLETED,
        citations=[
            YCitation(sources=[_chunk_source(INDEX_ID, FILE_1, [CHUNK_1A, CHUNK_1B])]),
            YCitation(sources=[_chunk_source(INDEX_ID, FILE_2, [CHUNK_2])]),
        ],
    )


def _run(state: RunState | None) -> YRun:
    return YRun(
        id=RUN_ID,
        assistant_id=ASSISTANT_ID,
        thread_id=THREAD_ID,
        created_by=USER_ID,
        created_at=Timestamp(seconds=RUN_SECONDS, nanos=RUN_NANOS),
        labels=dict(RUN_LABELS),
        state=state,
        usage=ContentUsage(prompt_tokens=1520, completion_tokens=87, total_tokens=1607),
        custom_prompt_truncation_options=YTruncation(
            max_prompt_tokens=4000,
            last_messages_strategy=PromptTruncationOptionsLastMessagesStrategy(num_messages=12),
        ),
        custom_completion_options=CompletionOptions(max_tokens=512, temperature=0.25),
        tools=[
            YTool(
                function=FunctionTool(
                    name="get_weather",
                    description="Current weather in a city",
                    parameters=Struct.from_dict(WEATHER_PARAMS),
                )
            ),
            YTool(search_index=SearchIndexTool(search_index_ids=[INDEX_ID], max_num_results=3)),
            YTool(gen_search=GenSearchTool(description="Search the company site")),
        ],
        custom_response_format=YResponseFormat(
            json_schema=JsonSchema(schema=Struct.from_dict(SCHEMA))
        ),
    )


def completed_run() -> YRun:
    state = RunState(status=RunStateRunStatus.COMPLETED, completed_message=_completed_message())
    return _run(state)


def failed_run() -> YRun:
    error = YError(code=ERROR_CODE, message=ERROR_MESSAGE)
    return _run(RunState(status=RunStateRunStatus.FAILED, error=error))


def _tool_call_list() -> ToolCallList:
    return ToolCallList(
        tool_calls=[
            YToolCall(function_call=FunctionCall(name=name, arguments=Struct.from_dict(args)))
            for name, args in TOOL_ARGS
        ]
    )


def tool_calls_run() -> YRun:
    state = RunState(status=RunStateRunStatus.TOOL_CALLS, tool_call_list=_tool_call_list())
    return _run(state)


def _cursor(index: int) -> StreamCursor:
    return StreamCursor(current_event_idx=index, num_user_events_received=1)


def stream_events() -> list[YEvent]:
    """A recorded-looking stream: partial messages, tool calls, an error and the final answer."""
    partial = StreamEventEventType.PARTIAL_MESSAGE
    events = [
        YEvent(
            event_type=partial,
            stream_cursor=_cursor(i),
            partial_message=MessageContent(content=[_text_part(text)]),
        )
        for i, text in enumerate(STREAM_TEXTS)
    ]
    n = len(events)
    events += [
        YEvent(
            event_type=StreamEventEventType.TOOL_CALLS,
            stream_cursor=_cursor(n),
            tool_call_list=_tool_call_list(),
        ),
        YEvent(
            event_type=StreamEventEventType.ERROR,
            stream_cursor=_cursor(n + 1),
            error=YError(code=ERROR_CODE, message=ERROR_MESSAGE),
        ),
        YEvent(
            event_type=StreamEventEventType.DONE,
            stream_cursor=_cursor(n + 2),
            completed_message=_completed_message(),
        ),
    ]
    return events


def _tag(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _ld(number: int, payload: bytes) -> bytes:
    """A length-delimited field."""
    return _tag(number, 2) + _varint(len(payload)) + payload


def _predicates(obj: Run | RunResult | RunStreamEvent) -> dict[str, bool]:
    return {
        "is_running": obj.is_running,
        "is_succeeded": obj.is_succeeded,
        "is_failed": obj.is_failed,
        "is_finished": obj.is_finished,
        "requires_action": obj.requires_action,
    }


NO_PREDICATE = dict.fromkeys(
    ("is_running", "is_succeeded", "is_failed", "is_finished", "requires_action"), False
)

EXPECTED_MESSAGE_PARTS = (Part("text", PART_1), Part("text", PART_2))
EXPECTED_CITATIONS = (
    Citation(
        (
            CitationSource(
                "file_chunk",
                file_id=FILE_1,
                search_index_id=INDEX_ID,
                text=f"{CHUNK_1A}\n{CHUNK_1B}",
            ),
        )
    ),
    Citation(
        (CitationSource("file_chunk", file_id=FILE_2, search_index_id=INDEX_ID, text=CHUNK_2),)
    ),
)


def _check_common_run_fields(run: Run) -> None:
    assert run.provider == "yandex"
    assert run.id == RUN_ID
    assert run.assistant_id == ASSISTANT_ID
    assert run.thread_id == THREAD_ID
    assert run.created_by == USER_ID
    assert run.created_at == RUN_CREATED
    assert run.created_at is not None
    assert run.created_at.tzinfo is UTC
    assert run.labels == RUN_LABELS
    assert run.metadata == RUN_LABELS
    assert run.custom_temperature == 0.25
    assert run.custom_max_tokens == 512
    assert run.custom_max_prompt_tokens == 4000
    truncation = run.custom_prompt_truncation_options
    assert truncation == PromptTruncationOptions(4000, "last_messages", 12)
    assert isinstance(truncation.raw, YTruncation)
    fmt = run.custom_response_format
    assert fmt == ResponseFormat("json_schema", json_schema=SCHEMA)
    assert fmt.name is None
    assert fmt.strict is None
    assert isinstance(fmt.raw, YResponseFormat)
    assert run.tools == (
        Tool("function", "get_weather", "Current weather in a city", WEATHER_PARAMS),
        Tool("search_index"),
        Tool("gen_search", description="Search the company site"),
    )
    assert all(isinstance(t.raw, YTool) for t in run.tools)
    assert run.usage == Usage(prompt_tokens=1520, completion_tokens=87, total_tokens=1607)
    # Fields Yandex does not have.
    assert run.expires_at is None
    assert run.started_at is None
    assert run.completed_at is None
    assert run.cancelled_at is None
    assert run.failed_at is None
    assert run.incomplete_details is None
    assert run.required_action is None
    assert run.model is None
    assert run.instructions is None
    assert isinstance(run.raw, YRun)


def _check_completed_message(message: Message | None) -> None:
    assert message is not None
    assert message.parts == EXPECTED_MESSAGE_PARTS
    assert message.text == f"{PART_1}\n{PART_2}"
    assert message.citations == EXPECTED_CITATIONS
    assert message.id == MESSAGE_ID
    assert message.thread_id == THREAD_ID
    assert message.role == "ASSISTANT"
    assert message.author_id == ASSISTANT_ID
    assert message.created_by == USER_ID
    assert message.created_at == MSG_CREATED
    assert message.status == "COMPLETED"
    assert message.labels == MSG_LABELS
    assert message.partial is False
    assert message.run_id is None
    assert message.assistant_id is None
    assert isinstance(message.raw, YMessage)
    for citation in message.citations:
        assert isinstance(citation.raw, YCitation)
        assert citation.text is None
        assert citation.start_index is None
        assert citation.end_index is None
        assert all(isinstance(s.raw, Source) for s in citation.sources)


# --------------------------------------------------------------------------- completed run


@pytest.mark.parametrize("as_bytes", [True, False], ids=["bytes", "message"])
def test_completed_run_fields(as_bytes: bool) -> None:
    source = completed_run()
    run = Run.from_yandex(bytes(source) if as_bytes else source)
    _check_common_run_fields(run)
    assert run.status is RunStatus.COMPLETED
    assert run.status_raw == 4
    assert run.status_name == "COMPLETED"
    assert _predicates(run) == NO_PREDICATE | {"is_succeeded": True, "is_finished": True}
    assert run.last_error is None
    assert run.tool_calls == ()
    _check_completed_message(run.completed_message)
    if not as_bytes:
        assert run.raw is source


def test_completed_run_result() -> None:
    result = RunResult.from_yandex(bytes(completed_run()))
    assert result.status is RunStatus.COMPLETED
    assert result.status_raw == 4
    assert result.status_name == "COMPLETED"
    assert result.error is None
    assert result.tool_calls == ()
    assert result.usage == Usage(1520, 87, 1607)
    assert result.text == f"{PART_1}\n{PART_2}"
    assert result.parts == EXPECTED_MESSAGE_PARTS
    assert result.citations == EXPECTED_CITATIONS
    assert len(result.citations) == 2
    first = result.citations[0].sources[0]
    assert (first.type, first.file_id, first.search_index_id) == ("file_chunk", FILE_1, INDEX_ID)
    assert first.text == f"{CHUNK_1A}\n{CHUNK_1B}"
    _check_completed_message(result.message)
    assert result.is_succeeded
    assert result.is_finished
    assert not result.is_failed
    assert result.raw is result.run.raw
    assert result.run == Run.from_yandex(bytes(completed_run()))
    assert Run.from_yandex(bytes(completed_run())).result() == result


def test_message_parts_without_text_are_kept_and_skipped_in_text() -> None:
    message = _completed_message()
    assert message.content is not None
    message.content.content.insert(1, ContentPart())  # a part type this version does not know
    got = Message.from_yandex(bytes(message))
    assert [p.type for p in got.parts] == ["text", "unknown", "text"]
    assert got.parts[1].text is None
    assert got.text == f"{PART_1}\n{PART_2}"


# --------------------------------------------------------------------------- failed run


def test_failed_run() -> None:
    run = Run.from_yandex(bytes(failed_run()))
    _check_common_run_fields(run)
    assert run.status is RunStatus.FAILED
    assert run.status_raw == 3
    assert run.status_name == "FAILED"
    assert _predicates(run) == NO_PREDICATE | {"is_failed": True, "is_finished": True}
    assert run.last_error == ErrorDetails(ERROR_CODE, ERROR_MESSAGE)
    assert isinstance(run.last_error.raw, YError)
    assert str(run.last_error) == f"[{ERROR_CODE}] {ERROR_MESSAGE}"
    assert run.completed_message is None
    assert run.tool_calls == ()

    result = run.result()
    assert result.is_failed
    assert result.is_finished
    assert not result.is_succeeded
    assert result.error == ErrorDetails(ERROR_CODE, ERROR_MESSAGE)
    for read in ("message", "text", "parts", "citations"):
        with pytest.raises(RunFailedError) as info:
            getattr(result, read)
        assert info.value.status is RunStatus.FAILED
        assert info.value.error is not None
        assert info.value.error.message == ERROR_MESSAGE
        assert info.value.error.code == ERROR_CODE
        assert ERROR_MESSAGE in str(info.value)


# --------------------------------------------------------------------------- tool calls


def test_tool_calls_run() -> None:
    run = Run.from_yandex(bytes(tool_calls_run()))
    _check_common_run_fields(run)
    assert run.status is RunStatus.REQUIRES_ACTION
    assert run.status_raw == 5
    assert run.status_name == "TOOL_CALLS"
    assert _predicates(run) == NO_PREDICATE | {"requires_action": True}
    assert run.last_error is None
    assert run.completed_message is None

    result = run.result()
    assert result.requires_action
    assert not result.is_finished
    assert not result.is_succeeded
    assert not result.is_failed
    assert result.message is None
    assert result.text is None
    assert result.parts == ()
    assert result.error is None
    calls = result.tool_calls
    assert calls == run.tool_calls
    assert [c.name for c in calls] == [name for name, _ in TOOL_ARGS]
    assert [c.arguments for c in calls] == [args for _, args in TOOL_ARGS]
    for call in calls:
        assert call.id is None
        assert call.type == "function"
        assert isinstance(call.raw, YToolCall)
    assert calls[0].arguments_json == '{"city": "Paris", "unit": "celsius"}'
    assert calls[2].arguments == {}


def test_tool_results_go_back_in_order() -> None:
    calls = Run.from_yandex(bytes(tool_calls_run())).tool_calls
    weather, search, clock = calls
    results = [
        weather.result({"temp_c": 21.5, "sky": "ясно"}),
        search.result(["doc-1", "doc-2"]),
        clock.result("2025-07-23T12:00:00+02:00"),
    ]
    assert results[0] == {"name": "get_weather", "content": '{"temp_c": 21.5, "sky": "ясно"}'}
    assert results[1] == {"name": "search_docs", "content": '["doc-1", "doc-2"]'}
    assert results[2] == {"name": "get_time", "content": "2025-07-23T12:00:00+02:00"}
    assert all("tool_call_id" not in r for r in results)

    submitted = to_yandex_tool_results(results)
    assert isinstance(submitted, ToolResultList)
    again = ToolResultList.parse(bytes(submitted))
    for message in (submitted, again):
        got = []
        for item in message.tool_results:
            assert item.function_result is not None
            got.append((item.function_result.name, item.function_result.content))
        assert got == [(r["name"], r["content"]) for r in results]


# --------------------------------------------------------------------------- stream events


def test_stream_events() -> None:
    raw_events = stream_events()
    events = [RunStreamEvent.from_yandex(bytes(e)) for e in raw_events]
    for raw, event in zip(raw_events, events, strict=True):
        assert raw.stream_cursor is not None
        assert event.event_index == raw.stream_cursor.current_event_idx
        assert event.provider == "yandex"
        assert event.run is None
        assert event.run_status is None
        assert isinstance(event.raw, YEvent)
    assert [e.event_index for e in events] == list(range(len(raw_events)))
    *partials, tools, error, done = events

    for event, text in zip(partials, STREAM_TEXTS, strict=True):
        assert event.status is StreamEventKind.PARTIAL_MESSAGE
        assert event.status_raw == 1
        assert event.status_name == "PARTIAL_MESSAGE"
        assert _predicates(event) == NO_PREDICATE | {"is_running": True}
        assert event.text == text  # the text so far, growing
        assert event.parts == (Part("text", text),)
        assert event.message is not None
        assert event.message.partial is True
        assert isinstance(event.message.raw, MessageContent)
        assert event.error is None
        assert event.tool_calls == ()

    assert tools.status is StreamEventKind.TOOL_CALLS
    assert tools.status_raw == 4
    assert tools.status_name == "TOOL_CALLS"
    assert _predicates(tools) == NO_PREDICATE | {"requires_action": True}
    assert tools.text is None
    assert tools.message is None
    assert [(c.name, c.arguments) for c in tools.tool_calls] == TOOL_ARGS

    assert error.status is StreamEventKind.ERROR
    assert error.status_raw == 2
    assert error.status_name == "ERROR"
    assert _predicates(error) == NO_PREDICATE | {"is_failed": True, "is_finished": True}
    assert error.error == ErrorDetails(ERROR_CODE, ERROR_MESSAGE)
    for read in ("message", "text"):
        with pytest.raises(RunFailedError) as info:
            getattr(error, read)
        assert info.value.status is RunStatus.FAILED
        assert info.value.error is not None
        assert info.value.error.message == ERROR_MESSAGE

    assert done.status is StreamEventKind.DONE
    assert done.status_raw == 3
    assert done.status_name == "DONE"
    assert _predicates(done) == NO_PREDICATE | {"is_succeeded": True, "is_finished": True}
    assert done.text == f"{PART_1}\n{PART_2}"
    assert done.citations == EXPECTED_CITATIONS
    _check_completed_message(done.message)


def test_stream_event_from_message_object_equals_from_bytes() -> None:
    for raw in stream_events():
        assert RunStreamEvent.from_yandex(raw) == RunStreamEvent.from_yandex(bytes(raw))


def test_event_without_cursor_has_index_zero() -> None:
    event = RunStreamEvent.from_yandex(bytes(YEvent(event_type=StreamEventEventType.DONE)))
    assert event.event_index == 0
    assert event.message is None
    assert event.is_succeeded


# --------------------------------------------------------------------------- open vocabularies


@pytest.mark.parametrize(
    ("number", "status", "name"),
    [
        (0, RunStatus.UNSPECIFIED, "RUN_STATUS_UNSPECIFIED"),
        (1, RunStatus.QUEUED, "PENDING"),
        (2, RunStatus.IN_PROGRESS, "IN_PROGRESS"),
        (3, RunStatus.FAILED, "FAILED"),
        (4, RunStatus.COMPLETED, "COMPLETED"),
        (5, RunStatus.REQUIRES_ACTION, "TOOL_CALLS"),
    ],
)
def test_every_known_status_maps(number: int, status: RunStatus, name: str) -> None:
    run = Run.from_yandex(bytes(YRun(id=RUN_ID, state=RunState(status=RunStateRunStatus(number)))))
    assert (run.status, run.status_raw, run.status_name) == (status, number, name)


def test_run_without_state_is_unspecified() -> None:
    run = Run.from_yandex(bytes(YRun(id=RUN_ID)))
    assert (run.status, run.status_raw, run.status_name) == (
        RunStatus.UNSPECIFIED,
        0,
        "RUN_STATUS_UNSPECIFIED",
    )
    assert _predicates(run) == NO_PREDICATE
    assert run.created_at is None
    assert run.usage is None
    assert run.custom_temperature is None
    assert run.custom_max_tokens is None
    assert run.custom_max_prompt_tokens is None
    assert run.custom_prompt_truncation_options is None
    assert run.custom_response_format is None


def test_unknown_run_status_number() -> None:
    source = completed_run()
    assert source.state is not None
    source.state.status = RunStateRunStatus(42)
    data = bytes(source)
    run = Run.from_yandex(data)
    assert run.status is RunStatus.UNKNOWN
    assert run.status_raw == 42
    assert run.status_name == "UNKNOWN(42)"
    assert _predicates(run) == NO_PREDICATE
    result = run.result()
    assert _predicates(result) == NO_PREDICATE
    assert result.status_name == "UNKNOWN(42)"
    assert result.text == f"{PART_1}\n{PART_2}"  # not failed: the message is still readable
    assert bytes(run.raw) == data


def test_unknown_event_type_number() -> None:
    raw = YEvent(event_type=StreamEventEventType(42), stream_cursor=_cursor(7))
    event = RunStreamEvent.from_yandex(bytes(raw))
    assert event.status is StreamEventKind.UNKNOWN
    assert event.status_raw == 42
    assert event.status_name == "UNKNOWN(42)"
    assert event.event_index == 7
    assert _predicates(event) == NO_PREDICATE
    assert event.message is None
    assert event.text is None


def test_unknown_message_status_number_is_named() -> None:
    message = _completed_message()
    message.status = MessageMessageStatus(9)
    assert Message.from_yandex(bytes(message)).status == "UNKNOWN(9)"


# --------------------------------------------------------------------------- unknown fields

EXTRA_99 = _ld(99, b"from-the-future")


def test_unknown_top_level_field_survives() -> None:
    data = bytes(completed_run()) + EXTRA_99
    run = Run.from_yandex(data)
    assert run == Run.from_yandex(bytes(completed_run()))
    assert bytes(run.raw) == data
    event_data = bytes(stream_events()[-1]) + EXTRA_99
    event = RunStreamEvent.from_yandex(event_data)
    assert bytes(event.raw) == event_data
    assert event.text == f"{PART_1}\n{PART_2}"


def test_unknown_field_inside_state_survives() -> None:
    extra = EXTRA_99 + _tag(100, 0) + _varint(2**40) + _tag(101, 5) + b"\x01\x02\x03\x04"
    source = completed_run()
    assert source.state is not None
    source.state = RunState.parse(bytes(source.state) + extra)
    data = bytes(source)
    assert extra in data
    run = Run.from_yandex(data)
    assert run == Run.from_yandex(bytes(completed_run()))
    assert bytes(run.raw) == data
    assert run.raw.state is not None
    assert bytes(run.raw.state).endswith(extra)


# --------------------------------------------------------------------------- Google's wire format


def _gcls(w: World, name: str) -> Any:
    return w.google_cls(w.pool.FindMessageTypeByName(name))


def _g_text_part(target: Any, text: str) -> None:
    target.add().text.content = text


def _g_message(g: Any) -> None:
    g.id = MESSAGE_ID
    g.thread_id = THREAD_ID
    g.created_by = USER_ID
    g.created_at.seconds, g.created_at.nanos = MSG_SECONDS, MSG_NANOS
    g.author.id = ASSISTANT_ID
    g.author.role = "ASSISTANT"
    g.labels.update(MSG_LABELS)
    _g_text_part(g.content.content, PART_1)
    _g_text_part(g.content.content, PART_2)
    g.status = 1  # COMPLETED
    for file_id, texts in ((FILE_1, [CHUNK_1A, CHUNK_1B]), (FILE_2, [CHUNK_2])):
        chunk = g.citations.add().sources.add().chunk
        chunk.search_index.id = INDEX_ID
        chunk.search_index.name = "docs"
        chunk.source_file.id = file_id
        chunk.source_file.name = "paris.md"
        for text in texts:
            _g_text_part(chunk.content.content, text)


def _g_tool_calls(g: Any) -> None:
    for name, args in TOOL_ARGS:
        call = g.tool_calls.add().function_call
        call.name = name
        call.arguments.SetInParent()
        call.arguments.update(args)


def _google_run(w: World, kind: str) -> bytes:
    g = _gcls(w, "yandex.cloud.ai.assistants.v1.runs.Run")()
    g.id = RUN_ID
    g.assistant_id = ASSISTANT_ID
    g.thread_id = THREAD_ID
    g.created_by = USER_ID
    g.created_at.seconds, g.created_at.nanos = RUN_SECONDS, RUN_NANOS
    g.labels.update(RUN_LABELS)
    g.usage.prompt_tokens, g.usage.completion_tokens, g.usage.total_tokens = 1520, 87, 1607
    g.custom_prompt_truncation_options.max_prompt_tokens.value = 4000
    g.custom_prompt_truncation_options.last_messages_strategy.num_messages = 12
    g.custom_completion_options.max_tokens.value = 512
    g.custom_completion_options.temperature.value = 0.25
    fn = g.tools.add().function
    fn.name = "get_weather"
    fn.description = "Current weather in a city"
    fn.parameters.update(WEATHER_PARAMS)
    search = g.tools.add().search_index
    search.search_index_ids.append(INDEX_ID)
    search.max_num_results.value = 3
    g.tools.add().gen_search.description = "Search the company site"
    g.custom_response_format.json_schema.schema.update(SCHEMA)
    if kind == "completed":
        g.state.status = 4
        _g_message(g.state.completed_message)
    elif kind == "failed":
        g.state.status = 3
        g.state.error.code = ERROR_CODE
        g.state.error.message = ERROR_MESSAGE
    else:
        g.state.status = 5
        _g_tool_calls(g.state.tool_call_list)
    data: bytes = g.SerializeToString()
    return data


def _google_events(w: World) -> list[bytes]:
    cls = _gcls(w, "yandex.cloud.ai.assistants.v1.runs.StreamEvent")
    out: list[Any] = []
    for text in STREAM_TEXTS:
        g = cls(event_type=1)
        _g_text_part(g.partial_message.content, text)
        out.append(g)
    g = cls(event_type=4)
    _g_tool_calls(g.tool_call_list)
    out.append(g)
    g = cls(event_type=2)
    g.error.code, g.error.message = ERROR_CODE, ERROR_MESSAGE
    out.append(g)
    g = cls(event_type=3)
    _g_message(g.completed_message)
    out.append(g)
    for i, g in enumerate(out):
        g.stream_cursor.current_event_idx = i
        g.stream_cursor.num_user_events_received = 1
    return [g.SerializeToString() for g in out]


def _calls(calls: tuple[ToolCall, ...]) -> list[tuple[str | None, str, str, dict[str, Any]]]:
    """Tool calls compared by meaning: the arguments as a dict, not as JSON text."""
    return [(c.id, c.name, c.type, c.arguments) for c in calls]


OURS_RUNS: dict[str, Callable[[], YRun]] = {
    "completed": completed_run,
    "failed": failed_run,
    "tool_calls": tool_calls_run,
}


@NEWER_PROTOS
@pytest.mark.parametrize("kind", sorted(OURS_RUNS))
def test_google_encoded_run_decodes_the_same(world: World, kind: str) -> None:  # noqa: F811
    from_google = Run.from_yandex(_google_run(world, kind))
    from_ours = Run.from_yandex(bytes(OURS_RUNS[kind]()))
    assert from_google == from_ours
    assert _calls(from_google.tool_calls) == _calls(from_ours.tool_calls)
    _check_common_run_fields(from_google)
    assert from_google.status_raw == {"completed": 4, "failed": 3, "tool_calls": 5}[kind]
    if kind == "completed":
        _check_completed_message(from_google.completed_message)
    elif kind == "failed":
        assert from_google.last_error == ErrorDetails(ERROR_CODE, ERROR_MESSAGE)
    else:
        assert [(c.name, c.arguments) for c in from_google.tool_calls] == TOOL_ARGS


@NEWER_PROTOS
def test_google_encoded_stream_events_decode_the_same(world: World) -> None:  # noqa: F811
    google = [RunStreamEvent.from_yandex(data) for data in _google_events(world)]
    ours = [RunStreamEvent.from_yandex(bytes(e)) for e in stream_events()]
    assert google == ours
    assert [_calls(e.tool_calls) for e in google] == [_calls(e.tool_calls) for e in ours]
    assert [e.status for e in google] == [
        *[StreamEventKind.PARTIAL_MESSAGE] * len(STREAM_TEXTS),
        StreamEventKind.TOOL_CALLS,
        StreamEventKind.ERROR,
        StreamEventKind.DONE,
    ]
    assert [e.event_index for e in google] == list(range(len(google)))
    assert [e.text for e in google[: len(STREAM_TEXTS)]] == STREAM_TEXTS
    assert [(c.name, c.arguments) for c in google[-3].tool_calls] == TOOL_ARGS
    assert google[-2].error == ErrorDetails(ERROR_CODE, ERROR_MESSAGE)
    _check_completed_message(google[-1].message)


def test_map_entry_order_does_not_change_tool_calls() -> None:
    # The same FunctionCall twice: its Struct entries written in opposite orders (Google's upb
    # writes maps in hash order, betterproto2 in insertion order).
    forward = {"city": "Paris", "unit": "celsius"}
    backward = dict(reversed(forward.items()))

    def run_with(args: dict[str, Any]) -> Run:
        function = FunctionCall(name="get_weather", arguments=Struct.from_dict(args))
        call = YToolCall(function_call=function)
        state = RunState(
            status=RunStateRunStatus.TOOL_CALLS, tool_call_list=ToolCallList(tool_calls=[call])
        )
        return Run.from_yandex(bytes(YRun(id=RUN_ID, state=state)))

    one, other = run_with(forward), run_with(backward)
    assert one.tool_calls[0].arguments == other.tool_calls[0].arguments
    assert one == other  # arguments_json is canonical (sorted keys)


def test_google_message_object_is_not_accepted(world: World) -> None:  # noqa: F811
    g = _gcls(world, "yandex.cloud.ai.assistants.v1.runs.Run")(id=RUN_ID)
    with pytest.raises(DecodeError) as info:
        Run.from_yandex(g)
    assert (info.value.provider, info.value.type_name, info.value.path) == ("yandex", "Run", "")


# --------------------------------------------------------------------------- bad input


def _decode_error(
    decode: Callable[[bytes], object], data: bytes, type_name: str = "Run"
) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        decode(data)
    err = info.value
    assert err.provider == "yandex"
    assert err.type_name == type_name
    assert isinstance(err, ValueError)
    assert err.reason in str(err)
    return err


PAYLOADS: dict[str, tuple[Callable[[], betterproto2.Message], Callable[[bytes], object], str]] = {
    "completed run": (completed_run, Run.from_yandex, "Run"),
    "tool calls run": (tool_calls_run, Run.from_yandex, "Run"),
    "done event": (lambda: stream_events()[-1], RunStreamEvent.from_yandex, "StreamEvent"),
    "tool calls event": (lambda: stream_events()[-3], RunStreamEvent.from_yandex, "StreamEvent"),
}


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_every_truncation_decodes_or_raises_decode_error(payload: str) -> None:
    build, decode, type_name = PAYLOADS[payload]
    source = build()
    data = bytes(source)
    top_level = set(cast(Any, type(source))._betterproto.field_name_by_number.values())
    decoded = 0
    errors: list[tuple[int, DecodeError]] = []
    for cut in range(len(data)):
        try:
            decode(data[:cut])
        except DecodeError as exc:
            errors.append((cut, exc))
        else:
            decoded += 1
    for cut, error in errors:
        assert (error.provider, error.type_name) == ("yandex", type_name), cut
        root = error.path.split(".")[0].split("[")[0]
        assert root in top_level, (cut, error.path)
    assert decoded >= 1  # the cuts at field boundaries, at least the empty prefix
    assert len(errors) > len(data) // 2
    decode(data)  # the full length decodes


def test_length_prefix_longer_than_the_data() -> None:
    err = _decode_error(Run.from_yandex, _tag(1, 2) + _varint(16) + b"fvt")
    assert err.path == "id"
    assert "exceeds" in err.reason
    nested = _ld(7, _tag(3, 2) + _varint(5) + b"ab")  # state.completed_message, 5 of 2 bytes
    err = _decode_error(Run.from_yandex, bytes(YRun(id=RUN_ID)) + nested)
    assert err.path == "state.completed_message"


@pytest.mark.parametrize("wire", [6, 7])
@pytest.mark.parametrize(("number", "path"), [(1, "id"), (99, "<99>")])
def test_invalid_wire_type(wire: int, number: int, path: str) -> None:
    err = _decode_error(Run.from_yandex, bytes(YRun(id=RUN_ID)) + _tag(number, wire) + b"\x00")
    assert err.path == path
    assert err.reason == f"invalid wire type {wire}"


@pytest.mark.parametrize(("number", "path"), [(1, "id"), (99, "<99>"), (2, "assistant_id")])
def test_groups_are_unknown_fields_and_a_stray_end_is_an_error(number: int, path: str) -> None:
    """Like upb: a well-formed group is kept as an unknown field, an end without a start fails."""
    group = _tag(number, 3) + _tag(1, 0) + b"\x01" + _tag(number, 4)
    run = Run.from_yandex(bytes(YRun(id=RUN_ID)) + group)
    assert run.id == RUN_ID
    assert run.raw._unknown_fields == group
    stray = bytes(YRun(id=RUN_ID)) + _tag(number, 4) + _tag(1, 0) + b"\x01" + _tag(number, 4)
    err = _decode_error(Run.from_yandex, stray)
    assert err.path == path
    assert err.reason == f"end of group {number} without its start"


def test_group_inside_a_nested_message() -> None:
    group = _tag(50, 3) + _tag(50, 4)
    run = Run.from_yandex(_ld(7, group))
    assert run.raw.state is not None
    assert run.raw.state._unknown_fields == group
    err = _decode_error(Run.from_yandex, _ld(7, _tag(50, 3) + _tag(51, 4)))
    assert (err.path, err.reason) == ("state.<50>", "end of group 51 inside group 50")


@pytest.mark.parametrize(
    ("data", "holder"),
    [
        (_tag(1, 0) + b"\x01", ""),
        (_tag(1, 5) + b"\x00" * 4, ""),
        (_tag(7, 0) + b"\x04", ""),
        (_ld(7, _ld(1, b"\x04")), "state"),
        (_ld(8, _tag(1, 1) + b"\x00" * 8), "usage"),
        (_ld(6, _tag(1, 0) + b"\x01"), ""),  # a map entry with an unknown field: kept whole
    ],
)
def test_known_field_with_the_wrong_wire_type_is_an_unknown_field(data: bytes, holder: str) -> None:
    """As upb reads it: the bytes are kept as an unknown field (of the message that holds the
    field; a map entry that holds one is kept whole), never read as the field."""
    raw = Run.from_yandex(data).raw
    assert raw == YRun(state=raw.state, usage=raw.usage)  # nothing else was read
    inner = getattr(raw, holder) if holder else raw
    payload = data if not holder else data[2:]  # the holder's own bytes
    assert inner._unknown_fields == payload
    assert bytes(raw) == data


def test_wrapper_value_with_the_wrong_wire_type() -> None:
    temperature = _ld(3, _tag(1, 0) + b"\x01")  # DoubleValue.value as a varint
    run = Run.from_yandex(_ld(10, temperature))
    options = run.raw.custom_completion_options
    assert options is not None
    assert options.temperature == 0.0  # the wrapper is there, without its value
    # The wrapper's unknown field is kept as one more occurrence of the wrapper field.
    assert options._unknown_fields == temperature


BAD = b"\xff\xfe"


@pytest.mark.parametrize(
    ("where", "path"),
    [
        ("id", "id"),
        ("label", "labels[1].value"),
        ("part", "state.completed_message.content.content[1].text.content"),
        (
            "chunk",
            "state.completed_message.citations[1].sources[0].chunk.content.content[0].text.content",
        ),
        ("args", "state.tool_call_list.tool_calls[2].function_call.arguments.fields[0].key"),
    ],
)
def test_invalid_utf8_names_the_field(where: str, path: str) -> None:
    marker = "@@"
    source = tool_calls_run() if where == "args" else completed_run()
    message = _completed_message()
    if where == "id":
        source.id = marker
    elif where == "label":
        source.labels = {"env": "prod", "team": marker}
    elif where == "part":
        assert message.content is not None
        message.content.content[1] = _text_part(marker)
    elif where == "chunk":
        message.citations[1] = YCitation(sources=[_chunk_source(INDEX_ID, FILE_2, [marker])])
    else:
        calls = _tool_call_list()
        calls.tool_calls[2] = YToolCall(
            function_call=FunctionCall(name="get_time", arguments=Struct.from_dict({marker: 1}))
        )
        source.state = RunState(status=RunStateRunStatus.TOOL_CALLS, tool_call_list=calls)
    if where in ("part", "chunk"):
        source.state = RunState(status=RunStateRunStatus.COMPLETED, completed_message=message)
    data = bytes(source)
    assert data.count(marker.encode()) == 1
    err = _decode_error(Run.from_yandex, data.replace(marker.encode(), BAD))
    assert err.path == path
    assert "UTF-8" in err.reason


def test_invalid_utf8_in_an_event_and_a_message() -> None:
    event = stream_events()[0]
    data = bytes(event).replace(STREAM_TEXTS[0].encode(), BAD + b"e")
    err = _decode_error(RunStreamEvent.from_yandex, data, "StreamEvent")
    assert err.path == "partial_message.content[0].text.content"
    data = bytes(_completed_message()).replace(MESSAGE_ID.encode()[:2], BAD, 1)
    err = _decode_error(Message.from_yandex, data, "Message")
    assert err.path == "id"


def test_varint_longer_than_ten_bytes() -> None:
    ten = _ld(8, _tag(1, 0) + b"\xff" * 9 + b"\x01")  # -1 as int64: ten bytes, fine
    assert Run.from_yandex(ten).usage == Usage(-1, 0, 0)
    eleven = _ld(8, _tag(1, 0) + b"\xff" * 10 + b"\x01")
    err = _decode_error(Run.from_yandex, eleven)
    assert err.path == "usage.prompt_tokens"
    assert "10 bytes" in err.reason


@pytest.mark.parametrize(
    ("seconds", "nanos"), [(10**12, 0), (-(10**12), 0), (0, -1), (0, 1_000_000_000)]
)
def test_timestamp_out_of_range(seconds: int, nanos: int) -> None:
    source = completed_run()
    source.created_at = Timestamp(seconds=seconds, nanos=nanos)
    err = _decode_error(Run.from_yandex, bytes(source))
    assert err.path == "created_at"
    assert "out of range" in err.reason

    source = completed_run()
    assert source.state is not None
    assert source.state.completed_message is not None
    source.state.completed_message.created_at = Timestamp(seconds=seconds, nanos=nanos)
    err = _decode_error(Run.from_yandex, bytes(source))
    assert err.path == "state.completed_message.created_at"

    event = stream_events()[-1]
    assert event.completed_message is not None
    event.completed_message.created_at = Timestamp(seconds=seconds, nanos=nanos)
    err = _decode_error(RunStreamEvent.from_yandex, bytes(event), "StreamEvent")
    assert err.path == "completed_message.created_at"


def test_timestamp_range_edges_decode() -> None:
    for seconds, nanos, expected in [
        (-62_135_596_800, 0, datetime(1, 1, 1, tzinfo=UTC)),
        (253_402_300_799, 999_999_999, datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ]:
        source = YRun(id=RUN_ID, created_at=Timestamp(seconds=seconds, nanos=nanos))
        assert Run.from_yandex(bytes(source)).created_at == expected


@pytest.mark.parametrize(
    "value", ["fvt3kq1l2m9c0ab4r7e1", 42, None, 1.5, {"id": RUN_ID}, [b"\x0a"]]
)
def test_wrong_input_type(value: Any) -> None:
    with pytest.raises(DecodeError) as info:
        Run.from_yandex(value)
    assert (info.value.provider, info.value.type_name, info.value.path) == ("yandex", "Run", "")
    with pytest.raises(DecodeError) as info:
        RunStreamEvent.from_yandex(value)
    assert info.value.type_name == "StreamEvent"


def test_wrong_message_type_is_rejected() -> None:
    with pytest.raises(DecodeError) as info:
        Run.from_yandex(stream_events()[0])  # type: ignore[arg-type]
    assert info.value.type_name == "Run"
    assert "StreamEvent" in info.value.reason


def test_bytes_like_inputs_decode() -> None:
    data = bytes(completed_run())
    expected = Run.from_yandex(data)
    assert Run.from_yandex(bytearray(data)) == expected  # type: ignore[arg-type]
    assert Run.from_yandex(memoryview(data)) == expected  # type: ignore[arg-type]
    assert Run.from_yandex(b"") == Run.from_yandex(YRun())


def _nested_value(levels: int) -> bytes:
    """A ``google.protobuf.Value`` ``levels`` (odd) messages deep: Value/ListValue alternating."""
    assert levels % 2 == 1
    data = _ld(3, b"leaf")  # Value.string_value
    for level in range(1, levels):
        # level odd: wrap the Value in ListValue.values; even: the ListValue in Value.list_value
        data = _ld(1, data) if level % 2 else _ld(6, data)
    return data


def _run_with_deep_arguments(value_levels: int) -> bytes:
    entry = _ld(1, b"deep") + _ld(2, _nested_value(value_levels))  # Struct.fields entry
    call = _ld(1, b"get_time") + _ld(2, _ld(1, entry))  # FunctionCall name, arguments
    state = _tag(1, 0) + b"\x05" + _ld(4, _ld(1, _ld(1, call)))  # tool_call_list.tool_calls
    return _ld(1, RUN_ID.encode()) + _ld(7, state)


# Run(1) > state(2) > tool_call_list(3) > ToolCall(4) > FunctionCall(5) > Struct(6) > entry(7)
ARGUMENTS_DEPTH = 7


def test_deep_arguments_up_to_the_limit_decode() -> None:
    levels = _wire.MAX_DEPTH - ARGUMENTS_DEPTH
    levels -= 1 - levels % 2  # odd: the chain starts and ends with a Value
    run = Run.from_yandex(_run_with_deep_arguments(levels))
    value: Any = run.tool_calls[0].arguments["deep"]
    depth = 0
    while isinstance(value, list):
        (value,) = value
        depth += 1
    assert value == "leaf"
    assert depth == levels // 2


def test_nesting_too_deep_is_a_decode_error() -> None:
    err = _decode_error(Run.from_yandex, _run_with_deep_arguments(151))
    assert err.path.startswith("state.tool_call_list.tool_calls[0].function_call.arguments.")
    assert err.reason == f"messages nested deeper than {_wire.MAX_DEPTH}"
    # one path segment per nested message (map entries included) below the Run, at level 0
    assert len(err.path.split(".")) == _wire.MAX_DEPTH + 1


# --------------------------------------------------------------------------- Struct values

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(2**53), 2**53)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(value=_JSON)
def test_struct_values_convert_as_to_dict_does(value: Any) -> None:
    from runbind.yandex._adapter import _json_value  # noqa: PLC0415

    proto = PValue.from_dict(value)
    assert _json_value(proto, 0) == proto.to_dict()
    again = PValue.parse(bytes(proto))  # as decoded from the wire
    assert _json_value(again, 0) == again.to_dict()


@pytest.mark.parametrize(
    "value",
    [PValue(), PValue(null_value=NullValue(5))],  # nothing set; an unknown null value
    ids=["empty", "unknown-null"],
)
def test_invalid_struct_values_fail_as_to_dict_does(value: PValue) -> None:
    from runbind.yandex._adapter import _json_value  # noqa: PLC0415

    with pytest.raises(ValueError, match="Invalid value"):
        value.to_dict()
    with pytest.raises(FieldError, match="Invalid value"):
        _json_value(value, 0)
