"""Observability over real sockets, both providers and flavours: one INFO line per retry and no
secret in any runbind record; one DEBUG line per request; request/response hooks (plain and
async) that see every attempt, streams included; a failing hook that breaks nothing; and the
OpenTelemetry example of docs/clients.md, when opentelemetry is installed."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import uuid
from typing import Any, Literal

import pytest

from runbind import (
    InvalidArgumentError,
    RateLimitError,
    RequestInfo,
    ResponseInfo,
    RetryPolicy,
    ServerError,
)
from runbind.emulator import Emulator
from tests._flavours import Connect, Provider, _clean_env, connect
from tests.openai.conftest import OPENAI
from tests.yandex.conftest import YANDEX

__all__ = ["_clean_env", "connect"]  # the shared fixtures, for this module

KEY = "sk-observability-key-0123456789abcdef"
FAST = RetryPolicy(attempts=5, initial=0.01, maximum=0.05)
RETRY_LINE = re.compile(
    r"^runbind: (openai|yandex) (\w+) failed \(attempt (\d) of 5\) with (\w+) ([^:\s]+): (.*); "
    r"retrying in (\d+\.\d\d) s$"
)


@pytest.fixture(params=[OPENAI, YANDEX], ids=["openai", "yandex"], scope="module")
def provider(request: pytest.FixtureRequest) -> Provider:
    """Both providers: every test here runs against each."""
    param: Provider = request.param
    return param


@pytest.fixture(scope="module")
def emulator() -> Any:
    """One emulator that wants :data:`KEY`, per module."""
    with Emulator(api_key=KEY) as emu:
        yield emu


def _name(provider: Provider) -> Literal["openai", "yandex"]:
    return "openai" if provider is OPENAI else "yandex"


def _runbind(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "runbind" or r.name.startswith("runbind.")]


def test_three_429s_then_success_log_exactly_three_retry_lines_and_no_secret(
    connect: Connect, emulator: Emulator, provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    name = _name(provider)
    runs = connect(emulator, api_key=KEY, retry=FAST)
    assistant, thread = emulator.seed(name)
    caplog.set_level(logging.INFO, logger="runbind")
    emulator.faults.fail(3, protocol=name, status="rate_limited")
    run = runs.create(assistant, thread, idempotency_key=f"three-429s-{uuid.uuid4()}")
    assert runs.wait(run).text
    records = _runbind(caplog)
    retries = [r for r in records if r.levelno == logging.INFO and "retrying" in r.getMessage()]
    assert len(retries) == 3, [r.getMessage() for r in records]
    for attempt, record in enumerate(retries, 1):
        found = RETRY_LINE.match(record.getMessage())
        assert found is not None, record.getMessage()
        assert found.groups()[:5] == (
            name,
            "create",
            str(attempt),
            "RateLimitError",
            "429" if name == "openai" else "RESOURCE_EXHAUSTED",
        )
        assert found[6] == "injected fault"
        assert record.name == f"runbind.{name}"
    for record in records:
        assert KEY not in record.getMessage()
        assert KEY[:12] not in record.getMessage()
    assert not [r for r in records if r.levelno == logging.DEBUG]  # INFO: no request lines


def test_retry_lines_stop_when_the_retries_run_out(
    connect: Connect, emulator: Emulator, provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    name = _name(provider)
    runs = connect(emulator, api_key=KEY, retry=FAST)
    caplog.set_level(logging.INFO, logger="runbind")
    emulator.faults.fail(5, protocol=name, status="unavailable")
    with pytest.raises(ServerError):
        runs.get("run_1", **({"thread_id": "thread_1"} if name == "openai" else {}))
    lines = [r.getMessage() for r in _runbind(caplog) if "retrying" in r.getMessage()]
    assert [RETRY_LINE.match(line)[3] for line in lines] == ["1", "2", "3", "4"]  # type: ignore[index]


def test_a_dropped_yandex_stream_reopened_is_logged(
    connect: Connect, emulator: Emulator, provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    if provider is not YANDEX:
        pytest.skip("an OpenAI stream that drops goes on by polling, which is not a retry")
    runs = connect(emulator, api_key=KEY, retry=FAST)
    assistant, thread = emulator.seed("yandex")
    caplog.set_level(logging.INFO, logger="runbind")
    emulator.faults.drop_stream(1, protocol="yandex", how="unavailable")
    events = list(runs.create_stream(assistant, thread))
    assert events[-1].is_finished
    lines = [r.getMessage() for r in _runbind(caplog) if "retrying" in r.getMessage()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("runbind: yandex listen failed (attempt 1 of 5) with ServerError")


def test_debug_logs_one_line_per_request_without_a_query_or_secret(
    connect: Connect, emulator: Emulator, provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    name = _name(provider)
    runs = connect(emulator, api_key=KEY, retry=FAST)
    assistant, thread = emulator.seed(name)
    run = runs.create(assistant, thread)
    caplog.set_level(logging.DEBUG, logger="runbind")
    emulator.faults.fail(1, protocol=name, status="unavailable")
    runs.get(run)
    lines = [
        r.getMessage()
        for r in _runbind(caplog)
        if r.levelno == logging.DEBUG and r.getMessage().startswith(f"runbind: {name} get ")
    ]
    assert len(lines) == 2, lines
    if name == "openai":
        path = f"/v1/threads/{thread}/runs/{run.id}"
        assert re.match(
            rf"^runbind: openai get GET http://\S+{path} -> 503 \(ServerError\) ", lines[0]
        )
        assert re.match(rf"^runbind: openai get GET http://\S+{path} -> 200 in ", lines[1])
    else:
        method = "/yandex.cloud.ai.assistants.v1.runs.RunService/Get"
        assert re.match(
            rf"^runbind: yandex get {method} \S+ -> UNAVAILABLE \(ServerError\)", lines[0]
        )
        assert re.match(rf"^runbind: yandex get {method} \S+ -> OK in ", lines[1])
    assert lines[0].endswith("(attempt 1)")
    assert lines[1].endswith("(attempt 2)")
    for record in _runbind(caplog):
        assert KEY[:12] not in record.getMessage()
        assert "?" not in record.getMessage()


class Seen:
    """What hooks were called with, in order."""

    def __init__(self) -> None:
        self.calls: list[RequestInfo | ResponseInfo] = []

    def on_request(self, info: RequestInfo) -> None:
        self.calls.append(info)

    def on_response(self, info: ResponseInfo) -> None:
        self.calls.append(info)

    async def aon_request(self, info: RequestInfo) -> None:
        self.calls.append(info)

    async def aon_response(self, info: ResponseInfo) -> None:
        self.calls.append(info)


@pytest.mark.parametrize("kind", ["plain", "async"])
def test_hooks_see_every_attempt_with_status_and_request_id(
    connect: Connect, emulator: Emulator, provider: Provider, kind: str
) -> None:
    name = _name(provider)
    seen = Seen()
    hooks = (
        {"on_request": seen.on_request, "on_response": seen.on_response}
        if kind == "plain"
        else {"on_request": seen.aon_request, "on_response": seen.aon_response}
    )
    runs = connect(emulator, api_key=KEY, retry=FAST, **hooks)
    assistant, thread = emulator.seed(name)
    run = runs.create(assistant, thread)
    seen.calls.clear()
    emulator.faults.fail(1, protocol=name, status="unavailable", request_id="req-1")
    emulator.faults.fail(1, protocol=name, status="rate_limited", request_id="req-2")
    assert runs.get(run).id == run.id
    requests = seen.calls[0::2]
    responses = seen.calls[1::2]
    assert all(isinstance(r, RequestInfo) for r in requests)
    assert all(isinstance(r, ResponseInfo) for r in responses)
    assert [r.attempt for r in requests] == [1, 2, 3]  # type: ignore[union-attr]
    assert all(r.call == "get" and r.provider == name for r in requests)  # type: ignore[union-attr]
    assert [r.request for r in responses] == requests  # type: ignore[union-attr]
    kinds = [type(r.error) if r.error else None for r in responses]  # type: ignore[union-attr]
    assert kinds == [ServerError, RateLimitError, None]
    ids = [r.request_id for r in responses]  # type: ignore[union-attr]
    assert ids[:2] == ["req-1", "req-2"]
    if name == "openai":
        assert [r.status_code for r in responses] == [503, 429, 200]  # type: ignore[union-attr]
        assert requests[0].method == "GET"  # type: ignore[union-attr]
        assert requests[0].target.endswith(f"/threads/{thread}/runs/{run.id}")  # type: ignore[union-attr]
    else:
        statuses = [r.grpc_status for r in responses]  # type: ignore[union-attr]
        assert statuses == ["UNAVAILABLE", "RESOURCE_EXHAUSTED", "OK"]
        assert requests[0].method.endswith("RunService/Get")  # type: ignore[union-attr]
        assert requests[0].target == emulator.grpc_target  # type: ignore[union-attr]
    assert all(r.duration >= 0 for r in responses)  # type: ignore[union-attr]


def test_hooks_see_a_stream_start_and_the_polls_of_a_wait(
    connect: Connect, emulator: Emulator, provider: Provider
) -> None:
    name = _name(provider)
    seen = Seen()
    runs = connect(emulator, api_key=KEY, on_request=seen.on_request, on_response=seen.on_response)
    assistant, thread = emulator.seed(name)
    events = list(runs.create_stream(assistant, thread))
    assert any(e.is_finished for e in events)
    requests = [c for c in seen.calls if isinstance(c, RequestInfo)]
    responses = [c for c in seen.calls if isinstance(c, ResponseInfo)]
    assert len(requests) == len(responses)
    streamed = [r for r in requests if r.stream]
    assert streamed
    assert all(r.error is None for r in responses)
    if name == "openai":
        assert (streamed[0].call, streamed[0].method) == ("create", "POST")
    else:
        assert (streamed[0].call, streamed[0].method[-6:]) == ("listen", "Listen")
        assert requests[0].call == "create"


def test_a_failing_hook_is_logged_and_breaks_nothing(
    connect: Connect, emulator: Emulator, provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(info: object) -> None:
        raise RuntimeError("hook bug")

    name = _name(provider)
    runs = connect(emulator, api_key=KEY, on_request=broken, on_response=broken)
    assistant, thread = emulator.seed(name)
    caplog.set_level(logging.WARNING, logger="runbind")
    assert runs.create(assistant, thread).id
    warnings = [r for r in _runbind(caplog) if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "runbind: the on_request hook failed",
        "runbind: the on_response hook failed",
    ]


def test_hooks_must_be_callables(provider: Provider) -> None:
    with pytest.raises(InvalidArgumentError, match="on_request must be a callable"):
        provider.async_runs(api_key=KEY, on_request=5)
    with pytest.raises(InvalidArgumentError, match="on_response must be a callable"):
        provider.runs(api_key=KEY, on_response="log")


def test_the_guides_opentelemetry_example_runs(emulator: Emulator) -> None:
    pytest.importorskip("opentelemetry")
    from codegen.lock import PROJECT_ROOT  # noqa: PLC0415

    guide = (PROJECT_ROOT / "docs" / "clients.md").read_text()
    found = re.search(r"<!-- opentelemetry example -->\n```py\n(.*?)```", guide, re.S)
    assert found is not None
    assistant, thread = emulator.seed("openai")
    code = found[1] + (  # one traced call: every span it started has ended
        f"run = runs.wait(runs.create({assistant!r}, {thread!r}), timeout=10)\n"
        "assert run.text and not spans\n"
        "print('traced')\n"
    )
    env = {**os.environ, "OPENAI_BASE_URL": emulator.openai_base_url, "OPENAI_API_KEY": KEY}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=env,
    )
    assert (proc.returncode, proc.stdout) == (0, "traced\n"), proc.stderr
