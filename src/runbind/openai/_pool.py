"""httpx's transport with a connection pool that never loses a connection to a cancellation.

httpcore takes a connection out of its pool, then closes it under a "shield" that holds only
against anyio's cancellation, not asyncio's ``Task.cancel`` (which ``asyncio.timeout`` uses).
A task cancelled at that moment left the connections still to close open and known to no one:
sockets in CLOSE_WAIT until the garbage collector found them. Here what a cancellation cuts
short is finished in the background, and closing the pool also closes any connection it opened
that is still open.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref

import httpcore
import httpx

__all__ = ["close_response", "guard"]


class _Pool(httpcore.AsyncConnectionPool):
    """httpcore's pool whose closes a cancellation cannot cut short, with a record of the
    connections it opened."""

    _opened: weakref.WeakSet[httpcore.AsyncConnectionInterface]

    def create_connection(self, origin: httpcore.Origin) -> httpcore.AsyncConnectionInterface:
        connection = super().create_connection(origin)
        self._opened.add(connection)
        return connection

    async def _close_connections(self, closing: list[httpcore.AsyncConnectionInterface]) -> None:
        # Inline, as httpcore does: a connection it gave to a queued request may be among them
        # (encode/httpcore#1110), and only a close done before that request runs makes it pick
        # another one (a close one loop turn later cut the request's reading short).
        for done, connection in enumerate(closing):
            try:
                await connection.aclose()
            except asyncio.CancelledError:
                _finish(closing[done:])
                raise

    async def aclose(self) -> None:
        await super().aclose()
        for connection in list(self._opened):
            if not connection.is_closed():
                await connection.aclose()


_CLOSING: set[asyncio.Task[None]] = set()
"""Closes finished in the background (kept referenced until they end)."""


def _finish(connections: list[httpcore.AsyncConnectionInterface]) -> None:
    """Close ``connections`` in a task of their own: their caller was cancelled half-way."""

    async def close() -> None:
        for connection in connections:
            with contextlib.suppress(Exception):
                await connection.aclose()

    task = asyncio.ensure_future(close())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


def guard(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """``client`` with its direct transport's pool made a :class:`_Pool` (a proxy's transport,
    from the environment, keeps httpcore's own pool)."""
    made = client._transport  # httpx gives no hook to choose the pool
    pool = getattr(made, "_pool", None)
    if type(pool) is not httpcore.AsyncConnectionPool:  # pragma: no cover - httpx changed shape
        raise RuntimeError(f"httpx's transport pool is a {type(pool).__name__}")
    pool.__class__ = _Pool
    assert isinstance(pool, _Pool)
    pool._opened = weakref.WeakSet()
    return client


async def close_response(response: httpx.Response) -> None:
    """Close ``response`` to the end even if the calling task is cancelled meanwhile: a close
    cut short left its connection counted as busy in the pool for good."""
    if not response.is_closed:
        await asyncio.shield(response.aclose())
