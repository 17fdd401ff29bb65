"""CPU-bound work kept off the event loop: large messages are decoded on a worker thread.

A pure-Python decode of a few megabytes can take a second or more (hostile shapes: hundreds of
thousands of unknown fields). Run on the loop, it freezes every other call and timer, so a
deadline fires only after the decode has returned. :func:`off_loop` runs such work on a thread
of its own: the loop keeps running (the GIL switches threads every few milliseconds), the
caller's deadline cancels the wait on time, and a cancelled wait stops the worker instead of
leaving it to burn CPU after the call has ended.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import weakref
from collections.abc import Callable
from typing import Any, Final, Generic, TypeVar

__all__ = ["OFFLOAD_THRESHOLD", "WORKERS", "DecodeAhead", "decode", "off_loop"]

OFFLOAD_THRESHOLD: Final = 16 * 1024
"""Messages larger than this many bytes are decoded on a worker thread, smaller ones inline.

Below it a decode takes a few milliseconds (16 KiB: 2 ms of runs, 3 ms of JSON thread messages,
8 ms of unknown fields, the costliest shape), not much more than handing it to a thread; above
it the costliest shapes take long enough to delay other calls and deadlines (64 KiB of unknown
fields: 38 ms, 0.6 MB: 1.9 s).
"""

WORKERS: Final = 1
"""Workers decoding at once per event loop; other calls wait their turn (on the loop, not in it).

The GIL runs one decoder at a time anyway, and every runnable thread lengthens the loop's wait
for it: with eight decoding at once, small calls on the emulator took 0.4-1.4 s; with one,
under 50 ms. A waiting call's deadline still holds.
"""

_STOP_WAIT: Final = 1.0
"""Seconds a cancelled call waits for its stopped worker to end (it ends at its next bytecode)."""

_T = TypeVar("_T")
_A = TypeVar("_A")


class _Stopped(BaseException):
    """Raised inside a worker whose caller has gone; a BaseException, so no decoder catches it."""


def _raise_in(thread_id: int) -> None:
    """Make ``thread_id`` raise :class:`_Stopped` at its next bytecode (CPython only)."""
    try:
        import ctypes  # noqa: PLC0415 - only needed when a call is abandoned

        set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
    except (ImportError, AttributeError):  # pragma: no cover - not CPython: the worker finishes
        return
    set_async_exc(ctypes.c_ulong(thread_id), ctypes.py_object(_Stopped))


class _Worker(threading.Thread, Generic[_A, _T]):
    """One call of ``fn(arg)`` on a thread of its own, reporting to ``finished`` on ``loop``."""

    def __init__(
        self,
        fn: Callable[[_A], _T],
        arg: _A,
        loop: asyncio.AbstractEventLoop,
        finished: asyncio.Future[tuple[bool, object]],
    ) -> None:
        super().__init__(name="runbind-decode", daemon=True)
        self._fn = fn
        self._arg = arg
        self._loop = loop
        self._finished = finished
        self._lock = threading.Lock()
        self._state = "new"  # new -> running -> done, or -> stopped

    def run(self) -> None:
        outcome: tuple[bool, object] = (False, _Stopped())
        try:
            with self._lock:
                if self._state != "new":
                    return
                self._state = "running"
            try:
                outcome = (True, self._fn(self._arg))
            except Exception as exc:
                outcome = (False, exc)
            with self._lock:
                if self._state == "running":
                    self._state = "done"
            _settle_point()  # a stop requested just before "done" is raised here, inside the try
        except _Stopped:
            outcome = (False, _Stopped())
        finally:
            self._fn = self._arg = None  # type: ignore[assignment]  # drop the data early
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                self._loop.call_soon_threadsafe(_settle, self._finished, outcome)

    def stop(self) -> None:
        """End the work at its next bytecode if it is still running (and never start it)."""
        with self._lock:
            running = self._state == "running"
            if self._state in ("new", "running"):
                self._state = "stopped"
            if running and self.ident is not None:
                _raise_in(self.ident)


def _settle_point() -> None:
    """A call: the interpreter delivers a pending asynchronous exception at a call's start."""


def _settle(future: asyncio.Future[tuple[bool, object]], outcome: tuple[bool, object]) -> None:
    if not future.done():
        future.set_result(outcome)


async def off_loop(fn: Callable[[_A], _T], arg: _A) -> _T:
    """``fn(arg)`` run on a worker thread while the loop goes on; its result or its exception.

    If the awaiting task is cancelled (a deadline), the worker is stopped and waited for (it
    ends within a bytecode, a long C call at worst) before the cancellation propagates, so no
    work and no thread outlives the call.
    """
    loop = asyncio.get_running_loop()
    turns = _turns.get(loop)
    if turns is None:
        turns = _turns[loop] = _Turns()
    await turns.take()
    try:
        return await _work(loop, fn, arg)
    finally:
        turns.give_back()


class _Turns:
    """At most :data:`WORKERS` holders at a time on one loop, the others waiting in order.

    (An ``asyncio.Semaphore`` would keep its loop alive from :data:`_turns`.)
    """

    __slots__ = ("free", "waiting")

    def __init__(self) -> None:
        self.free = WORKERS
        self.waiting: collections.deque[asyncio.Future[None]] = collections.deque()

    async def take(self) -> None:
        """Wait for a turn."""
        if self.free > 0:
            self.free -= 1
            return
        turn = asyncio.get_running_loop().create_future()
        self.waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed a turn, then cancelled
                self.give_back()
            raise

    def give_back(self) -> None:
        """End a turn: hand it to the first caller still waiting."""
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.free += 1


_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Turns] = weakref.WeakKeyDictionary()
"""The workers' turns on each event loop (a loop is only ever used from its own thread)."""


async def _work(loop: asyncio.AbstractEventLoop, fn: Callable[[_A], _T], arg: _A) -> _T:
    finished: asyncio.Future[tuple[bool, object]] = loop.create_future()
    worker = _Worker(fn, arg, loop, finished)
    worker.start()
    try:
        ok, value = await asyncio.shield(finished)
    except asyncio.CancelledError:
        worker.stop()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            async with asyncio.timeout(_STOP_WAIT):
                await finished
        if finished.done():  # it has reported: only the thread's own teardown is left
            worker.join()
        raise
    worker.join()  # it has reported: only the thread's own teardown is left
    if ok:
        return value  # type: ignore[return-value]
    assert isinstance(value, BaseException)
    raise value


async def decode(fn: Callable[[bytes], _T], data: bytes) -> _T:
    """``fn(data)``: inline up to :data:`OFFLOAD_THRESHOLD` bytes, else :func:`off_loop`."""
    if len(data) <= OFFLOAD_THRESHOLD:
        return fn(data)
    return await off_loop(fn, data)


class DecodeAhead:
    """A grpclib codec's decoding, done ahead of its synchronous ``decode`` call.

    grpclib calls ``codec.decode(data, type)`` on the loop, right after the read that returned
    ``data`` with no await in between. A reader that calls :meth:`decode_ahead` before returning
    ``data`` gets it parsed by :func:`decode` (off the loop when large); ``decode`` then hands
    that result over. One slot per codec suffices; it is matched by identity, and a miss
    parses on the spot, so correctness never depends on the hand-over.
    """

    _ahead: tuple[bytes, Any] | None = None
    _large: set[int] | None = None

    def parse(self, data: bytes, message_type: Any) -> Any:
        """``data`` parsed as ``message_type`` (the checks and errors are the subclass's)."""
        raise NotImplementedError

    async def decode_ahead(self, data: bytes, message_type: Any) -> None:
        """Parse ``data`` for the :meth:`decode` call that follows (its errors are raised here)."""
        self._ahead = None
        message = await decode(lambda raw: self.parse(raw, message_type), data)
        if len(data) > OFFLOAD_THRESHOLD:
            if self._large is None:
                self._large = set()
            self._large.add(id(message))
            weakref.finalize(message, self._large.discard, id(message))
        self._ahead = (data, message)

    def came_large(self, message: Any) -> bool:
        """Whether ``message`` was decoded from more than :data:`OFFLOAD_THRESHOLD` bytes (its
        conversion then costs about as much as its decoding: do it off the loop too)."""
        return self._large is not None and id(message) in self._large

    def decode(self, data: bytes, message_type: Any) -> Any:
        """The message :meth:`decode_ahead` parsed from ``data``, else ``data`` parsed now."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] is data:
            return ahead[1]
        return self.parse(data, message_type)
