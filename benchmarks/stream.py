"""Stream throughput: events per second of ``RunService/Listen`` replaying one finished run of
10,000 small events (``echo chunks=1 repeat=9998``, ``events_start_idx=0``) from the emulator,
which runs in a child process; ours (``runbind.yandex.AsyncRuns.listen``, and the generated
grpclib stub under it) against grpcio clients with grpcio-tools stubs. Every client counts the
events and reads each one's type."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import _google
from ._results import Row, Series
from ._timing import Settings

__all__ = ["EVENTS", "rows"]

EVENTS = 10_000
ROOT = Path(__file__).resolve().parents[1]
_TIMEOUT = 120.0


@contextmanager
def child_server(module: str, events: int) -> Iterator[dict[str, Any]]:
    """What the child emulator ``python -m <module> <events>`` prints once it serves a finished
    run of ``events`` events (one JSON line); it stops when its stdin closes."""
    argv = [sys.executable, "-m", module, str(events)]
    proc = subprocess.Popen(
        argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{module} exited ({proc.wait(_TIMEOUT)})")
        info: dict[str, Any] = json.loads(line)
        yield info
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def _server(events: int) -> Iterator[tuple[str, str]]:
    """(target, run id) of a child emulator holding a finished run of ``events`` events."""
    with child_server("benchmarks._stream_server", events) as info:
        yield str(info["target"]), str(info["run_id"])


Client = Callable[[str, str], int]


def _ours(runner: asyncio.Runner) -> Client:
    from runbind.yandex import AsyncRuns  # noqa: PLC0415 - after the server child started

    async def listen(target: str, run_id: str) -> int:
        count = 0
        async with AsyncRuns(endpoint=target) as client:
            async for event in client.listen(run_id, events_start_idx=0, timeout=_TIMEOUT):
                count += event.status is not None
        return count

    return lambda target, run_id: runner.run(listen(target, run_id))


def _ours_stub(runner: asyncio.Runner) -> Client:
    from grpclib.client import Channel  # noqa: PLC0415
    from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs  # noqa: PLC0415

    async def listen(target: str, run_id: str) -> int:
        host, port = target.rsplit(":", 1)
        channel = Channel(host, int(port))
        try:
            stub = runs.RunServiceStub(channel)
            request = runs.ListenRunRequest(run_id=run_id, events_start_idx=0)
            count = 0
            async for event in stub.listen(request, timeout=_TIMEOUT):
                count += event.event_type is not None
            return count
        finally:
            channel.close()

    return lambda target, run_id: runner.run(listen(target, run_id))


def _grpcio(modules: _google.GoogleModules) -> tuple[Client, Callable[[asyncio.Runner], Client]]:
    import grpc  # type: ignore[import-untyped]  # noqa: PLC0415
    from google.protobuf.wrappers_pb2 import Int64Value  # noqa: PLC0415

    pb2, pb2_grpc = modules.run_service_pb2, modules.run_service_pb2_grpc

    def request(run_id: str) -> Any:
        return pb2.ListenRunRequest(run_id=run_id, events_start_idx=Int64Value(value=0))

    def sync(target: str, run_id: str) -> int:
        with grpc.insecure_channel(target) as channel:
            stub = pb2_grpc.RunServiceStub(channel)
            count = 0
            for event in stub.Listen(request(run_id), timeout=_TIMEOUT):
                count += event.event_type is not None
            return count

    def aio(runner: asyncio.Runner) -> Client:
        async def listen(target: str, run_id: str) -> int:
            async with grpc.aio.insecure_channel(target) as channel:
                stub = pb2_grpc.RunServiceStub(channel)
                count = 0
                async for event in stub.Listen(request(run_id), timeout=_TIMEOUT):
                    count += event.event_type is not None
                return count

        return lambda target, run_id: runner.run(listen(target, run_id))

    return sync, aio


def _timed(client: Client, target: str, run_id: str, events: int) -> float:
    start = time.perf_counter()
    got = client(target, run_id)
    took = time.perf_counter() - start
    if got != events:
        raise AssertionError(f"expected {events} events, got {got}")
    return took / events


def rows(settings: Settings, events: int = EVENTS) -> list[Row]:
    """Two rows (AsyncRuns.listen; the generated grpclib stub) against grpcio sync and aio."""
    modules = _google.modules()
    with _server(events) as (target, run_id), asyncio.Runner() as runner:
        sync, aio = _grpcio(modules)
        clients: dict[str, Client] = {
            "AsyncRuns.listen": _ours(runner),
            "generated grpclib stub": _ours_stub(runner),
            "grpcio sync stub": sync,
            "grpcio aio stub": aio(runner),
        }
        for client in clients.values():  # warm up: connections, first imports, caches
            _timed(client, target, run_id, events)
        samples: dict[str, list[float]] = {label: [] for label in clients}
        labels = list(clients)
        for round_ in range(settings.rounds):
            for offset in range(len(labels)):
                label = labels[(round_ + offset) % len(labels)]
                samples[label].append(_timed(clients[label], target, run_id, events))
    anchors = [Series(label, samples[label]) for label in ("grpcio sync stub", "grpcio aio stub")]
    note = f"{events} events per sample, replayed from a finished run; server in a child process"
    return [
        Row(
            "stream",
            f"Listen, {label}",
            Series(label, samples[label]),
            anchors,
            per="event",
            note=note,
        )
        for label in ("AsyncRuns.listen", "generated grpclib stub")
    ]
