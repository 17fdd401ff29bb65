"""The Yandex side's gRPC services: RunService, ThreadService, MessageService and
AssistantService over grpclib, on the generated server bases.

They check each request (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, ...), change the core
state, start the scripted runs and answer with the messages of ``_yandex_objects``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

from betterproto2.grpclib import ServiceBase
from grpclib import GRPCError
from grpclib.const import Status
from runbind_generated.proto.google.protobuf import FieldMask
from runbind_generated.proto.yandex.cloud.ai.assistants import v1
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs, threads

from . import _engine
from ._script import Script, script_for
from ._state import Assistant, CoreMessage, CoreRun, FunctionSpec, Store, Thread, new_id, now
from ._yandex_endpoints import ApiEndpointService
from ._yandex_hooks import metadata_value
from ._yandex_objects import (
    YandexRenderer,
    assistant_object,
    copy,
    message_object,
    new_assistant,
    new_thread,
    run_object,
    thread_object,
)
from ._yandex_updates import update_assistant, update_thread

if TYPE_CHECKING:
    from grpclib._typing import IServable

__all__ = ["services"]

_Owned = TypeVar("_Owned", Assistant, Thread, CoreRun)
_DEFAULT_PAGE = 50
_MAX_PAGE = 1000


def _fail(status: Status, message: str) -> NoReturn:
    raise GRPCError(status, message)


def _required(value: str, field: str) -> str:
    if not value:
        _fail(Status.INVALID_ARGUMENT, f"{field} is required")
    return value


def _text_of(content: threads.MessageContent | None, field: str) -> str:
    if content is None or not content.content:
        _fail(Status.INVALID_ARGUMENT, f"{field} must have at least one part")
    return "\n".join(p.text.content for p in content.content if p.text is not None)


def _new_message(
    thread: Thread,
    data: threads.MessageData | threads.CreateMessageRequest,
    field: str,
    default_author_id: str = "",
) -> CoreMessage:
    """A message a client adds to a thread (``field`` names its content in errors); without an
    author id it is the thread's default author's."""
    author = data.author
    record: threads.Thread | None = thread.raw
    default = default_author_id or (record.default_message_author_id if record else "")
    return CoreMessage(
        id=new_id("fvtmsg"),
        thread_id=thread.id,
        role=author.role.lower() if author and author.role else "user",
        text=_text_of(data.content, field),
        created_at=now(),
        labels=dict(data.labels),
        author_id=author.id if author and author.id else default,
    )


def _token(order: int, item_id: str) -> str:
    return base64.b64encode(f"{order}@{item_id}".encode()).decode("ascii")


def _after(page_token: str) -> int:
    """The position a page token points after; INVALID_ARGUMENT when it is not one of ours."""
    try:
        order, _, item_id = base64.b64decode(page_token, validate=True).decode().partition("@")
        if not item_id or not order.isdigit():
            raise ValueError(page_token)
        return int(order)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        _fail(Status.INVALID_ARGUMENT, "page_token is not valid")


def _page(
    items: Sequence[Any], order: Mapping[str, int], page_size: int, page_token: str
) -> tuple[list[Any], str]:
    """One page of ``items`` (newest first) and the token of the page after it.

    As the service does, every page that has items ends with a token (a cursor past its last
    item); the page after the last item is empty and has none. Clients stop on either.
    """
    if page_size < 0 or page_size > _MAX_PAGE:
        _fail(Status.INVALID_ARGUMENT, f"page_size must be within 0..{_MAX_PAGE}")
    size = page_size or _DEFAULT_PAGE
    newest = sorted(items, key=lambda item: order.get(item.id, 0), reverse=True)
    if page_token:
        after = _after(page_token)
        newest = [item for item in newest if order.get(item.id, 0) < after]
    page = newest[:size]
    if not page:
        return page, ""
    last = page[-1].id
    return page, _token(order.get(last, 0), last)


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
        self.order: dict[str, int] = {}  # id -> creation order, for listings and page tokens
        self.versions: dict[str, list[v1.AssistantVersion]] = {}  # assistant id -> oldest first
        self.renderer = YandexRenderer()
        self._counter = itertools.count(1)

    def created(self, item_id: str) -> None:
        """Note that ``item_id`` was created now (listings are newest first)."""
        self.order[item_id] = next(self._counter)

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

    def events(
        self, run: CoreRun, start: int, stop: Callable[[], bool] = lambda: False
    ) -> AsyncIterator[runs.StreamEvent]:
        """The run's events from ``start`` on, live, until the run has finished (or ``stop()``)."""
        if start < 0:
            _fail(Status.INVALID_ARGUMENT, "events_start_idx must not be negative")
        return run.follow(start, lambda: run.task is None or run.task.done(), stop)

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
        key = metadata_value("idempotency-key")
        if key is not None and key in self.s.idempotent:
            known = self.s.store.runs.get(self.s.idempotent[key])
            same = (message.thread_id, message.assistant_id)
            if known is None or (known.thread_id, known.assistant_id) != same:
                _fail(
                    Status.ALREADY_EXISTS,
                    f"idempotency-key {key!r} was already used for a different request",
                )
            return run_object(known)
        assistant = self.s.assistant(message.assistant_id)
        thread = self.s.thread(message.thread_id)
        if self.s.store.active_run(thread.id) is not None:
            _fail(Status.FAILED_PRECONDITION, f"thread {thread.id} already has an active run")
        for index, data in enumerate(message.additional_messages):
            field = f"additional_messages[{index}].content"
            thread.messages.append(_new_message(thread, data, field))
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
        self.s.created(run.id)
        self.s.folders[run.id] = self.s.folders.get(assistant.id, "")
        if key is not None:
            self.s.idempotent[key] = run.id
        _engine.start(run, thread, assistant.script, self.s.renderer, self.s.tasks)
        return run_object(run)

    async def get(self, message: runs.GetRunRequest) -> runs.Run:
        """One run."""
        return run_object(self.s.run(message.run_id))

    async def get_last_by_thread(self, message: runs.GetLastRunByThreadRequest) -> runs.Run:
        """The newest run of a thread."""
        thread = self.s.thread(message.thread_id)
        found = self.s.store.runs_of(thread.id)
        if not found:
            _fail(Status.NOT_FOUND, f"thread {thread.id} has no runs")
        return run_object(found[-1])

    async def list(self, message: runs.ListRunsRequest) -> runs.ListRunsResponse:
        """Runs of a folder (all runs when no folder is given), newest first, paged."""
        items = self.s.in_folder(self.s.store.runs.values(), message.folder_id)
        page, token = _page(items, self.s.order, message.page_size, message.page_token)
        return runs.ListRunsResponse(runs=[run_object(r) for r in page], next_page_token=token)

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
    """Threads: create, get, update, list, delete."""

    def __init__(self, shared: _Services) -> None:
        self.s = shared

    async def create(self, message: threads.CreateThreadRequest) -> threads.Thread:
        """A new thread, optionally with first messages; the service's defaults filled in."""
        thread_id = new_id("fvtthr")
        try:
            record = new_thread(thread_id, message, new_id("fvtusr"))
        except ValueError as exc:
            _fail(Status.INVALID_ARGUMENT, str(exc))
        thread = Thread(
            id=thread_id, created_at=now(), name=message.name, labels=dict(message.labels)
        )
        thread.raw = record
        for index, data in enumerate(message.messages):
            thread.messages.append(_new_message(thread, data, f"messages[{index}].content"))
        self.s.store.threads.add(thread.id, thread)
        self.s.created(thread.id)
        self.s.folders[thread.id] = message.folder_id
        return thread_object(thread)

    async def get(self, message: threads.GetThreadRequest) -> threads.Thread:
        """One thread."""
        return thread_object(self.s.thread(message.thread_id))

    async def update(self, message: threads.UpdateThreadRequest) -> threads.Thread:
        """Change the fields ``update_mask`` names (the others are kept)."""
        thread = self.s.thread(message.thread_id)
        try:
            record, _ = update_thread(thread.raw, message)
        except ValueError as exc:
            _fail(Status.INVALID_ARGUMENT, str(exc))
        thread.raw, thread.name, thread.labels = record, record.name, dict(record.labels)
        return thread_object(thread)

    async def list(self, message: threads.ListThreadsRequest) -> threads.ListThreadsResponse:
        """Threads of a folder, newest first, paged."""
        items = self.s.in_folder(self.s.store.threads.values(), message.folder_id)
        page, token = _page(items, self.s.order, message.page_size, message.page_token)
        return threads.ListThreadsResponse(
            threads=[thread_object(t) for t in page], next_page_token=token
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
        core = _new_message(thread, message, "content")
        thread.messages.append(core)
        return message_object(core)

    async def get(self, message: threads.GetMessageRequest) -> threads.Message:
        """One message of a thread."""
        thread = self.s.thread(message.thread_id)
        _required(message.message_id, "message_id")
        for core in thread.messages:
            if core.id == message.message_id:
                return message_object(core)
        _fail(Status.NOT_FOUND, f"message {message.message_id} not found")

    async def list(self, message: threads.ListMessagesRequest) -> AsyncIterator[threads.Message]:
        """Every message of a thread, newest first (the proto's default order)."""
        thread = self.s.thread(message.thread_id)
        for core in reversed(thread.messages):
            yield message_object(core)


class AssistantService(v1.AssistantServiceBase):
    """Assistants: create, get, update, list, versions, delete; the ``emulator`` label (or the
    instruction) picks the behaviour."""

    def __init__(self, shared: _Services) -> None:
        self.s = shared

    def _apply(self, assistant: Assistant, record: v1.Assistant, paths: list[str]) -> None:
        """Make ``record`` the assistant's current version (its behaviour follows it)."""
        try:
            script = script_for(record.labels, record.instruction)
        except ValueError as exc:
            _fail(Status.INVALID_ARGUMENT, f"labels.emulator: {exc}")
        assistant.raw, assistant.script = record, script
        assistant.name, assistant.instructions = record.name, record.instruction
        assistant.model = record.model_uri
        assistant.functions = _functions(record.tools)
        assistant.labels = dict(record.labels)
        version = v1.AssistantVersion(
            id=new_id("fvtver"),
            update_mask=FieldMask(paths=paths),
            assistant=copy(record),
        )
        self.s.versions.setdefault(assistant.id, []).append(version)
        self.s.created(version.id)

    async def create(self, message: v1.CreateAssistantRequest) -> v1.Assistant:
        """A new assistant with the service's defaults; a bad ``emulator`` label or instruction
        is INVALID_ARGUMENT."""
        assistant_id = new_id("fvtasst")
        try:
            record = new_assistant(assistant_id, message)
        except ValueError as exc:
            _fail(Status.INVALID_ARGUMENT, str(exc))
        assistant = Assistant(
            id=assistant_id,
            created_at=now(),
            name=record.name,
            model=record.model_uri,
            instructions=record.instruction,
            functions=[],
            labels={},
            script=Script(),
        )
        self._apply(assistant, record, [])
        self.s.store.assistants.add(assistant.id, assistant)
        self.s.created(assistant.id)
        self.s.folders[assistant.id] = message.folder_id
        return assistant_object(assistant)

    async def get(self, message: v1.GetAssistantRequest) -> v1.Assistant:
        """One assistant."""
        return assistant_object(self.s.assistant(message.assistant_id))

    async def update(self, message: v1.UpdateAssistantRequest) -> v1.Assistant:
        """Change the fields ``update_mask`` names (the others are kept); a new version."""
        assistant = self.s.assistant(message.assistant_id)
        try:
            record, paths = update_assistant(assistant.raw, message)
        except ValueError as exc:
            _fail(Status.INVALID_ARGUMENT, str(exc))
        self._apply(assistant, record, paths)
        return assistant_object(assistant)

    async def list(self, message: v1.ListAssistantsRequest) -> v1.ListAssistantsResponse:
        """Assistants of a folder, newest first, paged."""
        items = self.s.in_folder(self.s.store.assistants.values(), message.folder_id)
        page, token = _page(items, self.s.order, message.page_size, message.page_token)
        return v1.ListAssistantsResponse(
            assistants=[assistant_object(a) for a in page], next_page_token=token
        )

    async def list_versions(
        self, message: v1.ListAssistantVersionsRequest
    ) -> v1.ListAssistantVersionsResponse:
        """The assistant's versions (one per create and update), newest first, paged."""
        assistant = self.s.assistant(message.assistant_id)
        versions = self.s.versions.get(assistant.id, [])
        page, token = _page(versions, self.s.order, message.page_size, message.page_token)
        return v1.ListAssistantVersionsResponse(
            versions=[copy(v) for v in page], next_page_token=token
        )

    async def delete(self, message: v1.DeleteAssistantRequest) -> v1.DeleteAssistantResponse:
        """Forget an assistant (and its versions)."""
        assistant = self.s.assistant(message.assistant_id)
        self.s.store.assistants.pop(assistant.id)
        self.s.versions.pop(assistant.id, None)
        return v1.DeleteAssistantResponse()


def services(
    store: Store, tasks: set[asyncio.Task[None]], address: Callable[[], str] | None = None
) -> list[IServable]:
    """The four services over one store; ``tasks`` collects the run tasks they start. With
    ``address`` (the emulator's ``host:port``, asked when needed), endpoint discovery too."""
    shared = _Services(store, tasks)
    bases: list[ServiceBase] = [
        RunService(shared),
        ThreadService(shared),
        MessageService(shared),
        AssistantService(shared),
    ]
    if address is not None:
        bases.append(ApiEndpointService(address))
    return cast("list[IServable]", bases)
