"""Retries under one overall deadline per call: the policy, the deadline and the retry loop."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from .errors import ApiError, InvalidArgumentError

__all__ = [
    "DEFAULT_TIMEOUT",
    "Deadline",
    "RetryPolicy",
    "Transient",
    "call",
    "log_retry",
]

_T = TypeVar("_T")

DEFAULT_TIMEOUT = 60.0
"""Seconds every call may take in total (retries included) unless the caller says otherwise."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a client retries a call that failed for a passing reason (UNAVAILABLE, 429, 5xx).

    ``attempts`` bounds the tries of one call (1 = no retry); waits grow from ``initial`` by
    ``multiplier`` up to ``maximum`` seconds, with equal jitter (each wait is drawn between half
    its step and the whole step, so retries spread out yet never come at once). A server's
    ``Retry-After`` is honoured when it fits in the call's deadline. Reads are retried;
    ``create``, ``submit_tool_results`` and ``cancel`` only when the caller passes an
    idempotency key, or when the server refused the request unprocessed (HTTP/2
    ``REFUSED_STREAM``, as a gRPC server over its stream limit answers).
    """

    attempts: int = 5
    initial: float = 0.2
    maximum: float = 5.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise InvalidArgumentError("RetryPolicy.attempts must be at least 1")
        if not 0 < self.initial <= self.maximum or self.multiplier < 1:
            raise InvalidArgumentError(
                "RetryPolicy needs 0 < initial <= maximum and multiplier >= 1"
            )

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before try ``attempt + 1`` (``attempt`` counts from 1)."""
        ceiling = min(self.maximum, self.initial * self.multiplier ** (attempt - 1))
        wait = random.uniform(ceiling / 2, ceiling)
        return max(wait, retry_after) if retry_after is not None else wait


class Deadline:
    """An absolute point in time on the monotonic clock, from a timeout in seconds."""

    __slots__ = ("at", "timeout")

    def __init__(self, timeout: float) -> None:
        if not isinstance(timeout, int | float) or not timeout > 0:
            raise InvalidArgumentError(
                f"timeout must be a positive number of seconds, got {timeout!r}"
            )
        self.timeout = timeout
        self.at = time.monotonic() + timeout

    def remaining(self) -> float:
        """Seconds left (0 when passed)."""
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return time.monotonic() >= self.at

    async def sleep(self, seconds: float) -> bool:
        """Sleep ``seconds`` if they fit before the deadline; False (and no sleep) if not."""
        import asyncio  # noqa: PLC0415 - only clients sleep; `import runbind` stays without it

        if seconds >= self.remaining():
            return False
        await asyncio.sleep(seconds)
        return True


class Transient(Exception):
    """Internal: an attempt failed for a passing reason; ``error`` is raised if retries run out.

    ``unprocessed`` says the server refused the request before acting on it (HTTP/2
    ``REFUSED_STREAM``), so even a call that is not idempotent may be sent again.
    """

    def __init__(
        self, error: ApiError, retry_after: float | None = None, *, unprocessed: bool = False
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after
        self.unprocessed = unprocessed


async def call(
    attempt: Callable[[Deadline], Awaitable[_T]],
    deadline: Deadline,
    policy: RetryPolicy,
    *,
    retry: bool,
    what: str = "call",
    log: logging.Logger | None = None,
) -> _T:
    """``attempt(deadline)``, retried on :class:`Transient` while ``retry`` (or the server did
    not process the attempt), the policy and the deadline allow; the last transient error is
    raised as its :class:`ApiError`.

    Each retry is logged at INFO on ``log`` (``what`` names the call: ``"openai get"``).
    """
    tries = 0
    while True:
        tries += 1
        try:
            return await attempt(deadline)
        except Transient as exc:
            if not (retry or exc.unprocessed) or tries >= policy.attempts:
                raise exc.error from None
            wait = policy.backoff(tries, exc.retry_after)
            if wait >= deadline.remaining():
                raise exc.error from None
            log_retry(log, what, exc.error, wait, tries, policy.attempts)
            if not await deadline.sleep(wait):
                raise exc.error from None


def log_retry(
    log: logging.Logger | None,
    what: str,
    error: ApiError,
    wait: float,
    attempt: int,
    attempts: int,
) -> None:
    """The INFO line of one retry: what failed (the call, its status and message), the wait
    and the attempt. The message was redacted when the error was made; the loggers of
    runbind redact live credentials again."""
    if log is None or not log.isEnabledFor(logging.INFO):
        return
    status = error.status_code if error.status_code is not None else error.grpc_status
    log.info(
        "runbind: %s failed (attempt %d of %d) with %s %s: %s; retrying in %.2f s",
        what,
        attempt,
        attempts,
        type(error).__name__,
        status if status is not None else error.code,
        error.message,
        wait,
    )
