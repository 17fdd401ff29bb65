"""Adapters between Yandex Cloud AI Assistants messages (betterproto2) and runbind objects."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

import betterproto2
from runbind_generated.proto.google.protobuf import ListValue, Struct, Timestamp, Value
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import (
    FunctionResult,
    ToolCallList,
    ToolResult,
    ToolResultList,
)
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import (
    PromptTruncationOptions as YPromptTruncationOptions,
)
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import (
    Tool as YTool,
)
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import Run as YRun
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import (
    RunStateRunStatus,
    StreamEventEventType,
)
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import StreamEvent as YStreamEvent
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.threads import (
    ContentPart,
    MessageContent,
    MessageMessageStatus,
)
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.threads import (
    Message as YMessage,
)
from runbind_generated.proto.yandex.cloud.ai.common import Error as YError

if TYPE_CHECKING:
    # Newer than some cloudapi versions runbind is generated from: annotations only, and the
    # fields holding them are read with a default (a spec without them never sends them).
    from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import (
        ResponseFormat as YResponseFormat,
    )
    from runbind_generated.proto.yandex.cloud.ai.assistants.v1.threads import (
        Citation as YCitation,
    )

from .._core import jsonio
from .._core.errors import DecodeError, FieldError, convert
from .._core.models import (
    Citation,
    CitationSource,
    ErrorDetails,
    FunctionResultDict,
    Message,
    Part,
    PromptTruncationOptions,
    ResponseFormat,
    Tool,
    ToolCall,
    Usage,
)
from .._core.results import normalise_results
from .._core.run import Run, RunStreamEvent
from .._core.seam import Adapter
from .._core.status import RunStatus, StreamEventKind, unknown_name
from . import _wire
from ._statuses import YANDEX_EVENT_KINDS, YANDEX_RUN_STATUSES

__all__ = [
    "event_from_yandex",
    "message_from_yandex",
    "run_from_yandex",
    "tool_results_to_yandex",
]

_M = TypeVar("_M", bound=betterproto2.Message)

_MIN_SECONDS = -62_135_596_800  # 0001-01-01T00:00:00Z, the Timestamp range of protobuf
_MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CONVERSION_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    OverflowError,
    RecursionError,
)


def _decode(cls: type[_M], value: _M | bytes | bytearray | memoryview) -> _M:
    if isinstance(value, cls):
        return value
    if not isinstance(value, bytes | bytearray | memoryview):
        reason = f"expected {cls.__name__} or bytes, got {type(value).__name__}"
        raise DecodeError("yandex", cls.__name__, "", reason)
    data = bytes(value)
    try:
        return cast("_M", _wire.decode(cls, data))
    except FieldError as exc:
        raise DecodeError("yandex", cls.__name__, exc.path, exc.reason) from None
    except (*_CONVERSION_ERRORS, EOFError) as exc:  # unreachable: the wire check comes first
        raise DecodeError("yandex", cls.__name__, "", f"{type(exc).__name__}: {exc}") from None


def _time(ts: Timestamp | None, path: str) -> datetime | None:
    if ts is None:
        return None
    if not _MIN_SECONDS <= ts.seconds <= _MAX_SECONDS or not 0 <= ts.nanos <= 999_999_999:
        raise FieldError(path, f"timestamp out of range (seconds={ts.seconds}, nanos={ts.nanos})")
    return _EPOCH + timedelta(seconds=ts.seconds, microseconds=ts.nanos // 1000)


def _json_value(value: Value, depth: int) -> Any:
    """``value`` (a message at nesting ``depth``) as JSON, or a FieldError (path relative to it)
    when JSON cannot hold it.

    Like Google's ``json_format``, a NaN or an infinity is refused: JSON has no such number, and
    ``json_format`` refuses to print one rather than write a string that would read back as a
    ``string_value``. So is a string that is not valid Unicode, and nesting past the wire's
    bound (``_wire.MAX_DEPTH`` messages, which a message built in Python does not meet by
    itself: one deeper could not be pickled, whose bytes would not decode). So the JSON made
    from a Struct (a tool call's ``arguments_json``) is always valid JSON, well within
    ``MAX_JSON_DEPTH``, and every dict made from one (tool parameters, a response schema) can
    be written as JSON.
    """
    if depth > _wire.MAX_DEPTH:
        raise FieldError("", f"messages nested deeper than {_wire.MAX_DEPTH}")
    if value.null_value == 0:
        return None
    if isinstance(value.bool_value, bool):
        return value.bool_value
    number = value.number_value
    if isinstance(number, int | float):
        # A double on the wire; a message built in Python may hold an int no double can.
        if isinstance(number, int) and abs(number) > _MAX_DOUBLE:
            raise FieldError("", "an integer beyond a double's range is not a JSON number")
        if not math.isfinite(number):
            raise FieldError("", f"{number!r} is not a JSON number")
        return number
    text = value.string_value
    if isinstance(text, str):
        if not text.isascii() and (problem := jsonio.unicode_problem(text)) is not None:
            raise FieldError("", f"not valid Unicode text: {problem}")
        return text
    if isinstance(value.list_value, ListValue):
        return _json_list(value.list_value, depth + 1)
    if isinstance(value.struct_value, Struct):
        return _json_object(value.struct_value, depth + 1)
    raise FieldError("", "Invalid value (no kind set)")


_MAX_DOUBLE = sys.float_info.max


def _json_list(values: ListValue, depth: int) -> list[Any]:
    if depth > _wire.MAX_DEPTH:
        raise FieldError("", f"messages nested deeper than {_wire.MAX_DEPTH}")
    out = []
    for index, item in enumerate(values.values):
        try:
            out.append(_json_value(item, depth + 1))
        except FieldError as exc:
            raise _under(f"[{index}]", exc) from None
    return out


def _json_object(struct: Struct, depth: int) -> dict[str, Any]:
    """``struct`` (a message at nesting ``depth``; each field an entry message one deeper,
    holding its Value another level down) as a JSON object."""
    if depth + bool(struct.fields) > _wire.MAX_DEPTH:
        raise FieldError("", f"messages nested deeper than {_wire.MAX_DEPTH}")
    out = {}
    for key, item in struct.fields.items():
        if not key.isascii() and (problem := jsonio.unicode_problem(key)) is not None:
            raise FieldError("", f"a key is not valid Unicode text: {problem}")
        try:
            out[key] = _json_value(item, depth + 2)
        except FieldError as exc:
            raise _under(key, exc) from None
    return out


def _under(step: str, exc: FieldError) -> FieldError:
    """``exc`` one step up, paths written as elsewhere here (``tools[0].function``)."""
    path = exc.path
    joined = step if not path else f"{step}{'' if path.startswith('[') else '.'}{path}"
    return FieldError(joined, exc.reason)


def _struct(value: Struct | None, path: str, depth: int) -> dict[str, Any] | None:
    """The Struct at ``path`` (a message at nesting ``depth``, the top message being 1)."""
    if value is None:
        return None
    try:
        return _json_object(value, depth)
    except FieldError as exc:
        raise _under(path, exc) from None
    except _CONVERSION_ERRORS as exc:
        raise FieldError(path, f"not a JSON value ({type(exc).__name__}: {exc})") from None


_ENUM_NAMES: dict[type[betterproto2.Enum], dict[int, str]] = {}


def _enum_name(value: int, names: type[betterproto2.Enum]) -> str:
    table = _ENUM_NAMES.get(names)
    if table is None:  # an enum's members never change: their names are read once
        table = _ENUM_NAMES[names] = {int(m): m.name for m in names if m.name}
    name = table.get(int(value))
    return name if name is not None else unknown_name(int(value))


def _error(error: YError | None) -> ErrorDetails | None:
    if error is None:
        return None
    return ErrorDetails(code=error.code, message=error.message, raw=error)


def _tool(tool: YTool, path: str) -> Tool:
    if tool.function is not None:
        fn = tool.function
        # Run > Tool > FunctionTool > Struct: the Struct is the fourth message down.
        params = _struct(fn.parameters, f"{path}.function.parameters", 4)
        return Tool("function", fn.name, fn.description, params, raw=tool)
    if tool.search_index is not None:
        return Tool("search_index", raw=tool)
    if tool.gen_search is not None:
        return Tool("gen_search", description=tool.gen_search.description or None, raw=tool)
    return Tool("unknown", raw=tool)


def _tool_calls(calls: ToolCallList | None, path: str, depth: int) -> tuple[ToolCall, ...]:
    """The calls of ``calls`` (a message at nesting ``depth``)."""
    if calls is None:
        return ()
    out = []
    for index, call in enumerate(calls.tool_calls):
        fn = call.function_call
        if fn is None:
            out.append(ToolCall(id=None, name="", arguments_json="{}", type="unknown", raw=call))
            continue
        where = f"{path}.tool_calls[{index}].function_call.arguments"
        args = _struct(fn.arguments, where, depth + 3)  # > ToolCall > FunctionCall > Struct
        # Map order is not part of a message: sorted keys make equal calls equal text.
        text = json.dumps(
            args if args is not None else {}, ensure_ascii=False, sort_keys=True, allow_nan=False
        )
        out.append(ToolCall(id=None, name=fn.name, arguments_json=text, raw=call))
    return tuple(out)


def _parts(parts: list[ContentPart]) -> tuple[Part, ...]:
    return tuple(
        Part("text", p.text.content, raw=p) if p.text is not None else Part("unknown", raw=p)
        for p in parts
    )


def _citation(citation: YCitation) -> Citation:
    sources = []
    for source in citation.sources:
        chunk = source.chunk
        if chunk is None:
            sources.append(CitationSource("unknown", raw=source))
            continue
        text = (
            None
            if chunk.content is None
            else "\n".join(p.text.content for p in chunk.content.content if p.text is not None)
        )
        sources.append(
            CitationSource(
                "file_chunk",
                file_id=chunk.source_file.id if chunk.source_file is not None else None,
                search_index_id=chunk.search_index.id if chunk.search_index is not None else None,
                text=text,
                raw=source,
            )
        )
    return Citation(tuple(sources), raw=citation)


def _message(message: YMessage, path: str) -> Message:
    author = message.author
    return Message(
        parts=_parts(message.content.content if message.content is not None else []),
        citations=tuple(_citation(c) for c in getattr(message, "citations", ())),
        id=message.id,
        thread_id=message.thread_id,
        role=author.role if author is not None else None,
        author_id=author.id if author is not None else None,
        created_by=message.created_by,
        created_at=_time(message.created_at, f"{path}.created_at" if path else "created_at"),
        status=_enum_name(message.status, MessageMessageStatus),
        labels=dict(message.labels),
        raw=message,
    )


def _partial(content: MessageContent) -> Message:
    return Message(parts=_parts(content.content), partial=True, raw=content)


def _truncation(options: YPromptTruncationOptions | None) -> PromptTruncationOptions | None:
    if options is None:
        return None
    strategy: str | None = None
    num_messages: int | None = None
    if options.last_messages_strategy is not None:
        strategy = "last_messages"
        num_messages = options.last_messages_strategy.num_messages
    elif options.auto_strategy is not None:
        strategy = "auto"
    return PromptTruncationOptions(options.max_prompt_tokens, strategy, num_messages, raw=options)


def _response_format(fmt: YResponseFormat | None, path: str) -> ResponseFormat | None:
    if fmt is None:
        return None
    if fmt.json_schema is not None:
        # Run > ResponseFormat > JsonSchema > Struct: the fourth message down.
        schema = _struct(fmt.json_schema.schema, f"{path}.json_schema.schema", 4)
        return ResponseFormat("json_schema", json_schema=schema, raw=fmt)
    if fmt.json_object is not None:
        return ResponseFormat("json_object" if fmt.json_object else "text", raw=fmt)
    return ResponseFormat("unspecified", raw=fmt)


def _run(run: YRun) -> Run:
    state = run.state
    raw_status = int(state.status) if state is not None else 0
    completion = run.custom_completion_options
    truncation = run.custom_prompt_truncation_options
    usage = run.usage
    completed = state.completed_message if state is not None else None
    return Run(
        provider="yandex",
        id=run.id,
        assistant_id=run.assistant_id,
        thread_id=run.thread_id,
        status=YANDEX_RUN_STATUSES.get(raw_status, RunStatus.UNKNOWN),
        status_raw=raw_status,
        status_name=_enum_name(raw_status, RunStateRunStatus),
        created_at=_time(run.created_at, "created_at"),
        created_by=run.created_by,
        labels=dict(run.labels),
        custom_temperature=completion.temperature if completion is not None else None,
        custom_max_tokens=completion.max_tokens if completion is not None else None,
        custom_max_prompt_tokens=truncation.max_prompt_tokens if truncation is not None else None,
        custom_prompt_truncation_options=_truncation(truncation),
        custom_response_format=_response_format(
            getattr(run, "custom_response_format", None), "custom_response_format"
        ),
        tools=tuple(_tool(t, f"tools[{i}]") for i, t in enumerate(run.tools)),
        usage=(
            Usage(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
            if usage is not None
            else None
        ),
        last_error=_error(state.error if state is not None else None),
        tool_calls=_tool_calls(
            state.tool_call_list if state is not None else None, "state.tool_call_list", 3
        ),
        completed_message=(
            _message(completed, "state.completed_message") if completed is not None else None
        ),
        raw=run,
    )


def _event(event: YStreamEvent) -> RunStreamEvent:
    raw_kind = int(event.event_type)
    message: Message | None = None
    if event.partial_message is not None:
        message = _partial(event.partial_message)
    elif event.completed_message is not None:
        message = _message(event.completed_message, "completed_message")
    cursor = event.stream_cursor
    return RunStreamEvent(
        provider="yandex",
        status=YANDEX_EVENT_KINDS.get(raw_kind, StreamEventKind.UNKNOWN),
        status_raw=raw_kind,
        status_name=_enum_name(raw_kind, StreamEventEventType),
        event_index=cursor.current_event_idx if cursor is not None else 0,
        error=_error(event.error),
        tool_calls=_tool_calls(event.tool_call_list, "tool_call_list", 2),
        _message=message,
        raw=event,
    )


def run_from_yandex(run: YRun | bytes) -> Run:
    """A :class:`Run` from a Yandex ``Run`` message or its protobuf bytes."""
    return convert("yandex", "Run", _run, _decode(YRun, run), _CONVERSION_ERRORS)


def event_from_yandex(event: YStreamEvent | bytes) -> RunStreamEvent:
    """A :class:`RunStreamEvent` from a Yandex ``StreamEvent`` message or its bytes."""
    return convert(
        "yandex", "StreamEvent", _event, _decode(YStreamEvent, event), _CONVERSION_ERRORS
    )


def message_from_yandex(message: YMessage | bytes) -> Message:
    """A :class:`Message` from a Yandex thread ``Message`` or its bytes."""
    decoded = _decode(YMessage, message)
    return convert("yandex", "Message", lambda m: _message(m, ""), decoded, _CONVERSION_ERRORS)


def tool_results_to_yandex(results: Iterable[FunctionResultDict]) -> ToolResultList:
    """The ``ToolResultList`` for ``RunService.Submit`` from function results (name + content)."""
    return ToolResultList(
        tool_results=[
            ToolResult(function_result=FunctionResult(name=r["name"], content=r["content"]))
            for r in normalise_results(results, need_name=True, need_id=False)
        ]
    )


ADAPTER = Adapter(
    run=run_from_yandex,
    event=event_from_yandex,
    message=message_from_yandex,
    tool_results=tool_results_to_yandex,
)
"""Yandex AI Assistants runs for the core (registered in ``runbind/__init__.py``)."""
