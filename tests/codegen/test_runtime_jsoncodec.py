"""codegen/runtime/jsoncodec.py: the scalar conversions of the generated proto3 JSON codecs,
against the ones in Google's ``json_format`` (what they write, accept and refuse).

The generated package holds a verbatim copy (``proto/_json_runtime.py``); the codecs that use it
are tested in ``test_fastjson.py`` and ``tests/generated/test_json_codecs.py``.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.internal import type_checkers
from hypothesis import given
from hypothesis import strategies as st

from codegen.fastjson import runtime_source
from codegen.runtime import jsoncodec as rt


def test_the_generated_copy_is_this_module() -> None:
    assert runtime_source() == Path(rt.__file__).read_text(encoding="utf-8")


@given(st.floats(width=32))
def test_floats_are_written_as_the_shortest_decimal_google_writes(value: float) -> None:
    got = rt.single(value)
    if math.isnan(value):
        assert got == "NaN"
    elif math.isinf(value):
        assert got == ("Infinity" if value > 0 else "-Infinity")
    else:
        assert got == type_checkers.ToShortestFloat(value)
        assert struct.unpack("<f", struct.pack("<f", got))[0] == value


def test_doubles_and_negative_zero() -> None:
    assert [rt.double(v) for v in (math.nan, math.inf, -math.inf, 1.5)] == [
        "NaN",
        "Infinity",
        "-Infinity",
        1.5,
    ]
    assert rt.negative_zero(-0.0)
    assert not rt.negative_zero(0.0)
    assert not rt.negative_zero(-1.0)


INTEGERS: list[Any] = [
    0,
    -7,
    "12",
    "-12",
    "1e3",
    "1.0",
    1.0,
    1.5,
    "1.5",
    " 1",
    "1_000",
    True,
    None,
    [],
    "x",
    "9" * 30,
]


def _google_integer(value: Any) -> Any:
    try:
        google: Any = json_format
        return google._ConvertInteger(value)
    except Exception:
        return "refused"


def _ours_integer(value: Any) -> Any:
    try:
        return rt.integer(value)
    except rt.JsonError:
        return "refused"


@pytest.mark.parametrize("value", INTEGERS, ids=repr)
def test_integers_are_read_as_google_reads_them(value: Any) -> None:
    assert _ours_integer(value) == _google_integer(value)


def test_integer_ranges() -> None:
    assert rt.int32(2**31 - 1) == 2**31 - 1
    assert rt.uint64(str(2**64 - 1)) == 2**64 - 1
    assert rt.int64("-9223372036854775808") == -(2**63)
    for call, bad in ((rt.int32, 2**31), (rt.uint32, -1), (rt.int64, 2**63), (rt.uint64, -1)):
        with pytest.raises(rt.JsonError, match="out of range"):
            call(bad)


FLOATS: list[Any] = [1, 1.5, "1.5", "NaN", "Infinity", "-Infinity", "nan", "inf", "x", True, None]


@pytest.mark.parametrize("value", FLOATS, ids=repr)
def test_doubles_are_read_as_google_reads_them(value: Any) -> None:
    fake: Any = type("F", (), {"cpp_type": FieldDescriptor.CPPTYPE_DOUBLE})()
    google: Any = json_format
    try:
        expected: Any = google._ConvertFloat(value, fake)
    except Exception:
        expected = "refused"
    try:
        got: Any = rt.float64(value)
    except rt.JsonError:
        got = "refused"
    if isinstance(expected, float) and math.isnan(expected):
        assert isinstance(got, float)
        assert math.isnan(got)
    else:
        assert got == expected
    with pytest.raises(rt.JsonError, match="too large"):
        rt.float32(1e39)


def test_bytes_strings_bools_and_keys() -> None:
    assert rt.b64(b"\xff\x00?") == "/wA/"
    for text in ("/wA/", "_wA_", "/wA/=="):
        assert rt.unbase64(text) == b"\xff\x00?"
    assert rt.unbase64("_wA") == b"\xff\x00"  # padding may be left out
    with pytest.raises(rt.JsonError):
        rt.unbase64(5)
    assert rt.text("snö") == "snö"
    with pytest.raises(rt.JsonError, match="surrogate"):
        rt.text("\ud800")
    with pytest.raises(rt.JsonError):
        rt.text(5)
    assert rt.boolean(True) is True
    with pytest.raises(rt.JsonError):
        rt.boolean(1)
    assert (rt.bool_key("true"), rt.bool_key("false")) == (True, False)
    with pytest.raises(rt.JsonError):
        rt.bool_key("True")


class _Stamp:
    def __init__(self, seconds: int, nanos: int) -> None:
        self.seconds, self.nanos = seconds, nanos


def test_timestamps_and_durations() -> None:
    assert rt.timestamp(_Stamp(0, 0)) == "1970-01-01T00:00:00Z"
    assert rt.timestamp(_Stamp(-1, 10_000_000)) == "1969-12-31T23:59:59.010Z"
    assert rt.timestamp(_Stamp(1, 1000)) == "1970-01-01T00:00:01.000001Z"
    with pytest.raises(rt.JsonError, match="out of range"):
        rt.timestamp(_Stamp(253402300800, 0))
    assert rt.duration(_Stamp(-1, -1)) == "-1.000000001s"
    assert rt.duration(_Stamp(0, -500_000_000)) == "-0.500s"
    with pytest.raises(rt.JsonError, match="different signs"):
        rt.duration(_Stamp(1, -1))
    ts = rt.timestamp_from(_Stamp, "2026-07-23T10:00:00.000000001+03:00")
    assert rt.timestamp(ts) == "2026-07-23T07:00:00.000000001Z"
    d = rt.duration_from(_Stamp, "-1.5s")
    assert (d.seconds, d.nanos) == (-1, -500_000_000)
    for bad in ("1.5", "2026-07-23", 5):
        with pytest.raises(rt.JsonError):
            rt.timestamp_from(_Stamp, bad)
        with pytest.raises(rt.JsonError):
            rt.duration_from(_Stamp, bad)


def test_unknown_enum_numbers_stay_numbers() -> None:
    names = rt.EnumNames({0: "ZERO", 1: "ONE"})
    assert (names[1], names[7]) == ("ONE", 7)
