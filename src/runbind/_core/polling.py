"""``wait``: polling a run until it finishes or asks for action, under one deadline."""

from __future__ import annotations

import asyncio
import random
import warnings
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .credentials import Secret, redact
from .errors import InvalidArgumentError, RunTimeoutError
from .retry import Deadline
from .run import Run, RunResult
from .status import RunStatus

__all__ = ["Poll", "wait_for"]

_MAX_POLL = 5.0  # seconds between polls at most, unless the server asks for longer
_LAST_POLL = 0.05  # seconds kept for the last poll before the deadline


_R = TypeVar("_R")
Poll = Callable[[Deadline], Awaitable[tuple[Run[_R], float | None]]]


async def wait_for(
    poll: Poll[_R],
    result: Callable[[Run[_R], Deadline], Awaitable[RunResult[_R]]],
    *,
    timeout: float,
    poll_interval: float,
    secrets: tuple[Secret | None, ...] = (),
) -> RunResult[_R]:
    """Poll until the run finishes or asks for action, under one overall deadline.

    ``poll`` returns the run and the server's poll hint in seconds (if any). Waits start at
    ``poll_interval``, grow by half up to 5 s (or the hint, when longer) and carry jitter. An
    unknown status is polled on, with one warning. At the deadline :class:`RunTimeoutError`
    carries the last run seen. The run's id and status come from the server: ``secrets`` are
    redacted from the messages that quote them.
    """
    if not poll_interval > 0:
        raise InvalidArgumentError(f"poll_interval must be positive, got {poll_interval!r}")
    deadline = Deadline(timeout)
    last: Run[_R] | None = None
    warned = False
    interval = poll_interval
    try:
        while True:
            run, hint = await poll(deadline)
            last = run
            if run.is_finished or run.requires_action:
                return await result(run, deadline)
            if run.status is RunStatus.UNKNOWN and not warned:
                warned = True
                warnings.warn(
                    redact(
                        f"run {run.id} has status {run.status_name}, which this version of "
                        "runbind does not know; polling on until it finishes or the deadline "
                        "passes",
                        *secrets,
                    ),
                    RuntimeWarning,
                    stacklevel=4,  # wait_for, wait, its guard, the caller
                )
            pause = max(interval, hint or 0.0) * random.uniform(0.8, 1.2)
            # A pause that overruns the deadline is cut short to leave room for one last poll.
            pause = min(pause, deadline.remaining() - _LAST_POLL)
            if pause < 0:
                break
            await asyncio.sleep(pause)
            interval = min(interval * 1.5, max(_MAX_POLL, poll_interval))
    except RunTimeoutError as exc:
        raise RunTimeoutError(str(exc), last) from None
    message = f"run {last.id} is still {last.status_name} after {timeout:g} s"
    raise RunTimeoutError(redact(message, *secrets), last)
