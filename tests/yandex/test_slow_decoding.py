"""Yandex clients against replies that are slow to decode: such a reply is decoded on a worker
thread, so that the call still ends at its deadline (its decoding with it) and the loop keeps
running; large replies arrive whole. (A module of its own: the servers of
``test_transport_faults`` live 30 s, and these tests take a while.)"""

from __future__ import annotations

import asyncio
import gc
import threading
import time

import pytest
from runbind_generated.proto.google.protobuf import Struct
from runbind_generated.proto.yandex.cloud.ai.assistants import v1
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs as runs_pb

from runbind import RunTimeoutError
from runbind._core.offload import OFFLOAD_THRESHOLD
from runbind._core.retry import Deadline
from runbind.emulator import Emulator
from runbind.yandex import AsyncRuns
from tests._flavours import Connect
from tests._misbehaving import Server, grpc_reply, slow_to_decode

from .test_transport_faults import FAST, attempt, elapsed_since, endpoint, no_leaks

pytestmark = pytest.mark.serial  # its bounds are wall-clock times: run alone


@pytest.fixture(scope="module")
def slow_replies() -> dict[str, bytes]:
    """A Run and a StreamEvent of unknown fields, each taking at least 2 s to decode here."""
    return {
        "get": slow_to_decode(runs_pb.Run, 2.0),
        "listen": slow_to_decode(runs_pb.StreamEvent, 2.0),
    }


@pytest.mark.parametrize("call", ["get", "listen"])
def test_a_reply_slow_to_decode_ends_at_the_deadline_and_its_decoding_with_it(
    connect: Connect, emulator: Emulator, slow_replies: dict[str, bytes], call: str
) -> None:
    """Decoded on the loop, such a reply kept the call (and every other one) until the decode
    returned, seconds past the deadline; decoded on a worker thread, the deadline ends the call
    on time and stops the worker (the leak check counts threads)."""
    with Server(grpc_reply(slow_replies[call], trailers=call == "get")) as server:
        runs = connect(emulator, endpoint=endpoint(server.port), retry=FAST)
        started = time.monotonic()
        with no_leaks(runs):
            with pytest.raises(RunTimeoutError):
                attempt(runs, call, timeout=0.5)
            took = elapsed_since(started)
            runs.close()
        assert 0.45 <= took < 0.9


@pytest.mark.parametrize("size", [OFFLOAD_THRESHOLD - 100, OFFLOAD_THRESHOLD + 100, 3 << 20])
def test_a_large_reply_decoded_off_the_loop_arrives_whole(
    connect: Connect, emulator: Emulator, size: int
) -> None:
    text = "x" * size
    reply = runs_pb.Run(id="fvtrun-big", labels={"text": text})
    with Server(grpc_reply(bytes(reply))) as server:
        runs = connect(emulator, endpoint=endpoint(server.port), retry=FAST)
        with no_leaks(runs):
            run = runs.get("fvtrun-big", timeout=5)
            runs.close()
    assert run.id == "fvtrun-big"
    assert run.labels == {"text": text}


# --------------------------------------------------------------------------- large conversions

CALLS = 100_000
"""Tool calls in a reply: about 1 s to decode and 1 s more to convert into runbind objects."""


def tool_calls(count: int) -> v1.ToolCallList:
    arguments = Struct.from_dict({"city": "Paris"})
    call = v1.ToolCall(function_call=v1.FunctionCall(name="get_weather", arguments=arguments))
    return v1.ToolCallList(tool_calls=[call] * count)


def large_reply(call: str) -> bytes:
    """A reply to ``call`` whose conversion costs as much as its decoding."""
    if call == "listen":
        event = runs_pb.StreamEvent(
            event_type=runs_pb.StreamEventEventType.TOOL_CALLS, tool_call_list=tool_calls(CALLS)
        )
        return bytes(event)
    state = runs_pb.RunState(
        status=runs_pb.RunStateRunStatus.TOOL_CALLS, tool_call_list=tool_calls(CALLS)
    )
    run = runs_pb.Run(id="fvtrun-calls", state=state)
    if call == "list":
        one = runs_pb.Run(id="fvtrun-many", labels={"k": "v"})
        return bytes(runs_pb.ListRunsResponse(runs=[one] * (CALLS // 2)))
    return bytes(run)


async def answer(runs: AsyncRuns, call: str) -> tuple[int, object]:
    """``call`` with a long deadline: how many tool calls (or runs) its answer holds, and the
    answer (kept by the caller: freeing a million objects takes a while wherever it happens)."""
    if call == "list":
        found = [run async for run in runs.list(folder_id="f", page_size=1000, timeout=30)]
        return len(found), found
    if call == "listen":
        events = [event async for event in runs.listen("fvtrun-calls", timeout=30)]
        return len(events[-1].tool_calls or ()), events
    run = await runs.get("fvtrun-calls", timeout=30)
    return len(run.tool_calls or ()), run


@pytest.mark.parametrize("call", ["get", "listen", "list"])
def test_a_large_reply_is_decoded_and_converted_off_the_loop(call: str) -> None:
    """Converting 100,000 tool calls (or 50,000 runs) into runbind objects held the client's
    loop for 0.6-0.8 s once the decode had left it; both run on the worker now, and the loop's
    10 ms timers fire on time meanwhile. The garbage collector is off here: its full sweeps of
    the million objects such a decode makes stall every thread alike (50-500 ms at a time,
    with the heap's size), which no worker thread can prevent."""
    data = large_reply(call)

    async def scenario(port: int) -> tuple[tuple[int, object], list[float]]:
        lag: list[float] = []

        async def ticking() -> None:
            while True:
                started = time.monotonic()
                await asyncio.sleep(0.01)
                lag.append(time.monotonic() - started - 0.01)

        ticker = asyncio.create_task(ticking())
        try:
            async with AsyncRuns(endpoint=endpoint(port), retry=FAST) as runs:
                got = await answer(runs, call)
            await asyncio.sleep(0.05)  # a stall at the very end is measured too
            return got, lag
        finally:
            ticker.cancel()

    # a listen that ends on tool calls asks whether the run still waits on them (a Get)
    then = large_reply("get") if call == "listen" else None
    gc.disable()
    try:
        with Server(grpc_reply(data, trailers=call != "listen", then=then)) as server:
            got, lag = asyncio.run(scenario(server.port))
    finally:
        gc.enable()
    assert got[0] == (CALLS // 2 if call == "list" else CALLS)
    assert max(lag) < 0.2, sorted(lag)[-5:]


def test_a_conversion_still_running_at_the_deadline_ends_with_it() -> None:
    """A large reply decoded in time, whose conversion would run past the deadline: the call
    ends with ``RunTimeoutError`` at the deadline, its worker stopped there."""

    def converting(message: runs_pb.Run) -> str:
        until = time.monotonic() + 10
        while time.monotonic() < until:  # as a conversion of millions of fields would
            pass
        return message.id

    client = AsyncRuns(endpoint="127.0.0.1:1")
    message = runs_pb.Run(id="fvtrun-late")
    client._codec._large = {id(message)}  # as if decoded from more than the threshold

    async def scenario() -> float:
        started = time.monotonic()
        with pytest.raises(RunTimeoutError, match="get: deadline exceeded"):
            await client._adapt(converting, message, Deadline(0.3), "get")
        return time.monotonic() - started

    took = asyncio.run(scenario())
    assert 0.25 <= took < 0.6
    assert not any(t.name == "runbind-decode" for t in threading.enumerate())
