"""The OpenAI Responses API under ``/v1/responses``: create (background or not, streamed or not),
retrieve (and resume a stream after a sequence number), cancel, delete, list input items.

Mounted by :class:`~._openai.OpenAIApp` beside the Assistants API, so the same base URL, key,
fault injection and error objects apply. Bad input is a 4xx with the spec's error object.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from .._core import offload
from .._core.status import RunStatus
from . import _responses_engine as engine
from ._http import EventStream, Request, Response
from ._openai_requests import ApiError, page
from ._responses_objects import Json, Turn, finished, frames, item_text, response_object
from ._responses_requests import CreateBody, invalid, parse_create, query_flag, query_int
from ._script import Script
from ._state import CoreRun, Table, new_id, now

__all__ = ["ResponsesApp"]

Handler = Callable[[Request, dict[str, str]], Awaitable[Response | EventStream]]

_SETTLE = 5.0
"""Seconds a cancel or delete waits for the response to stop."""


class ResponsesApp:
    """The Responses endpoints over their own table; ``tasks`` collects the tasks it starts."""

    def __init__(self, tasks: set[asyncio.Task[None]], poll_after_ms: int | None = None) -> None:
        self.tasks = tasks
        self.poll_after_ms = poll_after_ms
        self.responses: Table[Turn] = Table()

    def routes(self) -> list[tuple[tuple[str, ...], dict[str, Handler]]]:
        """``(path pattern, {method: handler})`` for the OpenAI app's router."""
        return [
            (("responses",), {"POST": self.create}),
            (("responses", ":id"), {"GET": self.retrieve, "DELETE": self.delete}),
            (("responses", ":id", "cancel"), {"POST": self.cancel}),
            (("responses", ":id", "input_items"), {"GET": self.input_items}),
        ]

    def _turn(self, response_id: str) -> Turn:
        turn = self.responses.get(response_id)
        if turn is None:
            raise ApiError(404, f"Response with id '{response_id}' not found.")
        return turn

    def _json(self, turn: Turn) -> Response:
        """A Response object, with the ``openai-poll-after-ms`` hint when the emulator gives one."""
        response = Response.json(200, response_object(turn))
        if self.poll_after_ms is None:
            return response
        hint = ("openai-poll-after-ms", str(self.poll_after_ms))
        return Response(response.status, response.body, (*response.headers, hint))

    # create

    async def create(self, request: Request, params: dict[str, str]) -> Response | EventStream:
        """Start a response: its first events are recorded before the answer goes out."""
        body = await offload.decode(parse_create, request.body)  # a large body: off the loop
        previous = self._previous(body)
        turn = Turn(
            id=new_id("resp_"),
            created_at=now(),
            body=body,
            script=body.script or (previous.script if previous is not None else Script()),
            run=CoreRun(id="", thread_id="", assistant_id="", created_at=now(), stream=body.stream),
        )
        turn.run.id = turn.id
        _chain(turn, previous)
        if body.store:
            self.responses.add(turn.id, turn)
        engine.opening(turn)
        engine.start(turn, self.tasks)
        if body.stream:
            return EventStream(frames(turn))
        if not body.background:
            await _settle(turn, None)
        return self._json(turn)

    def _previous(self, body: CreateBody) -> Turn | None:
        """The response ``previous_response_id`` names; its function calls must all be
        answered by this input, and this input may answer no other call."""
        if body.previous_response_id is None:
            return None
        previous = self.responses.get(body.previous_response_id)
        if previous is None:
            invalid(
                f"Previous response with id '{body.previous_response_id}' not found.",
                "previous_response_id",
                "previous_response_not_found",
            )
        if not finished(previous):
            invalid(
                f"Previous response '{previous.id}' is still {previous.status.value}.",
                "previous_response_id",
            )
        answered = {i["call_id"] for i in body.input if i["type"] == "function_call_output"}
        pending = {c["call_id"] for c in previous.calls()}
        offered = pending | {i["call_id"] for i in body.input if i["type"] == "function_call"}
        for call_id in sorted(answered - offered):
            invalid(f"No tool call found for function call output with call_id {call_id}.", "input")
        for call_id in sorted(pending - answered):
            invalid(f"No tool output found for function call {call_id}.", "input")
        expires = previous.calls_expire_at
        if pending and expires is not None and time.time() > expires:
            invalid(
                f"The function calls of response '{previous.id}' expired "
                f"{previous.script.seconds:g} s after it completed, without outputs.",
                "previous_response_id",
                "expired",
            )
        return previous

    # retrieve, cancel, delete

    async def retrieve(self, request: Request, params: dict[str, str]) -> Response | EventStream:
        """The response; with ``stream=true`` its events after ``starting_after``, then live."""
        turn = self._turn(params["id"])
        after = query_int(request.query, "starting_after")
        if not query_flag(request.query, "stream"):
            return self._json(turn)
        if not turn.body.background:
            invalid("Only responses created with background=true can be streamed again.", "stream")
        return EventStream(frames(turn, after))

    async def cancel(self, request: Request, params: dict[str, str]) -> Response:
        """Cancel a background response that has not ended (a cancelled one: as it is)."""
        turn = self._turn(params["id"])
        if not turn.body.background:
            invalid("Only responses created with background=true can be cancelled.", None, None)
        if turn.status is not RunStatus.CANCELLED:
            if finished(turn):
                invalid(f"Cannot cancel a {turn.status.value} response.", None, None)
            await _stop(turn)
        return self._json(turn)

    async def delete(self, request: Request, params: dict[str, str]) -> Response:
        """Forget the response (one still running is cancelled first)."""
        turn = self._turn(params["id"])
        if not finished(turn):
            await _stop(turn)
        self.responses.pop(turn.id)
        return Response.json(200, {"id": turn.id, "object": "response", "deleted": True})

    async def input_items(self, request: Request, params: dict[str, str]) -> Response:
        """The response's own input items, a page at a time (newest first unless ``order``)."""
        turn = self._turn(params["id"])
        shown, more = page(turn.body.input, request.query, lambda item: str(item["id"]))
        data: Json = {
            "object": "list",
            "data": shown,
            "first_id": shown[0]["id"] if shown else None,
            "last_id": shown[-1]["id"] if shown else None,
            "has_more": more,
        }
        return Response.json(200, data)


def _chain(turn: Turn, previous: Turn | None) -> None:
    """What ``turn`` continues: the context it reads, and the tool loop it carries on (when its
    input answers calls) with the results so far."""
    items = turn.body.input
    names = {i["call_id"]: i["name"] for i in items if i["type"] == "function_call"}
    outputs = [i for i in items if i["type"] == "function_call_output"]
    if previous is not None:
        turn.context = [*previous.context, *previous.output]
        names |= {c["call_id"]: c["name"] for c in previous.calls()}
        if outputs:
            turn.round = previous.round
            turn.results = list(previous.results)
    turn.context += items
    turn.results += [(str(names.get(i["call_id"], i["call_id"])), item_text(i)) for i in outputs]


async def _stop(turn: Turn) -> None:
    """Ask the response's task to stop, and wait (briefly) until it has."""
    turn.run.cancel_requested.set()
    await turn.run.notify()
    await _settle(turn, _SETTLE)


async def _settle(turn: Turn, limit: float | None) -> None:
    """Wait until the response ends (at most ``limit`` seconds)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(limit), turn.run.changed:
            await turn.run.changed.wait_for(lambda: finished(turn))
