"""What every generated proto3 JSON codec shares: scalar conversions, well-known types, installing.

Copied verbatim into the generated package as ``proto/_json_runtime.py`` (see
:mod:`codegen.fastjson`). Conversions follow Google's ``json_format`` exactly (what it writes,
what it accepts and what it refuses), so that the generated codecs can be compared with it.
"""

import base64
import binascii
import datetime
import math
import re
import struct
from collections.abc import Callable, Mapping
from typing import Any

import betterproto2

_new = object.__new__
_PLAIN_TO = betterproto2.Message.to_dict
_PLAIN_FROM = betterproto2.Message.from_dict.__func__  # type: ignore[attr-defined]
_PROTO_JSON = betterproto2.OutputFormat.PROTO_JSON
CAMEL = betterproto2.Casing.CAMEL
SNAKE = betterproto2.Casing.SNAKE
_CASINGS = {CAMEL: 0, SNAKE: 1}

MISSING: Any = object()
"""A key absent from a JSON object (``dict.get``'s default in the generated readers)."""


class JsonError(ValueError):
    """The JSON value is not a valid proto3 JSON form of the type being read."""


# --------------------------------------------------------------------------- output


def b64(value: bytes) -> str:
    """Standard base64 with padding, as Google writes bytes."""
    return binascii.b2a_base64(value, newline=False).decode("ascii")


def double(value: float) -> float | str:
    """A double that is not finite: ``"NaN"``, ``"Infinity"``, ``"-Infinity"``."""
    if math.isnan(value):
        return "NaN"
    if value == math.inf:
        return "Infinity"
    if value == -math.inf:
        return "-Infinity"
    return value


_F32 = struct.Struct("<f")


def single(value: float) -> float | str:
    """A float (32-bit) the way Google writes it: the shortest decimal that reads back as the
    same float (``0.1``, not ``0.10000000149011612``)."""
    if not math.isfinite(value):
        return double(value)
    precision = 6
    rounded = float(f"{value:.{precision}g}")
    while _F32.unpack(_F32.pack(rounded))[0] != value:
        precision += 1
        rounded = float(f"{value:.{precision}g}")
    return rounded


def negative_zero(value: float) -> bool:
    """``-0.0``: not the default of a float field (protobuf writes it; 0.0 it skips)."""
    return value == 0 and math.copysign(1.0, value) < 0


class EnumNames(dict[int, Any]):
    """Enum value names by number; a number the enum does not list stays a number."""

    __slots__ = ()

    def __missing__(self, number: int) -> int:
        return int(number)


_EPOCH = datetime.datetime(1970, 1, 1)


def _fraction(nanos: int) -> str:
    if nanos == 0:
        return ""
    if nanos % 1000000 == 0:
        return f".{nanos // 1000000:03d}"
    if nanos % 1000 == 0:
        return f".{nanos // 1000:06d}"
    return f".{nanos:09d}"


def timestamp(ts: Any) -> str:
    """RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits."""
    seconds, nanos = ts.seconds, ts.nanos
    if not -62135596800 <= seconds <= 253402300799 or not 0 <= nanos <= 999999999:
        raise JsonError(f"Timestamp out of range for JSON: {seconds}s {nanos}ns")
    day = _EPOCH + datetime.timedelta(seconds=seconds)
    return day.isoformat() + _fraction(nanos) + "Z"


def duration(d: Any) -> str:
    """Seconds with 0, 3, 6 or 9 fractional digits and an ``s``."""
    seconds, nanos = d.seconds, d.nanos
    if (seconds < 0 < nanos) or (nanos < 0 < seconds):
        raise JsonError("Duration seconds and nanos have different signs")
    if not -315576000000 <= seconds <= 315576000000 or not -999999999 <= nanos <= 999999999:
        raise JsonError(f"Duration out of range for JSON: {seconds}s {nanos}ns")
    sign = "-" if seconds < 0 or nanos < 0 else ""
    return f"{sign}{abs(seconds)}{_fraction(abs(nanos))}s"


_CAMEL_RE = re.compile(r"_([a-z])")
_BAD_PATH_RE = re.compile(r"[A-Z]|_(?![a-z])")


def field_mask(mask: Any) -> str:
    """Comma-separated lowerCamel paths."""
    out = []
    for path in mask.paths:
        if _BAD_PATH_RE.search(path):
            raise JsonError(f"FieldMask path {path!r} cannot be written as lowerCamel JSON")
        out.append(_CAMEL_RE.sub(lambda m: m.group(1).upper(), path))
    return ",".join(out)


def value(v: Any) -> Any:
    """A ``google.protobuf.Value`` as the JSON value it holds."""
    s = v.string_value
    if s is not None:
        return s
    n = v.number_value
    if n is not None:
        if n - n:  # NaN or an infinity (finite numbers give 0.0)
            raise JsonError("Value.number_value cannot be NaN or infinite in JSON")
        return n
    b = v.bool_value
    if b is not None:
        return b
    st = v.struct_value
    if st is not None:
        return struct_(st)
    lv = v.list_value
    if lv is not None:
        return [value(x) for x in lv.values]
    if v.null_value == 0:
        return None
    # Nothing set, or a null of another number: betterproto2 refuses both, and so does runbind
    # (Google would write null, which reads back as a different message).
    raise JsonError("Invalid value: a Value with no kind set")


def struct_(s: Any) -> dict[str, Any]:
    """A ``google.protobuf.Struct`` as a JSON object (strings and numbers inline: most values)."""
    out = {}
    for k, v in s.fields.items():
        x = v.string_value
        if x is None:
            x = v.number_value
            if x is None or x - x:
                x = value(v)
        out[k] = x
    return out


def list_value(lv: Any) -> list[Any]:
    """A ``google.protobuf.ListValue`` as a JSON array."""
    return [value(x) for x in lv.values]


# --------------------------------------------------------------------------- input


def text(v: Any) -> str:
    """A string value: a str without unpaired surrogates (Google refuses them)."""
    if type(v) is not str:
        if isinstance(v, str):
            v = str(v)
        else:
            raise JsonError(f"expected a string, got {type(v).__name__}")
    try:
        v.encode()
    except UnicodeEncodeError:
        raise JsonError("unpaired surrogate in a string") from None
    return str(v)


def integer(v: Any) -> int:
    """Google's integer reading: an int, an integral float, or a string of either."""
    if isinstance(v, bool):
        raise JsonError(f"bool value {v} is not acceptable for an integer field")
    if isinstance(v, float) and not v.is_integer():
        raise JsonError(f"couldn't parse integer: {v}")
    if isinstance(v, str) and " " in v:
        raise JsonError(f"couldn't parse integer: {v!r}")
    if not isinstance(v, int | float | str):
        raise JsonError(f"couldn't parse integer: {v!r}")
    try:
        return int(v)
    except ValueError:
        try:
            f = float(v)
        except ValueError:
            raise JsonError(f"couldn't parse integer: {v!r}") from None
        if not f.is_integer():
            raise JsonError(f"couldn't parse non-integer string: {v!r}") from None
        return int(f)
    except OverflowError:
        raise JsonError(f"couldn't parse integer: {v!r}") from None


def _ranged(v: Any, low: int, high: int, kind: str) -> int:
    x = integer(v)
    if not low <= x <= high:
        raise JsonError(f"value out of range for {kind}: {x}")
    return x


def int32(v: Any) -> int:
    """An int32 / sint32 / sfixed32 value."""
    return _ranged(v, -(2**31), 2**31 - 1, "int32")


def uint32(v: Any) -> int:
    """A uint32 / fixed32 value."""
    return _ranged(v, 0, 2**32 - 1, "uint32")


def int64(v: Any) -> int:
    """An int64 / sint64 / sfixed64 value."""
    return _ranged(v, -(2**63), 2**63 - 1, "int64")


def uint64(v: Any) -> int:
    """A uint64 / fixed64 value."""
    return _ranged(v, 0, 2**64 - 1, "uint64")


_FLOAT_MAX = 3.4028234663852886e38


def float64(v: Any) -> float:
    """A double: a number, or a string of one, ``"NaN"``, ``"Infinity"``, ``"-Infinity"``."""
    if not isinstance(v, int | float | str):  # a bool is taken as 0.0 / 1.0, as Google does
        raise JsonError(f"couldn't parse float: {v!r}")
    if isinstance(v, float):
        if math.isnan(v):
            raise JsonError('couldn\'t parse NaN, use quoted "NaN" instead')
        if v in (math.inf, -math.inf):
            raise JsonError('couldn\'t parse an infinity, use quoted "Infinity" instead')
    if v == "nan":
        raise JsonError('couldn\'t parse float "nan", use "NaN" instead')
    try:
        return float(v)
    except ValueError:
        if v == "-Infinity":
            return -math.inf
        if v == "Infinity":
            return math.inf
        if v == "NaN":
            return math.nan
        raise JsonError(f"couldn't parse float: {v!r}") from None
    except OverflowError:
        raise JsonError(f"couldn't parse float: {v!r}") from None


def float32(v: Any) -> float:
    """A float (32-bit): as :func:`float64`, refusing numbers beyond its range."""
    if isinstance(v, float) and math.isfinite(v) and abs(v) > _FLOAT_MAX:
        raise JsonError("float value too large")
    return float64(v)


def boolean(v: Any) -> bool:
    """A bool: JSON ``true`` or ``false`` only."""
    if type(v) is not bool:
        raise JsonError(f"expected true or false without quotes, got {v!r}")
    return v


def bool_key(v: str) -> bool:
    """A map key of type bool: ``"true"`` or ``"false"``."""
    if v == "true":
        return True
    if v == "false":
        return False
    raise JsonError(f'expected "true" or "false", not {v!r}')


def unbase64(v: Any) -> bytes:
    """Bytes: base64, standard or URL-safe, with or without padding (as Google reads them)."""
    encoded = v.encode("utf-8") if isinstance(v, str) else v
    if not isinstance(encoded, bytes):
        raise JsonError(f"expected a base64 string, got {type(v).__name__}")
    try:
        return base64.urlsafe_b64decode(encoded + b"=" * (4 - len(encoded) % 4))
    except (binascii.Error, ValueError) as exc:
        raise JsonError(f"invalid base64: {exc}") from None


class Unknown(Exception):
    """An enum name this schema does not know (skipped when unknown fields are ignored)."""


def enum(v: Any, names: Mapping[Any, Any], table: Mapping[int, Any]) -> Any:
    """An enum value: its name, or a number (kept when the enum does not list it)."""
    try:
        member = names.get(v)
    except TypeError:
        raise JsonError(f"invalid enum value {v!r}") from None
    if member is not None:
        return member
    try:
        number = int(v)
    except ValueError:  # a name this schema does not know
        raise Unknown(f"invalid enum value {v!r}") from None
    except TypeError:  # not a name nor a number at all: refused even when ignoring unknowns
        raise JsonError(f"invalid enum value {v!r}") from None
    return table[int32(number)]


def enum_or(
    v: Any, names: Mapping[Any, Any], table: Mapping[int, Any], ignore: bool, default: Any
) -> Any:
    """A singular enum field: an unknown name is an error, or the default when unknown fields
    are ignored (as Google skips it)."""
    if type(v) is str:
        member = names.get(v)
        if member is not None:
            return member
    try:
        return enum(v, names, table)
    except Unknown as exc:
        if ignore:
            return default
        raise JsonError(str(exc)) from None


def enums(v: Any, names: Mapping[Any, Any], table: Mapping[int, Any], ignore: bool) -> list[Any]:
    """A repeated enum field; unknown names are left out when unknown fields are ignored."""
    out = []
    for x in v:
        try:
            out.append(enum(x, names, table))
        except Unknown as exc:
            if not ignore:
                raise JsonError(str(exc)) from None
    return out


_TIMESTAMP_RE = re.compile(
    r"(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})"
)
_DURATION_RE = re.compile(r"(-?)(\d+)(?:\.(\d{1,9}))?s")


def _check_object(v: Any, what: str) -> None:
    if not isinstance(v, Mapping):
        raise JsonError(f"expected a JSON object for {what}, got {type(v).__name__}")


def timestamp_from(cls: Any, v: Any) -> Any:
    """A Timestamp from RFC 3339 with any offset and up to 9 fractional digits."""
    if type(v) is not str:
        raise JsonError(f"expected an RFC 3339 string for a Timestamp, got {v!r}")
    match = _TIMESTAMP_RE.fullmatch(v)
    if match is None:
        raise JsonError(f"invalid RFC 3339 timestamp: {v!r}")
    date, frac, zone = match.group(1), match.group(2) or "", match.group(3)
    try:
        naive = datetime.datetime.fromisoformat(date)
    except ValueError:
        raise JsonError(f"invalid RFC 3339 timestamp: {v!r}") from None
    seconds = (naive - _EPOCH).days * 86400 + (naive.hour * 3600 + naive.minute * 60 + naive.second)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    obj = _new(cls)
    obj.seconds = seconds
    obj.nanos = int((frac + "000000000")[:9])
    obj._unknown_fields = b""
    return obj


def duration_from(cls: Any, v: Any) -> Any:
    """A Duration from ``"-1.000000001s"`` and friends."""
    if type(v) is not str:
        raise JsonError(f"expected a string for a Duration, got {v!r}")
    match = _DURATION_RE.fullmatch(v)
    if match is None:
        raise JsonError(f"invalid Duration: {v!r}")
    sign = -1 if match.group(1) else 1
    seconds = int(match.group(2))
    if seconds > 315576000000:
        raise JsonError(f"Duration out of range: {v!r}")
    obj = _new(cls)
    obj.seconds = sign * seconds
    obj.nanos = sign * int(((match.group(3) or "") + "000000000")[:9])
    obj._unknown_fields = b""
    return obj


_SNAKE_RE = re.compile(r"[A-Z]")


def field_mask_from(cls: Any, v: Any) -> Any:
    """A FieldMask from comma-separated lowerCamel paths."""
    if type(v) is not str:
        raise JsonError(f"expected a string for a FieldMask, got {v!r}")
    obj = _new(cls)
    paths = [_SNAKE_RE.sub(lambda m: "_" + m.group(0).lower(), p) for p in v.split(",")]
    obj.paths = [p for p in paths if p]
    obj._unknown_fields = b""
    return obj


class Wkt:
    """The well-known classes the codecs build (bound by the generated google.protobuf codecs)."""

    Struct: Any = None
    Value: Any = None
    ListValue: Any = None
    NullValue: Any = None
    pool: Any = None
    special: frozenset[Any] = frozenset()


def bind(pool: Any, special: frozenset[Any], **classes: Any) -> None:
    """Give the runtime the generated ``Struct`` / ``Value`` / ``ListValue`` / ``NullValue``,
    the message pool (for ``Any``) and the classes with a JSON form other than an object."""
    for name, cls in classes.items():
        setattr(Wkt, name, cls)
    Wkt.pool = pool
    Wkt.special = special


MAX_DEPTH = 100
"""Deepest nesting of Struct / ListValue values read (Google's ``ParseDict`` default)."""


def value_from(v: Any, depth: int = 0) -> Any:
    """A ``google.protobuf.Value`` from any JSON value."""
    obj = _new(Wkt.Value)
    # Attributes in the order the binary decoder sets them (one compact layout per class).
    obj.null_value = obj.number_value = obj.string_value = None
    obj.bool_value = obj.struct_value = obj.list_value = None
    obj._unknown_fields = b""
    t = type(v)
    if t is str:
        obj.string_value = v if v.isascii() else text(v)
    elif t is float:
        obj.number_value = v
    elif t is int:
        try:
            obj.number_value = float(v)
        except OverflowError:
            raise JsonError(f"number too large for a Value: {v}") from None
    elif t is bool:
        obj.bool_value = v
    elif v is None:
        obj.null_value = Wkt.NullValue(0)
    elif t is dict or isinstance(v, Mapping):
        obj.struct_value = struct_from(v, depth + 1)
    elif t is list or isinstance(v, list | tuple):
        obj.list_value = list_value_from(v, depth + 1)
    else:
        raise JsonError(f"unexpected type for Value: {t.__name__}")
    return obj


def _too_deep() -> JsonError:
    return JsonError(f"JSON values nested deeper than {MAX_DEPTH}")


def struct_from(v: Any, depth: int = 0) -> Any:
    """A ``google.protobuf.Struct`` from a JSON object (string values made inline)."""
    if type(v) is not dict:
        _check_object(v, "a Struct")
    if depth > MAX_DEPTH:
        raise _too_deep()
    new, cls = _new, Wkt.Value
    fields = {}
    for k, x in v.items():
        key = k if type(k) is str and k.isascii() else text(k)
        if type(x) is str and x.isascii():
            o = new(cls)
            o.null_value = o.number_value = None
            o.string_value = x
            o.bool_value = o.struct_value = o.list_value = None
            o._unknown_fields = b""
            fields[key] = o
        else:
            fields[key] = value_from(x, depth)
    obj = new(Wkt.Struct)
    obj.fields = fields
    obj._unknown_fields = b""
    return obj


def list_value_from(v: Any, depth: int = 0) -> Any:
    """A ``google.protobuf.ListValue`` from a JSON array."""
    if type(v) is not list and not isinstance(v, list | tuple):
        raise JsonError(f"expected a JSON array for a ListValue, got {type(v).__name__}")
    if depth > MAX_DEPTH:
        raise _too_deep()
    obj = _new(Wkt.ListValue)
    obj.values = [value_from(x, depth) for x in v]
    obj._unknown_fields = b""
    return obj


def any_(a: Any, casing: int, full: bool) -> dict[str, Any]:
    """An ``Any``: ``@type`` and the packed message's fields (or its JSON form as ``value``)."""
    if not a.type_url and not a.value:
        return {}
    cls = Wkt.pool.url_to_type.get(a.type_url)
    if cls is None:
        raise JsonError(f"cannot write an Any of the unregistered type {a.type_url!r}")
    inner = cls.parse(a.value).to_dict(
        casing=SNAKE if casing else CAMEL, include_default_values=full
    )
    if cls in Wkt.special:
        return {"@type": a.type_url, "value": inner}
    return {"@type": a.type_url, **inner}


def any_from(cls: Any, v: Any, ignore: bool) -> Any:
    """An ``Any`` from ``{"@type": ..., ...}`` (the input is not changed)."""
    _check_object(v, "an Any")
    obj = _new(cls)
    obj.type_url = ""
    obj.value = b""
    obj._unknown_fields = b""
    if not v:
        return obj
    url = v.get("@type")
    if url is None:
        raise JsonError("@type is missing when parsing an Any")
    inner_cls = Wkt.pool.url_to_type.get(url)
    if inner_cls is None:
        raise JsonError(f"cannot read an Any of the unregistered type {url!r}")
    if inner_cls in Wkt.special:
        inner = inner_cls.from_dict(v.get("value"), ignore_unknown_fields=ignore)
    else:
        rest = {k: x for k, x in v.items() if k != "@type"}
        inner = inner_cls.from_dict(rest, ignore_unknown_fields=ignore)
    obj.type_url = url
    obj.value = bytes(inner)
    return obj


def later(d: Mapping[str, Any], first: str, second: str) -> Any:
    """The value of whichever of two keys naming one field comes later in ``d``."""
    for key in reversed(list(d)):
        if key in (first, second):
            return d[key]
    return MISSING


def unknown_key(d: Mapping[str, Any], known: frozenset[str], name: str) -> JsonError:
    """The error for a key that names no field of ``name``."""
    extra = sorted(k for k in d if k not in known)
    return JsonError(f"message {name} has no field named {extra[0]!r}" if extra else name)


def oneof_twice(name: str, group: str) -> JsonError:
    """The error for two members of one oneof set in one JSON object."""
    return JsonError(f"message {name} has more than one member of oneof {group!r} set")


def not_object(name: str, v: Any) -> JsonError:
    """The error for a message given as something else than a JSON object."""
    return JsonError(f"expected a JSON object for {name}, got {type(v).__name__}")


def null_item(name: str) -> JsonError:
    """The error for null as an item of a repeated field or a map value."""
    return JsonError(f"null is not allowed as an element of {name}")


def not_list(name: str, v: Any) -> JsonError:
    """The error for a repeated field given as something else than a JSON array."""
    return JsonError(f"repeated field {name} must be a JSON array, got {type(v).__name__}")


# --------------------------------------------------------------------------- installing

ToDict = Callable[[Any, int, bool], Any]
"""A generated writer: ``(message, casing, include_default_values)`` to its JSON value, where
casing 0 writes the JSON names and 1 the original field names."""
FromDict = Callable[[Any, bool], Any]
"""A generated reader: ``(JSON value, ignore_unknown_fields)`` to the message."""


def install(cls: Any, to: ToDict, frm: FromDict) -> None:
    """Make ``to`` / ``frm`` the ``to_dict`` / ``from_dict`` of ``cls`` (proto JSON output in
    either casing; anything else, and subclasses, keep betterproto2's own)."""

    def to_dict(
        self: Any,
        *,
        output_format: betterproto2.OutputFormat = _PROTO_JSON,
        casing: betterproto2.Casing = CAMEL,
        include_default_values: bool = False,
    ) -> Any:
        if type(self) is cls and output_format is _PROTO_JSON:
            return to(self, _CASINGS[casing], include_default_values)
        return _PLAIN_TO(
            self,
            output_format=output_format,
            casing=casing,
            include_default_values=include_default_values,
        )

    def from_dict(klass: Any, value: Any, *, ignore_unknown_fields: bool = False) -> Any:
        if klass is not cls:
            return _PLAIN_FROM(klass, value, ignore_unknown_fields=ignore_unknown_fields)
        return frm(value, ignore_unknown_fields)

    to_dict.__doc__ = f"The proto3 JSON form of this {cls.__name__} (as Google's json_format)."
    from_dict.__doc__ = f"A {cls.__name__} from its proto3 JSON form (as Google's json_format)."
    cls.to_dict = to_dict
    cls.from_dict = classmethod(from_dict)
    cls._fast_to_dict = staticmethod(to)
    cls._fast_from_dict = staticmethod(frm)
