"""The scripted model: drives one run through its lifecycle, step by step.

Each protocol supplies a :class:`Renderer` that turns the steps into its own events (Yandex
``StreamEvent``s, OpenAI server-sent events); the engine itself is provider-neutral.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from .._core.status import RunStatus
from ._script import Script
from ._state import Call, CoreMessage, CoreRun, Thread, new_id, now

__all__ = ["Renderer", "drive", "start", "submit"]

_MAX_WAIT_FOR_RESULTS = 600.0  # seconds a run waits for tool results unless its script says less


class Renderer(Protocol):
    """What a protocol does at each step of a run (append events, then notify)."""

    id_prefix: str

    def status(self, run: CoreRun) -> None:
        """The run's status changed."""

    def message_created(self, run: CoreRun, message: CoreMessage) -> None:
        """The answer message was created (empty)."""

    def partial(self, run: CoreRun, message: CoreMessage, delta: str) -> None:
        """The answer grew by ``delta`` (``message.text`` is the text so far)."""

    def message_done(self, run: CoreRun, message: CoreMessage) -> None:
        """The answer message is complete (or incomplete)."""

    def tool_calls(self, run: CoreRun) -> None:
        """The run asks for ``run.calls``."""

    def finished(self, run: CoreRun) -> None:
        """The run reached a terminal status."""


class _Cancelled(Exception):
    pass


def start(
    run: CoreRun, thread: Thread, script: Script, renderer: Renderer, tasks: set[asyncio.Task[None]]
) -> None:
    """Drive ``run`` on a task of its own (``run.task``), held in ``tasks`` until it ends."""
    task = asyncio.create_task(drive(run, thread, script, renderer))
    run.task = task
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def drive(run: CoreRun, thread: Thread, script: Script, renderer: Renderer) -> None:
    """Run ``script`` for ``run`` until a terminal status; cancellation ends it as cancelled.

    When the emulator stops (the task is cancelled) an unfinished run fails with a
    ``server_error``, so that it does not hold its thread after a restart.
    """
    try:
        await _drive(run, thread, script, renderer)
    except _Cancelled:
        run.awaiting_results = False
        run.cancelled_at = now()
        _set(run, RunStatus.CANCELLED, renderer)
        renderer.finished(run)
    except asyncio.CancelledError:
        if not run.status.is_finished:
            run.awaiting_results = False
            run.error = ("server_error", "the emulator stopped")
            run.failed_at = now()
            _set(run, RunStatus.FAILED, renderer)
            renderer.finished(run)
        raise
    finally:
        await run.notify()


async def _step(run: CoreRun, script: Script, renderer: Renderer) -> None:
    await run.notify()
    if script.delay:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.cancel_requested.wait(), script.delay)
    if run.cancel_requested.is_set():
        raise _Cancelled


def _set(run: CoreRun, status: RunStatus, renderer: Renderer) -> None:
    run.status = status
    renderer.status(run)


def _last_user_text(thread: Thread) -> str:
    for message in reversed(thread.messages):
        if message.role == "user":
            return message.text
    return ""


def _chunks(text: str, count: int) -> list[str]:
    if count <= 0 or not text:
        return [text] if text else []
    size = -(-len(text) // count)
    return [text[i : i + size] for i in range(0, len(text), size)]


async def _drive(run: CoreRun, thread: Thread, script: Script, renderer: Renderer) -> None:
    await _step(run, script, renderer)
    run.started_at = now()
    _set(run, RunStatus.IN_PROGRESS, renderer)
    await _step(run, script, renderer)
    answer = _last_user_text(thread)
    if script.behaviour == "fail":
        if script.chunks:
            await _answer(run, thread, script, renderer, answer, complete=False)
        run.error = (script.code, script.message)
        run.failed_at = now()
        _set(run, RunStatus.FAILED, renderer)
        renderer.finished(run)
        return
    if script.behaviour == "slow":
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.cancel_requested.wait(), script.seconds)
        await _step(run, script, renderer)
    if script.behaviour in ("tools", "expire"):
        results = await _tool_round(run, script, renderer)
        if results is None:
            run.calls = []
            _set(run, RunStatus.EXPIRED, renderer)
            renderer.finished(run)
            return
        answer = "; ".join(f"{name}: {content}" for name, content in results)
        run.calls = []
        _set(run, RunStatus.QUEUED, renderer)
        await _step(run, script, renderer)
        _set(run, RunStatus.IN_PROGRESS, renderer)
        await _step(run, script, renderer)
    await _answer(run, thread, script, renderer, answer, complete=True)


async def _tool_round(
    run: CoreRun, script: Script, renderer: Renderer
) -> list[tuple[str, str]] | None:
    names = run.options.get("function_names") or ["get_weather"]
    run.calls = [
        Call(new_id("call_"), names[i % len(names)], {"index": i, "city": f"city-{i}"})
        for i in range(script.calls)
    ]
    wait = script.seconds if script.behaviour == "expire" else _MAX_WAIT_FOR_RESULTS
    run.expires_at = now() + int(wait) + 1
    run.awaiting_results = True
    _set(run, RunStatus.REQUIRES_ACTION, renderer)
    renderer.tool_calls(run)
    await run.notify()
    got = asyncio.ensure_future(run.submitted.get())
    cancelled = asyncio.ensure_future(run.cancel_requested.wait())
    try:
        done, _ = await asyncio.wait({got, cancelled}, timeout=wait, return_when="FIRST_COMPLETED")
    finally:
        for future in (got, cancelled):
            future.cancel()
    run.awaiting_results = False
    if got in done:
        return got.result()
    if cancelled in done:
        raise _Cancelled
    return None


async def _answer(
    run: CoreRun, thread: Thread, script: Script, renderer: Renderer, text: str, *, complete: bool
) -> None:
    message = CoreMessage(
        id=new_id(renderer.id_prefix),
        thread_id=thread.id,
        role="assistant",
        text="",
        created_at=now(),
        run_id=run.id,
        assistant_id=run.assistant_id,
        status="in_progress",
    )
    thread.messages.append(message)
    run.answer = message
    renderer.message_created(run, message)
    pieces = _chunks(text, script.chunks or 1)
    if script.behaviour == "incomplete":
        pieces = pieces[: max(1, len(pieces) // 2)] if len(pieces) > 1 else [text[: len(text) // 2]]
    for piece in pieces:
        await _step(run, script, renderer)
        message.text += piece
        renderer.partial(run, message, piece)
    for _ in range(script.repeat):
        await _step(run, script, renderer)
        renderer.partial(run, message, "")
    if not complete:
        return
    prompt = sum(len(m.text.split()) for m in thread.messages if m is not message)
    run.usage = (prompt, len(message.text.split()))
    if script.behaviour == "incomplete":
        message.status = "incomplete"
        run.incomplete_reason = "max_completion_tokens"
        renderer.message_done(run, message)
        run.completed_at = now()
        _set(run, RunStatus.INCOMPLETE, renderer)
    else:
        message.status = "completed"
        renderer.message_done(run, message)
        run.completed_at = now()
        _set(run, RunStatus.COMPLETED, renderer)
    renderer.finished(run)


async def submit(run: CoreRun, results: list[tuple[str, str]]) -> None:
    """Hand tool results to a run waiting for them (the caller checked that it is)."""
    run.awaiting_results = False  # taken: a second submit is refused from here on
    run.results_received += 1
    await run.submitted.put(results)
    await run.notify()
