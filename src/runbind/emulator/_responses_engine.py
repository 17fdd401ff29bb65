"""The scripted model of the Responses API: drives one response from queued to its end.

The behaviours are the Assistants ones (:mod:`._script`), shaped by how the Responses API works:
a response that asks for function calls *completes* with ``function_call`` items, and the
follow-up response (``previous_response_id`` and ``function_call_output`` items) answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from .._core.status import RunStatus
from ._responses_objects import (
    Turn,
    close_items,
    emit,
    emit_response,
    function_call,
    item_text,
    message_done,
    message_started,
    set_usage,
    text_delta,
)
from ._state import Call, new_id, now

__all__ = ["drive", "opening", "start"]

_STOPPED = ("server_error", "the emulator stopped")


class _Cancelled(Exception):
    pass


def opening(turn: Turn) -> None:
    """The first events, recorded when the response is created: ``response.created`` (and
    ``response.queued`` for a background response, which starts queued)."""
    turn.run.status = RunStatus.QUEUED if turn.body.background else RunStatus.IN_PROGRESS
    emit_response(turn, "response.created")
    if turn.body.background:
        emit_response(turn, "response.queued")


def start(turn: Turn, tasks: set[asyncio.Task[None]]) -> None:
    """Drive ``turn`` on a task of its own, held in ``tasks`` until it ends."""
    task = asyncio.create_task(drive(turn))
    turn.run.task = task
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def drive(turn: Turn) -> None:
    """Run the script; a cancel request ends the response cancelled, and the emulator stopping
    ends an unfinished one failed (``server_error``)."""
    try:
        await _drive(turn)
    except _Cancelled:
        _end(turn, RunStatus.CANCELLED, "response.cancelled")
    except asyncio.CancelledError:
        if not turn.status.is_finished:
            turn.error = _STOPPED
            emit(turn, "error", code=_STOPPED[0], message=_STOPPED[1], param=None)
            _end(turn, RunStatus.FAILED, "response.failed")
        raise
    finally:
        await turn.run.notify()


def _end(turn: Turn, status: RunStatus, kind: str) -> None:
    close_items(turn)
    if status is RunStatus.COMPLETED:
        turn.completed_at = now()
    turn.run.status = status
    emit_response(turn, kind)


async def _step(turn: Turn) -> None:
    """Let streams see what was added, pause ``delay``, and stop here if cancelled."""
    run = turn.run
    await run.notify()
    if turn.script.delay:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.cancel_requested.wait(), turn.script.delay)
    if run.cancel_requested.is_set():
        raise _Cancelled


def _pieces(text: str, count: int) -> list[str]:
    if count <= 0 or not text:
        return [text] if text else []
    size = -(-len(text) // count)
    return [text[i : i + size] for i in range(0, len(text), size)]


def asks_for_calls(turn: Turn) -> bool:
    """This response answers with function calls (its loop has rounds left)."""
    return turn.script.behaviour in ("tools", "expire") and turn.round < turn.script.rounds


def answer_text(turn: Turn) -> str:
    """The tool loop's results, else the last user message of the context."""
    if turn.results:
        return "; ".join(f"{name}: {output}" for name, output in turn.results)
    for item in reversed(turn.context):
        if item.get("type") == "message" and item.get("role") == "user":
            return item_text(item)
    return ""


async def _drive(turn: Turn) -> None:
    script = turn.script
    if turn.status is RunStatus.QUEUED:
        await _step(turn)
        turn.run.status = RunStatus.IN_PROGRESS
    emit_response(turn, "response.in_progress")
    await _step(turn)
    if script.behaviour == "fail":
        if script.chunks:
            await _answer(turn, done=False)
        turn.error = (script.code, script.message)
        _end(turn, RunStatus.FAILED, "response.failed")
        return
    if script.behaviour == "slow":
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(turn.run.cancel_requested.wait(), script.seconds)
        await _step(turn)
    if asks_for_calls(turn):
        await _calls(turn)
        return
    await _answer(turn, done=True)


async def _calls(turn: Turn) -> None:
    """``calls`` function calls, then completed (the follow-up response answers)."""
    names = turn.body.function_names
    for index in range(turn.script.calls):
        call = Call(
            new_id("call_"), names[index % len(names)], {"index": index, "city": f"city-{index}"}
        )
        function_call(turn, call, turn.script.chunks)
        await _step(turn)
    turn.round += 1
    if turn.script.behaviour == "expire":
        turn.calls_expire_at = time.time() + turn.script.seconds
    set_usage(turn)
    _end(turn, RunStatus.COMPLETED, "response.completed")


async def _answer(turn: Turn, *, done: bool) -> None:
    """The answer message, streamed in ``chunks`` deltas (halved for ``incomplete``)."""
    script = turn.script
    text = answer_text(turn)
    index, item = message_started(turn)
    pieces = _pieces(text, script.chunks or 1)
    if script.behaviour == "incomplete":
        pieces = pieces[: max(1, len(pieces) // 2)] if len(pieces) > 1 else [text[: len(text) // 2]]
    for piece in pieces:
        await _step(turn)
        text_delta(turn, index, item, piece)
    for _ in range(script.repeat):
        await _step(turn)
        text_delta(turn, index, item, "")
    if not done:
        return
    set_usage(turn)
    if script.behaviour == "incomplete":
        message_done(turn, index, item, "incomplete")
        turn.incomplete_reason = "max_output_tokens"
        _end(turn, RunStatus.INCOMPLETE, "response.incomplete")
    else:
        message_done(turn, index, item, "completed")
        _end(turn, RunStatus.COMPLETED, "response.completed")
