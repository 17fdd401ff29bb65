"""The Yandex side's rendering: ``runs``/``threads``/``v1`` proto messages built from the core
state, and the :class:`YandexRenderer` that turns a run's steps into ``StreamEvent``s.

Pure functions of the state: no request checking and no I/O (that is ``_yandex_services``).
"""

from __future__ import annotations

import time
from typing import TypeVar

import betterproto2
from runbind_generated.proto.google.protobuf import Struct, Timestamp
from runbind_generated.proto.yandex.cloud.ai.assistants import v1
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs, threads
from runbind_generated.proto.yandex.cloud.ai.common import (
    Error,
    ExpirationConfig,
    ExpirationConfigExpirationPolicy,
)

from .._core.generated import newer_fields
from .._core.status import RunStatus
from ._state import Assistant, CoreMessage, CoreRun, Thread

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_POLICY",
    "DEFAULT_TTL_DAYS",
    "SUBJECT",
    "YANDEX_ERROR_CODES",
    "YandexRenderer",
    "assistant_object",
    "copy",
    "expiration",
    "expires_at",
    "message_object",
    "new_assistant",
    "new_thread",
    "now_ts",
    "run_object",
    "thread_object",
    "truncation",
]

_M = TypeVar("_M", bound=betterproto2.Message)

SUBJECT = "emulator"
"""``created_by`` / ``updated_by`` of everything: the subject the calls are made as."""
DEFAULT_POLICY = ExpirationConfigExpirationPolicy.SINCE_LAST_ACTIVE
DEFAULT_TTL_DAYS = 7
"""The expiration the service gives an assistant or thread created without one."""
_DAY = 86_400
DEFAULT_MODEL = "gpt://emulator/echo"
"""The model of an assistant created without ``model_uri`` (the service requires one)."""

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
    """The ``threads.Message`` of a thread message (roles upper-case, as the service has them)."""
    status = {
        "completed": threads.MessageMessageStatus.COMPLETED,
        "incomplete": threads.MessageMessageStatus.TRUNCATED,
    }.get(message.status, threads.MessageMessageStatus.MESSAGE_STATUS_UNSPECIFIED)
    return threads.Message(
        id=message.id,
        thread_id=message.thread_id,
        created_by=SUBJECT,
        created_at=_ts(message.created_at),
        author=threads.Author(
            id=message.author_id or message.assistant_id or "", role=message.role.upper()
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
        created_by=SUBJECT,
        created_at=_ts(run.created_at),
        labels=dict(run.labels),
        state=state,
        usage=usage,
        custom_prompt_truncation_options=request.custom_prompt_truncation_options,
        custom_completion_options=request.custom_completion_options,
        tools=list(request.tools),
        **newer_fields(
            runs.Run, custom_response_format=getattr(request, "custom_response_format", None)
        ),
    )


def now_ts() -> Timestamp:
    """The current time, to the microsecond as the service stamps its objects."""
    micros = time.time_ns() // 1000
    return Timestamp(seconds=micros // 1_000_000, nanos=micros % 1_000_000 * 1000)


def _copy_or_none(request: betterproto2.Message, name: str) -> betterproto2.Message | None:
    """A copy of ``request``'s message field ``name``; None when unset or not in the spec."""
    value = getattr(request, name, None)
    return None if value is None else copy(value)


def copy(message: _M) -> _M:
    """A deep copy of ``message`` (stored records are never handed out themselves)."""
    return type(message).parse(bytes(message))


def expiration(config: ExpirationConfig | None, field: str) -> ExpirationConfig:
    """``config`` with the service's defaults for what it leaves out; ValueError if invalid."""
    config = config or ExpirationConfig()
    if config.ttl_days < 0:
        raise ValueError(f"{field}.ttl_days must not be negative")
    policy = config.expiration_policy
    if policy not in list(ExpirationConfigExpirationPolicy):
        raise ValueError(f"{field}.expiration_policy: unknown value {int(policy)}")
    return ExpirationConfig(
        expiration_policy=policy or DEFAULT_POLICY,
        ttl_days=config.ttl_days or DEFAULT_TTL_DAYS,
    )


def expires_at(created: Timestamp | None, config: ExpirationConfig | None) -> Timestamp:
    """When an object created at ``created`` expires under ``config`` (counted from its
    creation: updates do not move it, as the service's own answers show)."""
    start = created or Timestamp()
    ttl = config.ttl_days if config is not None else DEFAULT_TTL_DAYS
    return Timestamp(seconds=start.seconds + ttl * _DAY, nanos=start.nanos)


def truncation(options: v1.PromptTruncationOptions | None) -> v1.PromptTruncationOptions:
    """``options`` as the service keeps them: the auto strategy unless one is given."""
    kept = copy(options) if options is not None else v1.PromptTruncationOptions()
    if kept.last_messages_strategy is None and kept.auto_strategy is None:
        kept.auto_strategy = v1.PromptTruncationOptionsAutoStrategy()
    return kept


def new_assistant(assistant_id: str, request: v1.CreateAssistantRequest) -> v1.Assistant:
    """The service's record of an assistant ``request`` creates (defaults filled in)."""
    created = now_ts()
    config = expiration(request.expiration_config, "expiration_config")
    return v1.Assistant(
        id=assistant_id,
        folder_id=request.folder_id,
        name=request.name,
        description=request.description,
        created_by=SUBJECT,
        created_at=created,
        updated_by=SUBJECT,
        updated_at=created,
        expiration_config=config,
        expires_at=expires_at(created, config),
        labels=dict(request.labels),
        model_uri=request.model_uri or DEFAULT_MODEL,
        instruction=request.instruction,
        prompt_truncation_options=truncation(request.prompt_truncation_options),
        completion_options=copy(request.completion_options or v1.CompletionOptions()),
        tools=[copy(t) for t in request.tools],
        **newer_fields(v1.Assistant, response_format=_copy_or_none(request, "response_format")),
    )


def new_thread(
    thread_id: str, request: threads.CreateThreadRequest, default_author_id: str
) -> threads.Thread:
    """The service's record of a thread ``request`` creates (defaults filled in; messages
    without an author get ``default_author_id``, which is generated when the request has none)."""
    created = now_ts()
    config = expiration(request.expiration_config, "expiration_config")
    return threads.Thread(
        id=thread_id,
        folder_id=request.folder_id,
        name=request.name,
        description=request.description,
        default_message_author_id=request.default_message_author_id or default_author_id,
        created_by=SUBJECT,
        created_at=created,
        updated_by=SUBJECT,
        updated_at=created,
        expiration_config=config,
        expires_at=expires_at(created, config),
        labels=dict(request.labels),
        tools=[copy(t) for t in request.tools],
    )


def thread_object(thread: Thread) -> threads.Thread:
    """The ``threads.Thread`` of a thread: a copy of its record."""
    record: threads.Thread = thread.raw
    return copy(record)


def assistant_object(assistant: Assistant) -> v1.Assistant:
    """The ``v1.Assistant`` of an assistant: a copy of its record."""
    record: v1.Assistant = assistant.raw
    return copy(record)
