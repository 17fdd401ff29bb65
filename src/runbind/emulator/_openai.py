"""The OpenAI side: the Assistants REST API (assistants, threads, messages, runs) under ``/v1``.

A pure request handler over the shared core state: bodies are validated by the generated
request models, responses and stream events are built from core state and dumped through the
generated response models, so they conform to the pinned spec. Bad input is always a 4xx with
the spec's error object, never a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NoReturn, TypeVar

from pydantic import BaseModel, ValidationError
from runbind_generated.openai import (
    AssistantObject,
    AssistantToolsCode,
    AssistantToolsFileSearch,
    AssistantToolsFunction,
    CreateAssistantRequest,
    CreateMessageRequest,
    CreateRunRequest,
    CreateThreadAndRunRequest,
    CreateThreadRequest,
    DeleteAssistantResponse,
    DeleteThreadResponse,
    ErrorResponse,
    ListAssistantsResponse,
    ListMessagesResponse,
    ListRunsResponse,
    MessageContentImageFileObject,
    MessageContentImageUrlObject,
    MessageDeltaObject,
    MessageObject,
    MessageRequestContentTextObject,
    ModifyRunRequest,
    RunObject,
    RunStepObject,
    SubmitToolOutputsRunRequest,
    ThreadObject,
)

from .._status import RunStatus
from . import _engine
from ._http import EventStream, Request, Response, sse
from ._script import Script, script_for
from ._state import Assistant, Call, CoreMessage, CoreRun, FunctionSpec, Store, Thread, new_id, now

__all__ = ["OpenAIApp", "OpenAIRenderer", "error_body"]

_M = TypeVar("_M", bound=BaseModel)
_T = TypeVar("_T")
_Json = dict[str, Any]
_Handler = Callable[[Request, dict[str, str]], Awaitable[Response | EventStream]]

_DEFAULT_LIMIT = 20
_MAX_LIMIT = 100
_MAX_DEPTH = 64
_MAX_METADATA = 16
_MAX_RUN_TOOLS = 20  # RunObject.tools holds at most 20 (an assistant may have 128)
_RUN_TTL = 600  # seconds: how far ``expires_at`` lies ahead of an unfinished run
_SUBMIT_SETTLE = 5.0  # seconds a plain submit waits for the run to take the results
_CANCELLABLE = (RunStatus.QUEUED, RunStatus.IN_PROGRESS, RunStatus.REQUIRES_ACTION)
_STREAM_ENDS = frozenset(
    f"thread.run.{s}"
    for s in ("requires_action", "completed", "incomplete", "failed", "cancelled", "expired")
)
_DONE = sse("done", "[DONE]")
_STEP_END = {
    RunStatus.CANCELLED: "cancelled",
    RunStatus.EXPIRED: "expired",
    RunStatus.FAILED: "failed",
}
_STEP_TIMES = ("completed", "cancelled", "failed", "expired")
_MESSAGE_END = {
    RunStatus.CANCELLED: "run_cancelled",
    RunStatus.EXPIRED: "run_expired",
}


# --- errors -------------------------------------------------------------------------------


class _ApiError(Exception):
    """A 4xx answer: the spec's error object."""

    def __init__(
        self,
        status: int,
        message: str,
        param: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.headers = headers

    def response(self) -> Response:
        body = error_body(self.status, self.message, self.param)
        return Response(self.status, body, (("content-type", "application/json"), *self.headers))


def error_body(status: int, message: str, param: str | None = None) -> bytes:
    """The JSON bytes of an OpenAI error object (also for the HTTP server's own errors)."""
    kind = "server_error" if status >= 500 else "invalid_request_error"
    error = {"message": message, "type": kind, "param": param, "code": None}
    data = ErrorResponse.model_validate({"error": error}).model_dump(mode="json")
    return json.dumps(data, separators=(",", ":")).encode()


def _bad(message: str, param: str | None = None) -> NoReturn:
    raise _ApiError(400, message, param)


def _missing(kind: str, ident: str) -> NoReturn:
    raise _ApiError(404, f"No {kind} found with id '{ident}'.")


# --- request bodies -------------------------------------------------------------------------


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > _MAX_DEPTH:
            return True
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        stack.extend((child, depth + 1) for child in children)
    return False


def _json_object(raw: bytes) -> _Json:
    try:
        value = json.loads(raw or b"{}", parse_constant=_no_constant)
    except (ValueError, RecursionError):
        _bad(
            "We could not parse the JSON body of your request. The API expects a JSON payload, "
            "but what was sent was not valid JSON."
        )
    if not isinstance(value, dict):
        _bad("The request body must be a JSON object.")
    if _too_deep(value):
        _bad(f"The request body is nested deeper than {_MAX_DEPTH} levels.")
    return value


def _param(loc: Sequence[int | str], value: Any, *, name_last: bool) -> str | None:
    """The input path of a Pydantic error location (union member labels are skipped)."""
    path = ""
    current = value
    for position, step in enumerate(loc):
        in_dict = isinstance(current, dict) and isinstance(step, str) and step in current
        in_list = isinstance(current, list) and isinstance(step, int) and 0 <= step < len(current)
        if in_dict or in_list:
            current = current[step]
        elif not (name_last and position == len(loc) - 1):
            continue
        path += f"[{step}]" if isinstance(step, int) else f".{step}" if path else step
    return path or None


def _invalid(exc: ValidationError, value: Any) -> _ApiError:
    first = exc.errors(include_url=False, include_input=False)[0]
    kind = first["type"]
    param = _param(first["loc"], value, name_last=kind in ("missing", "extra_forbidden"))
    if kind == "missing":
        message = f"Missing required parameter: '{param}'."
    elif kind == "extra_forbidden":
        message = f"Unrecognized request argument supplied: {param}"
    else:
        message = f"Invalid value for '{param}': {first['msg']}."
    return _ApiError(400, message, param)


def _parse(cls: type[_M], raw: bytes) -> _M:
    value = _json_object(raw)
    try:
        return cls.model_validate(value)
    except ValidationError as exc:
        raise _invalid(exc, value) from None


def _check_metadata(metadata: Mapping[str, str] | None, param: str) -> dict[str, str]:
    if metadata is None:
        return {}
    if len(metadata) > _MAX_METADATA:
        _bad(f"Invalid '{param}': at most {_MAX_METADATA} key-value pairs are allowed.", param)
    for key, value in metadata.items():
        if len(key) > 64 or len(value) > 512:
            _bad(f"Invalid '{param}': keys are at most 64 and values 512 characters.", param)
    return dict(metadata)


def _check_tools(tools: Sequence[Any] | None, param: str) -> None:
    known = (AssistantToolsFunction, AssistantToolsCode, AssistantToolsFileSearch)
    for index, tool in enumerate(tools or ()):
        if not isinstance(tool, known):
            _bad(
                f"Invalid value: '{getattr(tool, 'type', None)}'. Supported values are: "
                "'code_interpreter', 'file_search' and 'function'.",
                f"{param}[{index}].type",
            )


def _script(metadata: Mapping[str, str] | None, instructions: str | None) -> Script:
    try:
        return script_for(metadata or {}, instructions)
    except ValueError as exc:
        param = "metadata.emulator" if metadata and "emulator" in metadata else "instructions"
        _bad(str(exc), param)


def _functions(tools: Sequence[Any]) -> list[FunctionSpec]:
    return [
        FunctionSpec(
            t.function.name,
            t.function.description or "",
            _plain(t.function.parameters) or {},
        )
        for t in tools
        if isinstance(t, AssistantToolsFunction)
    ]


def _text_part(text: str) -> _Json:
    return {"type": "text", "text": {"value": text, "annotations": []}}


def _content(content: str | list[Any], param: str) -> tuple[str, list[_Json] | None]:
    """The text of a message's content, and its parts when it came as a list."""
    if isinstance(content, str):
        return content, None
    if not content:
        _bad(f"Invalid '{param}': expected at least one content part.", param)
    texts: list[str] = []
    parts: list[_Json] = []
    for index, part in enumerate(content):
        if isinstance(part, MessageRequestContentTextObject):
            texts.append(part.text)
            parts.append(_text_part(part.text))
        elif isinstance(part, MessageContentImageFileObject | MessageContentImageUrlObject):
            parts.append(_plain(part))
        else:
            _bad(
                f"Invalid value: '{getattr(part, 'type', None)}'. Supported values are: "
                "'text', 'image_file' and 'image_url'.",
                f"{param}[{index}].type",
            )
    return "\n".join(texts), parts


# --- building responses from core state -----------------------------------------------------


def _plain(value: Any) -> Any:
    """A request model value as plain JSON data."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


def _dump(cls: type[BaseModel], data: _Json, *, exclude_none: bool = False) -> _Json:
    """``data`` validated by ``cls`` and dumped as JSON data (null for absent optionals)."""
    model = cls.model_validate(data)
    return model.model_dump(mode="json", by_alias=True, exclude_none=exclude_none)


def _resources(value: Any) -> _Json:
    data = _plain(value) or {}
    search = data.get("file_search")
    if isinstance(search, dict):
        search.pop("vector_stores", None)
    return dict(data)


@dataclass(slots=True)
class _Extras:
    """What a user message had beyond its text: content parts and attachments."""

    parts: list[_Json] | None = None
    attachments: list[Any] = field(default_factory=list)


@dataclass(slots=True)
class _Step:
    """A run step as OpenAI shows it."""

    id: str
    created_at: int
    kind: str  # message_creation | tool_calls
    status: str = "in_progress"
    message_id: str | None = None
    calls: list[Call] = field(default_factory=list)
    outputs: dict[str, str] | None = None
    ended_at: int | None = None


@dataclass(slots=True)
class _View:
    """The OpenAI-only state of a run: its echoed request fields and its steps."""

    echo: _Json = field(default_factory=dict)
    steps: list[_Step] = field(default_factory=list)

    def open_tool_step(self) -> _Step | None:
        """The tool_calls step still waiting for outputs, if any."""
        for step in self.steps:
            if step.kind == "tool_calls" and step.status == "in_progress":
                return step
        return None

    def message_step(self, message_id: str) -> _Step | None:
        """The step that created ``message_id``."""
        for step in self.steps:
            if step.message_id == message_id:
                return step
        return None


def _view(run: CoreRun) -> _View:
    view = run.options.get("openai")
    if not isinstance(view, _View):
        view = _View()
        run.options["openai"] = view
    return view


def _tool_calls(run: CoreRun) -> list[_Json]:
    return [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": _args(c)}}
        for c in run.calls
    ]


def _args(call: Call) -> str:
    return json.dumps(call.arguments, separators=(",", ":"))


def _run_state(run: CoreRun) -> _Json:
    """The RunObject fields that follow the run's progress."""
    status = run.status
    action = None
    if status is RunStatus.REQUIRES_ACTION and run.calls:
        calls = {"tool_calls": _tool_calls(run)}
        action = {"type": "submit_tool_outputs", "submit_tool_outputs": calls}
    error = None
    if status is RunStatus.FAILED:
        code, message = run.error or ("server_error", "failed")
        error = {"code": code, "message": message}
    incomplete = None
    if status is RunStatus.INCOMPLETE:
        incomplete = {"reason": run.incomplete_reason}
    usage = None
    if run.usage is not None:
        prompt, completion = run.usage
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
    expires = None if status.is_finished else run.expires_at or run.created_at + _RUN_TTL
    return {
        "status": status.value,
        "required_action": action,
        "last_error": error,
        "incomplete_details": incomplete,
        "usage": usage,
        "expires_at": expires,
    }


def _run_object(run: CoreRun) -> _Json:
    """The RunObject of ``run`` right now."""
    data = {
        "id": run.id,
        "object": "thread.run",
        "created_at": run.created_at,
        "thread_id": run.thread_id,
        "assistant_id": run.assistant_id,
        "started_at": run.started_at,
        "cancelled_at": run.cancelled_at,
        "failed_at": run.failed_at,
        "completed_at": run.completed_at,
        "metadata": dict(run.labels),
        **_view(run).echo,
        **_run_state(run),
    }
    return _dump(RunObject, data)


def _echo(body: CreateRunRequest | CreateThreadAndRunRequest, assistant: Assistant) -> _Json:
    """The request-derived RunObject fields (the assistant's values where the run sets none)."""
    raw: CreateAssistantRequest = assistant.raw
    instructions = body.instructions if body.instructions is not None else raw.instructions
    extra = getattr(body, "additional_instructions", None)
    if extra:
        instructions = f"{instructions}\n{extra}" if instructions else extra
    given = body.model_fields_set
    return {
        "model": _plain(body.model) if body.model is not None else assistant.model,
        "instructions": instructions,
        "tools": _plain(body.tools if body.tools is not None else raw.tools),
        "temperature": body.temperature
        if "temperature" in given and body.temperature is not None
        else raw.temperature,
        "top_p": body.top_p if "top_p" in given and body.top_p is not None else raw.top_p,
        "max_prompt_tokens": body.max_prompt_tokens,
        "max_completion_tokens": body.max_completion_tokens,
        "truncation_strategy": _plain(body.truncation_strategy)
        or {"type": "auto", "last_messages": None},
        "tool_choice": _plain(body.tool_choice) or "auto",
        "parallel_tool_calls": body.parallel_tool_calls is not False,
        "response_format": _plain(body.response_format or raw.response_format) or "auto",
    }


def _message_state(message: CoreMessage, run: CoreRun | None) -> _Json:
    """Status, incomplete details and timestamps of a message."""
    step = _view(run).message_step(message.id) if run is not None else None
    ended = step.ended_at if step is not None else None
    reason = None
    if message.status == "incomplete":
        reason = "max_tokens"
    elif message.status == "in_progress" and run is not None and run.status.is_finished:
        reason = _MESSAGE_END.get(run.status, "run_failed")
    if reason is not None:
        return {
            "status": "incomplete",
            "incomplete_details": {"reason": reason},
            "completed_at": None,
            "incomplete_at": ended or (run.completed_at if run is not None else None),
        }
    done = message.status == "completed"
    return {
        "status": message.status,
        "incomplete_details": None,
        "completed_at": ended if done else None,
        "incomplete_at": None,
    }


def _message_object(
    message: CoreMessage, run: CoreRun | None, extras: _Extras | None = None
) -> _Json:
    """The MessageObject of a core message."""
    state = _message_state(message, run)
    if extras is not None and extras.parts is not None:
        content = extras.parts
    elif not message.text and state["status"] == "in_progress":
        content = []
    else:
        content = [_text_part(message.text)]
    data = {
        "id": message.id,
        "object": "thread.message",
        "created_at": message.created_at,
        "thread_id": message.thread_id,
        "role": message.role,
        "content": content,
        "assistant_id": message.assistant_id,
        "run_id": message.run_id,
        "attachments": extras.attachments if extras is not None else [],
        "metadata": dict(message.labels),
        **state,
    }
    return _dump(MessageObject, data)


def _delta_object(message: CoreMessage, delta: str) -> _Json:
    data = {
        "id": message.id,
        "object": "thread.message.delta",
        "delta": {"content": [{"index": 0, **_text_part(delta)}]},
    }
    return _dump(MessageDeltaObject, data, exclude_none=True)


def _step_details(step: _Step) -> _Json:
    if step.kind == "message_creation":
        return {"type": "message_creation", "message_creation": {"message_id": step.message_id}}
    outputs = step.outputs or {}
    calls = [
        {
            "id": c.id,
            "type": "function",
            "function": {"name": c.name, "arguments": _args(c), "output": outputs.get(c.id)},
        }
        for c in step.calls
    ]
    return {"type": "tool_calls", "tool_calls": calls}


def _step_object(run: CoreRun, step: _Step) -> _Json:
    """The RunStepObject of one step."""
    usage = None
    if step.kind == "message_creation" and step.status == "completed" and run.usage is not None:
        prompt, completion = run.usage
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
    error = None
    if step.status == "failed":
        code, message = run.error or ("server_error", "failed")
        error = {"code": code, "message": message}
    data = {
        "id": step.id,
        "object": "thread.run.step",
        "created_at": step.created_at,
        "assistant_id": run.assistant_id,
        "thread_id": run.thread_id,
        "run_id": run.id,
        "type": step.kind,
        "status": step.status,
        "step_details": _step_details(step),
        "last_error": error,
        "usage": usage,
        "metadata": {},
        **{f"{s}_at": step.ended_at if step.status == s else None for s in _STEP_TIMES},
    }
    return _dump(RunStepObject, data)


def _thread_object(thread: Thread, resources: _Json | None) -> _Json:
    """The ThreadObject of a thread."""
    data = {
        "id": thread.id,
        "object": "thread",
        "created_at": thread.created_at,
        "tool_resources": resources or {},
        "metadata": dict(thread.labels),
    }
    return _dump(ThreadObject, data)


def _assistant_object(assistant: Assistant) -> _Json:
    """The AssistantObject of an assistant."""
    raw: CreateAssistantRequest = assistant.raw
    data = {
        "id": assistant.id,
        "object": "assistant",
        "created_at": assistant.created_at,
        "name": raw.name,
        "description": raw.description,
        "model": assistant.model,
        "instructions": raw.instructions,
        "tools": _plain(raw.tools),
        "tool_resources": _resources(raw.tool_resources),
        "metadata": dict(assistant.labels),
        "temperature": raw.temperature,
        "top_p": raw.top_p,
        "response_format": _plain(raw.response_format) or "auto",
    }
    return _dump(AssistantObject, data)


# --- the renderer ---------------------------------------------------------------------------


def _add(run: CoreRun, event: str, data: _Json) -> None:
    run.events.append((event, json.dumps(data, separators=(",", ":"))))


class OpenAIRenderer:
    """OpenAI stream events: ``(event name, JSON data)`` pairs in the spec's vocabulary."""

    id_prefix = "msg_"

    def created(self, run: CoreRun, thread: _Json | None = None) -> None:
        """The opening events: ``thread.created`` (create thread and run), run created, queued."""
        if thread is not None:
            _add(run, "thread.created", thread)
        _add(run, "thread.run.created", _run_object(run))
        _add(run, "thread.run.queued", _run_object(run))

    def status(self, run: CoreRun) -> None:
        """``thread.run.<status>``; requires_action waits for :meth:`tool_calls` (steps first)."""
        if run.status is RunStatus.REQUIRES_ACTION:
            return
        view = _view(run)
        step = view.open_tool_step()
        if run.status is RunStatus.QUEUED and step is not None and step.outputs is not None:
            self._end_step(run, step, "completed")
        if run.status.is_finished:
            self._close_steps(run, view)
        if run.status is RunStatus.CANCELLED and run.cancelled_at is None:
            run.cancelled_at = now()
        _add(run, f"thread.run.{run.status.value}", _run_object(run))

    def _end_step(self, run: CoreRun, step: _Step, status: str) -> None:
        step.status = status
        step.ended_at = now()
        _add(run, f"thread.run.step.{status}", _step_object(run, step))

    def _close_steps(self, run: CoreRun, view: _View) -> None:
        """End the steps a terminal status interrupts (and their unfinished answer)."""
        for step in view.steps:
            if step.status != "in_progress":
                continue
            answer = run.answer
            if answer is not None and step.message_id == answer.id:
                step.ended_at = now()
                _add(run, "thread.message.incomplete", _message_object(answer, run))
            self._end_step(run, step, _STEP_END.get(run.status, "completed"))

    def message_created(self, run: CoreRun, message: CoreMessage) -> None:
        """A message_creation step, then the message (each created, then in progress)."""
        step = _Step(new_id("step_"), now(), "message_creation", message_id=message.id)
        _view(run).steps.append(step)
        for name in ("created", "in_progress"):
            _add(run, f"thread.run.step.{name}", _step_object(run, step))
        for name in ("created", "in_progress"):
            _add(run, f"thread.message.{name}", _message_object(message, run))

    def partial(self, run: CoreRun, message: CoreMessage, delta: str) -> None:
        """``thread.message.delta`` with only the new text."""
        _add(run, "thread.message.delta", _delta_object(message, delta))

    def message_done(self, run: CoreRun, message: CoreMessage) -> None:
        """The message completed (or incomplete), then its step completed."""
        step = _view(run).message_step(message.id)
        if step is not None:
            step.ended_at = now()
        name = "incomplete" if message.status == "incomplete" else "completed"
        _add(run, f"thread.message.{name}", _message_object(message, run))
        if step is not None:
            self._end_step(run, step, "completed")

    def tool_calls(self, run: CoreRun) -> None:
        """A tool_calls step (created, in progress), then ``thread.run.requires_action``."""
        step = _Step(new_id("step_"), now(), "tool_calls", calls=list(run.calls))
        _view(run).steps.append(step)
        for name in ("created", "in_progress"):
            _add(run, f"thread.run.step.{name}", _step_object(run, step))
        _add(run, "thread.run.requires_action", _run_object(run))

    def finished(self, run: CoreRun) -> None:
        """Nothing: the terminal status event already went out."""


async def _frames(run: CoreRun, start: int) -> AsyncGenerator[bytes, None]:
    """SSE frames of the run's events from ``start``, live, until the run pauses or ends."""
    index = start
    while True:
        while index < len(run.events):
            name, data = run.events[index]
            index += 1
            yield sse(name, data)
            if name in _STREAM_ENDS:
                yield _DONE
                return
        if _stopped(run):
            yield _DONE
            return
        async with run.changed:
            if index >= len(run.events) and not _stopped(run):
                await run.changed.wait()


def _stopped(run: CoreRun) -> bool:
    return run.status.is_finished or (run.task is not None and run.task.done())


# --- paging -----------------------------------------------------------------------------------


def _limit(raw: str | None) -> int:
    if raw is None:
        return _DEFAULT_LIMIT
    if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= _MAX_LIMIT:
        _bad(
            f"Invalid 'limit': expected an integer between 1 and {_MAX_LIMIT}, got '{raw}'.",
            "limit",
        )
    return int(raw)


def _cursor(ids: list[str], query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None:
        return None
    if value not in ids:
        _bad(f"Invalid '{name}': no object with id '{value}' in this list.", name)
    return ids.index(value)


def _page(
    items: Sequence[_T], query: Mapping[str, str], ident: Callable[[_T], str]
) -> tuple[list[_T], bool]:
    """One page of ``items`` (oldest first) by OpenAI's cursor rules; and whether more follow."""
    limit = _limit(query.get("limit"))
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        _bad(f"Invalid 'order': expected 'asc' or 'desc', got '{order}'.", "order")
    ordered = list(items) if order == "asc" else list(reversed(items))
    ids = [ident(item) for item in ordered]
    after = _cursor(ids, query, "after")
    before = _cursor(ids, query, "before")
    window = ordered[(after + 1 if after is not None else 0) : before]
    if before is not None and after is None:
        return window[-limit:], len(window) > limit
    return window[:limit], len(window) > limit


def _list(cls: type[BaseModel], data: list[_Json], has_more: bool) -> Response:
    """A list response (``first_id``/``last_id`` are null on an empty page, as OpenAI sends)."""
    body: _Json = {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }
    if data:
        body = _dump(cls, body)
    return Response.json(200, body)


# --- the application --------------------------------------------------------------------------


class OpenAIApp:
    """The ``/v1`` Assistants API over one store; ``tasks`` collects the run tasks it starts."""

    def __init__(self, store: Store, tasks: set[asyncio.Task[None]]) -> None:
        self.store = store
        self.tasks = tasks
        self.renderer = OpenAIRenderer()
        self._extras: dict[str, _Extras] = {}
        self._resources: dict[str, _Json] = {}
        self._routes: list[tuple[tuple[str, ...], dict[str, _Handler]]] = [
            (("assistants",), {"GET": self._list_assistants, "POST": self._create_assistant}),
            (("assistants", ":id"), {"GET": self._get_assistant, "DELETE": self._del_assistant}),
            (("threads",), {"POST": self._create_thread}),
            (("threads", "runs"), {"POST": self._create_thread_and_run}),
            (("threads", ":thread"), {"GET": self._get_thread, "DELETE": self._delete_thread}),
            (
                ("threads", ":thread", "messages"),
                {"GET": self._list_messages, "POST": self._create_message},
            ),
            (("threads", ":thread", "messages", ":id"), {"GET": self._get_message}),
            (("threads", ":thread", "runs"), {"GET": self._list_runs, "POST": self._create_run}),
            (("threads", ":thread", "runs", ":id"), {"GET": self._get_run, "POST": self._modify}),
            (("threads", ":thread", "runs", ":id", "cancel"), {"POST": self._cancel}),
            (("threads", ":thread", "runs", ":id", "submit_tool_outputs"), {"POST": self._submit}),
        ]

    async def __call__(self, request: Request) -> Response | EventStream:
        """Answer one request (errors are the spec's error object with a 4xx status)."""
        try:
            handler, params = self._route(request)
            return await handler(request, params)
        except _ApiError as exc:
            return exc.response()

    def _route(self, request: Request) -> tuple[_Handler, dict[str, str]]:
        parts = request.path.split("/")
        allowed: list[str] = []
        if len(parts) > 2 and parts[0] == "" and parts[1] == "v1":
            for pattern, methods in self._routes:
                params = _match(pattern, parts[2:])
                if params is None:
                    continue
                if request.method in methods:
                    return methods[request.method], params
                allowed += [m for m in methods if m not in allowed]
        where = f"{request.method} {request.path}"
        if allowed:
            raise _ApiError(
                405, f"Method not allowed ({where}).", None, (("allow", ", ".join(allowed)),)
            )
        raise _ApiError(404, f"Invalid URL ({where})")

    # lookups

    def _thread(self, thread_id: str) -> Thread:
        thread = self.store.threads.get(thread_id)
        if thread is None:
            _missing("thread", thread_id)
        return thread

    def _assistant(self, assistant_id: str) -> Assistant:
        assistant = self.store.assistants.get(assistant_id)
        if assistant is None:
            _missing("assistant", assistant_id)
        return assistant

    def _run(self, params: dict[str, str]) -> CoreRun:
        thread = self._thread(params["thread"])
        run = self.store.runs.get(params["id"])
        if run is None or run.thread_id != thread.id:
            _missing("run", params["id"])
        return run

    def _message_json(self, message: CoreMessage) -> _Json:
        run = self.store.runs.get(message.run_id) if message.run_id else None
        return _message_object(message, run, self._extras.get(message.id))

    def _thread_json(self, thread: Thread) -> _Json:
        return _thread_object(thread, self._resources.get(thread.id))

    # assistants

    async def _create_assistant(self, request: Request, params: dict[str, str]) -> Response:
        body = _parse(CreateAssistantRequest, request.body)
        labels = _check_metadata(body.metadata, "metadata")
        _check_tools(body.tools, "tools")
        assistant = Assistant(
            id=new_id("asst_"),
            created_at=now(),
            name=body.name or "",
            model=str(_plain(body.model)),
            instructions=body.instructions or "",
            functions=_functions(body.tools),
            labels=labels,
            script=_script(body.metadata, body.instructions),
            raw=body,
        )
        self.store.assistants.add(assistant.id, assistant)
        return Response.json(200, _assistant_object(assistant))

    async def _get_assistant(self, request: Request, params: dict[str, str]) -> Response:
        return Response.json(200, _assistant_object(self._assistant(params["id"])))

    async def _list_assistants(self, request: Request, params: dict[str, str]) -> Response:
        page, more = _page(self.store.assistants.values(), request.query, lambda a: a.id)
        return _list(ListAssistantsResponse, [_assistant_object(a) for a in page], more)

    async def _del_assistant(self, request: Request, params: dict[str, str]) -> Response:
        assistant = self._assistant(params["id"])
        self.store.assistants.pop(assistant.id)
        data = {"id": assistant.id, "object": "assistant.deleted", "deleted": True}
        return Response.json(200, _dump(DeleteAssistantResponse, data))

    # threads and messages

    def _new_message(
        self, thread_id: str, body: CreateMessageRequest, param: str
    ) -> tuple[CoreMessage, _Extras]:
        if not body.role.is_known:
            _bad(
                f"Invalid value: '{body.role.value}'. "
                "Supported values are: 'user' and 'assistant'.",
                f"{param}role",
            )
        labels = _check_metadata(body.metadata, f"{param}metadata")
        text, parts = _content(body.content, f"{param}content")
        message = CoreMessage(
            id=new_id("msg_"),
            thread_id=thread_id,
            role=body.role.value,
            text=text,
            created_at=now(),
            labels=labels,
        )
        return message, _Extras(parts, _plain(body.attachments or []))

    def _append(self, thread: Thread, messages: list[tuple[CoreMessage, _Extras]]) -> None:
        for message, extras in messages:
            thread.messages.append(message)
            self._extras[message.id] = extras

    def _new_thread(self, body: CreateThreadRequest, param: str) -> Thread:
        """A thread with its first messages (everything checked before anything is stored)."""
        labels = _check_metadata(body.metadata, f"{param}metadata")
        thread = Thread(id=new_id("thread_"), created_at=now(), labels=labels)
        messages = [
            self._new_message(thread.id, m, f"{param}messages[{i}].")
            for i, m in enumerate(body.messages or ())
        ]
        self.store.threads.add(thread.id, thread)
        self._resources[thread.id] = _resources(body.tool_resources)
        self._append(thread, messages)
        return thread

    async def _create_thread(self, request: Request, params: dict[str, str]) -> Response:
        thread = self._new_thread(_parse(CreateThreadRequest, request.body), "")
        return Response.json(200, self._thread_json(thread))

    async def _get_thread(self, request: Request, params: dict[str, str]) -> Response:
        return Response.json(200, self._thread_json(self._thread(params["thread"])))

    async def _delete_thread(self, request: Request, params: dict[str, str]) -> Response:
        thread = self._thread(params["thread"])
        active = self.store.active_run(thread.id)
        if active is not None and active.status in _CANCELLABLE:
            await self._request_cancel(active)
        self.store.threads.pop(thread.id)
        self._resources.pop(thread.id, None)
        data = {"id": thread.id, "object": "thread.deleted", "deleted": True}
        return Response.json(200, _dump(DeleteThreadResponse, data))

    async def _create_message(self, request: Request, params: dict[str, str]) -> Response:
        thread = self._thread(params["thread"])
        body = _parse(CreateMessageRequest, request.body)
        active = self.store.active_run(thread.id)
        if active is not None:
            _bad(f"Can't add messages to {thread.id} while a run {active.id} is active.")
        pair = self._new_message(thread.id, body, "")
        self._append(thread, [pair])
        return Response.json(200, self._message_json(pair[0]))

    async def _get_message(self, request: Request, params: dict[str, str]) -> Response:
        thread = self._thread(params["thread"])
        for message in thread.messages:
            if message.id == params["id"]:
                return Response.json(200, self._message_json(message))
        _missing("message", params["id"])

    async def _list_messages(self, request: Request, params: dict[str, str]) -> Response:
        thread = self._thread(params["thread"])
        run_id = request.query.get("run_id")
        items = [m for m in thread.messages if run_id is None or m.run_id == run_id]
        page, more = _page(items, request.query, lambda m: m.id)
        return _list(ListMessagesResponse, [self._message_json(m) for m in page], more)

    # runs

    def _start(
        self,
        thread: Thread,
        assistant: Assistant,
        body: CreateRunRequest | CreateThreadAndRunRequest,
        thread_event: _Json | None = None,
    ) -> CoreRun:
        """Store a run, record its opening events and start driving it."""
        raw: CreateAssistantRequest = assistant.raw
        tools = body.tools if body.tools is not None else raw.tools
        run = CoreRun(
            id=new_id("run_"),
            thread_id=thread.id,
            assistant_id=assistant.id,
            created_at=now(),
            stream=bool(body.stream),
            options={"request": body, "function_names": [f.name for f in _functions(tools)]},
            labels=dict(body.metadata or {}),
        )
        run.options["openai"] = _View(echo=_echo(body, assistant))
        self.store.runs.add(run.id, run)
        self.renderer.created(run, thread_event)
        task = asyncio.create_task(_engine.drive(run, thread, assistant.script, self.renderer))
        run.task = task
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return run

    @staticmethod
    def _check_run_tools(
        body: CreateRunRequest | CreateThreadAndRunRequest, assistant: Assistant
    ) -> None:
        """The run's tools (its own, else the assistant's) must fit a RunObject."""
        _check_tools(body.tools, "tools")
        raw: CreateAssistantRequest = assistant.raw
        if body.tools is None and len(raw.tools) > _MAX_RUN_TOOLS:
            _bad(
                f"The assistant has {len(raw.tools)} tools; a run takes at most {_MAX_RUN_TOOLS}: "
                "pass 'tools' to choose them.",
                "tools",
            )

    @staticmethod
    def _started(run: CoreRun, stream: bool | None) -> Response | EventStream:
        if stream:
            return EventStream(_frames(run, 0))
        return Response.json(200, _run_object(run))

    async def _create_run(self, request: Request, params: dict[str, str]) -> Response | EventStream:
        thread = self._thread(params["thread"])
        body = _parse(CreateRunRequest, request.body)
        assistant = self._assistant(body.assistant_id)
        active = self.store.active_run(thread.id)
        if active is not None:
            _bad(f"Thread {thread.id} already has an active run {active.id}.")
        self._check_run_tools(body, assistant)
        _check_metadata(body.metadata, "metadata")
        messages = [
            self._new_message(thread.id, m, f"additional_messages[{i}].")
            for i, m in enumerate(body.additional_messages or ())
        ]
        self._append(thread, messages)
        return self._started(self._start(thread, assistant, body), body.stream)

    async def _create_thread_and_run(
        self, request: Request, params: dict[str, str]
    ) -> Response | EventStream:
        body = _parse(CreateThreadAndRunRequest, request.body)
        assistant = self._assistant(body.assistant_id)
        self._check_run_tools(body, assistant)
        _check_metadata(body.metadata, "metadata")
        thread = self._new_thread(body.thread or CreateThreadRequest.model_validate({}), "thread.")
        run = self._start(thread, assistant, body, self._thread_json(thread))
        return self._started(run, body.stream)

    async def _list_runs(self, request: Request, params: dict[str, str]) -> Response:
        thread = self._thread(params["thread"])
        page, more = _page(self.store.runs_of(thread.id), request.query, lambda r: r.id)
        return _list(ListRunsResponse, [_run_object(r) for r in page], more)

    async def _get_run(self, request: Request, params: dict[str, str]) -> Response:
        return Response.json(200, _run_object(self._run(params)))

    async def _modify(self, request: Request, params: dict[str, str]) -> Response:
        run = self._run(params)
        body = _parse(ModifyRunRequest, request.body)
        if body.metadata is not None:
            run.labels = _check_metadata(body.metadata, "metadata")
        return Response.json(200, _run_object(run))

    async def _request_cancel(self, run: CoreRun) -> None:
        run.cancel_requested.set()
        run.status = RunStatus.CANCELLING
        self.renderer.status(run)
        await run.notify()

    async def _cancel(self, request: Request, params: dict[str, str]) -> Response:
        run = self._run(params)
        if run.status not in _CANCELLABLE:
            _bad(f"Cannot cancel run with status '{run.status.value}'.")
        await self._request_cancel(run)
        return Response.json(200, _run_object(run))

    async def _submit(self, request: Request, params: dict[str, str]) -> Response | EventStream:
        run = self._run(params)
        body = _parse(SubmitToolOutputsRunRequest, request.body)
        step = _view(run).open_tool_step()
        if step is not None and step.outputs is not None:
            _bad(f"Tool outputs for run {run.id} were already submitted.")
        if not run.waiting_for_results or step is None:
            _bad(f'Runs in status "{run.status.value}" do not accept tool outputs.')
        step.outputs = _outputs(body, run.calls)
        start = len(run.events)
        await _engine.submit(run, [(c.name, step.outputs[c.id]) for c in run.calls])
        if body.stream:
            return EventStream(_frames(run, start))
        await _settle(run)
        return Response.json(200, _run_object(run))


def _match(pattern: tuple[str, ...], parts: list[str]) -> dict[str, str] | None:
    if len(pattern) != len(parts):
        return None
    params: dict[str, str] = {}
    for want, got in zip(pattern, parts, strict=True):
        if want.startswith(":"):
            if not got:
                return None
            params[want[1:]] = got
        elif want != got:
            return None
    return params


def _outputs(body: SubmitToolOutputsRunRequest, calls: Sequence[Call]) -> dict[str, str]:
    """``{call id: output}``, answering every call exactly once."""
    expected = [c.id for c in calls]
    got: dict[str, str] = {}
    for index, item in enumerate(body.tool_outputs):
        if item.tool_call_id is None:
            param = f"tool_outputs[{index}].tool_call_id"
            _bad(f"Missing required parameter: '{param}'.", param)
        if item.tool_call_id not in expected or item.tool_call_id in got:
            how = "answered twice" if item.tool_call_id in got else "not a pending tool call"
            _bad(f"Invalid tool_call_id '{item.tool_call_id}': {how}.", "tool_outputs")
        got[item.tool_call_id] = item.output or ""
    missing = [i for i in expected if i not in got]
    if missing:
        _bad(f"Expected tool outputs for call_ids {expected}, got {list(got)}.", "tool_outputs")
    return got


async def _settle(run: CoreRun) -> None:
    """Wait (briefly) until the run has taken the submitted results, as OpenAI answers queued."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_SUBMIT_SETTLE), run.changed:
            await run.changed.wait_for(
                lambda: run.status is not RunStatus.REQUIRES_ACTION or _stopped(run)
            )
