"""OpenAI Responses streams: the server-sent events of a create (``POST /responses``) or of a
stored background response (``GET /responses/{id}?stream=true&starting_after=N``).

A stream that drops, or ends before the response has, is opened again after the last sequence
number delivered: every event is delivered once, in order (an event the server sends again is
skipped). Reconnecting without getting an event is retried with the client's backoff, at most
``RetryPolicy.attempts`` times in a row; the stream's deadline and idle timeout bound it all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._core.client_base import left
from .._core.errors import APIConnectionError, ApiError, DecodeError, RunTimeoutError
from .._core.retry import Deadline, RetryPolicy, Transient, log_retry
from .._core.run import Run, RunStreamEvent
from .._core.stream import Pulse
from ._content import body_pieces
from ._events import _bounded, _drain
from ._http import Json, OpenAIHttp
from ._pool import close_response
from ._sse import parse_events
from ._transport import check_response, check_status, log, request_id, translate

if TYPE_CHECKING:
    from runbind_generated.openai import Response, ResponseStreamEvent

    Event = RunStreamEvent[ResponseStreamEvent, Response]

__all__ = ["ResponseStreams", "ends"]

_DONE = "[DONE]"
"""The end marker some OpenAI-compatible servers send (the Responses API sends none)."""


def ends(run: Run | None) -> bool:
    """Whether ``run`` will not move on by itself: finished, or waiting for tool outputs."""
    return run is not None and (run.is_finished or run.requires_action)


def _numbered(event: RunStreamEvent) -> bool:
    """Whether the event carries its own ``sequence_number`` (the stream's cursor)."""
    number = getattr(event.raw, "sequence_number", None)
    return isinstance(number, int) and not isinstance(number, bool)


class ResponseStreams:
    """The event streams of one client, over its :class:`OpenAIHttp` (``policy``: its retry
    policy, read when a stream resumes)."""

    def __init__(self, http: OpenAIHttp, policy: Callable[[], RetryPolicy]) -> None:
        self._http = http
        self._policy = policy

    async def events(
        self,
        what: str,
        *,
        deadline: Deadline,
        pulse: Pulse,
        response_id: str | None = None,
        after: int | None = None,
        create: Json | None = None,
        idempotency_key: str | None = None,
        resumable: bool = True,
    ) -> AsyncIterator[Event]:
        """Events after sequence number ``after`` (None: all) of ``response_id``, or, with
        ``create``, of the response that body creates; resumed when the stream drops (unless
        not ``resumable``: a foreground response's stream cannot be opened again)."""
        http = self._http
        last = after
        misses = 0  # connections in a row that delivered nothing
        attempt = 0
        while True:
            attempt += 1
            progressed = False
            error: ApiError | None = None
            retry_after: float | None = None
            if create is not None and attempt == 1:
                opening: tuple[str, str, Json | None, Mapping[str, str] | None] = (
                    "POST",
                    http.url("responses"),
                    create,
                    None,
                )
            else:
                assert response_id is not None
                params = {"stream": "true"}
                if last is not None:
                    params["starting_after"] = str(last)
                opening = ("GET", http.url("responses", response_id), None, params)
            try:
                frames = self._frames(what, *opening, deadline, pulse, idempotency_key, attempt)
                async with contextlib.aclosing(frames):
                    async for data in frames:
                        fallback = 0 if last is None else last + 1
                        event = RunStreamEvent.from_openai_response(data, event_index=fallback)
                        if response_id is None and event.run is not None:
                            response_id = event.run.id
                        if _numbered(event):
                            if last is not None and event.event_index <= last:
                                continue  # sent again after a resume: delivered already
                            last = event.event_index
                        progressed = True
                        yield event
                        if ends(event.run):
                            await _drain(frames)
                            return
            except Transient as exc:  # dropped, or refused for a passing reason
                error, retry_after = exc.error, exc.retry_after
            except _Done:
                return
            if response_id is None:
                raise error or APIConnectionError(
                    "openai", "connection_error", "the stream ended before the response started"
                )
            if not resumable:
                raise error or APIConnectionError(
                    "openai",
                    "connection_error",
                    f"the stream of foreground response {response_id} ended before the "
                    "response did (only background responses can be streamed again)",
                )
            if error is None and not progressed and ends(await self._get(response_id, deadline)):
                return  # the server has nothing more to send: the response ended without it
            misses = 0 if progressed else misses + 1
            policy = self._policy()
            if misses >= policy.attempts:
                raise error or APIConnectionError(
                    "openai",
                    "connection_error",
                    f"the stream of response {response_id} ended {misses} times in a row "
                    "without an event",
                )
            if misses:
                wait = policy.backoff(misses, retry_after)
                shown = error or APIConnectionError("openai", "connection_error", "no events")
                log_retry(log, f"openai {what}", shown, wait, misses, policy.attempts)
                if not await deadline.sleep(wait):
                    raise RunTimeoutError(f"openai {what}: deadline exceeded while resuming")
            log.debug("runbind: openai %s resumes %s after %s", what, response_id, last)

    async def _get(self, response_id: str, deadline: Deadline) -> Run:
        data, _ = await self._http.request(
            "listen", "GET", self._http.url("responses", response_id), self._http.step(deadline)
        )
        return Run.from_openai_response(data)

    async def _frames(
        self,
        what: str,
        method: str,
        url: str,
        body: Json | None,
        params: Mapping[str, str] | None,
        deadline: Deadline,
        pulse: Pulse,
        idempotency_key: str | None,
        attempt: int,
    ) -> AsyncGenerator[str, None]:
        """The ``data`` of each event of one connection; :class:`_Done` at an end marker.

        Opening it (the request and its answer's head) is bounded like one call; the events by
        ``deadline`` (none: the idle timeout, which every chunk feeds). A failure that another
        connection may not meet is :class:`Transient`.
        """
        http = self._http
        request_headers = http.headers(idempotency_key)
        request_headers["Accept"] = "text/event-stream"
        info = http.info(what, method, url, attempt, stream=True)
        sent_at = await http.observer.sent(info)
        started = False
        try:
            opening = http.step(deadline)
            request = http.build(
                method,
                url,
                left(opening, f"openai {what}"),
                body=body,
                params=params,
                request_headers=request_headers,
            )
            async with asyncio.timeout(left(opening, f"openai {what}")):
                response = await http.send(request)
            try:
                check_status(response, http.secret)
                if response.status_code >= 400:
                    async with asyncio.timeout(left(opening, f"openai {what}")):
                        error_body = await http.read(response)
                    check_response(response, error_body, http.secret)
                started = True
                pulse.beat()  # the answer's head: a sign of life, as a chunk is
                await http.observer.answered(
                    info,
                    sent_at,
                    status_code=response.status_code,
                    request_id=request_id(response, http.secret),
                )
                events = parse_events(_bounded(body_pieces(response), deadline, what, pulse))
                async for sse in events:
                    if sse.data == _DONE:
                        await _drain(events)
                        raise _Done
                    yield sse.data
            finally:
                await close_response(response)
        except _Done:
            raise
        except Transient as exc:
            if not started:
                await http.observer.answered(info, sent_at, error=exc.error)
            raise
        except (DecodeError, ApiError, RunTimeoutError) as exc:
            if not started:
                await http.observer.answered(info, sent_at, error=exc)
            raise
        except Exception as exc:
            translated: Any = translate(exc, what)
            if not started:
                shown = translated.error if isinstance(translated, Transient) else translated
                await http.observer.answered(info, sent_at, error=shown)
            raise translated from None


class _Done(Exception):
    """Internal: the server sent its end marker."""
