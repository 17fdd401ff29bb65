"""The sync clients' engine: one private event loop on a daemon thread runs the async code.

grpclib is asyncio-only, so a blocking gRPC client needs a loop somewhere; running the one async
implementation there keeps retries, resumption and deadlines identical in both flavours.

Fork safety: a process forked after the thread started (gunicorn ``--preload``, celery prefork,
``multiprocessing`` with ``fork``) has the loop's memory but not its thread. The child's first
call starts a loop and a thread of its own (and so opens its own connections); the parent's loop
is made inert in the child first (see :func:`_disown`), so that nothing the child does or
collects touches the sockets and the epoll instance it shares with the parent.
"""

from __future__ import annotations

import os
import sys
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import RunbindError

if TYPE_CHECKING:
    import asyncio

# asyncio is imported where a loop is made or used, not here: ``import runbind`` (a Run parse
# needs no loop) would otherwise pay for it; see the cold-start numbers in docs/performance.md.

__all__ = ["LoopThread", "SyncIterator", "loop_thread"]

_T = TypeVar("_T")

_inherited: list[object] = []
"""What a forked child got from its parent and must neither use nor close (a loop that could
not be made inert, an iterator's stream): kept here so that it is never collected either."""


class LoopThread:
    """An event loop running forever on a daemon thread; :meth:`run` blocks on a coroutine.

    In a forked child the loop and its thread are started anew on first use.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._start()
        _instances.add(self)

    def _start(self) -> None:
        import asyncio  # noqa: PLC0415 - see the import note at the top

        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="runbind-sync-loop", daemon=True)
        thread.start()
        self._loop, self._thread, self._pid = loop, thread, os.getpid()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop the calls run on (in a forked child, the child's own, started now)."""
        if self._pid != os.getpid():
            with self._guard:
                if self._pid != os.getpid():
                    self._start()
        return self._loop

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run ``coro`` on the loop and return its result (its exception is raised here).

        A ``KeyboardInterrupt`` while waiting cancels the coroutine before propagating.
        """
        import asyncio  # noqa: PLC0415 - see the import note at the top

        loop = self.loop
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a sync runbind client cannot be used from its own loop thread")
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise


_instances: weakref.WeakSet[LoopThread] = weakref.WeakSet()
_lock = threading.Lock()
_shared: list[LoopThread] = []


def loop_thread() -> LoopThread:
    """The process-wide loop thread, started on first use."""
    with _lock:
        if not _shared or _shared[0].loop.is_closed():
            _shared[:] = [LoopThread()]
        return _shared[0]


def _disown(loop: asyncio.AbstractEventLoop) -> None:
    """Make a loop inherited from the parent inert in a forked child, and close it.

    The child shares the parent's sockets and its epoll instance: a socket the child unregisters
    is unregistered for the parent too (whose calls would then hang), and closing a TLS
    connection writes on the parent's connection. So the loop's selector is swapped for an empty
    one of the child's own before the loop is closed; a transport or channel let go later finds
    its loop closed and does nothing (grpclib's and asyncio's finalisers check that). A loop of
    another kind is kept as it is, never closed.
    """
    import selectors  # noqa: PLC0415 - only a forked child gets here

    inner: Any = loop
    if not isinstance(getattr(inner, "_selector", None), selectors.BaseSelector):
        _inherited.append(loop)
        return
    try:
        inner._selector = selectors.SelectSelector()  # holds no descriptor
        inner._thread_id = None  # it runs in no thread of this process
        inner._default_executor = None  # whose threads are not in this process either
        loop.close()
    except Exception:  # pragma: no cover - an asyncio whose loops differ: keep it untouched
        _inherited.append(loop)


def _after_fork_in_child() -> None:
    """Forget the parent's threads: fresh locks (one may have been held at the fork), and the
    parent's loops made inert; each loop thread starts anew on its first use."""
    global _lock  # noqa: PLW0603 - the lock itself must be new: its holder is not in this process
    _lock = threading.Lock()
    for runner in list(_instances):
        runner._guard = threading.Lock()
        _disown(runner._loop)


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)


class SyncIterator(Iterator[_T]):
    """A blocking iterator over an async iterator that lives on the loop thread.

    One started before a fork is over in the child (its connection is the parent's): the
    child's next step raises :class:`RunbindError`; one not started yet starts in the child.
    """

    def __init__(self, runner: LoopThread, source: Callable[[], AsyncIterator[_T]]) -> None:
        self._runner = runner
        self._source: AsyncIterator[_T] | None = None
        self._make = source
        self._done = False
        self._pid = os.getpid()

    def __iter__(self) -> SyncIterator[_T]:
        return self

    def _forked(self) -> bool:
        """Whether this process is a fork of the one that started the iteration (then the
        source is left alone: neither used nor closed)."""
        if self._pid == os.getpid():
            return False
        if self._source is not None:
            _inherited.append(self._source)
            self._source = None
            return True
        self._pid = os.getpid()  # never started: it starts here
        return False

    def __next__(self) -> _T:
        if self._forked():
            self._done = True
            raise RunbindError(
                "this stream or listing was started in the parent process before os.fork(); "
                "its connection is the parent's: start it again in this process"
            )
        if self._done:
            raise StopIteration
        more, value = self._runner.run(self._next())
        if not more:
            raise StopIteration
        return value  # type: ignore[return-value]

    async def _next(self) -> tuple[bool, _T | None]:
        # StopIteration cannot cross a coroutine boundary, so the end is a flag.
        if self._source is None:
            self._source = self._make()
        try:
            return True, await anext(self._source)
        except StopAsyncIteration:
            self._done = True
            return False, None
        except BaseException:
            self._done = True
            await _aclose(self._source)
            raise

    def close(self) -> None:
        """Stop the underlying stream and release its connection."""
        self._done = True
        if self._forked():
            return
        if self._source is not None:
            source, self._source = self._source, None
            self._runner.run(_aclose(source))

    def __enter__(self) -> SyncIterator[_T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if self._source is None or self._forked():
            return
        loop = self._runner.loop
        asyncio = sys.modules.get("asyncio")  # loaded, as a source exists (an import at
        if asyncio is not None and not loop.is_closed():  # interpreter exit would fail)
            source, self._source = self._source, None
            asyncio.run_coroutine_threadsafe(_aclose(source), loop)


async def _aclose(source: AsyncIterator[Any]) -> None:
    close: Callable[[], Awaitable[None]] | None = getattr(source, "aclose", None)
    if close is not None:
        await close()
