"""The OpenAI clients' ``get`` and ``wait`` against a server whose wait hints are odd: dates in
every HTTP form and zone, out-of-range fields, huge, negative and non-finite numbers, whitespace
and non-ASCII, in ``retry-after`` / ``retry-after-ms`` on 429 and 503 and in
``openai-poll-after-ms`` on a running run. Each is ignored or capped at 60 s, never an error.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from runbind import ApiError, RetryPolicy, RunResult, RunStatus
from runbind.openai import AsyncRuns, Runs
from tests import _leaks as leaks
from tests._hints import ODD_HINTS
from tests._misbehaving import Server, http_answers, http_response
from tests.openai.test_adapter import run_payload

pytestmark = pytest.mark.serial  # its bounds are wall-clock times (a hint's wait): run alone

FAST = RetryPolicy(attempts=3, initial=0.01, maximum=0.02)
JSON = (("content-type", "application/json"),)
Headers = tuple[tuple[str, str], ...]


class Script:
    """A server's answers, per request path, in order: ``(status, headers, body)`` each. A path
    whose answers have run out gets a cancelled run. ``asked`` records when each path was asked.
    """

    def __init__(self) -> None:
        self.answers: dict[str, list[tuple[int, Headers, bytes]]] = {}
        self.asked: dict[str, list[float]] = {}

    def then(self, run_id: str, status: int, headers: Headers, body: Any) -> None:
        path = f"/v1/threads/thread_1/runs/{run_id}"
        self.answers.setdefault(path, []).append((status, headers, json.dumps(body).encode()))

    def times(self, run_id: str) -> list[float]:
        return self.asked.get(f"/v1/threads/thread_1/runs/{run_id}", [])

    async def answer(self, method: str, path: str, body: bytes) -> bytes:
        self.asked.setdefault(path, []).append(time.monotonic())
        left = self.answers.get(path)
        if left:
            status, headers, data = left.pop(0)
            return http_response(status, data, JSON + headers)
        return http_response(200, json.dumps(run_payload("cancelled")).encode(), JSON)


@contextmanager
def serving(script: Script) -> Iterator[str]:
    """A loopback server answering from ``script``; its base URL. Nothing is left behind."""
    with leaks.no_leaks(None), Server(http_answers(script.answer)) as server:
        yield f"http://127.0.0.1:{server.port}/v1"


def calls(
    flavour: str, base_url: str, method: str, run_ids: list[str], timeout: float
) -> list[Any]:
    """``method`` ("get" or "wait") of each run in turn, by one client of ``flavour``: their
    outcomes (a result or the exception)."""
    extra: dict[str, Any] = {"poll_interval": 0.02} if method == "wait" else {}
    if flavour == "sync":
        out: list[Any] = []
        with Runs(base_url=base_url, retry=FAST) as runs:
            for run_id in run_ids:
                try:
                    out.append(
                        getattr(runs, method)(
                            run_id, thread_id="thread_1", timeout=timeout, **extra
                        )
                    )
                except Exception as exc:
                    out.append(exc)
        return out

    async def each() -> list[Any]:
        out: list[Any] = []
        async with AsyncRuns(base_url=base_url, retry=FAST) as runs:
            for run_id in run_ids:
                try:
                    out.append(
                        await getattr(runs, method)(
                            run_id, thread_id="thread_1", timeout=timeout, **extra
                        )
                    )
                except Exception as exc:
                    out.append(exc)
        return out

    return asyncio.run(each())


def _error(status: int) -> dict[str, Any]:
    return {"error": {"message": "slow down", "type": "rate_limit", "code": status}}


@pytest.mark.parametrize("flavour", ["async", "sync"])
@pytest.mark.parametrize("method", ["get", "wait"])
@pytest.mark.parametrize("header", ["retry-after", "retry-after-ms"])
def test_an_odd_retry_hint_is_ignored_or_capped(flavour: str, method: str, header: str) -> None:
    """A 429 or 503 with an odd hint, then the run: an ignored hint retries at the policy's pace
    and gets the run; a capped one (60 s) is past the deadline, so the call fails at once."""
    script = Script()
    cases = [(v, capped, status) for v, capped in ODD_HINTS for status in (429, 503)]
    run_ids = [f"run_{i}" for i in range(len(cases))]
    for run_id, (value, _, status) in zip(run_ids, cases, strict=True):
        script.then(run_id, status, ((header, value),), _error(status))
    with serving(script) as base_url:
        outcomes = calls(flavour, base_url, method, run_ids, timeout=3.0)
    for run_id, (value, capped, status), outcome in zip(run_ids, cases, outcomes, strict=True):
        what = f"{header}: {value!r} on {status}"
        asked = script.times(run_id)
        if capped:
            assert isinstance(outcome, ApiError), (what, outcome)
            assert outcome.status_code == status, what
            assert len(asked) == 1, what
        else:
            assert not isinstance(outcome, Exception), (what, outcome)
            assert len(asked) == 2, what
            assert asked[1] - asked[0] < 0.5, (what, asked)  # the policy's 10-20 ms, no hint


@pytest.mark.parametrize("flavour", ["async", "sync"])
def test_an_odd_poll_hint_is_ignored_or_capped(flavour: str) -> None:
    """A running run with an odd ``openai-poll-after-ms``, then a cancelled one: an ignored hint
    polls again at ``poll_interval``; a capped one (60 s) waits out the deadline but for one
    last poll, which finds the run finished."""
    timeout = 0.5
    script = Script()
    run_ids = [f"run_{i}" for i in range(len(ODD_HINTS))]
    for run_id, (value, _) in zip(run_ids, ODD_HINTS, strict=True):
        script.then(run_id, 200, (("openai-poll-after-ms", value),), run_payload("in_progress"))
    with serving(script) as base_url:
        outcomes = calls(flavour, base_url, "wait", run_ids, timeout)
    for run_id, (value, capped), result in zip(run_ids, ODD_HINTS, outcomes, strict=True):
        what = f"openai-poll-after-ms: {value!r}"
        assert isinstance(result, RunResult), (what, result)
        assert result.status is RunStatus.CANCELLED, what
        asked = script.times(run_id)
        assert len(asked) == 2, what
        gap = asked[1] - asked[0]
        if capped:
            assert timeout - 0.2 < gap < timeout, (what, gap)
        else:
            assert gap < timeout / 2, (what, gap)
