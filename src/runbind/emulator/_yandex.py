"""The Yandex side: RunService, ThreadService, MessageService and AssistantService over grpclib.

Built on the generated server bases. Requests are wire-checked before they are parsed (a
malformed frame is INVALID_ARGUMENT naming the field), bounded in size, and authenticated when
the emulator has a key.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hmac
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import grpclib.const
import grpclib.events
import grpclib.server
from betterproto2.grpclib import ServiceBase
from grpclib import GRPCError
from grpclib.const import Status
from grpclib.encoding.proto import ProtoCodec
from runbind_generated.proto.google.protobuf import Struct, Timestamp
from runbind_generated.proto.yandex.cloud.ai.assistants import v1
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs, threads
from runbind_generated.proto.yandex.cloud.ai.common import Error

from .._core import offload
from .._core.status import RunStatus
from ..yandex import _wire
from . import _engine
from ._script import script_for
from ._state import Assistant, CoreMessage, CoreRun, FunctionSpec, Store, Thread, new_id, now

if TYPE_CHECKING:
    from grpclib._typing import IServable

__all__ = ["YANDEX_ERROR_CODES", "CheckedCodec", "YandexRenderer", "keep_metadata", "services"]

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
_Owned = TypeVar("_Owned", Assistant, Thread, CoreRun)
_DEFAULT_PAGE = 50
_MAX_PAGE = 1000
_metadata: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "runbind_emulator_metadata", default=None
)


class CheckedCodec(offload.DecodeAhead, ProtoCodec):
    """The protobuf codec with a size limit and the strict wire check before parsing; the
    request reader (``_framing``) decodes ahead, off the loop when large."""

    def __init__(self, max_message_size: int) -> None:
        self.max_message_size = max_message_size

    def parse(self, data: bytes, message_type: Any) -> Any:
        """Parse ``data`` or fail with INVALID_ARGUMENT / RESOURCE_EXHAUSTED."""
        if len(data) > self.max_message_size:
            raise GRPCError(
                Status.RESOURCE_EXHAUSTED,
                f"message of {len(data)} bytes exceeds the limit of {self.max_message_size}",
            )
        try:
            return _wire.decode(message_type, data)
        except _wire.WireError as exc:
            where = f" at {exc.path}" if exc.path else ""
            raise GRPCError(
                Status.INVALID_ARGUMENT, f"malformed {message_type.__name__}{where}: {exc.reason}"
            ) from None


def require_key(server: grpclib.server.Server, api_key: str) -> None:
    """Refuse calls whose ``authorization`` metadata is not ``Api-Key <key>`` / ``Bearer <key>``."""

    async def check(event: grpclib.events.RecvRequest) -> None:
        header = event.metadata.get("authorization")
        value = header if isinstance(header, str) else ""
        scheme, _, token = value.partition(" ")
        good = scheme in ("Api-Key", "Bearer") and hmac.compare_digest(
            token.encode(), api_key.encode()
        )
        if not good:
            raise GRPCError(Status.UNAUTHENTICATED, "missing or wrong credentials")

    grpclib.events.listen(server, grpclib.events.RecvRequest, check)


def keep_metadata(server: grpclib.server.Server) -> None:
    """Let the services read the invocation metadata of the call they handle."""

    async def keep(event: grpclib.events.RecvRequest) -> None:
        _metadata.set(event.metadata)  # the handler runs in this same task, so it sees it

    grpclib.events.listen(server, grpclib.events.RecvRequest, keep)


def _metadata_value(name: str) -> str | None:
    value = (_metadata.get() or {}).get(name)
    return value if isinstance(value, str) and value else None


def _fail(status: Status, message: str) -> NoReturn:
    raise GRPCError(status, message)


def _required(value: str, field: str) -> str:
    if not value:
        _fail(Status.INVALID_ARGUMENT, f"{field} is required")
    return value


def _ts(seconds: int | None) -> Timestamp | None:
    return None if seconds is None else Timestamp(seconds=seconds)


def _content(text: str) -> threads.MessageContent:
    return threads.MessageContent(content=[threads.ContentPart(text=threads.Text(content=text))])


def _text_of(content: threads.MessageContent | None, field: str) -> str:
    if content is None or not content.content:
        _fail(Status.INVALID_ARGUMENT, f"{field} must have at least one part")
    return "\n".join(p.text.content for p in content.content if p.text is not None)


def _page(items: Sequence[Any], page_size: int, page_token: str) -> tuple[list[Any], str]:
    if page_size < 0 or page_size > _MAX_PAGE:
        _fail(Status.INVALID_ARGUMENT, f"page_size must be within 0..{_MAX_PAGE}")
    size = page_size or _DEFAULT_PAGE
    start = 0
    if page_token:
        ids = [item.id for item in items]
        if page_token not in ids:
            _fail(Status.INVALID_ARGUMENT, "page_token is not valid")
        start = ids.index(page_token)
    page = list(items[start : start + size])
    rest = items[start + size : start + size + 1]
    return page, rest[0].id if rest else ""


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
                    completed_message=_message(run.answer),
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


def _message(message: CoreMessage) -> threads.Message:
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


def _run(run: CoreRun) -> runs.Run:
    request: runs.CreateRunRequest = run.options["request"]
    state = runs.RunState(status=_RUN_STATUS.get(run.status, runs.RunStateRunStatus.IN_PROGRESS))
    if run.status is RunStatus.REQUIRES_ACTION:
        state.tool_call_list = _calls(run)
    elif run.status in (RunStatus.COMPLETED, RunStatus.INCOMPLETE) and run.answer is not None:
        state.completed_message = _message(run.answer)
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


def _thread(thread: Thread, folder_id: str) -> threads.Thread:
    return threads.Thread(
        id=thread.id,
        folder_id=folder_id,
        name=thread.name,
        created_by="emulator",
        created_at=_ts(thread.created_at),
        updated_at=_ts(thread.created_at),
        labels=dict(thread.labels),
    )


def _assistant(assistant: Assistant) -> v1.Assistant:
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


def _functions(tools: Sequence[v1.Tool]) -> list[FunctionSpec]:
    return [
        FunctionSpec(
            t.function.name,
            t.function.description,
            t.function.parameters.to_dict() if t.function.parameters else {},
        )
        for t in tools
        if t.function is not None
    ]


class _Services:
    """State and helpers shared by the four services."""

    def __init__(self, store: Store, tasks: set[asyncio.Task[None]]) -> None:
        self.store = store
        self.tasks = tasks
        self.folders: dict[str, str] = {}  # thread or assistant id -> folder id
        self.idempotent: dict[str, str] = {}  # idempotency key -> run id
        self.renderer = YandexRenderer()

    def in_folder(self, items: Sequence[_Owned], folder_id: str) -> list[_Owned]:
        """``items`` that belong to ``folder_id`` (all of them when it is empty)."""
        return [i for i in items if not folder_id or self.folders.get(i.id) == folder_id]

    def thread(self, thread_id: str, field: str = "thread_id") -> Thread:
        thread = self.store.threads.get(_required(thread_id, field))
        if thread is None:
            _fail(Status.NOT_FOUND, f"thread {thread_id} not found")
        return thread

    def run(self, run_id: str) -> CoreRun:
        run = self.store.runs.get(_required(run_id, "run_id"))
        if run is None:
            _fail(Status.NOT_FOUND, f"run {run_id} not found")
        return run

    def assistant(self, assistant_id: str) -> Assistant:
        assistant = self.store.assistants.get(_required(assistant_id, "assistant_id"))
        if assistant is None:
            _fail(Status.NOT_FOUND, f"assistant {assistant_id} not found")
        return assistant

    async def events(
        self, run: CoreRun, start: int, stop: Callable[[], bool] = lambda: False
    ) -> AsyncIterator[runs.StreamEvent]:
        """The run's events from ``start`` on, live, until the run has finished (or ``stop()``)."""
        if start < 0:
            _fail(Status.INVALID_ARGUMENT, "events_start_idx must not be negative")
        index = start
        while not stop():
            while index < len(run.events):
                yield run.events[index]
                index += 1
            if run.task is None or run.task.done():
                return
            async with run.changed:
                if index >= len(run.events) and not run.task.done() and not stop():
                    await run.changed.wait()

    async def submit(self, run: CoreRun, results: v1.ToolResultList | None) -> None:
        if not run.waiting_for_results:
            _fail(
                Status.FAILED_PRECONDITION,
                f"run {run.id} is {run.status.value}, not waiting for tool results",
            )
        if results is None or not results.tool_results:
            _fail(Status.INVALID_ARGUMENT, "tool_result_list must have at least one result")
        if len(results.tool_results) != len(run.calls):
            _fail(
                Status.INVALID_ARGUMENT,
                f"tool_result_list: expected {len(run.calls)} results, "
                f"got {len(results.tool_results)}",
            )
        pairs = []
        for index, result in enumerate(results.tool_results):
            fn = result.function_result
            where = f"tool_result_list.tool_results[{index}].function_result"
            if fn is None or not fn.name or fn.content is None:
                _fail(Status.INVALID_ARGUMENT, f"{where} needs a name and content")
            pairs.append((fn.name, fn.content))
        await _engine.submit(run, pairs)


class RunService(runs.RunServiceBase):
    """Runs: create, get, list, listen, attach, submit."""

    def __init__(self, shared: _Services) -> None:
        self.s = shared

    async def create(self, message: runs.CreateRunRequest) -> runs.Run:
        """Start a run of an assistant on a thread (scripted by the assistant).

        A call with ``idempotency-key`` metadata seen before gets the run that key created
        (ALREADY_EXISTS when it was for another thread or assistant), whether or not it streams:
        Create itself is unary either way.
        """
        key = _metadata_value("idempotency-key")
        if key is not None and key in self.s.idempotent:
            known = self.s.store.runs.get(self.s.idempotent[key])
            same = (message.thread_id, message.assistant_id)
            if known is None or (known.thread_id, known.assistant_id) != same:
                _fail(
                    Status.ALREADY_EXISTS,
                    f"idempotency-key {key!r} was already used for a different request",
                )
            return _run(known)
        assistant = self.s.assistant(message.assistant_id)
        thread = self.s.thread(message.thread_id)
        if self.s.store.active_run(thread.id) is not None:
            _fail(Status.FAILED_PRECONDITION, f"thread {thread.id} already has an active run")
        for index, data in enumerate(message.additional_messages):
            text = _text_of(data.content, f"additional_messages[{index}].content")
            author = data.author
            thread.messages.append(
                CoreMessage(
                    id=new_id("fvtmsg"),
                    thread_id=thread.id,
                    role=author.role if author and author.role else "user",
                    text=text,
                    created_at=now(),
                    labels=dict(data.labels),
                    author_id=author.id if author else "",
                )
            )
        functions = _functions(message.tools) or assistant.functions
        run = CoreRun(
            id=new_id("fvtrun"),
            thread_id=thread.id,
            assistant_id=assistant.id,
            created_at=now(),
            stream=message.stream,
            options={"request": message, "function_names": [f.name for f in functions]},
            labels=dict(message.labels),
        )
        self.s.store.runs.add(run.id, run)
        self.s.folders[run.id] = self.s.folders.get(assistant.id, "")
        if key is not None:
            self.s.idempotent[key] = run.id
        task = asyncio.create_task(_engine.drive(run, thread, assistant.script, self.s.renderer))
        run.task = task
        self.s.tasks.add(task)
        task.add_done_callback(self.s.tasks.discard)
        return _run(run)

    async def get(self, message: runs.GetRunRequest) -> runs.Run:
        """One run."""
        return _run(self.s.run(message.run_id))

    async def get_last_by_thread(self, message: runs.GetLastRunByThreadRequest) -> runs.Run:
        """The newest run of a thread."""
        thread = self.s.thread(message.thread_id)
        found = self.s.store.runs_of(thread.id)
        if not found:
            _fail(Status.NOT_FOUND, f"thread {thread.id} has no runs")
        return _run(found[-1])

    async def list(self, message: runs.ListRunsRequest) -> runs.ListRunsResponse:
        """Runs of a folder (all runs when no folder is given), oldest first, paged."""
        items = self.s.in_folder(self.s.store.runs.values(), message.folder_id)
        page, token = _page(items, message.page_size, message.page_token)
        return runs.ListRunsResponse(runs=[_run(r) for r in page], next_page_token=token)

    async def listen(self, message: runs.ListenRunRequest) -> AsyncIterator[runs.StreamEvent]:
        """The run's events from ``events_start_idx`` on, until it has finished."""
        run = self.s.run(message.run_id)
        async for event in self.s.events(run, message.events_start_idx or 0):
            yield event

    async def attach(
        self, messages: AsyncIterator[runs.AttachRunRequest]
    ) -> AsyncIterator[runs.StreamEvent]:
        """Like Listen, and tool results sent on the same stream are submitted."""
        first = await anext(aiter(messages), None)
        if first is None:
            _fail(Status.INVALID_ARGUMENT, "run_id is required")
        run = self.s.run(first.run_id)
        problems: list[GRPCError] = []

        async def take(request: runs.AttachRunRequest) -> None:
            if request.tool_result_list is not None:
                try:
                    await self.s.submit(run, request.tool_result_list)
                except GRPCError as exc:
                    problems.append(exc)
                    await run.notify()

        async def read() -> None:
            await take(first)
            try:
                async for request in messages:
                    await take(request)
            except GRPCError as exc:  # a malformed or oversized message ends the call with it
                problems.append(exc)
                await run.notify()

        reader = asyncio.create_task(read())
        try:
            start = first.events_start_idx or 0
            async for event in self.s.events(run, start, stop=lambda: bool(problems)):
                yield event
            if problems:
                raise problems[0]
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, GRPCError):
                await reader

    async def submit(self, message: runs.SubmitToRunRequest) -> runs.SubmitToRunResponse:
        """Tool results for a run that waits for them."""
        await self.s.submit(self.s.run(message.run_id), message.tool_result_list)
        return runs.SubmitToRunResponse()


class ThreadService(threads.ThreadServiceBase):
    """Threads: create, get, list, delete."""

    def __init__(self, shared: _Services) -> None:
        self.s = shared

    async def create(self, message: threads.CreateThreadRequest) -> threads.Thread:
        """A new thread, optionally with first messages."""
        thread = Thread(
            id=new_id("fvtthr"), created_at=now(), name=message.name, labels=dict(message.labels)
        )
        for index, data in enumerate(message.messages):
            author = data.author
            thread.messages.append(
                CoreMessage(
                    id=new_id("fvtmsg"),
                    thread_id=thread.id,
                    role=author.role if author and author.role else "user",
                    text=_text_of(data.content, f"messages[{index}].content"),
                    created_at=now(),
                    labels=dict(data.labels),
                    author_id=author.id if author else message.default_message_author_id,
                )
            )
        self.s.store.threads.add(thread.id, thread)
        self.s.folders[thread.id] = message.folder_id
        return _thread(thread, message.folder_id)

    async def get(self, message: threads.GetThreadRequest) -> threads.Thread:
        """One thread."""
        thread = self.s.thread(message.thread_id)
        return _thread(thread, self.s.folders.get(thread.id, ""))

    async def list(self, message: threads.ListThreadsRequest) -> threads.ListThreadsResponse:
        """Threads of a folder, paged."""
        items = self.s.in_folder(self.s.store.threads.values(), message.folder_id)
        page, token = _page(items, message.page_size, message.page_token)
        return threads.ListThreadsResponse(
            threads=[_thread(t, self.s.folders.get(t.id, "")) for t in page],
            next_page_token=token,
        )

    async def delete(self, message: threads.DeleteThreadRequest) -> threads.DeleteThreadResponse:
        """Forget a thread."""
        thread = self.s.thread(message.thread_id)
        self.s.store.threads.pop(thread.id)
        return threads.DeleteThreadResponse()


class MessageService(threads.MessageServiceBase):
    """Messages: create, get, list."""

    def __init__(self, shared: _Services) -> None:
        self.s = shared

    async def create(self, message: threads.CreateMessageRequest) -> threads.Message:
        """Append a message to a thread."""
        thread = self.s.thread(message.thread_id)
        author = message.author
        core = CoreMessage(
            id=new_id("fvtmsg"),
            thread_id=thread.id,
            role=author.role if author and author.role else "user",
            text=_text_of(message.content, "content"),
            created_at=now(),
            labels=dict(message.labels),
            author_id=author.id if author else "",
        )
        thread.messages.append(core)
        return _message(core)

    async def get(self, message: threads.GetMessageRequest) -> threads.Message:
        """One message of a thread."""
        thread = self.s.thread(message.thread_id)
        _required(message.message_id, "message_id")
        for core in thread.messages:
            if core.id == message.message_id:
                return _message(core)
        _fail(Status.NOT_FOUND, f"message {message.message_id} not found")

    async def list(self, message: threads.ListMessagesRequest) -> AsyncIterator[threads.Message]:
        """Every message of a thread, oldest first."""
        thread = self.s.thread(message.thread_id)
        for core in list(thread.messages):
            yield _message(core)


class AssistantService(v1.AssistantServiceBase):
    """Assistants: create, get, list, delete; the ``emulator`` label picks the behaviour."""

    def __init__(self, shared: _Services) -> None:
        self.s = shared

    async def create(self, message: v1.CreateAssistantRequest) -> v1.Assistant:
        """A new assistant; a bad ``emulator`` label or instruction is INVALID_ARGUMENT."""
        try:
            script = script_for(message.labels, message.instruction)
        except ValueError as exc:
            _fail(Status.INVALID_ARGUMENT, f"labels.emulator: {exc}")
        assistant = Assistant(
            id=new_id("fvtasst"),
            created_at=now(),
            name=message.name,
            model=message.model_uri or "gpt://emulator/echo",
            instructions=message.instruction,
            functions=_functions(message.tools),
            labels=dict(message.labels),
            script=script,
            raw=message,
        )
        self.s.store.assistants.add(assistant.id, assistant)
        self.s.folders[assistant.id] = message.folder_id
        return _assistant(assistant)

    async def get(self, message: v1.GetAssistantRequest) -> v1.Assistant:
        """One assistant."""
        return _assistant(self.s.assistant(message.assistant_id))

    async def list(self, message: v1.ListAssistantsRequest) -> v1.ListAssistantsResponse:
        """Assistants of a folder, paged."""
        items = self.s.in_folder(self.s.store.assistants.values(), message.folder_id)
        page, token = _page(items, message.page_size, message.page_token)
        return v1.ListAssistantsResponse(
            assistants=[_assistant(a) for a in page], next_page_token=token
        )

    async def delete(self, message: v1.DeleteAssistantRequest) -> v1.DeleteAssistantResponse:
        """Forget an assistant."""
        self.s.store.assistants.pop(self.s.assistant(message.assistant_id).id)
        return v1.DeleteAssistantResponse()


def services(store: Store, tasks: set[asyncio.Task[None]]) -> list[IServable]:
    """The four services over one store; ``tasks`` collects the run tasks they start."""
    shared = _Services(store, tasks)
    bases: list[ServiceBase] = [
        RunService(shared),
        ThreadService(shared),
        MessageService(shared),
        AssistantService(shared),
    ]
    return cast("list[IServable]", bases)
