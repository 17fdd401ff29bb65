"""Odd server wait hints (``retry-after``, ``retry-after-ms``, ``openai-poll-after-ms``) and what
a client must make of each: no wait beyond its own policy, or the 60 s cap.

Each value reads the same in seconds and in milliseconds (dates, or numbers far past 60 s), so
one table serves every header. ``NOW`` hints are ignored or lie in the past; ``CAPPED`` ones ask
for 60 s or more. Neither may raise.
"""

from __future__ import annotations

__all__ = ["ASCII_HINTS", "CAPPED", "NON_ASCII", "NOW", "ODD_HINTS"]

NOW: tuple[str, ...] = (
    # Dates in the past, in every form RFC 9110 asks recipients to read, and RFC 5322's zones.
    "Mon, 01 Jan 2024 00:00:00 -0000",  # "-0000": UTC with no local zone (was a TypeError)
    "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
    "Sunday, 06-Nov-94 08:49:37 GMT",  # RFC 850, two-digit year
    "Sun Nov  6 08:49:37 1994",  # asctime, no zone (was a TypeError)
    "Sun, 06 Nov 94 08:49:37 GMT",  # two-digit year
    "Sun, 06 Nov 1994 08:49:37 A",  # a military zone (was a TypeError)
    "Sun, 06 Nov 1994 08:49:37 EST",
    "Sun, 06 Nov 1994 08:49:37 +0100",
    "Friday, 31-Dec-99 23:59:59 GMT",  # RFC 850: a two-digit year 69-99 is 19xx (RFC 5322)
    "Sun, 06 Nov 1994 08:49:60 GMT",  # a leap second
    "Sat, 01 Jan 0001 00:00:00 +2359",  # the first day datetime has, east of UTC
    "Sat, 01 Jan 0001 00:00:00 -0000",
    # Out-of-range fields: no date.
    "Sun, 32 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 25:61:61 GMT",
    "Sun, 06 Nov 99999 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 +9999",
    "Sun, 06 Nov 1994 08:49:37 +99999999999999999999999",
    "Sun, 06 Xyz 1994 08:49:37 GMT",
    # Numbers that are no delay.
    "-5",
    "-1e999",
    "1e999",
    "inf",
    "-inf",
    "nan",
    "NaN",
    "Infinity",
    "1_0",
    "0x10",
    "5 s",
    # Whitespace and junk.
    " ",
    "   ",
    "--",
    "tomorrow",
)
"""Hints that ask for no wait: the caller's own backoff or poll interval applies."""

CAPPED: tuple[str, ...] = (
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Fri, 31 Dec 9999 23:59:59 -0000",  # was a TypeError
    "Fri, 31 Dec 9999 23:59:59 -2359",  # past datetime's last day in UTC
    "Fri Dec 31 23:59:59 9999",  # asctime (was a TypeError)
    "Tue, 01 Jan 2999 00:00:00 Z",
    "Tue, 01 Jan 2999 00:00:00 M",  # a military zone (was a TypeError)
    "99999999999999999999999999",
    "9" * 400,  # float('9' * 400) is inf
    "  3600000.5\t",  # whitespace around a number (an hour even in milliseconds)
    " 3600000 ",
)
"""Hints that ask for 60 s or more: the cap applies."""

NON_ASCII: tuple[str, ...] = ("\u0663", "5\u00a0", "Sun, 06 Nov 1994 08:49:37 GMT\u00e9")
"""Hints with characters outside ASCII (an Arabic-Indic 3, a no-break space): ignored."""

ODD_HINTS: tuple[tuple[str, bool], ...] = tuple(
    [(v, False) for v in (*NOW, *NON_ASCII)] + [(v, True) for v in CAPPED]
)
"""``(hint, capped)`` for every odd hint."""

ASCII_HINTS: tuple[tuple[str, bool], ...] = tuple(
    (v, capped) for v, capped in ODD_HINTS if v and all(" " <= c <= "~" for c in v)
)
"""The odd hints gRPC metadata can carry (printable ASCII; a tab is not)."""
