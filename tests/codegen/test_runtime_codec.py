"""codegen.runtime.codec, exercised directly: the helpers every generated codec calls.

The generated package holds a verbatim copy (``proto/_codec_runtime.py``); the suites under
``tests/generated`` drive it through real messages, these pin each helper's limits and messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import betterproto2
import pytest

from codegen import fastproto
from codegen.runtime import codec as rt

WireError = rt.WireError


def enc(value: int) -> bytes:
    """``value`` as a plain varint of any length (no 64-bit cut), for building inputs."""
    out = bytearray()
    while value > 127:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def tag(number: int, wire: int) -> bytes:
    return enc(number << 3 | wire)


def test_the_generator_uses_the_runtime_depth_and_text() -> None:
    assert rt.MAX_DEPTH == fastproto.MAX_DEPTH == 100
    with open(rt.__file__, encoding="utf-8") as handle:
        assert fastproto.runtime_source() == handle.read()


# --------------------------------------------------------------------------- varints


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**32, 2**63, 2**64 - 1])
def test_varint_reads_what_varint_bytes_writes(value: int) -> None:
    data = b"\xff" + rt.varint_bytes(value) + b"\xff"
    assert rt.varint(data, 1, len(data) - 1) == (value, len(data) - 1)


def test_varint_keeps_bits_past_the_64th_for_the_caller_to_cut() -> None:
    data = b"\xff" * 9 + b"\x7f"  # ten bytes: 70 bits of ones
    assert rt.varint(data, 0, len(data)) == (2**70 - 1, 10)


def test_varint_of_eleven_bytes_is_refused() -> None:
    data = b"\x80" * 10 + b"\x01"
    with pytest.raises(WireError, match=r"^varint longer than 10 bytes$"):
        rt.varint(data, 0, len(data))


@pytest.mark.parametrize("data", [b"", b"\x80", b"\xff\xff\xff"])
def test_varint_cut_short_is_refused(data: bytes) -> None:
    with pytest.raises(WireError, match=r"^truncated varint$"):
        rt.varint(data, 0, len(data))


def test_varint_stops_at_end_not_at_the_buffer() -> None:
    with pytest.raises(WireError, match="truncated varint"):
        rt.varint(b"\x80\x01", 0, 1)


def test_varint_bytes_of_negative_numbers_is_ten_bytes_of_twos_complement() -> None:
    assert rt.varint_bytes(-1) == b"\xff" * 9 + b"\x01"
    assert rt.varint_bytes(-(2**63)) == b"\x80" * 9 + b"\x01"
    with pytest.raises(ValueError, match="not representable as a 64-bit integer"):
        rt.varint_bytes(-(2**63) - 1)


def test_varint_bytes_of_small_values_are_shared_objects() -> None:
    assert rt.varint_bytes(5) is rt.varint_bytes(5) == b"\x05"
    assert rt.varint_bytes(300) == b"\xac\x02"


# --------------------------------------------------------------------------- tags and lengths


def test_tag_of_one_to_five_bytes() -> None:
    for number in (1, 15, 16, 2047, 2048, 2**29 - 1):
        data = tag(number, 2)
        assert rt.tag(data, 0, len(data)) == (number << 3 | 2, len(data))


def test_tag_of_five_bytes_up_to_32_bits_is_read_as_upb_does() -> None:
    data = enc(0xFFFFFFFF)
    assert len(data) == 5
    assert rt.tag(data, 0, 5) == (0xFFFFFFFF, 5)


def test_tag_over_32_bits_is_refused() -> None:
    data = enc(0x100000000)  # still five bytes, one bit too many
    assert len(data) == 5
    with pytest.raises(WireError, match=re.escape("tag over 32 bits (field number past 2^29 - 1)")):
        rt.tag(data, 0, 5)


def test_tag_of_six_bytes_is_refused_even_with_a_small_value() -> None:
    data = b"\x88\x80\x80\x80\x80\x00"  # field 1, wire 0, padded to six bytes
    with pytest.raises(WireError, match=r"^tag longer than 5 bytes$"):
        rt.tag(data, 0, len(data))


def test_tag_cut_short_is_refused() -> None:
    with pytest.raises(WireError, match=r"^truncated tag$"):
        rt.tag(b"\x88\x80", 0, 2)


def test_size_up_to_the_limit_of_2_31_minus_1() -> None:
    data = enc(2**31 - 1)
    assert rt.size(data, 0, len(data)) == (2**31 - 1, 5)
    data = enc(2**31)
    with pytest.raises(
        WireError, match=r"^length 2147483648 exceeds the limit of 2\^31 - 1 bytes$"
    ):
        rt.size(data, 0, len(data))


def test_size_of_six_bytes_or_cut_short_is_refused() -> None:
    data = b"\x81\x80\x80\x80\x80\x00"
    with pytest.raises(WireError, match=r"^length longer than 5 bytes$"):
        rt.size(data, 0, len(data))
    with pytest.raises(WireError, match=r"^truncated length$"):
        rt.size(b"\x81", 0, 1)


# ------------------------------------------------------------------ skipping unknown fields


@pytest.mark.parametrize(
    ("wire", "value"),
    [
        (0, enc(2**64 - 1)),
        (0, b"\x00"),
        (1, b"\x01" * 8),
        (5, b"\x01" * 4),
        (2, enc(3) + b"abc"),
        (2, enc(0)),
        (3, tag(1, 0) + b"\x05" + tag(2, 2) + b"\x01x" + tag(7, 4)),
    ],
)
def test_skip_moves_past_each_wire_type(wire: int, value: bytes) -> None:
    data = tag(7, wire) + value + b"tail"
    first, pos = rt.tag(data, 0, len(data))
    assert rt.skip(data, pos, len(data), first, 0) == len(data) - 4


def test_skip_refuses_field_number_zero_but_skip_value_lets_it_pass() -> None:
    data = b"\x00\x05"
    with pytest.raises(WireError, match=r"^field number 0$"):
        rt.skip(data, 1, 2, 0, 0)
    assert rt.skip_value(data, 1, 2, 0, 0) == 2


def test_skip_of_a_varint_longer_than_ten_bytes_or_cut_short() -> None:
    data = tag(1, 0) + b"\x80" * 10 + b"\x01"
    with pytest.raises(WireError, match=r"^varint longer than 10 bytes$"):
        rt.skip(data, 1, len(data), 8, 0)
    with pytest.raises(WireError, match=r"^truncated varint$"):
        rt.skip(b"\x08\x80\x80", 1, 3, 8, 0)


@pytest.mark.parametrize(("wire", "value"), [(1, b"\x00" * 7), (5, b"\x00" * 3), (2, b"\x05ab")])
def test_skip_past_the_end_names_the_field(wire: int, value: bytes) -> None:
    data = tag(9, wire) + value
    with pytest.raises(WireError, match=r"^field 9 runs past the end of its message$"):
        rt.skip(data, 1, len(data), 9 << 3 | wire, 0)


def test_skip_refuses_a_stray_end_of_group_and_wire_types_6_and_7() -> None:
    with pytest.raises(WireError, match=r"^end of group 4 without its start$"):
        rt.skip(b"", 0, 0, 4 << 3 | 4, 0)
    for wire in (6, 7):
        with pytest.raises(WireError, match=f"^invalid wire type {wire}$"):
            rt.skip(b"\x00", 0, 1, 4 << 3 | wire, 0)


def test_a_group_ends_at_its_own_end_tag_only() -> None:
    data = tag(1, 0) + b"\x01" + tag(2, 4)
    with pytest.raises(WireError, match=r"^end of group 2 inside group 5$"):
        rt.group(data, 0, len(data), 5, 1)
    data = tag(1, 0) + b"\x01"
    with pytest.raises(WireError, match=r"^group 5 without its end$"):
        rt.group(data, 0, len(data), 5, 1)


def test_group_tags_of_two_bytes_and_nested_groups_are_skipped() -> None:
    inner = tag(300, 3) + tag(1, 0) + b"\x01" + tag(300, 4)
    data = tag(20, 3) + inner + tag(20, 4) + tag(5, 4)
    assert rt.group(data, 0, len(data), 5, 1) == len(data)


def nested_groups(levels: int) -> bytes:
    return tag(1, 3) * levels + tag(1, 4) * levels


def test_groups_nested_to_the_limit_are_skipped_and_one_more_is_too_deep() -> None:
    ok = nested_groups(rt.MAX_DEPTH)
    assert rt.skip(ok, 1, len(ok), 1 << 3 | 3, 0) == len(ok)
    deep = nested_groups(rt.MAX_DEPTH + 1)
    with pytest.raises(WireError, match=f"^messages nested deeper than {rt.MAX_DEPTH}$"):
        rt.skip(deep, 1, len(deep), 1 << 3 | 3, 0)


def test_the_error_constructors_name_what_went_wrong() -> None:
    assert str(rt.too_long(12)) == "field 12: length exceeds the bytes left"
    assert str(rt.overrun()) == "a value runs past the end of its message"
    assert str(rt.too_deep()) == "messages nested deeper than 100"
    assert str(rt.bad_packed(3, 7)) == "field 3: packed data of 7 bytes"
    assert all(
        isinstance(e, WireError) and isinstance(e, ValueError)
        for e in (rt.too_long(1), rt.overrun(), rt.too_deep(), rt.bad_packed(1, 1))
    )


# --------------------------------------------------------------------------- unknown fields


class Holder:
    """Anything with ``_unknown_fields``, as :func:`grow` sees a message."""

    def __init__(self, unknown: bytes | bytearray) -> None:
        self._unknown_fields = unknown


def test_keep_starts_a_bytearray_then_appends_in_place() -> None:
    u = rt.keep(None, b"ab")
    assert isinstance(u, bytearray)
    assert rt.keep(u, b"cd") is u
    assert u == b"abcd"


def test_grow_appends_in_place_and_run_makes_bytes_again() -> None:
    empty, held, growing = Holder(b""), Holder(b"ab"), Holder(bytearray(b"xy"))

    def decode(buf: bytes, pos: int, end: int, depth: int, into: Any) -> list[Holder]:
        rt.grow(empty, b"1")
        for _ in range(3):
            rt.grow(held, b"cd")
        rt.grow(growing, b"z")
        assert type(empty._unknown_fields) is bytes
        assert type(held._unknown_fields) is bytearray  # grown in place, not rebuilt
        return [empty, held, growing]

    rt.run(decode, b"")
    assert empty._unknown_fields == b"1"
    assert held._unknown_fields == b"abcdcdcd"
    assert type(held._unknown_fields) is bytes
    assert growing._unknown_fields == b"xyz"  # already a bytearray: not registered by grow
    assert "grown" not in vars(rt._state)


def test_unset_clears_the_previous_member_or_all_others_when_merging() -> None:
    obj = Holder(b"")
    for name in ("a", "b", "c"):
        setattr(obj, name, 1)
    rt.unset(obj, "a", ("a", "b", "c"), "b")
    assert (vars(obj)["a"], vars(obj)["b"], vars(obj)["c"]) == (None, 1, 1)
    rt.unset(obj, rt.MERGING, ("a", "b", "c"), "c")
    assert (vars(obj)["a"], vars(obj)["b"], vars(obj)["c"]) == (None, None, 1)


# --------------------------------------------------------------------------- run, install, enums


def test_run_accepts_bytes_like_input_and_refuses_anything_else() -> None:
    seen: list[tuple[Any, ...]] = []

    def decode(buf: bytes, pos: int, end: int, depth: int, into: Any) -> str:
        seen.append((type(buf), buf, pos, end, depth, into))
        return "done"

    for data in (b"ab", bytearray(b"ab"), memoryview(b"ab")):
        assert rt.run(decode, data) == "done"
    assert seen == [(bytes, b"ab", 0, 2, 0, None)] * 3
    with pytest.raises(TypeError, match=r"^expected bytes, got str$"):
        rt.run(decode, "ab")


def _raising(exc: BaseException) -> rt.Decoder:
    def decode(buf: bytes, pos: int, end: int, depth: int, into: Any) -> Any:
        raise exc

    return decode


def test_run_turns_every_malformation_into_one_wire_error() -> None:
    original = WireError("as is")
    with pytest.raises(WireError) as caught:
        rt.run(_raising(original), b"")
    assert caught.value is original
    bad_utf8 = UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    with pytest.raises(WireError, match=r"^invalid UTF-8 at byte 0 of a string$"):
        rt.run(_raising(bad_utf8), b"")
    with pytest.raises(WireError, match=r"^malformed message \(IndexError: index out of range\)$"):
        rt.run(_raising(IndexError("index out of range")), b"")
    with pytest.raises(WireError, match=r"^malformed message \(RecursionError: deep\)$"):
        rt.run(_raising(RecursionError("deep")), b"")
    with pytest.raises(KeyError):  # a bug, not a malformation: not disguised
        rt.run(_raising(KeyError("x")), b"")


@dataclass(eq=False, repr=False)
class Point(betterproto2.Message):
    x: int = betterproto2.field(1, betterproto2.TYPE_INT32)


@dataclass(eq=False, repr=False)
class SubPoint(Point):
    pass


@dataclass(eq=False, repr=False)
class OwnBytes(betterproto2.Message):
    x: int = betterproto2.field(1, betterproto2.TYPE_INT32)

    def __bytes__(self) -> bytes:
        return b"own"


def _decoder(cls: type[Point] | type[OwnBytes]) -> rt.Decoder:
    """A hand-written decoder of ``cls`` (field 1, a varint), as the generator would write."""

    def decode(buf: bytes, pos: int, end: int, depth: int, into: Any) -> Any:
        obj = cls(x=0) if into is None else into
        while pos < end:
            t, pos = rt.tag(buf, pos, end)
            if t == 8:
                obj.x, pos = rt.varint(buf, pos, end)
            else:
                pos = rt.skip(buf, pos, end, t, depth)
        return obj

    return decode


def test_install_makes_parse_from_string_and_bytes_fast_for_the_class_only() -> None:
    plain_parse, plain_bytes = Point.__dict__.get("parse"), Point.__dict__.get("__bytes__")
    calls: list[str] = []

    def encode(point: Any) -> bytearray:
        calls.append("encode")
        return bytearray(b"\x08" + rt.varint_bytes(point.x))

    try:
        rt.install(Point, _decoder(Point), encode)
        assert Point.parse(b"\x08\x07").x == 7
        from_string: Any = Point.FromString  # typed for bytes; bytearray is accepted too
        assert from_string(bytearray(b"\x08\x09")).x == 9
        assert bytes(Point(x=5)) == b"\x08\x05"
        assert calls == ["encode"]
        assert (
            Point.parse.__doc__
            == "Parse binary protobuf into a Point (malformed input: WireError)."
        )
        assert Point.__bytes__.__doc__ == "The binary protobuf encoding of this Point."
        # A subclass keeps betterproto2's own paths.
        assert SubPoint.parse(b"\x08\x03").x == 3
        assert type(SubPoint.parse(b"")) is SubPoint
        assert bytes(SubPoint(x=3)) == b"\x08\x03"
        assert calls == ["encode"]
        with pytest.raises(WireError, match=r"^truncated varint$"):
            Point.parse(b"\x08")
    finally:
        for name, value in (("parse", plain_parse), ("__bytes__", plain_bytes)):
            if value is None:
                delattr(Point, name)
            else:
                setattr(Point, name, value)
        for name in ("FromString", "_fast_decode"):
            if name in Point.__dict__:
                delattr(Point, name)


def test_install_without_an_encoder_keeps_the_class_bytes() -> None:
    rt.install(OwnBytes, _decoder(OwnBytes), None)
    parsed = OwnBytes.parse(b"\x08\x02")
    assert type(parsed) is OwnBytes
    assert parsed.x == 2
    assert bytes(OwnBytes(x=1)) == b"own"


class Colour(betterproto2.Enum):
    RED = 0
    GREEN = 1


def test_enum_table_maps_numbers_to_members_and_keeps_small_unknown_ones() -> None:
    table = rt.EnumTable(Colour)
    assert table[0] is Colour.RED
    assert table[1] is Colour.GREEN
    five = table[5]
    assert int(five) == 5
    assert table[5] is five  # 0 to 127: made once
    big = table[300]
    assert int(big) == 300
    assert 300 not in table  # larger numbers: made each time, the table stays bounded
    assert table[-1] is not table[-1]
    assert len(table) == 3
