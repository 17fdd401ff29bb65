"""The scaffolding every provider's tests share: a threaded emulator, and both client flavours
(``AsyncRuns`` driven on a private event loop, ``Runs``) behind one small blocking adapter.

A provider's conftest names what differs in a :class:`Provider` (returned by its ``provider``
fixture) and imports the fixtures defined here, so the two providers' tests run the same calls
the same way."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import pytest

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

_T = TypeVar("_T")

TIMEOUT = 10.0
"""Seconds any client call may take in these tests (a hang fails instead of blocking)."""

POLL = 0.02
"""``wait`` poll interval in these tests unless a test says otherwise."""


# --------------------------------------------------------------------------- provider


class AsyncClient(Protocol):
    """What the async flavour calls on a provider's ``AsyncRuns`` (arguments pass through)."""

    async def create(self, *args: Any, **kwargs: Any) -> Run | AsyncRunStream: ...

    async def get(self, *args: Any, **kwargs: Any) -> Run: ...

    async def get_last_by_thread(self, *args: Any, **kwargs: Any) -> Run: ...

    def list(self, *args: Any, **kwargs: Any) -> AsyncRunList: ...

    def listen(self, *args: Any, **kwargs: Any) -> AsyncRunStream: ...

    async def submit_tool_results(self, *args: Any, **kwargs: Any) -> Run | AsyncRunStream: ...

    async def cancel(self, *args: Any, **kwargs: Any) -> Run: ...

    async def get_status(self, *args: Any, **kwargs: Any) -> RunStatus: ...

    async def get_result(self, *args: Any, **kwargs: Any) -> RunResult: ...

    async def wait(self, *args: Any, **kwargs: Any) -> RunResult: ...

    async def close(self) -> None: ...


class SyncClient(Protocol):
    """What the sync flavour calls on a provider's ``Runs`` (arguments pass through)."""

    def create(self, *args: Any, **kwargs: Any) -> Run | RunStream: ...

    def get(self, *args: Any, **kwargs: Any) -> Run: ...

    def get_last_by_thread(self, *args: Any, **kwargs: Any) -> Run: ...

    def list(self, *args: Any, **kwargs: Any) -> RunList: ...

    def listen(self, *args: Any, **kwargs: Any) -> RunStream: ...

    def submit_tool_results(self, *args: Any, **kwargs: Any) -> Run | RunStream: ...

    def cancel(self, *args: Any, **kwargs: Any) -> Run: ...

    def get_status(self, *args: Any, **kwargs: Any) -> RunStatus: ...

    def get_result(self, *args: Any, **kwargs: Any) -> RunResult: ...

    def wait(self, *args: Any, **kwargs: Any) -> RunResult: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Provider:
    """What the shared fixtures need to know of one provider."""

    env: tuple[str, ...]
    """Environment variables (credentials, endpoints) removed for every test."""

    async_runs: Callable[..., AsyncClient]
    """The provider's ``AsyncRuns``."""

    runs: Callable[..., SyncClient]
    """The provider's ``Runs``."""

    target: Callable[[Emulator], Mapping[str, object]]
    """Constructor keywords aiming a client at the emulator (a test's own keywords win)."""


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
def _clean_env(provider: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials or endpoint of the provider from the machine running the tests."""
    for name in provider.env:
        monkeypatch.delenv(name, raising=False)


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
    """Blocking steps over an async iterator, each awaited on the flavour's event loop."""

    def __init__(self, runner: asyncio.Runner, source: AsyncIterator[Any]) -> None:
        self._runner = runner
        self._source = source

    def _next(self) -> Any:
        more, value = self._runner.run(_step(self._source))
        if not more:
            raise StopIteration
        return value


class _AsyncStream(_Stepper):
    def __init__(self, runner: asyncio.Runner, inner: AsyncRunStream | Run) -> None:
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


RunRef = Run | RunStreamEvent | str
"""What a flavour passes on as a run (Yandex's clients take a ``Run`` or an id)."""


class Flavour(ABC):
    """One client flavour with blocking methods named like ``Runs``'; ``*_stream`` variants
    pass ``stream=True``. Calls get ``timeout=TIMEOUT`` (and ``wait`` a short poll) unless the
    test says otherwise. ``list`` passes its positional arguments on (OpenAI's thread id)."""

    name: str
    client: AsyncClient | SyncClient

    @abstractmethod
    def create(self, assistant_id: str, thread_id: str, **options: Any) -> Run: ...

    @abstractmethod
    def create_stream(self, assistant_id: str, thread_id: str, **options: Any) -> Stream: ...

    @abstractmethod
    def get(self, run: RunRef, **options: Any) -> Run: ...

    @abstractmethod
    def get_last_by_thread(self, thread_id: str, **options: Any) -> Run: ...

    @abstractmethod
    def list(self, *args: str, **options: Any) -> Listing: ...

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

    def finish(self, assistant_id: str, thread_id: str, **options: Any) -> Stream:
        """A streamed create, drained: the run has finished (or paused) when this returns."""
        stream = self.create_stream(assistant_id, thread_id, **options)
        for _ in stream:
            pass
        return stream


def _opts(options: dict[str, Any], **defaults: Any) -> dict[str, Any]:
    return {"timeout": TIMEOUT, **defaults, **options}


class AsyncFlavour(Flavour):
    """``AsyncRuns``, each call awaited on one private event loop (``asyncio.Runner``)."""

    name = "async"

    def __init__(self, runner: asyncio.Runner, client: AsyncClient) -> None:
        self.runner = runner
        self.client: AsyncClient = client

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

    def list(self, *args: str, **options: Any) -> Listing:
        return _AsyncListing(self.runner, self.client.list(*args, **_opts(options)))

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

    def __init__(self, client: SyncClient) -> None:
        self.client: SyncClient = client

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

    def list(self, *args: str, **options: Any) -> Listing:
        listing = self.client.list(*args, **_opts(options))
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
    """Open a client of the test's flavour to ``emu``; constructor keywords pass through and
    override the provider's :attr:`Provider.target` (e.g. ``base_url=None`` for OpenAI's
    environment)."""

    def __call__(self, emu: Emulator, **options: Any) -> Flavour: ...


@pytest.fixture(params=["async", "sync"])
def connect(request: pytest.FixtureRequest, provider: Provider) -> Iterator[Connect]:
    """A factory of clients of one flavour; every client is closed at teardown."""
    opened: list[Flavour] = []
    with asyncio.Runner() as runner:

        def open_(emu: Emulator, **options: Any) -> Flavour:
            options = {**provider.target(emu), **options}
            flavour: Flavour
            if request.param == "async":
                flavour = AsyncFlavour(runner, provider.async_runs(**options))
            else:
                flavour = SyncFlavour(provider.runs(**options))
            opened.append(flavour)
            return flavour

        yield open_
        for flavour in opened:
            flavour.close()


@pytest.fixture
def runs(connect: Connect, emulator: Emulator) -> Flavour:
    """A client of the module's emulator (no credentials)."""
    return connect(emulator)
