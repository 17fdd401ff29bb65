"""The OpenAI client's connection pool loses no connection to a cancelled task.

httpcore closes a connection it took out of its pool under a shield that asyncio's
``Task.cancel`` goes through: a call cancelled then (``asyncio.timeout``, a stream's idle
timer, the caller) left a socket in CLOSE_WAIT that nothing closed. A slow close is injected
into a real connection to a real server so that the cancellation lands inside it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpcore
import httpx
import pytest

from runbind.openai._pool import close_response, guard

from .._misbehaving import Server, http_answers, http_response

_ONE = httpx.Limits(max_connections=1, max_keepalive_connections=1)


async def _ok(method: str, path: str, body: bytes) -> bytes:
    return http_response(200, b"{}")


def _client(pooled: httpx.AsyncHTTPTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=pooled, timeout=5)


def transport(*, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """An httpx transport with runbind's guarded pool."""
    client = guard(httpx.AsyncClient(limits=limits))
    made = client._transport
    assert isinstance(made, httpx.AsyncHTTPTransport)
    return made


def _slow_close(connection: Any, closed: list[bool]) -> None:
    """Make ``connection``'s close take 50 ms before it closes for real (the injected fault)."""
    real = connection.aclose

    async def slow() -> None:
        await asyncio.sleep(0.05)
        await real()
        closed.append(True)

    connection.aclose = slow


async def _cancelled_while_an_idle_connection_closes(
    pooled: httpx.AsyncHTTPTransport, port: int
) -> tuple[bool, bool]:
    """One idle connection to 127.0.0.1 in a pool of one; a call to ``localhost`` (another
    origin) makes the pool close it, and is cancelled 10 ms into that close. Returns whether
    the close ran to its end, and whether the connection is closed (it is closed afterwards)."""
    pool: Any = pooled._pool
    async with _client(pooled) as client:
        await client.get(f"http://127.0.0.1:{port}/first")
        [idle] = pool.connections
        closed: list[bool] = []
        _slow_close(idle, closed)
        call = asyncio.create_task(client.get(f"http://localhost:{port}/second"))
        await asyncio.sleep(0.01)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await asyncio.sleep(0.15)
        outcome = bool(closed), idle.is_closed()
        await idle.aclose()
        return outcome


def test_a_call_cancelled_while_the_pool_closes_a_connection_still_closes_it() -> None:
    with Server(http_answers(_ok)) as server:
        pooled = transport(limits=_ONE)
        ended, closed = asyncio.run(_cancelled_while_an_idle_connection_closes(pooled, server.port))
    assert ended, "the close was cut short by the cancellation"
    assert closed


def test_httpcores_own_pool_still_leaves_that_connection_open() -> None:
    # The fault the pool guards against. When httpcore shields its closes from asyncio too,
    # this fails: the workaround in runbind.openai._pool can then go.
    with Server(http_answers(_ok)) as server:
        plain = httpx.AsyncHTTPTransport(limits=_ONE)
        ended, closed = asyncio.run(_cancelled_while_an_idle_connection_closes(plain, server.port))
    assert not ended
    assert not closed


async def _orphaned(port: int) -> tuple[Any, Any]:
    pooled = transport(limits=_ONE)
    pool: Any = pooled._pool
    client = _client(pooled)
    await client.get(f"http://127.0.0.1:{port}/")
    [connection] = pool.connections
    pool._connections.remove(connection)  # lost by the pool, as a cut-short close leaves it
    await client.aclose()
    return connection, pool


def test_closing_the_pool_closes_a_connection_it_lost_track_of() -> None:
    with Server(http_answers(_ok)) as server:
        connection, pool = asyncio.run(_orphaned(server.port))
    assert connection.is_closed()
    assert isinstance(pool, httpcore.AsyncConnectionPool)


async def _response_closed_under_cancellation(port: int) -> tuple[int, Any]:
    pooled = transport(limits=_ONE)
    pool: Any = pooled._pool
    async with _client(pooled) as client:
        request = client.build_request("GET", f"http://127.0.0.1:{port}/")
        response = await client.send(request, stream=True)
        [connection] = pool.connections
        stream: Any = response.stream
        real = stream.aclose

        async def slow() -> None:
            await asyncio.sleep(0.05)
            await real()

        stream.aclose = slow
        closing = asyncio.create_task(close_response(response))
        await asyncio.sleep(0.01)
        closing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await closing
        await asyncio.sleep(0.15)
        return len(pool._requests), connection


def test_a_response_closed_by_a_cancelled_task_gives_its_connection_back() -> None:
    with Server(http_answers(_ok)) as server:
        busy, connection = asyncio.run(_response_closed_under_cancellation(server.port))
    assert busy == 0, "the pool still counts the response's request"
    assert connection.is_closed()  # its body was never read: it cannot serve another call


def test_the_clients_pool_is_the_guarded_one() -> None:
    from runbind.openai._http import OpenAIHttp  # noqa: PLC0415

    async def pool_type() -> type:
        http: Any = OpenAIHttp.__new__(OpenAIHttp)
        http._verify, http._trust_env = True, False
        client = http._open()
        try:
            return type(client._transport._pool)
        finally:
            await client.aclose()

    assert asyncio.run(pool_type()).__name__ == "_Pool"
