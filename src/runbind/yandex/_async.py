"""``AsyncRuns``: the Yandex RunService over the generated grpclib stub."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import ssl
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from typing import Any, Literal, TypeVar, cast, overload

from grpclib.client import Channel
from grpclib.config import Configuration
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs

from .._core import offload
from .._core.client_base import (
    STREAM_IDLE_TIMEOUT,
    ClientBase,
    Cursors,
    PerLoop,
    call_timeout,
    finite,
    left,
    run_id_of,
    start_index,
)
from .._core.credentials import Secret, SecretHeaders, from_env, guard, guard_stream, guarded
from .._core.errors import (
    APIConnectionError,
    ApiError,
    InvalidArgumentError,
    RunTimeoutError,
    ServerError,
    UnsupportedOperationError,
)
from .._core.models import FunctionResultDict
from .._core.observe import Observer, RequestHook, RequestInfo, ResponseHook
from .._core.paging import AsyncRunList, RunPage
from .._core.polling import wait_for
from .._core.results import to_yandex_tool_results
from .._core.retry import DEFAULT_TIMEOUT, Deadline, RetryPolicy, Transient, call, log_retry
from .._core.run import Run, RunResult, RunStreamEvent
from .._core.status import RunStatus
from .._core.stream import AsyncRunStream, Pulse
from ._credentials import TokenProvider, Tokens, unauthenticated
from ._requests import (
    FormatInput,
    MessageInput,
    ToolInput,
    TruncationInput,
    create_request,
    submit_request,
)
from ._transport import (
    DEFAULT_ENDPOINT,
    ClientCodec,
    DeadlineGuard,
    SecureChannel,
    adopt,
    auth_metadata,
    begin_call,
    log,
    parse_endpoint,
    request_id,
    tls_for,
    translate,
)

__all__ = ["AsyncRuns"]

_T = TypeVar("_T")
_Connection = tuple[Channel, runs.RunServiceStub]
_MAX_MESSAGE = 64 * 1024 * 1024

RunRef = Run | str

_SERVICE = "/yandex.cloud.ai.assistants.v1.runs.RunService/"
_RPC = {
    "create": "Create",
    "get": "Get",
    "get_last_by_thread": "GetLastByThread",
    "list": "List",
    "submit_tool_results": "Submit",
    "listen": "Listen",
}
"""The RPC each call of the client makes (the hooks and the DEBUG line name it)."""


class AsyncRuns(ClientBase):
    """Runs of Yandex Cloud AI Assistants, over gRPC (asyncio).

    Credentials come from ``api_key`` or ``iam_token``, else from ``YC_API_KEY`` /
    ``YC_IAM_TOKEN``, or from a token provider (``credentials``: a callable returning an IAM
    token, such as :class:`ServiceAccountKey`), asked again when its token nears expiry and
    after ``UNAUTHENTICATED`` (the refused call is then retried once). ``folder_id`` (for
    :meth:`list`) comes from ``YC_FOLDER_ID``. ``metadata`` goes with every call. TLS is on
    unless the endpoint is loopback; ``grpc_config`` (grpclib's ``Configuration``: keep-alive
    pings, flow-control windows) shapes the channel runbind opens, or ``channel``, your own
    grpclib ``Channel`` (made on the event loop the client runs on), is used as it is and never
    closed by runbind. ``on_request`` and ``on_response`` (functions or coroutine functions) see
    every request, retries and reopened streams included, for metrics and tracing.

    A call takes at most ``timeout`` seconds in total, retries included (the client's
    ``timeout`` unless the call passes its own). A stream is bounded by the ``timeout`` its
    call passes, if any; otherwise it fails only when the server has sent nothing for
    ``stream_idle_timeout`` seconds.
    """

    endpoint: str
    """The ``host:port`` the client talks to."""
    folder_id: str | None
    """The folder :meth:`list` uses by default."""

    def __init__(
        self,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        api_key: str | None = None,
        iam_token: str | None = None,
        folder_id: str | None = None,
        tls: bool | ssl.SSLContext | None = None,
        retry: RetryPolicy | None = None,
        max_message_size: int = _MAX_MESSAGE,
        on_request: RequestHook | None = None,
        on_response: ResponseHook | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        stream_idle_timeout: float | None = STREAM_IDLE_TIMEOUT,
        metadata: Mapping[str, str] | None = None,
        credentials: TokenProvider | None = None,
        channel: Channel | None = None,
        grpc_config: Configuration | None = None,
    ) -> None:
        if api_key is not None and iam_token is not None:
            raise InvalidArgumentError("pass api_key or iam_token, not both")
        if credentials is not None and (api_key is not None or iam_token is not None):
            raise InvalidArgumentError("pass credentials or a fixed api_key/iam_token, not both")
        if channel is not None and not isinstance(channel, Channel):
            raise InvalidArgumentError("channel must be a grpclib.client.Channel")
        if channel is not None and (tls is not None or grpc_config is not None):
            raise InvalidArgumentError(
                "tls and grpc_config shape runbind's own channel: set them on your channel"
            )
        self._host, self._port = parse_endpoint(endpoint)
        self.endpoint = endpoint
        # A token provider is the credential: none from the environment then.
        self._tokens = Tokens(credentials) if credentials is not None else None
        key = token = None
        if self._tokens is None:
            key = from_env(api_key, "YC_API_KEY") if iam_token is None else None
            token = from_env(iam_token, "YC_IAM_TOKEN") if key is None else None
        self._credentials: tuple[Secret | None, Secret | None] = (key, token)
        self._extra = _check_metadata(metadata)
        self.folder_id = folder_id if folder_id is not None else _env_folder()
        self._tls = tls_for(self._host, tls) if channel is None else False
        self._grpc_config = grpc_config
        super().__init__(retry, timeout, stream_idle_timeout)
        self._max_message_size = max_message_size
        self._codec = ClientCodec(max_message_size)
        self._connection: PerLoop[_Connection] = PerLoop(self._open, _close)
        self._given: _Connection | None = None
        if channel is not None:
            adopt(channel)
            self._given = (channel, runs.RunServiceStub(channel))
        self._cursors: Cursors[int] = Cursors()
        self._observer = Observer("yandex", log, on_request, on_response)

    def __repr__(self) -> str:
        key, token = self._credentials
        auth = (
            "api-key"
            if key
            else "iam-token"
            if token
            else "token-provider"
            if self._tokens
            else "none"
        )
        return f"AsyncRuns(endpoint={self.endpoint!r}, auth={auth})"

    @property
    def _secrets(self) -> tuple[Secret | None, ...]:
        """What errors leaving this client must not show (a server may echo the credential)."""
        return (*self._credentials, *(self._tokens.seen if self._tokens is not None else ()))

    # plumbing

    def _open(self) -> _Connection:
        channel = SecureChannel(
            self._host, self._port, ssl=self._tls, codec=self._codec, config=self._grpc_config
        )
        return channel, runs.RunServiceStub(channel)

    def _service(self) -> runs.RunServiceStub:
        given = self._given
        if given is None:
            return self._connection.get()[1]
        loop = getattr(given[0], "_loop", None)  # grpclib binds a channel to a loop when made
        if loop is not None and loop is not asyncio.get_running_loop():
            raise InvalidArgumentError(
                "the grpclib Channel given belongs to another event loop: make it on the loop "
                "the client runs on (the blocking Runs has a loop of its own: pass grpc_config "
                "and tls instead)"
            )
        return given[1]

    async def _metadata(
        self, deadline: Deadline, idempotency_key: str | None = None
    ) -> tuple[SecretHeaders, Secret | None]:
        """The call's metadata, and the provider's token in it (None: a fixed credential)."""
        key, token = self._credentials
        used = None
        if self._tokens is not None:
            used = token = await self._tokens.get(Deadline(call_timeout(deadline, self.timeout)))
        metadata = SecretHeaders(self._extra)
        metadata.update(auth_metadata(key, token))
        if idempotency_key is not None:
            metadata["idempotency-key"] = idempotency_key
        return metadata, used

    async def _unary(
        self,
        what: str,
        send: Callable[[float | None, SecretHeaders], Awaitable[_T]],
        deadline: Deadline,
        *,
        retry: bool = True,
        idempotency_key: str | None = None,
    ) -> _T:
        if idempotency_key is not None and (
            not isinstance(idempotency_key, str) or not idempotency_key
        ):
            raise InvalidArgumentError("idempotency_key must be a non-empty string")
        tries = 0

        async def attempt(deadline: Deadline) -> _T:
            nonlocal tries
            tries += 1
            info = self._request_info(what, tries, stream=False)
            started = await self._observer.sent(info)
            renewed = False
            try:
                while True:
                    begin_call()
                    try:
                        metadata, used = await self._metadata(deadline, idempotency_key)
                    except (APIConnectionError, ServerError) as exc:  # a token exchange failed
                        raise Transient(exc) from None
                    try:
                        with DeadlineGuard():
                            answer = await send(finite(left(deadline, f"yandex {what}")), metadata)
                        break
                    except Exception as exc:
                        # A refused token is asked for again, once: nothing was done with it.
                        if used is not None and not renewed and unauthenticated(exc):
                            assert self._tokens is not None
                            self._tokens.refused(used)
                            renewed = True
                            continue
                        raise
            except Exception as exc:
                error = translate(exc, what, *self._secrets)
                await self._observer.answered(info, started, error=error)
                raise error from None
            except BaseException as exc:  # cancelled: the hooks still see the request end
                await self._observer.answered(info, started, error=exc)
                raise
            found = request_id(*self._secrets)
            await self._observer.answered(info, started, grpc_status="OK", request_id=found)
            return answer

        return await call(
            attempt, deadline, self.retry, retry=retry, what=f"yandex {what}", log=log
        )

    def _request_info(self, what: str, attempt: int, *, stream: bool) -> RequestInfo:
        return RequestInfo("yandex", what, _SERVICE + _RPC[what], self.endpoint, attempt, stream)

    async def _stream_started(self, info: RequestInfo, sent_at: float) -> bool:
        """Tell the hooks that a stream answered (its first event, or its end without one)."""
        found = request_id(*self._secrets)
        await self._observer.answered(info, sent_at, grpc_status="OK", request_id=found)
        return True

    async def _adapt(
        self, convert: Callable[[Any], _T], message: Any, deadline: Deadline, what: str
    ) -> _T:
        """``convert(message)``; on the decode worker, within ``deadline``, when the message
        came in large: converting 100,000 tool calls takes as long as decoding them (1 s)."""
        if not self._codec.came_large(message):
            return convert(message)
        try:
            async with asyncio.timeout(finite(left(deadline, f"yandex {what}"))):
                return await offload.off_loop(convert, message)
        except TimeoutError:
            raise RunTimeoutError(f"yandex {what}: deadline exceeded") from None

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
    ) -> Run[runs.Run]: ...

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
    ) -> AsyncRunStream[runs.StreamEvent, runs.Run]: ...

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
    ) -> Run[runs.Run] | AsyncRunStream[runs.StreamEvent, runs.Run]: ...

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
    ) -> Run[runs.Run] | AsyncRunStream[runs.StreamEvent, runs.Run]:
        """Start a run of ``assistant_id`` on ``thread_id``; with ``stream`` its event stream.

        ``custom_*`` override the assistant's settings for this run. It is retried only when
        ``idempotency_key`` is given (the service then creates the run at most once).
        """
        request = create_request(
            assistant_id,
            thread_id,
            labels=labels,
            additional_messages=additional_messages,
            custom_temperature=custom_temperature,
            custom_max_tokens=custom_max_tokens,
            custom_prompt_truncation_options=custom_prompt_truncation_options,
            custom_tools=custom_tools,
            custom_response_format=custom_response_format,
            stream=stream,
        )
        deadline = self._deadline(timeout)
        service = self._service()
        message = await self._unary(
            "create",
            lambda t, m: service.create(request, timeout=t, metadata=m),
            deadline,
            retry=idempotency_key is not None,
            idempotency_key=idempotency_key,
        )
        run = await self._adapt(Run.from_yandex, message, deadline, "create")
        if not stream:
            return run
        return self._stream(run.id, run, 0, deadline if timeout is not None else None, "create")

    @guarded
    async def get(self, run: RunRef, *, timeout: float | None = None) -> Run[runs.Run]:
        """The run as it is now."""
        request = runs.GetRunRequest(run_id=run_id_of(run))
        service = self._service()
        deadline = self._deadline(timeout)
        message = await self._unary(
            "get", lambda t, m: service.get(request, timeout=t, metadata=m), deadline
        )
        return await self._adapt(Run.from_yandex, message, deadline, "get")

    @guarded
    async def get_last_by_thread(
        self, thread_id: str, *, timeout: float | None = None
    ) -> Run[runs.Run]:
        """The thread's most recent run."""
        if not isinstance(thread_id, str) or not thread_id:
            raise InvalidArgumentError("thread_id must be a non-empty string")
        request = runs.GetLastRunByThreadRequest(thread_id=thread_id)
        service = self._service()
        deadline = self._deadline(timeout)
        message = await self._unary(
            "get_last_by_thread",
            lambda t, m: service.get_last_by_thread(request, timeout=t, metadata=m),
            deadline,
        )
        return await self._adapt(Run.from_yandex, message, deadline, "get_last_by_thread")

    def list(
        self,
        *,
        folder_id: str | None = None,
        page_size: int = 100,
        page_token: str | None = None,
        timeout: float | None = None,
    ) -> AsyncRunList[runs.Run]:
        """Runs of the folder, fetched ``page_size`` at a time as the caller iterates.

        ``timeout`` bounds each page's fetch. Resume a listing with its ``next_page_token``.
        """
        folder = folder_id if folder_id is not None else self.folder_id
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise InvalidArgumentError(f"page_size must be a positive int, got {page_size!r}")

        async def fetch(token: str | None) -> RunPage[runs.Run]:
            request = runs.ListRunsRequest(
                folder_id=folder or "", page_size=page_size, page_token=token or ""
            )
            service = self._service()
            deadline = self._deadline(timeout)
            response = await self._unary(
                "list", lambda t, m: service.list(request, timeout=t, metadata=m), deadline
            )
            found = await self._adapt(_runs_of, response, deadline, "list")
            return RunPage(found, response.next_page_token or None)

        return AsyncRunList(guard(fetch, self._secrets), page_token)

    def listen(
        self,
        run: RunRef,
        *,
        events_start_idx: int = 0,
        timeout: float | None = None,
    ) -> AsyncRunStream[runs.StreamEvent, runs.Run]:
        """The run's events from ``events_start_idx`` until it finishes or asks for tool results.

        A dropped stream is reopened after the last event seen, so no event is lost or repeated.
        A ``timeout`` bounds the whole stream.
        """
        start = start_index(events_start_idx)
        run_id = run_id_of(run)
        return self._stream(run_id, _given(run), start, self._stream_deadline(timeout), "listen")

    def _stream(
        self,
        run_id: str,
        first: Run[runs.Run] | None,
        start: int,
        deadline: Deadline | None,
        what: str,
    ) -> AsyncRunStream[runs.StreamEvent, runs.Run]:
        """The events of ``run_id`` from ``start`` as a stream, under ``deadline`` (None: none;
        the idle timeout then bounds each wait)."""
        pulse = Pulse(self.stream_idle_timeout, f"yandex {what}")
        if deadline is None:
            deadline = self._stream_deadline(None)
        events = self._events(run_id, start, deadline, pulse)
        return AsyncRunStream(first, guard_stream(events, self._secrets), pulse)

    async def _events(
        self, run_id: str, start: int, deadline: Deadline, pulse: Pulse
    ) -> AsyncIterator[RunStreamEvent[runs.StreamEvent, runs.Run]]:
        """Listen, reopening a dropped stream at the next index (bounded by the retry policy);
        every message and answer is a sign of life for ``pulse``."""
        service = self._service()
        position = start
        failures = 0
        opened = 0
        renewed = False
        while True:
            error: ApiError
            used: Secret | None = None
            opened += 1
            info = self._request_info("listen", opened, stream=True)
            sent_at = await self._observer.sent(info)
            answered = False
            call_answer = begin_call()
            try:
                metadata, used = await self._metadata(deadline)
                request = runs.ListenRunRequest(run_id=run_id, events_start_idx=position)
                stream = service.listen(
                    request, timeout=finite(left(deadline, "yandex listen")), metadata=metadata
                )
                async with contextlib.aclosing(cast("AsyncGenerator[Any, None]", stream)):
                    while True:
                        try:
                            begin_call(call_answer)
                            with DeadlineGuard():
                                message = await anext(stream)
                        except StopAsyncIteration:
                            break
                        pulse.beat()
                        if not answered:
                            answered = await self._stream_started(info, sent_at)
                        event = await self._adapt(
                            RunStreamEvent.from_yandex, message, deadline, "listen"
                        )
                        if event.event_index < position:
                            continue  # already delivered before a reconnect
                        # A TOOL_CALLS event ends the stream while the run waits on those
                        # calls; one the run has gone past (a replay) is followed by the rest.
                        waits = event.requires_action and await self._waits_on(
                            run_id, event, deadline
                        )
                        position = event.event_index + 1
                        failures = 0
                        renewed = False
                        self._cursors.put(run_id, event.event_index)
                        yield event
                        if event.is_finished or waits:
                            return
                if not answered:  # it ended without an event
                    answered = await self._stream_started(info, sent_at)
                # The stream ended without a final event: over if the run has stopped.
                current = await self.get(run_id, timeout=call_timeout(deadline, self.timeout))
                pulse.beat()
                if current.is_finished or current.requires_action:
                    return
                error = APIConnectionError(
                    "yandex", "UNAVAILABLE", "stream ended before the run finished"
                )
                hint = None
            except Exception as exc:
                if used is not None and not renewed and unauthenticated(exc):
                    assert self._tokens is not None
                    self._tokens.refused(used)  # asked for again, once, as in _unary
                    renewed = True
                    if not answered:
                        await self._observer.answered(info, sent_at, error=exc)
                    continue
                translated = translate(exc, "listen", *self._secrets)
                if not answered:
                    await self._observer.answered(info, sent_at, error=translated)
                if not isinstance(translated, Transient):
                    raise translated from None
                error, hint = translated.error, translated.retry_after
            except BaseException as exc:  # cancelled: the hooks still see the request end
                if not answered:
                    await self._observer.answered(info, sent_at, error=exc)
                raise
            failures += 1
            if failures >= self.retry.attempts:
                raise error
            wait = self.retry.backoff(failures, hint)
            if wait < deadline.remaining():
                log_retry(log, "yandex listen", error, wait, failures, self.retry.attempts)
            if not await deadline.sleep(wait):
                raise error

    async def _waits_on(self, run_id: str, event: RunStreamEvent, deadline: Deadline) -> bool:
        """Whether the run waits now on the tool calls of ``event`` (asked before the event is
        yielded, so before its caller can answer them). A later round asking for the very same
        calls cannot be told apart: the stream then ends there, as on a live run."""
        current = await self.get(run_id, timeout=call_timeout(deadline, self.timeout))
        return current.requires_action and current.tool_calls == event.tool_calls

    @overload
    async def submit_tool_results(
        self,
        run: RunRef,
        results: Iterable[FunctionResultDict],
        *,
        stream: Literal[False] = ...,
        events_start_idx: int | None = ...,
        idempotency_key: str | None = ...,
        timeout: float | None = ...,
    ) -> Run[runs.Run]: ...

    @overload
    async def submit_tool_results(
        self,
        run: RunRef,
        results: Iterable[FunctionResultDict],
        *,
        stream: Literal[True],
        events_start_idx: int | None = ...,
        idempotency_key: str | None = ...,
        timeout: float | None = ...,
    ) -> AsyncRunStream[runs.StreamEvent, runs.Run]: ...

    @overload
    async def submit_tool_results(
        self,
        run: RunRef,
        results: Iterable[FunctionResultDict],
        *,
        stream: bool,
        events_start_idx: int | None = ...,
        idempotency_key: str | None = ...,
        timeout: float | None = ...,
    ) -> Run[runs.Run] | AsyncRunStream[runs.StreamEvent, runs.Run]: ...

    @guarded
    async def submit_tool_results(
        self,
        run: RunRef,
        results: Iterable[FunctionResultDict],
        *,
        stream: bool = False,
        events_start_idx: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> Run[runs.Run] | AsyncRunStream[runs.StreamEvent, runs.Run]:
        """Answer the run's tool calls (the ``Submit`` RPC); the run, or with ``stream`` its events.

        The stream starts at ``events_start_idx``, by default after the last event this client
        yielded for the run; a client that has not streamed the run needs it given (Yandex
        events carry no run id to find it by). It is retried only with an ``idempotency_key``.
        """
        run_id = run_id_of(run)
        tool_results = to_yandex_tool_results(results)
        start = 0
        if stream:
            # Everything is checked before the results go out: a submit cannot be taken back.
            if events_start_idx is None:
                seen = self._cursors.get(run_id)
                if seen is None:
                    raise InvalidArgumentError(
                        "this client has not seen the run's stream, so it does not know where "
                        "the events after the submit start: pass events_start_idx (the "
                        "TOOL_CALLS event's event_index + 1), or submit without stream and "
                        "listen or wait"
                    )
                events_start_idx = seen + 1
            start = start_index(events_start_idx)
        request = submit_request(run_id, tool_results)  # after the checks: it needs the RPC
        deadline = self._deadline(timeout)
        service = self._service()
        await self._unary(
            "submit_tool_results",
            lambda t, m: service.submit(request, timeout=t, metadata=m),
            deadline,
            retry=idempotency_key is not None,
            idempotency_key=idempotency_key,
        )
        if not stream:
            return await self.get(run_id, timeout=max(deadline.remaining(), 0.001))
        return self._stream(
            run_id,
            _given(run),
            start,
            deadline if timeout is not None else None,
            "submit_tool_results",
        )

    @guarded
    async def cancel(self, run: RunRef, *, timeout: float | None = None) -> Run[runs.Run]:
        """Not offered by Yandex: raises :class:`UnsupportedOperationError` (no call is made)."""
        raise UnsupportedOperationError("Yandex AI Assistants runs cannot be cancelled")

    @guarded
    async def get_status(self, run: RunRef, *, timeout: float | None = None) -> RunStatus:
        """The run's current status."""
        return (await self.get(run, timeout=timeout)).status

    @guarded
    async def get_result(self, run: RunRef, *, timeout: float | None = None) -> RunResult[runs.Run]:
        """The run's current result (its answer once completed)."""
        return (await self.get(run, timeout=timeout)).result()

    @guarded
    async def wait(
        self, run: RunRef, *, timeout: float | None = None, poll_interval: float = 0.5
    ) -> RunResult[runs.Run]:
        """Poll until the run finishes or asks for tool results; its result.

        ``timeout`` is one deadline for the whole wait; at it :class:`RunTimeoutError` carries
        the last run seen.
        """
        run_id = run_id_of(run)

        async def poll(deadline: Deadline) -> tuple[Run[runs.Run], float | None]:
            return await self.get(run_id, timeout=max(deadline.remaining(), 0.001)), None

        async def result(found: Run[runs.Run], deadline: Deadline) -> RunResult[runs.Run]:
            return found.result()

        return await wait_for(
            poll,
            result,
            timeout=self._deadline(timeout).timeout,
            poll_interval=poll_interval,
            secrets=self._secrets,
        )

    async def close(self) -> None:
        """Close the connection (calls after this reconnect)."""
        connection = self._connection.take()
        if connection is not None:
            with contextlib.suppress(RuntimeError):  # opened on a loop that is closed now
                _close(connection)


def _given(run: RunRef) -> Run[runs.Run] | None:
    """The run a stream starts from: ``run`` when the caller gave a Run (this client's runs hold
    a Yandex ``Run`` message as ``raw``), else none yet."""
    return cast("Run[runs.Run]", run) if isinstance(run, Run) else None


def _runs_of(response: runs.ListRunsResponse) -> tuple[Run[runs.Run], ...]:
    return tuple(Run.from_yandex(r) for r in response.runs)


def _close(connection: _Connection) -> None:
    connection[0].close()


_OWN_METADATA = frozenset(
    {"authorization", "content-type", "host", "idempotency-key", "te", "user-agent"}
)
"""Metadata runbind (or grpclib) sets itself."""

_METADATA_KEY = re.compile(r"[0-9a-z_.\-]+")  # gRPC's ASCII metadata keys


def _check_metadata(metadata: Mapping[str, str] | None) -> SecretHeaders:
    """``metadata`` checked: lower-case keys with printable ASCII values, none that runbind
    sets itself (credentials go in ``api_key``, ``iam_token`` or ``credentials``)."""
    out = SecretHeaders()
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not _METADATA_KEY.fullmatch(key):
            raise InvalidArgumentError(f"metadata: {key!r} is not a lower-case metadata key")
        if key.endswith("-bin"):
            raise InvalidArgumentError(f"metadata: {key}: binary (-bin) values are not supported")
        if key in _OWN_METADATA or key.startswith("grpc-"):
            raise InvalidArgumentError(
                f"metadata: runbind sets {key} itself (credentials: api_key, iam_token or "
                "credentials)"
            )
        if not isinstance(value, str) or not all(" " <= c <= "~" for c in value):
            raise InvalidArgumentError(f"metadata: {key} must be printable ASCII text")
        out[key] = value
    return out


def _env_folder() -> str | None:
    return os.environ.get("YC_FOLDER_ID") or None
