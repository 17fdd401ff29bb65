"""Servers' wait hints (``Retry-After``, ``retry-after-ms``, ``openai-poll-after-ms``) read as
seconds. Apart from :mod:`.retry` because ``email.utils`` costs ``import runbind`` 9 ms."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_tz

__all__ = ["hint_seconds"]

_MAX_HINT = 60.0  # seconds: a server's retry or poll hint is capped at this


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
