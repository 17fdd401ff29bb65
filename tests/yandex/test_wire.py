"""The strict wire check accepts every well-formed encoding and names the field of every bad one."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import betterproto2
import pytest
from runbind_generated.proto.google.protobuf import (
    FieldOptions,
    FieldOptionsOptionTargetType,
    FileDescriptorProto,
    ListValue,
    Struct,
    Value,
)
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import (
    CompletionOptions,
    FunctionCall,
    SearchIndexTool,
)
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import Run, RunState
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.searchindex import (
    MeanCombinationStrategy,
)

from runbind._core.errors import FieldError
from runbind.yandex import _wire
from runbind.yandex._wire import check


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _tag(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _ld(number: int, payload: bytes) -> bytes:
    """A length-delimited field."""
    return _tag(number, 2) + _varint(len(payload)) + payload


def _wire_error(cls: Any, data: bytes) -> FieldError:
    with pytest.raises(FieldError) as info:
        check(cls, data)
    err = info.value
    assert str(err) == f"{err.path}: {err.reason}"
    return err


# --------------------------------------------------------------------------- repeated scalars

# FileDescriptorProto.public_dependency: repeated int32, field 10
UNPACKED_INTS = _tag(10, 0) + _varint(1) + _tag(10, 0) + _varint(300)
PACKED_INTS = _ld(10, _varint(1) + _varint(300))


@pytest.mark.parametrize(
    "data",
    [UNPACKED_INTS, PACKED_INTS, PACKED_INTS + UNPACKED_INTS, _ld(10, b"")],
    ids=["unpacked", "packed", "mixed", "empty-packed"],
)
def test_repeated_varints_packed_or_not(data: bytes) -> None:
    check(FileDescriptorProto, data)
    expected = {UNPACKED_INTS: [1, 300], PACKED_INTS: [1, 300], _ld(10, b""): []}
    got = FileDescriptorProto.parse(data).public_dependency
    assert got == expected.get(data, [1, 300, 1, 300])


def test_what_betterproto2_writes_passes() -> None:
    message = FileDescriptorProto(public_dependency=[1, 300, -1, 2**31 - 1])
    check(FileDescriptorProto, bytes(message))
    weights = MeanCombinationStrategy(weights=[0.5, 0.25, 0.25])
    check(MeanCombinationStrategy, bytes(weights))
    targets = FieldOptions(
        targets=[FieldOptionsOptionTargetType(1), FieldOptionsOptionTargetType(9)]
    )
    check(FieldOptions, bytes(targets))


def test_packed_varints_truncated_inside() -> None:
    err = _wire_error(FileDescriptorProto, _ld(10, _varint(1) + b"\x80"))
    assert err.path == "public_dependency"  # a packed record: no element index
    assert err.reason == "truncated varint"


def test_repeated_enum_packed_or_not() -> None:
    # FieldOptions.targets: repeated enum, field 19
    unpacked = _tag(19, 0) + b"\x01" + _tag(19, 0) + b"\x09"
    packed = _ld(19, b"\x01\x09")
    for data in (unpacked, packed):
        check(FieldOptions, data)
        assert [int(t) for t in FieldOptions.parse(data).targets] == [1, 9]


# MeanCombinationStrategy.weights: repeated double, field 2
DOUBLES = struct.pack("<dd", 0.5, 0.25)


@pytest.mark.parametrize(
    "data",
    [_ld(2, DOUBLES), _tag(2, 1) + DOUBLES[:8] + _tag(2, 1) + DOUBLES[8:]],
    ids=["packed", "unpacked"],
)
def test_repeated_doubles_packed_or_not(data: bytes) -> None:
    check(MeanCombinationStrategy, data)
    assert MeanCombinationStrategy.parse(data).weights == [0.5, 0.25]


def test_packed_doubles_of_a_bad_size() -> None:
    err = _wire_error(MeanCombinationStrategy, _ld(2, DOUBLES[:15]))
    assert err.path == "weights"  # a packed record: no element index
    assert err.reason == "packed double data of 15 bytes"


def test_unpacked_double_truncated() -> None:
    err = _wire_error(MeanCombinationStrategy, _tag(2, 1) + DOUBLES[:8] + _tag(2, 1) + b"\x00")
    # a value that cannot even be skipped is reported at the field, without the element index
    assert err.path == "weights[1]"
    assert err.reason == "truncated fixed64 value"


@dataclass(eq=False, repr=False)
class Tiny(betterproto2.Message):
    """A message with a repeated fixed32, which no generated message has."""

    numbers: list[int] = betterproto2.field(1, betterproto2.TYPE_FIXED32, repeated=True)  # noqa: RUF009
    flag: bool = betterproto2.field(2, betterproto2.TYPE_BOOL)


def test_a_tiny_message_with_packed_fixed32() -> None:
    data = bytes(Tiny(numbers=[1, 2**32 - 1], flag=True))
    check(Tiny, data)
    check(Tiny, _tag(1, 5) + b"\x01\x00\x00\x00" + _tag(1, 5) + b"\xff" * 4)
    assert _wire_error(Tiny, _ld(1, b"\x01\x00\x00")).reason == "packed fixed32 data of 3 bytes"
    # A packed encoding of a field that is not repeated is, as upb reads it, an unknown field.
    check(Tiny, _ld(2, b"\x01"))
    err = _wire_error(Tiny, _tag(2, 2) + b"\x05")
    assert (err.path, err.reason) == ("flag", "length 5 exceeds the 0 bytes left")


def test_repeated_strings_are_never_packed() -> None:
    # SearchIndexTool.search_index_ids: repeated string, field 1
    ok = _ld(1, b"fvtq7w3e5r7t9y1u3i5o") + _ld(1, b"fvt2")
    check(SearchIndexTool, ok)
    assert SearchIndexTool.parse(ok).search_index_ids == ["fvtq7w3e5r7t9y1u3i5o", "fvt2"]
    err = _wire_error(SearchIndexTool, ok + _ld(1, b"\xc3"))
    assert err.path == "search_index_ids[2]"
    assert err.reason == "invalid UTF-8 at byte 0"
    # A varint where a string belongs is kept as an unknown field, as upb keeps it.
    check(SearchIndexTool, ok + _tag(1, 0) + b"\x01")
    parsed = SearchIndexTool.parse(ok + _tag(1, 0) + b"\x01")
    assert parsed.search_index_ids == ["fvtq7w3e5r7t9y1u3i5o", "fvt2"]
    assert parsed._unknown_fields == _tag(1, 0) + b"\x01"
    err = _wire_error(SearchIndexTool, ok + _tag(1, 0) + b"\x81")
    assert (err.path, err.reason) == ("search_index_ids", "truncated varint")


# --------------------------------------------------------------------------- maps


def _entry(key: bytes, value: bytes) -> bytes:
    return _ld(6, _ld(1, key) + _ld(2, value))  # Run.labels entry


def test_map_entries_pass() -> None:
    data = _entry(b"env", b"prod") + _entry("команда".encode(), b"") + _ld(6, b"")
    check(Run, data)
    assert Run.parse(data).labels == {"env": "prod", "команда": "", "": ""}
    # an unknown field inside the entry is skipped, the value order does not matter
    check(Run, _ld(6, _ld(2, b"v") + _tag(3, 0) + b"\x07" + _ld(1, b"k")))


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (_entry(b"\xff", b"v"), "labels[0].key"),
        (_entry(b"env", b"prod") + _entry(b"team", b"s\xe2\x82"), "labels[1].value"),
    ],
    ids=["key", "value"],
)
def test_map_entry_with_bad_utf8(data: bytes, path: str) -> None:
    err = _wire_error(Run, data)
    assert "labels" in err.path
    assert err.path == path
    assert err.reason.startswith("invalid UTF-8")


def test_map_entry_errors() -> None:
    # A key of another wire type is an unknown field of the entry: like upb, the codecs keep the
    # whole entry as an unknown field of the message, not in the map.
    odd = _ld(6, _tag(1, 0) + b"\x01")
    check(Run, odd)
    assert Run.parse(odd).labels == {}
    assert Run.parse(odd)._unknown_fields == odd
    err = _wire_error(Run, _ld(6, _tag(1, 0) + b"\x81"))
    assert (err.path, err.reason) == ("labels[0]", "truncated varint")
    err = _wire_error(Run, _ld(6, b"\x00\x01"))
    assert (err.path, err.reason) == ("labels[0]", "map entry field number 0")
    err = _wire_error(Run, _ld(6, _tag(1, 2) + _varint(9) + b"k"))
    assert err.path == "labels[0]"
    assert err.reason.startswith("length 9 exceeds")


def test_map_with_message_values() -> None:
    # Struct.fields: map<string, Value>; Value.string_value is field 3
    good = _ld(1, _ld(1, b"city") + _ld(2, _ld(3, b"Paris")))
    check(Struct, good)
    assert Struct.parse(good).to_dict() == {"city": "Paris"}
    bad = good + _ld(1, _ld(1, b"x") + _ld(2, _ld(3, b"\xff")))
    err = _wire_error(Struct, bad)
    assert err.path == "fields[1].value.string_value"


# --------------------------------------------------------------------------- nesting


def _nested_value(levels: int) -> bytes:
    """A ``google.protobuf.Value`` exactly ``levels`` messages deep (Value/ListValue alternate)."""
    data = _ld(3, b"leaf")  # the innermost message: Value.string_value
    for level in range(1, levels):
        # wrap a Value in ListValue.values (field 1), a ListValue in Value.list_value (field 6)
        data = _ld(1, data) if level % 2 else _ld(6, data)
    return data


def _outer_is_value(levels: int) -> bool:
    return levels % 2 == 1


def _nested_struct(levels: int) -> bytes:
    """A ``google.protobuf.Struct`` nesting Structs through ``fields`` ``levels`` times."""
    data = b""
    for _ in range(levels):
        data = _ld(1, _ld(1, b"k") + _ld(2, _ld(5, data)))  # fields[k] = Value(struct_value=...)
    return data


def test_value_chain_builder() -> None:
    for levels in (1, 2, 3, 10, 11):
        cls = Value if _outer_is_value(levels) else ListValue
        check(cls, _nested_value(levels))
        parsed: Any = cls.parse(_nested_value(levels))
        if cls is Value:
            assert parsed.to_dict() == _expected_json(levels)


def _expected_json(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels // 2):
        value = [value]
    return value


@pytest.mark.parametrize("levels", [_wire.MAX_DEPTH, _wire.MAX_DEPTH + 1])
def test_nesting_up_to_max_depth_passes(levels: int) -> None:
    """The top message and MAX_DEPTH levels below it, as upb counts."""
    cls = Value if _outer_is_value(levels) else ListValue
    check(cls, _nested_value(levels))


@pytest.mark.parametrize("levels", [_wire.MAX_DEPTH + 2, _wire.MAX_DEPTH + 3, 150, 1000])
def test_nesting_beyond_max_depth_fails(levels: int) -> None:
    cls = Value if _outer_is_value(levels) else ListValue
    err = _wire_error(cls, _nested_value(levels))
    assert err.reason == f"messages nested deeper than {_wire.MAX_DEPTH}"
    assert "nested" in str(err)
    # the path names the first message beyond the limit: one segment per level below the top
    assert len(err.path.split(".")) == _wire.MAX_DEPTH + 1


def _arguments(data: bytes) -> bytes:
    return _ld(1, b"get_time") + _ld(2, data)  # FunctionCall: name, arguments (Struct)


def test_struct_nesting_inside_function_call_arguments() -> None:
    # FunctionCall(1) > Struct(2) > fields entry(3) > Value(4) > Struct(5) ... 3 levels per Struct
    check(FunctionCall, _arguments(_nested_struct(30)))  # 91 messages deep
    parsed = FunctionCall.parse(_arguments(_nested_struct(3)))
    assert parsed.arguments is not None
    assert parsed.arguments.to_dict() == {"k": {"k": {"k": {}}}}
    err = _wire_error(FunctionCall, _arguments(_nested_struct(150)))
    assert err.path.startswith("arguments.fields[0].value.struct_value.fields[0].value.")
    assert "nested deeper" in err.reason


@pytest.mark.parametrize(("levels", "ok"), [(50, True), (150, False)])
def test_value_nesting_inside_function_call_arguments(levels: int, ok: bool) -> None:
    # FunctionCall(1) > Struct(2) > fields entry(3) > Value chain of `levels` messages (odd)
    chain = _nested_value(levels + 1 - levels % 2)
    data = _arguments(_ld(1, _ld(1, b"deep") + _ld(2, chain)))
    if ok:
        check(FunctionCall, data)
        parsed = FunctionCall.parse(data)
        assert parsed.arguments is not None
        assert parsed.arguments.to_dict() == {"deep": _expected_json(levels + 1 - levels % 2)}
    else:
        err = _wire_error(FunctionCall, data)
        assert err.path.startswith("arguments.fields[0].value.list_value.values[0].")
        assert err.reason == f"messages nested deeper than {_wire.MAX_DEPTH}"


# --------------------------------------------------------------------------- field numbers, tags


def test_field_number_zero_is_rejected() -> None:
    err = _wire_error(Run, b"\x00\x01")
    assert (err.path, err.reason) == ("<0>", "field number 0")
    err = _wire_error(Run, _ld(1, b"fvt") + _ld(7, b"\x02\x00"))
    assert (err.path, err.reason) == ("state.<0>", "field number 0")


def test_truncated_tag() -> None:
    err = _wire_error(Run, b"\x80")
    assert (err.path, err.reason) == ("<tag>", "truncated tag")
    err = _wire_error(Run, _ld(7, b"\x80"))
    assert (err.path, err.reason) == ("state", "truncated tag")


def test_tags_are_at_most_5_bytes_and_32_bits_like_upb() -> None:
    highest = _tag(2**29 - 1, 0) + b"\x01"  # field number 2^29 - 1: 5 bytes, the largest
    check(Run, highest)
    assert Run.parse(highest)._unknown_fields == highest
    check(Run, b"\x8a\x80\x80\x80\x00\x00")  # field 1 (id) in an overlong 5-byte tag
    assert Run.parse(b"\x8a\x80\x80\x80\x00\x01x").id == "x"
    err = _wire_error(Run, _tag(2**29, 0) + b"\x01")
    assert (err.path, err.reason) == ("<tag>", "tag over 32 bits (field number past 2^29 - 1)")
    err = _wire_error(Run, b"\x8a\x80\x80\x80\x80\x00\x00")  # 6 bytes
    assert (err.path, err.reason) == ("<tag>", "tag longer than 5 bytes")


def test_length_prefixes_are_at_most_5_bytes_like_upb() -> None:
    check(Run, _tag(1, 2) + b"\x81\x80\x80\x80\x00x")  # 1, in an overlong 5-byte prefix
    assert Run.parse(_tag(1, 2) + b"\x81\x80\x80\x80\x00x").id == "x"
    err = _wire_error(Run, _tag(1, 2) + b"\x81\x80\x80\x80\x80\x00x")
    assert (err.path, err.reason) == ("id", "length longer than 5 bytes")
    err = _wire_error(Run, _tag(99, 2) + _varint(2**31) + b"x")
    assert err.path == "<99>"
    assert err.reason == "length 2147483648 exceeds the limit of 2^31 - 1 bytes"


def test_empty_input_is_an_empty_message() -> None:
    check(Run, b"")
    check(RunState, b"")


UNKNOWN_FIELDS = {
    0: _tag(99, 0) + _varint(2**63),
    1: _tag(100, 1) + b"\x01\x02\x03\x04\x05\x06\x07\x08",
    2: _ld(101, b"\xff not even UTF-8"),
    5: _tag(102, 5) + b"\x01\x02\x03\x04",
}


@pytest.mark.parametrize("wire", sorted(UNKNOWN_FIELDS))
def test_unknown_fields_of_every_valid_wire_type(wire: int) -> None:
    extra = UNKNOWN_FIELDS[wire]
    top = _ld(1, b"fvt3kq1l2m9c0ab4r7e1") + extra
    check(Run, top)
    assert bytes(Run.parse(top)) == top
    nested = _ld(1, b"fvt3kq1l2m9c0ab4r7e1") + _ld(7, _tag(1, 0) + b"\x04" + extra)
    check(Run, nested)
    assert bytes(Run.parse(nested)) == nested


def test_all_unknown_wire_types_together_and_a_known_field_number_reused() -> None:
    extra = b"".join(UNKNOWN_FIELDS.values())
    check(Run, extra + _ld(1, b"a") + extra + _ld(1, b"b"))  # a string set twice: last wins
    assert Run.parse(extra + _ld(1, b"a") + _ld(1, b"b")).id == "b"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (_tag(99, 0) + b"\xff", "truncated varint"),
        (_tag(99, 1) + b"\x00" * 7, "truncated fixed64 value"),
        (_tag(99, 5) + b"\x00" * 3, "truncated fixed32 value"),
        (_tag(99, 2) + _varint(4) + b"abc", "length 4 exceeds the 3 bytes left"),
        (_tag(99, 3), "group 99 without its end"),
        (_tag(99, 3) + _tag(98, 4), "end of group 98 inside group 99"),
        (_tag(99, 3) + _tag(1, 0), "truncated varint"),
        (_tag(99, 3) + _tag(1, 7), "invalid wire type 7"),
        (_tag(99, 4), "end of group 99 without its start"),
        (_tag(99, 6), "invalid wire type 6"),
        (_tag(99, 7), "invalid wire type 7"),
        (_tag(99, 0) + b"\xff" * 10 + b"\x01", "varint longer than 10 bytes"),
    ],
)
def test_malformed_unknown_fields(extra: bytes, reason: str) -> None:
    err = _wire_error(Run, _ld(1, b"fvt") + extra)
    assert (err.path, err.reason) == ("<99>", reason)


def test_wrong_wire_type_for_wrapper_and_message_fields() -> None:
    """Like upb, a field on the wire with a wire type that is not its own is an unknown field."""
    # CompletionOptions.temperature is a DoubleValue (field 3), its value field 1 is a double
    inside = _ld(3, _tag(1, 0) + b"\x01")
    check(CompletionOptions, inside)
    parsed = CompletionOptions.parse(inside)
    assert parsed.temperature == 0.0  # the wrapper is there, its value is not
    assert parsed._unknown_fields == inside  # the wrapper's unknown field, kept beside it
    check(CompletionOptions, _ld(3, _tag(1, 1) + struct.pack("<d", 0.3)))
    outside = _tag(3, 5) + b"\x00" * 4
    check(CompletionOptions, outside)
    assert CompletionOptions.parse(outside).temperature is None
    assert CompletionOptions.parse(outside)._unknown_fields == outside
    err = _wire_error(CompletionOptions, _tag(3, 5) + b"\x00" * 3)
    assert (err.path, err.reason) == ("temperature", "truncated fixed32 value")


def test_well_formed_unknown_groups_are_kept_like_upb() -> None:
    group = _tag(99, 3) + _tag(1, 0) + b"\x01" + _ld(2, b"x") + _tag(98, 3) + _tag(98, 4)
    group += _tag(99, 4)
    zero = _tag(99, 3) + b"\x00\x01" + _tag(99, 4)  # upb checks no field number in a group
    for data in (group, _ld(1, b"a") + group, _ld(7, group), _tag(1, 3) + _tag(1, 4), zero):
        check(Run, data)
        assert bytes(Run.parse(data)) == data


def test_groups_count_as_nesting_levels_like_upb() -> None:
    def groups(levels: int) -> bytes:
        return _tag(99, 3) * levels + _tag(99, 4) * levels

    check(Run, groups(_wire.MAX_DEPTH))
    err = _wire_error(Run, groups(_wire.MAX_DEPTH + 1))
    assert err.reason == f"messages nested deeper than {_wire.MAX_DEPTH}"
    check(Run, _ld(7, groups(_wire.MAX_DEPTH - 1)))  # one level less inside state
    assert _wire_error(Run, _ld(7, groups(_wire.MAX_DEPTH))).path == "state.<99>"


def test_ten_byte_varints_pass_eleven_do_not() -> None:
    check(Run, _ld(8, _tag(1, 0) + b"\xff" * 9 + b"\x01"))
    err = _wire_error(Run, _ld(8, _tag(1, 0) + b"\xff" * 10 + b"\x01"))
    assert (err.path, err.reason) == ("usage.prompt_tokens", "varint longer than 10 bytes")


def test_wire_error_attributes() -> None:
    err = FieldError("state.error.message", "invalid UTF-8 at byte 3")
    assert err.path == "state.error.message"
    assert err.reason == "invalid UTF-8 at byte 3"
    assert str(err) == "state.error.message: invalid UTF-8 at byte 3"
    assert isinstance(err, Exception)
