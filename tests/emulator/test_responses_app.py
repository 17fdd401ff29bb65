"""The emulator's Responses API over plain httpx: behaviours, modes, checks and faults.

The scripted behaviours as responses (fail, incomplete, slow, expire), foreground and stored
responses, input item paging, the tool loop's checks, the error objects of bad input and unknown
ids, injected faults, and a response the emulator's stop interrupts. (openai-python drives the
main lifecycle in ``test_responses_openai_python``.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from runbind.emulator import Emulator
from tests._spec_version import OPENAI, requires_generated

from ._clients import TIMEOUT

# The Responses API is newer than some openai-openapi versions (before 2025-03).
pytestmark = requires_generated(f"{OPENAI}.CreateResponse", f"{OPENAI}.Response")

Json = dict[str, Any]


def _create(http: httpx.Client, script: str = "echo", **body: Any) -> Json:
    answer = http.post("/responses", json={"model": "m", "metadata": {"emulator": script}, **body})
    assert answer.status_code == 200, answer.text
    data: Json = answer.json()
    return data


def _events(http: httpx.Client, method: str, url: str, **options: Any) -> list[Json]:
    """The events of one stream, in order."""
    with http.stream(method, url, **options) as answer:
        assert answer.status_code == 200, answer.read()
        assert answer.headers["content-type"].startswith("text/event-stream")
        frames = [line for line in answer.iter_lines() if line.startswith(("event:", "data:"))]
    names = [line.removeprefix("event: ") for line in frames[::2]]
    events = [json.loads(line.removeprefix("data: ")) for line in frames[1::2]]
    assert names == [e["type"] for e in events]
    numbers = [e["sequence_number"] for e in events]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    return events


def _stream(http: httpx.Client, script: str = "echo", **body: Any) -> list[Json]:
    payload = {"model": "m", "metadata": {"emulator": script}, "stream": True, **body}
    return _events(http, "POST", "/responses", json=payload)


def _done(http: httpx.Client, response: Json) -> Json:
    deadline = time.monotonic() + TIMEOUT
    while response["status"] in ("queued", "in_progress"):
        assert time.monotonic() < deadline
        time.sleep(0.01)
        response = http.get(f"/responses/{response['id']}").json()
    return response


def _error(answer: httpx.Response, status: int, param: str | None, code: str | None) -> str:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["param"], error["code"]) == (param, code)
    assert error["type"] == "invalid_request_error"
    message: str = error["message"]
    return message


def test_fail_and_incomplete(http: httpx.Client) -> None:
    failed = _stream(http, "fail chunks=2 code=rate_limit_exceeded message=busy", input="a b")
    assert failed[-1]["type"] == "response.failed"
    response = failed[-1]["response"]
    assert response["error"] == {"code": "rate_limit_exceeded", "message": "busy"}
    (message,) = response["output"]
    assert (message["status"], message["content"][0]["text"]) == ("incomplete", "a b")
    cut = _stream(http, "incomplete chunks=4", input="abcdefgh", background=True)
    response = cut[-1]["response"]
    assert (cut[-1]["type"], response["status"]) == ("response.incomplete", "incomplete")
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}
    (message,) = response["output"]
    assert (message["status"], message["content"][0]["text"]) == ("incomplete", "abcd")


def test_foreground_responses(http: httpx.Client) -> None:
    done = _create(http, input="now")
    assert (done["status"], done["background"], done["output"][0]["content"][0]["text"]) == (
        "completed",
        False,
        "now",
    )
    events = _stream(http, input="live")
    assert [e["type"] for e in events[:2]] == ["response.created", "response.in_progress"]
    assert events[0]["response"]["status"] == "in_progress"
    ident = events[0]["response"]["id"]
    again = http.get(f"/responses/{ident}", params={"stream": "true"})
    assert "background=true" in _error(again, 400, "stream", "invalid_value")
    _error(http.post(f"/responses/{ident}/cancel"), 400, None, None)
    unstored = _create(http, input="x", store=False)
    assert unstored["status"] == "completed"
    _error(http.get(f"/responses/{unstored['id']}"), 404, None, None)
    _error(
        http.post("/responses", json={"model": "m", "background": True, "store": False}),
        400,
        "background",
        "invalid_value",
    )


def test_slow_then_replayed_from_any_point(http: httpx.Client) -> None:
    started = time.monotonic()
    response = _done(http, _create(http, "slow seconds=0.2", input="late", background=True))
    assert time.monotonic() - started >= 0.2
    assert response["status"] == "completed"
    url = f"/responses/{response['id']}"
    whole = _events(http, "GET", url, params={"stream": "true"})
    assert whole[-1]["type"] == "response.completed"
    assert whole[-1]["response"] == response
    for after in (0, 4, len(whole) - 2):
        tail = _events(http, "GET", url, params={"stream": "true", "starting_after": after})
        assert tail == whole[after + 1 :]
    _error(
        http.get(url, params={"stream": "true", "starting_after": "-1"}),
        400,
        "starting_after",
        "invalid_type",
    )


def test_input_items_are_paged(http: httpx.Client) -> None:
    texts = ["one", "two", "three"]
    items = [{"role": "user", "content": t} for t in texts]
    response = _create(http, input=items)
    assert response["output"][0]["content"][0]["text"] == "three"
    url = f"/responses/{response['id']}/input_items"
    first = http.get(url, params={"limit": 2, "order": "asc"}).json()
    assert [i["content"][0]["text"] for i in first["data"]] == ["one", "two"]
    assert first["has_more"] is True
    rest = http.get(url, params={"limit": 2, "order": "asc", "after": first["last_id"]}).json()
    assert ([i["content"][0]["text"] for i in rest["data"]], rest["has_more"]) == (["three"], False)
    newest = http.get(url).json()["data"]
    assert [i["content"][0]["text"] for i in newest] == texts[::-1]
    _error(http.get(url, params={"after": "msg_nope"}), 400, "after", None)


def test_tool_loop_checks(http: httpx.Client) -> None:
    asked = _create(http, "tools calls=2", input="w?", tools=[{"type": "function", "name": "f"}])
    calls = [item["call_id"] for item in asked["output"]]
    assert [item["name"] for item in asked["output"]] == ["f", "f"]

    def follow(*call_ids: str) -> httpx.Response:
        outputs = [{"type": "function_call_output", "call_id": c, "output": "ok"} for c in call_ids]
        body = {"model": "m", "previous_response_id": asked["id"], "input": outputs}
        return http.post("/responses", json=body)

    assert calls[1] in _error(follow(calls[0]), 400, "input", "invalid_value")
    assert "call_x" in _error(follow(*calls, "call_x"), 400, "input", "invalid_value")
    answer = follow(*calls).json()
    assert answer["output"][0]["content"][0]["text"] == "f: ok; f: ok"
    expired = _create(http, "expire seconds=0", input="w?")
    outputs = [
        {"type": "function_call_output", "call_id": item["call_id"], "output": "late"}
        for item in expired["output"]
    ]
    late = http.post(
        "/responses", json={"model": "m", "previous_response_id": expired["id"], "input": outputs}
    )
    _error(late, 400, "previous_response_id", "expired")


def test_unknown_ids_and_bad_queries(http: httpx.Client) -> None:
    for method, url in [
        ("GET", "/responses/resp_nope"),
        ("DELETE", "/responses/resp_nope"),
        ("POST", "/responses/resp_nope/cancel"),
        ("GET", "/responses/resp_nope/input_items"),
    ]:
        assert "resp_nope" in _error(http.request(method, url), 404, None, None)
    ident = _create(http, input="x")["id"]
    _error(
        http.get(f"/responses/{ident}", params={"stream": "maybe"}), 400, "stream", "invalid_type"
    )
    _error(http.post("/responses", content=b"{"), 400, None, None)
    assert http.put("/responses").status_code == 405


def test_the_generated_model_checks_what_the_plain_checks_do_not(http: httpx.Client) -> None:
    """Shapes the emulator's own checks leave alone are refused by ``CreateResponse``."""
    cases: list[tuple[Json, str]] = [
        ({"reasoning": {"effort": "extreme"}}, "reasoning.effort"),
        ({"text": {"format": {"type": "yaml"}}}, "text.format.type"),
        ({"tool_choice": {"type": "function"}}, "tool_choice.name"),
    ]
    for body, param in cases:
        answer = http.post("/responses", json={"model": "m", **body})
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["error"]["param"] == param, answer.text


def test_injected_faults_apply(http: httpx.Client, emulator: Emulator) -> None:
    emulator.faults.fail(1, protocol="openai", method="POST")
    assert http.post("/responses", json={"model": "m"}).status_code == 503
    emulator.faults.stall(0.1, protocol="openai", method="GET")
    ident = _create(http, input="x")["id"]
    started = time.monotonic()
    assert http.get(f"/responses/{ident}").status_code == 200
    assert time.monotonic() - started >= 0.1


def test_stopping_the_emulator_fails_what_runs(start_emulator: Callable[..., Emulator]) -> None:
    emu = start_emulator()
    with httpx.Client(base_url=emu.openai_base_url, timeout=TIMEOUT) as http:
        ident = _create(http, "slow seconds=60", input="x", background=True)["id"]
    emu.stop_thread()
    emu.start_in_thread()
    with httpx.Client(base_url=emu.openai_base_url, timeout=TIMEOUT) as http:
        events = _events(http, "GET", f"/responses/{ident}", params={"stream": "true"})
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert events[-1]["response"]["error"] == {
        "code": "server_error",
        "message": "the emulator stopped",
    }


def test_large_bodies_are_checked_off_the_loop(http: httpx.Client) -> None:
    text = "word " * 20_000  # past the size decoded on a worker thread
    assert _create(http, input=text)["output"][0]["content"][0]["text"] == text
    refused = http.post("/responses", json={"model": "m", "input": text, "top_p": 2})
    _error(refused, 400, "top_p", "invalid_value")


def test_a_cancelled_stream_ends_with_response_cancelled(http: httpx.Client) -> None:
    ident = _create(http, "slow seconds=30", input="x", background=True)["id"]
    assert http.post(f"/responses/{ident}/cancel").json()["status"] == "cancelled"
    events = _events(http, "GET", f"/responses/{ident}", params={"stream": "true"})
    assert [e["type"] for e in events] == [
        "response.created",
        "response.queued",
        "response.in_progress",
        "response.cancelled",
    ]
    assert events[-1]["response"]["status"] == "cancelled"
    running = _create(http, "slow seconds=30", input="x", background=True)["id"]
    gone = http.delete(f"/responses/{running}").json()
    assert gone == {"id": running, "object": "response", "deleted": True}
    _error(http.get(f"/responses/{running}"), 404, None, None)
