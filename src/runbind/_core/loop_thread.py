"""The sync clients' engine: one private event loop on a daemon thread runs the async code.

grpclib is asyncio-only, so a blocking gRPC client needs a loop somewhere; running the one async
implementation there keeps retries, resumption and deadlines identical in both flavours.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import asyncio

# asyncio is imported where a loop is made or used, not here: ``import runbind`` (a Run parse
# needs no loop) would otherwise pay for it; see the cold-start numbers in README.md.

__all__ = ["LoopThread", "SyncIterator", "loop_thread"]

_T = TypeVar("_T")


class LoopThread:
    """An event loop running forever on a daemon thread; :meth:`run` blocks on a coroutine."""

    def __init__(self) -> None:
        import asyncio  # noqa: PLC0415 - see the import note at the top

        self.loop: asyncio.AbstractEventLoop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="runbind-sync-loop", daemon=True
        )
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run ``coro`` on the loop and return its result (its exception is raised here).

        A ``KeyboardInterrupt`` while waiting cancels the coroutine before propagating.
        """
        import asyncio  # noqa: PLC0415 - see the import note at the top

        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a sync runbind client cannot be used from its own loop thread")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise


_lock = threading.Lock()
_shared: list[LoopThread] = []


def loop_thread() -> LoopThread:
    """The process-wide loop thread, started on first use."""
    with _lock:
        if not _shared or _shared[0].loop.is_closed():
            _shared[:] = [LoopThread()]
        return _shared[0]


class SyncIterator(Iterator[_T]):
    """A blocking iterator over an async iterator that lives on the loop thread."""

    def __init__(self, runner: LoopThread, source: Callable[[], AsyncIterator[_T]]) -> None:
        self._runner = runner
        self._source: AsyncIterator[_T] | None = None
        self._make = source
        self._done = False

    def __iter__(self) -> SyncIterator[_T]:
        return self

    def __next__(self) -> _T:
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
        if self._source is not None:
            source, self._source = self._source, None
            self._runner.run(_aclose(source))

    def __enter__(self) -> SyncIterator[_T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if self._source is not None and not self._runner.loop.is_closed():
            import asyncio  # noqa: PLC0415 - see the import note at the top

            source, self._source = self._source, None
            asyncio.run_coroutine_threadsafe(_aclose(source), self._runner.loop)


async def _aclose(source: AsyncIterator[Any]) -> None:
    close: Callable[[], Awaitable[None]] | None = getattr(source, "aclose", None)
    if close is not None:
        await close()
