"""Adapters between OpenAI Assistants models (Pydantic) and runbind objects."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from runbind_generated.openai import (
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
from runbind_generated.openai._base import (
    KNOWN_TAG,
    SCALAR_TAG,
    UNKNOWN_TAG,
    UNKNOWN_VARIANT_ERROR,
)

from .._core import jsonio
from .._core.errors import DecodeError, FieldError, convert
from .._core.models import (
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
from .._core.results import normalise_results
from .._core.run import DEFERRABLE_FIELDS, Run, RunStreamEvent
from .._core.seam import Adapter
from .._core.status import RunStatus, StreamEventKind, unknown_name
from ._statuses import OPENAI_EVENT_KINDS, OPENAI_RUN_STATUSES

if TYPE_CHECKING:
    from runbind_generated.openai import AssistantStreamEvent

__all__ = [
    "event_from_openai",
    "message_from_openai",
    "run_from_openai",
    "tool_outputs_to_openai",
]

_T = TypeVar("_T")
_R = TypeVar("_R")
_M = TypeVar("_M", bound=BaseModel)


@cache
def _events() -> TypeAdapter[AssistantStreamEvent]:
    """The stream-event adapter, made on the first event: the union reaches every model of the
    slice (``runbind_generated.openai.models``), which a run or message parse never imports."""
    from runbind_generated.openai import AssistantStreamEvent  # noqa: PLC0415

    return TypeAdapter(AssistantStreamEvent)


_TAG_KEYS = ("type", "event")
# Labels of a union's branches in Pydantic's error locations; they are never input keys.
_BRANCH_LABELS = frozenset({KNOWN_TAG, SCALAR_TAG, UNKNOWN_TAG})


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
    if step in _BRANCH_LABELS:  # the branch of an open union: not a step into the input
        return _walk(rest, value, tag_allowed=True)
    child: Any = None
    missing = 1
    in_mapping = isinstance(value, Mapping) and step in value
    in_list = isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value)
    if in_mapping or in_list:
        child, missing = value[step], 0
    path, rest_missing = _walk(rest, child, tag_allowed=True)
    best = ([step, *path], rest_missing + missing)
    if tag_allowed and isinstance(value, Mapping):
        # Only a string can be a tag: any other value under "type" (a list...) is no step.
        tags = {v for key in _TAG_KEYS if isinstance(v := value.get(key), str)}
        tags |= {UNKNOWN_TAG, SCALAR_TAG}
        if step in tags:
            as_tag = _walk(rest, value, tag_allowed=False)
            if as_tag[1] < best[1]:
                best = as_tag
    return best


def _validation_error(type_name: str, exc: ValidationError, value: Any) -> DecodeError:
    errors = exc.errors(include_url=False, include_input=False)
    # A known tag whose variant failed is also refused by the unknown branch; the variant's
    # own errors say why, so that refusal is left out (unless it is all there is).
    errors = [e for e in errors if e["type"] != UNKNOWN_VARIANT_ERROR] or errors
    first = errors[0]
    if isinstance(value, str | bytes | bytearray):
        try:
            value = jsonio.loads(value)
        except ValueError:
            value = None
    path = _input_path(tuple(first["loc"]), value)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return DecodeError("openai", type_name, path, f"{first['msg']}{more}")


_TEXT = (str, bytes, bytearray)


def _not_a_payload(type_name: str, value: Any) -> DecodeError:
    reason = f"expected a model, JSON text or a dict, got {type(value).__name__}"
    return DecodeError("openai", type_name, "", reason)


def _check_json(type_name: str, value: Mapping[str, Any]) -> None:
    """Refuse decoded JSON that JSON text could not hold (see :func:`.jsonio.check`)."""
    try:
        jsonio.check(value if type(value) is dict else dict(value))
    except FieldError as exc:
        raise DecodeError("openai", type_name, exc.path, exc.reason) from None


def _check_model(model: BaseModel) -> None:
    """Refuse a model holding what JSON text could not (pydantic keeps a free-form field's
    value as it was given), so that no later read, ``repr`` or pickle meets it."""
    type_name = type(model).__name__
    try:
        dumped = model.model_dump(mode="json", by_alias=True, warnings=False)
    except ValueError as exc:  # pydantic's serialiser: too deep, or a value it cannot write
        raise DecodeError("openai", type_name, "", str(exc)) from None
    _check_json(type_name, dumped)


def _validate(adapter: TypeAdapter[Any], type_name: str, value: Any) -> Any:
    try:
        if isinstance(value, _TEXT):
            return adapter.validate_json(value)
        if not isinstance(value, Mapping):
            raise _not_a_payload(type_name, value)
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise _validation_error(type_name, exc, value) from None


def _model(cls: type[_M], value: Any) -> _M:
    """``value`` (JSON text or a mapping) as a ``cls``, or a DecodeError."""
    try:
        if isinstance(value, _TEXT):
            return cls.model_validate_json(value)
        if not isinstance(value, Mapping):
            raise _not_a_payload(cls.__name__, value)
        _check_json(cls.__name__, value)
        return cls.model_validate(value)
    except ValidationError as exc:
        raise _validation_error(cls.__name__, exc, value) from None


def _time(value: int | None, path: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise FieldError(path, f"timestamp out of range: {value}") from None


def _dump(model: BaseModel | None) -> dict[str, Any] | None:
    """``model`` as JSON values; a decoded mapping nested beyond what pydantic-core serialises
    (JSON text never is: :data:`runbind._core.jsonio.MAX_JSON_DEPTH` is lower) is a DecodeError."""
    if model is None:
        return None
    try:
        return model.model_dump(mode="json", by_alias=True)
    except ValueError as exc:
        raise DecodeError("openai", type(model).__name__, "", str(exc)) from None


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


def _truncation(run: RunObject) -> PromptTruncationOptions | None:
    truncation = run.truncation_strategy
    if truncation is None and run.max_prompt_tokens is None:
        return None
    return PromptTruncationOptions(
        max_prompt_tokens=run.max_prompt_tokens,
        strategy=None if truncation is None else str(truncation.type.value),
        num_messages=None if truncation is None else truncation.last_messages,
        raw=truncation,
    )


def _usage(run: RunObject) -> Usage | None:
    usage = run.usage
    if usage is None:
        return None
    return Usage(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)


def _last_error(run: RunObject) -> ErrorDetails | None:
    error = run.last_error
    return ErrorDetails(str(error.code.value), error.message, raw=error) if error else None


def _tool_calls(run: RunObject) -> tuple[ToolCall, ...]:
    action = run.required_action
    if action is None:
        return ()
    return tuple(
        ToolCall(c.id, c.function.name, c.function.arguments, c.type, raw=c)
        for c in action.submit_tool_outputs.tool_calls
    )


def _incomplete(run: RunObject) -> IncompleteDetails | None:
    details = run.incomplete_details
    if details is None:
        return None
    reason = details.reason
    return IncompleteDetails(None if reason is None else str(reason.value), raw=details)


_TIMES = ("created_at", "expires_at", "started_at", "completed_at", "cancelled_at", "failed_at")
# Timestamps that convert on every platform (1970 to 2106) are left for the first read; any
# other is converted by the parse, so one out of range is a DecodeError of that call.
_SURE_TIMESTAMPS = range(2**32)


def _timestamp(name: str) -> Callable[[RunObject], datetime | None]:
    return lambda run: _time(getattr(run, name), name)


# How each deferred field of a Run (DEFERRABLE_FIELDS) is built from its RunObject.
_DEFERRED: dict[str, Callable[[RunObject], Any]] = {
    "custom_prompt_truncation_options": _truncation,
    "custom_response_format": lambda run: _response_format(run.response_format),
    "incomplete_details": _incomplete,
    "labels": lambda run: dict(run.metadata or {}),
    "last_error": _last_error,
    "tool_calls": _tool_calls,
    "tools": lambda run: tuple(_tool(t) for t in run.tools),
    "usage": _usage,
    **{name: _timestamp(name) for name in _TIMES},
}


def _run(run: RunObject) -> Run:
    """The Run of ``run``: what can fail is converted now, the rest on first read.

    The fields in ``_DEFERRED`` (tools with their JSON schemas, tool calls, usage, errors,
    times, ...) are left for the adapter's ``deferred`` builders: most callers read a few of
    them, and building them all would cost more than validating the payload.
    """
    status = str(run.status)  # an OpenStrEnum: its str() is the raw value, known or not
    known = OPENAI_RUN_STATUSES.get(status)
    action = run.required_action
    out = object.__new__(Run)
    put = object.__setattr__
    put(out, "provider", "openai")
    put(out, "id", run.id)
    put(out, "assistant_id", run.assistant_id)
    put(out, "thread_id", run.thread_id)
    put(out, "status", known if known is not None else RunStatus.UNKNOWN)
    put(out, "status_raw", status)
    put(out, "status_name", status if known is not None else unknown_name(status))
    put(out, "created_by", None)
    put(out, "custom_temperature", run.temperature)
    put(out, "custom_max_tokens", run.max_completion_tokens)
    put(out, "custom_max_prompt_tokens", run.max_prompt_tokens)
    put(out, "completed_message", None)
    for name in _TIMES:
        value = getattr(run, name)
        if value is not None and value not in _SURE_TIMESTAMPS:
            put(out, name, _time(value, name))
    put(out, "required_action", action.type if action is not None else None)
    put(out, "model", run.model)
    put(out, "instructions", run.instructions)
    put(out, "previous_run_id", None)
    put(out, "raw", run)
    return out


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
    """SSE hands over ``data`` as JSON text: decode it (``done`` keeps its ``[DONE]``); the rest
    of a mapping is checked as decoded JSON."""
    if not isinstance(value, Mapping):
        return value
    data = value.get("data")
    if isinstance(data, str | bytes) and value.get("event") != "done":
        _check_json("AssistantStreamEvent", {k: v for k, v in value.items() if k != "data"})
        try:
            return {**value, "data": jsonio.loads(data)}
        except ValueError as exc:
            raise DecodeError("openai", "AssistantStreamEvent", "data", str(exc)) from None
    _check_json("AssistantStreamEvent", value)
    return value


def _eager(run: Run) -> Run:
    """``run`` with its deferred fields built now: a model handed over as such (not decoded
    here) may hold what a builder cannot convert, and that must fail the adapter call."""
    for name in DEFERRABLE_FIELDS:
        getattr(run, name)
    return run


# What building from a model the caller made may raise (pydantic's model_construct skips every
# check); a decoded payload is validated, so its build raises none of these.
_MODEL_ERRORS = (AttributeError, TypeError, ValueError, KeyError, OverflowError)


def run_from_openai(run: RunObject | Mapping[str, Any] | str | bytes) -> Run:
    """A :class:`Run` from an OpenAI ``RunObject``, its JSON text, or its decoded JSON."""
    if isinstance(run, RunObject):
        _check_model(run)
        return convert("openai", "RunObject", lambda r: _eager(_run(r)), run, _MODEL_ERRORS)
    return convert("openai", "RunObject", _run, _model(RunObject, run))


def message_from_openai(message: MessageObject | Mapping[str, Any] | str | bytes) -> Message:
    """A :class:`Message` from an OpenAI ``MessageObject``, its JSON text, or its decoded JSON."""
    if isinstance(message, MessageObject):
        _check_model(message)
        return convert("openai", "MessageObject", _message, message, _MODEL_ERRORS)
    return convert("openai", "MessageObject", _message, _model(MessageObject, message))


def event_from_openai(event: Any, event_index: int) -> RunStreamEvent:
    """A :class:`RunStreamEvent` from an OpenAI stream event (model, dict, or JSON text)."""
    if isinstance(event, BaseModel):
        _check_model(event)

        def build(e: Any) -> RunStreamEvent:
            out = _event(e, event_index)
            if out.run is not None:
                _eager(out.run)
            return out

        return convert("openai", "AssistantStreamEvent", build, event, _MODEL_ERRORS)
    event = _validate(_events(), "AssistantStreamEvent", _event_input(event))
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


ADAPTER = Adapter(
    run=run_from_openai,
    event=event_from_openai,
    message=message_from_openai,
    tool_results=tool_outputs_to_openai,
    deferred=_DEFERRED,
)
"""OpenAI Assistants runs for the core (registered in ``runbind/__init__.py``)."""
