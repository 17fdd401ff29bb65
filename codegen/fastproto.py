"""Fast protobuf codecs, generated per message type from the betterproto2 output.

betterproto2 parses through one generic loop (a ``BytesIO``, a metadata lookup and a dataclass
constructor per field and object), which is 10-15x slower than Google's upb. For every
generated message this step writes a decoder and an encoder that are specialised to its fields:
tag dispatch unrolled into one ``if`` chain, one- and two-byte varints inline, objects made
with ``object.__new__`` and their attributes set in one fixed order instead of the dataclass
constructor (which keeps CPython's compact instance layout). They are installed as the class's
``parse`` / ``FromString`` / ``__bytes__``, so users get the same betterproto2 objects, only
faster.

Protobuf semantics are kept exactly (where betterproto2 0.10 differs, the codecs follow
protobuf, and the test suite compares with Google's upb, byte for byte):

- the input upb accepts is accepted and the input it rejects is rejected (truncation, field
  number 0, tags over 5 bytes or 32 bits, length prefixes over 5 bytes or 2^31 - 1, varints
  over 10 bytes, wire types 6 and 7, a group without its end or an end without its group,
  invalid UTF-8, nesting more than 100 levels below the top message, groups included) with
  ``WireError`` (a ``ValueError``) instead of yielding a wrong object;
- unknown fields are kept as raw bytes and re-encoded after the known ones, wherever upb keeps
  them: a known field number with another wire type, a well-formed group, a map entry holding an
  unknown field (kept whole, not put in the map), unknown fields inside a wrapper that
  betterproto2 unwraps (kept as one more occurrence of the wrapper field);
- scalars and oneof members are last-one-wins (setting a oneof member clears its siblings);
- a singular sub-message that appears twice is **merged** (betterproto2 replaced it);
- repeated scalars are accepted packed and unpacked;
- an ``int32`` / ``enum`` varint is read as 32 bits, two's complement (betterproto2 kept 64);
- a map entry without a value gets the value type's default (betterproto2 gave ``None``);
- ``-0.0`` in a float or double field is written (betterproto2 skipped it as the default).

Decoding is linear in the input: unknown fields in a row are copied once as one range, and a
message merged into again and again (a sub-message field seen n times) grows its unknown fields
in place, not by concatenation.

Encoders write fields in betterproto2's order and skip the same default values, so their bytes
equal betterproto2's (but for ``-0.0``). Classes whose ``__bytes__`` the post-processing
replaced (the float wrappers) keep it.

The step runs in a fresh interpreter that imports the just-built package (field metadata,
classes and enums come from betterproto2 itself), writes ``_codec.py`` next to each generated
module and ``_codec_runtime.py`` (a verbatim copy of :mod:`codegen.runtime.codec`, the helpers
the codecs call) at the package root, and appends one import line to each generated module so
that importing it installs its codecs.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen.errors import GenerationError
from codegen.headers import python_header
from codegen.patch import replace_once
from codegen.runtime import codec as runtime

RUNTIME_MODULE = "_codec_runtime"
"""The generated package's copy of :mod:`codegen.runtime.codec`, at ``proto/`` level."""
CODEC_MODULE = "_codec"
MAX_DEPTH = runtime.MAX_DEPTH
INSTALL_LINE = f"from . import {CODEC_MODULE} as {CODEC_MODULE}  # installs the fast paths"

_VARINT_KINDS = frozenset(
    {"int32", "int64", "uint32", "uint64", "sint32", "sint64", "bool", "enum"}
)
_FIXED_KINDS = {
    "double": ("d", 8),
    "float": ("f", 4),
    "fixed64": ("Q", 8),
    "sfixed64": ("q", 8),
    "fixed32": ("I", 4),
    "sfixed32": ("i", 4),
}
_M32 = "0xFFFFFFFF"
_M64 = "0xFFFFFFFFFFFFFFFF"
# How a multi-byte varint is brought into the kind's range (single bytes already are).
_MULTI_CONV = {
    "int32": f"((v & {_M32}) ^ 0x80000000) - 0x80000000",
    "enum": f"((v & {_M32}) ^ 0x80000000) - 0x80000000",
    "int64": f"((v & {_M64}) ^ 0x8000000000000000) - 0x8000000000000000",
    "uint32": f"v & {_M32}",
    "uint64": f"v & {_M64}",
    "sint32": f"v & {_M32}",
    "sint64": f"v & {_M64}",
    "bool": f"v & {_M64}",
}


# --------------------------------------------------------------------------- model


@dataclass
class _Ref:
    """A class a codec refers to: its module, name, and whether it has a fast encoder."""

    module: str
    name: str
    own_bytes: bool = False


@dataclass
class _Field:
    name: str
    number: int
    kind: str
    repeated: bool
    optional: bool
    group: str | None
    cls: _Ref | None = None  # message (or wrapper) / enum class
    unwrap: bool = False
    key_kind: str = ""
    value_kind: str = ""
    value_cls: _Ref | None = None
    wrapped_kind: str = ""  # an unwrapped wrapper field: the kind of the wrapper's value


@dataclass
class _Message:
    name: str
    fields: list[_Field]
    own_bytes: bool
    groups: dict[str, list[str]] = field(default_factory=dict)


def _ref(cls: Any) -> _Ref:
    return _Ref(cls.__module__, cls.__name__, "__bytes__" in cls.__dict__)


def _describe(cls: Any) -> _Message:
    meta = cls._betterproto
    fields: list[_Field] = []
    groups: dict[str, list[str]] = {}
    for name, fmeta in meta.meta_by_field_name.items():
        f = _Field(
            name=name,
            number=fmeta.number,
            kind=fmeta.proto_type,
            repeated=bool(fmeta.repeated),
            optional=bool(fmeta.optional) or fmeta.group is not None,
            group=fmeta.group,
        )
        if f.kind == "map":
            key_meta, value_meta = fmeta.map_meta
            f.key_kind, f.value_kind = key_meta.proto_type, value_meta.proto_type
            if value_meta.unwrap is not None:
                raise GenerationError(f"{cls.__name__}.{name}: wrapped map values")
            if f.value_kind in ("message", "enum"):
                f.value_cls = _ref(meta.cls_by_field[f"{name}.value"])
        elif fmeta.unwrap is not None:
            if f.repeated:
                raise GenerationError(f"{cls.__name__}.{name}: repeated wrapped values")
            if fmeta.group is not None:  # its unknown fields, kept apart, could revive it
                raise GenerationError(f"{cls.__name__}.{name}: a wrapped oneof member")
            f.unwrap = True
            f.cls = _ref(fmeta.unwrap())
            f.wrapped_kind = fmeta.unwrap()._betterproto.meta_by_field_name["value"].proto_type
        elif f.kind in ("message", "enum"):
            f.cls = _ref(meta.cls_by_field[name])
        if fmeta.group is not None:
            groups.setdefault(fmeta.group, []).append(name)
        fields.append(f)
    return _Message(cls.__name__, fields, "__bytes__" in cls.__dict__, groups)


# --------------------------------------------------------------------------- emitting


class _Names:
    """The names a codec module uses for foreign codec modules and classes."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.modules: dict[str, str] = {}
        self.classes: dict[tuple[str, str], str] = {}
        self.enums: dict[tuple[str, str], str] = {}

    def codec(self, ref: _Ref) -> str:
        """The expression for the codec module holding ``ref``'s functions."""
        if ref.module == self.module:
            return ""
        alias = self.modules.setdefault(ref.module, f"_m{len(self.modules)}")
        return alias + "."

    def decoder(self, ref: _Ref) -> str:
        return f"{self.codec(ref)}decode_{ref.name}"

    def encoder(self, ref: _Ref) -> str:
        return f"{self.codec(ref)}encode_{ref.name}"

    def writer(self, ref: _Ref) -> str:
        return f"{self.codec(ref)}write_{ref.name}"

    def cls(self, ref: _Ref) -> str:
        return self.classes.setdefault((ref.module, ref.name), f"_C{len(self.classes)}")

    def enum(self, ref: _Ref) -> str:
        self.cls(ref)
        return self.enums.setdefault((ref.module, ref.name), f"_E{len(self.enums)}")

    def zero(self, ref: _Ref) -> str:
        """The name of the enum's member 0 (a module constant: the default of its fields)."""
        return self.enum(ref).replace("_E", "_Z", 1)


def _tag(number: int, wire: int) -> int:
    return number << 3 | wire


def _tag_bytes(number: int, wire: int) -> bytes:
    value = _tag(number, wire)
    out = bytearray()
    while value > 127:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def _wire_of(kind: str) -> int:
    if kind in _VARINT_KINDS:
        return 0
    if kind in _FIXED_KINDS:
        return 1 if _FIXED_KINDS[kind][1] == 8 else 5
    return 2


class _Code:
    """Lines with indentation."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def __call__(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def indent(self) -> _Code:
        self.depth += 1
        return self

    def dedent(self) -> None:
        self.depth -= 1

    def text(self) -> str:
        return "\n".join(self.lines)


def _read_varint(c: _Code, kind: str, p: str, e: str, target: str, names: _Names, ref: Any) -> None:
    # The first byte is read unchecked: a read past ``e`` leaves ``p`` past it, which the
    # message's final position check rejects (and past the buffer it is an IndexError).
    c(f"v = buf[{p}]")
    c("if v < 128:")
    c(f"    {p} += 1")
    c("else:")
    c(f"    v, {p} = _varint(buf, {p}, {e})")
    c(f"    v = {_MULTI_CONV[kind]}")
    if kind == "bool":
        c(f"{target} = v != 0")
    elif kind in ("sint32", "sint64"):
        c(f"{target} = (v >> 1) ^ -(v & 1)")
    elif kind == "enum":
        c(f"{target} = {names.enum(ref)}[v]")
    else:
        c(f"{target} = v")


def _read_fixed(c: _Code, kind: str, p: str, target: str) -> None:
    code, size = _FIXED_KINDS[kind]
    c(f"{target} = _rt.U_{code}(buf, {p})[0]")  # past the end: the final position check
    c(f"{p} += {size}")


def _read_length(c: _Code, number: int, p: str, e: str, n: str, stop: str) -> None:
    c(f"{n} = buf[{p}]")
    c(f"if {n} < 128:")
    c(f"    {p} += 1")
    c(f"elif (q := buf[{p} + 1]) < 128:")
    c(f"    {n} += (q << 7) - 128")
    c(f"    {p} += 2")
    c("else:")
    c(f"    {n}, {p} = _size(buf, {p}, {e})")
    c(f"{stop} = {p} + {n}")
    c(f"if {stop} > {e}:")  # also catches a length byte read past ``e``
    c(f"    raise _rt.too_long({number})")


def _read_single(
    c: _Code,
    kind: str,
    number: int,
    p: str,
    e: str,
    target: str,
    names: _Names,
    ref: _Ref | None,
    depth: str,
    into: str,
    n: str,
    stop: str,
) -> None:
    """Assign one value of ``kind`` (its tag read and matched) to ``target``; move ``p``."""
    if kind in _VARINT_KINDS:
        _read_varint(c, kind, p, e, target, names, ref)
    elif kind in _FIXED_KINDS:
        _read_fixed(c, kind, p, target)
    else:
        _read_length(c, number, p, e, n, stop)
        if kind == "string":
            c(f"{target} = buf[{p}:{stop}].decode()")
        elif kind == "bytes":
            c(f"{target} = buf[{p}:{stop}]")
        else:
            assert ref is not None
            c(f"{target} = {names.decoder(ref)}(buf, {p}, {stop}, {depth}, {into})")
        c(f"{p} = {stop}")


def _scalar_default(kind: str, ref: _Ref | None, names: _Names) -> str:
    if kind == "message":
        return "None"
    if kind == "enum":
        assert ref is not None
        return names.zero(ref)
    return {"string": '""', "bytes": 'b""', "bool": "False", "float": "0.0", "double": "0.0"}.get(
        kind, "0"
    )


def _keep_range(c: _Code, start: str, stop: str) -> None:
    """Keep ``buf[start:stop]`` as unknown fields. Unknown fields in a row are one range
    ``buf[us:ue]``, copied once when another range starts or the message ends."""
    c(f"if {start} != ue:")
    c("    u = _rt.keep(u, buf[us:ue])")
    c(f"    us = {start}")
    c(f"ue = {stop}")


def _keep_bytes(c: _Code, stop: str, *parts: str) -> None:
    """Keep ``parts`` (expressions giving bytes) as unknown fields, after the range so far; the
    next range may start at ``stop``."""
    c("u = _rt.keep(u, buf[us:ue])")
    c(f"us = ue = {stop}")
    for part in parts:
        c(f"u += {part}")


def _decode_map(c: _Code, f: _Field, names: _Names) -> None:
    c(f"if depth >= {MAX_DEPTH}:")
    c("    raise _rt.too_deep()")
    _read_length(c, f.number, "pos", "end", "n", "e")
    c(f"k = {_scalar_default(f.key_kind, None, names)}")
    c(f"x = {_scalar_default(f.value_kind, f.value_cls, names)}")
    c("p = pos")
    c("odd = False")
    key_tag = _tag(1, _wire_of(f.key_kind))
    value_tag = _tag(2, _wire_of(f.value_kind))

    def key() -> None:
        _read_single(c, f.key_kind, f.number, "p", "e", "k", names, None, "", "", "n2", "e2")

    def value() -> None:
        _read_single(
            c,
            f.value_kind,
            f.number,
            "p",
            "e",
            "x",
            names,
            f.value_cls,
            "depth + 2",
            "x",
            "n2",
            "e2",
        )

    # Entries almost always hold their key, then their value: read that order straight.
    c(f"if p < e and buf[p] == {key_tag}:")
    c("    p += 1")
    c.indent()
    key()
    c(f"if p < e and buf[p] == {value_tag}:")
    c("    p += 1")
    c.indent()
    value()
    c.dedent()
    c.dedent()
    c("while p < e:")  # anything else, in any order
    c.indent()
    c("t = buf[p]")
    c("if t < 128:")
    c("    p += 1")
    c("else:")
    c("    t, p = _tag(buf, p, e)")
    c(f"if t == {key_tag}:")
    c.indent()
    key()
    c.dedent()
    c(f"elif t == {value_tag}:")
    c.indent()
    value()
    c.dedent()
    c("else:")
    c("    p = _rt.skip(buf, p, e, t, depth + 1)")
    c("    odd = True")
    c.dedent()
    c("if p != e:")
    c(f"    raise _rt.too_long({f.number})")
    # Like upb, an entry that holds an unknown field (or a key or value of another wire type)
    # is not put in the map: the whole entry is kept with the message's unknown fields.
    c("if odd:")
    c.indent()
    _keep_range(c, "start", "e")
    c.dedent()
    c("else:")
    c.indent()
    if f.value_kind == "message":
        assert f.value_cls is not None
        c("if x is None:")
        c(f"    x = {names.decoder(f.value_cls)}(b'', 0, 0, 0, None)")
    c(f"f_{f.name}[k] = x")
    c.dedent()
    c("pos = e")


def _unwrap(c: _Code, f: _Field, names: _Names) -> None:
    """A wrapper (``google.protobuf.Int64Value`` ...) that betterproto2 holds as its plain value.

    An occurrence merges into the value read before, as for any message. Unknown fields inside
    the wrapper, which the plain value cannot hold, are kept as one more occurrence of the field
    among the message's unknown fields: written after the value, they merge back into it."""
    assert f.cls is not None
    slot = f"obj.{f.name}"
    _read_length(c, f.number, "pos", "end", "n", "e")
    wrapper = f"None if {slot} is None else {names.cls(f.cls)}.from_wrapped({slot})"
    c(f"y = {names.decoder(f.cls)}(buf, pos, e, depth + 1, {wrapper})")
    c(f"{slot} = y.to_wrapped()")
    c("if y._unknown_fields:")
    c.indent()
    more = "y._unknown_fields"
    _keep_bytes(c, "e", repr(_tag_bytes(f.number, 2)), f"_rt.varint_bytes(len({more}))", more)
    c.dedent()
    c("pos = e")


def _decode_field(c: _Code, f: _Field, names: _Names, message: _Message) -> None:
    slot = f"obj.{f.name}"
    group = list(message.groups).index(f.group) if f.group is not None else None

    def chosen() -> None:
        """A oneof member was set: clear the member set before (last one wins)."""
        if group is None:
            return
        assert f.group is not None
        members = tuple(message.groups[f.group])
        c(f"if w{group} is not None and w{group} != {f.name!r}:")
        c(f"    _rt.unset(obj, w{group}, {members!r}, {f.name!r})")
        c(f"w{group} = {f.name!r}")

    if f.kind == "map":
        c(f"elif tag == {_tag(f.number, 2)}:")
        c.indent()
        _decode_map(c, f, names)
        c("continue")
        c.dedent()
        return
    wire = _wire_of(f.kind)
    if f.repeated:
        target = f"f_{f.name}"
        if wire != 2:  # packable: accept the packed form too
            c(f"elif tag == {_tag(f.number, 2)}:")
            c.indent()
            _read_length(c, f.number, "pos", "end", "n", "e")
            if f.kind in _FIXED_KINDS:
                code, size = _FIXED_KINDS[f.kind]
                c(f"if (e - pos) % {size}:")
                c(f"    raise _rt.bad_packed({f.number}, e - pos)")
                count = f"(e - pos) // {size}"
                c(f"{target}.extend(_rt.unpack_from('<%d{code}' % ({count}), buf, pos))")
                c("pos = e")
            else:
                c("while pos < e:")
                c.indent()
                _read_varint(c, f.kind, "pos", "e", "y", names, f.cls)
                c(f"{target}.append(y)")
                c.dedent()
            c("continue")
            c.dedent()
        c(f"elif tag == {_tag(f.number, wire)}:")
        c.indent()
        _read_single(
            c, f.kind, f.number, "pos", "end", "y", names, f.cls, "depth + 1", "None", "n", "e"
        )
        c(f"{target}.append(y)")
        c("continue")
        c.dedent()
        return
    c(f"elif tag == {_tag(f.number, wire)}:")
    c.indent()
    if f.unwrap:
        _unwrap(c, f, names)
    else:
        # A message merges into the value it already has (None unless it is the oneof member
        # currently set, since setting another member cleared it).
        _read_single(
            c, f.kind, f.number, "pos", "end", slot, names, f.cls, "depth + 1", slot, "n", "e"
        )
    chosen()
    c("continue")
    c.dedent()


def _decoder(message: _Message, names: _Names) -> str:
    c = _Code()
    own = names.cls(_Ref(names.module, message.name))
    containers = [f for f in message.fields if f.repeated or f.kind == "map"]
    c(f"def decode_{message.name}(buf, pos, end, depth, into):")
    c.indent()
    c(f'"""Decode a {message.name} from ``buf[pos:end]`` (merged into ``into`` if given)."""')
    c(f"if depth > {MAX_DEPTH}:")
    c("    raise _rt.too_deep()")
    c("u = None")
    c("us = ue = pos")
    c("if into is None:")
    c.indent()
    # Attributes set one by one, always in the same order, keep CPython's compact per-class
    # layout of instance attributes (a dict assigned to ``__dict__`` takes twice the memory).
    c(f"obj = _new({own})")
    for f in message.fields:
        if f in containers:
            c(f"obj.{f.name} = f_{f.name} = {'{}' if f.kind == 'map' else '[]'}")
        elif f.optional:
            c(f"obj.{f.name} = None")
        else:
            c(f"obj.{f.name} = {_scalar_default(f.kind, f.cls, names)}")
    c("obj._unknown_fields = b''")
    for index in range(len(message.groups)):
        c(f"w{index} = None")
    c.dedent()
    c("else:")
    c.indent()
    c("obj = into")
    for f in containers:
        c(f"f_{f.name} = obj.{f.name}")
    for index in range(len(message.groups)):
        c(f"w{index} = _rt.MERGING")
    c.dedent()
    c("while pos < end:")
    c.indent()
    c("start = pos")
    c("tag = buf[pos]")
    c("if tag < 128:")
    c("    pos += 1")
    c("elif (q := buf[pos + 1]) < 128:")  # past ``end``: whatever the field, a check rejects
    c("    tag += (q << 7) - 128")
    c("    pos += 2")
    c("else:")
    c("    tag, pos = _tag(buf, pos, end)")
    if message.fields:
        # Each known field ends in ``continue``; past the last known tag (the fields of a newer
        # schema) the chain is not even entered.
        c(f"if tag <= {_tag(max(f.number for f in message.fields), 7)}:")
        c.indent()
        first = len(c.lines)
        for f in sorted(message.fields, key=lambda f: f.number):
            _decode_field(c, f, names, message)
        c.lines[first] = replace_once(c.lines[first], "elif ", "if ", what="first field test")
        c.dedent()
    # An unknown field (or a known one with another wire type, as upb reads it) is kept. A
    # varint of one byte, or a length of one byte and its data, is skipped here (beyond
    # ``end``, the final position check rejects it); anything else in the runtime.
    if message.fields:
        c("w = tag & 7")
        c("if w == 0 and tag > 7 and buf[pos] < 128:")
        c("    pos += 1")
        c("elif w == 2 and tag > 7 and buf[pos] < 128:")
        c("    pos += buf[pos] + 1")
        c("else:")
        c("    pos = _rt.skip(buf, pos, end, tag, depth)")
    else:  # like upb, which skips a message without fields whole, field number 0 is let pass
        c("pos = _rt.skip_value(buf, pos, end, tag, depth)")
    _keep_range(c, "start", "pos")
    c.dedent()
    c("if pos != end:")
    c("    raise _rt.overrun()")
    c("if ue != us:")
    c("    u = _rt.keep(u, buf[us:ue])")
    c("if u is not None:")
    c("    if into is None:")
    c("        obj._unknown_fields = bytes(u)")
    c("    else:")
    c("        _rt.grow(obj, u)")
    c("return obj")
    return c.text()


_PLACEHOLDER = b"\x00"
"""A sub-message's one-byte length, written before it and patched once it is written."""


def _write_length(c: _Code, out: str, at: str) -> None:
    """Patch the one-byte length placeholder at ``at - 1`` with the length of ``out[at:]``."""
    c(f"n = len({out}) - {at}")
    c("if n < 128:")
    c(f"    {out}[{at} - 1] = n")
    c("else:")
    c(f"    {out}[{at} - 1 : {at}] = _rt.varint_bytes(n)")


def _encode_value(
    c: _Code,
    kind: str,
    value: str,
    out: str,
    names: _Names,
    ref: _Ref | None,
    tmp: str,
    tag: bytes = b"",
) -> None:
    """Append ``tag`` and the payload of ``value`` (for length-delimited kinds, its length
    first) to ``out``. A sub-message with a generated encoder is written into ``out`` itself
    behind a one-byte length placeholder that is patched afterwards (grown in place in the rare
    case of 128 bytes or more), not into a buffer of its own that is then copied."""
    if tag:
        placeholder = kind == "message" and ref is not None and not ref.own_bytes
        c(f"{out} += {tag + _PLACEHOLDER if placeholder else tag!r}")
    if kind in ("int32", "int64", "uint32", "uint64", "enum", "bool"):
        c(f"if 0 <= {value} < 128:")
        c(f"    {out}.append({value})")
        c("else:")
        c(f"    {out} += _rt.varint_bytes({value})")
    elif kind in ("sint32", "sint64"):
        c(f"z = {value} << 1 if {value} >= 0 else ({value} << 1) ^ -1")
        c(f"{out} += _rt.varint_bytes(z)")
    elif kind in _FIXED_KINDS:
        c(f"{out} += _rt.P_{_FIXED_KINDS[kind][0]}({value})")
    elif kind == "message" and ref is not None and not ref.own_bytes:
        assert tag, "a sub-message is always written behind its tag"
        c(f"p = len({out})")
        c(f"{names.writer(ref)}({value}, {out})")
        _write_length(c, out, "p")
    else:
        if kind == "string":
            c(f"{tmp} = {value}.encode()")
        elif kind == "bytes":
            c(f"{tmp} = {value}")
        else:
            assert ref is not None
            c(f"{tmp} = bytes({value})")
        c(f"n = len({tmp})")
        c("if n < 128:")
        c(f"    {out}.append(n)")
        c("else:")
        c(f"    {out} += _rt.varint_bytes(n)")
        c(f"{out} += {tmp}")


def _encode_field(c: _Code, f: _Field, names: _Names) -> None:
    c(f"v = m.{f.name}")
    if f.kind == "map":
        c("if v:")
        c.indent()
        c("for k, x in v.items():")
        c.indent()
        c(f"out += {_tag_bytes(f.number, 2) + _PLACEHOLDER!r}")  # the entry; length patched
        c("pe = len(out)")
        key_tag = _tag_bytes(1, _wire_of(f.key_kind))
        _encode_value(c, f.key_kind, "k", "out", names, None, "b", key_tag)
        value_tag = _tag_bytes(2, _wire_of(f.value_kind))
        _encode_value(c, f.value_kind, "x", "out", names, f.value_cls, "b", value_tag)
        _write_length(c, "out", "pe")
        c.dedent()
        c.dedent()
        return
    wire = _wire_of(f.kind)
    if f.repeated:
        c("if v:")
        c.indent()
        if wire != 2:  # packed, as betterproto2 writes every packable repeated field
            if f.kind in _FIXED_KINDS:
                c(f"pk = _rt.pack('<%d{_FIXED_KINDS[f.kind][0]}' % len(v), *v)")
            else:
                c("pk = bytearray()")
                c("for x in v:")
                c.indent()
                _encode_value(c, f.kind, "x", "pk", names, None, "b")
                c.dedent()
            _encode_value(c, "bytes", "pk", "out", names, None, "b", _tag_bytes(f.number, 2))
        else:
            c("for x in v:")
            c.indent()
            _encode_value(c, f.kind, "x", "out", names, f.cls, "b", _tag_bytes(f.number, wire))
            c.dedent()
        c.dedent()
        return
    present = "v is not None" if f.optional or f.kind == "message" or f.unwrap else "v"
    if present == "v" and f.kind in ("float", "double"):
        # Like protobuf (and unlike betterproto2, for which -0.0 == 0.0 is the default), -0.0
        # is not the default and is written.
        present = "v or (v is not None and _rt.copysign(1.0, v) < 0)"
    c(f"if {present}:")
    c.indent()
    if f.unwrap:
        # The wrapper written in place (no wrapper object): its value, field 1, unless it is
        # the default (-0.0 is not), behind a patched length.
        c(f"out += {_tag_bytes(f.number, wire) + _PLACEHOLDER!r}")
        c("p = len(out)")
        inner = "v"
        if f.wrapped_kind in ("float", "double"):
            inner = "v or _rt.copysign(1.0, v) < 0"
        c(f"if {inner}:")
        c.indent()
        tag = _tag_bytes(1, _wire_of(f.wrapped_kind))
        _encode_value(c, f.wrapped_kind, "v", "out", names, None, "b", tag)
        c.dedent()
        _write_length(c, "out", "p")
    else:
        _encode_value(c, f.kind, "v", "out", names, f.cls, "b", _tag_bytes(f.number, wire))
    c.dedent()


def _encoder(message: _Message, names: _Names) -> str:
    """``write_X(m, out)``, which appends the message's bytes to ``out`` (sub-messages in
    place), and ``encode_X(m)``, its bytes in a new buffer."""
    c = _Code()
    c(f"def write_{message.name}(m, out):")
    c.indent()
    c(f'"""Append the wire bytes of a {message.name} to ``out`` (what betterproto2 writes)."""')
    for f in message.fields:
        _encode_field(c, f, names)
    c("v = m._unknown_fields")
    c("if v:")
    c("    out += v")
    c.dedent()
    c("")
    c("")
    c(f"def encode_{message.name}(m):")
    c(f'    """The wire bytes of a {message.name} (what betterproto2 writes)."""')
    c("    out = bytearray()")
    c(f"    write_{message.name}(m, out)")
    c("    return out")
    return c.text()


def module_source(module: str, messages: list[_Message], source: str) -> str:
    """The ``_codec.py`` of one generated module."""
    names = _Names(module)
    bodies: list[str] = []
    for message in messages:
        bodies.append(_decoder(message, names))
        bodies.append(_encoder(message, names))
    installs = [
        f"_rt.install({names.cls(_Ref(module, m.name))}, decode_{m.name}, "
        + ("None" if m.own_bytes else f"encode_{m.name}")
        + ")"
        for m in messages
    ]
    root = module.split(".", maxsplit=1)[0]
    imports = ["from typing import Any", "", f"from {root}.proto import {RUNTIME_MODULE} as _rt"]
    for (mod, name), alias in sorted(names.classes.items(), key=lambda kv: kv[1]):
        imports.append(f"from {mod} import {name} as {alias}")
    for mod, alias in sorted(names.modules.items(), key=lambda kv: kv[1]):
        imports.append(f"from {mod} import {CODEC_MODULE} as {alias}")
    enums: list[str] = []
    for key, alias in sorted(names.enums.items(), key=lambda kv: kv[1]):
        enums.append(f"{alias} = _rt.EnumTable({names.classes[key]})")
        enums.append(f"{alias.replace('_E', '_Z', 1)} = {alias}[0]")
    doc = f'"""Fast codecs for the messages of ``{module}`` (see codegen/fastproto.py)."""'
    shared = "_new = object.__new__\n_varint = _rt.varint\n_tag = _rt.tag\n_size = _rt.size"
    parts = [
        python_header(source) + doc,
        "\n".join(imports),
        shared,
        "\n".join(enums),
        *bodies,
        "\n".join(installs),
    ]
    return "\n\n\n".join(p for p in parts if p) + "\n"


# --------------------------------------------------------------------------- the step


def _modules(package: str) -> Iterator[Any]:
    root = importlib.import_module(package)
    yield root
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        yield importlib.import_module(info.name)


def _source_label(path: Path) -> str:
    """The header's source line of a generated module (its second line)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[1].removeprefix("# source: ") if len(lines) > 1 else "betterproto2 output"


def runtime_source() -> str:
    """The text of :mod:`codegen.runtime.codec`, which the generated package gets verbatim."""
    return Path(runtime.__file__).read_text(encoding="utf-8")


def write(parent: Path, package: str) -> int:
    """Write every codec module of ``package`` (imported from ``parent``); how many messages."""
    import betterproto2  # noqa: PLC0415 - only in the generator's own interpreter

    sys.path.insert(0, str(parent))
    proto = f"{package}.proto"
    count = 0
    plans: list[tuple[Path, str, list[_Message]]] = []
    for module in _modules(proto):
        classes = [
            obj
            for obj in vars(module).values()
            if isinstance(obj, type)
            and issubclass(obj, betterproto2.Message)
            and obj.__module__ == module.__name__
        ]
        if not classes:
            continue
        messages = [_describe(cls) for cls in sorted(classes, key=lambda c: c.__name__)]
        plans.append((Path(module.__file__ or ""), module.__name__, messages))
        count += len(messages)
    label = _source_label(parent / package / "proto" / "__init__.py")
    (parent / package / "proto" / f"{RUNTIME_MODULE}.py").write_text(
        python_header(f"{label} (codec runtime)") + "\n" + runtime_source(),
        encoding="utf-8",
        newline="\n",
    )
    for path, module, messages in plans:
        if path.name != "__init__.py":
            raise GenerationError(f"fastproto: {module} is not a package __init__")
        source = _source_label(path)
        (path.parent / f"{CODEC_MODULE}.py").write_text(
            module_source(module, messages, source), encoding="utf-8", newline="\n"
        )
        text = path.read_text(encoding="utf-8").rstrip("\n")
        path.write_text(f"{text}\n\n{INSTALL_LINE}\n", encoding="utf-8", newline="\n")
    return count


_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[3])
from codegen.fastproto import write
print(write(__import__("pathlib").Path(sys.argv[1]), sys.argv[2]))
"""


def generate(parent: Path, package: str, project_root: Path) -> None:
    """Run :func:`write` in a fresh interpreter (it must import the new package, not ours);
    ``-P`` keeps ``PYTHONPATH``, through which a pip build environment has its packages."""
    argv = [sys.executable, "-P", "-c", _SCRIPT, str(parent), package, str(project_root)]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        reason = tail[-1] if tail else f"exit code {proc.returncode}"
        raise GenerationError(f"generate: fast protobuf codecs failed: {reason}")
