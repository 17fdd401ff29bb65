"""``AsyncResponses`` against a scripted OpenAI-compatible server (tests/_misbehaving.py) that
sends what the emulator never does: status strings and event types this version does not know,
streams that end early without an error, and a resume that replays from the start anyway.

Unknown values decode to the open ones (``UNKNOWN``, the raw value kept), a bounded ``wait``
ends on its deadline, and the stream still delivers every event once, in order.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from runbind import (
    APIConnectionError,
    AuthenticationError,
    RetryPolicy,
    RunStatus,
    RunTimeoutError,
    StreamEventKind,
)
from runbind.openai import AsyncResponses, Responses
from tests import _leaks as leaks
from tests._misbehaving import Server, http_answers, http_response

FAST = RetryPolicy(attempts=3, initial=0.01, maximum=0.02)
ID = "resp_odd"


def response(status: str, text: str | None = None) -> dict[str, Any]:
    """A Response payload (``status`` as given, known or not), answered by ``text`` if any."""
    output = []
    if text is not None:
        content = [{"type": "output_text", "text": text, "annotations": []}]
        output.append(
            {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed"}
            | {"content": content}
        )
    return {
        "id": ID,
        "object": "response",
        "created_at": 1_700_000_000,
        "status": status,
        "background": True,
        "output": output,
        "model": "compatible-model",
        "parallel_tool_calls": True,
        "tools": [],
        "metadata": {},
        "tool_choice": "auto",
        "temperature": 1.0,
        "top_p": 1.0,
    }


_EVENTS: list[dict[str, Any]] = [
    {"type": "response.created", "response": response("pondering")},
    {"type": "response.pondering", "depth": 3},
    {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0}
    | {"content_index": 0, "delta": "deep ", "logprobs": []},
    {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0}
    | {"content_index": 0, "delta": "thought", "logprobs": []},
    {"type": "response.completed", "response": response("completed", "deep thought")},
]
EVENTS = [event | {"sequence_number": n} for n, event in enumerate(_EVENTS)]


def _sse(events: list[dict[str, Any]]) -> bytes:
    frames = [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events]
    return "".join(frames).encode()


class Script:
    """The server: a response whose status is ``status``; its stream sends the events in
    ``cuts`` pieces (each answer ends cleanly, as if the server closed the stream early), and a
    resume replays from the start whatever ``starting_after`` says."""

    def __init__(self, status: str = "pondering", cuts: tuple[int, ...] = ()) -> None:
        self.status = status
        self.cuts = list(cuts)
        self.streams: list[str | None] = []

    async def answer(self, method: str, path: str, body: bytes) -> bytes:
        url = urlsplit(path)
        query = parse_qs(url.query)
        if method != "GET" or url.path != f"/v1/responses/{ID}":
            return http_response(404, b'{"error": {"message": "no", "type": "x"}}')
        if query.get("stream") != ["true"]:
            data = json.dumps(response(self.status)).encode()
            return http_response(200, data, (("content-type", "application/json"),))
        self.streams.append(query.get("starting_after", [None])[0])
        end = self.cuts.pop(0) if self.cuts else len(EVENTS)
        return http_response(200, _sse(EVENTS[:end]), (("content-type", "text/event-stream"),))


@contextmanager
def serving(script: Script) -> Iterator[str]:
    """A loopback server answering from ``script``; its base URL. Nothing is left behind."""
    with leaks.no_leaks(None), Server(http_answers(script.answer)) as server:
        yield f"http://127.0.0.1:{server.port}/v1"


def test_unknown_status_is_open_and_a_bounded_wait_ends_on_its_deadline() -> None:
    script = Script("pondering")
    with serving(script) as url, Responses(base_url=url, retry=FAST) as client:
        run = client.get(ID)
        assert (run.status, run.status_raw, run.status_name) == (
            RunStatus.UNKNOWN,
            "pondering",
            "UNKNOWN('pondering')",
        )
        assert not run.is_running
        assert not run.is_finished
        assert not run.requires_action
        started = time.monotonic()
        with (
            pytest.warns(RuntimeWarning, match="pondering"),
            pytest.raises(RunTimeoutError) as ended,
        ):
            client.wait(run, timeout=0.5, poll_interval=0.05)
        took = time.monotonic() - started
        assert 0.4 < took < 3.0
        assert ended.value.last_run is not None
        assert ended.value.last_run.status_raw == "pondering"


def test_unknown_events_are_open_and_a_replaying_resume_repeats_nothing() -> None:
    """The stream ends cleanly after two events, then after three (from the start again, as the
    server ignores ``starting_after``): the client resumes each time and skips what it has."""
    script = Script("pondering", cuts=(2, 3))

    async def go(url: str) -> list[Any]:
        async with AsyncResponses(base_url=url, retry=FAST) as client:
            return [event async for event in client.listen(ID)]

    with serving(script) as url:
        events = asyncio.run(go(url))
    assert [e.event_index for e in events] == [0, 1, 2, 3, 4]
    assert script.streams == [None, "1", "2"]
    created, odd = events[0], events[1]
    assert created.run is not None
    assert created.run.status is RunStatus.UNKNOWN
    assert (odd.status, odd.status_raw, odd.status_name) == (
        StreamEventKind.UNKNOWN,
        "response.pondering",
        "UNKNOWN('response.pondering')",
    )
    assert odd.raw.model_extra == {"depth": 3, "sequence_number": 1}
    assert not odd.is_running
    assert not odd.is_finished
    assert "".join(e.text or "" for e in events[2:4]) == "deep thought"
    assert events[-1].is_succeeded
    assert events[-1].text == "deep thought"


def test_a_stream_that_keeps_ending_without_events_gives_up() -> None:
    """A server whose stream ends at once while its response is not over: the client retries
    with backoff, ``attempts`` times in a row, then fails."""
    script = Script("in_progress", cuts=(0, 0, 0, 0))

    async def go(url: str) -> None:
        async with AsyncResponses(base_url=url, retry=FAST) as client:
            async for _ in client.listen(ID, events_start_idx=3):
                pass

    with serving(script) as url, pytest.raises(APIConnectionError, match="3 times in a row"):
        asyncio.run(go(url))
    assert script.streams == ["2", "2", "2"]


def test_a_key_the_server_echoes_is_never_shown() -> None:
    """An error answer quoting the key, to a call and to a stream: the key is redacted."""
    key = "sk-responses-secret-0123456789"

    async def answer(method: str, path: str, body: bytes) -> bytes:
        error = {"error": {"message": f"bad key {key}", "type": "invalid_request_error"}}
        return http_response(
            401, json.dumps(error).encode(), (("content-type", "application/json"),)
        )

    async def go(url: str) -> list[str]:
        shown = []
        async with AsyncResponses(base_url=url, api_key=key, retry=FAST) as client:
            for call in (client.get(ID), _drain(client.listen(ID)), client.create("m", "hi")):
                with pytest.raises(AuthenticationError) as refused:
                    await call
                shown.append(f"{refused.value!s} {refused.value!r}")
        return shown

    with leaks.no_leaks(None), Server(http_answers(answer)) as server:
        shown = asyncio.run(go(f"http://127.0.0.1:{server.port}/v1"))
    assert len(shown) == 3
    for text in shown:
        assert "bad key" in text
        assert key not in text


async def _drain(events: Any) -> None:
    async for _ in events:
        pass
