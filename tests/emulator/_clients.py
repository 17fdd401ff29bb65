"""Plain clients of the emulator that are not ours: grpcio with Google protobuf classes, httpx."""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import h2.config
import h2.connection
import h2.events
import httpx
import pytest

from runbind._core.generated import spec_commit
from runbind.emulator import Emulator
from tests.generated.test_proto_wire import World

TIMEOUT = 10.0
"""Seconds any single call may take."""

V1 = "yandex.cloud.ai.assistants.v1"
PROTO = "runbind_generated.proto"
SERVICES = {
    "RunService": f"{V1}.runs.RunService",
    "ThreadService": f"{V1}.threads.ThreadService",
    "MessageService": f"{V1}.threads.MessageService",
    "AssistantService": f"{V1}.AssistantService",
}
Msg = Any
"""A Google protobuf message of a class built at run time (its fields are unknown to mypy)."""
Json = dict[str, Any]

RUN_TERMINAL = ("completed", "incomplete", "failed", "cancelled", "expired")


def stop(emu: Emulator) -> None:
    """Stop an emulator started in a thread and prove it ended cleanly."""
    thread = emu._thread
    emu.stop_thread()
    assert thread is not None
    assert not thread.is_alive(), "emulator thread still running after stop_thread()"
    assert not emu._tasks, f"tasks left after stop: {emu._tasks}"


# --------------------------------------------------------------------------- gRPC


class GrpcWorld:
    """Google protobuf classes of the Yandex services, from the locked protos (grpcio-tools)."""

    def __init__(self, world: World) -> None:
        self.world = world

    def cls(self, name: str) -> Any:
        """The message class ``name`` (full, or relative to ``yandex.cloud.ai.assistants.v1``)."""
        full = name if name.startswith(("yandex.", "google.")) else f"{V1}.{name}"
        return self.world.google_cls(self.world.pool.FindMessageTypeByName(full))

    def method(self, rpc: str) -> Any:
        """The method descriptor of ``"Service/Method"``."""
        service, name = rpc.split("/")
        found = self.world.pool.FindServiceByName(SERVICES[service]).methods_by_name.get(name)
        if found is None:  # an RPC newer than the spec version in use (Submit before 2025-02)
            pytest.skip(f"the spec version in use ({spec_commit(PROTO)}) has no RPC {rpc}")
        return found

    def request(self, rpc: str, **fields: Any) -> Msg:
        """The request message of ``rpc`` with ``fields``."""
        return self.world.google_cls(self.method(rpc).input_type)(**fields)

    def response_cls(self, rpc: str) -> Any:
        """The response message class of ``rpc``."""
        return self.world.google_cls(self.method(rpc).output_type)


def content(text: str) -> Json:
    """A ``MessageContent`` with one text part, as constructor data."""
    return {"content": [{"text": {"content": text}}]}


def text_of(message_content: Msg) -> str:
    """The text of a Google ``MessageContent``."""
    return "".join(part.text.content for part in message_content.content)


def kind(event: Msg) -> str:
    """The name of a StreamEvent's type."""
    return str(type(event).EventType.Name(event.event_type))


def status(run: Msg) -> str:
    """The name of a Run's status."""
    return str(type(run.state).RunStatus.Name(run.state.status))


class Yandex:
    """One grpcio channel to the emulator; requests are Google messages or raw bytes."""

    def __init__(
        self, g: GrpcWorld, channel: Any, metadata: Sequence[tuple[str, str]] = ()
    ) -> None:
        self.g = g
        self.channel = channel
        self.metadata = tuple(metadata)

    def callable(self, rpc: str, *, raw: bool = False) -> Any:
        """The grpcio multi-callable of ``rpc`` (``raw``: the request is sent as given bytes)."""
        method = self.g.method(rpc)
        service, name = rpc.split("/")
        path = f"/{SERVICES[service]}/{name}"
        serialize: Callable[[Any], bytes] = (
            (lambda b: b) if raw else (lambda m: m.SerializeToString())
        )
        shape = (method.client_streaming, method.server_streaming)
        make = {
            (False, False): self.channel.unary_unary,
            (False, True): self.channel.unary_stream,
            (True, True): self.channel.stream_stream,
        }[shape]
        return make(
            path,
            request_serializer=serialize,
            response_deserializer=self.g.response_cls(rpc).FromString,
        )

    def call(self, rpc: str, request: Msg | bytes | None = None, /, **fields: Any) -> Any:
        """One call: the response, or a server stream's responses as a list."""
        if request is None:
            request = self.g.request(rpc, **fields)
        stub = self.callable(rpc, raw=isinstance(request, bytes))
        result = stub(request, timeout=TIMEOUT, metadata=self.metadata)
        return list(result) if self.g.method(rpc).server_streaming else result

    def open_stream(self, rpc: str, **fields: Any) -> Any:
        """A server-streaming call left open: iterate it with ``next``, end it with ``cancel``."""
        request = self.g.request(rpc, **fields)
        return self.callable(rpc)(request, timeout=TIMEOUT, metadata=self.metadata)

    # --- lifecycle helpers

    def assistant(self, script: str | None = None, folder: str = "tests", **fields: Any) -> Msg:
        """A new assistant following ``script``."""
        labels = {"emulator": script} if script is not None else {}
        return self.call("AssistantService/Create", folder_id=folder, labels=labels, **fields)

    def thread(self, text: str = "hello from grpcio", folder: str = "tests") -> Msg:
        """A new thread with one user message."""
        messages = [{"author": {"role": "user"}, "content": content(text)}]
        return self.call("ThreadService/Create", folder_id=folder, messages=messages)

    def start(
        self, script: str, text: str = "hello from grpcio", *, stream: bool = True, **fields: Any
    ) -> Msg:
        """A new run of a new assistant (following ``script``) on a new thread."""
        assistant = self.assistant(script, **fields)
        thread = self.thread(text)
        return self.call(
            "RunService/Create", assistant_id=assistant.id, thread_id=thread.id, stream=stream
        )

    def events(self, run_id: str, start: int | None = None) -> list[Msg]:
        """Every event of a run from ``start`` (Listen returns once the run has finished)."""
        fields: Json = {"run_id": run_id}
        if start is not None:
            fields["events_start_idx"] = {"value": start}
        return list(self.call("RunService/Listen", **fields))

    def get(self, run_id: str) -> Msg:
        """The run now."""
        return self.call("RunService/Get", run_id=run_id)

    def results(self, calls: Msg, prefix: str = "result") -> Json:
        """A ``ToolResultList`` answering every function call of a ``ToolCallList``."""
        return {
            "tool_results": [
                {"function_result": {"name": c.function_call.name, "content": f"{prefix}-{i}"}}
                for i, c in enumerate(calls.tool_calls)
            ]
        }

    def healthy(self) -> None:
        """A normal call on this channel still works."""
        thread = self.thread("still alive?")
        assert self.call("ThreadService/Get", thread_id=thread.id).id == thread.id


class Requests:
    """A blocking queue of requests for a client-streaming call; ``close`` ends it."""

    _END = object()

    def __init__(self) -> None:
        self._queue: queue.Queue[Any] = queue.Queue()

    def put(self, request: Msg) -> None:
        """Send ``request`` next."""
        self._queue.put(request)

    def close(self) -> None:
        """End the request stream."""
        self._queue.put(self._END)

    def __iter__(self) -> Iterator[Msg]:
        while True:
            item = self._queue.get(timeout=TIMEOUT)
            if item is self._END:
                return
            yield item


# --------------------------------------------------------------------------- HTTP


def parse_sse(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """``(event, data)`` of each server-sent event; data lines joined with newlines."""
    name, data = "", []
    for line in lines:
        if line.startswith("event:"):
            name = line[len("event:") :].strip()
        elif line.startswith("data:"):
            data.append(line[len("data:") :].removeprefix(" "))
        elif not line:
            if name or data:
                yield name, "\n".join(data)
            name, data = "", []
        else:
            raise AssertionError(f"unexpected SSE line {line!r}")
    assert not name, "stream ended inside an event"
    assert not data, "stream ended inside an event"


class OpenAI:
    """Raw JSON calls to the emulator's OpenAI side over one ``httpx.Client``."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def ok(self, method: str, path: str, body: Json | None = None, **params: Any) -> Json:
        """The JSON answer of a call that must succeed."""
        response = self.client.request(method, path, json=body, params=params or None)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        value = response.json()
        assert isinstance(value, dict)
        return value

    def error(self, response: httpx.Response, status: int) -> Json:
        """The spec error object of a failed call with ``status``."""
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert isinstance(error, dict)
        assert set(error) >= {"message", "type", "param", "code"}
        assert error["type"] == "invalid_request_error"
        return error

    def sse(self, path: str, body: Json) -> list[tuple[str, Any]]:
        """Every event of a streaming call: ``(name, parsed data)``; ``done`` ends it."""
        events: list[tuple[str, Any]] = []
        with self.client.stream("POST", path, json=body) as response:
            assert response.status_code == 200, response.read()
            assert response.headers["content-type"].startswith("text/event-stream")
            for name, data in parse_sse(response.iter_lines()):
                events.append((name, data if name == "done" else json.loads(data)))
        assert events, "empty stream"
        assert events[-1] == ("done", "[DONE]"), events[-1]
        assert [n for n, _ in events].count("done") == 1
        return events

    def assistant(self, script: str | None = None, **fields: Any) -> Json:
        """A new assistant following ``script``."""
        body: Json = {"model": "gpt-4o", **fields}
        if script is not None:
            body["metadata"] = {"emulator": script}
        return self.ok("POST", "/assistants", body)

    def thread(self, text: str = "hello from httpx") -> Json:
        """A new thread with one user message."""
        return self.ok("POST", "/threads", {"messages": [{"role": "user", "content": text}]})

    def run_path(self, run: Json) -> str:
        """``/threads/{thread}/runs/{run}``."""
        return f"/threads/{run['thread_id']}/runs/{run['id']}"

    def wait(self, run: Json, until: Sequence[str] = RUN_TERMINAL) -> Json:
        """Poll the run until its status is one of ``until`` (bounded)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            current = self.ok("GET", self.run_path(run))
            if current["status"] in until:
                return current
            assert time.monotonic() < deadline, f"run still {current['status']}"
            time.sleep(0.005)

    def messages(self, thread_id: str) -> list[Json]:
        """The thread's messages, oldest first."""
        data = self.ok("GET", f"/threads/{thread_id}/messages", order="asc", limit=100)["data"]
        assert isinstance(data, list)
        return data

    def outputs(self, run: Json, prefix: str = "out") -> Json:
        """A submit_tool_outputs body answering every pending call of ``run``."""
        calls = run["required_action"]["submit_tool_outputs"]["tool_calls"]
        return {
            "tool_outputs": [
                {"tool_call_id": c["id"], "output": f"{prefix}-{i}"} for i, c in enumerate(calls)
            ]
        }

    def healthy(self) -> None:
        """A normal request still works."""
        thread = self.thread("still alive?")
        assert self.ok("GET", f"/threads/{thread['id']}")["id"] == thread["id"]


def raw_exchange(host: str, port: int, data: bytes) -> bytes:
    """Send ``data`` on a fresh TCP connection; everything the server answers until it closes."""
    with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


@dataclass
class GrpcAnswer:
    """What a gRPC server answered a :func:`raw_grpc` call."""

    http_status: str | None = None
    grpc_status: int | None = None
    grpc_message: str = ""
    data: bytes = b""
    reset: bool = False
    sent: int = 0
    """Request DATA bytes sent before the answer came (or the client gave up)."""

    @property
    def status(self) -> int | None:
        """The gRPC status code (a trailers-only answer carries it in its headers)."""
        return self.grpc_status


def raw_grpc(
    port: int,
    method: str,
    data: bytes | Iterable[bytes],
    *,
    headers: Sequence[tuple[str, str]] = (),
    content_type: str | None = "application/grpc",
    end: bool = True,
    timeout: float = TIMEOUT,
) -> GrpcAnswer:
    """One gRPC call on a fresh HTTP/2 connection to ``127.0.0.1:port`` made with ``h2``, its
    request body exactly ``data`` (bytes, or chunks sent as flow control allows, stopping early
    once the server has answered), ending the stream with the last chunk when ``end``."""
    chunks = [data] if isinstance(data, bytes) else data
    service, name = method.split("/")
    answer = GrpcAnswer()
    config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
    connection = h2.connection.H2Connection(config=config)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        connection.initiate_connection()
        stream_id = connection.get_next_available_stream_id()
        head = [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", f"/{SERVICES[service]}/{name}"),
            (":authority", f"127.0.0.1:{port}"),
            ("te", "trailers"),
        ]
        if content_type is not None:
            head.append(("content-type", content_type))
        connection.send_headers(stream_id, [*head, *headers])
        sock.sendall(connection.data_to_send())
        done = False

        def receive(block: bool) -> None:
            nonlocal done
            sock.settimeout(timeout if block else 0.0)
            try:
                received = sock.recv(65536)
            except BlockingIOError:
                return
            except ConnectionError:
                answer.reset = done = True
                return
            if not received:
                done = True
                return
            for event in connection.receive_data(received):
                if isinstance(event, h2.events.ResponseReceived | h2.events.TrailersReceived):
                    fields = dict(cast("list[tuple[str, str]]", event.headers))
                    answer.http_status = fields.get(":status", answer.http_status)
                    if "grpc-status" in fields:
                        answer.grpc_status = int(fields["grpc-status"])
                        answer.grpc_message = fields.get("grpc-message", "")
                elif isinstance(event, h2.events.DataReceived):
                    answer.data += event.data
                    connection.acknowledge_received_data(event.flow_controlled_length, stream_id)
                elif isinstance(event, h2.events.StreamReset):
                    answer.reset = True
                if isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                    done = True
            sock.sendall(connection.data_to_send())

        for whole in chunks:
            chunk = whole
            while chunk and not done:
                receive(block=False)
                window = connection.local_flow_control_window(stream_id)
                if done or not window:
                    if not done:
                        receive(block=True)  # for a window update (or the answer)
                    continue
                size = min(window, connection.max_outbound_frame_size, len(chunk))
                connection.send_data(stream_id, chunk[:size])
                sock.sendall(connection.data_to_send())
                answer.sent += size
                chunk = chunk[size:]
        if end and not done:
            connection.end_stream(stream_id)
            sock.sendall(connection.data_to_send())
        while not done:
            receive(block=True)
    return answer


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing captured was logged at WARNING or above, or with a traceback."""
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert not loud, [(r.name, r.getMessage()) for r in loud]


class LineReader:
    """Lines of a subprocess's stream, read on a thread so reading can time out."""

    def __init__(self, stream: Any) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def next(self, timeout: float = TIMEOUT) -> str | None:
        """The next line, None at the end (queue.Empty when none comes in time)."""
        return self._lines.get(timeout=timeout)
