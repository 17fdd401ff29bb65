"""Responses stream throughput: events per second of one finished background response of
10,000 small events (``echo chunks=1 repeat=9990``) streamed again from its start
(``GET /responses/{id}?stream=true``) by an emulator in a child process; ours
(``runbind.openai.AsyncResponses.listen`` and the blocking ``Responses.listen``) against
openai-python iterating the same stream (``responses.retrieve(id, stream=True)``, sync and
async). Every client counts the events and reads each one's type."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from ._results import Row, Series
from ._timing import Settings
from .stream import child_server

__all__ = ["EVENTS", "rows"]

EVENTS = 10_000
_TIMEOUT = 120.0
_KEY = "sk-bench"  # the emulator takes none; the clients want one

Client = Callable[[str, str], int]


@contextmanager
def _server(events: int) -> Iterator[tuple[str, str]]:
    """(base URL, response id) of a child emulator holding a finished response of ``events``."""
    with child_server("benchmarks._responses_server", events) as info:
        yield str(info["base_url"]), str(info["response_id"])


def _clients(base_url: str, runner: asyncio.Runner, stack: ExitStack) -> dict[str, Client]:
    """Each contender, its client made once (connections pooled, as an application's are)."""
    import openai  # noqa: PLC0415

    from runbind.openai import AsyncResponses, Responses  # noqa: PLC0415

    ours_async = AsyncResponses(base_url=base_url, api_key=_KEY, timeout=_TIMEOUT)
    stack.callback(lambda: runner.run(ours_async.close()))
    ours_sync = stack.enter_context(Responses(base_url=base_url, api_key=_KEY, timeout=_TIMEOUT))
    theirs_sync = stack.enter_context(
        openai.OpenAI(base_url=base_url, api_key=_KEY, timeout=_TIMEOUT, max_retries=0)
    )
    theirs_async = openai.AsyncOpenAI(
        base_url=base_url, api_key=_KEY, timeout=_TIMEOUT, max_retries=0
    )
    stack.callback(lambda: runner.run(theirs_async.close()))

    async def listen(response_id: str) -> int:
        count = 0
        async for event in ours_async.listen(response_id, timeout=_TIMEOUT):
            count += event.status is not None
        return count

    def listen_sync(response_id: str) -> int:
        count = 0
        for event in ours_sync.listen(response_id, timeout=_TIMEOUT):
            count += event.status is not None
        return count

    def retrieve_sync(response_id: str) -> int:
        count = 0
        for event in theirs_sync.responses.retrieve(response_id, stream=True):
            count += event.type is not None
        return count

    async def retrieve(response_id: str) -> int:
        count = 0
        async for event in await theirs_async.responses.retrieve(response_id, stream=True):
            count += event.type is not None
        return count

    return {
        "AsyncResponses.listen": lambda _, rid: runner.run(listen(rid)),
        "Responses.listen": lambda _, rid: listen_sync(rid),
        "openai-python sync stream": lambda _, rid: retrieve_sync(rid),
        "openai-python async stream": lambda _, rid: runner.run(retrieve(rid)),
    }


def _timed(client: Client, base_url: str, response_id: str, events: int) -> float:
    start = time.perf_counter()
    got = client(base_url, response_id)
    took = time.perf_counter() - start
    if got != events:
        raise AssertionError(f"expected {events} events, got {got}")
    return took / events


def rows(settings: Settings, events: int = EVENTS) -> list[Row]:
    """Two rows (AsyncResponses.listen, Responses.listen) against openai-python sync and async."""
    with (
        _server(events) as (base_url, response_id),
        asyncio.Runner() as runner,
        ExitStack() as stack,
    ):
        clients = _clients(base_url, runner, stack)
        for client in clients.values():  # warm up: connections, first imports, caches
            _timed(client, base_url, response_id, events)
        samples: dict[str, list[float]] = {label: [] for label in clients}
        labels = list(clients)
        for round_ in range(settings.rounds):
            for offset in range(len(labels)):
                label = labels[(round_ + offset) % len(labels)]
                samples[label].append(_timed(clients[label], base_url, response_id, events))
    anchors = [
        Series(label, samples[label])
        for label in ("openai-python sync stream", "openai-python async stream")
    ]
    note = f"{events} events per sample, replayed from a finished background response"
    return [
        Row(
            "stream",
            f"Responses stream, {label}",
            Series(label, samples[label]),
            anchors,
            per="event",
            note=note,
        )
        for label in ("AsyncResponses.listen", "Responses.listen")
    ]
