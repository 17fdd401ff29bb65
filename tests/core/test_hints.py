"""``hint_seconds``: a server's wait hint is a clamped number of seconds or ignored, whatever the
text; it never raises (the clients call it on every 429, 503, UNAVAILABLE and poll answer)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from runbind._core.hints import hint_seconds
from tests._hints import ODD_HINTS
from tests.fuzz._fuzz import FUZZ

SCALES = (1.0, 1000.0)


def _fits(hint: float | None) -> bool:
    return hint is None or (0.0 <= hint <= 60.0 and not math.isnan(hint))


@pytest.mark.parametrize(("value", "capped"), ODD_HINTS, ids=[repr(v)[:40] for v, _ in ODD_HINTS])
@pytest.mark.parametrize("scale", SCALES)
def test_an_odd_hint_is_ignored_or_capped(value: str, capped: bool, scale: float) -> None:
    hint = hint_seconds(value, scale)
    if capped:
        assert hint == 60.0
    else:
        assert hint in (None, 0.0)


@FUZZ
@given(text=st.text())
@example("Mon, 01 Jan 2024 00:00:00 -0000")
@example("Sun Nov  6 08:49:37 1994")
@example("1e999")
@example("\u0663")
def test_any_text_is_a_clamped_hint_or_none(text: str) -> None:
    for scale in SCALES:
        assert _fits(hint_seconds(text, scale))


_DAYS = st.sampled_from(["Mon", "Sun", "Sunday", "Xyz", "", "Mon,"])
_MONTHS = st.sampled_from(["Jan", "nov", "Dec", "January", "Foo", "13"])
_ZONES = st.one_of(
    st.sampled_from(["GMT", "UTC", "UT", "Z", "A", "M", "Y", "EST", "PDT", "", "XYZ", "-0000"]),
    st.integers(-(10**30), 10**30).map(lambda n: f"{n:+05d}"),
)
_FIELD = st.integers(-5, 10**6)


@st.composite
def odd_dates(draw: st.DrawFn) -> str:
    """A date in one of HTTP's three forms (or RFC 5322's), with any field out of range."""
    day, month, zone = draw(_DAYS), draw(_MONTHS), draw(_ZONES)
    dd, yy = draw(_FIELD), draw(st.one_of(_FIELD, st.integers(0, 99)))
    hh, mm, ss = draw(_FIELD), draw(_FIELD), draw(_FIELD)
    time = f"{hh:02d}:{mm:02d}:{ss:02d}"
    form = draw(st.sampled_from(["imf", "rfc850", "asctime"]))
    if form == "imf":
        return f"{day}, {dd:02d} {month} {yy} {time} {zone}"
    if form == "rfc850":
        return f"{day}, {dd:02d}-{month}-{yy} {time} {zone}"
    return f"{day} {month} {dd:2d} {time} {yy}"


@FUZZ
@given(date=odd_dates())
def test_any_date_is_a_clamped_hint_or_none(date: str) -> None:
    for scale in SCALES:
        assert _fits(hint_seconds(date, scale))


_DAY = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _imf(when: datetime, zone: str = "GMT") -> str:
    """``when`` as an IMF-fixdate (with another zone than GMT if asked)."""
    day, month = _DAY[when.weekday()], _MONTH[when.month - 1]
    return f"{day}, {when.day:02d} {month} {when.year:04d} {when:%H:%M:%S} {zone}"


def _asctime(when: datetime) -> str:
    day, month = _DAY[when.weekday()], _MONTH[when.month - 1]
    return f"{day} {month} {when.day:2d} {when:%H:%M:%S} {when.year:04d}"


@FUZZ
@given(ahead=st.floats(-120, 120), zone=st.sampled_from(["GMT", "UTC", "Z", "+0000", "-0000"]))
def test_a_utc_date_is_the_seconds_until_it(ahead: float, zone: str) -> None:
    now = datetime.now(UTC)
    when = (now + timedelta(seconds=ahead)).replace(microsecond=0)
    expected = min(max((when - now).total_seconds(), 0.0), 60.0)
    for text in (_imf(when, zone), _asctime(when)):
        hint = hint_seconds(text)
        assert hint is not None, text
        assert abs(hint - expected) < 1.0, (text, hint, expected)


@FUZZ
@given(hours=st.integers(-23, 23), minutes=st.integers(0, 59), ahead=st.integers(5, 50))
def test_a_zone_offset_is_applied(hours: int, minutes: int, ahead: int) -> None:
    offset = timedelta(hours=hours, minutes=minutes if hours >= 0 else -minutes)
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=ahead)
    sign = "-" if offset < timedelta(0) else "+"
    zone = f"{sign}{abs(hours):02d}{minutes:02d}"
    hint = hint_seconds(_imf(when + offset, zone))
    assert hint is not None
    assert abs(hint - ahead) < 1.5, (zone, hint, ahead)


@FUZZ
@given(
    whole=st.integers(0, 10**30),
    fraction=st.one_of(st.none(), st.integers(0, 10**6)),
    pad=st.sampled_from(["", " ", "\t", "  \t "]),
)
def test_a_decimal_is_its_seconds_clamped(whole: int, fraction: int | None, pad: str) -> None:
    text = str(whole) if fraction is None else f"{whole}.{fraction}"
    for scale in SCALES:
        assert hint_seconds(f"{pad}{text}{pad}", scale) == min(float(text) / scale, 60.0)
