"""Timeouts of both clients against the emulator: a client-level default with a per-call
override, and streams bounded by the server's silence (``stream_idle_timeout``) rather than by
the call deadline, unless the call passes one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any, Literal

import pytest

from runbind import AsyncRunStream, InvalidArgumentError, Run, RunStream, RunTimeoutError
from runbind.emulator import Emulator
from runbind.openai import AsyncRuns as OpenAIAsyncRuns
from runbind.openai import Runs as OpenAIRuns
from runbind.yandex import AsyncRuns as YandexAsyncRuns
from runbind.yandex import Runs as YandexRuns

Provider = Literal["yandex", "openai"]
PROVIDERS: tuple[Provider, ...] = ("yandex", "openai")


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _clean(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "YC_API_KEY", "YC_IAM_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    yield
    emu.faults.clear()


def async_client(provider: Provider, emu: Emulator, **options: Any) -> Any:
    if provider == "yandex":
        return YandexAsyncRuns(endpoint=emu.grpc_target, **options)
    return OpenAIAsyncRuns(base_url=emu.openai_base_url, **options)


def sync_client(provider: Provider, emu: Emulator, **options: Any) -> YandexRuns | OpenAIRuns:
    if provider == "yandex":
        return YandexRuns(endpoint=emu.grpc_target, **options)
    return OpenAIRuns(base_url=emu.openai_base_url, **options)


def ended(events: list[Any]) -> bool:
    """Whether a stream's events reached the run's end (Yandex: a final event; OpenAI: done)."""
    return bool(events) and (events[-1].is_finished or events[-1].status_raw == "done")


# --------------------------------------------------------------------------- client timeout


@pytest.mark.parametrize("provider", PROVIDERS)
def test_timeouts_are_checked(emu: Emulator, provider: Provider) -> None:
    for bad in (0, -1.0, float("nan"), True, "5"):
        with pytest.raises(InvalidArgumentError, match="timeout must be a positive"):
            sync_client(provider, emu, timeout=bad)
        with pytest.raises(InvalidArgumentError, match="stream_idle_timeout must be a positive"):
            sync_client(provider, emu, stream_idle_timeout=bad)
    with sync_client(provider, emu, timeout=7, stream_idle_timeout=None) as runs:
        assert (runs.timeout, runs.stream_idle_timeout) == (7.0, None)
        with pytest.raises(InvalidArgumentError, match="timeout must be a positive"):
            runs.get("r", thread_id="t", timeout=0) if isinstance(runs, OpenAIRuns) else runs.get(
                "r", timeout=0
            )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_client_timeout_bounds_calls_and_a_call_may_pass_its_own(
    emu: Emulator, provider: Provider
) -> None:
    assistant_id, thread_id = emu.seed(provider)
    with sync_client(provider, emu, timeout=0.4) as runs:
        run = runs.create(assistant_id, thread_id)
        method = "Get" if provider == "yandex" else "GET"
        emu.faults.stall(2.0, protocol=provider, method=method)
        started = time.monotonic()
        with pytest.raises(RunTimeoutError):
            runs.get(run)
        assert 0.3 < time.monotonic() - started < 1.5
        emu.faults.clear()
        emu.faults.stall(0.6, protocol=provider, method=method)
        assert runs.get(run, timeout=5).id == run.id  # longer than the client's 0.4 s


# --------------------------------------------------------------------------- streams


def test_a_ten_second_stream_completes_with_the_default_settings(emu: Emulator) -> None:
    """A 10 s streamed run on each provider, all at once: with the default settings, and with
    a client timeout far shorter than the stream (it bounds calls, not a stream's length)."""
    script = "echo chunks=8 delay=1"  # a step a second: 2 steps + 8 chunks, 10 s

    async def stream(provider: Provider, **options: Any) -> tuple[float, list[Any]]:
        assistant_id, thread_id = await emu.aseed(provider, "Tell me a story", behaviour=script)
        async with async_client(provider, emu, **options) as runs:
            started = time.monotonic()
            made = await runs.create(assistant_id, thread_id, stream=True)
            assert isinstance(made, AsyncRunStream)
            events = [event async for event in made]
            return time.monotonic() - started, events

    async def main() -> list[tuple[float, list[Any]]]:
        return await asyncio.gather(
            *(stream(provider) for provider in PROVIDERS),
            *(stream(provider, timeout=2.0) for provider in PROVIDERS),
        )

    for took, events in asyncio.run(main()):
        assert ended(events)
        assert took > 9, took  # it was a long stream indeed


def read_until_silent(
    provider: Provider, flavour: str, emu: Emulator, idle: float, marks: list[float]
) -> None:
    """Stream a run that goes silent for 5 s, on a client with ``idle`` as its stream idle
    timeout, noting in ``marks`` when the call was made and when each event came."""
    assistant_id, thread_id = emu.seed(provider, behaviour="slow seconds=5")
    if flavour == "sync":
        with sync_client(provider, emu, stream_idle_timeout=idle) as runs:
            marks.append(time.monotonic())
            made = runs.create(assistant_id, thread_id, stream=True)
            assert isinstance(made, RunStream)
            for _ in made:
                marks.append(time.monotonic())
        raise AssertionError("the stream ended")

    async def main() -> None:
        async with async_client(provider, emu, stream_idle_timeout=idle) as runs:
            marks.append(time.monotonic())
            made = await runs.create(assistant_id, thread_id, stream=True)
            async for _ in made:
                marks.append(time.monotonic())

    asyncio.run(main())
    raise AssertionError("the stream ended")


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("flavour", ["async", "sync"])
def test_a_silent_stream_fails_after_the_idle_timeout(
    emu: Emulator, provider: Provider, flavour: str
) -> None:
    idle = 0.5
    marks: list[float] = []
    with pytest.raises(RunTimeoutError, match="stream_idle_timeout") as caught:
        read_until_silent(provider, flavour, emu, idle, marks)
    silent = time.monotonic() - marks[-1]  # since the last event (or the call)
    assert idle * 0.8 < silent < idle + 1.0
    assert isinstance(caught.value.last_run, Run)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_timeout_passed_to_a_stream_bounds_it_whole(emu: Emulator, provider: Provider) -> None:
    assistant_id, thread_id = emu.seed(provider, behaviour="echo chunks=20 delay=0.1")
    with sync_client(provider, emu, stream_idle_timeout=None) as runs:
        made = runs.create(assistant_id, thread_id, stream=True, timeout=0.8)
        started = time.monotonic()
        with pytest.raises(RunTimeoutError):
            for _ in made:
                pass
        assert time.monotonic() - started < 2.0


def test_an_openai_polling_stream_of_a_slow_run_is_alive(emu: Emulator) -> None:
    """``listen`` on OpenAI polls: each answer is a sign of life, so a run that stays in one
    status longer than the idle timeout is not cut."""
    assistant_id, thread_id = emu.seed("openai", behaviour="slow seconds=1.5")
    with OpenAIRuns(base_url=emu.openai_base_url, stream_idle_timeout=0.5) as runs:
        run = runs.create(assistant_id, thread_id)
        events = list(runs.listen(run))
        assert ended(events)
        assert runs.get(run).status.value == "completed"


def test_an_openai_stream_dropped_and_followed_by_polling_stays_alive(emu: Emulator) -> None:
    assistant_id, thread_id = emu.seed("openai", behaviour="slow seconds=1.5")
    emu.faults.drop_stream(2, protocol="openai")
    with OpenAIRuns(base_url=emu.openai_base_url, stream_idle_timeout=0.5) as runs:
        made = runs.create(assistant_id, thread_id, stream=True)
        events = list(made)
        assert ended(events)
