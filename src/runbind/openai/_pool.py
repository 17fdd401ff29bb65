"""httpx's transport with a connection pool that never loses a connection to a cancellation.

httpcore takes a connection out of its pool, then closes it under a "shield" that holds only
against anyio's cancellation, not asyncio's ``Task.cancel`` (which ``asyncio.timeout`` uses).
A task cancelled at that moment left the connection open and known to no one: a socket in
CLOSE_WAIT until the garbage collector found it, one per cancelled call under load. Here the
closing runs to its end whatever happens to the task that started it, and closing the pool also
closes any connection it opened that is still open.
"""

from __future__ import annotations

import asyncio
import weakref

import httpcore
import httpx

__all__ = ["close_response", "guard"]


class _Pool(httpcore.AsyncConnectionPool):
    """httpcore's pool with shielded closing and a record of the connections it opened."""

    _opened: weakref.WeakSet[httpcore.AsyncConnectionInterface]

    def create_connection(self, origin: httpcore.Origin) -> httpcore.AsyncConnectionInterface:
        connection = super().create_connection(origin)
        self._opened.add(connection)
        return connection

    async def _close_connections(self, closing: list[httpcore.AsyncConnectionInterface]) -> None:
        if closing:
            # A task of its own: cancelling the caller no longer stops it half-way.
            await asyncio.shield(super()._close_connections(closing))

    async def aclose(self) -> None:
        await super().aclose()
        for connection in list(self._opened):
            if not connection.is_closed():
                await connection.aclose()


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
