"""Fork safety: a client made (and used) before ``os.fork()`` works in the child, and the parent's
connections survive what the child does; a stream started before the fork is a clear error in
the child, never a hang. Real forks and ``multiprocessing`` (fork and spawn) against the emulator.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import select
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal

import pytest

from runbind import RunbindError, RunStream
from runbind._core import client_base, loop_thread
from runbind.emulator import Emulator
from runbind.openai import AsyncRuns as OpenAIAsyncRuns
from runbind.openai import Runs as OpenAIRuns
from runbind.yandex import AsyncRuns as YandexAsyncRuns
from runbind.yandex import Runs as YandexRuns

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

CHILD_TIMEOUT = 30.0
"""Seconds a child may take before it counts as hung (and is killed)."""

CALL = 5.0  # seconds each client call may take


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


Client = YandexRuns | OpenAIRuns
Provider = Literal["yandex", "openai"]
PROVIDERS: tuple[Provider, ...] = ("yandex", "openai")


def _client(provider: Provider, emu: Emulator) -> Client:
    if provider == "yandex":
        return YandexRuns(endpoint=emu.grpc_target)
    return OpenAIRuns(base_url=emu.openai_base_url)


def _get(client: Client, run_id: str, thread_id: str) -> str:
    """The run's status, by id (OpenAI needs the thread)."""
    if isinstance(client, OpenAIRuns):
        return client.get(run_id, thread_id=thread_id, timeout=CALL).status.value
    return client.get(run_id, timeout=CALL).status.value


def in_child(work: Callable[[], str]) -> str:
    """``work()`` in a forked child: what it returned, or ``error: <type>: <message>``.

    The child always ends with ``os._exit`` (never back into pytest); one that has not answered
    within :data:`CHILD_TIMEOUT` is killed and the test fails: a hang is the bug looked for.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        try:
            answer = work()
        except BaseException as exc:
            answer = f"error: {type(exc).__name__}: {exc}"
        os.write(write, answer.encode())
        os._exit(0)
    os.close(write)
    chunks: list[bytes] = []
    deadline = time.monotonic() + CHILD_TIMEOUT
    try:
        while True:
            ready, _, _ = select.select([read], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                pytest.fail(f"the forked child hung for {CHILD_TIMEOUT} s")
            chunk = os.read(read, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    return b"".join(chunks).decode()


@pytest.mark.parametrize("provider", ["yandex", "openai"])
def test_forked_child_completes_calls_and_the_parent_goes_on(
    emu: Emulator, provider: Provider
) -> None:
    assistant_id, thread_id = emu.seed(provider)
    with _client(provider, emu) as runs:
        run = runs.create(assistant_id, thread_id, timeout=CALL)
        assert runs.wait(run, timeout=CALL).text == "Hello!"  # the parent's connection is open

        def child() -> str:
            made = runs.create(assistant_id, thread_id, timeout=CALL)
            return f"{runs.wait(made, timeout=CALL).text} {_get(runs, run.id, thread_id)}"

        assert in_child(child) == "Hello! completed"
        assert in_child(child) == "Hello! completed"  # and again, from another child

        def dropping() -> str:
            # The child's first call sets the parent's connection aside; then it is collected
            # (as at the child's exit): the parent must not notice (no socket of the shared
            # epoll unregistered, nothing written on its connection).
            status = _get(runs, run.id, thread_id)
            client_base._INHERITED.clear()
            loop_thread._inherited.clear()
            gc.collect()
            return status

        assert in_child(dropping) == "completed"
        # The parent's own client is unharmed by the children.
        assert _get(runs, run.id, thread_id) == "completed"
        assert runs.wait(runs.create(assistant_id, thread_id, timeout=CALL)).text == "Hello!"


@pytest.mark.parametrize("provider", ["yandex", "openai"])
def test_closing_in_the_child_leaves_the_parents_connection_alone(
    emu: Emulator, provider: Provider
) -> None:
    assistant_id, thread_id = emu.seed(provider)
    with _client(provider, emu) as runs:
        run = runs.create(assistant_id, thread_id, timeout=CALL)

        def child() -> str:
            runs.close()  # closes nothing of the parent's; the next call reconnects
            return _get(runs, run.id, thread_id)

        assert in_child(child) in {"queued", "in_progress", "completed"}
        assert runs.wait(run, timeout=CALL).text == "Hello!"


@pytest.mark.parametrize("provider", ["yandex", "openai"])
def test_a_stream_started_before_the_fork_is_an_error_in_the_child(
    emu: Emulator, provider: Provider
) -> None:
    assistant_id, thread_id = emu.seed(provider, behaviour="echo chunks=4 delay=0.2")
    with _client(provider, emu) as runs:
        stream = runs.create(assistant_id, thread_id, stream=True, timeout=CALL)
        assert isinstance(stream, RunStream)
        first = next(stream)

        def child() -> str:
            try:
                next(stream)
            except RunbindError as exc:
                stream.close()
                return f"refused: {exc}"
            return "went on"

        started = time.monotonic()
        answer = in_child(child)
        assert answer.startswith("refused: this stream or listing was started in the parent")
        assert time.monotonic() - started < 10
        # The parent's stream goes on, whole.
        rest = list(stream)
        assert rest
        assert rest[-1].event_index > first.event_index
        assert rest[-1].is_finished or rest[-1].status_raw == "done"  # Yandex's, OpenAI's end


@pytest.mark.parametrize("provider", ["yandex", "openai"])
def test_a_stream_made_but_not_started_before_the_fork_runs_in_the_child(
    emu: Emulator, provider: Provider
) -> None:
    assistant_id, thread_id = emu.seed(provider)
    with _client(provider, emu) as runs:
        run = runs.create(assistant_id, thread_id, timeout=CALL)
        runs.wait(run, timeout=CALL)
        stream = runs.listen(run, timeout=CALL)

        def child() -> str:
            last = list(stream)[-1]
            return str(last.is_finished or last.status_raw == "done")

        assert in_child(child) == "True"


@pytest.mark.parametrize("provider", ["yandex", "openai"])
def test_async_client_used_before_the_fork_works_in_the_child(
    emu: Emulator, provider: Provider
) -> None:
    assistant_id, thread_id = emu.seed(provider)
    client: YandexAsyncRuns | OpenAIAsyncRuns = (
        YandexAsyncRuns(endpoint=emu.grpc_target)
        if provider == "yandex"
        else OpenAIAsyncRuns(base_url=emu.openai_base_url)
    )

    async def create_and_wait() -> str:
        made = await client.create(assistant_id, thread_id, timeout=CALL)
        return (await client.wait(made, timeout=CALL, poll_interval=0.02)).text or ""

    with asyncio.Runner() as runner:
        assert runner.run(create_and_wait()) == "Hello!"
        assert in_child(lambda: asyncio.run(create_and_wait())) == "Hello!"
        assert runner.run(create_and_wait()) == "Hello!"
        runner.run(client.close())


# --------------------------------------------------------------------------- multiprocessing


def _child_call(runs: Client, run_id: str, thread_id: str, out: Any) -> None:
    """A multiprocessing target: the status of a run, through a client from the parent."""
    try:
        out.put(_get(runs, run_id, thread_id))
    except BaseException as exc:  # pragma: no cover - reported to the parent
        out.put(f"error: {type(exc).__name__}: {exc}")


def _spawned_calls(calls: list[tuple[Provider, str, str, str]], out: Any) -> None:
    """A multiprocessing target for ``spawn``: clients of its own (nothing is inherited), one
    per ``(provider, target, run id, thread id)``; both providers in one child (a spawned
    child imports everything again: seconds)."""
    try:
        answers = []
        for provider, target, run_id, thread_id in calls:
            runs: Client = (
                YandexRuns(endpoint=target) if provider == "yandex" else OpenAIRuns(base_url=target)
            )
            with runs:
                answers.append(_get(runs, run_id, thread_id))
        out.put(" ".join(answers))
    except BaseException as exc:  # pragma: no cover - reported to the parent
        out.put(f"error: {type(exc).__name__}: {exc}")


def _join(process: Any, out: Any) -> str:
    process.start()
    try:
        answer = out.get(timeout=CHILD_TIMEOUT)
    except Exception:  # queue.Empty
        process.kill()
        pytest.fail(f"the child process hung for {CHILD_TIMEOUT} s")
    process.join(CHILD_TIMEOUT)
    assert process.exitcode == 0
    return str(answer)


@pytest.mark.parametrize("provider", ["yandex", "openai"])
def test_multiprocessing_fork_child_uses_the_parents_client(
    emu: Emulator, provider: Provider
) -> None:
    assistant_id, thread_id = emu.seed(provider)
    context = multiprocessing.get_context("fork")
    with _client(provider, emu) as runs:
        run = runs.create(assistant_id, thread_id, timeout=CALL)
        runs.wait(run, timeout=CALL)
        out = context.Queue()
        process = context.Process(target=_child_call, args=(runs, run.id, thread_id, out))
        assert _join(process, out) == "completed"
        assert _get(runs, run.id, thread_id) == "completed"


def test_multiprocessing_spawn_children_make_their_own_clients(emu: Emulator) -> None:
    calls: list[tuple[Provider, str, str, str]] = []
    for provider in PROVIDERS:
        assistant_id, thread_id = emu.seed(provider)
        with _client(provider, emu) as runs:
            run = runs.create(assistant_id, thread_id, timeout=CALL)
            runs.wait(run, timeout=CALL)
        target = emu.grpc_target if provider == "yandex" else emu.openai_base_url
        calls.append((provider, target, run.id, thread_id))
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    process = context.Process(target=_spawned_calls, args=(calls, out))
    assert _join(process, out) == "completed completed"
