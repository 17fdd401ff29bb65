"""``runbind demo``: one full run lifecycle per provider against an in-process emulator.

All go through the Runs clients (``runbind.yandex`` over gRPC, ``runbind.openai`` over HTTP
with server-sent events, for the Assistants API and for background responses). Each run
streams, asks for two function calls, gets the results and streams its answer to completion.
The background response's first stream is cut by the emulator's fault injection: the client
resumes it after the last sequence number it saw.
"""

from __future__ import annotations

from typing import TextIO

from .. import RunStreamEvent, StreamEventKind, ToolCall
from .. import openai as openai_client
from .. import yandex as yandex_client
from .._core.stream import AsyncRunStream
from ._server import Emulator

__all__ = ["demo"]

_QUESTION = "What is the weather in Oslo and Bergen?"
_SCRIPT = "tools calls=2 chunks=4"
_SKIPPED = (StreamEventKind.RUN_STEP, StreamEventKind.PARTIAL_MESSAGE)
_CUT = 6  # events of the first Responses stream before the emulator cuts it
_WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}

Client = yandex_client.AsyncRuns | openai_client.AsyncRuns


async def demo(out: TextIO) -> None:
    """Start an emulator, run both lifecycles, print what happened to ``out``."""
    async with Emulator() as emulator:
        print(f"emulator: gRPC {emulator.grpc_target}, HTTP {emulator.openai_base_url}", file=out)
        print("\n== Yandex Cloud AI Assistants (gRPC) ==", file=out)
        async with yandex_client.AsyncRuns(endpoint=emulator.grpc_target) as yandex:
            ids = await emulator.aseed("yandex", _QUESTION, behaviour=_SCRIPT)
            await _lifecycle(yandex, *ids, out)
        print("\n== OpenAI Assistants (REST + server-sent events) ==", file=out)
        async with openai_client.AsyncRuns(base_url=emulator.openai_base_url) as openai:
            ids = await emulator.aseed("openai", _QUESTION, behaviour=_SCRIPT)
            await _lifecycle(openai, *ids, out)
        print(
            "\n== OpenAI Responses (background responses, REST + server-sent events) ==", file=out
        )
        async with openai_client.AsyncResponses(base_url=emulator.openai_base_url) as responses:
            emulator.faults.drop_stream(_CUT, protocol="openai")
            await _responses(responses, out)


async def _lifecycle(runs: Client, assistant_id: str, thread_id: str, out: TextIO) -> None:
    stream: AsyncRunStream = await runs.create(assistant_id, thread_id, stream=True)
    print(f"run created on thread {thread_id}", file=out)
    while True:
        calls: list[ToolCall] = []
        async for event in stream:
            _show(event, out)
            calls.extend(event.tool_calls)
        if not calls or stream.run is None:
            break
        results = [call.result(f"+{i + 3} C") for i, call in enumerate(calls)]
        stream = await runs.submit_tool_results(stream.run, results, stream=True)
        print(f"  submitted {len(results)} tool results", file=out)
    if stream.run is not None:
        result = await runs.get_result(stream.run)
        print(f"result: {result.status_name}: {result.text!r}", file=out)


async def _responses(responses: openai_client.AsyncResponses, out: TextIO) -> None:
    """The same tool loop as background responses: each round is a new response continuing the
    last (``previous_run_id``); a round's stream ends with the response asking for calls."""
    stream = await responses.create(
        "gpt-4o", _QUESTION, tools=[_WEATHER], labels={"emulator": _SCRIPT}, stream=True
    )
    print(f"response created (the emulator cuts its stream after {_CUT} events)", file=out)
    while True:
        calls: list[ToolCall] = []
        seen: list[int] = []
        async for event in stream:
            if event.status is not StreamEventKind.MESSAGE:
                _show(event, out)
            calls.extend(event.tool_calls)
            seen.append(event.event_index)
        whole = "each once, in order" if seen == list(range(len(seen))) else "NOT in order"
        print(f"  {len(seen)} events, sequence numbers 0..{seen[-1]}: {whole}", file=out)
        if not calls:
            break
        results = [call.result(f"+{i + 3} C") for i, call in enumerate(calls)]
        stream = await responses.submit_tool_results(stream.current_run, results, stream=True)
        print(f"  submitted {len(results)} tool results", file=out)
    run = stream.current_run
    print(f"  (response {run.id} continues {run.previous_run_id})", file=out)
    result = await responses.get_result(run)
    print(f"result: {result.status_name}: {result.text!r}", file=out)
    replayed = [e.event_index async for e in responses.listen(run, events_start_idx=3)]
    print(f"listened again from sequence number 3: events {replayed[0]}..{replayed[-1]}", file=out)


def _show(event: RunStreamEvent, out: TextIO) -> None:
    if event.status in _SKIPPED and not (
        event.provider != "openai" and event.status is StreamEventKind.PARTIAL_MESSAGE
    ):
        return
    line = f"  [{event.event_index}] {event.status_name}"
    if event.status is StreamEventKind.PARTIAL_MESSAGE:
        line += f": {event.text!r}"
    elif event.tool_calls:
        line += ": " + ", ".join(f"{c.name}({c.arguments_json})" for c in event.tool_calls)
    elif event.status in (StreamEventKind.DONE, StreamEventKind.MESSAGE) and event.message:
        line += f": {event.message.text!r}"
    elif event.run is not None:
        line += f" (run {event.run.status_name})"
    print(line, file=out)
