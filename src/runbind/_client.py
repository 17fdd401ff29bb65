"""What both Runs clients share: retried calls under one deadline, ``wait``, credentials."""

from __future__ import annotations

import asyncio
import os
import random
import re
import ssl
import warnings
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_tz
from typing import TypeVar

from ._errors import ApiError, InvalidArgumentError, RunTimeoutError
from ._retry import Deadline, RetryPolicy
from ._run import Run, RunResult, RunStreamEvent
from ._secrets import Secret, SecretHeaders, redact
from ._status import RunStatus

__all__ = [
    "DEFAULT_TIMEOUT",
    "Secret",
    "SecretHeaders",
    "Transient",
    "call",
    "from_env",
    "hint_seconds",
    "redact",
    "run_id_of",
    "tls_failure",
    "wait_for",
]

_T = TypeVar("_T")

DEFAULT_TIMEOUT = 60.0
"""Seconds every call may take in total (retries included) unless the caller says otherwise."""

_MAX_POLL = 5.0  # seconds between polls at most, unless the server asks for longer
_LAST_POLL = 0.05  # seconds kept for the last poll before the deadline
_MAX_HINT = 60.0  # seconds: a server's retry or poll hint is capped at this


def from_env(value: str | None, *names: str) -> Secret | None:
    """``value``, else the first set environment variable of ``names``, as a :class:`Secret`."""
    if value is None:
        value = next((os.environ[n] for n in names if os.environ.get(n)), None)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or any(c in value for c in "\r\n"):
        raise InvalidArgumentError("a credential must be a non-empty single-line string")
    return Secret(value.strip())


def tls_failure(exc: BaseException) -> tuple[str, bool] | None:
    """Why TLS failed and whether that is final, when ``exc`` or an error behind it is TLS's.

    A certificate that fails verification is final: no retry can fix it, and retrying would
    hide it behind "connection failed". Transports wrap the :class:`ssl.SSLError` (httpx
    twice), so the chain of causes is walked.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return f"TLS certificate verification failed: {current.verify_message}", True
        if isinstance(current, ssl.SSLError):
            return f"TLS failed ({current.reason or type(current).__name__})", False
        current = current.__cause__ or current.__context__
    return None


def hint_seconds(value: str | None, scale: float = 1.0) -> float | None:
    """Seconds a server's wait hint asks for: a number of ``1/scale`` seconds or an HTTP date.

    A hint that is neither (or not ASCII) is ignored; the result is clamped to 0-60 s so that a
    hostile server cannot park a caller. Never raises: a hint is advice, not a reason to fail.
    """
    if not value or not value.isascii():
        return None
    text = value.strip(" \t")  # the optional whitespace around an HTTP field value
    if _DECIMAL.fullmatch(text):
        seconds: float | None = float(text) / scale  # digits only: at worst inf, never nan
    else:
        seconds = _seconds_until(text)
    return None if seconds is None else min(max(seconds, 0.0), _MAX_HINT)


_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_MAX_ZONE = 24 * 3600  # seconds: a zone offset this far from UTC is no zone


def _seconds_until(text: str) -> float | None:
    """Seconds from now until the HTTP date ``text`` (RFC 9110: IMF-fixdate, RFC 850 or asctime,
    and what ``email.utils`` reads besides); ``None`` when it is no date.

    A date without a known zone (asctime, ``-0000``, a military letter) is UTC, as RFC 9110 and
    RFC 5322 read them; a field out of range (day 32, hour 25, year 10000, a zone of +9999)
    makes it no date.
    """
    try:
        parts = parsedate_tz(text)
    except (ValueError, TypeError, IndexError, OverflowError):  # pragma: no cover - defensive
        return None
    if parts is None:
        return None
    year, month, day, hour, minute, second = parts[:6]
    offset = parts[9] or 0  # None: "-0000", a military letter, an unknown zone or none: UTC
    leap = second == 60  # a leap second (RFC 9110 allows 60)
    if abs(offset) >= _MAX_ZONE:
        return None
    try:
        when = datetime(year, month, day, hour, minute, second - leap, tzinfo=UTC)
    except (ValueError, OverflowError):
        return None
    return (when - datetime.now(UTC)).total_seconds() + leap - offset


class Transient(Exception):
    """Internal: an attempt failed for a passing reason; ``error`` is raised if retries run out."""

    def __init__(self, error: ApiError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


async def call(
    attempt: Callable[[Deadline], Awaitable[_T]],
    deadline: Deadline,
    policy: RetryPolicy,
    *,
    retry: bool,
) -> _T:
    """``attempt(deadline)``, retried on :class:`Transient` while ``retry``, the policy and the
    deadline allow; the last transient error is raised as its :class:`ApiError`."""
    tries = 0
    while True:
        tries += 1
        try:
            return await attempt(deadline)
        except Transient as exc:
            if not retry or tries >= policy.attempts:
                raise exc.error from None
            if not await deadline.sleep(policy.backoff(tries, exc.retry_after)):
                raise exc.error from None


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


Poll = Callable[[Deadline], Awaitable[tuple[Run, float | None]]]


async def wait_for(
    poll: Poll,
    result: Callable[[Run, Deadline], Awaitable[RunResult]],
    *,
    timeout: float,
    poll_interval: float,
    secrets: tuple[Secret | None, ...] = (),
) -> RunResult:
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
    last: Run | None = None
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
