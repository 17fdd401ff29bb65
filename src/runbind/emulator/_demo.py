"""``runbind demo``: one full run lifecycle per provider against an in-process emulator.

Yandex over the generated grpclib stubs, OpenAI over plain HTTP with server-sent events; both
read through the Run layer. Each run streams, asks for two function calls, gets the results and
streams its answer to completion.
"""

from __future__ import annotations

import asyncio
import http.client
import json
from collections.abc import Iterator
from typing import Any, TextIO

from grpclib.client import Channel
from runbind_generated.proto.yandex.cloud.ai.assistants import v1
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs, threads

from .. import RunStreamEvent, StreamEventKind, to_yandex_tool_results
from ._server import Emulator

__all__ = ["demo"]

_QUESTION = "What is the weather in Oslo and Bergen?"
_SCRIPT = "tools calls=2 chunks=4"


async def demo(out: TextIO) -> None:
    """Start an emulator, run both lifecycles, print what happened to ``out``."""
    async with Emulator() as emulator:
        print(f"emulator: gRPC {emulator.grpc_target}, HTTP {emulator.openai_base_url}", file=out)
        await _yandex(emulator, out)
        await asyncio.to_thread(_openai, emulator, out)


async def _yandex(emulator: Emulator, out: TextIO) -> None:
    print("\n== Yandex Cloud AI Assistants (gRPC) ==", file=out)
    channel = Channel(emulator.host, emulator.grpc_port)
    try:
        assistant = await v1.AssistantServiceStub(channel).create(
            v1.CreateAssistantRequest(folder_id="demo", name="demo", labels={"emulator": _SCRIPT})
        )
        content = threads.MessageContent(
            content=[threads.ContentPart(text=threads.Text(content=_QUESTION))]
        )
        thread = await threads.ThreadServiceStub(channel).create(
            threads.CreateThreadRequest(
                folder_id="demo",
                messages=[threads.MessageData(content=content)],
            )
        )
        stub = runs.RunServiceStub(channel)
        run = await stub.create(
            runs.CreateRunRequest(assistant_id=assistant.id, thread_id=thread.id, stream=True)
        )
        print(f"run {run.id} created", file=out)
        async for raw in stub.listen(runs.ListenRunRequest(run_id=run.id)):
            event = RunStreamEvent.from_yandex(raw)
            _show(event, out)
            if event.status is StreamEventKind.TOOL_CALLS:
                results = [call.result(f"+{i + 3} C") for i, call in enumerate(event.tool_calls)]
                await stub.submit(
                    runs.SubmitToRunRequest(
                        run_id=run.id, tool_result_list=to_yandex_tool_results(results)
                    )
                )
                print(f"  submitted {len(results)} tool results", file=out)
    finally:
        channel.close()


def _show(event: RunStreamEvent, out: TextIO) -> None:
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


def _openai(emulator: Emulator, out: TextIO) -> None:
    print("\n== OpenAI Assistants (REST + server-sent events) ==", file=out)
    conn = http.client.HTTPConnection(emulator.host, emulator.http_port, timeout=30)
    try:
        assistant = _post(
            conn, "/v1/assistants", {"model": "gpt-4o", "metadata": {"emulator": _SCRIPT}}
        )
        body = {
            "assistant_id": assistant["id"],
            "thread": {"messages": [{"role": "user", "content": _QUESTION}]},
            "stream": True,
        }
        index = 0
        path = "/v1/threads/runs"
        while path:
            next_path = ""
            for name, data in _stream(conn, path, body):
                event = RunStreamEvent.from_openai({"event": name, "data": data}, event_index=index)
                index += 1
                if event.status is StreamEventKind.RUN_STEP or (
                    event.status is StreamEventKind.MESSAGE
                    and event.status_name != "thread.message.completed"
                ):
                    continue
                _show(event, out)
                if event.status is StreamEventKind.TOOL_CALLS and event.run is not None:
                    run = event.run
                    outputs = [
                        {"tool_call_id": call.id, "output": f"+{i + 3} C"}
                        for i, call in enumerate(run.tool_calls)
                    ]
                    next_path = f"/v1/threads/{run.thread_id}/runs/{run.id}/submit_tool_outputs"
                    body = {"tool_outputs": outputs, "stream": True}
            if next_path:
                print(f"  submitted {len(body['tool_outputs'])} tool outputs", file=out)
            path = next_path
    finally:
        conn.close()


def _post(conn: http.client.HTTPConnection, path: str, body: dict[str, Any]) -> Any:
    conn.request("POST", path, json.dumps(body), {"content-type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"POST {path}: {response.status} {data!r}")
    return json.loads(data)


def _stream(
    conn: http.client.HTTPConnection, path: str, body: dict[str, Any]
) -> Iterator[tuple[str, str]]:
    conn.request("POST", path, json.dumps(body), {"content-type": "application/json"})
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"POST {path}: {response.status} {response.read()!r}")
    name, data = "", []
    for raw in response:
        line = raw.decode().rstrip("\r\n")
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and name:
            yield name, "\n".join(data)
            name, data = "", []
