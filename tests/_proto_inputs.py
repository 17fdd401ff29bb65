"""Edge-case protobuf wire inputs built from a message's descriptor, and the upb judge.

Used by the differential tests that hold the generated codecs and the strict wire walk to
Google's upb (``google.protobuf`` 7): for every input, upb, the fast codec and the walk accept or
reject alike, and for every accepted input upb reads our re-encoding as it reads the input
(unknown fields included, compared in upb's deterministic serialisation).

:func:`cases` enumerates the inputs systematically (field numbers 0, 2^29 - 1 and 2^29, tags
and length prefixes in 1 to 11 bytes, lengths past 2 GiB, 10- and 11-byte varints, every wire
type for unknown and known numbers, groups, invalid UTF-8, wrappers and map entries holding
unknown fields, sub-messages seen again and again, nesting at the depth limit); :func:`soup`
draws random ones with hypothesis.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError as GoogleDecodeError
from hypothesis import strategies as st

from runbind._core.errors import FieldError
from runbind.yandex import _wire

__all__ = ["Verdict", "cases", "judge", "key", "ld", "soup", "varint"]

T = FieldDescriptor
Descriptor = Any  # protobuf's stubs type descriptors loosely; these come from a full pool

MAX_DEPTH = _wire.MAX_DEPTH

_VARINT_TYPES = {
    T.TYPE_INT32,
    T.TYPE_INT64,
    T.TYPE_UINT32,
    T.TYPE_UINT64,
    T.TYPE_SINT32,
    T.TYPE_SINT64,
    T.TYPE_BOOL,
    T.TYPE_ENUM,
}
_FIXED64_TYPES = {T.TYPE_FIXED64, T.TYPE_SFIXED64, T.TYPE_DOUBLE}
_FIXED32_TYPES = {T.TYPE_FIXED32, T.TYPE_SFIXED32, T.TYPE_FLOAT}
WRAPPERS = {
    f"google.protobuf.{n}Value"
    for n in ("Bool", "Int32", "Int64", "UInt32", "UInt64", "Float", "Double", "String", "Bytes")
}
BAD_UTF8 = {
    "0xff": b"\xff",
    "cut sequence": b"ok\xc3",
    "overlong NUL": b"\xc0\x80",
    "surrogate": b"\xed\xa0\x80",
    "past U+10FFFF": b"\xf4\x90\x80\x80",
    "lone continuation": b"a\x80b",
}


# --------------------------------------------------------------------------- encoding


def varint(value: int, width: int = 0) -> bytes:
    """``value`` as a varint (negative: 64-bit two's complement), padded to ``width`` bytes
    with continuation bytes (an overlong encoding) when ``width`` is larger."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 127:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    while len(out) < width:
        out[-1] |= 0x80
        out.append(0)
    return bytes(out)


def key(number: int, wire: int, width: int = 0) -> bytes:
    return varint(number << 3 | wire, width)


def ld(number: int, payload: bytes, width: int = 0) -> bytes:
    return key(number, 2) + varint(len(payload), width) + payload


def group(number: int, payload: bytes = b"") -> bytes:
    return key(number, 3) + payload + key(number, 4)


def wire_of(f: Any) -> int:
    """The wire type a field is written with (unpacked)."""
    if f.type in _VARINT_TYPES:
        return 0
    if f.type in _FIXED64_TYPES:
        return 1
    if f.type in _FIXED32_TYPES:
        return 5
    if f.type == T.TYPE_GROUP:
        return 3
    return 2


def payload_for(wire: int, number: int = 0) -> bytes:
    """A well-formed payload of ``wire`` (a group's content and its end tag for 3)."""
    return {
        0: b"\x01",
        1: b"\x00" * 8,
        2: b"\x01x",
        3: key(1, 0) + b"\x07" + key(number, 4),
        4: b"",
        5: b"\x00" * 4,
        6: b"\x00",
        7: b"\x00",
    }[wire]


def is_map(f: Any) -> bool:
    return f.message_type is not None and f.message_type.GetOptions().map_entry


def _unknown_number(desc: Descriptor) -> int:
    used = {f.number for f in desc.fields}
    return next(n for n in (15, 99, 1000, 5000) if n not in used)


def valid_field(f: Any, depth: int = 0) -> bytes:
    """One small, valid occurrence of ``f`` (a map field: one entry)."""
    n = f.number
    if is_map(f):
        k, v = f.message_type.fields_by_name["key"], f.message_type.fields_by_name["value"]
        return ld(n, valid_field(k, depth + 1) + valid_field(v, depth + 1))
    wire = wire_of(f)
    if wire != 2:
        return key(n, wire) + payload_for(wire)
    if f.type == T.TYPE_STRING:
        return ld(n, "ü".encode())
    if f.type == T.TYPE_BYTES:
        return ld(n, b"\xff\x00")
    return ld(n, b"")  # an empty sub-message


# --------------------------------------------------------------------------- the cases


def _groups(u: int, levels: int) -> bytes:
    return key(u, 3) * levels + key(u, 4) * levels


def _local_cases(desc: Descriptor, depth: int) -> Iterator[tuple[str, bytes]]:
    """Inputs for one message ``depth`` levels below the top (the top is depth 0)."""
    u = _unknown_number(desc)
    yield "empty", b""
    # field numbers
    for wire in (0, 1, 2, 5, 3):
        yield f"field number 0, wire {wire}", key(0, wire) + payload_for(wire)
    yield "field number 2^29 - 1", key(2**29 - 1, 0) + b"\x01"
    yield "field number 2^29 - 1 as a group", group(2**29 - 1)
    for number in (2**29, 2**31, 2**32 - 1):
        yield f"field number {number}", key(number, 0) + b"\x01"
    yield "5-byte tag over 32 bits", b"\xf8\xff\xff\xff\x10\x01"
    # tags and length prefixes of 1 to 11 bytes
    for width in range(1, 12):
        yield f"unknown tag in {width} bytes", key(u, 0, width) + b"\x01"
        yield f"unknown length in {width} bytes", key(u, 2) + varint(1, width) + b"x"
        yield f"end of group in {width} bytes", key(u, 3) + key(u, 4, width)
    for size in (2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63, 2**64 - 1):
        yield f"unknown length {size}", key(u, 2) + varint(size) + b"x"
    # varints
    yield "10-byte varint", key(u, 0) + b"\xff" * 9 + b"\x01"
    yield "10-byte varint past 64 bits", key(u, 0) + b"\xff" * 9 + b"\x7f"
    yield "11-byte varint", key(u, 0) + b"\xff" * 10 + b"\x01"
    yield "cut varint", key(u, 0) + b"\xff" * 3
    # every wire type for an unknown number, and cut payloads
    for wire in range(8):
        yield f"unknown wire {wire}", key(u, wire) + payload_for(wire, u)
    yield "cut fixed64", key(u, 1) + b"\x00" * 7
    yield "cut fixed32", key(u, 5) + b"\x00" * 3
    yield "cut length", key(u, 2) + b"\x05abc"
    # groups
    yield "empty group", group(u)
    yield (
        "group of everything",
        group(
            u, key(1, 0) + b"\x01" + ld(2, b"x") + key(3, 1) + b"\x00" * 8 + group(4, key(5, 5) * 1)
        ),
    )
    yield "group of a fixed32", group(u, key(5, 5) + b"\x00" * 4)
    yield "group ended by another number", key(u, 3) + key(u + 1, 4)
    yield "group without its end", key(u, 3) + key(1, 0) + b"\x01"
    yield "end of group without its start", key(u, 4)
    yield "group holding field number 0", group(u, key(0, 0) + b"\x01")
    yield "group holding wire type 7", group(u, key(1, 7))
    yield "group in a group, ends swapped", key(u, 3) + key(u + 1, 3) + key(u, 4) + key(u + 1, 4)
    yield "groups to the depth limit", _groups(u, MAX_DEPTH - depth)
    yield "groups one past the depth limit", _groups(u, MAX_DEPTH - depth + 1)
    # known fields: every wire type
    for f in desc.fields:
        right = wire_of(f)
        for wire in range(6):
            what = "right" if wire == right else "wrong"
            yield (
                f"{f.name} with wire {wire} ({what})",
                key(f.number, wire) + payload_for(wire, f.number),
            )
        yield f"{f.name} valid", valid_field(f, depth)
        yield (
            f"{f.name} in an overlong tag",
            key(f.number, right, 5) + valid_field(f)[len(key(f.number, right)) :],
        )
        if right == 2:
            body = valid_field(f)[len(key(f.number, 2)) :]
            length, rest = body[0], body[1:]
            yield f"{f.name} in an overlong length", key(f.number, 2) + varint(length, 5) + rest
            yield f"{f.name} in a 6-byte length", key(f.number, 2) + varint(length, 6) + rest
            yield f"{f.name} cut", key(f.number, 2) + varint(len(rest) + 1) + rest
        if f.type == T.TYPE_STRING and not is_map(f):
            for name, bad in BAD_UTF8.items():
                yield f"{f.name} with invalid UTF-8 ({name})", ld(f.number, bad)
        if f.type in _VARINT_TYPES and not f.is_repeated:
            yield f"{f.name} 10-byte varint", key(f.number, 0) + b"\xff" * 9 + b"\x7f"
            yield f"{f.name} 11-byte varint", key(f.number, 0) + b"\xff" * 10 + b"\x01"
        if f.is_repeated and right in (0, 1, 5):
            yield f"{f.name} packed", ld(f.number, payload_for(right) * 3)
            yield f"{f.name} packed and cut", ld(f.number, payload_for(right) * 2 + b"\x80")
        if f.message_type is not None and not is_map(f):
            yield (
                f"{f.name} three times, an unknown field in each",
                (ld(f.number, key(u, 0) + b"\x01") * 3),
            )
        if is_map(f):
            yield from _map_cases(f, u, depth)
        if f.message_type is not None and f.message_type.full_name in WRAPPERS:
            yield from _wrapper_cases(f, u)


def _map_cases(f: Any, u: int, depth: int) -> Iterator[tuple[str, bytes]]:
    k, v = f.message_type.fields_by_name["key"], f.message_type.fields_by_name["value"]
    n = f.number
    good_k, good_v = valid_field(k), valid_field(v)
    odd_v = key(2, 0 if wire_of(v) != 0 else 2) + payload_for(0 if wire_of(v) != 0 else 2)
    yield f"{f.name} entry without a key", ld(n, good_v)
    yield f"{f.name} entry without a value", ld(n, good_k)
    yield f"{f.name} empty entry", ld(n, b"")
    yield f"{f.name} entry value first", ld(n, good_v + good_k)
    yield f"{f.name} entry key twice", ld(n, good_k + good_v + good_k)
    yield f"{f.name} entry with an unknown field", ld(n, good_k + good_v + key(3, 0) + b"\x05")
    yield f"{f.name} entry with an unknown field first", ld(n, key(3, 0) + b"\x05" + good_k)
    yield f"{f.name} entry with a group", ld(n, good_k + group(3) + good_v)
    yield (
        f"{f.name} entry with a key of another wire type",
        ld(n, key(1, 5 if wire_of(k) != 5 else 0) + b"\x00" * 4 + good_v),
    )
    yield f"{f.name} entry with a value of another wire type", ld(n, good_k + odd_v)
    yield f"{f.name} entry with field number 0", ld(n, good_k + key(0, 0) + b"\x01")
    yield f"{f.name} entry with wire type 7", ld(n, good_k + key(3, 7))
    yield (
        f"{f.name} same key, then an odd entry",
        ld(n, good_k + good_v) + ld(n, good_k + key(3, 0) + b"\x01"),
    )
    yield (
        f"{f.name} odd entry with groups to the depth limit",
        ld(n, good_k + _groups(3, MAX_DEPTH - depth - 1)),
    )
    yield (
        f"{f.name} odd entry with groups past the depth limit",
        ld(n, good_k + _groups(3, MAX_DEPTH - depth)),
    )
    if k.type == T.TYPE_STRING:
        yield f"{f.name} entry with an invalid UTF-8 key", ld(n, ld(1, b"\xff") + good_v)
        yield (
            f"{f.name} odd entry with an invalid UTF-8 key",
            ld(n, ld(1, b"\xff") + key(3, 0) + b"\x01"),
        )
    if v.type == T.TYPE_STRING:
        yield f"{f.name} entry with an invalid UTF-8 value", ld(n, good_k + ld(2, b"\xc3"))
    if v.message_type is not None:
        yield (
            f"{f.name} entry value holding an unknown field",
            ld(n, good_k + ld(2, key(u, 0) + b"\x01")),
        )
        yield f"{f.name} entry value twice", ld(n, good_k + ld(2, key(u, 0) + b"\x01") * 2)


def _wrapper_cases(f: Any, u: int) -> Iterator[tuple[str, bytes]]:
    inner = f.message_type.fields_by_name["value"]
    good = valid_field(inner)
    n = f.number
    yield f"{f.name} wrapper with an unknown field", ld(n, good + key(u, 0) + b"\x01")
    yield f"{f.name} wrapper with only an unknown field", ld(n, ld(u, b"zz"))
    yield f"{f.name} wrapper with a group", ld(n, group(u) + good)
    yield (
        f"{f.name} wrapper value of another wire type",
        ld(n, key(1, 5 if wire_of(inner) != 5 else 0) + b"\x00" * 4),
    )
    yield (
        f"{f.name} wrapper twice, unknown fields in both",
        ld(n, good + key(u, 0) + b"\x01") + ld(n, key(u, 2) + b"\x00" + good),
    )
    yield f"{f.name} wrapper, then its value again", ld(n, key(u, 0) + b"\x02") + ld(n, good)
    yield f"{f.name} wrapper with field number 0", ld(n, key(0, 0) + b"\x01")


def cases(desc: Descriptor, levels: int = 2) -> Iterator[tuple[str, bytes]]:
    """Every edge case of ``desc`` at the top, and of its sub-messages ``levels`` deep (each
    inside a valid prefix and before a valid suffix, so that what surrounds it is parsed too)."""
    prefix = b"".join(
        valid_field(f) for f in desc.fields if f.message_type is None and not f.is_repeated
    )[:40]
    yield from _with_context(_local_cases(desc, 0), prefix)
    yield from _nested(desc, levels, 1, lambda data: data, "")


def _with_context(items: Iterator[tuple[str, bytes]], prefix: bytes) -> Iterator[tuple[str, bytes]]:
    for name, data in items:
        yield name, data
        if data and prefix:
            yield f"{name} (after fields)", prefix + data


def _nested(
    desc: Descriptor, levels: int, depth: int, wrap: Callable[[bytes], bytes], path: str
) -> Iterator[tuple[str, bytes]]:
    if levels == 0:
        return
    for f in desc.fields:
        sub, level = f.message_type, depth
        if sub is None or sub.full_name in WRAPPERS:
            continue
        head = b""
        if is_map(f):  # the cases go in an entry's value (the entry is one level itself)
            head = valid_field(sub.fields_by_name["key"])
            sub = sub.fields_by_name["value"].message_type
            if sub is None:
                continue
            level += 1

        def inner(data: bytes, f: Any = f, head: bytes = head) -> bytes:
            return wrap(ld(f.number, head + ld(2, data) if head else data))

        where = f"{path}{f.name}."
        for name, data in _local_cases(sub, level):
            yield where + name, inner(data)
        yield from _nested(sub, levels - 1, level + 1, inner, where)


# --------------------------------------------------------------------------- random inputs


@st.composite
def soup(draw: st.DrawFn, desc: Descriptor, depth: int = 0) -> bytes:
    """A random sequence of fields for ``desc``: known ones with their own or another wire
    type, unknown ones of every wire type, groups, edge tags and lengths, nested messages built
    the same way, and now and then a cut or an extra byte."""
    u = _unknown_number(desc)
    parts: list[bytes] = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["known", "known", "wrong", "unknown", "group", "edge"]))
        fields = list(desc.fields)
        if kind in ("known", "wrong") and fields:
            f = draw(st.sampled_from(fields))
            if kind == "wrong":
                wire = draw(st.sampled_from([w for w in range(6) if w != wire_of(f)]))
                parts.append(key(f.number, wire) + payload_for(wire, f.number))
            elif f.message_type is not None and depth < 3:  # a sub-message or a map entry
                parts.append(ld(f.number, draw(soup(f.message_type, depth + 1))))
            elif f.type == T.TYPE_STRING:
                text = draw(st.sampled_from([b"", b"ok", "ü".encode(), *BAD_UTF8.values()]))
                parts.append(ld(f.number, text))
            else:
                parts.append(valid_field(f))
        elif kind == "unknown":
            number = draw(st.sampled_from([u, 1, 2, 3, 0, 2**29 - 1, 2**29]))
            wire = draw(st.integers(0, 7))
            parts.append(key(number, wire, draw(st.integers(0, 6))) + payload_for(wire, number))
        elif kind == "group":
            inner = draw(soup(desc, depth + 1)) if depth < 3 else b""
            parts.append(key(u, 3) + inner + key(draw(st.sampled_from([u, u, u + 1])), 4))
        else:
            width = draw(st.integers(1, 11))
            value = draw(st.sampled_from([0, 1, 127, 2**31 - 1, 2**31, 2**63, 2**64 - 1]))
            parts.append(key(u, draw(st.sampled_from([0, 2]))) + varint(value, width))
    data = b"".join(parts)
    edit = draw(st.sampled_from(["none", "none", "none", "cut", "byte"]))
    if edit == "cut" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif edit == "byte":
        data += bytes([draw(st.integers(0, 255))])
    return data


# --------------------------------------------------------------------------- the judge


@dataclass(frozen=True)
class Verdict:
    """What upb, the fast codec and the wire walk made of one input."""

    upb: bool
    fast: bool
    walk: bool


def _canon(message: Any) -> bytes:
    return bytes(message.SerializeToString(deterministic=True))


def judge(google_cls: Any, ours_cls: Any, data: bytes) -> Verdict:
    """Decode ``data`` with upb, the fast codec and the walk; they must agree on acceptance, and
    on an accepted input upb must read our re-encoding as it reads the input."""
    try:
        expected = _canon(google_cls.FromString(data))
    except GoogleDecodeError:
        expected = None
    try:
        ours = ours_cls.parse(data)
    except ValueError:
        ours = None
    try:
        _wire.check(ours_cls, data)
        walk = True
    except FieldError:
        walk = False
    verdict = Verdict(expected is not None, ours is not None, walk)
    assert verdict.upb == verdict.fast == verdict.walk, (verdict, data.hex())
    if ours is not None:
        again = _canon(google_cls.FromString(bytes(ours)))
        assert again == expected, (data.hex(), bytes(ours).hex())
    return verdict
