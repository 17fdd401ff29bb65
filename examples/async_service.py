"""A small service on the async clients: several runs served at once on one event loop.

``Answers.ask`` serves one request: it starts a run, streams it, answers its tool calls (the
tool is itself async, as a call to another service would be) and returns the answer. Requests
run concurrently as tasks, at most ``LIMIT`` runs at a time, and all of them share one client
per provider (one HTTP connection pool, one gRPC channel).

    python examples/async_service.py
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from _emulator import API_KEY, emulator

from runbind import FunctionResultDict, ToolCall, openai, yandex
from runbind.emulator import Emulator

LIMIT = 4
"""Runs in flight at once; more requests wait for a slot."""
BEHAVIOUR = "tools calls=2 delay=0.05"
"""The emulator's script for each run: two function calls, 50 ms before each step."""
CITIES = ["Oslo", "Bergen", "Tromso", "Bodo", "Alta", "Molde"]


async def get_weather(city: str) -> str:
    await asyncio.sleep(0.05)  # a call to some weather service
    return f"+4 C in {city}"


class Answers:
    """Questions in, answers out, over one provider's client."""

    def __init__(self, runs: yandex.AsyncRuns | openai.AsyncRuns, emu: Emulator) -> None:
        self.runs = runs
        self.emu = emu
        self.provider: Literal["yandex", "openai"]
        self.provider = "yandex" if isinstance(runs, yandex.AsyncRuns) else "openai"
        self.slots = asyncio.Semaphore(LIMIT)

    async def ask(self, question: str) -> str:
        async with self.slots:
            # A real service keeps its assistant and opens a thread per conversation with the
            # provider's API; the emulator seeds both.
            ids = await self.emu.aseed(self.provider, question, behaviour=BEHAVIOUR)
            stream = await self.runs.create(*ids, stream=True)
            while calls := [call async for event in stream for call in event.tool_calls]:
                results = await asyncio.gather(*(self.answer(call) for call in calls))
                stream = await self.runs.submit_tool_results(
                    stream.current_run, results, stream=True
                )
            result = await self.runs.wait(stream.current_run)
            return f"[{self.provider}] {question} {result.text}"

    @staticmethod
    async def answer(call: ToolCall) -> FunctionResultDict:
        return call.result(await get_weather(call.arguments["city"]))


async def serve(emu: Emulator) -> None:
    async with (
        yandex.AsyncRuns(endpoint=emu.grpc_target, api_key=API_KEY) as yandex_runs,
        openai.AsyncRuns(base_url=emu.openai_base_url, api_key=API_KEY) as openai_runs,
    ):
        services = [Answers(yandex_runs, emu), Answers(openai_runs, emu)]
        started = time.monotonic()
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(service.ask(f"Weather in {city}?"))
                for city in CITIES
                for service in services
            ]
        for task in tasks:
            print(task.result())
        took = time.monotonic() - started
        print(f"{len(tasks)} requests in {took:.1f} s, at most {LIMIT} runs per provider at once")


def main() -> None:
    with emulator() as emu:
        asyncio.run(serve(emu))


if __name__ == "__main__":
    main()
