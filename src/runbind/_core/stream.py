"""A run's event stream as the clients hand it out: an iterator that knows its run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType

from .loop_thread import LoopThread, SyncIterator
from .run import Run, RunStreamEvent

__all__ = ["AsyncRunStream", "RunStream"]


class AsyncRunStream(AsyncIterator[RunStreamEvent]):
    """Events of one run, until it finishes or asks for tool results.

    ``run`` is the latest :class:`Run` seen (the created run at first, then each run an event
    carries); ``last_event`` the last event yielded. Close it (or use ``async with``) to release
    the connection early.
    """

    def __init__(self, run: Run | None, events: AsyncIterator[RunStreamEvent]) -> None:
        self.run = run
        self.last_event: RunStreamEvent | None = None
        self._events = events

    async def __anext__(self) -> RunStreamEvent:
        event = await anext(self._events)
        self.last_event = event
        if event.run is not None:
            self.run = event.run
        return event

    async def aclose(self) -> None:
        """Stop the stream and release its connection."""
        close = getattr(self._events, "aclose", None)
        if close is not None:
            await close()

    async def __aenter__(self) -> AsyncRunStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class RunStream(Iterator[RunStreamEvent]):
    """The blocking form of :class:`AsyncRunStream` (same attributes)."""

    def __init__(self, runner: LoopThread, inner: AsyncRunStream) -> None:
        self._inner = inner
        self._events = SyncIterator(runner, lambda: inner)

    @property
    def run(self) -> Run | None:
        """The latest run seen on this stream."""
        return self._inner.run

    @property
    def last_event(self) -> RunStreamEvent | None:
        """The last event yielded."""
        return self._inner.last_event

    def __iter__(self) -> RunStream:
        return self

    def __next__(self) -> RunStreamEvent:
        return next(self._events)

    def close(self) -> None:
        """Stop the stream and release its connection."""
        self._events.close()

    def __enter__(self) -> RunStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
