"""``AsyncRuns``: runs of the OpenAI Assistants API over httpx, streams as server-sent events."""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, cast, overload

import httpx
from runbind_generated.openai import AssistantStreamEvent, RunObject

from .._core.client_base import STREAM_IDLE_TIMEOUT, ClientBase, Cursors, start_index
from .._core.credentials import Secret, guard, guard_stream, guarded
from .._core.errors import DecodeError, InvalidArgumentError, NotFoundError
from .._core.models import FunctionResultDict
from .._core.observe import RequestHook, ResponseHook
from .._core.paging import AsyncRunList, RunPage
from .._core.polling import wait_for
from .._core.results import to_openai_tool_outputs
from .._core.retry import DEFAULT_TIMEOUT, Deadline, RetryPolicy
from .._core.run import Run, RunResult, RunStreamEvent
from .._core.status import RunStatus
from .._core.stream import AsyncRunStream, Pulse
from ._client import Options
from ._events import OpenAIEvents, Resume, first_key, state
from ._http import Json
from ._requests import FormatInput, MessageInput, ToolInput, TruncationInput, create_body
from ._transport import poll_hint

__all__ = ["AsyncRuns"]

RunRef = Run | RunStreamEvent | str

_MAX_BODY = 64 * 1024 * 1024


class AsyncRuns(ClientBase):
    """Runs of the OpenAI Assistants API (asyncio).

    The key comes from ``api_key``, else ``OPENAI_API_KEY`` (sent as a bearer token), or from
    an ``Authorization`` or ``api-key`` (Azure) header in ``default_headers``; ``base_url`` from
    the argument, else ``OPENAI_BASE_URL``, else the OpenAI API. A query in ``base_url`` (such
    as Azure's ``?api-version=``) and ``default_query`` go with every request, and so do
    ``default_headers``. Environment proxies (``HTTPS_PROXY``, ``NO_PROXY``...) are honoured
    unless ``trust_env`` is False. ``http_client``, your own ``httpx.AsyncClient``, is used as
    it is (its proxy, limits, TLS and event hooks) and never closed by runbind. TLS
    certificates are verified unless ``verify`` says otherwise (which is logged).
    ``on_request`` and ``on_response`` (functions or coroutine functions) see every request,
    retries included, for metrics and tracing.

    A call takes at most ``timeout`` seconds in total, retries included (the client's
    ``timeout`` unless the call passes its own). A stream is bounded by the ``timeout`` its
    call passes, if any; otherwise it fails only when the server has sent nothing for
    ``stream_idle_timeout`` seconds.
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
            blocking="Runs",
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
        )
        self._cursors: Cursors[Resume] = Cursors()
        self._events = OpenAIEvents(self._http, self._cursors)

    def __repr__(self) -> str:
        return f"AsyncRuns(base_url={self.base_url!r}, auth={self._options.auth})"

    @property
    def _secrets(self) -> tuple[Secret | None, ...]:
        """What errors leaving this client must not show (a server may echo the key)."""
        return self._options.secrets

    def _ref(self, run: RunRef, thread_id: str | None) -> tuple[str, str]:
        """``(thread id, run id)`` of a run given as a Run, an event carrying one, or an id."""
        if isinstance(run, RunStreamEvent):
            if run.run is None:
                raise InvalidArgumentError("this stream event carries no run; pass the run")
            run = run.run
        if isinstance(run, Run):
            return run.thread_id, run.id
        if not isinstance(run, str) or not run:
            raise InvalidArgumentError(f"expected a Run or a run id, got {type(run).__name__}")
        if not thread_id:
            raise InvalidArgumentError("an OpenAI run id needs its thread_id")
        return thread_id, run

    # calls

    @overload
    async def create(
        self,
        assistant_id: str,
        thread_id: str,
        *,
        labels: Mapping[str, str] | None = ...,
        additional_messages: Sequence[MessageInput] = ...,
        custom_temperature: float | None = ...,
        custom_max_tokens: int | None = ...,
        custom_prompt_truncation_options: TruncationInput | None = ...,
        custom_tools: Sequence[ToolInput] | None = ...,
        custom_response_format: FormatInput | None = ...,
        stream: Literal[False] = ...,
        idempotency_key: str | None = ...,
        timeout: float | None = ...,
    ) -> Run[RunObject]: ...

    @overload
    async def create(
        self,
        assistant_id: str,
        thread_id: str,
        *,
        labels: Mapping[str, str] | None = ...,
        additional_messages: Sequence[MessageInput] = ...,
        custom_temperature: float | None = ...,
        custom_max_tokens: int | None = ...,
        custom_prompt_truncation_options: TruncationInput | None = ...,
        custom_tools: Sequence[ToolInput] | None = ...,
        custom_response_format: FormatInput | None = ...,
        stream: Literal[True],
        idempotency_key: str | None = ...,
        timeout: float | None = ...,
    ) -> AsyncRunStream[AssistantStreamEvent, RunObject]: ...

    @overload
    async def create(
        self,
        assistant_id: str,
        thread_id: str,
        *,
        labels: Mapping[str, str] | None = ...,
        additional_messages: Sequence[MessageInput] = ...,
        custom_temperature: float | None = ...,
        custom_max_tokens: int | None = ...,
        custom_prompt_truncation_options: TruncationInput | None = ...,
        custom_tools: Sequence[ToolInput] | None = ...,
        custom_response_format: FormatInput | None = ...,
        stream: bool,
        idempotency_key: str | None = ...,
        timeout: float | None = ...,
    ) -> Run[RunObject] | AsyncRunStream[AssistantStreamEvent, RunObject]: ...

    @guarded
    async def create(
        self,
        assistant_id: str,
        thread_id: str,
        *,
        labels: Mapping[str, str] | None = None,
        additional_messages: Sequence[MessageInput] = (),
        custom_temperature: float | None = None,
        custom_max_tokens: int | None = None,
        custom_prompt_truncation_options: TruncationInput | None = None,
        custom_tools: Sequence[ToolInput] | None = None,
        custom_response_format: FormatInput | None = None,
        stream: bool = False,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> Run[RunObject] | AsyncRunStream[AssistantStreamEvent, RunObject]:
        """Start a run of ``assistant_id`` on ``thread_id``; with ``stream`` its event stream.

        ``custom_*`` override the assistant's settings (temperature, max_completion_tokens,
        truncation, tools, response_format). A plain create is retried only when
        ``idempotency_key`` is given; a streaming one is never retried, but once the run exists
        a dropped stream goes on by polling.
        """
        if not isinstance(thread_id, str) or not thread_id:
            raise InvalidArgumentError("thread_id must be a non-empty string")
        body = create_body(
            assistant_id,
            labels=labels,
            additional_messages=additional_messages,
            custom_temperature=custom_temperature,
            custom_max_tokens=custom_max_tokens,
            custom_prompt_truncation_options=custom_prompt_truncation_options,
            custom_tools=custom_tools,
            custom_response_format=custom_response_format,
            stream=stream,
        )
        url = self._http.url("threads", thread_id, "runs")
        if stream:
            pulse = Pulse(self.stream_idle_timeout, "openai create")
            events = self._events.sse(
                "create",
                url,
                body,
                self._stream_deadline(timeout),
                Resume(0),
                thread_id,
                idempotency_key,
                pulse,
            )
            return AsyncRunStream(None, guard_stream(events, self._secrets), pulse)
        data, _ = await self._http.request(
            "create",
            "POST",
            url,
            self._deadline(timeout),
            body=body,
            retry=idempotency_key is not None,
            idempotency_key=idempotency_key,
        )
        return Run.from_openai(data)

    @guarded
    async def get(
        self, run: RunRef, *, thread_id: str | None = None, timeout: float | None = None
    ) -> Run[RunObject]:
        """The run as it is now (a run id needs its ``thread_id``)."""
        return (await self._get(run, thread_id, self._deadline(timeout)))[0]

    async def _get(
        self, run: RunRef, thread_id: str | None, deadline: Deadline
    ) -> tuple[Run[RunObject], float | None]:
        thread, run_id = self._ref(run, thread_id)
        url = self._http.url("threads", thread, "runs", run_id)
        data, response = await self._http.request("get", "GET", url, deadline)
        return Run.from_openai(data), poll_hint(response)

    @guarded
    async def get_last_by_thread(
        self, thread_id: str, *, timeout: float | None = None
    ) -> Run[RunObject]:
        """The thread's most recent run (a one-item, newest-first listing)."""
        if not isinstance(thread_id, str) or not thread_id:
            raise InvalidArgumentError("thread_id must be a non-empty string")
        data, _ = await self._http.request(
            "get_last_by_thread",
            "GET",
            self._http.url("threads", thread_id, "runs"),
            self._deadline(timeout),
            params={"limit": "1", "order": "desc"},
        )
        items = first_key(data)
        if not isinstance(items, list) or not items:
            # As the Yandex service answers (NOT_FOUND), and as a 404 would.
            raise NotFoundError("openai", None, f"thread {thread_id} has no runs", status_code=404)
        return Run.from_openai(items[0])

    def list(
        self,
        thread_id: str,
        *,
        page_size: int = 20,
        page_token: str | None = None,
        timeout: float | None = None,
    ) -> AsyncRunList[RunObject]:
        """Runs of the thread, newest first, fetched ``page_size`` (1..100) at a time.

        ``timeout`` bounds each page's fetch. Resume with the listing's ``next_page_token``
        (the id of the last run fetched).
        """
        if not isinstance(thread_id, str) or not thread_id:
            raise InvalidArgumentError("thread_id must be a non-empty string")
        if isinstance(page_size, bool) or not isinstance(page_size, int):
            raise InvalidArgumentError(f"page_size must be an int, got {page_size!r}")
        if not 1 <= page_size <= 100:
            raise InvalidArgumentError(f"page_size must be within 1..100, got {page_size}")
        url = self._http.url("threads", thread_id, "runs")

        async def fetch(token: str | None) -> RunPage[RunObject]:
            params = {"limit": str(page_size), "order": "desc"}
            if token:
                params["after"] = token
            data, _ = await self._http.request(
                "list", "GET", url, self._deadline(timeout), params=params
            )
            items = first_key(data)
            if not isinstance(items, list):
                raise DecodeError("openai", "ListRunsResponse", "data", "not a list")
            found = tuple(Run.from_openai(item) for item in items)
            more = isinstance(data, dict) and data.get("has_more") is True and found
            return RunPage(found, found[-1].id if more else None)

        return AsyncRunList(guard(fetch, self._secrets), page_token)

    def listen(
        self,
        run: RunRef,
        *,
        thread_id: str | None = None,
        events_start_idx: int = 0,
        timeout: float | None = None,
    ) -> AsyncRunStream[AssistantStreamEvent, RunObject]:
        """The run's events by polling, until it finishes or asks for tool results.

        OpenAI keeps no event log to replay: this yields one run event per status change seen,
        the answer message once it completes, then ``done``, numbered from
        ``events_start_idx``. A ``timeout`` bounds the whole stream; without one, each poll's
        answer counts as a sign of life for the idle timeout.
        """
        thread, run_id = self._ref(run, thread_id)
        resume = Resume(start_index(events_start_idx))
        pulse = Pulse(self.stream_idle_timeout, "openai listen")
        events = self._events.poll(thread, run_id, resume, self._stream_deadline(timeout), pulse)
        return AsyncRunStream(_given(run), guard_stream(events, self._secrets), pulse)

    @overload
    async def submit_tool_results(
        self,
        run: RunRef,
        results: Iterable[FunctionResultDict],
        *,
        thread_id: str | None = ...,
        stream: Literal[False] = ...,
        events_start_idx: int | None = ...,
        idempotency_key: str | None = ...,
        timeout: float | None = ...,
    ) -> Run[RunObject]: ...

    @overload
    async def submit_tool_results(
        self,
        run: RunRef,
        results: Iterable[FunctionResultDict],
        *,
        thread_id: str | None = ...,
        stream: Literal[True],
        events_start_idx: int | None = ...,
        idempotency_key: str | None = ...,
        timeout: float | None = ...,
    ) -> AsyncRunStream[AssistantStreamEvent, RunObject]: ...

    @overload
    async def submit_tool_results(
        self,
        run: RunRef,
        results: Iterable[FunctionResultDict],
        *,
        thread_id: str | None = ...,
        stream: bool,
        events_start_idx: int | None = ...,
        idempotency_key: str | None = ...,
        timeout: float | None = ...,
    ) -> Run[RunObject] | AsyncRunStream[AssistantStreamEvent, RunObject]: ...

    @guarded
    async def submit_tool_results(
        self,
        run: RunRef,
        results: Iterable[FunctionResultDict],
        *,
        thread_id: str | None = None,
        stream: bool = False,
        events_start_idx: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> Run[RunObject] | AsyncRunStream[AssistantStreamEvent, RunObject]:
        """Send the outputs of the run's tool calls; the run, or with ``stream`` its events.

        Stream events are numbered on from ``events_start_idx``, by default after the last
        event this client yielded for the run. Retried only with an ``idempotency_key``.
        """
        thread, run_id = self._ref(run, thread_id)
        body: Json = to_openai_tool_outputs(results, stream=stream or None).model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        url = self._http.url("threads", thread, "runs", run_id, "submit_tool_outputs")
        if not stream:
            data, _ = await self._http.request(
                "submit_tool_results",
                "POST",
                url,
                self._deadline(timeout),
                body=body,
                retry=idempotency_key is not None,
                idempotency_key=idempotency_key,
            )
            return Run.from_openai(data)
        seen = self._cursors.get(run_id)
        resume = Resume(seen.index if seen is not None else 0)
        if seen is not None:
            resume.messages = set(seen.messages)
        if events_start_idx is not None:
            resume.index = start_index(events_start_idx)
        resume.run_id = run_id
        if isinstance(run, Run):
            resume.status = state(run)
        elif seen is None or seen.status is None or not seen.status.startswith("requires_action"):
            resume.status = "requires_action"
        else:
            resume.status = seen.status
        pulse = Pulse(self.stream_idle_timeout, "openai submit_tool_results")
        events = self._events.sse(
            "submit_tool_results",
            url,
            body,
            self._stream_deadline(timeout),
            resume,
            thread,
            idempotency_key,
            pulse,
        )
        return AsyncRunStream(_given(run), guard_stream(events, self._secrets), pulse)

    @guarded
    async def cancel(
        self, run: RunRef, *, thread_id: str | None = None, timeout: float | None = None
    ) -> Run[RunObject]:
        """Ask the service to cancel the run; the run, now cancelling (or already ended)."""
        thread, run_id = self._ref(run, thread_id)
        url = self._http.url("threads", thread, "runs", run_id, "cancel")
        data, _ = await self._http.request(
            "cancel", "POST", url, self._deadline(timeout), retry=False
        )
        return Run.from_openai(data)

    @guarded
    async def get_status(
        self, run: RunRef, *, thread_id: str | None = None, timeout: float | None = None
    ) -> RunStatus:
        """The run's current status."""
        return (await self.get(run, thread_id=thread_id, timeout=timeout)).status

    @guarded
    async def get_result(
        self, run: RunRef, *, thread_id: str | None = None, timeout: float | None = None
    ) -> RunResult[RunObject]:
        """The run's current result, with its answer message once it has one."""
        deadline = self._deadline(timeout)
        found, _ = await self._get(run, thread_id, deadline)
        return await self._result(found, deadline)

    async def _result(self, run: Run[RunObject], deadline: Deadline) -> RunResult[RunObject]:
        if run.status not in (RunStatus.COMPLETED, RunStatus.INCOMPLETE):
            return run.result()
        message = await self._events.answer(run.thread_id, run.id, deadline)
        return RunResult.from_openai(run.raw, message)

    @guarded
    async def wait(
        self,
        run: RunRef,
        *,
        thread_id: str | None = None,
        timeout: float | None = None,
        poll_interval: float = 0.5,
    ) -> RunResult[RunObject]:
        """Poll until the run finishes or asks for tool outputs; its result.

        ``timeout`` is one deadline for the whole wait; the server's ``openai-poll-after-ms``
        hint is honoured. At the deadline :class:`RunTimeoutError` carries the last run seen.
        """
        thread, run_id = self._ref(run, thread_id)

        async def poll(deadline: Deadline) -> tuple[Run[RunObject], float | None]:
            return await self._get(run_id, thread, deadline)

        return await wait_for(
            poll,
            self._result,
            timeout=self._deadline(timeout).timeout,
            poll_interval=poll_interval,
            secrets=self._secrets,
        )

    async def close(self) -> None:
        """Close the connection pool (calls after this open a new one)."""
        await self._http.aclose()


def _given(run: RunRef) -> Run[RunObject] | None:
    """The run a stream starts from: ``run`` when the caller gave a Run (this client's runs hold
    a ``RunObject`` as ``raw``), else none yet."""
    return cast("Run[RunObject]", run) if isinstance(run, Run) else None
