"""The Responses stream rows' server, in its own process (so that it does not share the clients'
GIL): an emulator on 127.0.0.1 holding one finished background response of exactly N events.

``python -m benchmarks._responses_server N`` prints ``{"base_url": ..., "response_id": ...}``
once the response has finished, then serves until its standard input closes.
"""

from __future__ import annotations

import asyncio
import json
import sys

import httpx

from runbind.emulator import Emulator

_OPENING = 10
"""Events of an echo response besides its repeated deltas: created, queued, in_progress, the
item and its part added, one delta, the text, part and item done, completed."""


async def _finished_response(emu: Emulator, events: int) -> str:
    body = {
        "model": "bench",
        "input": "ping",
        "background": True,
        "metadata": {"emulator": f"echo chunks=1 repeat={events - _OPENING}"},
    }
    async with httpx.AsyncClient(base_url=emu.openai_base_url, timeout=30) as http:
        created = (await http.post("/responses", json=body)).raise_for_status().json()
        for _ in range(3000):
            got = (await http.get(f"/responses/{created['id']}")).raise_for_status().json()
            if got["status"] == "completed":
                return str(created["id"])
            await asyncio.sleep(0.01)
    raise RuntimeError("the benchmark response did not finish within 30 s")


async def main(events: int) -> None:
    """Serve until stdin closes."""
    async with Emulator() as emu:
        response_id = await _finished_response(emu, events)
        print(json.dumps({"base_url": emu.openai_base_url, "response_id": response_id}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
