"""Leak checks shared by the client fault tests: threads, unfinished asyncio tasks, open file
descriptors and sockets."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from runbind._core.loop_thread import loop_thread

__all__ = ["SETTLE", "no_leaks", "open_fds", "pending_tasks", "sockets", "tcp_sockets"]

SETTLE = 2.0
"""Seconds the descriptor count may take to come back: a peer in this process (the emulator,
a misbehaving test server) closes its end of a connection on its own thread or loop."""

_FD_DIR = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"


async def _pending() -> int:
    await asyncio.sleep(0.05)  # let finished streams' generators finalise
    return len(asyncio.all_tasks() - {asyncio.current_task()})


def pending_tasks(runner: asyncio.Runner | None) -> int:
    """Unfinished tasks on ``runner``'s loop, or on the sync clients' loop thread (None)."""
    if runner is not None:
        return runner.run(_pending())
    return loop_thread().run(_pending())


def open_fds() -> dict[int, str]:
    """``{descriptor: what it is}`` of this process (``socket:[inode]`` for a socket where the
    system says so; an empty string where it cannot)."""
    found: dict[int, str] = {}
    for name in os.listdir(_FD_DIR):
        try:
            found[int(name)] = os.readlink(os.path.join(_FD_DIR, name))
        except OSError:  # the listing's own descriptor, closed already; or no links (/dev/fd)
            found[int(name)] = ""
    return found


def sockets(fds: dict[int, str] | None = None) -> int:
    """How many of ``fds`` (by default the open ones) are sockets."""
    targets = (open_fds() if fds is None else fds).values()
    return sum(target.startswith("socket:") for target in targets)


def _settled(before: dict[int, str], runner: asyncio.Runner | None) -> dict[int, str]:
    """The open descriptors once they are no more than ``before`` (or after :data:`SETTLE`).

    While it waits, ``runner``'s loop runs (as a program's loop would): a connection the peer
    closed is closed by its transport only when that loop sees the end of it.
    """
    give_up = time.monotonic() + SETTLE
    while True:
        now = open_fds()
        if len(now) <= len(before) and sockets(now) <= sockets(before):
            return now
        if time.monotonic() >= give_up:
            return now
        if runner is not None:
            runner.run(asyncio.sleep(0.02))
        else:
            time.sleep(0.02)


_TCP_STATES = {"01": "ESTABLISHED", "06": "TIME_WAIT", "08": "CLOSE_WAIT", "0A": "LISTEN"}


def tcp_sockets() -> dict[str, str]:
    """``{inode: "local -> remote STATE"}`` of this process's TCP sockets (Linux; else empty)."""
    found: dict[str, str] = {}
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            with open(table, encoding="ascii") as lines:
                rows = [line.split() for line in lines][1:]
        except OSError:
            continue
        for row in rows:
            local, remote, state, inode = row[1], row[2], row[3], row[9]
            ports = f"{int(local.rsplit(':', 1)[1], 16)} -> {int(remote.rsplit(':', 1)[1], 16)}"
            found[inode] = f"{ports} {_TCP_STATES.get(state, state)}"
    return found


def _holders(fd: int) -> str:
    """Who holds the socket object of ``fd``: the types up two steps of referrers (a leak's
    report names the client, pool or server it belongs to)."""
    import gc  # noqa: PLC0415 - only when a leak is reported

    found = [o for o in gc.get_objects() if isinstance(o, socket.socket) and o.fileno() == fd]
    names: set[str] = set()
    for sock in found:
        for first in gc.get_referrers(sock):
            names.add(type(first).__qualname__)
            for second in gc.get_referrers(first):
                names.add(type(second).__qualname__)
    names.discard("list")
    return ", ".join(sorted(names)) or "no Python object"


def _described(fds: dict[int, str]) -> dict[int, str]:
    """``fds`` with each TCP socket's ports, state and holders, so that a leak says whose it is."""
    tcp = tcp_sockets()
    return {
        fd: f"{target} {tcp.get(target[8:-1], '')} held by {_holders(fd)}".strip()
        for fd, target in fds.items()
    }


@contextmanager
def no_leaks(runner: asyncio.Runner | None) -> Iterator[None]:
    """The block leaves no more threads, unfinished tasks, open descriptors nor sockets than it
    found.

    Descriptors are counted, not matched: a pooled connection that closes inside the block may
    make room for one opened there. Open clients before the block (or close them inside it).
    """
    tasks = pending_tasks(runner)  # first: it may start the sync clients' loop thread
    threads, fds = threading.active_count(), open_fds()
    yield
    assert pending_tasks(runner) == tasks, "asyncio tasks leaked"
    assert threading.active_count() == threads, threading.enumerate()
    after = _settled(fds, runner)
    new = {fd: target for fd, target in after.items() if fds.get(fd) != target}
    assert sockets(after) <= sockets(fds), f"sockets leaked: {_described(new)}"
    assert len(after) <= len(fds), f"file descriptors leaked: {new}"
