"""The shared leak check catches what it claims to: sockets, descriptors, threads and tasks."""

from __future__ import annotations

import asyncio
import os
import socket
import threading

import pytest

from runbind._core.loop_thread import loop_thread
from tests import _leaks as leaks


def test_a_socket_left_open_is_a_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(leaks, "SETTLE", 0.1)
    kept: list[socket.socket] = []
    with asyncio.Runner() as runner:
        with pytest.raises(AssertionError, match="sockets leaked"), leaks.no_leaks(runner):
            kept.append(socket.socket())
        kept[0].close()
        with leaks.no_leaks(runner):  # opened and closed inside: nothing left
            socket.socket().close()


def test_a_file_descriptor_left_open_is_a_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(leaks, "SETTLE", 0.1)
    kept: list[int] = []
    leaked = pytest.raises(AssertionError, match="file descriptors leaked")
    with asyncio.Runner() as runner, leaked, leaks.no_leaks(runner):
        kept.append(os.open(os.devnull, os.O_RDONLY))
    os.close(kept[0])


def test_a_socket_closed_by_a_peer_loop_soon_after_is_not_a_leak() -> None:
    peer = loop_thread().loop  # a loop on a thread that outlives the block, like a server's
    with asyncio.Runner() as runner:
        with leaks.no_leaks(runner):
            late = socket.socket()
            peer.call_soon_threadsafe(peer.call_later, 0.3, late.close)
        assert late.fileno() == -1  # closed while the check waited for it


def test_a_thread_or_a_task_left_running_is_a_leak() -> None:
    stop = threading.Event()
    with asyncio.Runner() as runner:
        waiting = threading.Thread(target=stop.wait, args=(5,))
        with pytest.raises(AssertionError, match="Thread"), leaks.no_leaks(runner):
            waiting.start()
        stop.set()
        waiting.join(5)

        async def linger() -> asyncio.Task[None]:
            return asyncio.create_task(asyncio.sleep(5))

        with pytest.raises(AssertionError, match="tasks leaked"), leaks.no_leaks(runner):
            task = runner.run(linger())
        task.cancel()
