"""The Yandex clients' ``get`` and ``wait`` against a gRPC server (grpclib) that refuses with
UNAVAILABLE or RESOURCE_EXHAUSTED and odd ``retry-after`` / ``retry-after-ms`` trailers: dates in
every HTTP form and zone, out-of-range fields, huge, negative and non-finite numbers, whitespace.
Each is ignored or capped at 60 s, never an error; trailers that are not ASCII (which grpclib's
server cannot send, so a raw HTTP/2 server does) break the connection: a typed UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpclib.server
import h2.connection
import pytest
from grpclib.const import Cardinality, Handler, Status
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import (
    GetRunRequest,
    RunState,
    RunStateRunStatus,
)
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import Run as YRun

from runbind import ApiError, RetryPolicy, RunResult, RunStatus
from runbind.yandex import AsyncRuns, Runs
from tests import _leaks as leaks
from tests._hints import ASCII_HINTS, NON_ASCII
from tests._misbehaving import LIFETIME, Server, h2_script

pytestmark = pytest.mark.serial  # its bounds are wall-clock times (a hint's wait): run alone

FAST = RetryPolicy(attempts=3, initial=0.01, maximum=0.02)
GET = "/yandex.cloud.ai.assistants.v1.runs.RunService/Get"
Metadata = tuple[tuple[str, str], ...]


class Script:
    """``RunService.Get`` answering each run id from a script: a refusal ``(status, trailing
    metadata)`` per entry, then a failed run. ``asked`` records when each run was asked."""

    def __init__(self) -> None:
        self.answers: dict[str, list[tuple[Status, Metadata]]] = {}
        self.asked: dict[str, list[float]] = {}

    def refuse(self, run_id: str, status: Status, metadata: Metadata) -> None:
        self.answers.setdefault(run_id, []).append((status, metadata))

    def __mapping__(self) -> dict[str, Handler]:
        return {GET: Handler(self._get, Cardinality.UNARY_UNARY, GetRunRequest, YRun)}

    async def _get(self, stream: grpclib.server.Stream[GetRunRequest, YRun]) -> None:
        request = await stream.recv_message()
        assert request is not None
        self.asked.setdefault(request.run_id, []).append(time.monotonic())
        left = self.answers.get(request.run_id)
        if left:
            status, metadata = left.pop(0)
            await stream.send_trailing_metadata(
                status=status, status_message="busy", metadata=metadata
            )
            return
        state = RunState(status=RunStateRunStatus.FAILED)
        await stream.send_message(YRun(id=request.run_id, state=state))


@contextlib.contextmanager
def serving(script: Script) -> Iterator[str]:
    """A grpclib server for ``script`` on 127.0.0.1, on a thread of its own that lives at most
    ``LIFETIME`` seconds; its endpoint. Nothing is left behind."""
    ready = threading.Event()
    where: dict[str, Any] = {}

    async def main() -> None:
        server = grpclib.server.Server([script])
        await server.start("127.0.0.1", 0)
        stop = asyncio.Event()
        where.update(port=server._server.sockets[0].getsockname()[1], stop=stop)  # type: ignore[union-attr]
        where["loop"] = asyncio.get_running_loop()
        ready.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LIFETIME):
                await stop.wait()
        server.close()
        await server.wait_closed()

    with leaks.no_leaks(None):
        thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        thread.start()
        assert ready.wait(10), "the gRPC server did not start"
        try:
            yield f"127.0.0.1:{where['port']}"
        finally:
            with contextlib.suppress(RuntimeError):  # already stopped at its lifetime
                where["loop"].call_soon_threadsafe(where["stop"].set)
            thread.join(10)
            assert not thread.is_alive(), "the gRPC server did not stop"


def calls(
    flavour: str, endpoint: str, method: str, run_ids: list[str], timeout: float
) -> list[Any]:
    """``method`` ("get" or "wait") of each run in turn, by one client of ``flavour``: their
    outcomes (a result or the exception)."""
    extra: dict[str, Any] = {"poll_interval": 0.02} if method == "wait" else {}
    if flavour == "sync":
        out: list[Any] = []
        with Runs(endpoint=endpoint, retry=FAST) as runs:
            for run_id in run_ids:
                try:
                    out.append(getattr(runs, method)(run_id, timeout=timeout, **extra))
                except Exception as exc:
                    out.append(exc)
        return out

    async def each() -> list[Any]:
        out: list[Any] = []
        async with AsyncRuns(endpoint=endpoint, retry=FAST) as runs:
            for run_id in run_ids:
                try:
                    out.append(await getattr(runs, method)(run_id, timeout=timeout, **extra))
                except Exception as exc:
                    out.append(exc)
        return out

    return asyncio.run(each())


@pytest.mark.parametrize("flavour", ["async", "sync"])
@pytest.mark.parametrize("method", ["get", "wait"])
@pytest.mark.parametrize("key", ["retry-after", "retry-after-ms"])
def test_an_odd_retry_hint_in_trailers_is_ignored_or_capped(
    flavour: str, method: str, key: str
) -> None:
    """UNAVAILABLE or RESOURCE_EXHAUSTED with an odd hint, then the run: an ignored hint retries
    at the policy's pace and gets the run; a capped one (60 s) is past the deadline, so the call
    fails at once with the refusal."""
    script = Script()
    statuses = (Status.UNAVAILABLE, Status.RESOURCE_EXHAUSTED)
    cases = [(v, capped, status) for v, capped in ASCII_HINTS for status in statuses]
    run_ids = [f"run_{i}" for i in range(len(cases))]
    for run_id, (value, _, status) in zip(run_ids, cases, strict=True):
        script.refuse(run_id, status, ((key, value),))
    with serving(script) as endpoint:
        outcomes = calls(flavour, endpoint, method, run_ids, timeout=3.0)
    for run_id, (value, capped, status), outcome in zip(run_ids, cases, outcomes, strict=True):
        what = f"{key}: {value!r} on {status.name}"
        asked = script.asked.get(run_id, [])
        if capped:
            assert isinstance(outcome, ApiError), (what, outcome)
            assert outcome.code == status.name, what
            assert len(asked) == 1, what
        else:
            assert not isinstance(outcome, Exception), (what, outcome)
            if method == "wait":
                assert isinstance(outcome, RunResult), what
                assert outcome.status is RunStatus.FAILED, what
            assert len(asked) == 2, what
            assert asked[1] - asked[0] < 0.5, (what, asked)  # the policy's 10-20 ms, no hint


def _non_ascii_trailers(value: str) -> Any:
    async def act(
        connection: h2.connection.H2Connection, stream_id: int, writer: asyncio.StreamWriter
    ) -> None:
        headers = (
            (":status", "200"),
            ("content-type", "application/grpc"),
            ("grpc-status", str(Status.UNAVAILABLE.value)),
            ("retry-after", value),
        )
        connection.send_headers(stream_id, headers, end_stream=True)
        writer.write(connection.data_to_send())
        await writer.drain()

    return act


@pytest.mark.parametrize("value", NON_ASCII)
def test_a_non_ascii_trailer_is_a_typed_unavailable(value: str) -> None:
    with leaks.no_leaks(None), Server(h2_script(_non_ascii_trailers(value))) as server:
        outcomes = calls("async", f"127.0.0.1:{server.port}", "get", ["run_1"], timeout=3.0)
    assert isinstance(outcomes[0], ApiError), outcomes
    assert outcomes[0].code == "UNAVAILABLE"
