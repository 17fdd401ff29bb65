"""What every generated codec shares: varints, skipping unknown fields, errors, installing."""

import math
import struct
import threading
from collections.abc import Callable
from typing import Any

import betterproto2

MAX_DEPTH = 100
"""Deepest nesting below the top message (Google's protobuf, upb, uses the same default)."""

_PLAIN_PARSE = betterproto2.Message.parse.__func__  # type: ignore[attr-defined]
_PLAIN_BYTES = betterproto2.Message.__bytes__
_new = object.__new__

U_d = struct.Struct("<d").unpack_from
U_f = struct.Struct("<f").unpack_from
U_Q = struct.Struct("<Q").unpack_from
U_q = struct.Struct("<q").unpack_from
U_I = struct.Struct("<I").unpack_from
U_i = struct.Struct("<i").unpack_from
P_d = struct.Struct("<d").pack
P_f = struct.Struct("<f").pack
P_Q = struct.Struct("<Q").pack
P_q = struct.Struct("<q").pack
P_I = struct.Struct("<I").pack
P_i = struct.Struct("<i").pack
unpack_from = struct.unpack_from
pack = struct.pack
copysign = math.copysign

Decoder = Callable[[bytes, int, int, int, Any], Any]
"""A generated decoder: ``(buf, pos, end, depth, into)`` to the message (merged into ``into``)."""
Encoder = Callable[[Any], bytes | bytearray]
"""A generated encoder: a message to its wire bytes."""

MERGING = object()
"""A decoder's oneof state while it merges into an object: which member is set is not known."""


class WireError(ValueError):
    """The bytes are not a well-formed message of the type being parsed."""


def varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """The varint at ``pos`` (at most 10 bytes, before ``end``) and the position after it; bits
    past the 64th are kept here and cut by the caller, as upb cuts them."""
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise WireError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 128:
            return result, pos
        shift += 7
        if shift >= 70:
            raise WireError("varint longer than 10 bytes")


def tag(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """The tag at ``pos`` and the position after it: like upb, at most 5 bytes and 32 bits."""
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise WireError("truncated tag")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 128:
            if result > 0xFFFFFFFF:
                raise WireError("tag over 32 bits (field number past 2^29 - 1)")
            return result, pos
        shift += 7
        if shift >= 35:
            raise WireError("tag longer than 5 bytes")


def size(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """The length prefix at ``pos`` and the position after it: like upb, at most 5 bytes and
    2^31 - 1."""
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise WireError("truncated length")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 128:
            if result > 0x7FFFFFFF:
                raise WireError(f"length {result} exceeds the limit of 2^31 - 1 bytes")
            return result, pos
        shift += 7
        if shift >= 35:
            raise WireError("length longer than 5 bytes")


def skip(buf: bytes, pos: int, end: int, tag: int, depth: int) -> int:
    """The position after the value of an unknown field (a field this type does not have, or
    one on the wire with another wire type, which upb keeps as unknown too) in a message
    ``depth`` levels deep; field number 0 is an error."""
    if tag < 8:
        raise WireError("field number 0")
    return skip_value(buf, pos, end, tag, depth)


def skip_value(buf: bytes, pos: int, end: int, tag: int, depth: int) -> int:
    """As :func:`skip`, for any field number: upb checks none inside a group, nor in a message
    that has no fields. A stray end of group and wire types 6 and 7 are errors; a group is
    skipped to its end, each level of it counting as one of nesting."""
    number = tag >> 3
    wire = tag & 7
    if wire == 0:
        stop = pos + 10
        while pos < end:
            if buf[pos] < 128:
                return pos + 1
            pos += 1
            if pos == stop:
                raise WireError("varint longer than 10 bytes")
        raise WireError("truncated varint")
    if wire == 2:
        n, pos = size(buf, pos, end)
        pos += n
    elif wire == 1:
        pos += 8
    elif wire == 5:
        pos += 4
    elif wire == 3:
        return group(buf, pos, end, number, depth + 1)
    elif wire == 4:
        raise WireError(f"end of group {number} without its start")
    else:
        raise WireError(f"invalid wire type {wire}")
    if pos > end:
        raise WireError(f"field {number} runs past the end of its message")
    return pos


def group(buf: bytes, pos: int, end: int, number: int, depth: int) -> int:
    """The position after the end tag of the unknown group ``number`` whose fields start at
    ``pos``, ``depth`` levels deep."""
    if depth > MAX_DEPTH:
        raise too_deep()
    while pos < end:
        t = buf[pos]
        if t < 128:
            pos += 1
        else:
            t, pos = tag(buf, pos, end)
        if t & 7 == 4:
            if t >> 3 == number:
                return pos
            raise WireError(f"end of group {t >> 3} inside group {number}")
        pos = skip_value(buf, pos, end, t, depth)
    raise WireError(f"group {number} without its end")


_state = threading.local()
"""Per thread, the objects whose unknown fields grew in place during the running decode."""


def keep(u: bytearray | None, piece: bytes) -> bytearray:
    """``u`` (None or the unknown fields collected so far) with ``piece`` appended."""
    if u is None:
        return bytearray(piece)
    u += piece
    return u


def grow(obj: Any, more: bytes | bytearray) -> None:
    """Append ``more`` to the unknown fields of ``obj``, a message merged into (a singular
    sub-message seen again): in place in a bytearray, so that a field seen n times costs
    O(n), not O(n^2); :func:`run` makes them bytes again when the decode ends."""
    old = obj._unknown_fields
    if not old:
        obj._unknown_fields = bytes(more)
    elif type(old) is bytearray:
        old += more
    else:
        obj._unknown_fields = grown = bytearray(old)
        grown += more
        try:
            _state.grown.append(obj)
        except AttributeError:
            _state.grown = [obj]


def unset(obj: Any, was: Any, members: tuple[str, ...], keep: str) -> None:
    """Clear the oneof member ``was`` (every member but ``keep`` when merging): last one wins."""
    if was is MERGING:
        for name in members:
            if name != keep:
                setattr(obj, name, None)
    else:
        setattr(obj, was, None)


def too_long(number: int) -> WireError:
    """The error for a length-delimited field that overruns its message."""
    return WireError(f"field {number}: length exceeds the bytes left")


def overrun() -> WireError:
    """The error for a value that runs past the end of its message."""
    return WireError("a value runs past the end of its message")


def too_deep() -> WireError:
    """The error for nesting beyond MAX_DEPTH."""
    return WireError(f"messages nested deeper than {MAX_DEPTH}")


def bad_packed(number: int, size: int) -> WireError:
    """The error for packed fixed-size data that is not a whole number of values."""
    return WireError(f"field {number}: packed data of {size} bytes")


_SMALL = [bytes((i,)) for i in range(128)]


def varint_bytes(value: int) -> bytes:
    """``value`` as a varint (negative numbers as 64-bit two's complement)."""
    if 0 <= value < 128:
        return _SMALL[value]
    if value < 0:
        if value < -(1 << 63):
            raise ValueError(
                "Negative value is not representable as a 64-bit integer - unable to encode "
                "a varint within 10 bytes."
            )
        value += 1 << 64
    out = bytearray()
    while value > 127:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


class EnumTable(dict[int, Any]):
    """Enum members by number; a number the enum does not list becomes betterproto2's open
    ``UNKNOWN`` member of that value. Such a member takes about 280 bytes: one made for each
    one-byte varint of a packed list would be 280 bytes a byte, so those of 0 to 127 are kept
    once made (128 at most, so hostile input cannot grow the table); larger numbers take two
    bytes or more on the wire and are made each time."""

    __slots__ = ("enum",)

    def __init__(self, enum: Any) -> None:
        super().__init__((int(member), member) for member in enum)
        self.enum = enum

    def __missing__(self, number: int) -> Any:
        member = self.enum(number)
        if 0 <= number < 128:
            self[number] = member
        return member


_ERRORS = (IndexError, ValueError, struct.error, OverflowError, RecursionError)


def run(decode: Decoder, data: object) -> Any:
    """``decode`` applied to all of ``data``; any malformation is one WireError."""
    if type(data) is not bytes:
        if not isinstance(data, (bytearray, memoryview)):
            raise TypeError(f"expected bytes, got {type(data).__name__}")
        data = bytes(data)
    try:
        return decode(data, 0, len(data), 0, None)
    except WireError:
        raise
    except UnicodeDecodeError as exc:
        raise WireError(f"invalid UTF-8 at byte {exc.start} of a string") from None
    except _ERRORS as exc:
        raise WireError(f"malformed message ({type(exc).__name__}: {exc})") from None
    finally:
        grown = _state.__dict__.pop("grown", None)
        if grown is not None:
            for obj in grown:
                obj._unknown_fields = bytes(obj._unknown_fields)


def install(cls: Any, decode: Decoder, encode: Encoder | None) -> None:
    """Make ``decode`` / ``encode`` the ``parse``, ``FromString`` and ``__bytes__`` of ``cls``
    (subclasses keep betterproto2's own); ``encode`` None keeps the class's ``__bytes__``."""

    def parse(klass: Any, data: object) -> Any:
        if klass is not cls:
            return _PLAIN_PARSE(klass, data)
        return run(decode, data)

    parse.__doc__ = f"Parse binary protobuf into a {cls.__name__} (malformed input: WireError)."
    cls.parse = classmethod(parse)
    cls.FromString = classmethod(parse)
    cls._fast_decode = staticmethod(decode)
    if encode is not None:

        def to_bytes(self: Any) -> bytes:
            if type(self) is not cls:
                return _PLAIN_BYTES(self)
            return bytes(encode(self))

        to_bytes.__doc__ = f"The binary protobuf encoding of this {cls.__name__}."
        cls.__bytes__ = to_bytes
