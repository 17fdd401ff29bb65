"""What both Runs clients share: the retry policy and the async context, the connection each
event loop gets, the stream positions they remember, and the checks of common arguments."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
from collections import OrderedDict
from collections.abc import Callable
from types import TracebackType
from typing import Generic, Self, TypeVar

from .credentials import Secret
from .errors import InvalidArgumentError, RunTimeoutError
from .retry import DEFAULT_TIMEOUT, Deadline, RetryPolicy
from .run import Run, RunStreamEvent

__all__ = [
    "STREAM_IDLE_TIMEOUT",
    "ClientBase",
    "Cursors",
    "PerLoop",
    "call_timeout",
    "finite",
    "left",
    "run_id_of",
    "seconds",
    "start_index",
]

_C = TypeVar("_C")
_V = TypeVar("_V")

MAX_CURSORS = 1024
"""Runs whose last stream position a client remembers (the oldest are forgotten first)."""

STREAM_IDLE_TIMEOUT = 120.0
"""Seconds a stream may go without a sign of life from the server (an event, a chunk of one, a
poll's answer) before it fails: long enough for a model that thinks before it answers, short
enough that a dead connection is noticed within two minutes."""


class ClientBase:
    """The part of ``AsyncRuns`` both providers share: its retry policy, ``close`` and
    ``async with``. Errors leaving a client must not show :attr:`_secrets`."""

    retry: RetryPolicy
    """How failed calls are retried."""
    timeout: float
    """Seconds a call may take in total, retries included, when it does not say otherwise."""
    stream_idle_timeout: float | None
    """Seconds a stream may go without a sign of life from the server (None: no limit)."""

    def __init__(
        self,
        retry: RetryPolicy | None,
        timeout: float = DEFAULT_TIMEOUT,
        stream_idle_timeout: float | None = STREAM_IDLE_TIMEOUT,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.timeout = seconds(timeout, "timeout")
        self.stream_idle_timeout = (
            None
            if stream_idle_timeout is None
            else seconds(stream_idle_timeout, "stream_idle_timeout")
        )

    def _deadline(self, timeout: float | None) -> Deadline:
        """The deadline of one call: ``timeout`` seconds, or the client's :attr:`timeout`."""
        return Deadline(self.timeout if timeout is None else seconds(timeout, "timeout"))

    def _stream_deadline(self, timeout: float | None) -> Deadline:
        """The deadline of a whole stream: ``timeout`` seconds if the caller gave one, else
        none (the stream's idle timeout then bounds each wait)."""
        return Deadline(math.inf if timeout is None else seconds(timeout, "timeout"))

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


def call_timeout(deadline: Deadline, default: float) -> float:
    """Seconds one call inside a stream may take: what is left of the stream's deadline, or
    ``default`` (the client's timeout) when the stream has none."""
    remaining = deadline.remaining()
    return default if math.isinf(remaining) else max(remaining, 0.001)


def finite(seconds: float) -> float | None:
    """``seconds`` as grpclib, httpx and ``asyncio.timeout`` take a limit: None for none."""
    return None if math.isinf(seconds) else seconds


def seconds(value: float, name: str) -> float:
    """``value`` checked as a timeout: a positive number of seconds (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidArgumentError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


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
