"""The generated fast codecs: installed on every message, equal to betterproto2 where it follows
protobuf, equal to Google's implementation where it does not, strict on malformed input.

The Google comparisons of test_proto_wire.py go through ``parse`` / ``bytes()`` and so cover the
fast codecs too; this module adds what is specific to them: plain-betterproto2 agreement,
merging, oneofs, packed forms, errors, and a differential fuzz against upb on mutated bytes.
"""

from __future__ import annotations

import importlib
import io
import math
import pkgutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import betterproto2
import pytest
from google.protobuf import descriptor_pb2
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from runbind_generated.proto import _codec_runtime
from runbind_generated.proto.google import protobuf as wkt
from runbind_generated.proto.yandex.cloud.ai import common
from runbind_generated.proto.yandex.cloud.ai.assistants import v1
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs, searchindex
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import threads as ythreads

from codegen import fastproto
from codegen.headers import HEADER_FIRST_LINE
from runbind._core.errors import FieldError
from runbind.yandex import _wire
from tests._proto_inputs import judge

from .test_proto_wire import (
    KEY_MESSAGES,
    Filler,
    MsgVal,
    Picker,
    World,
    canon,
    to_google,
    to_ours,
    variants,
    world,
)

__all__ = ["world"]  # the session fixture, shared with test_proto_wire

pytestmark = pytest.mark.filterwarnings("ignore:.* is deprecated:DeprecationWarning")

WireError = _codec_runtime.WireError


def plain_parse(cls: type[betterproto2.Message], data: bytes) -> Any:
    """betterproto2's own parser, bypassing the installed fast path."""
    return betterproto2.Message.load(cls(), io.BytesIO(data))


def plain_bytes(message: betterproto2.Message) -> bytes:
    """betterproto2's own encoder, bypassing the installed fast path."""
    return betterproto2.Message.__bytes__(message)


def _message_classes() -> Iterator[type[betterproto2.Message]]:
    root = importlib.import_module("runbind_generated.proto")
    for info in pkgutil.walk_packages(root.__path__, root.__name__ + "."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, betterproto2.Message)
                and obj.__module__ == module.__name__
            ):
                yield obj


ALL_CLASSES = sorted(set(_message_classes()), key=lambda c: f"{c.__module__}.{c.__name__}")


def _ld(number: int, payload: bytes) -> bytes:
    return _key(number, 2) + _varint(len(payload)) + payload


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _varint(value: int) -> bytes:
    out = bytearray()
    if value < 0:
        value += 1 << 64
    while value > 127:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


# --------------------------------------------------------------------------- installed


def test_every_generated_message_has_its_fast_codecs() -> None:
    assert len(ALL_CLASSES) > 150
    own_bytes = []
    for cls in ALL_CLASSES:
        assert "_fast_decode" in vars(cls), cls
        namespace: dict[str, Any] = dict(vars(cls))
        assert namespace["parse"].__func__.__module__ == _codec_runtime.__name__, cls
        assert namespace["FromString"].__func__ is namespace["parse"].__func__, cls
        assert "__bytes__" in vars(cls), cls
        if vars(cls)["__bytes__"].__module__ != _codec_runtime.__name__:
            own_bytes.append(cls.__name__)
    # The post-processed float wrappers keep their own encoder (it writes -0.0).
    assert sorted(own_bytes) == ["DoubleValue", "FloatValue"]


def test_the_runtime_is_codegen_runtime_codec_verbatim() -> None:
    """The generated copy is the linted, type-checked module, only under the generated header."""
    text = Path(_codec_runtime.__file__ or "").read_text(encoding="utf-8")
    header, blank, body = text.partition("\n\n")
    assert blank
    assert header.startswith(HEADER_FIRST_LINE)
    assert body == fastproto.runtime_source()


def test_a_subclass_keeps_betterproto2s_own_codecs() -> None:
    class MyRun(runs.Run):
        __module__ = runs.__name__  # betterproto2 resolves field types in the class's module

    data = bytes(runs.Run(id="r1", thread_id="t1"))
    parsed = MyRun.parse(data)
    assert type(parsed) is MyRun
    assert parsed.id == "r1"
    assert bytes(parsed) == data


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_bytes_like_input_is_accepted(kind: Any) -> None:
    data = bytes(runs.Run(id="r1"))
    assert runs.Run.parse(kind(data)) == runs.Run(id="r1")


def test_other_input_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="expected bytes, got str"):
        runs.Run.parse("not bytes")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- vs betterproto2


def _all_descriptors(world: World) -> list[Any]:
    seen = {d.full_name: d for ds in world.service_messages.values() for d in ds}
    return [seen[name] for name in sorted(seen)]


def test_fast_and_plain_betterproto2_agree_on_every_reachable_message(world: World) -> None:
    """Where betterproto2 follows protobuf (no duplicate fields, no -0.0) both give the same
    object from the same bytes and the same bytes from the same object."""
    checked = 0
    for desc in _all_descriptors(world):
        cls = world.ours_cls(desc)
        for mv in variants(world, desc, json_safe=False):
            if _has_negative_zero(mv):
                continue  # written by the fast encoder, skipped by betterproto2's: see below
            ours = to_ours(world, mv)
            data = plain_bytes(ours)
            assert bytes(ours) == data, desc.full_name
            fast, plain = cls.parse(data), plain_parse(cls, data)
            assert plain_bytes(fast) == plain_bytes(plain), desc.full_name
            assert bytes(fast) == data, desc.full_name
            checked += 1
    assert checked > 300


def _has_negative_zero(value: Any) -> bool:
    if isinstance(value, MsgVal):
        return _has_negative_zero(value.fields)
    if isinstance(value, dict):
        return any(_has_negative_zero(v) for v in (*value.keys(), *value.values()))
    if isinstance(value, list | tuple):
        return any(_has_negative_zero(v) for v in value)
    return isinstance(value, float) and value == 0 and math.copysign(1, value) < 0


# --------------------------------------------------------------------------- protobuf semantics


def _google(world: World, name: str) -> Any:
    return world.google_cls(world.pool.FindMessageTypeByName(name))


def _same_as_google(world: World, name: str, data: bytes, ours: betterproto2.Message) -> None:
    """Google reads ``data`` and our re-encoding of it as the same message."""
    gcls = _google(world, name)
    assert canon(gcls.FromString(bytes(ours))) == canon(gcls.FromString(data))


def test_a_sub_message_that_appears_twice_is_merged(world: World) -> None:
    first = bytes(runs.Run(usage=runs.ContentUsage(prompt_tokens=5, total_tokens=9)))
    second = bytes(runs.Run(usage=runs.ContentUsage(completion_tokens=3, total_tokens=11)))
    data = first + second
    run = runs.Run.parse(data)
    merged = runs.ContentUsage(prompt_tokens=5, completion_tokens=3, total_tokens=11)
    assert run.usage == merged
    _same_as_google(world, "yandex.cloud.ai.assistants.v1.runs.Run", data, run)
    # betterproto2 replaces it, losing prompt_tokens
    assert plain_parse(runs.Run, data).usage.prompt_tokens == 0


def test_repeated_and_map_fields_accumulate_across_occurrences(world: World) -> None:
    a = bytes(runs.Run(labels={"a": "1", "b": "2"}, tools=[v1.Tool()]))
    b = bytes(runs.Run(labels={"b": "3"}, tools=[v1.Tool()]))
    run = runs.Run.parse(a + b)
    assert run.labels == {"a": "1", "b": "3"}
    assert len(run.tools) == 2
    _same_as_google(world, "yandex.cloud.ai.assistants.v1.runs.Run", a + b, run)


@pytest.mark.parametrize("order", ["error-last", "message-last"])
def test_oneof_members_are_last_one_wins(world: World, order: str) -> None:
    message = bytes(runs.RunState(completed_message=ythreads.Message(id="m1")))
    error = bytes(runs.RunState(error=common.Error(code=13, message="boom")))
    data = message + error if order == "error-last" else error + message
    state = runs.RunState.parse(data)
    if order == "error-last":
        assert state.error == common.Error(code=13, message="boom")
        assert state.completed_message is None
    else:
        assert state.error is None
        assert state.completed_message == ythreads.Message(id="m1")
    _same_as_google(world, "yandex.cloud.ai.assistants.v1.runs.RunState", data, state)


def test_the_same_oneof_member_twice_is_merged(world: World) -> None:
    one = bytes(runs.RunState(completed_message=ythreads.Message(id="m1")))
    two = bytes(runs.RunState(completed_message=ythreads.Message(thread_id="t1")))
    state = runs.RunState.parse(one + two)
    assert state.completed_message == ythreads.Message(id="m1", thread_id="t1")
    _same_as_google(world, "yandex.cloud.ai.assistants.v1.runs.RunState", one + two, state)


def test_repeated_scalars_are_read_packed_and_unpacked() -> None:
    # descriptor.proto is proto2: Google writes these int32 lists unpacked, betterproto2 packs.
    google = descriptor_pb2.FileDescriptorProto(public_dependency=[1, 2, 300], weak_dependency=[7])
    data = google.SerializeToString()
    assert data.count(_key(10, 0)) == 3  # unpacked
    ours = wkt.FileDescriptorProto.parse(data)
    assert ours.public_dependency == [1, 2, 300]
    assert ours.weak_dependency == [7]
    packed = bytes(ours)
    assert packed.count(_key(10, 2)) == 1
    assert descriptor_pb2.FileDescriptorProto.FromString(packed) == google
    # both forms in one message, doubles too
    weights = _ld(2, struct.pack("<2d", 0.5, -1.0)) + _key(2, 1) + struct.pack("<d", 2.0)
    cls = _class_with_field(searchindex, "weights")
    assert cls.parse(weights).weights == [0.5, -1.0, 2.0]


def _class_with_field(module: Any, name: str) -> Any:
    for obj in vars(module).values():
        if isinstance(obj, type) and issubclass(obj, betterproto2.Message):
            found: Any = obj
            if name in found._betterproto.meta_by_field_name:
                return found
    raise AssertionError(name)


def test_int32_and_enum_varints_are_read_as_32_bits(world: World) -> None:
    # A 10-byte varint whose low 32 bits are 0xFFFFFFFE: -2 as int32 / enum, as upb reads it.
    data = _key(1, 0) + _varint((1 << 40) | 0xFFFFFFFE)
    state = runs.RunState.parse(data)
    assert int(state.status) == -2
    _same_as_google(world, "yandex.cloud.ai.assistants.v1.runs.RunState", data, state)


def test_a_map_entry_without_a_value_gets_the_default(world: World) -> None:
    data = _ld(1, _ld(1, b"k"))  # Struct.fields entry with key "k" and no value
    struct_ = wkt.Struct.parse(data)
    assert struct_.fields == {"k": wkt.Value()}
    assert plain_parse(wkt.Struct, data).fields == {"k": None}  # betterproto2
    _same_as_google(world, "google.protobuf.Struct", data, struct_)


def test_negative_zero_is_written_like_google() -> None:
    google = descriptor_pb2.UninterpretedOption(double_value=-0.0)
    ours = wkt.UninterpretedOption(double_value=-0.0)
    assert bytes(ours) == google.SerializeToString() != b""
    assert math.copysign(1, wkt.UninterpretedOption.parse(bytes(ours)).double_value) == -1
    assert plain_bytes(ours) == b""  # betterproto2 drops it as the default


def test_unknown_fields_are_kept_in_nested_messages(world: World) -> None:
    usage = bytes(runs.ContentUsage(total_tokens=3)) + _key(77, 0) + _varint(5)
    data = _ld(8, usage) + _ld(99, b"tail")
    run = runs.Run.parse(data)
    assert run.usage is not None
    assert run.usage._unknown_fields == _key(77, 0) + _varint(5)
    assert bytes(run) == data
    _same_as_google(world, "yandex.cloud.ai.assistants.v1.runs.Run", data, run)


# --------------------------------------------------------------------------- malformed input

VALID = bytes(
    runs.Run(
        id="run-1",
        labels={"k": "v"},
        state=runs.RunState(completed_message=ythreads.Message(id="m")),
        usage=runs.ContentUsage(total_tokens=300),
    )
)

BAD = {
    "truncated length": _key(1, 2) + b"\x05ab",
    "truncated varint": _key(8, 2) + b"\x02" + _key(3, 0) + b"\x80",
    "varint of 11 bytes": _key(8, 2) + b"\x0c" + _key(3, 0) + b"\x80" * 10 + b"\x01",
    "group without its end": _key(55, 3) + _key(56, 0) + b"\x01",
    "group ended by another number": _key(55, 3) + _key(56, 4),
    "end of group without its start": _key(55, 4),
    "field number 0": _key(0, 0) + b"\x01",
    "field number 2^29": _key(1 << 29, 0) + b"\x01",
    "tag of 6 bytes": b"\xf8\x80\x80\x80\x80\x00\x01",
    "length prefix of 6 bytes": _key(1, 2) + b"\x81\x80\x80\x80\x80\x00a",
    "wire type 7": _varint(5 << 3 | 7),
    "invalid UTF-8": _ld(1, b"\xff\xfe"),
    "truncated fixed": _ld(7, _key(1, 0) + b"\x01") + _key(200, 1) + b"\x00\x00",
}


@pytest.mark.parametrize("name", list(BAD))
def test_malformed_input_raises_wire_error_and_the_walk_agrees(name: str) -> None:
    data = BAD[name]
    with pytest.raises(WireError):
        runs.Run.parse(data)
    with pytest.raises(FieldError):
        _wire.check(runs.Run, data)


def test_packed_fixed_data_must_be_whole_values() -> None:
    cls = _class_with_field(searchindex, "weights")
    data = _ld(2, b"\x00" * 7)
    with pytest.raises(WireError, match="packed data of 7 bytes"):
        cls.parse(data)
    assert not _accepts_walk(cls, data)


def test_every_truncation_of_a_valid_message_is_rejected_by_both_or_neither() -> None:
    for cut in range(len(VALID)):
        data = VALID[:cut]
        walk = _accepts_walk(runs.Run, data)
        assert _accepts_fast(runs.Run, data) == walk, cut


def test_nesting_is_bounded() -> None:
    def nested(levels: int) -> bytes:
        value = b""
        for _ in range(levels):  # Value.list_value -> ListValue.values -> Value ...
            value = _ld(6, _ld(1, value))
        return value

    assert wkt.Value.parse(nested(49)) is not None
    with pytest.raises(WireError, match="nested deeper than 100"):
        wkt.Value.parse(nested(60))
    with pytest.raises(FieldError):
        _wire.check(wkt.Value, nested(60))


def _accepts_fast(cls: Any, data: bytes) -> bool:
    try:
        cls.parse(data)
    except WireError:
        return False
    return True


def _accepts_walk(cls: Any, data: bytes) -> bool:
    try:
        _wire.check(cls, data)
    except FieldError:
        return False
    return True


# --------------------------------------------------------------------------- differential fuzz

MUTATIONS = st.lists(
    st.tuples(st.sampled_from(["flip", "cut", "insert", "delete"]), st.integers(0, 1 << 16)),
    min_size=1,
    max_size=4,
)


def _mutate(data: bytes, steps: list[tuple[str, int]]) -> bytes:
    buf = bytearray(data)
    for how, where in steps:
        if not buf:
            buf.append(where & 0xFF)
            continue
        at = where % len(buf)
        if how == "flip":
            buf[at] ^= 1 << (where >> 8) % 8
        elif how == "cut":
            del buf[at:]
        elif how == "insert":
            buf.insert(at, (where >> 4) & 0xFF)
        else:
            del buf[at]
    return bytes(buf)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), which=st.sampled_from(KEY_MESSAGES), steps=MUTATIONS)
def test_differential_fuzz_against_upb(
    world: World, data: st.DataObject, which: str, steps: list[tuple[str, int]]
) -> None:
    """Random valid messages (built and written by Google), then mutated: upb, the fast decoder
    and the strict walk accept exactly the same inputs, and for every accepted input upb reads
    our re-encoding as it reads the input (the key messages are all proto3: no required fields)."""
    desc = world.pool.FindMessageTypeByName(which)
    mv = Filler(world.pool, json_safe=False, picker=Picker(0, data.draw)).message(desc)
    valid = canon(to_google(world, mv))
    cls = world.ours_cls(desc)
    for candidate in (valid, _mutate(valid, steps)):
        verdict = judge(world.google_cls(desc), cls, candidate)
        event("accepted" if verdict.fast else "rejected")
        if not verdict.fast:
            continue
        ours = cls.parse(candidate)
        again = cls.parse(bytes(ours))
        assert plain_bytes(again) == plain_bytes(ours)
