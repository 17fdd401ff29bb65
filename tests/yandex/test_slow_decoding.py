"""Yandex clients against replies that are slow to decode: such a reply is decoded on a worker
thread, so that the call still ends at its deadline (its decoding with it) and the loop keeps
running; large replies arrive whole. (A module of its own: the servers of
``test_transport_faults`` live 30 s, and these tests take a while.)"""

from __future__ import annotations

import time

import pytest
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs as runs_pb

from runbind import RunTimeoutError
from runbind._offload import OFFLOAD_THRESHOLD
from runbind.emulator import Emulator
from tests._misbehaving import Server, grpc_reply, slow_to_decode

from .conftest import Connect
from .test_transport_faults import FAST, attempt, elapsed_since, endpoint, no_leaks


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
