"""The decode worker (:mod:`runbind._core.offload`): results and errors come back, a cancelled call
stops its worker at once, and callers waiting for the loop's one worker keep their turns."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from runbind._core import offload


def busy(seconds: float) -> float:
    """Pure-Python work for ``seconds`` (it holds the GIL between switches, as a decode does)."""
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass
    return seconds


def fail(message: str) -> None:
    raise ValueError(message)


def workers() -> int:
    return sum(t.name == "runbind-decode" for t in threading.enumerate())


def test_a_result_and_an_error_come_back_from_the_worker() -> None:
    async def scenario() -> None:
        assert await offload.off_loop(busy, 0.01) == 0.01
        with pytest.raises(ValueError, match="bad bytes"):
            await offload.off_loop(fail, "bad bytes")

    asyncio.run(scenario())
    assert workers() == 0


def test_small_data_is_decoded_inline_and_large_data_on_a_worker() -> None:
    seen: list[str] = []

    def where(data: bytes) -> int:
        seen.append(threading.current_thread().name)
        return len(data)

    async def scenario() -> None:
        limit = offload.OFFLOAD_THRESHOLD
        assert await offload.decode(where, bytes(limit)) == limit
        assert await offload.decode(where, bytes(limit + 1)) == limit + 1

    asyncio.run(scenario())
    assert seen == ["MainThread", "runbind-decode"]


@pytest.mark.serial  # its bounds are wall-clock times (0.37 s against 0.2 s beside a busy worker)
def test_a_cancelled_call_stops_its_worker_at_once_and_the_loop_runs_meanwhile() -> None:
    async def scenario() -> tuple[float, float]:
        call = asyncio.create_task(offload.off_loop(busy, 10.0))
        started = time.monotonic()
        await asyncio.sleep(0.2)  # the loop's timers fire while the worker is busy
        slept = time.monotonic() - started
        call.cancel()
        cancelled = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await call
        return slept, time.monotonic() - cancelled

    slept, stopping = asyncio.run(scenario())
    assert slept < 0.3
    assert stopping < 0.2
    assert workers() == 0


def test_callers_take_turns_and_a_cancelled_waiter_gives_its_turn_away() -> None:
    async def scenario() -> list[float]:
        first = asyncio.create_task(offload.off_loop(busy, 0.3))
        await asyncio.sleep(0.05)
        assert workers() == 1
        waiting = asyncio.create_task(offload.off_loop(busy, 0.3))
        last = asyncio.create_task(offload.off_loop(busy, 0.05))
        await asyncio.sleep(0.05)
        assert workers() == 1  # one worker per loop: the others wait on the loop
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        done = list(await asyncio.gather(first, last))
        assert await offload.off_loop(busy, 0.01) == 0.01  # every turn came back
        return done

    assert asyncio.run(scenario()) == [0.3, 0.05]
    assert workers() == 0
