"""The Yandex side's rendering: ``runs``/``threads``/``v1`` proto messages built from the core
state, and the :class:`YandexRenderer` that turns a run's steps into ``StreamEvent``s.

Pure functions of the state: no request checking and no I/O (that is ``_yandex_services``).
"""

from __future__ import annotations

from runbind_generated.proto.google.protobuf import Struct, Timestamp
from runbind_generated.proto.yandex.cloud.ai.assistants import v1
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs, threads
from runbind_generated.proto.yandex.cloud.ai.common import Error

from .._core.status import RunStatus
from ._state import Assistant, CoreMessage, CoreRun, Thread

__all__ = [
    "YANDEX_ERROR_CODES",
    "YandexRenderer",
    "assistant_object",
    "message_object",
    "run_object",
    "thread_object",
]

YANDEX_ERROR_CODES = {
    "server_error": 13,
    "rate_limit_exceeded": 8,
    "invalid_prompt": 3,
    "expired": 4,
}
"""Numeric codes (gRPC numbering) of the scripted error codes in a Yandex ``Error``."""

_RUN_STATUS = {
    RunStatus.QUEUED: runs.RunStateRunStatus.PENDING,
    RunStatus.IN_PROGRESS: runs.RunStateRunStatus.IN_PROGRESS,
    RunStatus.CANCELLING: runs.RunStateRunStatus.IN_PROGRESS,
    RunStatus.REQUIRES_ACTION: runs.RunStateRunStatus.TOOL_CALLS,
    RunStatus.COMPLETED: runs.RunStateRunStatus.COMPLETED,
    RunStatus.INCOMPLETE: runs.RunStateRunStatus.COMPLETED,  # with a TRUNCATED message
    RunStatus.FAILED: runs.RunStateRunStatus.FAILED,
    RunStatus.EXPIRED: runs.RunStateRunStatus.FAILED,
    RunStatus.CANCELLED: runs.RunStateRunStatus.FAILED,
}


def _ts(seconds: int | None) -> Timestamp | None:
    return None if seconds is None else Timestamp(seconds=seconds)


def _content(text: str) -> threads.MessageContent:
    return threads.MessageContent(content=[threads.ContentPart(text=threads.Text(content=text))])


class YandexRenderer:
    """Yandex stream events: partial messages (if streaming), tool calls, error, done."""

    id_prefix = "fvtmsg"

    def _add(self, run: CoreRun, event: runs.StreamEvent) -> None:
        event.stream_cursor = runs.StreamCursor(
            current_event_idx=len(run.events), num_user_events_received=run.results_received
        )
        run.events.append(event)

    def status(self, run: CoreRun) -> None:
        """Status changes are not events on Yandex."""

    def message_created(self, run: CoreRun, message: CoreMessage) -> None:
        """Nothing: the message shows up in partial messages."""

    def partial(self, run: CoreRun, message: CoreMessage, delta: str) -> None:
        """A PARTIAL_MESSAGE with the text so far (only for streaming runs)."""
        if run.stream:
            self._add(
                run,
                runs.StreamEvent(
                    event_type=runs.StreamEventEventType.PARTIAL_MESSAGE,
                    partial_message=_content(message.text),
                ),
            )

    def message_done(self, run: CoreRun, message: CoreMessage) -> None:
        """Nothing: DONE carries the completed message."""

    def tool_calls(self, run: CoreRun) -> None:
        """A TOOL_CALLS event."""
        self._add(
            run,
            runs.StreamEvent(
                event_type=runs.StreamEventEventType.TOOL_CALLS, tool_call_list=_calls(run)
            ),
        )

    def finished(self, run: CoreRun) -> None:
        """DONE with the answer, or ERROR."""
        if run.status in (RunStatus.COMPLETED, RunStatus.INCOMPLETE) and run.answer is not None:
            self._add(
                run,
                runs.StreamEvent(
                    event_type=runs.StreamEventEventType.DONE,
                    completed_message=message_object(run.answer),
                ),
            )
        else:
            self._add(
                run, runs.StreamEvent(event_type=runs.StreamEventEventType.ERROR, error=_error(run))
            )


def _calls(run: CoreRun) -> v1.ToolCallList:
    return v1.ToolCallList(
        tool_calls=[
            v1.ToolCall(
                function_call=v1.FunctionCall(name=c.name, arguments=Struct.from_dict(c.arguments))
            )
            for c in run.calls
        ]
    )


def _error(run: CoreRun) -> Error:
    if run.status is RunStatus.EXPIRED:
        return Error(code=YANDEX_ERROR_CODES["expired"], message="no tool results in time")
    if run.status is RunStatus.CANCELLED:
        return Error(code=1, message="cancelled")
    code, message = run.error or ("server_error", "failed")
    number = int(code) if code.isdigit() else YANDEX_ERROR_CODES.get(code, 2)
    return Error(code=number, message=message)


def message_object(message: CoreMessage) -> threads.Message:
    """The ``threads.Message`` of a thread message."""
    status = {
        "completed": threads.MessageMessageStatus.COMPLETED,
        "incomplete": threads.MessageMessageStatus.TRUNCATED,
    }.get(message.status, threads.MessageMessageStatus.MESSAGE_STATUS_UNSPECIFIED)
    return threads.Message(
        id=message.id,
        thread_id=message.thread_id,
        created_by=message.author_id or "emulator",
        created_at=_ts(message.created_at),
        author=threads.Author(
            id=message.author_id or message.assistant_id or "", role=message.role
        ),
        labels=dict(message.labels),
        content=_content(message.text),
        status=status,
    )


def run_object(run: CoreRun) -> runs.Run:
    """The ``runs.Run`` of a run: its state now, and the options its create request gave."""
    request: runs.CreateRunRequest = run.options["request"]
    state = runs.RunState(status=_RUN_STATUS.get(run.status, runs.RunStateRunStatus.IN_PROGRESS))
    if run.status is RunStatus.REQUIRES_ACTION:
        state.tool_call_list = _calls(run)
    elif run.status in (RunStatus.COMPLETED, RunStatus.INCOMPLETE) and run.answer is not None:
        state.completed_message = message_object(run.answer)
    elif run.status.is_failed:
        state.error = _error(run)
    usage = None
    if run.usage is not None:
        prompt, completion = run.usage
        usage = runs.ContentUsage(
            prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
        )
    return runs.Run(
        id=run.id,
        assistant_id=run.assistant_id,
        thread_id=run.thread_id,
        created_by="emulator",
        created_at=_ts(run.created_at),
        labels=dict(run.labels),
        state=state,
        usage=usage,
        custom_prompt_truncation_options=request.custom_prompt_truncation_options,
        custom_completion_options=request.custom_completion_options,
        tools=list(request.tools),
        custom_response_format=request.custom_response_format,
    )


def thread_object(thread: Thread, folder_id: str) -> threads.Thread:
    """The ``threads.Thread`` of a thread in ``folder_id``."""
    return threads.Thread(
        id=thread.id,
        folder_id=folder_id,
        name=thread.name,
        created_by="emulator",
        created_at=_ts(thread.created_at),
        updated_at=_ts(thread.created_at),
        labels=dict(thread.labels),
    )


def assistant_object(assistant: Assistant) -> v1.Assistant:
    """The ``v1.Assistant`` of an assistant, with the options its create request gave."""
    request: v1.CreateAssistantRequest = assistant.raw
    return v1.Assistant(
        id=assistant.id,
        folder_id=request.folder_id,
        name=assistant.name,
        description=request.description,
        created_by="emulator",
        created_at=_ts(assistant.created_at),
        updated_at=_ts(assistant.created_at),
        labels=dict(assistant.labels),
        model_uri=assistant.model,
        instruction=assistant.instructions,
        prompt_truncation_options=request.prompt_truncation_options,
        completion_options=request.completion_options,
        tools=list(request.tools),
        response_format=request.response_format,
    )
