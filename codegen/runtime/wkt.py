"""What runbind adds to the generated well-known types (fixes 2-5 of :mod:`codegen.protos`).

Each class here stands in for the generated class of the same name in
``runbind_generated/proto/google/protobuf/__init__.py``: same fields, same base. Post-processing
copies the source text of the methods listed in :data:`METHODS` into that class (replacing
betterproto2's method of the same name, else appended), and the helpers listed in
:data:`HELPERS` to the end of the module, with ``inspect.getsource``: what runs there is what
is type-checked and tested here. The spliced code may use only this module's imports, which the
generated module has (:data:`SPLICED_IMPORTS` are added when missing). No class derives from
another (``UInt64Value`` from ``Int64Value``, say): betterproto2 caches a class's field metadata
on first use, and a subclass would read its parent's.
"""

from __future__ import annotations

import base64
import datetime
import math
import re as _re
import struct
import typing
from dataclasses import dataclass
from typing import Self

import betterproto2

SPLICED_IMPORTS = ("import base64", "import math", "import re as _re", "import struct")
"""Imports of the spliced code that betterproto2's module may lack (the others it has)."""

_JSON = ("to_dict", "from_dict")
METHODS: dict[str, tuple[str, ...]] = {
    "Timestamp": _JSON,
    "Duration": _JSON,
    "FieldMask": _JSON,
    "Int64Value": _JSON,
    "UInt64Value": _JSON,
    "Int32Value": _JSON,
    "UInt32Value": _JSON,
    "FloatValue": (*_JSON, "__bytes__"),
    "DoubleValue": (*_JSON, "__bytes__"),
    "BytesValue": _JSON,
}
"""Generated class name: the methods of the class of that name here that it gets, in order."""

HELPERS = ("_TIMESTAMP_RE", "_json_float", "_fraction")
"""Module-level names the methods use, appended to the generated module in this order."""


_TIMESTAMP_RE = _re.compile(
    r"(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})"
)


def _json_float(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _fraction(nanos: int) -> str:
    if nanos == 0:
        return ""
    if nanos % 1000000 == 0:
        return f".{nanos // 1000000:03d}"
    if nanos % 1000 == 0:
        return f".{nanos // 1000:06d}"
    return f".{nanos:09d}"


@dataclass(eq=False, repr=False)
class Timestamp(betterproto2.Message):
    """Fix 2: RFC 3339 JSON exact to the nanosecond (betterproto2 went through ``datetime``)."""

    seconds: int = betterproto2.field(1, betterproto2.TYPE_INT64)
    nanos: int = betterproto2.field(2, betterproto2.TYPE_INT32)

    def to_dict(
        self,
        *,
        output_format: betterproto2.OutputFormat = betterproto2.OutputFormat.PROTO_JSON,
        casing: betterproto2.Casing = betterproto2.Casing.CAMEL,
        include_default_values: bool = False,
    ) -> dict[str, typing.Any] | typing.Any:
        """RFC 3339 in UTC, exact to the nanosecond (runbind post-processing)."""
        if not -62135596800 <= self.seconds <= 253402300799 or not 0 <= self.nanos <= 999999999:
            raise ValueError(f"Timestamp out of range for JSON: {self.seconds}s {self.nanos}ns")
        day = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=self.seconds)
        return day.isoformat() + _fraction(self.nanos) + "Z"

    @classmethod
    def from_dict(cls, value: typing.Any, *, ignore_unknown_fields: bool = False) -> Self:
        """RFC 3339 with any offset and up to 9 fractional digits (runbind post-processing)."""
        if not isinstance(value, str):
            return super().from_dict(value, ignore_unknown_fields=ignore_unknown_fields)
        match = _TIMESTAMP_RE.fullmatch(value)
        if match is None:
            raise ValueError(f"invalid RFC 3339 timestamp: {value!r}")
        date, frac, zone = match.group(1), match.group(2) or "", match.group(3)
        naive = datetime.datetime.fromisoformat(date)
        seconds = (naive - datetime.datetime(1970, 1, 1)).days * 86400 + (
            naive.hour * 3600 + naive.minute * 60 + naive.second
        )
        if zone not in ("Z", "z"):
            sign = 1 if zone[0] == "+" else -1
            seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
        return cls(seconds=seconds, nanos=int((frac + "000000000")[:9]))


@dataclass(eq=False, repr=False)
class Duration(betterproto2.Message):
    """Fix 2: ``"-1.000000001s"`` JSON exact to the nanosecond."""

    seconds: int = betterproto2.field(1, betterproto2.TYPE_INT64)
    nanos: int = betterproto2.field(2, betterproto2.TYPE_INT32)

    def to_dict(
        self,
        *,
        output_format: betterproto2.OutputFormat = betterproto2.OutputFormat.PROTO_JSON,
        casing: betterproto2.Casing = betterproto2.Casing.CAMEL,
        include_default_values: bool = False,
    ) -> dict[str, typing.Any] | typing.Any:
        """Seconds with 0, 3, 6 or 9 fractional digits and an ``s`` (runbind post-process)."""
        if (self.seconds < 0 < self.nanos) or (self.nanos < 0 < self.seconds):
            raise ValueError("Duration seconds and nanos have different signs")
        sign = "-" if self.seconds < 0 or self.nanos < 0 else ""
        return f"{sign}{abs(self.seconds)}{_fraction(abs(self.nanos))}s"

    @classmethod
    def from_dict(cls, value: typing.Any, *, ignore_unknown_fields: bool = False) -> Self:
        """``"-1.000000001s"`` and friends, exact to the nanosecond (runbind post-processing)."""
        if not isinstance(value, str):
            return super().from_dict(value, ignore_unknown_fields=ignore_unknown_fields)
        match = _re.fullmatch(r"(-?)(\d+)(?:\.(\d{1,9}))?s", value)
        if match is None:
            raise ValueError(f"invalid Duration: {value!r}")
        sign = -1 if match.group(1) else 1
        nanos = int(((match.group(3) or "") + "000000000")[:9])
        return cls(seconds=sign * int(match.group(2)), nanos=sign * nanos)


@dataclass(eq=False, repr=False)
class FieldMask(betterproto2.Message):
    """Fix 4: the comma-separated lowerCamel JSON string (betterproto2 wrote ``{"paths": ...}``)."""

    paths: list[str] = betterproto2.field(1, betterproto2.TYPE_STRING, repeated=True)  # noqa: RUF009 - a dataclasses.field

    def to_dict(
        self,
        *,
        output_format: betterproto2.OutputFormat = betterproto2.OutputFormat.PROTO_JSON,
        casing: betterproto2.Casing = betterproto2.Casing.CAMEL,
        include_default_values: bool = False,
    ) -> dict[str, typing.Any] | typing.Any:
        """Comma-separated lowerCamel paths (runbind post-processing)."""
        out = []
        for path in self.paths:
            if _re.search(r"[A-Z]|_(?![a-z])", path):
                raise ValueError(f"FieldMask path {path!r} cannot be written as lowerCamel JSON")
            out.append(_re.sub(r"_([a-z])", lambda m: m.group(1).upper(), path))
        return ",".join(out)

    @classmethod
    def from_dict(cls, value: typing.Any, *, ignore_unknown_fields: bool = False) -> Self:
        """Comma-separated lowerCamel paths (runbind post-processing)."""
        if not isinstance(value, str):
            return super().from_dict(value, ignore_unknown_fields=ignore_unknown_fields)
        paths = [_re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), p) for p in value.split(",")]
        return cls(paths=[p for p in paths if p])


@dataclass(eq=False, repr=False)
class Int64Value(betterproto2.Message):
    """Fix 3: a 64-bit wrapper is a JSON string, and reads a string or a number."""

    value: int = betterproto2.field(1, betterproto2.TYPE_INT64)

    def to_dict(
        self,
        *,
        output_format: betterproto2.OutputFormat = betterproto2.OutputFormat.PROTO_JSON,
        casing: betterproto2.Casing = betterproto2.Casing.CAMEL,
        include_default_values: bool = False,
    ) -> dict[str, typing.Any] | typing.Any:
        """The proto3 JSON form of the wrapped value (runbind post-processing)."""
        return str(self.value)

    @classmethod
    def from_dict(cls, value: typing.Any, *, ignore_unknown_fields: bool = False) -> Self:
        """The proto3 JSON form of the wrapped value (runbind post-processing)."""
        if isinstance(value, dict):
            return super().from_dict(value, ignore_unknown_fields=ignore_unknown_fields)
        return cls(value=int(value))


@dataclass(eq=False, repr=False)
class UInt64Value(betterproto2.Message):
    """As :class:`Int64Value`."""

    value: int = betterproto2.field(1, betterproto2.TYPE_UINT64)

    def to_dict(
        self,
        *,
        output_format: betterproto2.OutputFormat = betterproto2.OutputFormat.PROTO_JSON,
        casing: betterproto2.Casing = betterproto2.Casing.CAMEL,
        include_default_values: bool = False,
    ) -> dict[str, typing.Any] | typing.Any:
        """The proto3 JSON form of the wrapped value (runbind post-processing)."""
        return str(self.value)

    @classmethod
    def from_dict(cls, value: typing.Any, *, ignore_unknown_fields: bool = False) -> Self:
        """The proto3 JSON form of the wrapped value (runbind post-processing)."""
        if isinstance(value, dict):
            return super().from_dict(value, ignore_unknown_fields=ignore_unknown_fields)
        return cls(value=int(value))


@dataclass(eq=False, repr=False)
class Int32Value(betterproto2.Message):
    """Fix 3: a 32-bit wrapper is a JSON number, and reads a string or a number."""

    value: int = betterproto2.field(1, betterproto2.TYPE_INT32)

    def to_dict(
        self,
        *,
        output_format: betterproto2.OutputFormat = betterproto2.OutputFormat.PROTO_JSON,
        casing: betterproto2.Casing = betterproto2.Casing.CAMEL,
        include_default_values: bool = False,
    ) -> dict[str, typing.Any] | typing.Any:
        """The proto3 JSON form of the wrapped value (runbind post-processing)."""
        return self.value

    @classmethod
    def from_dict(cls, value: typing.Any, *, ignore_unknown_fields: bool = False) -> Self:
        """The proto3 JSON form of the wrapped value (runbind post-processing)."""
        if isinstance(value, dict):
            return super().from_dict(value, ignore_unknown_fields=ignore_unknown_fields)
        return cls(value=int(value))


@dataclass(eq=False, repr=False)
class UInt32Value(betterproto2.Message):
    """As :class:`Int32Value`."""

    value: int = betterproto2.field(1, betterproto2.TYPE_UINT32)

    def to_dict(
        self,
        *,
        output_format: betterproto2.OutputFormat = betterproto2.OutputFormat.PROTO_JSON,
        casing: betterproto2.Casing = betterproto2.Casing.CAMEL,
        include_default_values: bool = False,
    ) -> dict[str, typing.Any] | typing.Any:
        """The proto3 JSON form of the wrapped value (runbind post-processing)."""
        return self.value

    @classmethod
    def from_dict(cls, value: typing.Any, *, ignore_unknown_fields: bool = False) -> Self:
        """The proto3 JSON form of the wrapped value (runbind post-processing)."""
        if isinstance(value, dict):
            return super().from_dict(value, ignore_unknown_fields=ignore_unknown_fields)
        return cls(value=int(value))


@dataclass(eq=False, repr=False)
class FloatValue(betterproto2.Message):
    """Fixes 3 and 5: ``"NaN"`` and ``"Infinity"`` in JSON; ``-0.0`` keeps its sign on the wire."""

    value: float = betterproto2.field(1, betterproto2.TYPE_FLOAT)

    def to_dict(
        self,
        *,
        output_format: betterproto2.OutputFormat = betterproto2.OutputFormat.PROTO_JSON,
        casing: betterproto2.Casing = betterproto2.Casing.CAMEL,
        include_default_values: bool = False,
    ) -> dict[str, typing.Any] | typing.Any:
        """The proto3 JSON form of the wrapped value (runbind post-processing)."""
        return _json_float(self.value)

    @classmethod
    def from_dict(cls, value: typing.Any, *, ignore_unknown_fields: bool = False) -> Self:
        """The proto3 JSON form of the wrapped value (runbind post-processing)."""
        if isinstance(value, dict):
            return super().from_dict(value, ignore_unknown_fields=ignore_unknown_fields)
        return cls(value=float(value))

    def __bytes__(self) -> bytes:
        """Keep the sign of -0.0 (betterproto2 drops it as a default; runbind post-processing)."""
        if self.value == 0 and math.copysign(1.0, self.value) < 0:
            return b"\x0d" + struct.pack("<f", self.value) + self._unknown_fields
        return super().__bytes__()


@dataclass(eq=False, repr=False)
class DoubleValue(betterproto2.Message):
    """As :class:`FloatValue`, with 8 bytes on the wire."""

    value: float = betterproto2.field(1, betterproto2.TYPE_DOUBLE)

    def to_dict(
        self,
        *,
        output_format: betterproto2.OutputFormat = betterproto2.OutputFormat.PROTO_JSON,
        casing: betterproto2.Casing = betterproto2.Casing.CAMEL,
        include_default_values: bool = False,
    ) -> dict[str, typing.Any] | typing.Any:
        """The proto3 JSON form of the wrapped value (runbind post-processing)."""
        return _json_float(self.value)

    @classmethod
    def from_dict(cls, value: typing.Any, *, ignore_unknown_fields: bool = False) -> Self:
        """The proto3 JSON form of the wrapped value (runbind post-processing)."""
        if isinstance(value, dict):
            return super().from_dict(value, ignore_unknown_fields=ignore_unknown_fields)
        return cls(value=float(value))

    def __bytes__(self) -> bytes:
        """Keep the sign of -0.0 (betterproto2 drops it as a default; runbind post-processing)."""
        if self.value == 0 and math.copysign(1.0, self.value) < 0:
            return b"\x09" + struct.pack("<d", self.value) + self._unknown_fields
        return super().__bytes__()


@dataclass(eq=False, repr=False)
class BytesValue(betterproto2.Message):
    """Fix 3: base64 JSON both ways."""

    value: bytes = betterproto2.field(1, betterproto2.TYPE_BYTES)

    def to_dict(
        self,
        *,
        output_format: betterproto2.OutputFormat = betterproto2.OutputFormat.PROTO_JSON,
        casing: betterproto2.Casing = betterproto2.Casing.CAMEL,
        include_default_values: bool = False,
    ) -> dict[str, typing.Any] | typing.Any:
        """The proto3 JSON form of the wrapped value (runbind post-processing)."""
        return base64.b64encode(self.value).decode("ascii")

    @classmethod
    def from_dict(cls, value: typing.Any, *, ignore_unknown_fields: bool = False) -> Self:
        """The proto3 JSON form of the wrapped value (runbind post-processing)."""
        if isinstance(value, dict):
            return super().from_dict(value, ignore_unknown_fields=ignore_unknown_fields)
        return cls(value=base64.b64decode(value))
