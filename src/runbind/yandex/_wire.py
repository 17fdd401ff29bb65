"""A strict walk over protobuf wire bytes that names the field where the input goes wrong.

The generated fast codecs reject malformed bytes but say only what went wrong, not where;
betterproto2's own parser (used for classes without a fast codec) accepts some malformed input
silently (a length prefix longer than the data yields a short string; a bad wire type yields
``None`` fields) and fails on legal unknown groups with ``AttributeError``. :func:`decode` parses
with the fast codec and walks the bytes only when it fails, so that every malformation is one
:class:`~runbind.DecodeError` with a field path; the walk accepts exactly what the codecs accept,
which is what Google's upb accepts (tags of at most 5 bytes and 32 bits, length prefixes of at
most 5 bytes and 2^31 - 1, a known field with another wire type or a well-formed group kept as an
unknown field), and bounds the nesting depth so hostile input cannot exhaust the stack.
"""

from __future__ import annotations

from typing import Any, Final

from .._core.errors import FieldError

__all__ = ["MAX_DEPTH", "check", "decode"]

MAX_DEPTH: Final = 100
"""Deepest nesting below the top message, groups included (upb's default, which it counts so)."""

_VARINT_TYPES: Final = frozenset(
    {"int32", "int64", "uint32", "uint64", "sint32", "sint64", "bool", "enum"}
)
_FIXED64_TYPES: Final = frozenset({"fixed64", "sfixed64", "double"})
_FIXED32_TYPES: Final = frozenset({"fixed32", "sfixed32", "float"})
_PACKABLE: Final = _VARINT_TYPES | _FIXED64_TYPES | _FIXED32_TYPES


def check(cls: Any, data: bytes) -> None:
    """Raise a :class:`FieldError` naming the field unless ``data`` is a well-formed ``cls``
    message."""
    _message(cls, data, 0, len(data), "", 0)


def decode(cls: Any, data: bytes) -> Any:
    """``data`` parsed as ``cls``, strictly; malformed bytes raise a :class:`FieldError` naming
    the field.

    Generated classes parse with their generated fast codec, which rejects exactly what
    :func:`check` rejects; only on failure does the slower walk run, to name the field.
    """
    if "_fast_decode" not in vars(cls):  # not a generated class: walk first, then parse
        check(cls, data)
        return cls.parse(data)
    try:
        return cls.parse(data)
    except ValueError as exc:  # the codec's WireError (or an error it converted)
        check(cls, data)
        raise FieldError("", str(exc)) from None


def _varint(buf: bytes, pos: int, end: int, path: str) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise FieldError(path, "truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise FieldError(path, "varint longer than 10 bytes")


def _bounded(buf: bytes, pos: int, end: int, path: str, what: str) -> tuple[int, int]:
    """A tag or a length prefix (``what``): like upb, at most 5 bytes, a tag at most 32 bits and
    a length at most 2^31 - 1."""
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise FieldError(path, f"truncated {what}")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if what == "tag" and result > 0xFFFFFFFF:
                raise FieldError(path, "tag over 32 bits (field number past 2^29 - 1)")
            if what == "length" and result > 0x7FFFFFFF:
                raise FieldError(path, f"length {result} exceeds the limit of 2^31 - 1 bytes")
            return result, pos
        shift += 7
        if shift >= 35:
            raise FieldError(path, f"{what} longer than 5 bytes")


def _tag(buf: bytes, pos: int, end: int, path: str) -> tuple[int, int]:
    return _bounded(buf, pos, end, path, "tag")


def _value(buf: bytes, pos: int, end: int, tag: int, path: str, depth: int) -> tuple[int, int, int]:
    """Skip one value of ``tag``'s wire type in a message ``depth`` levels deep: (payload start,
    payload stop, next position). A group is skipped to its end tag."""
    wire = tag & 7
    if wire == 0:
        _, pos = _varint(buf, pos, end, path)
        return pos, pos, pos
    if wire in (1, 5):
        size = 8 if wire == 1 else 4
        if pos + size > end:
            raise FieldError(path, f"truncated fixed{size * 8} value")
        return pos + size, pos + size, pos + size
    if wire == 2:
        length, pos = _bounded(buf, pos, end, path, "length")
        if length > end - pos:
            raise FieldError(path, f"length {length} exceeds the {end - pos} bytes left")
        return pos, pos + length, pos + length
    if wire == 3:
        stop = _group(buf, pos, end, tag >> 3, path, depth + 1)
        return pos, stop, stop
    if wire == 4:
        raise FieldError(path, f"end of group {tag >> 3} without its start")
    raise FieldError(path, f"invalid wire type {wire}")


def _group(buf: bytes, pos: int, end: int, number: int, path: str, depth: int) -> int:
    """The position after the end tag of group ``number`` (an unknown field) from ``pos``."""
    if depth > MAX_DEPTH:
        raise FieldError(path, f"messages nested deeper than {MAX_DEPTH}")
    while pos < end:  # upb checks no field number here, 0 included
        tag, pos = _tag(buf, pos, end, path)
        if tag & 7 == 4:
            if tag >> 3 == number:
                return pos
            raise FieldError(path, f"end of group {tag >> 3} inside group {number}")
        _, _, pos = _value(buf, pos, end, tag, path, depth)
    raise FieldError(path, f"group {number} without its end")


def _wire_matches(fmeta: Any, wire: int) -> bool:
    """Whether a known field on the wire with ``wire`` is read as that field (else, as upb
    does, it is kept as an unknown field)."""
    kind: str = fmeta.proto_type
    if kind in _VARINT_TYPES:
        expected = 0
    elif kind in _FIXED64_TYPES:
        expected = 1
    elif kind in _FIXED32_TYPES:
        expected = 5
    else:
        expected = 2
    return wire == expected or (wire == 2 and bool(fmeta.repeated) and kind in _PACKABLE)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _message(cls: Any, buf: bytes, pos: int, end: int, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise FieldError(path, f"messages nested deeper than {MAX_DEPTH}")
    meta = cls._betterproto
    names: dict[int, str] = meta.field_name_by_number
    seen: dict[int, int] = {}
    while pos < end:
        key, pos = _tag(buf, pos, end, path or "<tag>")
        number, wire = key >> 3, key & 7
        name = names.get(number)
        fpath = _join(path, name or f"<{number}>")
        if number == 0 and names:  # upb skips a message without fields whole, unchecked
            raise FieldError(fpath, "field number 0")
        fmeta = None if name is None else meta.meta_by_field_name[name]
        if fmeta is not None and not _wire_matches(fmeta, wire):
            fmeta = None  # kept as an unknown field (its path still names the field)
        if fmeta is not None and (fmeta.repeated or fmeta.proto_type == "map"):
            packed = wire == 2 and fmeta.proto_type in _PACKABLE
            if not packed:  # a packed record holds many elements: no single index
                index = seen.get(number, 0)
                seen[number] = index + 1
                fpath = f"{fpath}[{index}]"
        start, stop, pos = _value(buf, pos, end, key, fpath, depth)
        if name is None or fmeta is None:
            continue  # an unknown field, well-formed: the codecs keep its bytes
        _field(meta, name, fmeta, wire, buf, start, stop, fpath, depth)


def _field(
    meta: Any,
    name: str,
    fmeta: Any,
    wire: int,
    buf: bytes,
    start: int,
    stop: int,
    path: str,
    depth: int,
) -> None:
    """Check the value of a known field read with its own wire type (or packed)."""
    kind: str = fmeta.proto_type
    if kind in _PACKABLE:
        if wire == 2:  # packed
            _packed(kind, buf, start, stop, path)
    elif kind == "string":
        try:
            buf[start:stop].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FieldError(path, f"invalid UTF-8 at byte {exc.start}") from None
    elif kind == "message":
        sub = fmeta.unwrap() if fmeta.unwrap is not None else meta.cls_by_field[name]
        _message(sub, buf, start, stop, path, depth + 1)
    elif kind == "map":
        _map_entry(meta, name, fmeta, buf, start, stop, path, depth + 1)


def _packed(kind: str, buf: bytes, start: int, stop: int, path: str) -> None:
    if kind in _VARINT_TYPES:
        pos = start
        while pos < stop:
            _, pos = _varint(buf, pos, stop, path)
        return
    size = 8 if kind in _FIXED64_TYPES else 4
    if (stop - start) % size:
        raise FieldError(path, f"packed {kind} data of {stop - start} bytes")


def _map_entry(
    meta: Any, name: str, fmeta: Any, buf: bytes, pos: int, end: int, path: str, depth: int
) -> None:
    """An entry is a message of its own: its key and value are checked, anything else is
    skipped (the codecs then keep the whole entry as an unknown field, as upb does)."""
    if depth > MAX_DEPTH:
        raise FieldError(path, f"messages nested deeper than {MAX_DEPTH}")
    key_meta, value_meta = fmeta.map_meta
    parts = {1: ("key", key_meta), 2: ("value", value_meta)}
    while pos < end:
        key, pos = _tag(buf, pos, end, path)
        number, wire = key >> 3, key & 7
        part = parts.get(number)
        if number == 0:
            raise FieldError(path, "map entry field number 0")
        if part is not None and not _wire_matches(part[1], wire):
            part = None
        start, stop, pos = _value(buf, pos, end, key, path, depth)
        if part is None:
            continue
        label, pmeta = part
        _field(meta, f"{name}.value", pmeta, wire, buf, start, stop, f"{path}.{label}", depth)
