"""Lazy, resumable listings: pages are fetched as the caller iterates."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Generic, Self, TypeVar

from .loop_thread import LoopThread, SyncIterator
from .run import RawT_co, Run

__all__ = ["AsyncRunList", "RunList", "RunPage"]

_R = TypeVar("_R")
FetchPage = Callable[[str | None], Awaitable["RunPage[_R]"]]


@dataclass(frozen=True, slots=True)
class RunPage(Generic[RawT_co]):
    """One page of a listing; ``next_page_token`` fetches the next one (None: this is the last;
    a service may also give the last page a token, whose page is then empty)."""

    runs: tuple[Run[RawT_co], ...]
    next_page_token: str | None


class AsyncRunList(AsyncIterator[Run[RawT_co]], Generic[RawT_co]):
    """Runs of a listing, fetched page by page on demand.

    ``next_page_token`` is the token of the page after the last one fetched (None once the
    listing is exhausted): pass it as ``page_token`` to resume after the runs of the pages seen so
    far. :meth:`pages` iterates whole pages, which makes resuming exact.
    """

    def __init__(self, fetch: FetchPage[RawT_co], page_token: str | None) -> None:
        self._fetch = fetch
        self._buffer: list[Run[RawT_co]] = []
        self._started = False
        self.next_page_token: str | None = page_token or None

    def _exhausted(self) -> bool:
        return self._started and self.next_page_token is None

    async def _page(self) -> RunPage[RawT_co] | None:
        if self._exhausted():
            return None
        first = not self._started
        page = await self._fetch(self.next_page_token)
        self._started = True
        # A page without runs ends the listing, whatever token it carries: a service whose last
        # page still has a token (Yandex's) answers that token with an empty page.
        self.next_page_token = (page.next_page_token or None) if page.runs else None
        if not page.runs and not first:
            return None  # the empty page after the last one says only that it was the last
        return page

    async def __anext__(self) -> Run[RawT_co]:
        while not self._buffer:
            page = await self._page()
            if page is None:
                raise StopAsyncIteration
            self._buffer = list(reversed(page.runs))
        return self._buffer.pop()

    async def pages(self) -> AsyncIterator[RunPage[RawT_co]]:
        """The remaining pages, one fetch each (runs already buffered come first as a page)."""
        if self._buffer:
            rest, self._buffer = tuple(reversed(self._buffer)), []
            yield RunPage(rest, self.next_page_token)
        while (page := await self._page()) is not None:
            yield page


class RunList(Iterator[Run[RawT_co]], Generic[RawT_co]):
    """The blocking form of :class:`AsyncRunList` (same attributes)."""

    def __init__(self, runner: LoopThread, inner: AsyncRunList[RawT_co]) -> None:
        self._runner = runner
        self._inner = inner
        self._runs = SyncIterator(runner, lambda: inner)

    @property
    def next_page_token(self) -> str | None:
        """Token of the page after the last one fetched (None once exhausted)."""
        return self._inner.next_page_token

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> Run[RawT_co]:
        return next(self._runs)

    def pages(self) -> Iterator[RunPage[RawT_co]]:
        """The remaining pages, one fetch each."""
        return SyncIterator(self._runner, self._inner.pages)
