"""Fixtures: a threaded emulator on real sockets, grpcio with Google protobuf classes, httpx."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc  # type: ignore[import-untyped]
import httpx
import pytest

from runbind.emulator import Emulator
from tests.generated.test_proto_wire import World, world  # noqa: F401

from ._clients import TIMEOUT, GrpcWorld, OpenAI, Yandex, stop


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """One emulator per test module, on a background thread; it must stop cleanly."""
    emu = Emulator().start_in_thread()
    try:
        yield emu
    finally:
        stop(emu)


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start emulators with custom options; each must stop cleanly at teardown."""
    started: list[Emulator] = []

    def start(**options: Any) -> Emulator:
        emu = Emulator(**options).start_in_thread()
        started.append(emu)
        return emu

    yield start
    for emu in started:
        stop(emu)


@pytest.fixture(scope="session")
def grpc_world(world: World) -> GrpcWorld:  # noqa: F811
    """Google message classes of the Yandex services, built by grpcio-tools' protoc."""
    return GrpcWorld(world)


@pytest.fixture
def open_channel() -> Iterator[Callable[[Emulator], Any]]:
    """Open grpcio channels to an emulator; all are closed at teardown."""
    channels: list[Any] = []

    def open_(emu: Emulator) -> Any:
        channel = grpc.insecure_channel(emu.grpc_target)
        grpc.channel_ready_future(channel).result(timeout=TIMEOUT)
        channels.append(channel)
        return channel

    yield open_
    for channel in channels:
        channel.close()


@pytest.fixture
def yandex(
    emulator: Emulator, grpc_world: GrpcWorld, open_channel: Callable[[Emulator], Any]
) -> Yandex:
    """A grpcio client of the module's emulator."""
    return Yandex(grpc_world, open_channel(emulator))


@pytest.fixture
def http(emulator: Emulator) -> Iterator[httpx.Client]:
    """An httpx client of the module's emulator's OpenAI side."""
    with httpx.Client(base_url=emulator.openai_base_url, timeout=TIMEOUT) as client:
        yield client


@pytest.fixture
def openai(http: httpx.Client) -> OpenAI:
    """Raw JSON helpers over :func:`http`."""
    return OpenAI(http)
