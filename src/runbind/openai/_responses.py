"""``AsyncResponses``: background responses of the OpenAI Responses API as runs, over httpx.

The Assistants API's run lifecycle lives on in the Responses API as *background responses*:
create with ``background: true``, poll ``GET /responses/{id}``, resume a stream with
``starting_after``, cancel. A response that asks for function calls completes; the calls'
outputs go into a new response linked by ``previous_response_id``. Here a response is a
:class:`Run` (``requires_action`` while its calls wait for outputs) and a tool loop a chain of
runs (``Run.previous_run_id``).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, cast, overload

import httpx
from runbind_generated.openai import Response, ResponseStreamEvent

from .._core.client_base import STREAM_IDLE_TIMEOUT, ClientBase, run_id_of, start_index
from .._core.credentials import Secret, guard_stream, guarded
from .._core.errors import InvalidArgumentError
from .._core.models import FunctionResultDict
from .._core.observe import RequestHook, ResponseHook
from .._core.polling import wait_for
from .._core.retry import DEFAULT_TIMEOUT, Deadline, RetryPolicy
from .._core.run import Run, RunResult, RunStreamEvent
from .._core.seam import adapter
from .._core.status import RunStatus
from .._core.stream import AsyncRunStream, Pulse
from ._client import Options
from ._http import Json
from ._responses_events import ResponseStreams
from ._responses_requests import InputArg, ResponseToolInput, response_body
from ._transport import poll_hint

__all__ = ["AsyncResponses", "ResponseRef"]

ResponseRef = Run | RunStreamEvent | str
"""A response given as a :class:`Run`, a stream event carrying one, or its id."""

_MAX_BODY = 64 * 1024 * 1024


class AsyncResponses(ClientBase):
    """Background responses of the OpenAI Responses API, as runs (asyncio).

    The same connection options as :class:`AsyncRuns` (``base_url`` for any OpenAI-compatible
    server; the key from ``api_key``, ``OPENAI_API_KEY`` or a credential header; default headers
    and query, Azure's ``api-key``, your own ``httpx.AsyncClient``, hooks, retries, timeouts),
    and the same calls where the API allows: ``create``, ``get``, ``get_status``,
    ``get_result``, ``listen``, ``submit_tool_results``, ``cancel`` and ``wait``.

    A response is a :class:`Run` of ``Response``: ``status`` maps its status, and a completed
    response whose function calls have no outputs yet ``requires_action`` (``tool_calls``
    filled, ``status_raw`` still ``"completed"``). Its answer is its ``completed_message``.
    Stream events are numbered by their ``sequence_number``; a stream that drops resumes after
    the last one delivered, nothing lost and nothing repeated (a background response's only:
    a foreground one cannot be streamed again).
    """

    base_url: str
    """The API base URL the client talks to."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        verify: bool | ssl.SSLContext = True,
        retry: RetryPolicy | None = None,
        max_response_size: int = _MAX_BODY,
        on_request: RequestHook | None = None,
        on_response: ResponseHook | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        stream_idle_timeout: float | None = STREAM_IDLE_TIMEOUT,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        trust_env: bool = True,
    ) -> None:
        options = Options(
            base_url=base_url,
            api_key=api_key,
            verify=verify,
            default_headers=default_headers,
            http_client=http_client,
            blocking="Responses",
        )
        self.base_url = options.base_url
        self._options = options
        super().__init__(retry, timeout, stream_idle_timeout)
        self._http = options.open(
            self,
            max_response_size=max_response_size,
            on_request=on_request,
            on_response=on_response,
            default_query=default_query,
            trust_env=trust_env,
            assistants=False,
        )
        self._streams = ResponseStreams(self._http, lambda: self.retry)

    def __repr__(self) -> str:
        return f"AsyncResponses(base_url={self.base_url!r}, auth={self._options.auth})"

    @property
    def _secrets(self) -> tuple[Secret | None, ...]:
        """What errors leaving this client must not show (a server may echo the key)."""
        return self._options.secrets

    def _stream(
        self,
        what: str,
        given: ResponseRef | None,
        timeout: float | None,
        *,
        response_id: str | None = None,
        after: int | None = None,
        create: Json | None = None,
        idempotency_key: str | None = None,
        resumable: bool = True,
    ) -> AsyncRunStream[ResponseStreamEvent, Response]:
        pulse = Pulse(self.stream_idle_timeout, f"openai {what}")
        events = self._streams.events(
            what,
            deadline=self._stream_deadline(timeout),
            pulse=pulse,
            response_id=response_id,
            after=after,
            create=create,
            idempotency_key=idempotency_key,
            resumable=resumable,
        )
        return AsyncRunStream(_given(given), guard_stream(events, self._secrets), pulse)

    async def _post(self, what: str, body: Json, deadline: Deadline, key: str | None) -> Json:
        data, _ = await self._http.request(
            what,
            "POST",
            self._http.url("responses"),
            deadline,
            body=body,
            retry=key is not None,
            idempotency_key=key,
        )
        return cast("Json", data)

    # calls

    @overload
    async def create(
        self,
        model: str,
        input: InputArg | None = ...,
        *,
        instructions: str | None = ...,
        tools: Sequence[ResponseToolInput] | None = ...,
        previous_run_id: str | None = ...,
        labels: Mapping[str, str] | None = ...,
        temperature: float | None = ...,
        max_output_tokens: int | None = ...,
        background: bool = ...,
        stream: Literal[False] = ...,
        extra_body: Mapping[str, object] | None = ...,
        idempotency_key: str | None = ...,
        timeout: float | None = ...,
    ) -> Run[Response]: ...

    @overload
    async def create(
        self,
        model: str,
        input: InputArg | None = ...,
        *,
        instructions: str | None = ...,
        tools: Sequence[ResponseToolInput] | None = ...,
        previous_run_id: str | None = ...,
        labels: Mapping[str, str] | None = ...,
        temperature: float | None = ...,
        max_output_tokens: int | None = ...,
        background: bool = ...,
        stream: Literal[True],
        extra_body: Mapping[str, object] | None = ...,
        idempotency_key: str | None = ...,
        timeout: float | None = ...,
    ) -> AsyncRunStream[ResponseStreamEvent, Response]: ...

    @overload
    async def create(
        self,
        model: str,
        input: InputArg | None = ...,
        *,
        instructions: str | None = ...,
        tools: Sequence[ResponseToolInput] | None = ...,
        previous_run_id: str | None = ...,
        labels: Mapping[str, str] | None = ...,
        temperature: float | None = ...,
        max_output_tokens: int | None = ...,
        background: bool = ...,
        stream: bool,
        extra_body: Mapping[str, object] | None = ...,
        idempotency_key: str | None = ...,
        timeout: float | None = ...,
    ) -> Run[Response] | AsyncRunStream[ResponseStreamEvent, Response]: ...

    @guarded
    async def create(
        self,
        model: str,
        input: InputArg | None = None,
        *,
        instructions: str | None = None,
        tools: Sequence[ResponseToolInput] | None = None,
        previous_run_id: str | None = None,
        labels: Mapping[str, str] | None = None,
        temperature: float | None = None,
        max_output_tokens: int | None = None,
        background: bool = True,
        stream: bool = False,
        extra_body: Mapping[str, object] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> Run[Response] | AsyncRunStream[ResponseStreamEvent, Response]:
        """Start a response of ``model`` to ``input`` (a string, or a list of input items);
        the run, or with ``stream`` its events.

        ``background`` (the default) runs it on the server, to be polled, listened to again,
        resumed and cancelled; ``previous_run_id`` continues a conversation; ``labels`` is its
        metadata; ``extra_body`` carries any other property of the request body
        (``reasoning``, ``text``, ``tool_choice``...). A plain create is retried only with an
        ``idempotency_key``; a streaming one is not, but once the response exists a dropped
        stream resumes from its last event.
        """
        body = response_body(
            model,
            input,
            instructions=instructions,
            tools=tools,
            previous_response_id=previous_run_id,
            labels=labels,
            temperature=temperature,
            max_output_tokens=max_output_tokens,
            background=background,
            stream=stream,
            extra_body=extra_body,
        )
        if stream:
            return self._stream(
                "create",
                None,
                timeout,
                create=body,
                idempotency_key=idempotency_key,
                resumable=background,
            )
        data = await self._post("create", body, self._deadline(timeout), idempotency_key)
        return Run.from_openai_response(data)

    @guarded
    async def get(self, run: ResponseRef, *, timeout: float | None = None) -> Run[Response]:
        """The response as it is now."""
        return (await self._get(run_id_of(run), self._deadline(timeout)))[0]

    async def _get(
        self, response_id: str, deadline: Deadline
    ) -> tuple[Run[Response], float | None]:
        url = self._http.url("responses", response_id)
        data, response = await self._http.request("get", "GET", url, deadline)
        return Run.from_openai_response(data), poll_hint(response)

    def listen(
        self, run: ResponseRef, *, events_start_idx: int = 0, timeout: float | None = None
    ) -> AsyncRunStream[ResponseStreamEvent, Response]:
        """The events of a background response from ``events_start_idx`` (a sequence number)
        on, replayed from the server's log and then live, until it ends or asks for tool
        outputs. A dropped stream resumes after the last event delivered. A ``timeout`` bounds
        the whole stream; without one, each chunk counts as a sign of life for the idle
        timeout."""
        response_id = run_id_of(run)
        first = start_index(events_start_idx)
        return self._stream(
            "listen", run, timeout, response_id=response_id, after=first - 1 if first else None
        )

    @overload
    async def submit_tool_results(
        self,
        run: ResponseRef,
        results: Iterable[FunctionResultDict],
        *,
        model: str | None = ...,
        tools: Sequence[ResponseToolInput] | None = ...,
        instructions: str | None = ...,
        labels: Mapping[str, str] | None = ...,
        background: bool | None = ...,
        stream: Literal[False] = ...,
        extra_body: Mapping[str, object] | None = ...,
        idempotency_key: str | None = ...,
        timeout: float | None = ...,
    ) -> Run[Response]: ...

    @overload
    async def submit_tool_results(
        self,
        run: ResponseRef,
        results: Iterable[FunctionResultDict],
        *,
        model: str | None = ...,
        tools: Sequence[ResponseToolInput] | None = ...,
        instructions: str | None = ...,
        labels: Mapping[str, str] | None = ...,
        background: bool | None = ...,
        stream: Literal[True],
        extra_body: Mapping[str, object] | None = ...,
        idempotency_key: str | None = ...,
        timeout: float | None = ...,
    ) -> AsyncRunStream[ResponseStreamEvent, Response]: ...

    @overload
    async def submit_tool_results(
        self,
        run: ResponseRef,
        results: Iterable[FunctionResultDict],
        *,
        model: str | None = ...,
        tools: Sequence[ResponseToolInput] | None = ...,
        instructions: str | None = ...,
        labels: Mapping[str, str] | None = ...,
        background: bool | None = ...,
        stream: bool,
        extra_body: Mapping[str, object] | None = ...,
        idempotency_key: str | None = ...,
        timeout: float | None = ...,
    ) -> Run[Response] | AsyncRunStream[ResponseStreamEvent, Response]: ...

    @guarded
    async def submit_tool_results(
        self,
        run: ResponseRef,
        results: Iterable[FunctionResultDict],
        *,
        model: str | None = None,
        tools: Sequence[ResponseToolInput] | None = None,
        instructions: str | None = None,
        labels: Mapping[str, str] | None = None,
        background: bool | None = None,
        stream: bool = False,
        extra_body: Mapping[str, object] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> Run[Response] | AsyncRunStream[ResponseStreamEvent, Response]:
        """Answer the run's function calls (``ToolCall.result(...)`` dicts): a new response
        that continues it (``previous_response_id``) with one ``function_call_output`` per
        result. The new run, or with ``stream`` its events; its ``previous_run_id`` is this
        run's id.

        ``model``, ``tools``, ``instructions`` and ``background`` default to the run's (the API
        carries none of them over; a run given by id is fetched first). Retried only with an
        ``idempotency_key``.
        """
        deadline = self._deadline(timeout)
        outputs = adapter("openai_responses").tool_results(results)
        previous = _given(run)
        if previous is None:
            previous = (await self._get(run_id_of(run), deadline))[0]
        raw = previous.raw
        if tools is None:
            tools = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in raw.tools]
        if instructions is None:
            instructions = previous.instructions
        resumable = raw.background is not False if background is None else background
        body = response_body(
            model or previous.model or str(raw.model),
            outputs,
            instructions=instructions,
            tools=tools,
            previous_response_id=previous.id,
            labels=labels,
            temperature=None,
            max_output_tokens=None,
            background=resumable,
            stream=stream,
            extra_body=extra_body,
        )
        if stream:
            return self._stream(
                "submit_tool_results",
                None,
                timeout,
                create=body,
                idempotency_key=idempotency_key,
                resumable=resumable,
            )
        data = await self._post("submit_tool_results", body, deadline, idempotency_key)
        return Run.from_openai_response(data)

    @guarded
    async def cancel(self, run: ResponseRef, *, timeout: float | None = None) -> Run[Response]:
        """Ask the server to cancel a background response; the response (cancelled, or ended
        already)."""
        url = self._http.url("responses", run_id_of(run), "cancel")
        data, _ = await self._http.request(
            "cancel", "POST", url, self._deadline(timeout), retry=False
        )
        return Run.from_openai_response(data)

    @guarded
    async def get_status(self, run: ResponseRef, *, timeout: float | None = None) -> RunStatus:
        """The response's current status (``REQUIRES_ACTION`` while its calls wait)."""
        return (await self.get(run, timeout=timeout)).status

    @guarded
    async def get_result(
        self, run: ResponseRef, *, timeout: float | None = None
    ) -> RunResult[Response]:
        """The response's current result: its answer once it has one."""
        return (await self.get(run, timeout=timeout)).result()

    @guarded
    async def wait(
        self, run: ResponseRef, *, timeout: float | None = None, poll_interval: float = 0.5
    ) -> RunResult[Response]:
        """Poll until the response ends or asks for tool outputs; its result.

        ``timeout`` is one deadline for the whole wait; the server's ``openai-poll-after-ms``
        hint is honoured. A status this version does not know is polled on (with one warning)
        until the deadline, where :class:`RunTimeoutError` carries the last run seen.
        """
        response_id = run_id_of(run)

        async def poll(deadline: Deadline) -> tuple[Run[Response], float | None]:
            return await self._get(response_id, deadline)

        async def result(found: Run[Response], deadline: Deadline) -> RunResult[Response]:
            del deadline
            return found.result()

        return await wait_for(
            poll,
            result,
            timeout=self._deadline(timeout).timeout,
            poll_interval=poll_interval,
            secrets=self._secrets,
        )

    async def close(self) -> None:
        """Close the connection pool (calls after this open a new one)."""
        await self._http.aclose()


def _given(run: ResponseRef | None) -> Run[Response] | None:
    """The run ``run`` is or carries, when it holds a ``Response`` (this client's runs do)."""
    if isinstance(run, RunStreamEvent):
        run = run.run
    if isinstance(run, Run) and run.provider == "openai_responses":
        return cast("Run[Response]", run)
    if isinstance(run, Run):
        raise InvalidArgumentError(f"a {run.provider} run is not a response")
    return None
