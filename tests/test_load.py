"""Load: 200 concurrent runs per protocol through runbind's own async clients and the emulator.

Every run follows a scripted behaviour with a known ending (echo, tool calls answered with
``submit_tool_results``, failure, a slow stream, a plain create followed by ``listen``). Each test
checks that every run ends as scripted, that every streamed event arrives exactly once and in
order (against the emulator's own log of the run), that listings hold every run, and that no
task, thread, descriptor or socket is left behind. The both-protocols test runs two rounds and
checks that the second leaves no memory behind; the last two hold bugs the load found.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import time
import tracemalloc
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import pytest
from grpclib.client import Channel
from runbind_generated.proto.yandex.cloud.ai.assistants import v1
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import threads
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import (
    StreamEvent as YandexStreamEvent,
)

from runbind import RunResult, RunStatus, RunStreamEvent, StreamEventKind
from runbind import openai as openai_client
from runbind import yandex as yandex_client
from runbind.emulator import Emulator, _openai_objects
from runbind.emulator._http import HttpServer
from tests import _leaks as leaks
from tests._memory import traced

# Wall-clock bounds on retries, backoff and load: timed without the coverage tracer.
pytestmark = [pytest.mark.usefixtures("no_coverage"), pytest.mark.serial]

Protocol = Literal["yandex", "openai"]

PER_PROTOCOL = 200
"""Concurrent runs per protocol in every round."""

WALL = 90.0
"""Seconds a test of one round may take (a test of two rounds, twice that). On two cores a Yandex
round takes about 2 s and an OpenAI round 20-30 s: httpcore's pool spends most of that assigning
queued requests to connections, a pass quadratic in the queue (encode/httpcore#1035)."""

TIMEOUT = 60.0
"""Seconds any one client call or stream may take; a hang fails the round instead."""

MAX_NEW_OBJECTS = 100
"""Containers a finished round may leave alive once its emulator and clients are gone: a
quarter of one per run, so that any object kept per run (an event, a stream, a run) fails."""

CACHES = 1024 * 1024
"""Bytes a finished round may leave allocated: bounded caches fill up across rounds (the
16384 strings pydantic-core interns while parsing JSON, the standard library's 128-entry
``urlsplit`` cache), a few hundred KiB here; a kept round (its events, its emulator) is tens of
MiB."""

BEHAVIOURS = ("echo", "tools", "fail", "slow", "listen")
SCRIPTS = {
    "echo": "echo chunks=3 delay=0.01",
    "tools": "tools calls=2 chunks=2 delay=0.01",
    "fail": "fail code=rate_limit_exceeded message=busy chunks=1 delay=0.01",
    "slow": "slow seconds=0.3 chunks=2 delay=0.01",
    "listen": "slow seconds=0.3 chunks=2 delay=0.01",
}
"""The emulator script of each behaviour; ``listen`` runs are created plain, then listened to."""

FINAL = {
    "echo": RunStatus.COMPLETED,
    "tools": RunStatus.COMPLETED,
    "fail": RunStatus.FAILED,
    "slow": RunStatus.COMPLETED,
    "listen": RunStatus.COMPLETED,
}

PARTIAL, DONE = StreamEventKind.PARTIAL_MESSAGE, StreamEventKind.DONE
YANDEX_KINDS = {
    "echo": [PARTIAL] * 3 + [DONE],
    "tools": [StreamEventKind.TOOL_CALLS, PARTIAL, PARTIAL, DONE],
    "fail": [PARTIAL, StreamEventKind.ERROR],
    "slow": [PARTIAL, PARTIAL, DONE],
    "listen": [DONE],  # a run created without stream has no partial messages on Yandex
}
"""The Yandex event kinds of each behaviour, in order."""


@dataclass(frozen=True)
class Job:
    """One run to drive: its behaviour, its assistant and thread, what it asks."""

    protocol: Protocol
    index: int
    behaviour: str
    assistant_id: str
    thread_id: str

    @property
    def question(self) -> str:
        return f"{self.protocol} load run {self.index}"

    def output(self, call: int) -> str:
        return f"{self.protocol}-{self.index}-out-{call}"


@dataclass
class Outcome:
    """What the client saw of one run."""

    job: Job
    run_id: str
    events: list[RunStreamEvent]
    result: RunResult


@dataclass
class Round:
    """What one round saw: outcomes per protocol, listings, figures."""

    outcomes: dict[Protocol, list[Outcome]] = field(default_factory=dict)
    listed: dict[Protocol, list[list[tuple[str, RunStatus]]]] = field(default_factory=dict)
    seconds: float = 0.0
    connections: int = 0
    """HTTP connections the emulator accepted while the runs went on (with a counter)."""


# --------------------------------------------------------------------------- seeding


def _behaviour(index: int) -> str:
    return BEHAVIOURS[index % len(BEHAVIOURS)]


async def seed_yandex(emu: Emulator, folder: str, count: int) -> list[Job]:
    """An assistant per behaviour in ``folder`` and ``count`` threads, over grpclib stubs."""
    channel = Channel(emu.host, emu.grpc_port)
    try:
        assistants = v1.AssistantServiceStub(channel)
        made = await asyncio.gather(
            *(
                assistants.create(
                    v1.CreateAssistantRequest(folder_id=folder, labels={"emulator": SCRIPTS[b]})
                )
                for b in BEHAVIOURS
            )
        )
        by_behaviour = {b: a.id for b, a in zip(BEHAVIOURS, made, strict=True)}
        stub = threads.ThreadServiceStub(channel)

        async def thread(index: int) -> Job:
            text = threads.Text(content=f"yandex load run {index}")
            data = threads.MessageData(
                content=threads.MessageContent(content=[threads.ContentPart(text=text)])
            )
            made = await stub.create(
                threads.CreateThreadRequest(folder_id=folder, messages=[data]), timeout=TIMEOUT
            )
            behaviour = _behaviour(index)
            return Job("yandex", index, behaviour, by_behaviour[behaviour], made.id)

        return list(await asyncio.gather(*(thread(i) for i in range(count))))
    finally:
        channel.close()


async def seed_openai(emu: Emulator, count: int) -> list[Job]:
    """An assistant per behaviour and ``count`` threads, over plain HTTP."""
    async with httpx.AsyncClient(base_url=emu.openai_base_url, timeout=TIMEOUT) as http:

        async def post(path: str, body: dict[str, Any]) -> str:
            response = await http.post(path, json=body)
            response.raise_for_status()
            return str(response.json()["id"])

        ids = await asyncio.gather(
            *(
                post("/assistants", {"model": "gpt-4o", "metadata": {"emulator": SCRIPTS[b]}})
                for b in BEHAVIOURS
            )
        )
        by_behaviour = dict(zip(BEHAVIOURS, ids, strict=True))

        async def thread(index: int) -> Job:
            message = {"role": "user", "content": f"openai load run {index}"}
            thread_id = await post("/threads", {"messages": [message]})
            behaviour = _behaviour(index)
            return Job("openai", index, behaviour, by_behaviour[behaviour], thread_id)

        return list(await asyncio.gather(*(thread(i) for i in range(count))))


# --------------------------------------------------------------------------- driving


async def collect(stream: AsyncIterator[RunStreamEvent]) -> list[RunStreamEvent]:
    """Every event of a stream, which is closed afterwards."""
    events = [event async for event in stream]
    close = getattr(stream, "aclose", None)
    if close is not None:
        await close()
    return events


async def drive(
    runs: yandex_client.AsyncRuns | openai_client.AsyncRuns, job: Job, start: asyncio.Event
) -> Outcome:
    """One whole run: stream it (answering tool calls), or create it plain and listen.

    Both clients take the same calls; the run that asks for tools is the last event that
    requires action (on OpenAI a ``done`` follows it).
    """
    await start.wait()
    if job.behaviour == "listen":
        run = await runs.create(job.assistant_id, job.thread_id, timeout=TIMEOUT)
        events = await collect(runs.listen(run, timeout=TIMEOUT))
    else:
        stream = await runs.create(job.assistant_id, job.thread_id, stream=True, timeout=TIMEOUT)
        events = await collect(stream)
        assert stream.run is not None
        run = stream.run
        if job.behaviour == "tools":
            paused = next(e for e in reversed(events) if e.requires_action)
            results = [call.result(job.output(i)) for i, call in enumerate(paused.tool_calls)]
            more = await runs.submit_tool_results(run, results, stream=True, timeout=TIMEOUT)
            events += await collect(more)
    result = await runs.get_result(run, timeout=TIMEOUT)
    return Outcome(job, run.id, events, result)


async def list_yandex(
    runs: yandex_client.AsyncRuns, folder: str
) -> list[list[tuple[str, RunStatus]]]:
    """The folder's runs, page by page (50 a page)."""
    return [
        [(run.id, run.status) for run in page.runs]
        async for page in runs.list(folder_id=folder, page_size=50, timeout=TIMEOUT).pages()
    ]


async def list_openai(
    runs: openai_client.AsyncRuns, jobs: Sequence[Job]
) -> list[list[tuple[str, RunStatus]]]:
    """Each thread's runs (all threads at once)."""

    async def one(job: Job) -> list[tuple[str, RunStatus]]:
        return [(run.id, run.status) async for run in runs.list(job.thread_id, timeout=TIMEOUT)]

    return list(await asyncio.gather(*(one(job) for job in jobs)))


async def load_round(
    emu: Emulator, protocols: Sequence[Protocol], folder: str, accepted: Callable[[], int]
) -> Round:
    """Seed, then start ``PER_PROTOCOL`` runs per protocol at once, and list them when done.

    ``accepted`` counts the HTTP connections the emulator has accepted so far.
    """
    seen = Round()
    jobs: dict[Protocol, list[Job]] = {}
    if "yandex" in protocols:
        jobs["yandex"] = await seed_yandex(emu, folder, PER_PROTOCOL)
    if "openai" in protocols:
        jobs["openai"] = await seed_openai(emu, PER_PROTOCOL)
    start = asyncio.Event()
    async with (
        yandex_client.AsyncRuns(endpoint=emu.grpc_target) as yandex,
        openai_client.AsyncRuns(base_url=emu.openai_base_url) as openai,
    ):
        drivers: dict[Protocol, Callable[[Job], Coroutine[Any, Any, Outcome]]] = {
            "yandex": lambda job: drive(yandex, job, start),
            "openai": lambda job: drive(openai, job, start),
        }
        tasks = {p: [asyncio.create_task(drivers[p](job)) for job in jobs[p]] for p in jobs}
        began, connections = time.monotonic(), accepted()
        start.set()  # every run starts together
        for protocol, started in tasks.items():
            seen.outcomes[protocol] = list(await asyncio.gather(*started))
        seen.seconds = time.monotonic() - began
        seen.connections = accepted() - connections
        if "yandex" in jobs:
            seen.listed["yandex"] = await list_yandex(yandex, folder)
        if "openai" in jobs:
            seen.listed["openai"] = await list_openai(openai, jobs["openai"])
    return seen


# --------------------------------------------------------------------------- checks


def openai_data(event: RunStreamEvent) -> Any:
    """An OpenAI event's data as JSON values (``None`` for the final ``done``)."""
    data = getattr(event.raw, "data", None)
    if data is None or isinstance(data, str):
        return None
    return json.loads(data.model_dump_json(by_alias=True, exclude_unset=True))


def yandex_raw(event: RunStreamEvent) -> YandexStreamEvent:
    """The Yandex ``StreamEvent`` an event of the Yandex client was read from."""
    assert isinstance(event.raw, YandexStreamEvent)
    return event.raw


def check_yandex(emu: Emulator, outcome: Outcome) -> int:
    """The run ended as scripted, and its events are the emulator's log, once each, in order."""
    job, events = outcome.job, outcome.events
    core = emu.yandex_store.runs.get(outcome.run_id)
    assert core is not None, f"run {outcome.run_id} is not in the emulator"
    assert core.thread_id == job.thread_id
    assert [e.event_index for e in events] == list(range(len(events)))
    assert [e.status for e in events] == YANDEX_KINDS[job.behaviour], job
    assert [bytes(yandex_raw(e)) for e in events] == [bytes(e) for e in core.events], job
    check_result(outcome)
    return len(events)


def check_openai(emu: Emulator, outcome: Outcome) -> int:
    """As :func:`check_yandex`; a listened run (polled) shows each status once, in order."""
    job, events = outcome.job, outcome.events
    core = emu.openai_store.runs.get(outcome.run_id)
    assert core is not None, f"run {outcome.run_id} is not in the emulator"
    assert core.thread_id == job.thread_id
    assert [e.event_index for e in events] == list(range(len(events)))
    names = [str(e.status_raw) for e in events]
    streams = 2 if job.behaviour == "tools" else 1  # the paused stream ends with done too
    assert names.count("done") == streams, names
    assert names[-1] == "done", names
    logged = [(name, json.loads(data)) for name, data in core.events]
    if job.behaviour == "listen":
        statuses = [n for n in names if n.startswith("thread.run.")]
        order = ["thread.run.queued", "thread.run.in_progress", "thread.run.completed"]
        assert statuses == [n for n in order if n in statuses], names
        assert names[-3:] == ["thread.run.completed", "thread.message.completed", "done"], names
        answer = [data for name, data in logged if name == "thread.message.completed"]
        assert openai_data(events[-2]) == answer[0]
    else:
        if job.behaviour == "tools":
            paused = names.index("done")
            assert names[paused - 1] == "thread.run.requires_action", names
        kept = [e for e in events if e.status_raw != "done"]
        assert [str(e.status_raw) for e in kept] == [name for name, _ in logged], job
        assert [openai_data(e) for e in kept] == [data for _, data in logged], job
    check_result(outcome)
    return len(events)


def check_result(outcome: Outcome) -> None:
    """The run's final result is the scripted one."""
    job, result = outcome.job, outcome.result
    assert result.status is FINAL[job.behaviour], (job, result.status_name)
    if job.behaviour == "tools":
        assert result.text == f"get_weather: {job.output(0)}; get_weather: {job.output(1)}"
    elif job.behaviour == "fail":
        assert result.error is not None
        assert result.error.message == "busy"
    else:
        assert result.text == job.question


def check_round(emu: Emulator, seen: Round, folder: str) -> int:
    """Every run ended as scripted and is listed once; the emulator holds exactly these runs.

    The emulator keeps every run by design (as the services do): the check is that it holds
    exactly the round's runs, each finished, with no task left. Returns the events checked.
    """
    checked = 0
    checks = {"yandex": check_yandex, "openai": check_openai}
    stores = {"yandex": emu.yandex_store, "openai": emu.openai_store}
    for protocol, outcomes in seen.outcomes.items():
        assert len(outcomes) == PER_PROTOCOL
        assert len({o.run_id for o in outcomes}) == PER_PROTOCOL
        for outcome in outcomes:
            checked += checks[protocol](emu, outcome)
        store = stores[protocol]
        assert len(store.runs) == PER_PROTOCOL
        for run in store.runs.values():
            assert run.status.is_finished, run.status
            assert run.task is not None
            assert run.task.done()
        expected = {o.run_id: FINAL[o.job.behaviour] for o in outcomes}
        listed = seen.listed[protocol]
        if protocol == "yandex":
            assert all(len(page) <= 50 for page in listed)
            flat = [item for page in listed for item in page]
            assert len(flat) == PER_PROTOCOL, "a run is missing from or repeated in the listing"
            assert dict(flat) == expected
        else:
            assert [thread_runs for thread_runs in listed] == [
                [(o.run_id, expected[o.run_id])] for o in outcomes
            ]
    assert not emu._tasks, emu._tasks
    return checked


def stop(emu: Emulator) -> None:
    """Stop a threaded emulator and check that its thread ended."""
    thread = emu._thread
    emu.stop_thread()
    assert thread is not None
    assert not thread.is_alive(), "emulator thread still running after stop_thread()"


def full_round(
    runner: asyncio.Runner,
    protocols: Sequence[Protocol],
    folder: str,
    accepted: Callable[[], int] = lambda: 0,
) -> tuple[Round, int, weakref.ref[Emulator]]:
    """One round on a fresh emulator, checked, with nothing leaked: what it saw, events checked,
    and a weak reference to its (stopped) emulator."""
    with leaks.no_leaks(runner):
        emu = Emulator().start_in_thread()
        try:
            seen = runner.run(load_round(emu, protocols, folder, accepted))
            checked = check_round(emu, seen, folder)
        finally:
            stop(emu)
    return seen, checked, weakref.ref(emu)


# --------------------------------------------------------------------------- tests


def test_two_hundred_concurrent_yandex_runs_end_as_scripted_and_lose_no_event() -> None:
    began = time.monotonic()
    with asyncio.Runner() as runner:
        seen, checked, _ = full_round(runner, ["yandex"], "load-yandex")
    assert checked == sum(len(YANDEX_KINDS[_behaviour(i)]) for i in range(PER_PROTOCOL))
    print(f"yandex load: {checked} events, {seen.seconds:.1f} s")
    assert time.monotonic() - began < WALL


def test_two_hundred_concurrent_openai_runs_end_as_scripted_and_lose_no_event(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    accepted = [0]
    serve = HttpServer._accept

    async def counted(self: HttpServer, reader: Any, writer: Any) -> None:
        accepted[0] += 1
        await serve(self, reader, writer)

    monkeypatch.setattr(HttpServer, "_accept", counted)
    began = time.monotonic()
    with asyncio.Runner() as runner:
        seen, checked, _ = full_round(runner, ["openai"], "load-openai", lambda: accepted[0])
    print(f"openai load: {checked} events, {seen.connections} connections, {seen.seconds:.1f} s")
    # The runs share the pool's connections: an idle one past httpx's keep-alive limit or a
    # stream's at `done` is not closed (each closed one is a port in TIME_WAIT on the client's
    # side; 680 for these runs before). Not exactly POOL: httpcore's pool still closes some
    # idle connections it has promised to queued requests (encode/httpcore#1110).
    assert seen.connections < PER_PROTOCOL, seen.connections
    assert time.monotonic() - began < WALL


def census() -> Counter[str]:
    """Live objects the garbage collector tracks, by type (every container, not strings).

    Left out: weak references to classes and their callbacks. They are the class caches of
    ``abc`` (each ABC's negative cache: one per ABC a class was checked against), ``typing`` and
    ``functools``, bounded by the number of classes, not of runs; an ABC's cache is emptied and
    filled again whenever any class is registered with an ABC, so their count moves by tens
    between rounds.
    """
    gc.collect()
    objects = gc.get_objects()
    to_classes = [o for o in objects if type(o) is weakref.ReferenceType and isinstance(o(), type)]
    skip = {id(ref) for ref in to_classes}
    skip |= {id(ref.__callback__) for ref in to_classes if ref.__callback__ is not None}
    return Counter(type(o).__qualname__ for o in objects if id(o) not in skip)


def test_both_protocols_at_once_twice_leave_no_memory_behind() -> None:
    began = time.monotonic()
    with asyncio.Runner() as runner:
        full_round(runner, ["yandex", "openai"], "warm-up")  # imports, caches, lazy models
        before = census()
        with traced():
            baseline = tracemalloc.take_snapshot()
            seen, checked, emulator = full_round(runner, ["yandex", "openai"], "measured")
            _, peak = tracemalloc.get_traced_memory()
            del seen
            gc.collect()
            stats = tracemalloc.take_snapshot().compare_to(baseline, "lineno")
            del baseline
        retained = sum(stat.size_diff for stat in stats)
        top = "\n".join(str(stat) for stat in stats[:10])
        del stats
        grown = census() - before
    assert emulator() is None, "the stopped emulator (and its stores) is still referenced"
    runs = 2 * PER_PROTOCOL
    assert sum(grown.values()) < MAX_NEW_OBJECTS, grown.most_common(10)
    assert retained < CACHES, f"{retained} bytes retained:\n{top}"
    print(f"load: {runs} runs, {checked} events, peak {peak} B, retained {retained} B")
    assert time.monotonic() - began < 2 * WALL  # two rounds: the warm-up and the measured one


def test_a_message_reports_one_completion_time_even_when_the_clock_ticks_in_between(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Found by the load test: under load the clock could tick between the message's
    # ``thread.message.completed`` event and the end of its step, and the message read back
    # later reported the step's (later) time. Here the clock ticks on every reading.
    clock = itertools.count(1_800_000_000)
    monkeypatch.setattr(_openai_objects, "now", lambda: next(clock))

    async def scenario(emu: Emulator) -> tuple[Any, Any, Any]:
        (job,) = await seed_openai(emu, 1)
        async with openai_client.AsyncRuns(base_url=emu.openai_base_url) as runs:
            stream = await runs.create(job.assistant_id, job.thread_id, stream=True)
            events = await collect(stream)
            assert stream.run is not None
            result = await runs.get_result(stream.run)
        (completed,) = [e for e in events if e.status_raw == "thread.message.completed"]
        (step,) = [e for e in events if e.status_raw == "thread.run.step.completed"]
        assert result.message is not None
        return openai_data(completed), openai_data(step), result.message.raw

    emu = Emulator().start_in_thread()
    try:
        streamed, step, read_back = asyncio.run(scenario(emu))
    finally:
        stop(emu)
    read = json.loads(read_back.model_dump_json(by_alias=True, exclude_unset=True))
    assert streamed["completed_at"] == read["completed_at"]
    assert streamed == read
    assert step["completed_at"] == streamed["completed_at"]


def test_a_finished_stream_gives_its_connection_back_to_the_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    accepted = [0]
    serve = HttpServer._accept

    async def counted(self: HttpServer, reader: Any, writer: Any) -> None:
        accepted[0] += 1
        await serve(self, reader, writer)

    async def scenario(emu: Emulator) -> tuple[int, RunResult]:
        (job,) = await seed_openai(emu, 1)
        seeded = accepted[0]
        async with openai_client.AsyncRuns(base_url=emu.openai_base_url) as runs:
            stream = await runs.create(job.assistant_id, job.thread_id, stream=True)
            await collect(stream)
            assert stream.run is not None
            result = await runs.get_result(stream.run)  # two more requests
        return accepted[0] - seeded, result

    monkeypatch.setattr(HttpServer, "_accept", counted)
    emu = Emulator().start_in_thread()
    try:
        connections, result = asyncio.run(scenario(emu))
    finally:
        stop(emu)
    assert result.text == "openai load run 0"
    assert connections == 1
