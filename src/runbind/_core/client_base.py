"""What both Runs clients share: the retry policy and the async context, the connection each
event loop gets, the stream positions they remember, and the checks of common arguments."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import OrderedDict
from collections.abc import Callable
from types import TracebackType
from typing import Generic, Self, TypeVar

from .credentials import Secret
from .errors import InvalidArgumentError, RunTimeoutError
from .retry import Deadline, RetryPolicy
from .run import Run, RunStreamEvent

__all__ = ["ClientBase", "Cursors", "PerLoop", "left", "run_id_of", "start_index"]

_C = TypeVar("_C")
_V = TypeVar("_V")

MAX_CURSORS = 1024
"""Runs whose last stream position a client remembers (the oldest are forgotten first)."""


class ClientBase:
    """The part of ``AsyncRuns`` both providers share: its retry policy, ``close`` and
    ``async with``. Errors leaving a client must not show :attr:`_secrets`."""

    retry: RetryPolicy
    """How failed calls are retried."""

    def __init__(self, retry: RetryPolicy | None) -> None:
        self.retry = retry or RetryPolicy()

    @property
    def _secrets(self) -> tuple[Secret | None, ...]:
        """The credentials a server may echo, redacted from every error this client raises."""
        raise NotImplementedError

    async def close(self) -> None:
        """Close the connection (calls after this open a new one)."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class PerLoop(Generic[_C]):
    """A connection that belongs to the event loop that opened it: a call on another loop
    (another ``asyncio.run``) opens its own, and the old one is let go.

    In a forked child the parent's connection is neither used nor closed (closing it would
    close it for the parent too): the child opens its own.
    """

    __slots__ = ("_drop", "_loop", "_open", "_pid", "value")

    def __init__(self, open_: Callable[[], _C], drop: Callable[[_C], object] | None = None) -> None:
        self._open = open_
        self._drop = drop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = os.getpid()
        self.value: _C | None = None

    def get(self) -> _C:
        """The running loop's connection, opened on first use."""
        loop = asyncio.get_running_loop()
        self._leave_parents()
        if self.value is not None and self._loop is not loop:
            old, self.value = self.value, None
            if self._drop is not None:
                with contextlib.suppress(RuntimeError):  # its loop may be closed already
                    self._drop(old)
        if self.value is None:
            self._loop = loop
            self.value = self._open()
        return self.value

    def take(self) -> _C | None:
        """The open connection, if any, for the caller to close; the next :meth:`get` opens one."""
        self._leave_parents()
        value, self.value = self.value, None
        return value

    def _leave_parents(self) -> None:
        """In a forked child, forget the parent's connection (kept, so never collected)."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            if self.value is not None:
                _INHERITED.append(self.value)
                self.value = None


_INHERITED: list[object] = []
"""Connections a forked child got from its parent: never used, closed or collected there."""


class Cursors(Generic[_V]):
    """The last stream position seen per run id, for the newest :data:`MAX_CURSORS` runs."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: OrderedDict[str, _V] = OrderedDict()

    def get(self, run_id: str) -> _V | None:
        """What was remembered for ``run_id``, if anything."""
        return self._seen.get(run_id)

    def put(self, run_id: str, value: _V) -> None:
        """Remember ``value`` for ``run_id`` (the oldest run is forgotten past the limit)."""
        self._seen[run_id] = value
        self._seen.move_to_end(run_id)
        while len(self._seen) > MAX_CURSORS:
            self._seen.popitem(last=False)


def left(deadline: Deadline, what: str) -> float:
    """Seconds left for one attempt of ``what`` (``"<provider> <call>"``); a passed deadline is
    a timeout, not a zero-length call."""
    remaining = deadline.remaining()
    if remaining <= 0:
        raise RunTimeoutError(f"{what}: deadline exceeded")
    return remaining


def start_index(events_start_idx: int) -> int:
    """``events_start_idx`` checked: an int, not a bool, at least 0."""
    if isinstance(events_start_idx, bool) or not isinstance(events_start_idx, int):
        raise InvalidArgumentError("events_start_idx must be an int")
    if events_start_idx < 0:
        raise InvalidArgumentError(f"events_start_idx must be >= 0, got {events_start_idx}")
    return events_start_idx


def run_id_of(run: Run | RunStreamEvent | str) -> str:
    """The id of a run given as a :class:`Run`, a stream event carrying one, or an id."""
    if isinstance(run, Run):
        return run.id
    if isinstance(run, RunStreamEvent):
        if run.run is None:
            raise InvalidArgumentError("this stream event carries no run; pass the run or its id")
        return run.run.id
    if isinstance(run, str) and run:
        return run
    raise InvalidArgumentError(f"expected a Run or a run id, got {type(run).__name__}")
