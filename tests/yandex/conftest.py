"""Fixtures: a threaded emulator, assistants/threads made with the generated stubs, and both
client flavours (``AsyncRuns`` driven on a private loop, ``Runs``) behind one small adapter."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator
from typing import Any, Protocol, TypeVar

import pytest
from grpclib.client import Channel
from runbind_generated.proto.yandex.cloud.ai.assistants import v1
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import threads

from runbind import (
    AsyncRunList,
    AsyncRunStream,
    FunctionResultDict,
    Run,
    RunList,
    RunPage,
    RunResult,
    RunStatus,
    RunStream,
    RunStreamEvent,
)
from runbind.emulator import Emulator
from runbind.yandex import AsyncRuns, Runs

_T = TypeVar("_T")

TIMEOUT = 10.0
"""Seconds any client call may take in these tests (a hang fails instead of blocking)."""

POLL = 0.02
"""``wait`` poll interval in these tests."""


# --------------------------------------------------------------------------- emulator


def stop(emu: Emulator) -> None:
    """Stop a threaded emulator and check that its thread ended."""
    thread = emu._thread
    emu.stop_thread()
    assert thread is not None
    assert not thread.is_alive(), "emulator thread still running after stop_thread()"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """One emulator (no API key) per test module."""
    emu = Emulator().start_in_thread()
    try:
        yield emu
    finally:
        stop(emu)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Yandex credentials or folder from the machine running the tests."""
    for name in ("YC_API_KEY", "YC_IAM_TOKEN", "YC_FOLDER_ID"):
        monkeypatch.delenv(name, raising=False)


async def _make_many(
    emu: Emulator, script: str, texts: list[str], folder: str, api_key: str | None
) -> tuple[str, list[str]]:
    metadata = {"authorization": f"Api-Key {api_key}"} if api_key else None
    channel = Channel(emu.host, emu.grpc_port)
    try:
        assistant = await v1.AssistantServiceStub(channel).create(
            v1.CreateAssistantRequest(folder_id=folder, labels={"emulator": script}),
            metadata=metadata,
        )
        stub = threads.ThreadServiceStub(channel)
        made = await asyncio.gather(
            *(
                stub.create(
                    threads.CreateThreadRequest(
                        folder_id=folder,
                        messages=[threads.MessageData(content=content(text))],
                    ),
                    metadata=metadata,
                )
                for text in texts
            )
        )
        return assistant.id, [t.id for t in made]
    finally:
        channel.close()


def content(text: str) -> threads.MessageContent:
    """A message content with one text part."""
    return threads.MessageContent(content=[threads.ContentPart(text=threads.Text(content=text))])


def make(
    emu: Emulator,
    script: str = "echo chunks=3",
    text: str = "hello",
    *,
    folder: str = "f",
    api_key: str | None = None,
) -> tuple[str, str]:
    """A new assistant following ``script`` and a thread whose one user message is ``text``."""
    assistant, made = asyncio.run(_make_many(emu, script, [text], folder, api_key))
    return assistant, made[0]


def make_many(
    emu: Emulator, script: str, count: int, *, folder: str = "f"
) -> tuple[str, list[str]]:
    """A new assistant and ``count`` threads (message ``"m<i>"``), made concurrently."""
    texts = [f"m{i}" for i in range(count)]
    return asyncio.run(_make_many(emu, script, texts, folder, None))


# --------------------------------------------------------------------------- flavours


class Stream(Protocol):
    """What both stream types offer: blocking iteration plus ``run`` and ``last_event``."""

    @property
    def run(self) -> Run | None: ...

    @property
    def last_event(self) -> RunStreamEvent | None: ...

    def __next__(self) -> RunStreamEvent: ...

    def __iter__(self) -> Iterator[RunStreamEvent]: ...


class Listing(Protocol):
    """What both listings offer: blocking iteration, ``pages()`` and ``next_page_token``."""

    @property
    def next_page_token(self) -> str | None: ...

    def __next__(self) -> Run: ...

    def __iter__(self) -> Iterator[Run]: ...

    def pages(self) -> Iterator[RunPage]: ...


async def _step(source: AsyncIterator[_T]) -> tuple[bool, _T | None]:
    try:
        return True, await anext(source)
    except StopAsyncIteration:
        return False, None


class _Stepper:
    """Blocking steps over an async iterator, each run on the flavour's event loop."""

    def __init__(self, runner: asyncio.Runner, source: AsyncIterator[Any]) -> None:
        self._runner = runner
        self._source = source

    def _next(self) -> Any:
        more, value = self._runner.run(_step(self._source))
        if not more:
            raise StopIteration
        return value


class _AsyncStream(_Stepper):
    def __init__(self, runner: asyncio.Runner, inner: AsyncRunStream) -> None:
        assert isinstance(inner, AsyncRunStream)
        super().__init__(runner, inner)
        self.inner = inner

    @property
    def run(self) -> Run | None:
        return self.inner.run

    @property
    def last_event(self) -> RunStreamEvent | None:
        return self.inner.last_event

    def __next__(self) -> RunStreamEvent:
        event = self._next()
        assert isinstance(event, RunStreamEvent)
        return event

    def __iter__(self) -> Iterator[RunStreamEvent]:
        return self


class _AsyncListing(_Stepper):
    def __init__(self, runner: asyncio.Runner, inner: AsyncRunList) -> None:
        assert isinstance(inner, AsyncRunList)
        super().__init__(runner, inner)
        self.inner = inner

    @property
    def next_page_token(self) -> str | None:
        return self.inner.next_page_token

    def __next__(self) -> Run:
        run = self._next()
        assert isinstance(run, Run)
        return run

    def __iter__(self) -> Iterator[Run]:
        return self

    def pages(self) -> Iterator[RunPage]:
        stepper = _Stepper(self._runner, self.inner.pages())
        while True:
            try:
                page = stepper._next()
            except StopIteration:
                return
            assert isinstance(page, RunPage)
            yield page


RunRef = Run | str


class Flavour(ABC):
    """One client flavour with blocking methods named like ``Runs``'; ``*_stream`` variants
    pass ``stream=True``. Calls get ``timeout=TIMEOUT`` (and ``wait`` a short poll) unless the
    test says otherwise."""

    name: str
    client: AsyncRuns | Runs

    @abstractmethod
    def create(self, assistant_id: str, thread_id: str, **options: Any) -> Run: ...

    @abstractmethod
    def create_stream(self, assistant_id: str, thread_id: str, **options: Any) -> Stream: ...

    @abstractmethod
    def get(self, run: RunRef, **options: Any) -> Run: ...

    @abstractmethod
    def get_last_by_thread(self, thread_id: str, **options: Any) -> Run: ...

    @abstractmethod
    def list(self, **options: Any) -> Listing: ...

    @abstractmethod
    def listen(self, run: RunRef, **options: Any) -> Stream: ...

    @abstractmethod
    def submit(self, run: RunRef, results: Iterable[FunctionResultDict], **options: Any) -> Run: ...

    @abstractmethod
    def submit_stream(
        self, run: RunRef, results: Iterable[FunctionResultDict], **options: Any
    ) -> Stream: ...

    @abstractmethod
    def cancel(self, run: RunRef, **options: Any) -> Run: ...

    @abstractmethod
    def get_status(self, run: RunRef, **options: Any) -> RunStatus: ...

    @abstractmethod
    def get_result(self, run: RunRef, **options: Any) -> RunResult: ...

    @abstractmethod
    def wait(self, run: RunRef, **options: Any) -> RunResult: ...

    @abstractmethod
    def close(self) -> None: ...


def _opts(options: dict[str, Any], **defaults: Any) -> dict[str, Any]:
    return {"timeout": TIMEOUT, **defaults, **options}


class AsyncFlavour(Flavour):
    """``AsyncRuns``, each call awaited on one private event loop (``asyncio.Runner``)."""

    name = "async"

    def __init__(self, runner: asyncio.Runner, client: AsyncRuns) -> None:
        self.runner = runner
        self.client: AsyncRuns = client

    def _do(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return self.runner.run(coro)

    def create(self, assistant_id: str, thread_id: str, **options: Any) -> Run:
        run = self._do(self.client.create(assistant_id, thread_id, **_opts(options)))
        assert isinstance(run, Run)
        return run

    def create_stream(self, assistant_id: str, thread_id: str, **options: Any) -> Stream:
        stream = self._do(
            self.client.create(assistant_id, thread_id, stream=True, **_opts(options))
        )
        return _AsyncStream(self.runner, stream)

    def get(self, run: RunRef, **options: Any) -> Run:
        return self._do(self.client.get(run, **_opts(options)))

    def get_last_by_thread(self, thread_id: str, **options: Any) -> Run:
        return self._do(self.client.get_last_by_thread(thread_id, **_opts(options)))

    def list(self, **options: Any) -> Listing:
        return _AsyncListing(self.runner, self.client.list(**_opts(options)))

    def listen(self, run: RunRef, **options: Any) -> Stream:
        return _AsyncStream(self.runner, self.client.listen(run, **_opts(options)))

    def submit(self, run: RunRef, results: Iterable[FunctionResultDict], **options: Any) -> Run:
        done = self._do(self.client.submit_tool_results(run, results, **_opts(options)))
        assert isinstance(done, Run)
        return done

    def submit_stream(
        self, run: RunRef, results: Iterable[FunctionResultDict], **options: Any
    ) -> Stream:
        stream = self._do(
            self.client.submit_tool_results(run, results, stream=True, **_opts(options))
        )
        return _AsyncStream(self.runner, stream)

    def cancel(self, run: RunRef, **options: Any) -> Run:
        return self._do(self.client.cancel(run, **_opts(options)))

    def get_status(self, run: RunRef, **options: Any) -> RunStatus:
        return self._do(self.client.get_status(run, **_opts(options)))

    def get_result(self, run: RunRef, **options: Any) -> RunResult:
        return self._do(self.client.get_result(run, **_opts(options)))

    def wait(self, run: RunRef, **options: Any) -> RunResult:
        return self._do(self.client.wait(run, **_opts(options, poll_interval=POLL)))

    def close(self) -> None:
        self._do(self.client.close())


class SyncFlavour(Flavour):
    """``Runs``, called directly."""

    name = "sync"

    def __init__(self, client: Runs) -> None:
        self.client: Runs = client

    def create(self, assistant_id: str, thread_id: str, **options: Any) -> Run:
        run = self.client.create(assistant_id, thread_id, **_opts(options))
        assert isinstance(run, Run)
        return run

    def create_stream(self, assistant_id: str, thread_id: str, **options: Any) -> Stream:
        stream = self.client.create(assistant_id, thread_id, stream=True, **_opts(options))
        assert isinstance(stream, RunStream)
        return stream

    def get(self, run: RunRef, **options: Any) -> Run:
        return self.client.get(run, **_opts(options))

    def get_last_by_thread(self, thread_id: str, **options: Any) -> Run:
        return self.client.get_last_by_thread(thread_id, **_opts(options))

    def list(self, **options: Any) -> Listing:
        listing = self.client.list(**_opts(options))
        assert isinstance(listing, RunList)
        return listing

    def listen(self, run: RunRef, **options: Any) -> Stream:
        stream = self.client.listen(run, **_opts(options))
        assert isinstance(stream, RunStream)
        return stream

    def submit(self, run: RunRef, results: Iterable[FunctionResultDict], **options: Any) -> Run:
        done = self.client.submit_tool_results(run, results, **_opts(options))
        assert isinstance(done, Run)
        return done

    def submit_stream(
        self, run: RunRef, results: Iterable[FunctionResultDict], **options: Any
    ) -> Stream:
        stream = self.client.submit_tool_results(run, results, stream=True, **_opts(options))
        assert isinstance(stream, RunStream)
        return stream

    def cancel(self, run: RunRef, **options: Any) -> Run:
        return self.client.cancel(run, **_opts(options))

    def get_status(self, run: RunRef, **options: Any) -> RunStatus:
        return self.client.get_status(run, **_opts(options))

    def get_result(self, run: RunRef, **options: Any) -> RunResult:
        return self.client.get_result(run, **_opts(options))

    def wait(self, run: RunRef, **options: Any) -> RunResult:
        return self.client.wait(run, **_opts(options, poll_interval=POLL))

    def close(self) -> None:
        self.client.close()


class Connect(Protocol):
    """Open a client of the test's flavour to ``emu`` (constructor keywords pass through)."""

    def __call__(self, emu: Emulator, **options: Any) -> Flavour: ...


@pytest.fixture(params=["async", "sync"])
def connect(request: pytest.FixtureRequest) -> Iterator[Connect]:
    """A factory of clients of one flavour; every client is closed at teardown."""
    opened: list[Flavour] = []
    with asyncio.Runner() as runner:

        def open_(emu: Emulator, **options: Any) -> Flavour:
            endpoint = options.pop("endpoint", emu.grpc_target)
            flavour: Flavour
            if request.param == "async":
                flavour = AsyncFlavour(runner, AsyncRuns(endpoint=endpoint, **options))
            else:
                flavour = SyncFlavour(Runs(endpoint=endpoint, **options))
            opened.append(flavour)
            return flavour

        yield open_
        for flavour in opened:
            flavour.close()


@pytest.fixture
def runs(connect: Connect, emulator: Emulator) -> Flavour:
    """A client of the module's emulator (no credentials)."""
    return connect(emulator)
