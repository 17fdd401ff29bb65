"""The OpenAI side: the Assistants REST API (assistants, threads, messages, runs) under ``/v1``,
and beside it the Responses API (:mod:`._responses`).

A pure request handler over the shared core state: bad input is always a 4xx with the spec's
error object, never a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

from runbind_generated.openai import (
    CreateAssistantRequest,
    CreateMessageRequest,
    CreateRunRequest,
    CreateThreadAndRunRequest,
    CreateThreadRequest,
    DeleteAssistantResponse,
    DeleteMessageResponse,
    DeleteThreadResponse,
    ListAssistantsResponse,
    ListMessagesResponse,
    ListRunsResponse,
    ListRunStepsResponse,
    ModifyAssistantRequest,
    ModifyMessageRequest,
    ModifyRunRequest,
    ModifyThreadRequest,
    SubmitToolOutputsRunRequest,
)

from .._core.errors import SpecVersionError
from .._core.status import RunStatus
from . import _engine
from ._http import EventStream, Request, Response
from ._openai_objects import (
    Extras,
    Json,
    OpenAIRenderer,
    View,
    assistant_object,
    dump,
    echo,
    frames,
    message_object,
    plain,
    resources,
    run_object,
    step_object,
    stopped,
    thread_object,
    view,
)
from ._openai_requests import (
    ApiError,
    bad,
    check_include,
    check_metadata,
    check_resources,
    content,
    error_body,
    functions,
    list_response,
    missing,
    page,
    parse_body,
    script,
)
from ._responses import ResponsesApp
from ._state import Assistant, Call, CoreMessage, CoreRun, Store, Thread, new_id, now

__all__ = ["OpenAIApp", "OpenAIRenderer", "error_body"]

_Handler = Callable[[Request, dict[str, str]], Awaitable[Response | EventStream]]

_MAX_RUN_TOOLS = 20  # RunObject.tools holds at most 20 (an assistant may have 128)
_SUBMIT_SETTLE = 5.0  # seconds a plain submit waits for the run to take the results
_CANCELLABLE = (RunStatus.QUEUED, RunStatus.IN_PROGRESS, RunStatus.REQUIRES_ACTION)


# --- the application --------------------------------------------------------------------------


class OpenAIApp:
    """The ``/v1`` Assistants API over one store; ``tasks`` collects the run tasks it starts."""

    def __init__(
        self, store: Store, tasks: set[asyncio.Task[None]], poll_after_ms: int | None = None
    ) -> None:
        self.store = store
        self.tasks = tasks
        self.poll_after_ms = poll_after_ms
        self._idempotent: dict[str, tuple[str, str, str]] = {}  # key -> run, thread, assistant
        self.renderer = OpenAIRenderer()
        self._extras: dict[str, Extras] = {}
        self._resources: dict[str, Json] = {}
        self._routes: list[tuple[tuple[str, ...], dict[str, _Handler]]] = [
            (("assistants",), {"GET": self._list_assistants, "POST": self._create_assistant}),
            (
                ("assistants", ":id"),
                {
                    "GET": self._get_assistant,
                    "POST": self._modify_assistant,
                    "DELETE": self._del_assistant,
                },
            ),
            (("threads",), {"POST": self._create_thread}),
            (("threads", "runs"), {"POST": self._create_thread_and_run}),
            (
                ("threads", ":thread"),
                {
                    "GET": self._get_thread,
                    "POST": self._modify_thread,
                    "DELETE": self._delete_thread,
                },
            ),
            (
                ("threads", ":thread", "messages"),
                {"GET": self._list_messages, "POST": self._create_message},
            ),
            (
                ("threads", ":thread", "messages", ":id"),
                {
                    "GET": self._get_message,
                    "POST": self._modify_message,
                    "DELETE": self._delete_message,
                },
            ),
            (("threads", ":thread", "runs"), {"GET": self._list_runs, "POST": self._create_run}),
            (("threads", ":thread", "runs", ":id"), {"GET": self._get_run, "POST": self._modify}),
            (("threads", ":thread", "runs", ":id", "cancel"), {"POST": self._cancel}),
            (("threads", ":thread", "runs", ":id", "submit_tool_outputs"), {"POST": self._submit}),
            (("threads", ":thread", "runs", ":id", "steps"), {"GET": self._list_steps}),
            (("threads", ":thread", "runs", ":id", "steps", ":step"), {"GET": self._get_step}),
        ]
        self.responses = ResponsesApp(tasks, poll_after_ms)
        self._routes += self.responses.routes()

    async def __call__(self, request: Request) -> Response | EventStream:
        """Answer one request (errors are the spec's error object with a 4xx status)."""
        try:
            handler, params = self._route(request)
            return await handler(request, params)
        except ApiError as exc:
            return exc.response()
        except SpecVersionError as exc:  # an API the spec version in use lacks (its models)
            return ApiError(404, str(exc)).response()

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
            raise ApiError(
                405, f"Method not allowed ({where}).", None, (("allow", ", ".join(allowed)),)
            )
        raise ApiError(404, f"Invalid URL ({where})")

    # lookups

    def _thread(self, thread_id: str) -> Thread:
        thread = self.store.threads.get(thread_id)
        if thread is None:
            missing("thread", thread_id)
        return thread

    def _assistant(self, assistant_id: str) -> Assistant:
        assistant = self.store.assistants.get(assistant_id)
        if assistant is None:
            missing("assistant", assistant_id)
        return assistant

    def _run(self, params: dict[str, str]) -> CoreRun:
        thread = self._thread(params["thread"])
        run = self.store.runs.get(params["id"])
        if run is None or run.thread_id != thread.id:
            missing("run", params["id"])
        return run

    def _message_json(self, message: CoreMessage) -> Json:
        run = self.store.runs.get(message.run_id) if message.run_id else None
        return message_object(message, run, self._extras.get(message.id))

    def _thread_json(self, thread: Thread) -> Json:
        return thread_object(thread, self._resources.get(thread.id))

    def _run_response(self, run: CoreRun) -> Response:
        """A run object, with the ``openai-poll-after-ms`` hint when the emulator gives one."""
        response = Response.json(200, run_object(run))
        if self.poll_after_ms is None:
            return response
        hint = ("openai-poll-after-ms", str(self.poll_after_ms))
        return Response(response.status, response.body, (*response.headers, hint))

    # assistants

    async def _create_assistant(self, request: Request, params: dict[str, str]) -> Response:
        body = await parse_body(CreateAssistantRequest, request.body)
        labels = check_metadata(body.metadata, "metadata")
        check_resources(body.tool_resources, "tool_resources")
        assistant = Assistant(
            id=new_id("asst_"),
            created_at=now(),
            name=body.name or "",
            model=str(plain(body.model)),
            instructions=body.instructions or "",
            functions=functions(body.tools),
            labels=labels,
            script=script(body.metadata, body.instructions),
            raw=body,
        )
        self.store.assistants.add(assistant.id, assistant)
        return Response.json(200, assistant_object(assistant))

    async def _get_assistant(self, request: Request, params: dict[str, str]) -> Response:
        return Response.json(200, assistant_object(self._assistant(params["id"])))

    async def _list_assistants(self, request: Request, params: dict[str, str]) -> Response:
        shown, more = page(self.store.assistants.values(), request.query, lambda a: a.id)
        return list_response(ListAssistantsResponse, [assistant_object(a) for a in shown], more)

    async def _modify_assistant(self, request: Request, params: dict[str, str]) -> Response:
        """Change the fields the body sets (``metadata`` replaced whole; null leaves it), checked
        as a create would be; the behaviour follows the new metadata and instructions."""
        assistant = self._assistant(params["id"])
        body = await parse_body(ModifyAssistantRequest, request.body)
        changes = plain(body)
        if body.metadata is None:
            changes.pop("metadata", None)
        labels = check_metadata(body.metadata, "metadata")
        raw = CreateAssistantRequest.model_validate({**plain(assistant.raw), **changes})
        behaviour = script(raw.metadata, raw.instructions)
        assistant.raw = raw
        assistant.name = raw.name or ""
        assistant.model = str(plain(raw.model))
        assistant.instructions = raw.instructions or ""
        assistant.functions = functions(raw.tools)
        assistant.script = behaviour
        if body.metadata is not None:
            assistant.labels = labels
        return Response.json(200, assistant_object(assistant))

    async def _del_assistant(self, request: Request, params: dict[str, str]) -> Response:
        assistant = self._assistant(params["id"])
        self.store.assistants.pop(assistant.id)
        data = {"id": assistant.id, "object": "assistant.deleted", "deleted": True}
        return Response.json(200, dump(DeleteAssistantResponse, data))

    # threads and messages

    def _new_message(
        self, thread_id: str, body: CreateMessageRequest, param: str
    ) -> tuple[CoreMessage, Extras]:
        labels = check_metadata(body.metadata, f"{param}metadata")
        text, parts = content(body.content, f"{param}content")
        message = CoreMessage(
            id=new_id("msg_"),
            thread_id=thread_id,
            role=body.role.value,
            text=text,
            created_at=now(),
            labels=labels,
        )
        return message, Extras(parts, plain(body.attachments or []))

    def _append(self, thread: Thread, messages: list[tuple[CoreMessage, Extras]]) -> None:
        for message, extras in messages:
            thread.messages.append(message)
            self._extras[message.id] = extras

    def _new_thread(self, body: CreateThreadRequest, param: str) -> Thread:
        """A thread with its first messages (everything checked before anything is stored)."""
        labels = check_metadata(body.metadata, f"{param}metadata")
        check_resources(body.tool_resources, f"{param}tool_resources")
        thread = Thread(id=new_id("thread_"), created_at=now(), labels=labels)
        messages = [
            self._new_message(thread.id, m, f"{param}messages[{i}].")
            for i, m in enumerate(body.messages or ())
        ]
        self.store.threads.add(thread.id, thread)
        self._resources[thread.id] = resources(body.tool_resources)
        self._append(thread, messages)
        return thread

    async def _create_thread(self, request: Request, params: dict[str, str]) -> Response:
        thread = self._new_thread(await parse_body(CreateThreadRequest, request.body), "")
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
        return Response.json(200, dump(DeleteThreadResponse, data))

    async def _modify_thread(self, request: Request, params: dict[str, str]) -> Response:
        """Replace the tool resources and metadata the body sets (a null metadata leaves it)."""
        thread = self._thread(params["thread"])
        body = await parse_body(ModifyThreadRequest, request.body)
        labels = check_metadata(body.metadata, "metadata")
        if "tool_resources" in body.model_fields_set:
            self._resources[thread.id] = resources(body.tool_resources)
        if body.metadata is not None:
            thread.labels = labels
        return Response.json(200, self._thread_json(thread))

    async def _create_message(self, request: Request, params: dict[str, str]) -> Response:
        thread = self._thread(params["thread"])
        body = await parse_body(CreateMessageRequest, request.body)
        active = self.store.active_run(thread.id)
        if active is not None:
            bad(f"Can't add messages to {thread.id} while a run {active.id} is active.")
        pair = self._new_message(thread.id, body, "")
        self._append(thread, [pair])
        return Response.json(200, self._message_json(pair[0]))

    async def _get_message(self, request: Request, params: dict[str, str]) -> Response:
        return Response.json(200, self._message_json(self._message(params)[1]))

    def _message(self, params: dict[str, str]) -> tuple[Thread, CoreMessage]:
        thread = self._thread(params["thread"])
        for message in thread.messages:
            if message.id == params["id"]:
                return thread, message
        missing("message", params["id"])

    async def _modify_message(self, request: Request, params: dict[str, str]) -> Response:
        """Replace a message's metadata (a null metadata leaves it)."""
        _thread, message = self._message(params)
        body = await parse_body(ModifyMessageRequest, request.body)
        if body.metadata is not None:
            message.labels = check_metadata(body.metadata, "metadata")
        return Response.json(200, self._message_json(message))

    async def _delete_message(self, request: Request, params: dict[str, str]) -> Response:
        """Remove a message; not the answer a run is still writing."""
        thread, message = self._message(params)
        run = self.store.runs.get(message.run_id) if message.run_id else None
        if run is not None and not run.status.is_finished:
            bad(f"Can't delete message {message.id} while its run {run.id} is active.")
        thread.messages.remove(message)
        self._extras.pop(message.id, None)
        data = {"id": message.id, "object": "thread.message.deleted", "deleted": True}
        return Response.json(200, dump(DeleteMessageResponse, data))

    async def _list_messages(self, request: Request, params: dict[str, str]) -> Response:
        thread = self._thread(params["thread"])
        run_id = request.query.get("run_id")
        items = [m for m in thread.messages if run_id is None or m.run_id == run_id]
        shown, more = page(items, request.query, lambda m: m.id)
        return list_response(ListMessagesResponse, [self._message_json(m) for m in shown], more)

    # runs

    def _start(
        self,
        thread: Thread,
        assistant: Assistant,
        body: CreateRunRequest | CreateThreadAndRunRequest,
        thread_event: Json | None = None,
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
            options={"request": body, "function_names": [f.name for f in functions(tools)]},
            labels=dict(body.metadata or {}),
        )
        run.options["openai"] = View(
            echo=echo(body, assistant), thread=thread, chunks=assistant.script.chunks
        )
        self.store.runs.add(run.id, run)
        self.renderer.created(run, thread_event)
        _engine.start(run, thread, assistant.script, self.renderer, self.tasks)
        return run

    @staticmethod
    def _check_run_tools(
        body: CreateRunRequest | CreateThreadAndRunRequest, assistant: Assistant
    ) -> None:
        """The run's tools (its own, else the assistant's) must fit a RunObject."""
        raw: CreateAssistantRequest = assistant.raw
        if body.tools is None and len(raw.tools) > _MAX_RUN_TOOLS:
            bad(
                f"The assistant has {len(raw.tools)} tools; a run takes at most {_MAX_RUN_TOOLS}: "
                "pass 'tools' to choose them.",
                "tools",
            )

    def _started(self, run: CoreRun, stream: bool | None) -> Response | EventStream:
        if stream:
            return EventStream(frames(run, 0))
        return self._run_response(run)

    def _replay(self, key: str | None, thread: Thread, body: CreateRunRequest) -> Response | None:
        """The answer to a create whose ``Idempotency-Key`` was seen before (None if it is new)."""
        if key is None or key not in self._idempotent:
            return None
        run_id, thread_id, assistant_id = self._idempotent[key]
        run = self.store.runs.get(run_id)
        if run is None or (thread_id, assistant_id) != (thread.id, body.assistant_id):
            raise ApiError(
                409, f"Idempotency-Key '{key}' was already used for a different request."
            )
        if body.stream:
            raise ApiError(
                409,
                f"Idempotency-Key '{key}' was already used for run {run_id}; a streaming create "
                "cannot be replayed: retrieve the run instead.",
            )
        return self._run_response(run)

    async def _create_run(self, request: Request, params: dict[str, str]) -> Response | EventStream:
        thread = self._thread(params["thread"])
        body = await parse_body(CreateRunRequest, request.body)
        check_include(request)
        key = request.headers.get("idempotency-key") or None
        replayed = self._replay(key, thread, body)
        if replayed is not None:
            return replayed
        assistant = self._assistant(body.assistant_id)
        active = self.store.active_run(thread.id)
        if active is not None:
            bad(f"Thread {thread.id} already has an active run {active.id}.")
        self._check_run_tools(body, assistant)
        check_metadata(body.metadata, "metadata")
        messages = [
            self._new_message(thread.id, m, f"additional_messages[{i}].")
            for i, m in enumerate(body.additional_messages or ())
        ]
        self._append(thread, messages)
        run = self._start(thread, assistant, body)
        if key is not None:
            self._idempotent[key] = (run.id, thread.id, assistant.id)
        return self._started(run, body.stream)

    async def _create_thread_and_run(
        self, request: Request, params: dict[str, str]
    ) -> Response | EventStream:
        body = await parse_body(CreateThreadAndRunRequest, request.body)
        assistant = self._assistant(body.assistant_id)
        self._check_run_tools(body, assistant)
        check_metadata(body.metadata, "metadata")
        thread = self._new_thread(body.thread or CreateThreadRequest.model_validate({}), "thread.")
        run = self._start(thread, assistant, body, self._thread_json(thread))
        return self._started(run, body.stream)

    async def _list_runs(self, request: Request, params: dict[str, str]) -> Response:
        thread = self._thread(params["thread"])
        shown, more = page(self.store.runs_of(thread.id), request.query, lambda r: r.id)
        return list_response(ListRunsResponse, [run_object(r) for r in shown], more)

    async def _get_run(self, request: Request, params: dict[str, str]) -> Response:
        return self._run_response(self._run(params))

    async def _modify(self, request: Request, params: dict[str, str]) -> Response:
        run = self._run(params)
        body = await parse_body(ModifyRunRequest, request.body)
        if body.metadata is not None:
            run.labels = check_metadata(body.metadata, "metadata")
        return self._run_response(run)

    async def _list_steps(self, request: Request, params: dict[str, str]) -> Response:
        run = self._run(params)
        check_include(request)
        shown, more = page(view(run).steps, request.query, lambda s: s.id)
        return list_response(ListRunStepsResponse, [step_object(run, s) for s in shown], more)

    async def _get_step(self, request: Request, params: dict[str, str]) -> Response:
        run = self._run(params)
        check_include(request)
        step = view(run).step(params["step"])
        if step is None:
            missing("run step", params["step"])
        return Response.json(200, step_object(run, step))

    async def _request_cancel(self, run: CoreRun) -> None:
        run.cancel_requested.set()
        run.status = RunStatus.CANCELLING
        self.renderer.status(run)
        await run.notify()

    async def _cancel(self, request: Request, params: dict[str, str]) -> Response:
        run = self._run(params)
        if run.status not in _CANCELLABLE:
            bad(f"Cannot cancel run with status '{run.status.value}'.")
        await self._request_cancel(run)
        return self._run_response(run)

    async def _submit(self, request: Request, params: dict[str, str]) -> Response | EventStream:
        run = self._run(params)
        body = await parse_body(SubmitToolOutputsRunRequest, request.body)
        step = view(run).open_tool_step()
        if step is not None and step.outputs is not None:
            bad(f"Tool outputs for run {run.id} were already submitted.")
        if not run.waiting_for_results or step is None:
            bad(f'Runs in status "{run.status.value}" do not accept tool outputs.')
        step.outputs = _outputs(body, run.calls)
        start = len(run.events)
        await _engine.submit(run, [(c.name, step.outputs[c.id]) for c in run.calls])
        if body.stream:
            return EventStream(frames(run, start))
        await _settle(run)
        return self._run_response(run)


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
            bad(f"Missing required parameter: '{param}'.", param)
        if item.tool_call_id not in expected or item.tool_call_id in got:
            how = "answered twice" if item.tool_call_id in got else "not a pending tool call"
            bad(f"Invalid tool_call_id '{item.tool_call_id}': {how}.", "tool_outputs")
        got[item.tool_call_id] = item.output or ""
    missing = [i for i in expected if i not in got]
    if missing:
        bad(f"Expected tool outputs for call_ids {expected}, got {list(got)}.", "tool_outputs")
    return got


async def _settle(run: CoreRun) -> None:
    """Wait (briefly) until the run has taken the submitted results, as OpenAI answers queued."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_SUBMIT_SETTLE), run.changed:
            await run.changed.wait_for(
                lambda: run.status is not RunStatus.REQUIRES_ACTION or stopped(run)
            )
