"""Responses API objects and stream events built from a stored response (:class:`Turn`).

Every event gets the next ``sequence_number`` of its response (0 first) and is kept, as the
JSON sent, in the response's event log: a stream resumed with ``starting_after`` replays the
log exactly and then follows it live (:func:`frames`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, cast

from .._core.generated import need
from .._core.status import RunStatus
from ._http import sse
from ._openai_objects import dump
from ._responses_requests import CreateBody, text_of
from ._script import Script
from ._state import Call, CoreRun, new_id

if TYPE_CHECKING:
    from runbind_generated.openai import Response

__all__ = [
    "Turn",
    "check_response",
    "emit",
    "finished",
    "frames",
    "item_text",
    "response_object",
    "words",
]

Json = dict[str, Any]

TERMINAL_EVENTS: Final = frozenset(
    f"response.{s}" for s in ("completed", "failed", "incomplete", "cancelled")
)
"""The event that ends a response's stream (``response.cancelled`` is the emulator's own: the
spec has no stream event for a cancelled background response)."""


@dataclass(slots=True, eq=False)
class Turn:
    """One response: its request, its output so far, and its live state and event log
    (``run``: status, events, cancellation, the task driving it).

    ``context`` is what the scripted model reads (the chain's items, then this input);
    ``round`` is how many responses of its tool loop so far asked for calls (this one
    included); ``results`` the ``(function name, output)`` pairs answered in that loop.
    """

    id: str
    created_at: int
    body: CreateBody
    script: Script
    run: CoreRun
    context: list[Json] = field(default_factory=list)
    round: int = 0
    results: list[tuple[str, str]] = field(default_factory=list)
    output: list[Json] = field(default_factory=list)
    error: tuple[str, str] | None = None
    incomplete_reason: str | None = None
    completed_at: int | None = None
    usage: Json | None = None
    calls_expire_at: float | None = None

    @property
    def status(self) -> RunStatus:
        """The response's status (``queued`` ... ``incomplete``)."""
        return self.run.status

    def calls(self) -> list[Json]:
        """The function calls of its output."""
        return [item for item in self.output if item.get("type") == "function_call"]


def finished(turn: Turn) -> bool:
    """The response ended (or its task did, as when the emulator stops)."""
    task = turn.run.task
    return turn.status.is_finished or (task is not None and task.done())


def check_response(data: Json) -> Json:
    """``data`` validated by the generated ``Response`` model and dumped with exactly its keys
    (:func:`._openai_objects.dump`): every Response the emulator sends is one the spec allows."""
    # Resolved on use: the Responses API is newer than some openai-openapi versions.
    return dump(cast("type[Response]", need("runbind_generated.openai", "Response")), data)


def response_object(turn: Turn) -> Json:
    """The Response object of ``turn`` right now."""
    body = turn.body
    status = turn.status
    error = None
    if status is RunStatus.FAILED:
        code, message = turn.error or ("server_error", "failed")
        error = {"code": code, "message": message}
    incomplete = None
    if status is RunStatus.INCOMPLETE:
        incomplete = {"reason": turn.incomplete_reason or "max_output_tokens"}
    data: Json = {
        "id": turn.id,
        "object": "response",
        "created_at": turn.created_at,
        "status": status.value,
        "background": body.background,
        "completed_at": turn.completed_at,
        "error": error,
        "incomplete_details": incomplete,
        "instructions": body.instructions,
        "metadata": dict(body.metadata),
        "model": body.model,
        "output": copy.deepcopy(turn.output),
        "previous_response_id": body.previous_response_id,
        "tools": copy.deepcopy(body.tools),
        **copy.deepcopy(body.echo),
    }
    if turn.usage is not None:  # not nullable: absent until the response has used tokens
        data["usage"] = dict(turn.usage)
    return check_response(data)


def emit(turn: Turn, kind: str, **fields: Any) -> None:
    """Record the event ``kind`` with ``fields`` and the next sequence number."""
    data = {"type": kind, **fields, "sequence_number": len(turn.run.events)}
    turn.run.events.append((kind, json.dumps(data, separators=(",", ":"))))


def emit_response(turn: Turn, kind: str) -> None:
    """An event carrying the whole response (created, queued, in_progress, and the last)."""
    emit(turn, kind, response=response_object(turn))


# --- output items ------------------------------------------------------------------------------


def _added(turn: Turn, item: Json) -> int:
    turn.output.append(item)
    index = len(turn.output) - 1
    emit(turn, "response.output_item.added", output_index=index, item=copy.deepcopy(item))
    return index


def message_started(turn: Turn) -> tuple[int, Json]:
    """An assistant message in progress, with one empty text part: (output index, item)."""
    item: Json = {
        "id": new_id("msg_"),
        "type": "message",
        "status": "in_progress",
        "content": [],
        "role": "assistant",
    }
    index = _added(turn, item)
    part: Json = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    item["content"].append(part)
    emit(
        turn,
        "response.content_part.added",
        item_id=item["id"],
        output_index=index,
        content_index=0,
        part={**part, "text": ""},
    )
    return index, item


def text_delta(turn: Turn, index: int, item: Json, delta: str) -> None:
    """The message's text grew by ``delta``."""
    item["content"][0]["text"] += delta
    emit(
        turn,
        "response.output_text.delta",
        item_id=item["id"],
        output_index=index,
        content_index=0,
        delta=delta,
        logprobs=[],
    )


def message_done(turn: Turn, index: int, item: Json, status: str) -> None:
    """The text, the part and the message are done (``status``: completed or incomplete)."""
    part = item["content"][0]
    ids = {"item_id": item["id"], "output_index": index, "content_index": 0}
    emit(turn, "response.output_text.done", **ids, text=part["text"], logprobs=[])
    emit(turn, "response.content_part.done", **ids, part=copy.deepcopy(part))
    item["status"] = status
    emit(turn, "response.output_item.done", output_index=index, item=copy.deepcopy(item))


def function_call(turn: Turn, call: Call, pieces: int) -> None:
    """A function call item whose arguments stream in ``pieces`` deltas."""
    arguments = json.dumps(call.arguments, separators=(",", ":"))
    item: Json = {
        "id": new_id("fc_"),
        "type": "function_call",
        "status": "in_progress",
        "arguments": "",
        "call_id": call.id,
        "name": call.name,
    }
    index = _added(turn, item)
    size = max(1, -(-len(arguments) // max(pieces, 1)))
    for start in range(0, len(arguments), size):
        piece = arguments[start : start + size]
        item["arguments"] += piece
        emit(
            turn,
            "response.function_call_arguments.delta",
            item_id=item["id"],
            output_index=index,
            delta=piece,
        )
    emit(
        turn,
        "response.function_call_arguments.done",
        item_id=item["id"],
        name=call.name,
        output_index=index,
        arguments=arguments,
    )
    item["status"] = "completed"
    emit(turn, "response.output_item.done", output_index=index, item=copy.deepcopy(item))


def close_items(turn: Turn) -> None:
    """Items still in progress when the response ends early become incomplete."""
    for item in turn.output:
        if item.get("status") == "in_progress":
            item["status"] = "incomplete"


def words(text: str) -> int:
    """What the emulator counts as tokens: words."""
    return len(re.findall(r"\w+", text))


def item_text(item: Json) -> str:
    """The text an item holds: a message's parts, a call's arguments, an output."""
    kind = item.get("type")
    if kind == "function_call":
        return str(item.get("arguments", ""))
    if kind == "function_call_output":
        output = item.get("output")
        return output if isinstance(output, str) else text_of({"content": output or []})
    return text_of(item)


def set_usage(turn: Turn) -> None:
    """Token usage: the context's words in, the output's words out."""
    prompt = sum(words(item_text(item)) for item in turn.context)
    completion = sum(words(item_text(item)) for item in turn.output)
    turn.usage = {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


# --- streams -----------------------------------------------------------------------------------


async def frames(turn: Turn, after: int | None = None) -> AsyncGenerator[bytes, None]:
    """SSE frames of the events after sequence number ``after`` (all: None), live, until the
    response ends."""
    start = 0 if after is None else after + 1
    run = turn.run
    async with contextlib.aclosing(run.follow(start, lambda: finished(turn))) as events:
        async for kind, data in events:
            yield sse(kind, data)
            if kind in TERMINAL_EVENTS:
                return
