"""``Runs``: the blocking OpenAI client, running :class:`AsyncRuns` on the private loop thread."""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Literal, Self, overload

from .._core.loop_thread import loop_thread
from .._core.models import FunctionResultDict
from .._core.paging import RunList
from .._core.retry import DEFAULT_TIMEOUT, RetryPolicy
from .._core.run import Run, RunResult
from .._core.status import RunStatus
from .._core.stream import RunStream
from ._async import AsyncRuns, RunRef
from ._requests import FormatInput, MessageInput, ToolInput, TruncationInput

__all__ = ["Runs"]


class Runs:
    """Runs of the OpenAI Assistants API (blocking).

    The same methods, parameters and behaviour as :class:`AsyncRuns`, whose calls it runs on
    one private event-loop thread.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        verify: bool | ssl.SSLContext = True,
        retry: RetryPolicy | None = None,
        max_response_size: int = 64 * 1024 * 1024,
    ) -> None:
        self._loop = loop_thread()
        self._async = AsyncRuns(
            base_url=base_url,
            api_key=api_key,
            verify=verify,
            retry=retry,
            max_response_size=max_response_size,
        )

    @property
    def base_url(self) -> str:
        """The API base URL the client talks to."""
        return self._async.base_url

    @property
    def retry(self) -> RetryPolicy:
        """How failed calls are retried."""
        return self._async.retry

    def __repr__(self) -> str:
        return repr(self._async).replace("AsyncRuns", "Runs", 1)

    @overload
    def create(
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
    def create(
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
    ) -> RunStream: ...

    @overload
    def create(
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
    ) -> Run | RunStream: ...

    def create(
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
    ) -> Run | RunStream:
        """Start a run; see :meth:`AsyncRuns.create`."""
        created = self._loop.run(
            self._async.create(
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
                idempotency_key=idempotency_key,
                timeout=timeout,
            )
        )
        return created if isinstance(created, Run) else RunStream(self._loop, created)

    def get(
        self, run: RunRef, *, thread_id: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> Run:
        """The run as it is now (a run id needs its ``thread_id``)."""
        return self._loop.run(self._async.get(run, thread_id=thread_id, timeout=timeout))

    def get_last_by_thread(self, thread_id: str, *, timeout: float = DEFAULT_TIMEOUT) -> Run:
        """The thread's most recent run."""
        return self._loop.run(self._async.get_last_by_thread(thread_id, timeout=timeout))

    def list(
        self,
        thread_id: str,
        *,
        page_size: int = 20,
        page_token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> RunList:
        """Runs of the thread, newest first, fetched lazily; see :meth:`AsyncRuns.list`."""
        inner = self._async.list(
            thread_id, page_size=page_size, page_token=page_token, timeout=timeout
        )
        return RunList(self._loop, inner)

    def listen(
        self,
        run: RunRef,
        *,
        thread_id: str | None = None,
        events_start_idx: int = 0,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> RunStream:
        """The run's events by polling; see :meth:`AsyncRuns.listen`."""
        inner = self._async.listen(
            run, thread_id=thread_id, events_start_idx=events_start_idx, timeout=timeout
        )
        return RunStream(self._loop, inner)

    @overload
    def submit_tool_results(
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
    def submit_tool_results(
        self,
        run: RunRef,
        results: Iterable[FunctionResultDict],
        *,
        thread_id: str | None = ...,
        stream: Literal[True],
        events_start_idx: int | None = ...,
        idempotency_key: str | None = ...,
        timeout: float = ...,
    ) -> RunStream: ...

    @overload
    def submit_tool_results(
        self,
        run: RunRef,
        results: Iterable[FunctionResultDict],
        *,
        thread_id: str | None = ...,
        stream: bool,
        events_start_idx: int | None = ...,
        idempotency_key: str | None = ...,
        timeout: float = ...,
    ) -> Run | RunStream: ...

    def submit_tool_results(
        self,
        run: RunRef,
        results: Iterable[FunctionResultDict],
        *,
        thread_id: str | None = None,
        stream: bool = False,
        events_start_idx: int | None = None,
        idempotency_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Run | RunStream:
        """Answer the run's tool calls; see :meth:`AsyncRuns.submit_tool_results`."""
        submitted = self._loop.run(
            self._async.submit_tool_results(
                run,
                results,
                thread_id=thread_id,
                stream=stream,
                events_start_idx=events_start_idx,
                idempotency_key=idempotency_key,
                timeout=timeout,
            )
        )
        return submitted if isinstance(submitted, Run) else RunStream(self._loop, submitted)

    def cancel(
        self, run: RunRef, *, thread_id: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> Run:
        """Ask the service to cancel the run."""
        return self._loop.run(self._async.cancel(run, thread_id=thread_id, timeout=timeout))

    def get_status(
        self, run: RunRef, *, thread_id: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> RunStatus:
        """The run's current status."""
        return self._loop.run(self._async.get_status(run, thread_id=thread_id, timeout=timeout))

    def get_result(
        self, run: RunRef, *, thread_id: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> RunResult:
        """The run's current result."""
        return self._loop.run(self._async.get_result(run, thread_id=thread_id, timeout=timeout))

    def wait(
        self,
        run: RunRef,
        *,
        thread_id: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        poll_interval: float = 0.5,
    ) -> RunResult:
        """Poll until the run finishes or asks for tool outputs; see :meth:`AsyncRuns.wait`."""
        return self._loop.run(
            self._async.wait(run, thread_id=thread_id, timeout=timeout, poll_interval=poll_interval)
        )

    def close(self) -> None:
        """Close the connection."""
        self._loop.run(self._async.close())

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
