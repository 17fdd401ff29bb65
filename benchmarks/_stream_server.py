"""The stream rows' server, in its own process so that it does not share the clients' GIL:
an emulator on 127.0.0.1 holding one finished streaming run of exactly N small events.

``python -m benchmarks._stream_server N`` prints ``{"target": ..., "run_id": ...}`` once the run
has finished, then serves until its standard input closes.
"""

from __future__ import annotations

import asyncio
import json
import sys

from grpclib.client import Channel
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs

from runbind.emulator import Emulator

_DONE = {runs.RunStateRunStatus.COMPLETED, runs.RunStateRunStatus.FAILED}


async def _finished_run(emu: Emulator, events: int) -> str:
    # One chunk, events - 2 repeats of the whole (short) text, then DONE: exactly `events`.
    script = f"echo chunks=1 repeat={events - 2}"
    assistant, thread = await emu.aseed("yandex", "ping", behaviour=script)
    channel = Channel(emu.host, emu.grpc_port)
    try:
        stub = runs.RunServiceStub(channel)
        request = runs.CreateRunRequest(assistant_id=assistant, thread_id=thread, stream=True)
        run = await stub.create(request, timeout=30)
        for _ in range(3000):
            got = await stub.get(runs.GetRunRequest(run_id=run.id), timeout=30)
            if got.state is not None and got.state.status in _DONE:
                break
            await asyncio.sleep(0.01)
        else:
            raise RuntimeError("the benchmark run did not finish within 30 s")
    finally:
        channel.close()
    return run.id


async def main(events: int) -> None:
    """Serve until stdin closes."""
    async with Emulator() as emu:
        run_id = await _finished_run(emu, events)
        print(json.dumps({"target": emu.grpc_target, "run_id": run_id}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
