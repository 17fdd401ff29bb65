"""The emulator's in-memory state: assistants, threads, messages and runs, plus their event logs.

State is provider-neutral; each protocol renders it. All of it lives on the emulator's event loop
and is only touched from there, which is what makes it safe under concurrent clients.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .._core.status import RunStatus
from ._script import Script

__all__ = ["Assistant", "Call", "CoreMessage", "CoreRun", "Store", "Thread", "new_id"]

_T = TypeVar("_T")


def new_id(prefix: str) -> str:
    """A fresh random id with a provider-looking prefix."""
    return f"{prefix}{secrets.token_hex(10)}"


def now() -> int:
    """Unix seconds."""
    return int(time.time())


@dataclass(slots=True)
class FunctionSpec:
    """A function tool an assistant offers."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Assistant:
    """An assistant and the behaviour its runs follow."""

    id: str
    created_at: int
    name: str
    model: str
    instructions: str
    functions: list[FunctionSpec]
    labels: dict[str, str]
    script: Script
    raw: Any = None


@dataclass(slots=True)
class CoreMessage:
    """A thread message (user input or an assistant answer)."""

    id: str
    thread_id: str
    role: str
    text: str
    created_at: int
    labels: dict[str, str] = field(default_factory=dict)
    author_id: str = ""
    run_id: str | None = None
    assistant_id: str | None = None
    status: str = "completed"  # completed | in_progress | incomplete


@dataclass(slots=True)
class Thread:
    """A conversation."""

    id: str
    created_at: int
    name: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    messages: list[CoreMessage] = field(default_factory=list)
    raw: Any = None  # the protocol side's own record of the thread, if it keeps one


@dataclass(slots=True)
class Call:
    """A function call the scripted model asked for."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(slots=True)
class CoreRun:
    """A run: its state, its options as requested, and every event it has produced."""

    id: str
    thread_id: str
    assistant_id: str
    created_at: int
    stream: bool
    options: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    status: RunStatus = RunStatus.QUEUED
    started_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    cancelled_at: int | None = None
    expires_at: int | None = None
    error: tuple[str, str] | None = None
    incomplete_reason: str | None = None
    calls: list[Call] = field(default_factory=list)
    results_received: int = 0
    awaiting_results: bool = False
    usage: tuple[int, int] | None = None
    answer: CoreMessage | None = None
    events: list[Any] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    submitted: asyncio.Queue[list[tuple[str, str]]] = field(default_factory=asyncio.Queue)
    cancel_requested: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    @property
    def waiting_for_results(self) -> bool:
        """The run is paused on function calls that nobody has answered yet."""
        return self.status is RunStatus.REQUIRES_ACTION and self.awaiting_results

    async def notify(self) -> None:
        """Wake every stream waiting for a new event or status."""
        async with self.changed:
            self.changed.notify_all()

    async def follow(
        self, start: int, ended: Callable[[], bool], stop: Callable[[], bool] = lambda: False
    ) -> AsyncGenerator[Any, None]:
        """The events from ``start`` on, live, each as it is added, until ``ended()`` holds once
        all are given (or ``stop()``, checked before each batch, holds)."""
        index = start
        while not stop():
            while index < len(self.events):
                yield self.events[index]
                index += 1
            if ended():
                return
            async with self.changed:
                if index >= len(self.events) and not ended() and not stop():
                    await self.changed.wait()


class Table(Generic[_T]):
    """Objects by id, in creation order."""

    def __init__(self) -> None:
        self._items: dict[str, _T] = {}

    def __len__(self) -> int:
        return len(self._items)

    def add(self, key: str, item: _T) -> _T:
        """Store ``item`` under ``key``."""
        self._items[key] = item
        return item

    def get(self, key: str) -> _T | None:
        """The item, or None."""
        return self._items.get(key)

    def pop(self, key: str) -> _T | None:
        """Remove and return the item, or None."""
        return self._items.pop(key, None)

    def values(self) -> list[_T]:
        """Every item, oldest first."""
        return list(self._items.values())


@dataclass
class Store:
    """Everything one protocol side of the emulator holds."""

    assistants: Table[Assistant] = field(default_factory=Table)
    threads: Table[Thread] = field(default_factory=Table)
    runs: Table[CoreRun] = field(default_factory=Table)
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def runs_of(self, thread_id: str) -> list[CoreRun]:
        """The runs of a thread, oldest first."""
        return [r for r in self.runs.values() if r.thread_id == thread_id]

    def find_message(self, message_id: str) -> CoreMessage | None:
        """A message of any thread."""
        for thread in self.threads.values():
            for message in thread.messages:
                if message.id == message_id:
                    return message
        return None

    def active_run(self, thread_id: str) -> CoreRun | None:
        """The thread's run that has not finished, if any."""
        for run in self.runs_of(thread_id):
            if not run.status.is_finished:
                return run
        return None
