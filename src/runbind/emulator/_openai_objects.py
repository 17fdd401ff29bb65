"""OpenAI response objects and stream events, built from core state and dumped through the
generated response models so they conform to the pinned spec; :class:`OpenAIRenderer` records them.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pydantic import BaseModel
from runbind_generated.openai import (
    AssistantObject,
    CreateAssistantRequest,
    CreateRunRequest,
    CreateThreadAndRunRequest,
    MessageDeltaObject,
    MessageObject,
    RunObject,
    RunStepDeltaObject,
    RunStepObject,
    ThreadObject,
)

from .._core.status import RunStatus
from ._http import sse
from ._state import Assistant, Call, CoreMessage, CoreRun, Thread, new_id, now

__all__ = [
    "Extras",
    "Json",
    "OpenAIRenderer",
    "View",
    "assistant_object",
    "dump",
    "echo",
    "frames",
    "message_object",
    "plain",
    "resources",
    "run_object",
    "step_object",
    "stopped",
    "text_part",
    "thread_object",
    "view",
]

Json = dict[str, Any]

_RUN_TTL = 600  # seconds: how far ``expires_at`` lies ahead of an unfinished run
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


# --- building responses from core state -----------------------------------------------------


def plain(value: Any) -> Any:
    """A request model value as plain JSON data: the fields the client sent, no filled-in nulls.

    Echoing unset optionals as null broke the spec where a field is optional but not nullable
    (a function tool sent without ``description`` came back with ``"description": null``).
    """
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


def dump(cls: type[BaseModel], data: Json, *, exclude_none: bool = False) -> Json:
    """``data`` validated by ``cls`` and dumped as JSON data: exactly the keys ``data`` has.

    Absent keys stay absent (``data`` spells out every required field, null where the spec
    allows it): the models cannot tell optional from nullable, so filling in nulls for nested
    optionals (``tool_resources.code_interpreter``) sent values the spec does not allow.
    """
    model = cls.model_validate(data)
    return model.model_dump(
        mode="json", by_alias=True, exclude_none=exclude_none, exclude_unset=True
    )


def text_part(text: str) -> Json:
    return {"type": "text", "text": {"value": text, "annotations": []}}


def resources(value: Any) -> Json:
    data = plain(value) or {}
    search = data.get("file_search")
    if isinstance(search, dict):
        search.pop("vector_stores", None)
    return dict(data)


@dataclass(slots=True)
class Extras:
    """What a user message had beyond its text: content parts and attachments."""

    parts: list[Json] | None = None
    attachments: list[Any] = field(default_factory=list)


@dataclass(slots=True)
class Step:
    """A run step as OpenAI shows it; ``usage`` is ``(prompt, completion)`` once it completed."""

    id: str
    created_at: int
    kind: str  # message_creation | tool_calls
    status: str = "in_progress"
    message_id: str | None = None
    calls: list[Call] = field(default_factory=list)
    outputs: dict[str, str] | None = None
    ended_at: int | None = None
    usage: tuple[int, int] | None = None


@dataclass(slots=True)
class View:
    """The OpenAI-only state of a run: its echoed request fields, its thread (whose messages
    a step's usage counts), how many pieces a call's arguments stream in, and its steps."""

    echo: Json = field(default_factory=dict)
    thread: Thread | None = None
    chunks: int = 1
    steps: list[Step] = field(default_factory=list)

    def step(self, step_id: str) -> Step | None:
        """The step ``step_id`` of this run, if any."""
        for step in self.steps:
            if step.id == step_id:
                return step
        return None

    def open_tool_step(self) -> Step | None:
        """The tool_calls step still waiting for outputs, if any."""
        for step in self.steps:
            if step.kind == "tool_calls" and step.status == "in_progress":
                return step
        return None

    def message_step(self, message_id: str) -> Step | None:
        """The step that created ``message_id``."""
        for step in self.steps:
            if step.message_id == message_id:
                return step
        return None


def view(run: CoreRun) -> View:
    view = run.options.get("openai")
    if not isinstance(view, View):
        view = View()
        run.options["openai"] = view
    return view


def _tool_calls(run: CoreRun) -> list[Json]:
    return [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": _args(c)}}
        for c in run.calls
    ]


def _args(call: Call) -> str:
    return json.dumps(call.arguments, separators=(",", ":"))


def _usage(usage: tuple[int, int] | None) -> Json | None:
    if usage is None:
        return None
    prompt, completion = usage
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _run_usage(run: CoreRun) -> tuple[int, int] | None:
    """The run's usage once it ended: its answer's (the engine's count) plus its tool steps'."""
    if run.usage is None:
        return None
    prompt, completion = run.usage
    for step in view(run).steps:
        if step.kind == "tool_calls" and step.usage is not None:
            prompt, completion = prompt + step.usage[0], completion + step.usage[1]
    return prompt, completion


def _words(text: str) -> int:
    """What the emulator counts as tokens: words (a call's arguments: their names and values)."""
    return len(re.findall(r"\w+", text))


def _run_state(run: CoreRun) -> Json:
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
    usage = _usage(_run_usage(run))
    expires = None if status.is_finished else run.expires_at or run.created_at + _RUN_TTL
    return {
        "status": status.value,
        "required_action": action,
        "last_error": error,
        "incomplete_details": incomplete,
        "usage": usage,
        "expires_at": expires,
    }


def run_object(run: CoreRun) -> Json:
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
        **view(run).echo,
        **_run_state(run),
    }
    return dump(RunObject, data)


def echo(body: CreateRunRequest | CreateThreadAndRunRequest, assistant: Assistant) -> Json:
    """The request-derived RunObject fields (the assistant's values where the run sets none)."""
    raw: CreateAssistantRequest = assistant.raw
    instructions = body.instructions if body.instructions is not None else raw.instructions
    extra = getattr(body, "additional_instructions", None)
    if extra:
        instructions = f"{instructions}\n{extra}" if instructions else extra
    given = body.model_fields_set
    return {
        "model": plain(body.model) if body.model is not None else assistant.model,
        "instructions": instructions,
        "tools": plain(body.tools if body.tools is not None else raw.tools),
        "temperature": body.temperature
        if "temperature" in given and body.temperature is not None
        else raw.temperature,
        "top_p": body.top_p if "top_p" in given and body.top_p is not None else raw.top_p,
        "max_prompt_tokens": body.max_prompt_tokens,
        "max_completion_tokens": body.max_completion_tokens,
        "truncation_strategy": plain(body.truncation_strategy)
        or {"type": "auto", "last_messages": None},
        "tool_choice": plain(body.tool_choice) or "auto",
        "parallel_tool_calls": body.parallel_tool_calls is not False,
        "response_format": plain(body.response_format or raw.response_format) or "auto",
    }


def _message_state(message: CoreMessage, run: CoreRun | None) -> Json:
    """Status, incomplete details and timestamps of a message."""
    step = view(run).message_step(message.id) if run is not None else None
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


def message_object(message: CoreMessage, run: CoreRun | None, extras: Extras | None = None) -> Json:
    """The MessageObject of a core message."""
    state = _message_state(message, run)
    if extras is not None and extras.parts is not None:
        content = extras.parts
    elif not message.text and state["status"] == "in_progress":
        content = []
    else:
        content = [text_part(message.text)]
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
    return dump(MessageObject, data)


def _delta_object(message: CoreMessage, delta: str) -> Json:
    data = {
        "id": message.id,
        "object": "thread.message.delta",
        "delta": {"content": [{"index": 0, **text_part(delta)}]},
    }
    return dump(MessageDeltaObject, data, exclude_none=True)


def _step_details(step: Step, shown: int | None) -> Json:
    if step.kind == "message_creation":
        return {"type": "message_creation", "message_creation": {"message_id": step.message_id}}
    outputs = step.outputs or {}
    calls = [
        {
            "id": c.id,
            "type": "function",
            "function": {"name": c.name, "arguments": _args(c), "output": outputs.get(c.id)},
        }
        for c in step.calls[:shown]
    ]
    return {"type": "tool_calls", "tool_calls": calls}


def step_object(run: CoreRun, step: Step, shown: int | None = None) -> Json:
    """The RunStepObject of one step (with its first ``shown`` tool calls only, when given: a
    tool step is created empty, and its calls follow in deltas)."""
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
        "step_details": _step_details(step, shown),
        "last_error": error,
        "usage": _usage(step.usage),
        "metadata": {},
        **{f"{s}_at": step.ended_at if step.status == s else None for s in _STEP_TIMES},
    }
    return dump(RunStepObject, data)


def thread_object(thread: Thread, resources: Json | None) -> Json:
    """The ThreadObject of a thread."""
    data = {
        "id": thread.id,
        "object": "thread",
        "created_at": thread.created_at,
        "tool_resources": resources or {},
        "metadata": dict(thread.labels),
    }
    return dump(ThreadObject, data)


def assistant_object(assistant: Assistant) -> Json:
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
        "tools": plain(raw.tools),
        "tool_resources": resources(raw.tool_resources),
        "metadata": dict(assistant.labels),
        "temperature": raw.temperature,
        "top_p": raw.top_p,
        "response_format": plain(raw.response_format) or "auto",
    }
    return dump(AssistantObject, data)


def _step_delta(step: Step, call: Json) -> Json:
    """A RunStepDeltaObject adding to one tool call of ``step``."""
    details = {"type": "tool_calls", "tool_calls": [call]}
    data = {"id": step.id, "object": "thread.run.step.delta", "delta": {"step_details": details}}
    return dump(RunStepDeltaObject, data)


def _pieces(text: str, count: int) -> list[str]:
    """``text`` in ``count`` pieces at most (at least one, each non-empty)."""
    size = max(1, -(-len(text) // max(count, 1)))
    return [text[i : i + size] for i in range(0, len(text), size)] or [text]


# --- the renderer ---------------------------------------------------------------------------


def _add(run: CoreRun, event: str, data: Json) -> None:
    run.events.append((event, json.dumps(data, separators=(",", ":"))))


class OpenAIRenderer:
    """OpenAI stream events: ``(event name, JSON data)`` pairs in the spec's vocabulary."""

    id_prefix = "msg_"

    def created(self, run: CoreRun, thread: Json | None = None) -> None:
        """The opening events: ``thread.created`` (create thread and run), run created, queued."""
        if thread is not None:
            _add(run, "thread.created", thread)
        _add(run, "thread.run.created", run_object(run))
        _add(run, "thread.run.queued", run_object(run))

    def status(self, run: CoreRun) -> None:
        """``thread.run.<status>``; requires_action waits for :meth:`tool_calls` (steps first)."""
        if run.status is RunStatus.REQUIRES_ACTION:
            return
        run_view = view(run)
        step = run_view.open_tool_step()
        if run.status is RunStatus.QUEUED and step is not None and step.outputs is not None:
            self._end_step(run, step, "completed")
        if run.status.is_finished:
            self._close_steps(run, run_view)
        if run.status is RunStatus.CANCELLED and run.cancelled_at is None:
            run.cancelled_at = now()
        _add(run, f"thread.run.{run.status.value}", run_object(run))

    def _end_step(self, run: CoreRun, step: Step, status: str) -> None:
        """End ``step``; a message step keeps the time its message ended (one time for both).

        A completed step gets its usage: a message's is the engine's count for the answer; a
        tool step's counts the thread's words as the prompt and the calls' arguments as the
        completion (the run's usage adds them up).
        """
        step.status = status
        if step.ended_at is None:
            step.ended_at = now()
        if status == "completed" and step.kind == "message_creation":
            step.usage = run.usage
        elif status == "completed":
            thread = view(run).thread
            prompt = sum(_words(m.text) for m in thread.messages) if thread is not None else 0
            step.usage = (prompt, sum(_words(_args(c)) for c in step.calls))
        _add(run, f"thread.run.step.{status}", step_object(run, step))

    def _close_steps(self, run: CoreRun, view: View) -> None:
        """End the steps a terminal status interrupts (and their unfinished answer)."""
        for step in view.steps:
            if step.status != "in_progress":
                continue
            answer = run.answer
            if answer is not None and step.message_id == answer.id:
                step.ended_at = now()
                _add(run, "thread.message.incomplete", message_object(answer, run))
            self._end_step(run, step, _STEP_END.get(run.status, "completed"))

    def message_created(self, run: CoreRun, message: CoreMessage) -> None:
        """A message_creation step, then the message (each created, then in progress)."""
        step = Step(new_id("step_"), now(), "message_creation", message_id=message.id)
        view(run).steps.append(step)
        for name in ("created", "in_progress"):
            _add(run, f"thread.run.step.{name}", step_object(run, step))
        for name in ("created", "in_progress"):
            _add(run, f"thread.message.{name}", message_object(message, run))

    def partial(self, run: CoreRun, message: CoreMessage, delta: str) -> None:
        """``thread.message.delta`` with only the new text."""
        _add(run, "thread.message.delta", _delta_object(message, delta))

    def message_done(self, run: CoreRun, message: CoreMessage) -> None:
        """The message completed (or incomplete), then its step completed."""
        step = view(run).message_step(message.id)
        if step is not None:
            step.ended_at = now()
        name = "incomplete" if message.status == "incomplete" else "completed"
        _add(run, f"thread.message.{name}", message_object(message, run))
        if step is not None:
            self._end_step(run, step, "completed")

    def tool_calls(self, run: CoreRun) -> None:
        """A tool_calls step, created and in progress with no calls yet; then per call a
        ``thread.run.step.delta`` with its id, name and empty arguments, and more with its
        arguments in pieces (as OpenAI streams them); then ``thread.run.requires_action``."""
        run_view = view(run)
        step = Step(new_id("step_"), now(), "tool_calls", calls=list(run.calls))
        run_view.steps.append(step)
        for name in ("created", "in_progress"):
            _add(run, f"thread.run.step.{name}", step_object(run, step, shown=0))
        for index, call in enumerate(step.calls):
            function = {"name": call.name, "arguments": "", "output": None}
            first = {"index": index, "id": call.id, "type": "function", "function": function}
            _add(run, "thread.run.step.delta", _step_delta(step, first))
            for piece in _pieces(_args(call), run_view.chunks):
                more = {"index": index, "type": "function", "function": {"arguments": piece}}
                _add(run, "thread.run.step.delta", _step_delta(step, more))
        _add(run, "thread.run.requires_action", run_object(run))

    def finished(self, run: CoreRun) -> None:
        """Nothing: the terminal status event already went out."""


async def frames(run: CoreRun, start: int) -> AsyncGenerator[bytes, None]:
    """SSE frames of the run's events from ``start``, live, until the run pauses or ends."""
    async with contextlib.aclosing(run.follow(start, lambda: stopped(run))) as events:
        async for name, data in events:
            yield sse(name, data)
            if name in _STREAM_ENDS:
                yield _DONE
                return
    yield _DONE


def stopped(run: CoreRun) -> bool:
    return run.status.is_finished or (run.task is not None and run.task.done())
