"""Leak checks shared by the client fault tests: threads and unfinished asyncio tasks."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from runbind._sync import loop_thread

__all__ = ["no_leaks", "pending_tasks"]


async def _pending() -> int:
    await asyncio.sleep(0.05)  # let finished streams' generators finalise
    return len(asyncio.all_tasks() - {asyncio.current_task()})


def pending_tasks(runner: asyncio.Runner | None) -> int:
    """Unfinished tasks on ``runner``'s loop, or on the sync clients' loop thread (None)."""
    if runner is not None:
        return runner.run(_pending())
    return loop_thread().run(_pending())


@contextmanager
def no_leaks(runner: asyncio.Runner | None) -> Iterator[None]:
    """The block leaves no more threads nor unfinished tasks than it found."""
    threads, tasks = threading.active_count(), pending_tasks(runner)
    yield
    assert pending_tasks(runner) == tasks, "asyncio tasks leaked"
    assert threading.active_count() == threads, threading.enumerate()
