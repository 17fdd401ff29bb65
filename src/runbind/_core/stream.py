"""A run's event stream as the clients hand it out: an iterator that knows its run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Generic, Self, TypeVar

from .errors import InvalidArgumentError, RunTimeoutError
from .loop_thread import LoopThread, SyncIterator
from .run import EventRawT_co, RawT_co, Run, RunStreamEvent

if TYPE_CHECKING:
    import asyncio

__all__ = ["AsyncRunStream", "Pulse", "RunStream"]


class Pulse:
    """The idle timer of one stream: it fails the stream when the server has sent nothing for
    ``idle`` seconds (None: never).

    Each wait for the next event runs under it; the code producing events calls :meth:`beat`
    on any other sign of life (a chunk of an event, a poll's answer, a reconnect's message), so
    a run that is slow but alive is never cut, while a silent connection is.

    It is what ``asyncio.timeout`` does, made lazy: a beat only notes the time, and the one
    timer, when it fires, either cancels the waiting task (the silence was long enough) or is set
    again for the end of the current silence. A timer per event cost about 7 us each, a tenth of
    a Yandex event's whole handling.
    """

    __slots__ = (
        "_cancelling",
        "_fired",
        "_last",
        "_loop",
        "_task",
        "_timer",
        "idle",
        "what",
    )

    idle: float | None
    """Seconds of silence that end the stream (None: none do)."""
    what: str
    """The call the stream belongs to, for the error (``"yandex listen"``)."""

    def __init__(self, idle: float | None, what: str) -> None:
        self.idle = idle
        self.what = what
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[object] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last = 0.0
        self._cancelling = 0
        self._fired = False

    def beat(self) -> None:
        """The server showed life: the silence counts from now."""
        if self._task is not None and self._loop is not None:
            self._last = self._loop.time()

    def enter(self, idle: float) -> None:
        """A wait for the next event starts (in the running task)."""
        import asyncio  # noqa: PLC0415 - loaded already: a stream is being read

        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        if self._timer is not None and loop is not self._loop:
            self._timer = None  # another loop's: it finds itself out of place and ends
        self._loop, self._task = loop, task
        self._cancelling = task.cancelling()
        self._fired = False
        self._last = loop.time()
        if self._timer is None:
            self._timer = loop.call_at(self._last + idle, self._check, loop)

    def leave(self, error: type[BaseException] | None) -> bool:
        """The wait ended (with ``error``, if any): whether it was the idle timer that ended it
        (as ``asyncio.timeout``'s exit decides)."""
        task, self._task = self._task, None
        if not self._fired or task is None:
            return False
        self._fired = False
        import asyncio  # noqa: PLC0415 - loaded already: a stream is being read

        return task.uncancel() <= self._cancelling and error is asyncio.CancelledError

    def stop(self) -> None:
        """The stream is over: its timer goes (it would keep this alive until it fired)."""
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def _check(self, loop: asyncio.AbstractEventLoop) -> None:
        """The timer: the wait has been silent for ``idle`` seconds (cancel it), or not yet."""
        if loop is not self._loop:
            return
        self._timer = None
        task, idle = self._task, self.idle
        if task is None or idle is None:
            return  # no wait now: the next one sets the timer again
        due = self._last + idle
        if loop.time() >= due - 0.001:
            self._fired = True
            task.cancel()
        else:
            self._timer = loop.call_at(due, self._check, loop)


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
        self,
        run: Run[RawT_co] | None,
        events: AsyncIterator[RunStreamEvent[EventRawT_co, RawT_co]],
        pulse: Pulse | None = None,
    ) -> None:
        self._run = run
        self._last_event: RunStreamEvent[EventRawT_co, RawT_co] | None = None
        self._events = events
        self._pulse = pulse

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
        pulse = self._pulse
        if pulse is None or pulse.idle is None:
            event = await anext(self._events)
        else:
            pulse.enter(pulse.idle)
            try:
                event = await anext(self._events)
            except BaseException as exc:
                ours = pulse.leave(type(exc))
                pulse.stop()  # the stream is over, one way or another
                if ours:
                    raise RunTimeoutError(
                        f"{pulse.what}: the server sent nothing for {pulse.idle:g} s "
                        "(stream_idle_timeout)",
                        self._run,
                    ) from None
                raise
            pulse.leave(None)
        self._last_event = event
        if event.run is not None:
            self._run = event.run
        return event

    async def aclose(self) -> None:
        """Stop the stream and release its connection."""
        if self._pulse is not None:
            self._pulse.stop()
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
