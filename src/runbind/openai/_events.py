"""OpenAI run events: the server-sent stream of a streaming call and, when it drops, the same
run followed by polling from what was delivered, without repeats."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from .._core.client_base import Cursors, finite, left
from .._core.errors import APIConnectionError, ApiError, DecodeError, RunTimeoutError
from .._core.retry import Deadline, Transient
from .._core.run import Run, RunStreamEvent
from .._core.status import RunStatus
from .._core.stream import Pulse
from ._content import body_pieces
from ._http import Json, OpenAIHttp
from ._pool import close_response
from ._sse import parse_events
from ._transport import check_response, check_status, poll_hint, request_id, translate

if TYPE_CHECKING:
    from runbind_generated.openai import AssistantStreamEvent, RunObject

    Event = RunStreamEvent[AssistantStreamEvent, RunObject]

__all__ = ["OpenAIEvents", "Resume", "first_key", "state"]

_STREAM_POLL = 0.25  # seconds between polls once a dropped stream goes on by polling
_DRAIN = 0.25  # seconds a stream may take to end after `done` and keep its connection


def first_key(body: Any) -> Any:
    """A listing's ``data``, if the body is a JSON object."""
    return body.get("data") if isinstance(body, dict) else None


def state(run: Run) -> str:
    """What a poll compares to tell a change: the status, and for requires_action the calls."""
    if run.requires_action:
        return f"{run.status_raw}:" + ",".join(str(call.id) for call in run.tool_calls)
    return str(run.status_raw)


class Resume:
    """What a stream has delivered, so that polling can go on from there without repeats."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.status: str | None = None
        self.messages: set[str] = set()
        self.run_id: str | None = None

    def saw(self, event: RunStreamEvent) -> None:
        """Note ``event`` as delivered."""
        self.index = event.event_index + 1
        if event.run is not None:
            self.run_id = event.run.id
            self.status = state(event.run)
        raw = event.raw
        data = getattr(raw, "data", None)
        if event.status_raw == "thread.message.completed" and data is not None:
            self.messages.add(str(getattr(data, "id", "")))


class OpenAIEvents:
    """Event streams of one client: each remembers where it got to in the client's cursors."""

    def __init__(self, http: OpenAIHttp, cursors: Cursors[Resume]) -> None:
        self._http = http
        self._cursors = cursors

    def _keep(self, resume: Resume) -> None:
        if resume.run_id is not None:
            self._cursors.put(resume.run_id, resume)

    async def sse(
        self,
        what: str,
        url: str,
        body: Json,
        deadline: Deadline,
        resume: Resume,
        thread_id: str,
        idempotency_key: str | None,
        pulse: Pulse,
    ) -> AsyncIterator[Event]:
        """Events of a streaming POST; if it drops, the run is followed by polling instead.

        The POST and its answer's head are bounded like one call (:meth:`OpenAIHttp.step`);
        the events by ``deadline`` (none: the stream's idle timeout, which every chunk feeds).
        """
        http = self._http
        request_headers = http.headers(idempotency_key)
        request_headers["Accept"] = "text/event-stream"
        started = False
        info = http.info(what, "POST", url, 1, stream=True)
        sent_at = await http.observer.sent(info)
        try:
            opening = http.step(deadline)
            request = http.build(
                "POST",
                url,
                left(opening, f"openai {what}"),
                body=body,
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
                await http.observer.answered(
                    info,
                    sent_at,
                    status_code=response.status_code,
                    request_id=request_id(response, http.secret),
                )
                events = parse_events(_bounded(body_pieces(response), deadline, what, pulse))
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
                await close_response(response)
        except Transient as exc:
            await http.observer.answered(info, sent_at, error=exc.error)
            raise exc.error from None  # the call itself failed: nothing was streamed
        except (DecodeError, ApiError, RunTimeoutError) as exc:
            if not started:
                await http.observer.answered(info, sent_at, error=exc)
            raise
        except Exception as exc:
            translated = translate(exc, what)
            if not started:
                await http.observer.answered(info, sent_at, error=translated)
            if not isinstance(translated, Transient):
                raise translated from None
            if not started or resume.run_id is None:
                raise translated.error from None
        # The stream ended without `done` (dropped, or cut short by the server): polling goes on
        # from what was delivered, and ends with `done` even when the run had already finished.
        if resume.run_id is None:
            raise APIConnectionError(
                "openai", "connection_error", "the stream ended before the run started"
            )
        async for event in self.poll(thread_id, resume.run_id, resume, deadline, pulse):
            yield event

    async def poll(
        self, thread_id: str, run_id: str, resume: Resume, deadline: Deadline, pulse: Pulse
    ) -> AsyncIterator[Event]:
        """A stream made by polling: one run event per status change, the answer, then done.

        Each poll is bounded like one call; its answer is a sign of life for ``pulse``.
        """
        resume.run_id = run_id
        interval = _STREAM_POLL
        url = self._http.url("threads", thread_id, "runs", run_id)
        while True:
            data, response = await self._http.request(
                "listen", "GET", url, self._http.step(deadline)
            )
            pulse.beat()
            current = Run.from_openai(data)
            status = str(current.status_raw)
            if state(current) != resume.status:
                yield self._event(f"thread.run.{status}", data, resume)
            if current.is_finished or current.requires_action:
                if current.status in (RunStatus.COMPLETED, RunStatus.INCOMPLETE):
                    message = await self.answer(thread_id, run_id, self._http.step(deadline))
                    if message is not None and message.get("id") not in resume.messages:
                        yield self._event("thread.message.completed", message, resume)
                yield self._event("done", "[DONE]", resume)
                return
            pause = max(interval, poll_hint(response) or 0.0)
            if not await deadline.sleep(pause):
                raise RunTimeoutError(f"openai listen: run {run_id} still {status}", current)

    def _event(self, name: str, data: Any, resume: Resume) -> Event:
        event = RunStreamEvent.from_openai({"event": name, "data": data}, event_index=resume.index)
        resume.saw(event)
        self._keep(resume)
        return event

    async def answer(self, thread_id: str, run_id: str, deadline: Deadline) -> Json | None:
        """The newest assistant message the run wrote, if any."""
        data, _ = await self._http.request(
            "get_result",
            "GET",
            self._http.url("threads", thread_id, "messages"),
            deadline,
            params={"run_id": run_id, "order": "desc", "limit": "20"},
        )
        items = first_key(data)
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("role") == "assistant":
                return item
        return None


async def _drain(rest: AsyncIterator[Any]) -> None:
    """Read the little a stream has left after ``done`` (its body's end), so that its connection
    goes back to the pool instead of being closed; one that goes on longer is closed as before."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(_DRAIN):
            async for _ in rest:
                pass


async def _bounded(
    chunks: AsyncIterator[bytes], deadline: Deadline, what: str, pulse: Pulse
) -> AsyncIterator[bytes]:
    """``chunks`` until the deadline: httpx's timeout bounds each read, so a stream that drips
    just inside it would otherwise go on past the caller's deadline. Each chunk is a sign of
    life for ``pulse``."""
    while True:
        try:
            async with asyncio.timeout(finite(left(deadline, f"openai {what}"))):
                chunk = await anext(chunks)
        except StopAsyncIteration:
            return
        pulse.beat()
        yield chunk
