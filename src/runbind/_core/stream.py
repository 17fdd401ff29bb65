"""A run's event stream as the clients hand it out: an iterator that knows its run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING

from .errors import RunTimeoutError
from .loop_thread import LoopThread, SyncIterator
from .run import Run, RunStreamEvent

if TYPE_CHECKING:
    import asyncio

__all__ = ["AsyncRunStream", "Pulse", "RunStream"]


class Pulse:
    """The idle timer of one stream: it fails the stream when the server has sent nothing for
    ``idle`` seconds (None: never).

    Each wait for the next event runs under it; the code producing events calls :meth:`beat`
    on any other sign of life (a chunk of an event, a poll's answer, a reconnect's first
    message), so a run that is slow but alive is never cut, while a silent connection is.
    """

    __slots__ = ("_timer", "idle", "what")

    def __init__(self, idle: float | None, what: str) -> None:
        self.idle = idle
        self.what = what
        self._timer: asyncio.Timeout | None = None

    def beat(self) -> None:
        """The server showed life: the idle timer starts again."""
        timer = self._timer
        if timer is not None and self.idle is not None:
            import asyncio  # noqa: PLC0415 - loaded already: a stream is being read

            timer.reschedule(asyncio.get_running_loop().time() + self.idle)


class AsyncRunStream(AsyncIterator[RunStreamEvent]):
    """Events of one run, until it finishes or asks for tool results.

    ``run`` is the latest :class:`Run` seen (the created run at first, then each run an event
    carries); ``last_event`` the last event yielded. Close it (or use ``async with``) to release
    the connection early.
    """

    def __init__(
        self,
        run: Run | None,
        events: AsyncIterator[RunStreamEvent],
        pulse: Pulse | None = None,
    ) -> None:
        self.run = run
        self.last_event: RunStreamEvent | None = None
        self._events = events
        self._pulse = pulse

    async def __anext__(self) -> RunStreamEvent:
        pulse = self._pulse
        if pulse is None or pulse.idle is None:
            event = await anext(self._events)
        else:
            import asyncio  # noqa: PLC0415 - loaded already: a stream is being read

            timer = asyncio.timeout(pulse.idle)
            try:
                async with timer:
                    pulse._timer = timer
                    event = await anext(self._events)
            except TimeoutError:
                if not timer.expired():
                    raise
                raise RunTimeoutError(
                    f"{pulse.what}: the server sent nothing for {pulse.idle:g} s "
                    "(stream_idle_timeout)",
                    self.run,
                ) from None
            finally:
                pulse._timer = None
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
