"""A run's event stream as the clients hand it out: an iterator that knows its run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Generic, Self, TypeVar

from .errors import InvalidArgumentError
from .loop_thread import LoopThread, SyncIterator
from .run import EventRawT_co, RawT_co, Run, RunStreamEvent

__all__ = ["AsyncRunStream", "RunStream"]

_R = TypeVar("_R")


def _known(run: Run[_R] | None) -> Run[_R]:
    if run is None:
        raise InvalidArgumentError(
            "this stream has seen no run yet (it was opened by run id, or no event carried "
            "one so far): iterate it first, or use the run id"
        )
    return run


class AsyncRunStream(
    AsyncIterator[RunStreamEvent[EventRawT_co, RawT_co]], Generic[EventRawT_co, RawT_co]
):
    """Events of one run, until it finishes or asks for tool results.

    ``run`` is the latest :class:`Run` seen (the created run at first, then each run an event
    carries), or ``None`` before any; :attr:`current_run` is the same run, never ``None``.
    ``last_event`` is the last event yielded. Close it (or use ``async with``) to release the
    connection early. ``AsyncRunStream[E, R]`` yields ``RunStreamEvent[E, R]``.
    """

    def __init__(
        self, run: Run[RawT_co] | None, events: AsyncIterator[RunStreamEvent[EventRawT_co, RawT_co]]
    ) -> None:
        self._run = run
        self._last_event: RunStreamEvent[EventRawT_co, RawT_co] | None = None
        self._events = events

    @property
    def run(self) -> Run[RawT_co] | None:
        """The latest run seen on this stream (``None`` before any)."""
        return self._run

    @property
    def current_run(self) -> Run[RawT_co]:
        """The latest run seen on this stream, for the next call (``submit_tool_results``,
        ``wait``); raises :class:`InvalidArgumentError` while it has seen none."""
        return _known(self._run)

    @property
    def last_event(self) -> RunStreamEvent[EventRawT_co, RawT_co] | None:
        """The last event yielded."""
        return self._last_event

    async def __anext__(self) -> RunStreamEvent[EventRawT_co, RawT_co]:
        event = await anext(self._events)
        self._last_event = event
        if event.run is not None:
            self._run = event.run
        return event

    async def aclose(self) -> None:
        """Stop the stream and release its connection."""
        close = getattr(self._events, "aclose", None)
        if close is not None:
            await close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class RunStream(Iterator[RunStreamEvent[EventRawT_co, RawT_co]], Generic[EventRawT_co, RawT_co]):
    """The blocking form of :class:`AsyncRunStream` (same attributes)."""

    def __init__(self, runner: LoopThread, inner: AsyncRunStream[EventRawT_co, RawT_co]) -> None:
        self._inner = inner
        self._events = SyncIterator(runner, lambda: inner)

    @property
    def run(self) -> Run[RawT_co] | None:
        """The latest run seen on this stream (``None`` before any)."""
        return self._inner.run

    @property
    def current_run(self) -> Run[RawT_co]:
        """The latest run seen on this stream, for the next call (``submit_tool_results``,
        ``wait``); raises :class:`InvalidArgumentError` while it has seen none."""
        return self._inner.current_run

    @property
    def last_event(self) -> RunStreamEvent[EventRawT_co, RawT_co] | None:
        """The last event yielded."""
        return self._inner.last_event

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> RunStreamEvent[EventRawT_co, RawT_co]:
        return next(self._events)

    def close(self) -> None:
        """Stop the stream and release its connection."""
        self._events.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
