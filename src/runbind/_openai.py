"""Adapters between OpenAI Assistants models (Pydantic) and runbind objects."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from runbind_generated.openai import (
    AssistantStreamEvent,
    AssistantToolsCode,
    AssistantToolsFileSearch,
    AssistantToolsFunction,
    ErrorEvent,
    MessageContentImageFileObject,
    MessageContentImageUrlObject,
    MessageContentRefusalObject,
    MessageContentTextAnnotationsFileCitationObject,
    MessageContentTextObject,
    MessageDeltaContentImageFileObject,
    MessageDeltaContentImageUrlObject,
    MessageDeltaContentRefusalObject,
    MessageDeltaContentTextAnnotationsFileCitationObject,
    MessageDeltaContentTextObject,
    MessageDeltaObject,
    MessageObject,
    ResponseFormatJsonObject,
    ResponseFormatJsonSchema,
    ResponseFormatText,
    RunObject,
    SubmitToolOutputsRunRequest,
    SubmitToolOutputsRunRequestToolOutputsItem,
)
from runbind_generated.openai._base import SCALAR_TAG, UNKNOWN_TAG

from ._errors import DecodeError, FieldError, convert
from ._models import (
    Citation,
    CitationSource,
    ErrorDetails,
    FunctionResultDict,
    IncompleteDetails,
    Message,
    Part,
    PromptTruncationOptions,
    ResponseFormat,
    Tool,
    ToolCall,
    Usage,
)
from ._run import Run, RunStreamEvent
from ._status import (
    OPENAI_EVENT_KINDS,
    OPENAI_RUN_STATUSES,
    RunStatus,
    StreamEventKind,
    unknown_name,
)
from ._tool_results import normalise_results

__all__ = [
    "event_from_openai",
    "message_from_openai",
    "run_from_openai",
    "tool_outputs_to_openai",
]

_T = TypeVar("_T")
_R = TypeVar("_R")
_EVENTS: TypeAdapter[AssistantStreamEvent] = TypeAdapter(AssistantStreamEvent)


_TAG_KEYS = ("type", "event")


def _input_path(loc: tuple[int | str, ...], value: Any) -> str:
    """``loc`` as a path into the input: Pydantic's union-tag steps are not in the input."""
    return ".".join(str(step) for step in _walk(loc, value, tag_allowed=True)[0])


def _walk(
    loc: tuple[int | str, ...], value: Any, *, tag_allowed: bool
) -> tuple[list[int | str], int]:
    """The input path of ``loc`` and how many of its steps are missing from ``value``.

    A step equal to a mapping's ``type``/``event`` tag may be Pydantic's tagged-union branch
    (not in the input) or a key of that name: the reading that leaves fewer steps unmatched
    wins, the key on a tie. A branch step never follows another one at the same level.
    """
    if not loc:
        return [], 0
    step, rest = loc[0], loc[1:]
    child: Any = None
    missing = 1
    in_mapping = isinstance(value, Mapping) and step in value
    in_list = isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value)
    if in_mapping or in_list:
        child, missing = value[step], 0
    path, rest_missing = _walk(rest, child, tag_allowed=True)
    best = ([step, *path], rest_missing + missing)
    if tag_allowed and isinstance(value, Mapping):
        tags = {value.get(key) for key in _TAG_KEYS} | {UNKNOWN_TAG, SCALAR_TAG}
        if step in tags:
            as_tag = _walk(rest, value, tag_allowed=False)
            if as_tag[1] < best[1]:
                best = as_tag
    return best


def _validation_error(type_name: str, exc: ValidationError, value: Any) -> DecodeError:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    if isinstance(value, str | bytes | bytearray):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    path = _input_path(tuple(first["loc"]), value)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return DecodeError("openai", type_name, path, f"{first['msg']}{more}")


def _validate(adapter: Any, type_name: str, value: Any) -> Any:
    try:
        if isinstance(value, str | bytes | bytearray):
            return adapter.validate_json(value)
        if not isinstance(value, Mapping):
            reason = f"expected a model, JSON text or a dict, got {type(value).__name__}"
            raise DecodeError("openai", type_name, "", reason)
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise _validation_error(type_name, exc, value) from None


def _model(cls: type[_T], value: Any) -> _T:
    if isinstance(value, cls):
        return value
    result: _T = _validate(_ModelAdapter(cls), cls.__name__, value)
    return result


class _ModelAdapter:
    """The two validate methods of a model class, in the shape of a TypeAdapter."""

    def __init__(self, cls: Any) -> None:
        self.cls = cls

    def validate_json(self, value: str | bytes | bytearray) -> Any:
        return self.cls.model_validate_json(value)

    def validate_python(self, value: Any) -> Any:
        return self.cls.model_validate(value)


def _time(value: int | None, path: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise FieldError(path, f"timestamp out of range: {value}") from None


def _dump(model: BaseModel | None) -> dict[str, Any] | None:
    return None if model is None else model.model_dump(mode="json", by_alias=True)


def _tool(tool: Any) -> Tool:
    if isinstance(tool, AssistantToolsFunction):
        fn = tool.function
        return Tool("function", fn.name, fn.description, _dump(fn.parameters), raw=tool)
    if isinstance(tool, AssistantToolsCode):
        return Tool("code_interpreter", raw=tool)
    if isinstance(tool, AssistantToolsFileSearch):
        return Tool("file_search", raw=tool)
    return Tool(getattr(tool, "type", None) or "unknown", raw=tool)


def _response_format(fmt: Any) -> ResponseFormat | None:
    if fmt is None:
        return None
    if isinstance(fmt, str):
        return ResponseFormat(fmt, raw=fmt)
    if isinstance(fmt, ResponseFormatJsonSchema):
        spec = fmt.json_schema
        return ResponseFormat(
            "json_schema", _dump(spec.schema_), name=spec.name, strict=spec.strict, raw=fmt
        )
    if isinstance(fmt, ResponseFormatJsonObject | ResponseFormatText):
        return ResponseFormat(fmt.type, raw=fmt)
    return ResponseFormat(getattr(fmt, "type", None) or "unknown", raw=fmt)


def _run(run: RunObject) -> Run:
    status = str(run.status.value)
    truncation = run.truncation_strategy
    options = None
    if truncation is not None or run.max_prompt_tokens is not None:
        options = PromptTruncationOptions(
            max_prompt_tokens=run.max_prompt_tokens,
            strategy=None if truncation is None else str(truncation.type.value),
            num_messages=None if truncation is None else truncation.last_messages,
            raw=truncation,
        )
    action = run.required_action
    error = run.last_error
    incomplete = run.incomplete_details
    usage = run.usage
    known = OPENAI_RUN_STATUSES.get(status)
    return Run(
        provider="openai",
        id=run.id,
        assistant_id=run.assistant_id,
        thread_id=run.thread_id,
        status=known if known is not None else RunStatus.UNKNOWN,
        status_raw=status,
        status_name=status if known is not None else unknown_name(status),
        created_at=_time(run.created_at, "created_at"),
        labels=dict(run.metadata or {}),
        custom_temperature=run.temperature,
        custom_max_tokens=run.max_completion_tokens,
        custom_max_prompt_tokens=run.max_prompt_tokens,
        custom_prompt_truncation_options=options,
        custom_response_format=_response_format(run.response_format),
        tools=tuple(_tool(t) for t in run.tools),
        usage=(
            Usage(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
            if usage is not None
            else None
        ),
        last_error=(
            ErrorDetails(str(error.code.value), error.message, raw=error) if error else None
        ),
        tool_calls=(
            tuple(
                ToolCall(c.id, c.function.name, c.function.arguments, c.type, raw=c)
                for c in action.submit_tool_outputs.tool_calls
            )
            if action is not None
            else ()
        ),
        expires_at=_time(run.expires_at, "expires_at"),
        started_at=_time(run.started_at, "started_at"),
        completed_at=_time(run.completed_at, "completed_at"),
        cancelled_at=_time(run.cancelled_at, "cancelled_at"),
        failed_at=_time(run.failed_at, "failed_at"),
        incomplete_details=(
            IncompleteDetails(
                None if incomplete.reason is None else str(incomplete.reason.value), raw=incomplete
            )
            if incomplete is not None
            else None
        ),
        required_action=action.type if action is not None else None,
        model=run.model,
        instructions=run.instructions,
        raw=run,
    )


def _citation(annotation: Any) -> Citation | None:
    if isinstance(annotation, MessageContentTextAnnotationsFileCitationObject):
        source = CitationSource("file", file_id=annotation.file_citation.file_id)
        return Citation(
            (source,), annotation.text, annotation.start_index, annotation.end_index, annotation
        )
    if isinstance(annotation, MessageDeltaContentTextAnnotationsFileCitationObject):
        cited = annotation.file_citation
        sources = () if cited is None else (CitationSource("file", file_id=cited.file_id),)
        return Citation(
            sources, annotation.text, annotation.start_index, annotation.end_index, annotation
        )
    return None


def _parts(content: Iterable[Any]) -> tuple[tuple[Part, ...], tuple[Citation, ...]]:
    parts: list[Part] = []
    citations: list[Citation] = []
    for part in content:
        if isinstance(part, MessageContentTextObject | MessageDeltaContentTextObject):
            text = part.text
            parts.append(Part("text", None if text is None else text.value, raw=part))
            for annotation in (text.annotations if text is not None else None) or ():
                citation = _citation(annotation)
                if citation is not None:
                    citations.append(citation)
        elif isinstance(part, MessageContentRefusalObject | MessageDeltaContentRefusalObject):
            parts.append(Part("refusal", part.refusal, raw=part))
        elif isinstance(
            part,
            MessageContentImageFileObject
            | MessageContentImageUrlObject
            | MessageDeltaContentImageFileObject
            | MessageDeltaContentImageUrlObject,
        ):
            parts.append(Part(part.type, raw=part))
        else:
            parts.append(Part(getattr(part, "type", None) or "unknown", raw=part))
    return tuple(parts), tuple(citations)


def _message(message: MessageObject) -> Message:
    parts, citations = _parts(message.content)
    return Message(
        parts=parts,
        citations=citations,
        id=message.id,
        thread_id=message.thread_id,
        role=str(message.role.value),
        created_at=_time(message.created_at, "created_at"),
        status=None if message.status is None else str(message.status.value),
        run_id=message.run_id,
        assistant_id=message.assistant_id,
        labels=dict(message.metadata or {}),
        raw=message,
    )


def _delta(delta: MessageDeltaObject) -> Message:
    parts, citations = _parts(delta.delta.content or ())
    role = delta.delta.role
    return Message(
        parts=parts,
        citations=citations,
        id=delta.id,
        role=None if role is None else str(role.value),
        partial=True,
        raw=delta,
    )


def _event(event: Any, index: int) -> RunStreamEvent:
    name = event.event if isinstance(event.event, str) else None
    kind = OPENAI_EVENT_KINDS.get(name) if name is not None else None
    data = getattr(event, "data", None)
    run: Run | None = None
    message: Message | None = None
    error: ErrorDetails | None = None
    if isinstance(data, RunObject):
        run = _under("data", _run, data)
        error = run.last_error
    elif isinstance(data, MessageObject):
        message = _under("data", _message, data)
    elif isinstance(data, MessageDeltaObject):
        message = _delta(data)
    if isinstance(event, ErrorEvent):
        error = ErrorDetails(event.data.code, event.data.message, raw=event.data)
    return RunStreamEvent(
        provider="openai",
        status=kind if kind is not None else StreamEventKind.UNKNOWN,
        status_raw=name if name is not None else "",
        status_name=name if kind is not None and name is not None else unknown_name(name),
        event_index=index,
        error=error,
        tool_calls=run.tool_calls if run is not None else (),
        run=run,
        _message=message,
        raw=event,
    )


def _under(prefix: str, build: Callable[[_T], _R], value: _T) -> _R:
    try:
        return build(value)
    except FieldError as exc:
        raise exc.under(prefix) from None


def _event_input(value: Any) -> Any:
    """SSE hands over ``data`` as JSON text: decode it (``done`` keeps its ``[DONE]``)."""
    if (
        isinstance(value, Mapping)
        and isinstance(value.get("data"), str | bytes)
        and value.get("event") != "done"
    ):
        try:
            return {**value, "data": json.loads(value["data"])}
        except ValueError as exc:
            raise DecodeError("openai", "AssistantStreamEvent", "data", str(exc)) from None
    return value


def run_from_openai(run: RunObject | Mapping[str, Any] | str | bytes) -> Run:
    """A :class:`Run` from an OpenAI ``RunObject``, its JSON text, or its decoded JSON."""
    return convert("openai", "RunObject", _run, _model(RunObject, run))


def message_from_openai(message: MessageObject | Mapping[str, Any] | str | bytes) -> Message:
    """A :class:`Message` from an OpenAI ``MessageObject``, its JSON text, or its decoded JSON."""
    return convert("openai", "MessageObject", _message, _model(MessageObject, message))


def event_from_openai(event: Any, event_index: int) -> RunStreamEvent:
    """A :class:`RunStreamEvent` from an OpenAI stream event (model, dict, or JSON text)."""
    if not isinstance(event, BaseModel):
        event = _validate(_EVENTS, "AssistantStreamEvent", _event_input(event))
    return convert("openai", "AssistantStreamEvent", lambda e: _event(e, event_index), event)


def tool_outputs_to_openai(
    results: Iterable[FunctionResultDict], *, stream: bool | None = None
) -> SubmitToolOutputsRunRequest:
    """The ``SubmitToolOutputsRunRequest`` for ``results`` (each needs ``tool_call_id``)."""
    outputs = [
        SubmitToolOutputsRunRequestToolOutputsItem(
            tool_call_id=r.get("tool_call_id"), output=r["content"]
        )
        for r in normalise_results(results, need_name=False, need_id=True)
    ]
    return SubmitToolOutputsRunRequest(tool_outputs=outputs, stream=stream)
