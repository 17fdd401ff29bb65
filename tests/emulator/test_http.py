"""The emulator's OpenAI side, driven over a socket by httpx with raw JSON and hand-parsed SSE."""

from __future__ import annotations

import contextlib
import json
import logging
import random
import re
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from runbind.emulator import Emulator, _http
from runbind.emulator._http import MAX_FRAMING_BYTES, MAX_HEAD_BYTES
from tests import _leaks as leaks

from ._clients import TIMEOUT, Json, OpenAI, raw_exchange, stop

TEXT = "the quick brown fox jumps over the lazy dog"
MESSAGE_OPENING = [
    "thread.run.step.created",
    "thread.run.step.in_progress",
    "thread.message.created",
    "thread.message.in_progress",
]
MESSAGE_CLOSING = ["thread.message.completed", "thread.run.step.completed"]


def names(events: list[tuple[str, Any]]) -> list[str]:
    """The event names of a stream."""
    return [name for name, _ in events]


def deltas(events: list[tuple[str, Any]]) -> str:
    """The text of every ``thread.message.delta``, joined."""
    return "".join(
        part["text"]["value"]
        for name, data in events
        if name == "thread.message.delta"
        for part in data["delta"]["content"]
    )


def answer(openai: OpenAI, thread_id: str) -> Json:
    """The newest assistant message of a thread."""
    messages = [m for m in openai.messages(thread_id) if m["role"] == "assistant"]
    assert messages
    return messages[-1]


def start(openai: OpenAI, script: str, text: str = TEXT, **body: Any) -> Json:
    """A run of a new assistant on a new thread (not streaming unless ``body`` says so)."""
    assistant = openai.assistant(script)
    thread = openai.thread(text)
    return openai.ok(
        "POST", f"/threads/{thread['id']}/runs", {"assistant_id": assistant["id"], **body}
    )


# --------------------------------------------------------------------------- lifecycles


def test_echo_run_without_streaming(openai: OpenAI) -> None:
    assistant = openai.assistant("echo chunks=3")
    assert assistant["object"] == "assistant"
    assert assistant["metadata"] == {"emulator": "echo chunks=3"}
    thread = openai.thread(TEXT)
    run = openai.ok(
        "POST",
        f"/threads/{thread['id']}/runs",
        {"assistant_id": assistant["id"], "metadata": {"purpose": "echo"}},
    )
    assert run["object"] == "thread.run"
    assert run["status"] in ("queued", "in_progress", "completed")
    assert (run["thread_id"], run["assistant_id"]) == (thread["id"], assistant["id"])
    done = openai.wait(run)
    assert done["status"] == "completed"
    assert done["metadata"] == {"purpose": "echo"}
    assert done["completed_at"] is not None
    assert done["started_at"] is not None
    assert done["usage"]["completion_tokens"] == len(TEXT.split())
    usage = done["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    message = answer(openai, thread["id"])
    assert message["content"][0]["text"]["value"] == TEXT
    assert (message["status"], message["run_id"]) == ("completed", run["id"])
    got = openai.ok("GET", f"/threads/{thread['id']}/messages/{message['id']}")
    assert got == message


def test_echo_run_streams_spec_events_in_order(openai: OpenAI) -> None:
    assistant = openai.assistant("echo chunks=3")
    thread = openai.thread(TEXT)
    events = openai.sse(
        f"/threads/{thread['id']}/runs", {"assistant_id": assistant["id"], "stream": True}
    )
    assert names(events) == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        *MESSAGE_OPENING,
        *["thread.message.delta"] * 3,
        *MESSAGE_CLOSING,
        "thread.run.completed",
        "done",
    ]
    run = events[0][1]
    assert run["object"] == "thread.run"
    statuses = [
        data["status"]
        for name, data in events
        if name.startswith("thread.run.") and data["object"] == "thread.run"
    ]
    assert statuses == ["queued", "queued", "in_progress", "completed"]
    assert all(
        data["id"] == run["id"]
        for name, data in events
        if name.startswith("thread.run.") and name.count(".") == 2
    )
    assert deltas(events) == TEXT
    completed = events[-4][1]
    assert completed["object"] == "thread.message"
    assert completed["content"][0]["text"]["value"] == TEXT
    assert openai.ok("GET", openai.run_path(run))["status"] == "completed"


def test_create_thread_and_run_streams_the_thread_first(openai: OpenAI) -> None:
    assistant = openai.assistant("echo chunks=2")
    body = {
        "assistant_id": assistant["id"],
        "thread": {"messages": [{"role": "user", "content": TEXT}], "metadata": {"t": "1"}},
        "stream": True,
    }
    events = openai.sse("/threads/runs", body)
    assert names(events)[:3] == ["thread.created", "thread.run.created", "thread.run.queued"]
    thread = events[0][1]
    assert thread["object"] == "thread"
    assert thread["metadata"] == {"t": "1"}
    assert events[1][1]["thread_id"] == thread["id"]
    assert names(events)[-2:] == ["thread.run.completed", "done"]
    assert deltas(events) == TEXT
    assert openai.ok("GET", f"/threads/{thread['id']}")["id"] == thread["id"]

    plain = openai.ok("POST", "/threads/runs", {**body, "stream": False})
    assert openai.wait(plain)["status"] == "completed"
    assert answer(openai, plain["thread_id"])["content"][0]["text"]["value"] == TEXT


def test_tools_then_plain_submit_tool_outputs(openai: OpenAI) -> None:
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    run = start(openai, "tools calls=3", tools=[tool])
    waiting = openai.wait(run, until=["requires_action"])
    calls = waiting["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["lookup"] * 3
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [
        {"index": i, "city": f"city-{i}"} for i in range(3)
    ]
    assert len({c["id"] for c in calls}) == 3
    submitted = openai.ok(
        "POST", openai.run_path(run) + "/submit_tool_outputs", openai.outputs(waiting, "rain")
    )
    assert submitted["status"] in ("queued", "in_progress", "completed")
    done = openai.wait(run)
    assert done["status"] == "completed"
    assert done["required_action"] is None
    text = answer(openai, run["thread_id"])["content"][0]["text"]["value"]
    assert text == "lookup: rain-0; lookup: rain-1; lookup: rain-2"
    wrong_method = openai.client.get(openai.run_path(run) + "/submit_tool_outputs")
    assert wrong_method.status_code == 405


def test_tools_then_streaming_submit_tool_outputs(openai: OpenAI) -> None:
    assistant = openai.assistant("tools calls=2 chunks=2")
    thread = openai.thread(TEXT)
    first = openai.sse(
        f"/threads/{thread['id']}/runs", {"assistant_id": assistant["id"], "stream": True}
    )
    assert names(first) == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        *["thread.run.step.delta"] * 6,  # per call: id and name, then its arguments in 2
        "thread.run.requires_action",
        "done",
    ]
    run = first[-2][1]
    assert run["status"] == "requires_action"
    step = first[3][1]
    assert step["type"] == "tool_calls"
    pieces = [d["delta"]["step_details"]["tool_calls"][0] for n, d in first[5:-2]]
    assert [p["index"] for p in pieces] == [0, 0, 0, 1, 1, 1]
    calls = run["required_action"]["submit_tool_outputs"]["tool_calls"]
    for index, call in enumerate(calls):
        mine = [p for p in pieces if p["index"] == index]
        assert (mine[0]["id"], mine[0]["function"]["name"]) == (
            call["id"],
            call["function"]["name"],
        )
        assert "".join(p["function"]["arguments"] for p in mine) == call["function"]["arguments"]
    body = {**openai.outputs(run, "snow"), "stream": True}
    second = openai.sse(openai.run_path(run) + "/submit_tool_outputs", body)
    assert names(second) == [
        "thread.run.step.completed",
        "thread.run.queued",
        "thread.run.in_progress",
        *MESSAGE_OPENING,
        *["thread.message.delta"] * 2,
        *MESSAGE_CLOSING,
        "thread.run.completed",
        "done",
    ]
    tool_step = second[0][1]
    assert tool_step["id"] == step["id"]
    outputs = [c["function"]["output"] for c in tool_step["step_details"]["tool_calls"]]
    assert outputs == ["snow-0", "snow-1"]
    assert deltas(second) == "get_weather: snow-0; get_weather: snow-1"
    again = openai.client.post(openai.run_path(run) + "/submit_tool_outputs", json=body)
    assert "do not accept tool outputs" in openai.error(again, 400)["message"]


def test_fail_reports_the_scripted_error(openai: OpenAI) -> None:
    assistant = openai.assistant("fail code=rate_limit_exceeded message=slow_down")
    thread = openai.thread(TEXT)
    events = openai.sse(
        f"/threads/{thread['id']}/runs", {"assistant_id": assistant["id"], "stream": True}
    )
    assert names(events)[-2:] == ["thread.run.failed", "done"]
    failed = events[-2][1]
    assert failed["status"] == "failed"
    assert failed["last_error"] == {"code": "rate_limit_exceeded", "message": "slow down"}
    assert failed["failed_at"] is not None
    assert openai.ok("GET", openai.run_path(failed))["last_error"] == failed["last_error"]


def test_cancel_a_slow_run(openai: OpenAI) -> None:
    run = start(openai, "slow seconds=30")
    began = time.monotonic()
    openai.wait(run, until=["in_progress"])
    cancelling = openai.ok("POST", openai.run_path(run) + "/cancel")
    assert cancelling["status"] in ("cancelling", "cancelled")
    cancelled = openai.wait(run)
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelled_at"] is not None
    assert time.monotonic() - began < 5
    again = openai.client.post(openai.run_path(run) + "/cancel")
    assert "cancelled" in openai.error(again, 400)["message"]
    # the thread is free for the next run
    assistant = openai.assistant("echo")
    follow = openai.ok(
        "POST", f"/threads/{run['thread_id']}/runs", {"assistant_id": assistant["id"]}
    )
    assert openai.wait(follow)["status"] == "completed"


def test_incomplete_run(openai: OpenAI) -> None:
    run = openai.wait(start(openai, "incomplete chunks=4"))
    assert run["status"] == "incomplete"
    assert run["incomplete_details"] == {"reason": "max_completion_tokens"}
    message = answer(openai, run["thread_id"])
    assert message["status"] == "incomplete"
    text = message["content"][0]["text"]["value"]
    assert text
    assert TEXT.startswith(text)
    assert len(text) < len(TEXT)


def test_expire_without_outputs(openai: OpenAI) -> None:
    run = start(openai, "expire seconds=0.1")
    waiting = openai.wait(run, until=["requires_action", "expired"])
    expired = openai.wait(run)
    assert expired["status"] == "expired"
    assert expired["required_action"] is None
    if waiting["status"] == "requires_action":
        late = openai.client.post(
            openai.run_path(run) + "/submit_tool_outputs", json=openai.outputs(waiting)
        )
        openai.error(late, 400)


# --------------------------------------------------------------------------- lists and updates


def test_run_list_paging(openai: OpenAI) -> None:
    assistant = openai.assistant("echo chunks=1")
    thread = openai.thread(TEXT)
    path = f"/threads/{thread['id']}/runs"
    ids = []
    for _ in range(5):
        run = openai.ok("POST", path, {"assistant_id": assistant["id"]})
        openai.wait(run)
        ids.append(run["id"])

    def page(**query: Any) -> tuple[list[str], bool, Json]:
        body = openai.ok("GET", path, **query)
        assert body["object"] == "list"
        got = [r["id"] for r in body["data"]]
        assert (body["first_id"], body["last_id"]) == ((got[0], got[-1]) if got else (None, None))
        return got, body["has_more"], body

    assert page()[:2] == (ids[::-1], False)
    assert page(limit=2, order="asc")[:2] == (ids[0:2], True)
    assert page(limit=2, order="asc", after=ids[1])[:2] == (ids[2:4], True)
    assert page(limit=2, order="asc", after=ids[3])[:2] == (ids[4:], False)
    assert page(limit=2, order="desc")[:2] == (ids[:2:-1], True)
    assert page(limit=2, order="desc", after=ids[3])[:2] == ([ids[2], ids[1]], True)
    assert page(limit=2, order="asc", before=ids[4])[:2] == (ids[2:4], True)
    assert page(order="asc", after=ids[0], before=ids[4])[:2] == (ids[1:4], False)
    assert page(limit=100, order="asc", after=ids[4])[:2] == ([], False)
    for query, param in [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "two"}, "limit"),
        ({"order": "sideways"}, "order"),
        ({"after": "run_nope"}, "after"),
        ({"before": "run_nope"}, "before"),
    ]:
        error = openai.error(openai.client.get(path, params=query), 400)
        assert error["param"] == param
    openai.healthy()


def test_modify_run_metadata(openai: OpenAI) -> None:
    run = openai.wait(start(openai, "echo", metadata={"a": "1"}))
    assert run["metadata"] == {"a": "1"}
    changed = openai.ok("POST", openai.run_path(run), {"metadata": {"b": "2", "c": "3"}})
    assert changed["metadata"] == {"b": "2", "c": "3"}
    assert openai.ok("GET", openai.run_path(run))["metadata"] == {"b": "2", "c": "3"}
    too_many = {f"k{i}": "v" for i in range(17)}
    error = openai.error(openai.client.post(openai.run_path(run), json={"metadata": too_many}), 400)
    assert error["param"] == "metadata"
    assert openai.ok("GET", openai.run_path(run))["metadata"] == {"b": "2", "c": "3"}


# --------------------------------------------------------------------------- bad input


def test_unknown_ids_are_404_and_wrong_methods_405(openai: OpenAI) -> None:
    thread = openai.thread()
    for path in [
        "/threads/thread_nope",
        f"/threads/{thread['id']}/runs/run_nope",
        f"/threads/{thread['id']}/messages/msg_nope",
        "/assistants/asst_nope",
        "/no/such/path",
    ]:
        response = openai.client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["type"] == "invalid_request_error"
    missing = openai.client.post(f"/threads/{thread['id']}/runs", json={"assistant_id": "asst_x"})
    assert "asst_x" in openai.error(missing, 404)["message"]
    wrong = openai.client.put(f"/threads/{thread['id']}")
    assert wrong.status_code == 405
    assert set(wrong.headers["allow"].split(", ")) == {"GET", "POST", "DELETE"}
    openai.healthy()


def test_every_value_of_a_repeated_query_parameter_reaches_the_app(openai: OpenAI) -> None:
    """``include[]=bad&include[]=good`` is refused: the server hands on every pair, not only the
    last one per name (schemathesis found the bad one ignored)."""
    assistant = openai.assistant("echo")
    thread = openai.thread()
    good = "step_details.tool_calls[*].file_search.results[*].content"
    path = f"/threads/{thread['id']}/runs"
    body = {"assistant_id": assistant["id"]}
    refused = openai.client.post(path, json=body, params=[("include[]", "x"), ("include[]", good)])
    assert openai.error(refused, 400)["param"] == "include[]"
    assert openai.ok("GET", path)["data"] == []
    run = openai.ok("POST", path, body, **{"include[]": good})
    assert openai.wait(run)["status"] == "completed"


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"a": NaN}', b"[1, 2]", b'"text"', b"\xff\xfe", b'{"a": 1} trailing'],
)
def test_invalid_json_is_400(openai: OpenAI, raw: bytes) -> None:
    response = openai.client.post(
        "/threads", content=raw, headers={"content-type": "application/json"}
    )
    error = openai.error(response, 400)
    assert error["param"] is None
    openai.healthy()


def test_unknown_fields_are_refused_naming_them(openai: OpenAI, emulator: Emulator) -> None:
    """Request models forbid extra fields (the spec's additionalProperties: false)."""
    assistant = openai.assistant("echo")
    thread = openai.thread()
    runs = len(emulator.openai_store.runs)
    cases: list[tuple[str, Json, str]] = [
        (f"/threads/{thread['id']}/runs", {"assistant_id": assistant["id"], "bogus": 1}, "bogus"),
        ("/assistants", {"model": "gpt-4o", "colour": "red"}, "colour"),
        (
            "/threads",
            {"messages": [{"role": "user", "content": "x", "mood": 1}]},
            "messages[0].mood",
        ),
        (
            "/threads/runs",
            {"assistant_id": assistant["id"], "thread": {"extra": True}},
            "thread.extra",
        ),
    ]
    for path, body, param in cases:
        error = openai.error(openai.client.post(path, json=body), 400)
        assert error["param"] == param
        assert param.rsplit(".", 1)[-1].split("[")[0] in error["message"]
    assert len(emulator.openai_store.runs) == runs
    openai.healthy()


def test_oversized_bodies_are_413(start_emulator: Callable[..., Emulator]) -> None:
    emu = start_emulator(max_body_size=1000)
    with httpx.Client(base_url=emu.openai_base_url, timeout=TIMEOUT) as client:
        openai = OpenAI(client)
        openai.healthy()
        big = {"messages": [{"role": "user", "content": "x" * 2000}]}
        response = client.post("/threads", json=big)
        assert response.status_code == 413
        assert "1000" in response.json()["error"]["message"]
        openai.healthy()

        def chunks() -> Iterator[bytes]:
            yield b'{"messages": [{"role": "user", "content": "'
            for _ in range(20):
                yield b"y" * 100
            yield b'"}]}'

        response = client.post("/threads", content=chunks())  # chunked, no content-length
        assert response.status_code == 413
        openai.healthy()
    assert len(emu.openai_store.threads) == 3  # the three healthy() threads


KEY = "sekret-key-0123456789"


def test_api_key_is_required_and_never_echoed(start_emulator: Callable[..., Emulator]) -> None:
    emu = start_emulator(api_key=KEY)
    with httpx.Client(base_url=emu.openai_base_url, timeout=TIMEOUT) as client:
        good = OpenAI(client)
        client.headers["authorization"] = f"Bearer {KEY}"
        for headers in [
            {},
            {"authorization": "Bearer sekret-wrong"},
            {"authorization": f"Bearer {KEY}x"},
            {"authorization": f"Api-Key {KEY}"},
            {"authorization": KEY},
            {"x-api-key": KEY},
        ]:
            with httpx.Client(base_url=emu.openai_base_url, timeout=TIMEOUT) as bare:
                response = bare.post("/threads", json={}, headers=headers)
            assert response.status_code == 401, headers
            assert response.json()["error"]["code"] == "invalid_api_key"
            assert "sekret" not in response.text
            assert all("sekret" not in value for value in response.headers.values())
            good.healthy()
        assert len(emu.openai_store.threads) == 6  # only the healthy() threads
        run = start(good, "echo")
        assert good.wait(run)["status"] == "completed"


REQUEST_ID = re.compile(r"req_[0-9a-f]{32}")


def test_every_answer_carries_a_fresh_request_id(start_emulator: Callable[..., Emulator]) -> None:
    """``x-request-id`` on a success, an error of the app, a stream, an injected fault, a
    refused key and the server's own refusal of malformed HTTP: each one new."""
    emu = start_emulator(api_key=KEY)
    seen: list[str] = []
    with httpx.Client(base_url=emu.openai_base_url, timeout=TIMEOUT) as client:
        openai = OpenAI(client)
        client.headers["authorization"] = f"Bearer {KEY}"
        answers = [
            client.get("/assistants"),
            client.get("/assistants/asst_nope"),
            client.post("/threads", content=b"{not json"),
        ]
        emu.faults.fail(1, protocol="openai", status="rate_limited")
        answers.append(client.get("/assistants"))
        with client.stream("POST", "/threads/runs", json={"assistant_id": "asst_x"}) as missing:
            answers.append(missing)
        thread = openai.thread()
        body = {"assistant_id": openai.assistant("echo")["id"], "stream": True}
        with client.stream("POST", f"/threads/{thread['id']}/runs", json=body) as streamed:
            assert streamed.headers["content-type"].startswith("text/event-stream")
            answers.append(streamed)
        with httpx.Client(base_url=emu.openai_base_url, timeout=TIMEOUT) as bare:
            answers.append(bare.get("/assistants"))
        assert [a.status_code for a in answers] == [200, 404, 400, 429, 404, 200, 401]
        seen += [a.headers["x-request-id"] for a in answers]
    raw = raw_exchange(emu.host, emu.http_port, b"HELLO\r\n\r\n")
    found = re.search(rb"x-request-id: (req_[0-9a-f]+)", raw, re.IGNORECASE)
    assert found is not None, raw
    seen.append(found[1].decode())
    assert all(REQUEST_ID.fullmatch(i) for i in seen), seen
    assert len(set(seen)) == len(seen)


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(32)) + b"\r\n\r\n",
        b"HELLO\r\n\r\n",
        b"GET /v1/assistants HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET /v1/assistants HTTP/1.1\r\nbad header line\r\n\r\n",
        b"POST /v1/threads HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
        b"GET /v1/assistants HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n",
        b"\x00" * 70000,
    ],
)
def test_garbage_that_is_not_http_is_refused(
    emulator: Emulator, openai: OpenAI, garbage: bytes
) -> None:
    answer = raw_exchange(emulator.host, emulator.http_port, garbage)
    if answer:
        status_line = answer.split(b"\r\n", 1)[0]
        assert status_line.startswith(b"HTTP/1.1 4"), status_line
        assert b" 500 " not in status_line
        body = answer.split(b"\r\n\r\n", 1)[1]
        assert json.loads(body)["error"]["type"] == "invalid_request_error"
    openai.healthy()


def test_keep_alive_connection_serves_many_requests(emulator: Emulator) -> None:
    request = b"GET /v1/assistants?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET /v1/assistants?limit=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = raw_exchange(emulator.host, emulator.http_port, request * 3 + last)
    assert answer.count(b"HTTP/1.1 200 ") == 4


def test_stopping_with_an_idle_keep_alive_connection_logs_no_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    emu = Emulator().start_in_thread()
    with httpx.Client(base_url=emu.openai_base_url, timeout=TIMEOUT) as client:
        OpenAI(client).healthy()  # leaves the connection open (keep-alive)
        with caplog.at_level(logging.ERROR):
            stop(emu)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


def server_sockets(port: int) -> list[str]:
    """This process's TCP sockets whose local port is ``port`` and that are connected."""
    return [
        described
        for described in leaks.tcp_sockets().values()
        if described.startswith(f"{port} -> ") and not described.endswith(("LISTEN", "TIME_WAIT"))
    ]


def test_stopping_closes_a_connection_whose_peer_stopped_reading() -> None:
    """A client that sends requests, never reads the answers and half-closes leaves the server
    a closing connection with unsent data; stopping the emulator still closes its socket (it
    stayed open, in CLOSE_WAIT, once the emulator's loop was gone)."""
    emu = Emulator().start_in_thread()
    big = "x" * 200_000
    with httpx.Client(base_url=emu.openai_base_url, timeout=TIMEOUT) as client:
        made = client.post("/assistants", json={"model": "m", "instructions": big})
        assert made.status_code == 200, made.text
        path = f"/v1/assistants/{made.json()['id']}"
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    peer = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        peer.connect((emu.host, emu.http_port))
        peer.sendall(request * 100)  # 20 MB of answers, more than every buffer on the way
        give_up = time.monotonic() + TIMEOUT
        while not server_sockets(emu.http_port) and time.monotonic() < give_up:
            time.sleep(0.01)
        assert server_sockets(emu.http_port), "the emulator never accepted the connection"
        peer.shutdown(socket.SHUT_WR)
        time.sleep(0.2)  # the server sees the end of the requests, its answers still unsent
        stop(emu)
        assert server_sockets(emu.http_port) == []
    finally:
        peer.close()


# --------------------------------------------------------------------------- limits


PATTERNS = ["once", "bytes", "random", "pipelined"]
"""How a request's bytes arrive: in one send, one byte per send, in random pieces, or in one
send right after a complete request on the same connection."""

SMALL_GET = b"GET /v1/assistants?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n"


def arriving(data: bytes, pattern: str) -> list[bytes]:
    """``data`` cut into the sends of ``pattern``."""
    if pattern == "bytes":
        return [data[i : i + 1] for i in range(len(data))]
    if pattern == "random":
        rnd, pieces, at = random.Random(len(data)), [], 0
        while at < len(data):
            size = rnd.choice([1, 2, 3, 7, 100, 1000, 5000])
            pieces.append(data[at : at + size])
            at += size
        return pieces
    if pattern == "pipelined":
        return [SMALL_GET + data]
    return [data]


def statuses(port: int, data: bytes, pattern: str) -> list[int]:
    """The status of each response to ``data`` sent as ``pattern`` on one connection (the
    pipelined request's answer left out), the connection half-closed after it."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with contextlib.suppress(OSError):  # refused mid-way (then the answer is waiting)
            for piece in arriving(data, pattern):
                sock.sendall(piece)
            sock.shutdown(socket.SHUT_WR)
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
    found = [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]
    if pattern == "pipelined":
        assert found[:1] == [200], answer[:200]
        return found[1:]
    return found


def get_with_head(size: int) -> bytes:
    """A GET whose request line and headers (their blank line included) are ``size`` bytes."""
    start, end = b"GET /v1/assistants?limit=1 HTTP/1.1\r\nHost: x\r\nX-Pad: ", b"\r\n\r\n"
    return start + b"a" * (size - len(start) - len(end)) + end


def post(body: bytes, *, chunks: list[bytes] | None = None, extension: bytes = b"") -> bytes:
    """A POST /v1/threads of ``body``: with a content-length, or chunked in ``chunks`` (each
    size line carrying ``extension``)."""
    head = b"POST /v1/threads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    if chunks is None:
        return head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    assert b"".join(chunks) == body
    framed = b"".join(b"%x%s\r\n%s\r\n" % (len(c), extension, c) for c in chunks)
    return head + b"Transfer-Encoding: chunked\r\n\r\n" + framed + b"0\r\n\r\n"


def thread_body(size: int) -> bytes:
    """A valid create-thread body of exactly ``size`` bytes (JSON padded with spaces)."""
    return b'{"metadata": {}}'.ljust(size)


@pytest.fixture(scope="module")
def limited() -> Iterator[Emulator]:
    """An emulator taking bodies of 1000 bytes at most."""
    emu = Emulator(max_body_size=1000).start_in_thread()
    try:
        yield emu
    finally:
        stop(emu)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_head_limit_holds_however_the_bytes_arrive(
    limited: Emulator, caplog: pytest.LogCaptureFixture, pattern: str
) -> None:
    """h11 refuses an incomplete head past 32 KiB, but took up to a whole read (64 KiB) that
    arrived complete: 40,000 bytes at once were served, byte by byte refused."""
    with caplog.at_level(logging.WARNING):
        assert statuses(limited.http_port, get_with_head(MAX_HEAD_BYTES), pattern) == [200]
        assert statuses(limited.http_port, get_with_head(MAX_HEAD_BYTES + 1), pattern) == [431]
        if pattern != "bytes":
            assert statuses(limited.http_port, get_with_head(60000), pattern) == [431]
    assert not caplog.records


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("shape", ["length", "chunks", "tiny-chunks"])
def test_the_body_limit_holds_however_the_bytes_arrive(
    limited: Emulator, pattern: str, shape: str
) -> None:
    def request(size: int) -> bytes:
        body = thread_body(size)
        if shape == "length":
            return post(body)
        step = 1 if shape == "tiny-chunks" else 300
        return post(body, chunks=[body[i : i + step] for i in range(0, size, step)])

    assert statuses(limited.http_port, request(1000), pattern) == [200]
    assert statuses(limited.http_port, request(1001), pattern) == [413]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_framing_limit_holds_however_the_bytes_arrive(emulator: Emulator, pattern: str) -> None:
    """A chunk's size line with extensions of 32 KiB, or thousands of one-byte chunks: each
    chunk is an event to parse, so their framing is bounded as their data is (h11 refused a long
    size line only while it was incomplete)."""

    def with_extension(framing: int) -> bytes:
        body = thread_body(100)
        fixed = len(b"64;x=\r\n\r\n0\r\n\r\n")  # the framing besides the extension's value
        return post(body, chunks=[body], extension=b";x=" + b"e" * (framing - fixed))

    def in_tiny_chunks(count: int) -> bytes:
        body = thread_body(count)  # framing: 5 bytes a chunk ("1\r\n", "\r\n"), 5 to end
        return post(body, chunks=[body[i : i + 1] for i in range(count)])

    port = emulator.http_port
    assert statuses(port, with_extension(MAX_FRAMING_BYTES), pattern) == [200]
    assert statuses(port, with_extension(MAX_FRAMING_BYTES + 1), pattern) == [413]
    if pattern != "bytes":
        assert statuses(port, in_tiny_chunks((MAX_FRAMING_BYTES - 5) // 5), pattern) == [200]
        assert statuses(port, in_tiny_chunks((MAX_FRAMING_BYTES - 5) // 5 + 1), pattern) == [413]


def _dropped(sock: socket.socket, byte: int) -> bool:
    """Send one byte; whether the server has closed the connection. A close is a FIN (``recv``
    gives ``b""``) or, when the server closed with bytes of ours unread, a reset."""
    try:
        sock.sendall(bytes((byte,)))
        sock.settimeout(0.0)
        try:
            return sock.recv(1) == b""
        except BlockingIOError:
            return False
        finally:
            sock.settimeout(TIMEOUT)
    except (BrokenPipeError, ConnectionResetError):
        return True


@pytest.mark.parametrize("part", ["head", "body"])
def test_a_request_dripping_past_its_time_limit_is_dropped(
    limited: Emulator, monkeypatch: pytest.MonkeyPatch, part: str
) -> None:
    """The head and body timeouts bound a request's whole head and body: each read used to get
    the full timeout again, so a byte every few seconds held a connection forever."""
    monkeypatch.setattr(_http, "HEAD_TIMEOUT", 0.5)
    monkeypatch.setattr(_http, "BODY_TIMEOUT", 0.5)
    data = get_with_head(200) if part == "head" else post(thread_body(100))
    cut = 100 if part == "head" else data.index(b"\r\n\r\n") + 4 + 10
    with socket.create_connection(("127.0.0.1", limited.http_port), timeout=TIMEOUT) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(data[:cut])
        started = time.monotonic()
        closed = None
        for byte in data[cut : cut + 20]:  # a byte every 0.1 s: 2 s for these
            time.sleep(0.1)
            if _dropped(sock, byte):
                closed = time.monotonic() - started
                break
    assert closed is not None, "the connection was still open after 2 s"
    assert 0.4 <= closed < 1.2
