"""``AsyncRuns``: runs of the OpenAI Assistants API over httpx, streams as server-sent events."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Self, overload
from urllib.parse import quote

import httpx

from .._core import jsonio
from .._core.credentials import Secret, from_env, guard, guard_stream, guarded
from .._core.errors import ApiError, DecodeError, InvalidArgumentError, RunTimeoutError
from .._core.models import FunctionResultDict
from .._core.paging import AsyncRunList, RunPage
from .._core.polling import wait_for
from .._core.results import to_openai_tool_outputs
from .._core.retry import DEFAULT_TIMEOUT, Deadline, RetryPolicy, Transient, call
from .._core.run import Run, RunResult, RunStreamEvent
from .._core.status import RunStatus
from .._core.stream import AsyncRunStream
from ._content import body_pieces
from ._requests import FormatInput, MessageInput, ToolInput, TruncationInput, create_body
from ._sse import parse_events
from ._transport import (
    DEFAULT_BASE_URL,
    check_base_url,
    check_response,
    check_status,
    headers,
    poll_hint,
    translate,
)

__all__ = ["AsyncRuns"]

RunRef = Run | RunStreamEvent | str
Json = dict[str, Any]

_MAX_CURSORS = 1024
_STREAM_POLL = 0.25  # seconds between polls once a dropped stream goes on by polling
_MAX_BODY = 64 * 1024 * 1024
# As many idle connections kept as open ones: httpcore's pool counts every connection, not only
# the idle ones, against the keep-alive limit, so with httpx's default (20) it closed pooled
# connections that many concurrent streams then had to open again (a port in TIME_WAIT each).
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)
_DRAIN = 0.25  # seconds a stream may take to end after `done` and keep its connection


def _first_key(body: Any) -> Any:
    return body.get("data") if isinstance(body, dict) else None


def _state(run: Run) -> str:
    """What a poll compares to tell a change: the status, and for requires_action the calls."""
    if run.requires_action:
        return f"{run.status_raw}:" + ",".join(str(call.id) for call in run.tool_calls)
    return str(run.status_raw)


class _Resume:
    """What a stream has delivered, so that polling can go on from there without repeats."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.status: str | None = None
        self.messages: set[str] = set()
        self.run_id: str | None = None

    def saw(self, event: RunStreamEvent) -> None:
        self.index = event.event_index + 1
        if event.run is not None:
            self.run_id = event.run.id
            self.status = _state(event.run)
        raw = event.raw
        data = getattr(raw, "data", None)
        if event.status_raw == "thread.message.completed" and data is not None:
            self.messages.add(str(getattr(data, "id", "")))


class AsyncRuns:
    """Runs of the OpenAI Assistants API (asyncio).

    The key comes from ``api_key``, else ``OPENAI_API_KEY``; ``base_url`` from the argument,
    else ``OPENAI_BASE_URL``, else the OpenAI API. TLS certificates are verified unless
    ``verify`` says otherwise (which is logged). Every call takes ``timeout`` seconds in total,
    retries included.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        verify: bool | ssl.SSLContext = True,
        retry: RetryPolicy | None = None,
        max_response_size: int = _MAX_BODY,
    ) -> None:
        url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        self.base_url = check_base_url(url, verify)
        self._api_key: Secret | None = from_env(api_key, "OPENAI_API_KEY")
        self._verify = verify
        self.retry = retry or RetryPolicy()
        self._max_body = max_response_size
        self._http: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._cursors: OrderedDict[str, _Resume] = OrderedDict()

    def __repr__(self) -> str:
        auth = "api-key" if self._api_key else "none"
        return f"AsyncRuns(base_url={self.base_url!r}, auth={auth})"

    @property
    def _secrets(self) -> tuple[Secret | None, ...]:
        """What errors leaving this client must not show (a server may echo the key)."""
        return (self._api_key,)

    # plumbing

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._http is not None and self._loop is not loop:
            # Pooled connections belong to the loop that opened them: a new loop starts afresh.
            self._http = None
        if self._http is None:
            self._loop = loop
            self._http = httpx.AsyncClient(
                verify=self._verify,
                timeout=None,
                follow_redirects=False,
                trust_env=False,
                limits=_LIMITS,
            )
        return self._http

    def _url(self, *parts: str) -> str:
        return self.base_url + "/" + "/".join(quote(p, safe="") for p in parts)

    async def _read(self, response: httpx.Response) -> bytes:
        """The decoded body, refused as soon as it passes ``max_response_size`` (decoded bytes:
        a compressed body is never inflated past the limit)."""
        body = bytearray()
        async for chunk in body_pieces(response):
            body += chunk
            if len(body) > self._max_body:
                raise DecodeError("openai", "response", "", f"body over {self._max_body} bytes")
        return bytes(body)

    async def _request(
        self,
        what: str,
        method: str,
        url: str,
        deadline: Deadline,
        *,
        body: Json | None = None,
        params: Mapping[str, str] | None = None,
        retry: bool = True,
        idempotency_key: str | None = None,
    ) -> tuple[Any, httpx.Response]:
        """One JSON call, retried per the policy: the decoded body and the response."""
        request_headers = headers(self._api_key, idempotency_key)

        async def attempt(deadline: Deadline) -> tuple[Any, httpx.Response]:
            try:
                timeout = _left(deadline, what)
                # httpx's timeout bounds each read: a body dripped slowly would outlive it.
                async with asyncio.timeout(timeout):
                    request = self._client().build_request(
                        method,
                        url,
                        json=body,
                        params=params,
                        headers=request_headers,
                        timeout=timeout,
                    )
                    response = await self._client().send(request, stream=True)
                    try:
                        check_status(response, self._api_key)
                        data = await self._read(response)
                    finally:
                        await response.aclose()
            except (ApiError, DecodeError):
                raise
            except Exception as exc:
                raise translate(exc, what) from None
            check_response(response, data, self._api_key)
            try:
                return jsonio.loads(data), response
            except ValueError as exc:
                raise DecodeError("openai", what, "", f"response is not JSON: {exc}") from None

        return await call(attempt, deadline, self.retry, retry=retry)

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

    def _resume_of(self, run_id: str) -> _Resume | None:
        return self._cursors.get(run_id)

    def _keep(self, resume: _Resume) -> None:
        if resume.run_id is None:
            return
        self._cursors[resume.run_id] = resume
        self._cursors.move_to_end(resume.run_id)
        while len(self._cursors) > _MAX_CURSORS:
            self._cursors.popitem(last=False)

    # streams

    async def _sse(
        self,
        what: str,
        url: str,
        body: Json,
        deadline: Deadline,
        resume: _Resume,
        thread_id: str,
        idempotency_key: str | None,
    ) -> AsyncIterator[RunStreamEvent]:
        """Events of a streaming POST; if it drops, the run is followed by polling instead."""
        request_headers = headers(self._api_key, idempotency_key)
        request_headers["Accept"] = "text/event-stream"
        started = False
        try:
            request = self._client().build_request(
                "POST", url, json=body, headers=request_headers, timeout=_left(deadline, what)
            )
            async with asyncio.timeout(_left(deadline, what)):
                response = await self._client().send(request, stream=True)
            try:
                check_status(response, self._api_key)
                if response.status_code >= 400:
                    async with asyncio.timeout(_left(deadline, what)):
                        error_body = await self._read(response)
                    check_response(response, error_body, self._api_key)
                started = True
                events = parse_events(_bounded(body_pieces(response), deadline, what))
                async for sse in events:
                    data: Any = sse.data
                    event = RunStreamEvent.from_openai(
                        {"event": sse.event, "data": data}, event_index=resume.index
                    )
                    resume.saw(event)
                    self._keep(resume)
                    yield event
                    if sse.event == "done":
                        await _drain(events)
                        return
            finally:
                await response.aclose()
        except Transient as exc:
            raise exc.error from None  # the call itself failed: nothing was streamed
        except (DecodeError, ApiError, RunTimeoutError):
            raise
        except Exception as exc:
            translated = translate(exc, what)
            if not isinstance(translated, Transient):
                raise translated from None
            if not started or resume.run_id is None:
                raise translated.error from None
        # The stream ended without `done` (dropped, or cut short by the server): polling goes on
        # from what was delivered, and ends with `done` even when the run had already finished.
        if resume.run_id is None:
            raise ApiError("openai", "connection_error", "the stream ended before the run started")
        async for event in self._poll_events(thread_id, resume.run_id, resume, deadline):
            yield event

    async def _poll_events(
        self, thread_id: str, run_id: str, resume: _Resume, deadline: Deadline
    ) -> AsyncIterator[RunStreamEvent]:
        """A stream made by polling: one run event per status change, the answer, then done."""
        resume.run_id = run_id
        interval = _STREAM_POLL
        while True:
            data, response = await self._request(
                "listen", "GET", self._url("threads", thread_id, "runs", run_id), deadline
            )
            current = Run.from_openai(data)
            status = str(current.status_raw)
            if _state(current) != resume.status:
                yield self._event(f"thread.run.{status}", data, resume)
            if current.is_finished or current.requires_action:
                if current.status in (RunStatus.COMPLETED, RunStatus.INCOMPLETE):
                    message = await self._answer(thread_id, run_id, deadline)
                    if message is not None and message.get("id") not in resume.messages:
                        yield self._event("thread.message.completed", message, resume)
                yield self._event("done", "[DONE]", resume)
                return
            pause = max(interval, poll_hint(response) or 0.0)
            if not await deadline.sleep(pause):
                raise RunTimeoutError(f"openai listen: run {run_id} still {status}", current)

    def _event(self, name: str, data: Any, resume: _Resume) -> RunStreamEvent:
        event = RunStreamEvent.from_openai({"event": name, "data": data}, event_index=resume.index)
        resume.saw(event)
        self._keep(resume)
        return event

    async def _answer(self, thread_id: str, run_id: str, deadline: Deadline) -> Json | None:
        """The newest assistant message the run wrote, if any."""
        data, _ = await self._request(
            "get_result",
            "GET",
            self._url("threads", thread_id, "messages"),
            deadline,
            params={"run_id": run_id, "order": "desc", "limit": "20"},
        )
        items = _first_key(data)
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("role") == "assistant":
                return item
        return None

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
        timeout: float = ...,
    ) -> Run: ...

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
        timeout: float = ...,
    ) -> AsyncRunStream: ...

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
        timeout: float = ...,
    ) -> Run | AsyncRunStream: ...

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
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Run | AsyncRunStream:
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
        deadline = Deadline(timeout)
        url = self._url("threads", thread_id, "runs")
        if stream:
            events = self._sse(
                "create", url, body, deadline, _Resume(0), thread_id, idempotency_key
            )
            return AsyncRunStream(None, guard_stream(events, self._secrets))
        data, _ = await self._request(
            "create",
            "POST",
            url,
            deadline,
            body=body,
            retry=idempotency_key is not None,
            idempotency_key=idempotency_key,
        )
        return Run.from_openai(data)

    @guarded
    async def get(
        self, run: RunRef, *, thread_id: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> Run:
        """The run as it is now (a run id needs its ``thread_id``)."""
        return (await self._get(run, thread_id, Deadline(timeout)))[0]

    async def _get(
        self, run: RunRef, thread_id: str | None, deadline: Deadline
    ) -> tuple[Run, float | None]:
        thread, run_id = self._ref(run, thread_id)
        url = self._url("threads", thread, "runs", run_id)
        data, response = await self._request("get", "GET", url, deadline)
        return Run.from_openai(data), poll_hint(response)

    @guarded
    async def get_last_by_thread(self, thread_id: str, *, timeout: float = DEFAULT_TIMEOUT) -> Run:
        """The thread's most recent run (a one-item, newest-first listing)."""
        if not isinstance(thread_id, str) or not thread_id:
            raise InvalidArgumentError("thread_id must be a non-empty string")
        data, _ = await self._request(
            "get_last_by_thread",
            "GET",
            self._url("threads", thread_id, "runs"),
            Deadline(timeout),
            params={"limit": "1", "order": "desc"},
        )
        items = _first_key(data)
        if not isinstance(items, list) or not items:
            raise ApiError("openai", 404, f"thread {thread_id} has no runs")
        return Run.from_openai(items[0])

    def list(
        self,
        thread_id: str,
        *,
        page_size: int = 20,
        page_token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> AsyncRunList:
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
        url = self._url("threads", thread_id, "runs")

        async def fetch(token: str | None) -> RunPage:
            params = {"limit": str(page_size), "order": "desc"}
            if token:
                params["after"] = token
            data, _ = await self._request("list", "GET", url, Deadline(timeout), params=params)
            items = _first_key(data)
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
        timeout: float = DEFAULT_TIMEOUT,
    ) -> AsyncRunStream:
        """The run's events by polling, until it finishes or asks for tool results.

        OpenAI keeps no event log to replay: this yields one run event per status change seen,
        the answer message once it completes, then ``done``, numbered from
        ``events_start_idx``. ``timeout`` bounds the whole stream.
        """
        thread, run_id = self._ref(run, thread_id)
        if isinstance(events_start_idx, bool) or not isinstance(events_start_idx, int):
            raise InvalidArgumentError("events_start_idx must be an int")
        if events_start_idx < 0:
            raise InvalidArgumentError(f"events_start_idx must be >= 0, got {events_start_idx}")
        resume = _Resume(events_start_idx)
        events = self._poll_events(thread, run_id, resume, Deadline(timeout))
        return AsyncRunStream(
            run if isinstance(run, Run) else None, guard_stream(events, self._secrets)
        )

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
        timeout: float = ...,
    ) -> Run: ...

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
        timeout: float = ...,
    ) -> AsyncRunStream: ...

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
        timeout: float = ...,
    ) -> Run | AsyncRunStream: ...

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
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Run | AsyncRunStream:
        """Send the outputs of the run's tool calls; the run, or with ``stream`` its events.

        Stream events are numbered on from ``events_start_idx``, by default after the last
        event this client yielded for the run. Retried only with an ``idempotency_key``.
        """
        thread, run_id = self._ref(run, thread_id)
        body: Json = to_openai_tool_outputs(results, stream=stream or None).model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        deadline = Deadline(timeout)
        url = self._url("threads", thread, "runs", run_id, "submit_tool_outputs")
        if not stream:
            data, _ = await self._request(
                "submit_tool_results",
                "POST",
                url,
                deadline,
                body=body,
                retry=idempotency_key is not None,
                idempotency_key=idempotency_key,
            )
            return Run.from_openai(data)
        seen = self._resume_of(run_id)
        resume = _Resume(seen.index if seen is not None else 0)
        if seen is not None:
            resume.messages = set(seen.messages)
        if events_start_idx is not None:
            if isinstance(events_start_idx, bool) or not isinstance(events_start_idx, int):
                raise InvalidArgumentError("events_start_idx must be an int")
            resume.index = events_start_idx
        resume.run_id = run_id
        if isinstance(run, Run):
            resume.status = _state(run)
        elif seen is None or seen.status is None or not seen.status.startswith("requires_action"):
            resume.status = "requires_action"
        else:
            resume.status = seen.status
        first = run if isinstance(run, Run) else None
        events = self._sse(
            "submit_tool_results", url, body, deadline, resume, thread, idempotency_key
        )
        return AsyncRunStream(first, guard_stream(events, self._secrets))

    @guarded
    async def cancel(
        self, run: RunRef, *, thread_id: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> Run:
        """Ask the service to cancel the run; the run, now cancelling (or already ended)."""
        thread, run_id = self._ref(run, thread_id)
        url = self._url("threads", thread, "runs", run_id, "cancel")
        data, _ = await self._request("cancel", "POST", url, Deadline(timeout), retry=False)
        return Run.from_openai(data)

    @guarded
    async def get_status(
        self, run: RunRef, *, thread_id: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> RunStatus:
        """The run's current status."""
        return (await self.get(run, thread_id=thread_id, timeout=timeout)).status

    @guarded
    async def get_result(
        self, run: RunRef, *, thread_id: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> RunResult:
        """The run's current result, with its answer message once it has one."""
        deadline = Deadline(timeout)
        found, _ = await self._get(run, thread_id, deadline)
        return await self._result(found, deadline)

    async def _result(self, run: Run, deadline: Deadline) -> RunResult:
        if run.status not in (RunStatus.COMPLETED, RunStatus.INCOMPLETE):
            return run.result()
        message = await self._answer(run.thread_id, run.id, deadline)
        return RunResult.from_openai(run.raw, message)

    @guarded
    async def wait(
        self,
        run: RunRef,
        *,
        thread_id: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        poll_interval: float = 0.5,
    ) -> RunResult:
        """Poll until the run finishes or asks for tool outputs; its result.

        ``timeout`` is one deadline for the whole wait; the server's ``openai-poll-after-ms``
        hint is honoured. At the deadline :class:`RunTimeoutError` carries the last run seen.
        """
        thread, run_id = self._ref(run, thread_id)

        async def poll(deadline: Deadline) -> tuple[Run, float | None]:
            return await self._get(run_id, thread, deadline)

        return await wait_for(
            poll,
            self._result,
            timeout=timeout,
            poll_interval=poll_interval,
            secrets=self._secrets,
        )

    async def close(self) -> None:
        """Close the connection pool (calls after this open a new one)."""
        if self._http is not None:
            http, self._http = self._http, None
            with contextlib.suppress(Exception):
                await http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def _drain(rest: AsyncIterator[Any]) -> None:
    """Read the little a stream has left after ``done`` (its body's end), so that its connection
    goes back to the pool instead of being closed; one that goes on longer is closed as before."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(_DRAIN):
            async for _ in rest:
                pass


async def _bounded(
    chunks: AsyncIterator[bytes], deadline: Deadline, what: str
) -> AsyncIterator[bytes]:
    """``chunks`` until the deadline: httpx's timeout bounds each read, so a stream that drips
    just inside it would otherwise go on past the caller's deadline."""
    while True:
        try:
            async with asyncio.timeout(_left(deadline, what)):
                chunk = await anext(chunks)
        except StopAsyncIteration:
            return
        yield chunk


def _left(deadline: Deadline, what: str) -> float:
    """Seconds left for one attempt; a passed deadline is a timeout."""
    remaining = deadline.remaining()
    if remaining <= 0:
        raise RunTimeoutError(f"openai {what}: deadline exceeded")
    return remaining
