"""Adapters between OpenAI Responses models (Pydantic) and runbind objects.

A ``Response`` is a :class:`Run`; its stream events are :class:`RunStreamEvent` whose
``event_index`` is the event's ``sequence_number`` (the cursor ``starting_after`` resumes from).
The Responses API has no paused status: a response that asks for function calls *completes* with
``function_call`` items, and a new response (``previous_response_id``) carries their outputs.
For runbind such a response **requires action**: not succeeded, not finished, its calls in
``tool_calls``, ``status_raw`` still ``"completed"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, TypeAdapter
from runbind_generated.openai import (
    ContainerFileCitationBody,
    FileCitationBody,
    FilePath,
    FunctionTool,
    FunctionToolCall,
    FunctionToolCallOutputResource,
    OutputMessage,
    OutputTextContent,
    RefusalContent,
    Response,
    ResponseErrorEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseRefusalDeltaEvent,
    ResponseRefusalDoneEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    UrlCitationBody,
)

from .._core.errors import DecodeError, convert
from .._core.models import (
    Citation,
    CitationSource,
    ErrorDetails,
    FunctionResultDict,
    IncompleteDetails,
    Message,
    Part,
    Tool,
    ToolCall,
    Usage,
)
from .._core.results import normalise_results
from .._core.run import Run, RunStreamEvent
from .._core.seam import Adapter
from .._core.status import RunStatus, StreamEventKind, unknown_name
from ._adapter import _MODEL_ERRORS, _check_model, _model, _time, _under, _validate
from ._statuses import OPENAI_RESPONSE_EVENT_KINDS, OPENAI_RESPONSE_STATUSES

if TYPE_CHECKING:
    from runbind_generated.openai import ResponseStreamEvent

__all__ = [
    "ADAPTER",
    "PROVIDER",
    "REQUIRED_ACTION",
    "event_from_openai_response",
    "pending_calls",
    "run_from_openai_response",
    "tool_outputs_to_openai_response",
]

PROVIDER: Final = "openai_responses"

REQUIRED_ACTION = "submit_tool_outputs"
"""``Run.required_action`` of a response that asks for function calls (as on the Assistants
API: the caller submits the calls' outputs)."""


@cache
def _events() -> TypeAdapter[ResponseStreamEvent]:
    """The stream-event adapter, made on the first event (the 58-way union)."""
    from runbind_generated.openai import ResponseStreamEvent  # noqa: PLC0415

    return TypeAdapter(ResponseStreamEvent)


def _tool(tool: Any) -> Tool:
    if isinstance(tool, FunctionTool):
        parameters = None if tool.parameters is None else dict(tool.parameters)
        return Tool("function", tool.name, tool.description, parameters, raw=tool)
    return Tool(getattr(tool, "type", None) or "unknown", raw=tool)


def pending_calls(output: Sequence[Any]) -> tuple[ToolCall, ...]:
    """The function calls of ``output`` that it holds no output for (by ``call_id``)."""
    answered = {i.call_id for i in output if isinstance(i, FunctionToolCallOutputResource)}
    return tuple(
        _call(item)
        for item in output
        if isinstance(item, FunctionToolCall) and item.call_id not in answered
    )


def _call(item: FunctionToolCall) -> ToolCall:
    # The call's ``call_id`` (not its item ``id``) is what a function_call_output answers.
    return ToolCall(item.call_id, item.name, item.arguments, "function", raw=item)


def _citation(annotation: Any, text: str) -> Citation | None:
    if isinstance(annotation, UrlCitationBody):
        source = CitationSource("url", text=annotation.title, raw=annotation)
        start, end = annotation.start_index, annotation.end_index
        return Citation((source,), text[start:end], start, end, annotation)
    if isinstance(annotation, ContainerFileCitationBody):
        source = CitationSource("file", file_id=annotation.file_id, raw=annotation)
        start, end = annotation.start_index, annotation.end_index
        return Citation((source,), text[start:end], start, end, annotation)
    if isinstance(annotation, FileCitationBody | FilePath):
        source = CitationSource("file", file_id=annotation.file_id, raw=annotation)
        return Citation((source,), None, annotation.index, annotation.index, annotation)
    return None


def _parts(items: Iterable[OutputMessage]) -> tuple[tuple[Part, ...], tuple[Citation, ...]]:
    parts: list[Part] = []
    citations: list[Citation] = []
    for item in items:
        for content in item.content:
            if isinstance(content, OutputTextContent):
                parts.append(Part("text", content.text, raw=content))
                for annotation in content.annotations:
                    citation = _citation(annotation, content.text)
                    if citation is not None:
                        citations.append(citation)
            elif isinstance(content, RefusalContent):
                parts.append(Part("refusal", content.refusal, raw=content))
            else:
                parts.append(Part(getattr(content, "type", None) or "unknown", raw=content))
    return tuple(parts), tuple(citations)


def _message(items: Sequence[OutputMessage], *, partial: bool = False) -> Message | None:
    """The answer of a response's message items (their parts in order), if it has any."""
    if not items:
        return None
    parts, citations = _parts(items)
    last = items[-1]
    return Message(
        parts=parts,
        citations=citations,
        id=last.id,
        role="assistant",
        status=str(last.status),
        partial=partial,
        raw=last if len(items) == 1 else tuple(items),
    )


def _status(response: Response, calls: tuple[ToolCall, ...]) -> tuple[RunStatus, str, str]:
    """``(status, status_raw, status_name)``: a completed response with calls to answer
    requires action; a status this version does not know is ``UNKNOWN``, its value kept."""
    raw = response.status
    if raw is None:
        return RunStatus.UNKNOWN, "", unknown_name(None)
    text = str(raw)  # an OpenStrEnum: its str() is the raw value, known or not
    known = OPENAI_RESPONSE_STATUSES.get(text)
    if known is None:
        return RunStatus.UNKNOWN, text, unknown_name(text)
    if known is RunStatus.COMPLETED and calls:
        return RunStatus.REQUIRES_ACTION, text, text
    return known, text, text


def _run(response: Response) -> Run:
    output = response.output
    calls = pending_calls(output)
    status, status_raw, status_name = _status(response, calls)
    action = status is RunStatus.REQUIRES_ACTION
    usage = response.usage
    error = response.error
    details = response.incomplete_details
    reason = None if details is None or details.reason is None else str(details.reason)
    conversation = response.conversation
    instructions = response.instructions
    return Run(
        provider=PROVIDER,
        id=response.id,
        assistant_id="",
        thread_id="" if conversation is None else conversation.id,
        status=status,
        status_raw=status_raw,
        status_name=status_name,
        created_at=_time(response.created_at, "created_at"),
        labels=dict(response.metadata or {}),
        custom_temperature=response.temperature,
        custom_max_tokens=response.max_output_tokens,
        tools=tuple(_tool(t) for t in response.tools),
        usage=None
        if usage is None
        else Usage(usage.input_tokens, usage.output_tokens, usage.total_tokens),
        last_error=None if error is None else ErrorDetails(str(error.code), error.message, error),
        tool_calls=calls if action else (),
        completed_message=_message([i for i in output if isinstance(i, OutputMessage)]),
        completed_at=_time(response.completed_at, "completed_at"),
        incomplete_details=None if details is None else IncompleteDetails(reason, raw=details),
        required_action=REQUIRED_ACTION if action else None,
        model=str(response.model),
        instructions=instructions if isinstance(instructions, str) else None,
        previous_run_id=response.previous_response_id,
        raw=response,
    )


def _carried(event: Any) -> Response | None:
    """The response an event carries: a known event's ``response``, or one an event of a type
    this version does not know carries (``response.cancelled``), when it is a valid Response."""
    response = getattr(event, "response", None)
    if response is None or isinstance(response, Response):
        return response
    if not isinstance(response, Mapping):
        return None
    try:
        return _model(Response, response)
    except DecodeError:
        return None  # an unknown event stays an open value: its payload is kept in ``raw``


def _sequence(event: Any, fallback: int | None) -> int:
    number = getattr(event, "sequence_number", None)
    if isinstance(number, int) and not isinstance(number, bool):
        return number
    if fallback is None:
        raise DecodeError(PROVIDER, "ResponseStreamEvent", "sequence_number", "missing")
    return fallback


def _event(event: Any, fallback: int | None) -> RunStreamEvent:
    name = event.type if isinstance(getattr(event, "type", None), str) else None
    kind = OPENAI_RESPONSE_EVENT_KINDS.get(name) if name is not None else None
    run: Run | None = None
    message: Message | None = None
    error: ErrorDetails | None = None
    calls: tuple[ToolCall, ...] = ()
    response = _carried(event)
    if response is not None:
        run = _under("response", _run, response)
        message, error, calls = run.completed_message, run.last_error, run.tool_calls
        if kind is StreamEventKind.DONE and run.requires_action:
            kind = StreamEventKind.TOOL_CALLS
    elif isinstance(event, ResponseTextDeltaEvent | ResponseRefusalDeltaEvent):
        part = "text" if isinstance(event, ResponseTextDeltaEvent) else "refusal"
        message = Message(
            (Part(part, event.delta, raw=event),),
            id=event.item_id,
            role="assistant",
            partial=True,
            raw=event,
        )
    elif isinstance(event, ResponseTextDoneEvent | ResponseRefusalDoneEvent):
        part, text = (
            ("text", event.text)
            if isinstance(event, ResponseTextDoneEvent)
            else ("refusal", event.refusal)
        )
        message = Message((Part(part, text, raw=event),), id=event.item_id, role="assistant")
    elif isinstance(event, ResponseOutputItemAddedEvent | ResponseOutputItemDoneEvent):
        item = event.item
        # A function call item done is a RUN_STEP without tool_calls: the calls to answer are
        # those of the response that ends asking for them (as a loop collecting every event's
        # tool_calls expects, on every provider).
        if isinstance(item, OutputMessage):
            kind = StreamEventKind.MESSAGE
            message = _message([item], partial=isinstance(event, ResponseOutputItemAddedEvent))
    elif isinstance(event, ResponseErrorEvent):
        error = ErrorDetails(event.code, event.message, raw=event)
    return RunStreamEvent(
        provider=PROVIDER,
        status=kind if kind is not None else StreamEventKind.UNKNOWN,
        status_raw=name if name is not None else "",
        status_name=name if kind is not None and name is not None else unknown_name(name),
        event_index=_sequence(event, fallback),
        error=error,
        tool_calls=calls,
        run=run,
        _message=message,
        raw=event,
    )


def run_from_openai_response(response: Response | Mapping[str, Any] | str | bytes) -> Run:
    """A :class:`Run` from an OpenAI ``Response``, its JSON text, or its decoded JSON."""
    if isinstance(response, Response):
        _check_model(response)
        return convert(PROVIDER, "Response", _run, response, _MODEL_ERRORS)
    return convert(PROVIDER, "Response", _run, _model(Response, response))


def event_from_openai_response(event: Any, event_index: int | None = None) -> RunStreamEvent:
    """A :class:`RunStreamEvent` from an OpenAI Responses stream event (model, dict, or JSON
    text); ``event_index`` is used only for an event without a ``sequence_number``."""
    if isinstance(event, BaseModel):
        _check_model(event)
        return convert(
            PROVIDER, "ResponseStreamEvent", lambda e: _event(e, event_index), event, _MODEL_ERRORS
        )
    decoded = _validate(_events(), "ResponseStreamEvent", event)
    return convert(PROVIDER, "ResponseStreamEvent", lambda e: _event(e, event_index), decoded)


def _no_message(message: Any) -> Message:
    """Responses keep no messages apart from the response: its answer is in ``Run``."""
    del message
    raise DecodeError(PROVIDER, "Message", "", "a response's answer is its run's message")


def tool_outputs_to_openai_response(results: Iterable[FunctionResultDict]) -> list[dict[str, Any]]:
    """The ``function_call_output`` input items carrying ``results`` (each needs
    ``tool_call_id``, the call's ``call_id``, and ``content``)."""
    return [
        {"type": "function_call_output", "call_id": r.get("tool_call_id"), "output": r["content"]}
        for r in normalise_results(results, need_name=False, need_id=True)
    ]


ADAPTER = Adapter(
    run=run_from_openai_response,
    event=event_from_openai_response,
    message=_no_message,
    tool_results=tool_outputs_to_openai_response,
)
"""OpenAI Responses runs for the core (registered in ``runbind/__init__.py``)."""
