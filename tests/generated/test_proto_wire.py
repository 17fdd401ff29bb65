"""Wire and proto3-JSON compatibility of the generated betterproto2 layer with Google's protobuf.

Google's side is built in the test session from the same spec files: ``protoc
--descriptor_set_out --include_imports`` into a temp dir, loaded into a *private*
``DescriptorPool`` and turned into message classes with ``message_factory`` (the upb
implementation, exactly what ``--python_out`` modules use). A private pool sidesteps the
``google`` namespace clash of ``google/api/*_pb2`` with protobuf's own package and keeps
the default pool clean.

Every message reachable from the run, thread, message, assistant and file services is
filled by a descriptor-driven filler (edge values per type, one variant per oneof
branch), then checked both directions on the wire and in JSON, field by field.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib
import json
import math
import os
import pkgutil
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import betterproto2
import grpc_tools
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message as GMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GENERATED = PROJECT_ROOT / "generated"
PROTO_PACKAGE = "runbind_generated.proto"
SPEC_ENV = "RUNBIND_SPECS_CLOUDAPI"
DEFAULT_SPEC = PROJECT_ROOT / "specs" / "upstream" / "cloudapi"
SERVICE_FILES = (
    "yandex/cloud/ai/assistants/v1/runs/run_service.proto",
    "yandex/cloud/ai/assistants/v1/threads/thread_service.proto",
    "yandex/cloud/ai/assistants/v1/threads/message_service.proto",
    "yandex/cloud/ai/assistants/v1/assistant_service.proto",
    "yandex/cloud/ai/files/v1/file_service.proto",
)
KEY_MESSAGES = (
    "yandex.cloud.ai.assistants.v1.runs.Run",
    "yandex.cloud.ai.assistants.v1.runs.StreamEvent",
    "yandex.cloud.ai.assistants.v1.threads.Message",
    "yandex.cloud.ai.assistants.v1.threads.Thread",
    "yandex.cloud.ai.assistants.v1.Assistant",
    "yandex.cloud.ai.files.v1.File",
)
WRAPPERS = {
    f"google.protobuf.{n}Value"
    for n in ("Bool", "Int32", "Int64", "UInt32", "UInt64", "Float", "Double", "String", "Bytes")
}
MAX_DEPTH = 4
T = FieldDescriptor
# protobuf's stubs split descriptors into python and upb classes with optional members;
# the checks below only run on message descriptors loaded from a full descriptor set.
Descriptor = Any
FieldDesc = Any
# Upstream deprecates some fields (e.g. TextSearchIndex.ngram_tokenizer); we still set them.
pytestmark = pytest.mark.filterwarnings("ignore:.* is deprecated:DeprecationWarning")

# --------------------------------------------------------------------------- session fixtures


@dataclass
class World:
    pool: descriptor_pool.DescriptorPool
    service_messages: dict[str, list[Descriptor]]
    ours_by_name: dict[str, type[betterproto2.Message]]

    def google_cls(self, desc: Descriptor) -> type[GMessage]:
        return message_factory.GetMessageClass(desc)

    def ours_cls(self, desc: Descriptor) -> type[betterproto2.Message]:
        return self.ours_by_name[desc.full_name]


def _spec_root() -> Path:
    root = Path(os.environ.get(SPEC_ENV, str(DEFAULT_SPEC)))
    if not (root / SERVICE_FILES[0]).is_file():
        pytest.fail(
            f"cloudapi specs not found at {root} (set {SPEC_ENV} or run `nox -s sync`)",
            pytrace=False,
        )
    return root


def _import_generated() -> dict[str, type[betterproto2.Message]]:
    if not (GENERATED / "runbind_generated" / "proto" / "message_pool.py").is_file():
        pytest.fail(
            f"generated proto package missing under {GENERATED} (run `nox -s generate`)",
            pytrace=False,
        )
    if str(GENERATED) not in sys.path:
        sys.path.insert(0, str(GENERATED))
    package = importlib.import_module(PROTO_PACKAGE)
    for info in pkgutil.walk_packages(package.__path__, PROTO_PACKAGE + "."):
        importlib.import_module(info.name)
    pool = importlib.import_module(PROTO_PACKAGE + ".message_pool").default_message_pool
    prefix = "type.googleapis.com/"
    return {url.removeprefix(prefix): cls for url, cls in pool.url_to_type.items()}


def _reachable(roots: Sequence[Descriptor]) -> list[Descriptor]:
    seen: dict[str, Descriptor] = {}
    todo = list(roots)
    while todo:
        desc = todo.pop()
        if desc.full_name in seen:
            continue
        if not desc.GetOptions().map_entry:
            seen[desc.full_name] = desc
        todo += [f.message_type for f in desc.fields if f.message_type is not None]
    return [seen[name] for name in sorted(seen)]


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    spec = _spec_root()
    wkt = Path(grpc_tools.__file__).parent / "_proto"
    out = tmp_path_factory.mktemp("google") / "set.pb"
    args = [sys.executable, "-m", "grpc_tools.protoc", f"-I{spec}"]
    args += [f"-I{spec / 'third_party' / 'googleapis'}", f"-I{wkt}"]
    args += [f"--descriptor_set_out={out}", "--include_imports", *SERVICE_FILES]
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for file in fds.file:
        pool.Add(file)
    service_messages: dict[str, list[Descriptor]] = {}
    for name in SERVICE_FILES:
        fd = pool.FindFileByName(name)
        roots: list[Descriptor] = []
        for service in fd.services_by_name.values():
            for method in service.methods:
                roots += [method.input_type, method.output_type]
        service_messages[name] = _reachable(roots)
    return World(pool, service_messages, _import_generated())


# --------------------------------------------------------------------------- value trees


@dataclass
class MsgVal:
    """One message's content, independent of the implementation that will hold it."""

    desc: Descriptor
    fields: dict[str, Any] = field(default_factory=dict)


POOLS: dict[int, list[Any]] = {
    T.TYPE_INT32: [-(2**31), 2**31 - 1, -1, 1, 300],
    T.TYPE_SINT32: [-(2**31), 2**31 - 1, -1, 1],
    T.TYPE_SFIXED32: [-(2**31), 2**31 - 1, -1],
    T.TYPE_INT64: [-(2**63), 2**63 - 1, -1, 2**53 + 1],
    T.TYPE_SINT64: [-(2**63), 2**63 - 1, -1],
    T.TYPE_SFIXED64: [-(2**63), 2**63 - 1, -1],
    T.TYPE_UINT32: [2**32 - 1, 1, 2**31],
    T.TYPE_FIXED32: [2**32 - 1, 1],
    T.TYPE_UINT64: [2**64 - 1, 1, 2**63],
    T.TYPE_FIXED64: [2**64 - 1, 1],
    T.TYPE_DOUBLE: [math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308, 0.1],
    T.TYPE_FLOAT: [math.nan, math.inf, -math.inf, -0.0, 1.5, 3.4028234663852886e38, -2.0],
    T.TYPE_BOOL: [True, False],
    T.TYPE_STRING: ["ünïcødé ✓ 𝄞", "x", "nul\x00byte", "long " * 40],
    T.TYPE_BYTES: [b"\x00\xff\x80", b"\xff" * 200, b"\x00"],
}
ZERO: dict[int, Any] = {t: 0 for t in POOLS} | {
    T.TYPE_DOUBLE: 0.0,
    T.TYPE_FLOAT: 0.0,
    T.TYPE_BOOL: False,
    T.TYPE_STRING: "",
    T.TYPE_BYTES: b"",
}
UNKNOWN_ENUM_NUMBERS = [77777, -3]
TIMESTAMPS = [(0, 1), (-62135596800, 0), (253402300799, 999999999), (1753228800, 123456789)]
TIMESTAMPS += [(-1, 999999999), (1753228800, 120000000), (1753228800, 123456000)]
DURATIONS = [(1, 1), (-1, -1), (0, -500), (315576000000, 999999999), (-315576000000, 0)]


class Picker:
    """Chooses values: cycles deterministically through pools, or draws with hypothesis."""

    def __init__(self, variant: int, draw: Callable[[st.SearchStrategy[Any]], Any] | None) -> None:
        self.variant = variant
        self.draw = draw
        self.n = 0

    def one(self, options: Sequence[Any]) -> Any:
        if self.draw is not None:
            return self.draw(st.sampled_from(list(options)))
        self.n += 1
        return options[(self.variant + self.n) % len(options)]

    def count(self, full: int) -> int:
        return full if self.draw is None else self.draw(st.integers(0, full))

    def present(self) -> bool:
        return True if self.draw is None else bool(self.draw(st.booleans()))


@dataclass
class Filler:
    pool: descriptor_pool.DescriptorPool
    json_safe: bool
    picker: Picker

    def message(self, desc: Descriptor, depth: int = 0) -> MsgVal:
        special = self._special(desc, depth)
        if special is not None:
            return special
        out = MsgVal(desc)
        chosen: dict[str, str | None] = {}
        for oneof in desc.oneofs:
            names = [f.name for f in oneof.fields]
            if len(names) == 1 and oneof.fields[0].has_presence and _synthetic(oneof.fields[0]):
                continue
            chosen[oneof.name] = self.picker.one(names) if self.picker.present() else None
        for f in desc.fields:
            oneof = f.containing_oneof
            if oneof is not None and oneof.name in chosen and chosen[oneof.name] != f.name:
                continue
            if f.message_type is not None and depth >= MAX_DEPTH:
                continue
            if oneof is None and not self.picker.present():
                continue
            out.fields[f.name] = self.field(f, depth)
        return out

    def field(self, f: FieldDesc, depth: int) -> Any:
        if _is_map(f):
            key_f, val_f = (
                f.message_type.fields_by_name["key"],
                f.message_type.fields_by_name["value"],
            )
            keys = [self.single(key_f, depth, i) for i in range(self.picker.count(3))]
            keys += [ZERO[key_f.type]]
            return {k: self.single(val_f, depth + 1, i) for i, k in enumerate(keys)}
        if f.is_repeated:
            items = [self.single(f, depth + 1, i) for i in range(self.picker.count(3))]
            if f.message_type is None and self.picker.present():
                items.append(ZERO[f.type] if f.enum_type is None else 0)
            return items
        if f.has_presence and f.message_type is None and self.picker.one([True, False]):
            return ZERO[f.type] if f.enum_type is None else 0  # present with its zero value
        return self.single(f, depth + 1, 0)

    def single(self, f: FieldDesc, depth: int, index: int) -> Any:
        if f.message_type is not None:
            if index == 1 and f.message_type.full_name not in WRAPPERS:
                return MsgVal(f.message_type)  # an empty message in a list / map
            return self.message(f.message_type, depth)
        if f.enum_type is not None:
            known = [v.number for v in f.enum_type.values if v.number != 0]
            return self.picker.one(known + UNKNOWN_ENUM_NUMBERS)
        return self.picker.one(POOLS[f.type])

    def _special(self, desc: Descriptor, depth: int) -> MsgVal | None:
        name = desc.full_name
        if name == "google.protobuf.Timestamp":
            seconds, nanos = self.picker.one(TIMESTAMPS)
            return MsgVal(desc, {"seconds": seconds, "nanos": nanos})
        if name == "google.protobuf.Duration":
            seconds, nanos = self.picker.one(DURATIONS)
            return MsgVal(desc, {"seconds": seconds, "nanos": nanos})
        if name == "google.protobuf.FieldMask":
            return MsgVal(desc, {"paths": self.picker.one([["a_b", "c.d_e"], ["x"], []])})
        if name == "google.protobuf.Struct":
            return _struct_val(self.pool, self._json_value(depth))
        if name == "google.protobuf.Value":
            return _value_val(self.pool, self.picker.one([None, 1.5, "s", True, [1, "a"], {}]))
        if name == "google.protobuf.ListValue":
            return _list_val(self.pool, [1.0, "x", None, {"k": [False]}])
        if name == "google.protobuf.Any":
            inner = self.pool.FindMessageTypeByName("yandex.cloud.ai.common.Error")
            packed = self.message(inner, MAX_DEPTH)
            return MsgVal(
                desc, {"type_url": "type.googleapis.com/" + inner.full_name, "value": packed}
            )
        return None

    def _json_value(self, depth: int) -> dict[str, Any]:
        return {
            "null": None,
            "num": self.picker.one([1.5, -0.25, 1e300, 3.0]),
            "str": "ü",
            "bool": True,
            "list": [1.0, "a", None, [], {}],
            "obj": {"nested": {"deep": [True]}} if depth < MAX_DEPTH else {},
        }


def _synthetic(f: FieldDesc) -> bool:
    oneof = f.containing_oneof
    return oneof is not None and oneof.name == "_" + f.name


def _is_map(f: FieldDesc) -> bool:
    return f.message_type is not None and f.message_type.GetOptions().map_entry


def _value_val(pool: descriptor_pool.DescriptorPool, value: Any) -> MsgVal:
    desc = pool.FindMessageTypeByName("google.protobuf.Value")
    if value is None:
        return MsgVal(desc, {"null_value": 0})
    if isinstance(value, bool):
        return MsgVal(desc, {"bool_value": value})
    if isinstance(value, int | float):
        return MsgVal(desc, {"number_value": float(value)})
    if isinstance(value, str):
        return MsgVal(desc, {"string_value": value})
    if isinstance(value, list):
        return MsgVal(desc, {"list_value": _list_val(pool, value)})
    return MsgVal(desc, {"struct_value": _struct_val(pool, value)})


def _list_val(pool: descriptor_pool.DescriptorPool, value: list[Any]) -> MsgVal:
    desc = pool.FindMessageTypeByName("google.protobuf.ListValue")
    return MsgVal(desc, {"values": [_value_val(pool, v) for v in value]})


def _struct_val(pool: descriptor_pool.DescriptorPool, value: dict[str, Any]) -> MsgVal:
    desc = pool.FindMessageTypeByName("google.protobuf.Struct")
    return MsgVal(desc, {"fields": {k: _value_val(pool, v) for k, v in value.items()}})


# --------------------------------------------------------------------------- builders


def to_google(world: World, mv: MsgVal) -> Any:
    msg: Any = world.google_cls(mv.desc)()
    for name, value in mv.fields.items():
        f = mv.desc.fields_by_name[name]
        if mv.desc.full_name == "google.protobuf.Any" and name == "value":
            msg.value = to_google(world, value).SerializeToString(deterministic=True)
        elif _is_map(f):
            target = getattr(msg, name)
            for k, v in value.items():
                if isinstance(v, MsgVal):
                    target[k].CopyFrom(to_google(world, v))
                else:
                    target[k] = v
        elif f.is_repeated:
            target = getattr(msg, name)
            for v in value:
                if isinstance(v, MsgVal):
                    target.add().CopyFrom(to_google(world, v))
                else:
                    target.append(v)
        elif isinstance(value, MsgVal):
            getattr(msg, name).SetInParent()
            getattr(msg, name).CopyFrom(to_google(world, value))
        else:
            setattr(msg, name, value)
    return msg


def _meta(cls: type[betterproto2.Message]) -> Any:
    return cast(Any, cls)._betterproto


def _our_name(cls: type[betterproto2.Message], f: FieldDesc) -> str:
    return str(_meta(cls).field_name_by_number[f.number])


def to_ours(world: World, mv: MsgVal) -> betterproto2.Message:
    cls = world.ours_cls(mv.desc)
    kwargs: dict[str, Any] = {}
    for name, value in mv.fields.items():
        f = mv.desc.fields_by_name[name]
        our = _our_name(cls, f)
        meta = _meta(cls).meta_by_field_name[our]
        if mv.desc.full_name == "google.protobuf.Any" and name == "value":
            kwargs[our] = bytes(to_ours(world, value))
        elif _is_map(f):
            val_f = f.message_type.fields_by_name["value"]
            assert meta.map_meta is not None
            unwrap = meta.map_meta[1].unwrap
            enum_cls = _meta(cls).cls_by_field.get(f"{our}.value")
            kwargs[our] = {
                k: _our_single(world, val_f, v, unwrap, enum_cls) for k, v in value.items()
            }
        elif f.is_repeated:
            enum_cls = _meta(cls).cls_by_field[our]
            kwargs[our] = [_our_single(world, f, v, meta.unwrap, enum_cls) for v in value]
        else:
            kwargs[our] = _our_single(world, f, value, meta.unwrap, _meta(cls).cls_by_field[our])
    return cls(**kwargs)


def _our_single(world: World, f: FieldDesc, value: Any, unwrap: Any, field_cls: type | None) -> Any:
    if isinstance(value, MsgVal):
        if unwrap is not None:  # betterproto2 holds wrapper types as plain Python values
            inner = value.desc.fields_by_name["value"]
            return value.fields.get("value", ZERO[inner.type])
        return to_ours(world, value)
    if f.enum_type is not None:
        assert field_cls is not None
        return field_cls(value)
    return value


# --------------------------------------------------------------------------- comparator


def compare(world: World, g: Any, ours: Any, path: str) -> list[str]:
    """Every field of ``ours`` equals Google's value; returns the differences."""
    errors: list[str] = []
    desc = g.DESCRIPTOR
    if not isinstance(ours, betterproto2.Message):
        return [f"{path}: expected a message, got {type(ours).__name__}"]
    cls = type(ours)
    for f in desc.fields:
        here = f"{path}.{f.name}"
        ov = getattr(ours, _our_name(cls, f))
        gv = getattr(g, f.name)
        if _is_map(f):
            if set(gv.keys()) != set(ov.keys()):
                errors.append(f"{here}: keys {sorted(gv.keys())} != {sorted(ov.keys())}")
                continue
            val_f = f.message_type.fields_by_name["value"]
            for k in gv:
                errors += _compare_single(world, val_f, gv[k], ov[k], f"{here}[{k!r}]")
        elif f.is_repeated:
            if len(gv) != len(ov):
                errors.append(f"{here}: {len(gv)} items != {len(ov)}")
                continue
            for i, (gi, oi) in enumerate(zip(gv, ov, strict=True)):
                errors += _compare_single(world, f, gi, oi, f"{here}[{i}]")
        elif f.has_presence and not g.HasField(f.name):
            if ov is not None:
                errors.append(f"{here}: unset in Google, {ov!r} in ours")
        elif f.has_presence and ov is None:
            errors.append(f"{here}: set in Google, None in ours")
        else:
            errors += _compare_single(world, f, gv, ov, here)
    return errors


def _compare_single(world: World, f: FieldDesc, gv: Any, ov: Any, path: str) -> list[str]:
    if f.message_type is not None:
        if f.message_type.full_name in WRAPPERS and not isinstance(ov, betterproto2.Message):
            return _compare_single(
                world, f.message_type.fields_by_name["value"], gv.value, ov, path
            )
        return compare(world, gv, ov, path)
    if f.enum_type is not None:
        ok = isinstance(ov, betterproto2.Enum) and int(ov) == gv
    elif f.type in (T.TYPE_DOUBLE, T.TYPE_FLOAT):
        ok = isinstance(ov, float | int) and (
            (math.isnan(gv) and math.isnan(ov))
            or (gv == ov and math.copysign(1, gv) == math.copysign(1, ov))
        )
    else:
        ok = type(ov) is type(gv) and ov == gv
    return [] if ok else [f"{path}: Google {gv!r} != ours {ov!r}"]


# --------------------------------------------------------------------------- checks


def variants(world: World, desc: Descriptor, *, json_safe: bool) -> Iterator[MsgVal]:
    branches = max([len(o.fields) for o in desc.oneofs if not _synthetic(o.fields[0])] + [1])
    for variant in range(max(branches, 3)):
        yield Filler(world.pool, json_safe, Picker(variant, None)).message(desc)


def canon(g: GMessage) -> bytes:
    return g.SerializeToString(deterministic=True)


def check_google_to_ours(world: World, mv: MsgVal) -> list[str]:
    g = to_google(world, mv)
    data = canon(g)
    ours = world.ours_cls(mv.desc).parse(data)
    errors = compare(world, g, ours, mv.desc.name)
    back = bytes(ours)
    again = world.google_cls(mv.desc).FromString(back)
    if canon(again) != data:
        errors.append(f"{mv.desc.name}: re-encoded bytes differ in canonical form")
    if back != data and not _order_sensitive(mv.desc):
        errors.append(f"{mv.desc.name}: raw bytes differ\n  G {data.hex()}\n  O {back.hex()}")
    return errors


def _order_sensitive(desc: Descriptor, seen: frozenset[str] = frozenset()) -> bool:
    """Raw bytes are only well defined if no map (key order) is reachable."""
    if desc.full_name in seen:
        return False
    if any(_is_map(f) for f in desc.fields):
        return True
    return any(
        _order_sensitive(f.message_type, seen | {desc.full_name})
        for f in desc.fields
        if f.message_type is not None
    )


def check_ours_to_google(world: World, mv: MsgVal) -> list[str]:
    ours = to_ours(world, mv)
    expected = to_google(world, mv)
    decoded = world.google_cls(mv.desc).FromString(bytes(ours))
    errors = compare(world, decoded, ours, mv.desc.name)
    if canon(decoded) != canon(expected):
        errors.append(f"{mv.desc.name}: Google decodes ours to a different message")
    return errors


def _norm(value: Any) -> Any:
    """JSON values compared semantically: numbers by float value, containers recursively."""
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    return float(value)


_TS_RE = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z"')


def _with_offsets(text: str) -> str:
    """Rewrite RFC 3339 ``Z`` timestamps to the same instant with a +05:30 / -05:30 offset."""

    def shift(m: re.Match[str]) -> str:
        utc = dt.datetime.fromisoformat(m.group(1))
        sign = -1 if utc.year == 9999 else 1
        local = utc + sign * dt.timedelta(hours=5, minutes=30)
        zone = "+05:30" if sign > 0 else "-05:30"
        return f'"{local.isoformat()}{m.group(2) or ""}{zone}"'

    return _TS_RE.sub(shift, text)


def check_json(world: World, mv: MsgVal) -> list[str]:
    errors: list[str] = []
    g = to_google(world, mv)
    cls = world.ours_cls(mv.desc)
    name = mv.desc.name
    gcls = world.google_cls(mv.desc)
    pool = world.pool
    # Output: ours must print what Google prints (camelCase and original names).
    ours = cls.parse(canon(g))
    for preserve, casing in ((False, betterproto2.Casing.CAMEL), (True, betterproto2.Casing.SNAKE)):
        expected = json.loads(
            json_format.MessageToJson(g, preserving_proto_field_name=preserve, descriptor_pool=pool)
        )
        try:
            got = json.loads(ours.to_json(casing=casing))
        except Exception as exc:  # report, keep going
            errors.append(f"{name}: to_json(casing={casing.name}) raised {exc!r}")
            continue
        if _norm(got) != _norm(expected):
            errors.append(f"{name}: to_json({casing.name}) differs\n  G {expected}\n  O {got}")
        try:
            parsed = json_format.Parse(json.dumps(got), gcls(), descriptor_pool=pool)
        except Exception as exc:
            errors.append(f"{name}: Google cannot parse our JSON: {exc}")
            continue
        if canon(parsed) != canon(g):
            errors.append(f"{name}: Google reads our JSON ({casing.name}) as a different message")
    # Input: every form the mapping allows, parsed by both.
    forms = {
        "camel": {},
        "original names": {"preserving_proto_field_name": True},
        "enum numbers": {"use_integers_for_enums": True},
        "int64 numbers": {"unquote_int64_if_possible": True},
    }
    for label, opts in forms.items():
        text = json_format.MessageToJson(g, descriptor_pool=pool, **opts)
        for form, payload in ((label, text), (label + " + offsets", _with_offsets(text))):
            expected_g = json_format.Parse(payload, gcls(), descriptor_pool=pool)
            try:
                from_json = cls.from_json(payload)
                from_dict = cls.from_dict(json.loads(payload))
            except Exception as exc:
                errors.append(f"{name}: from_json({form}) raised {exc!r}")
                continue
            errors += compare(world, expected_g, from_json, f"{name}<{form}>")
            if bytes(from_dict) != bytes(from_json):
                errors.append(f"{name}: from_dict and from_json disagree on {form}")
    return errors


CHECKS: dict[str, Callable[[World, MsgVal], list[str]]] = {
    "google-to-ours": check_google_to_ours,
    "ours-to-google": check_ours_to_google,
    "json": check_json,
}


def _run(world: World, service_file: str, check: str) -> None:
    errors: list[str] = []
    for desc in world.service_messages[service_file]:
        for mv in variants(world, desc, json_safe=check == "json"):
            errors += CHECKS[check](world, mv)
    unique = list(dict.fromkeys(errors))
    assert not unique, f"{len(unique)} differences:\n" + "\n".join(unique[:40])


@pytest.mark.parametrize("check", sorted(CHECKS))
@pytest.mark.parametrize("service_file", SERVICE_FILES, ids=lambda s: s.rsplit("/", 1)[-1])
def test_every_message(world: World, service_file: str, check: str) -> None:
    _run(world, service_file, check)


def test_reachable_messages_cover_the_run_surface(world: World) -> None:
    names = {d.full_name for ds in world.service_messages.values() for d in ds}
    assert set(KEY_MESSAGES) <= names
    assert "yandex.cloud.ai.assistants.v1.runs.RunState" in names
    missing = sorted(n for n in names if n not in world.ours_by_name)
    assert not missing, f"no generated class for {missing}"


# --------------------------------------------------------------------------- hypothesis


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), which=st.sampled_from(KEY_MESSAGES))
def test_random_messages_round_trip(world: World, data: st.DataObject, which: str) -> None:
    desc = world.pool.FindMessageTypeByName(which)
    mv = Filler(world.pool, json_safe=True, picker=Picker(0, data.draw)).message(desc)
    errors = [e for check in CHECKS.values() for e in check(world, mv)]
    assert not errors, "\n".join(errors[:20])


# --------------------------------------------------------------------------- targeted cases


def _run_cls(world: World) -> tuple[type[GMessage], type[betterproto2.Message]]:
    desc = world.pool.FindMessageTypeByName("yandex.cloud.ai.assistants.v1.runs.Run")
    return world.google_cls(desc), world.ours_cls(desc)


def test_unknown_fields_survive_a_round_trip(world: World) -> None:
    gcls, ocls = _run_cls(world)
    g = gcls(id="run-1")
    # field 999 (varint), 1000 (length-delimited), 1001 (fixed32), 1002 (fixed64)
    tail = bytes.fromhex("b83e07") + bytes.fromhex("c23e03616263")
    tail += bytes.fromhex("cd3e01020304") + bytes.fromhex("d13e0102030405060708")
    data = canon(g) + tail
    ours = ocls.parse(data)
    assert bytes(ours) == data
    assert canon(gcls.FromString(bytes(ours))) == canon(gcls.FromString(data))


def test_timestamps_outside_datetime_range_are_kept(world: World) -> None:
    gcls, ocls = _run_cls(world)
    for seconds, nanos in ((2**62, 5), (-(2**62), -1), (0, 1_999_999_999)):
        g: Any = gcls()
        g.created_at.seconds, g.created_at.nanos = seconds, nanos
        ours = ocls.parse(canon(g))
        ts = cast(Any, ours).created_at
        assert (ts.seconds, ts.nanos) == (seconds, nanos)
        assert bytes(ours) == canon(g)


def test_json_forms_of_well_known_types(world: World) -> None:
    _, ocls = _run_cls(world)
    ts_cls = world.ours_by_name["google.protobuf.Timestamp"]
    fm_cls = world.ours_by_name["google.protobuf.FieldMask"]
    ts: Any = ts_cls.from_dict("2026-07-23T10:00:00.000000001+03:00")
    assert ts.to_dict() == "2026-07-23T07:00:00.000000001Z"
    assert fm_cls.from_dict("a.bC,dEf").paths == ["a.b_c", "d_ef"]  # type: ignore[attr-defined]
    run = ocls.from_dict({"createdAt": "1970-01-01T00:00:00Z", "labels": {"k": ""}})
    assert run.to_dict() == {"createdAt": "1970-01-01T00:00:00Z", "labels": {"k": ""}}


# --------------------------------------------------------------------------- open enums


def test_unknown_enum_numbers_are_kept(world: World) -> None:
    desc = world.pool.FindMessageTypeByName("yandex.cloud.ai.assistants.v1.runs.RunState")
    gcls, ocls = world.google_cls(desc), world.ours_cls(desc)
    for number in (12345, -7, 2**31 - 1):
        data = canon(gcls(status=number))
        state = ocls.parse(data)
        status = state.status  # type: ignore[attr-defined]
        assert int(status) == number
        assert isinstance(status, betterproto2.Enum)
        assert not status.name  # the open-enum "~UNKNOWN" member, not an error
        assert bytes(state) == data
        as_json = state.to_json()
        assert json.loads(as_json) == {"status": number}
        assert int(ocls.from_json(as_json).status) == number  # type: ignore[attr-defined]
        assert canon(json_format.Parse(as_json, gcls(), descriptor_pool=world.pool)) == data
        encoded = base64.b64encode(data)
        assert base64.b64decode(encoded) == bytes(state)


# --------------------------------------------------------------------------- literal _pb2 modules

_PB2_PROBE = """
import importlib, json, sys
from google.protobuf import json_format
sys.path.insert(0, sys.argv[1])
out = {}
for name, hexdata in json.loads(sys.stdin.read()).items():
    module_name, _, message = name.rpartition(":")
    cls = getattr(importlib.import_module(module_name), message)
    msg = cls.FromString(bytes.fromhex(hexdata))
    out[name] = [msg.SerializeToString(deterministic=True).hex(), json_format.MessageToJson(msg)]
print(json.dumps(out))
"""


def test_pb2_modules_from_grpcio_tools_agree(world: World, tmp_path: Path) -> None:
    """``protoc --python_out`` modules (what users of Google's library import) read our bytes
    exactly like the descriptor-pool classes the other tests use: same canonical bytes, same JSON.
    """
    spec = _spec_root()
    wkt = Path(grpc_tools.__file__).parent / "_proto"
    closure: set[str] = set()
    todo = [world.pool.FindFileByName(name) for name in SERVICE_FILES]
    while todo:
        fd = todo.pop()
        if fd.name not in closure:
            closure.add(fd.name)
            todo += list(fd.dependencies)
    files = sorted(f for f in closure if not f.startswith("google/protobuf/"))
    args = [sys.executable, "-m", "grpc_tools.protoc", f"-I{spec}"]
    args += [f"-I{spec / 'third_party' / 'googleapis'}", f"-I{wkt}", f"--python_out={tmp_path}"]
    proc = subprocess.run([*args, *files], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    payload: dict[str, str] = {}
    expected: dict[str, list[str]] = {}
    for full_name in KEY_MESSAGES:
        desc = world.pool.FindMessageTypeByName(full_name)
        mv = next(variants(world, desc, json_safe=True))
        data = bytes(to_ours(world, mv))
        module = desc.file.name.removesuffix(".proto").replace("/", ".") + "_pb2"
        key = f"{module}:{desc.name}"
        payload[key] = data.hex()
        g = world.google_cls(desc).FromString(data)
        expected[key] = [canon(g).hex(), json_format.MessageToJson(g)]
    # A separate interpreter: _pb2 modules register in the default pool, kept out of this one.
    run = subprocess.run(
        [sys.executable, "-c", _PB2_PROBE, str(tmp_path)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    for key, (bytes_hex, text) in expected.items():
        assert got[key][0] == bytes_hex, f"{key}: canonical bytes differ"
        assert json.loads(got[key][1]) == json.loads(text), f"{key}: JSON differs"
