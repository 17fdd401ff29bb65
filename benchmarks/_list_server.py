"""The ``list`` scaling rows' server, in its own process (so that it does not share the clients'
GIL): an emulator on 127.0.0.1 holding N finished Yandex runs and N finished OpenAI Assistants
runs (in one thread).

One run of each side is made through the emulator's API; the other N - 1 are copies of it under
new ids, put straight into the emulator's store (making 10,000 runs through the API would take
minutes and measure the emulator, not the listing).

``python -m benchmarks._list_server N`` prints ``{"target": ..., "base_url": ...,
"thread_id": ...}`` once the runs are there, then serves until its standard input closes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from typing import Any

import httpx
from grpclib.client import Channel
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs

from runbind.emulator import Emulator
from runbind.emulator._state import new_id

_DONE = {runs.RunStateRunStatus.COMPLETED, runs.RunStateRunStatus.FAILED}


async def _yandex_run(emu: Emulator) -> str:
    assistant, thread = await emu.aseed("yandex", "ping", behaviour="echo")
    channel = Channel(emu.host, emu.grpc_port)
    try:
        stub = runs.RunServiceStub(channel)
        request = runs.CreateRunRequest(assistant_id=assistant, thread_id=thread)
        run = await stub.create(request, timeout=30)
        for _ in range(3000):
            got = await stub.get(runs.GetRunRequest(run_id=run.id), timeout=30)
            if got.state is not None and got.state.status in _DONE:
                return run.id
            await asyncio.sleep(0.01)
    finally:
        channel.close()
    raise RuntimeError("the benchmark run did not finish within 30 s")


async def _openai_run(emu: Emulator) -> tuple[str, str]:
    assistant, thread = await emu.aseed("openai", "ping", behaviour="echo")
    async with httpx.AsyncClient(base_url=emu.openai_base_url, timeout=30) as http:
        url = f"/threads/{thread}/runs"
        created = (await http.post(url, json={"assistant_id": assistant})).raise_for_status()
        run_id = str(created.json()["id"])
        for _ in range(3000):
            got = (await http.get(f"{url}/{run_id}")).raise_for_status().json()
            if got["status"] == "completed":
                return thread, run_id
            await asyncio.sleep(0.01)
    raise RuntimeError("the benchmark run did not finish within 30 s")


def _copies(emu: Emulator, run_id: str, count: int, *, yandex: bool) -> None:
    store = emu.yandex_store if yandex else emu.openai_store
    run = store.runs.get(run_id)
    assert run is not None
    shared: Any = emu._services[0].s if yandex else None  # type: ignore[attr-defined]
    for _ in range(count):
        copy = dataclasses.replace(run, id=new_id("run"))
        store.runs.add(copy.id, copy)
        if yandex:
            shared.created(copy.id)
            if run.id in shared.folders:
                shared.folders[copy.id] = shared.folders[run.id]


async def main(count: int) -> None:
    """Serve until stdin closes."""
    async with Emulator() as emu:
        yandex_run = await _yandex_run(emu)
        thread, openai_run = await _openai_run(emu)
        _copies(emu, yandex_run, count - 1, yandex=True)
        _copies(emu, openai_run, count - 1, yandex=False)
        info = {"target": emu.grpc_target, "base_url": emu.openai_base_url, "thread_id": thread}
        print(json.dumps(info), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
