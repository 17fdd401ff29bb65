"""Proto3 JSON codecs, generated per message type from the betterproto2 output and descriptors.

betterproto2's ``to_dict`` / ``from_dict`` walk the field metadata and type hints of every
object at run time (5-7x slower than Google's ``json_format``), and its JSON names are its own
camel-casing of the Python field names: a field's ``json_name`` (explicit, or protoc's
lowerCamel, which differs for names such as ``field_1a``) was ignored on output and refused on
input. For every generated message this step writes a writer and a reader specialised to its
fields, with the names taken from the descriptors protoc writes:

- output uses each field's ``json_name`` (``Casing.SNAKE``: the proto field name); input accepts
  both, as Google does;
- the forms are Google's: 64-bit integers as strings, ``"NaN"`` / ``"Infinity"``, floats as the
  shortest decimal that reads back as the same float, ``-0.0`` kept, bytes as base64, enum names
  (a number the enum does not list stays a number), Timestamp / Duration exact to the
  nanosecond, FieldMask, wrappers, Struct / Value / ListValue and Any;
- defaults are left out; ``include_default_values=True`` adds the fields that have no presence
  (scalars, repeated fields and maps), like ``always_print_fields_with_no_presence``;
- input is checked like Google checks it: unknown keys (unless ``ignore_unknown_fields``),
  numbers out of range, two members of one oneof, wrong JSON types are a ``JsonError`` (a
  ``ValueError``).

Objects are made with ``object.__new__`` and their attributes set in the order the binary
decoder sets them (see :mod:`codegen.fastproto`). Output in another format
(``OutputFormat.PYTHON``) and subclasses keep betterproto2's own methods.

The step runs in a fresh interpreter that imports the just-built package and reads the
descriptor set protoc wrote for it; it writes ``_json.py`` next to each ``_codec.py`` and
``_json_runtime.py`` (a verbatim copy of :mod:`codegen.runtime.jsoncodec`) at the package root,
and appends one import line to each generated module.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen.errors import GenerationError
from codegen.fastproto import _Code, _modules, _source_label
from codegen.headers import python_header
from codegen.runtime import jsoncodec as runtime

RUNTIME_MODULE = "_json_runtime"
JSON_MODULE = "_json"
INSTALL_LINE = f"from . import {JSON_MODULE} as {JSON_MODULE}  # installs the JSON codecs"

_WKT = "google.protobuf."
# Well-known messages with a JSON form of their own: the runtime writes and reads them.
_SPECIAL = {
    _WKT + "Timestamp": ("_rt.timestamp({x})", "_rt.timestamp_from({cls}, {x})"),
    _WKT + "Duration": ("_rt.duration({x})", "_rt.duration_from({cls}, {x})"),
    _WKT + "FieldMask": ("_rt.field_mask({x})", "_rt.field_mask_from({cls}, {x})"),
    _WKT + "Struct": ("_rt.struct_({x})", "_rt.struct_from({x})"),
    _WKT + "Value": ("_rt.value({x})", "_rt.value_from({x})"),
    _WKT + "ListValue": ("_rt.list_value({x})", "_rt.list_value_from({x})"),
    _WKT + "Any": ("_rt.any_({x}, c, full)", "_rt.any_from({cls}, {x}, ign)"),
}
_WRAPPERS = {
    _WKT + n + "Value"
    for n in ("Bool", "Int32", "Int64", "UInt32", "UInt64", "Float", "Double", "String", "Bytes")
}
_INT32 = {"int32", "sint32", "sfixed32"}
_UINT32 = {"uint32", "fixed32"}
_INT64 = {"int64", "sint64", "sfixed64"}
_UINT64 = {"uint64", "fixed64"}
_TYPE_NAMES = {
    1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64", 7: "fixed32",
    8: "bool", 9: "string", 11: "message", 12: "bytes", 13: "uint32", 14: "enum",
    15: "sfixed32", 16: "sfixed64", 17: "sint32", 18: "sint64",
}  # fmt: skip


@dataclass
class _Ref:
    module: str
    name: str


@dataclass
class _Value:
    """What one value of a field is: a kind, and for messages and enums which one."""

    kind: str  # a scalar kind, "enum", "message" or "special"
    ref: _Ref | None = None
    full_name: str = ""
    enum_names: dict[int, str] | None = None  # number: name, for enums


@dataclass
class _Field:
    name: str  # the Python attribute
    json_name: str
    proto_name: str
    value: _Value
    repeated: bool
    is_map: bool
    presence: bool  # None when unset: messages, optional, oneof members, wrappers
    group: str | None
    key_kind: str = ""


@dataclass
class _Message:
    name: str
    full_name: str
    fields: list[_Field]


def _ref(cls: Any) -> _Ref:
    return _Ref(cls.__module__, cls.__name__)


def _value(desc: Any, cls: Any) -> _Value:
    kind = _TYPE_NAMES[desc.type]
    if kind == "message":
        full = desc.message_type.full_name
        if full in _SPECIAL:
            return _Value("special", _ref(cls), full)
        return _Value("message", _ref(cls), full)
    if kind == "enum":
        names: dict[int, str] = {}
        for v in desc.enum_type.values:
            names.setdefault(v.number, v.name)
        return _Value("enum", _ref(cls), desc.enum_type.full_name, names)
    return _Value(kind)


def _describe(cls: Any, desc: Any) -> _Message:
    meta = cls._betterproto
    by_number = {f.number: f for f in desc.fields}
    fields: list[_Field] = []
    for name, fmeta in meta.meta_by_field_name.items():
        fd = by_number.get(fmeta.number)
        if fd is None:
            raise GenerationError(f"fastjson: {desc.full_name} has no field {fmeta.number}")
        is_map = fmeta.proto_type == "map"
        key_kind = ""
        if is_map:
            key_fd = fd.message_type.fields_by_name["key"]
            value_fd = fd.message_type.fields_by_name["value"]
            key_kind = _TYPE_NAMES[key_fd.type]
            value = _value(value_fd, meta.cls_by_field.get(f"{name}.value"))
        elif fmeta.unwrap is not None:
            inner = fd.message_type.fields_by_name["value"]
            value = _Value(_TYPE_NAMES[inner.type])
        else:
            value = _value(fd, meta.cls_by_field.get(name))
        fields.append(
            _Field(
                name=name,
                json_name=fd.json_name,
                proto_name=fd.name,
                value=value,
                repeated=bool(fmeta.repeated) and not is_map,
                is_map=is_map,
                presence=bool(fmeta.optional)
                or fmeta.group is not None
                or fmeta.unwrap is not None
                or (value.kind in ("message", "special") and not fmeta.repeated and not is_map),
                group=fmeta.group,
                key_kind=key_kind,
            )
        )
    return _Message(cls.__name__, desc.full_name, fields)


# --------------------------------------------------------------------------- emitting


class _Names:
    """The names a JSON codec module uses for foreign modules, classes and enum tables."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.modules: dict[str, str] = {}
        self.classes: dict[tuple[str, str], str] = {}
        self.enums: dict[tuple[str, str], tuple[str, _Value]] = {}

    def codec(self, ref: _Ref) -> str:
        if ref.module == self.module:
            return ""
        return self.modules.setdefault(ref.module, f"_m{len(self.modules)}") + "."

    def cls(self, ref: _Ref) -> str:
        return self.classes.setdefault((ref.module, ref.name), f"_C{len(self.classes)}")

    def enum(self, value: _Value) -> str:
        assert value.ref is not None
        self.cls(value.ref)
        key = (value.ref.module, value.ref.name)
        if key not in self.enums:
            self.enums[key] = (f"_E{len(self.enums)}", value)
        return self.enums[key][0]


def _out(v: _Value, x: str, names: _Names) -> str:
    """The expression for the JSON form of the value ``x``."""
    kind = v.kind
    if kind in ("string", "bool") or kind in _INT32 or kind in _UINT32:
        return x
    if kind in _INT64 or kind in _UINT64:
        return f"str({x})"
    if kind == "double":
        return f"{x} if -_INF < {x} < _INF else _rt.double({x})"
    if kind == "float":
        return f"_rt.single({x})"
    if kind == "bytes":
        return f"_b64({x})"
    assert v.ref is not None
    if kind == "enum":
        if v.full_name == _WKT + "NullValue":
            return "None"
        return f"{names.enum(v)}_N[{x}]"
    if kind == "special":
        return _SPECIAL[v.full_name][0].format(x=x)
    return f"{names.codec(v.ref)}to_{v.ref.name}({x}, c, full)"


def _in(v: _Value, x: str, names: _Names) -> str:
    """The expression for the Python value of the JSON value ``x`` (not null)."""
    kind = v.kind
    if kind == "string":
        return f"{x} if type({x}) is str and {x}.isascii() else _rt.text({x})"
    if kind == "bool":
        return f"{x} if {x} is True or {x} is False else _rt.boolean({x})"
    if kind in _INT32:
        return f"{x} if type({x}) is int and -2147483648 <= {x} <= 2147483647 else _rt.int32({x})"
    if kind in _UINT32:
        return f"{x} if type({x}) is int and 0 <= {x} <= 4294967295 else _rt.uint32({x})"
    if kind in _INT64:
        return f"_rt.int64({x})"
    if kind in _UINT64:
        return f"_rt.uint64({x})"
    if kind == "double":
        return f"{x} if type({x}) is float and -_INF < {x} < _INF else _rt.float64({x})"
    if kind == "float":
        return f"_rt.float32({x})"
    if kind == "bytes":
        return f"_rt.unbase64({x})"
    assert v.ref is not None
    if kind == "enum":
        e = names.enum(v)
        return f"_rt.enum({x}, {e}_V, {e})"
    if kind == "special":
        return _SPECIAL[v.full_name][1].format(cls=names.cls(v.ref), x=x)
    return f"{names.codec(v.ref)}from_{v.ref.name}({x}, ign)"


def _key_out(kind: str) -> str:
    if kind == "string":
        return "a"
    if kind == "bool":
        return '"true" if a else "false"'
    return "str(a)"


def _key_in(kind: str) -> str:
    if kind == "string":
        return "_rt.text(a)"
    if kind == "bool":
        return "_rt.bool_key(a)"
    if kind in _INT32:
        return "_rt.int32(a)"
    if kind in _UINT32:
        return "_rt.uint32(a)"
    if kind in _INT64:
        return "_rt.int64(a)"
    return "_rt.uint64(a)"


def _default(f: _Field, names: _Names) -> str:
    if f.is_map:
        return "{}"
    if f.repeated:
        return "[]"
    if f.presence:
        return "None"
    kind = f.value.kind
    if kind == "enum":
        return f"{names.enum(f.value)}[0]"
    return {"string": '""', "bytes": 'b""', "bool": "False", "float": "0.0", "double": "0.0"}.get(
        kind, "0"
    )


def _writer(message: _Message, names: _Names) -> str:
    c = _Code()
    c(f"def to_{message.name}(m, c, full):")
    c.indent()
    c(f'"""The proto3 JSON object of a {message.name} (c: 0 JSON names, 1 proto names)."""')
    if message.fields:
        c(f"k = K_{message.name}[c]")
    c("d: dict[str, Any] = {}")
    c("v: Any")
    for i, f in enumerate(message.fields):
        c(f"v = m.{f.name}")
        key = f"k[{i}]"
        if f.is_map:
            plain = f.key_kind == "string" and f.value.kind == "string"
            item = _out(f.value, "x", names)
            body = (
                "dict(v)" if plain else f"{{{_key_out(f.key_kind)}: {item} for a, x in v.items()}}"
            )
            c("if v:")
            c(f"    d[{key}] = {body}")
            c("elif full:")
            c(f"    d[{key}] = {{}}")
        elif f.repeated:
            item = _out(f.value, "x", names)
            body = "list(v)" if item == "x" else f"[{item} for x in v]"
            c("if v:")
            c(f"    d[{key}] = {body}")
            c("elif full:")
            c(f"    d[{key}] = []")
        elif f.presence:
            c("if v is not None:")
            c(f"    d[{key}] = {_out(f.value, 'v', names)}")
        else:
            test = "v or full"
            if f.value.kind in ("float", "double"):
                test += " or _rt.negative_zero(v)"
            c(f"if {test}:")
            c(f"    d[{key}] = {_out(f.value, 'v', names)}")
    c("return d")
    return c.text()


def _reader(message: _Message, names: _Names) -> str:
    c = _Code()
    own = names.cls(_Ref(names.module, message.name))
    groups = list(dict.fromkeys(f.group for f in message.fields if f.group is not None))
    c(f"def from_{message.name}(d, ign):")
    c.indent()
    c(f'"""A {message.name} from its proto3 JSON object."""')
    c("if type(d) is not dict and not isinstance(d, _Mapping):")
    c(f"    raise _rt.not_object({message.name!r}, d)")
    c("g = d.get")
    c("n = 0")
    c("v: Any")
    c("w: Any")
    for index in range(len(groups)):
        c(f"o{index} = 0")
    c(f"obj = _new({own})")
    for f in message.fields:
        c(f"v = g({f.json_name!r}, M)")
        c("if v is not M:")
        c("    n += 1")
        if f.proto_name != f.json_name:
            c(f"w = g({f.proto_name!r}, M)")
            c("if w is not M:")
            c("    n += 1")
            c(f"    v = w if v is M else _rt.later(d, {f.json_name!r}, {f.proto_name!r})")
        null_value = f.value.kind == "special" and f.value.full_name == _WKT + "Value"
        null_enum = f.value.kind == "enum" and f.value.full_name == _WKT + "NullValue"
        if null_enum and not (f.repeated or f.is_map):
            c("if v is None:")
            c("    v = 0")
        if null_value and not (f.repeated or f.is_map):
            c("if v is M:")
            c(f"    obj.{f.name} = {_default(f, names)}")
            c("elif v is None:")
            c(f"    obj.{f.name} = {_in(f.value, 'None', names)}")
        else:
            c("if v is M or v is None:")
            c(f"    obj.{f.name} = {_default(f, names)}")
        c("else:")
        c.indent()
        if f.group is not None:
            c(f"o{groups.index(f.group)} += 1")
        if f.is_map:
            item = _in(f.value, "x", names)
            c("if type(v) is not dict and not isinstance(v, _Mapping):")
            c(f"    raise _rt.not_object({f.proto_name!r}, v)")
            if f.value.kind == "enum":  # an unknown name leaves the entry out when ignoring
                e = names.enum(f.value)
                pairs = f"(({_key_in(f.key_kind)}, _rt.enum_or(x, {e}_V, {e}, ign, M)) "
                pairs += "for a, x in v.items())"
                c(f"obj.{f.name} = {{a: x for a, x in {pairs} if x is not M}}")
            else:
                c(f"obj.{f.name} = {{{_key_in(f.key_kind)}: {item} for a, x in v.items()}}")
        elif f.repeated:
            c("if type(v) is not list and not isinstance(v, (list, tuple)):")
            c(f"    raise _rt.not_list({f.proto_name!r}, v)")
            if f.value.kind == "enum":
                e = names.enum(f.value)
                c(f"obj.{f.name} = _rt.enums(v, {e}_V, {e}, ign)")
            else:
                c(f"obj.{f.name} = [{_in(f.value, 'x', names)} for x in v]")
        elif f.value.kind == "enum":
            e = names.enum(f.value)
            c(f"obj.{f.name} = _rt.enum_or(v, {e}_V, {e}, ign, {_default(f, names)})")
        else:
            c(f"obj.{f.name} = {_in(f.value, 'v', names)}")
        c.dedent()
    c("obj._unknown_fields = b''")
    for index, group in enumerate(groups):
        c(f"if o{index} > 1:")
        c(f"    raise _rt.oneof_twice({message.name!r}, {group!r})")
    c("if n != len(d) and not ign:")
    c(f"    raise _rt.unknown_key(d, KNOWN_{message.name}, {message.name!r})")
    c("return obj")
    return c.text()


def _tables(message: _Message) -> str:
    json_names = tuple(f.json_name for f in message.fields)
    proto_names = tuple(f.proto_name for f in message.fields)
    known = sorted(set(json_names) | set(proto_names))
    return (
        f"K_{message.name}: tuple[tuple[str, ...], tuple[str, ...]] = "
        f"({json_names!r}, {proto_names!r})\n"
        f"KNOWN_{message.name}: frozenset[str] = frozenset({known!r})"
    )


def _enum_tables(names: _Names) -> list[str]:
    lines: list[str] = []
    for key, (alias, value) in sorted(names.enums.items(), key=lambda kv: kv[1][0]):
        assert value.enum_names is not None
        cls = names.classes[key]
        lines.append(f"{alias} = _cr.EnumTable({cls})")
        lines.append(f"{alias}_N = _rt.EnumNames({value.enum_names!r})")
        by_name = {name: number for number, name in value.enum_names.items()}
        lines.append(f"{alias}_V = {{name: {alias}[n] for name, n in {by_name!r}.items()}}")
    return lines


def module_source(
    module: str, messages: list[_Message], specials: dict[str, str], source: str
) -> str:
    """The ``_json.py`` of one generated module; ``specials`` maps the well-known classes it
    defines (full proto name: class name) that the runtime handles."""
    names = _Names(module)
    bodies: list[str] = []
    tables: list[str] = []
    for message in messages:
        tables.append(_tables(message))
        bodies.append(_writer(message, names))
        bodies.append(_reader(message, names))
    installs = [
        f"_rt.install({names.cls(_Ref(module, m.name))}, to_{m.name}, from_{m.name})"
        for m in messages
    ]
    root = module.split(".", maxsplit=1)[0]
    if specials:
        bound = {
            short: names.cls(_Ref(module, short))
            for short in ("Struct", "Value", "ListValue", "NullValue")
            if _WKT + short in specials
        }
        special = sorted(
            names.cls(_Ref(module, cls))
            for full, cls in specials.items()
            if full in _SPECIAL or full in _WRAPPERS
        )
        args = ", ".join(f"{k}={v}" for k, v in bound.items())
        installs.append(
            f"_rt.bind(_pool, frozenset(({', '.join(special)},)), {args})"
            if args
            else f"_rt.bind(_pool, frozenset(({', '.join(special)},)))"
        )
        installs += _special_installs(specials, names, module)
    imports = [
        "from collections.abc import Mapping as _Mapping",
        "from typing import Any",
        "",
        f"from {root}.proto import {RUNTIME_MODULE} as _rt",
        f"from {root}.proto import _codec_runtime as _cr",
    ]
    if specials:
        imports.append(f"from {root}.proto.message_pool import default_message_pool as _pool")
    for (mod, name), alias in sorted(names.classes.items(), key=lambda kv: kv[1]):
        imports.append(f"from {mod} import {name} as {alias}")
    for mod, alias in sorted(names.modules.items(), key=lambda kv: kv[1]):
        imports.append(f"from {mod} import {JSON_MODULE} as {alias}")
    doc = f'"""Proto3 JSON codecs for the messages of ``{module}`` (see codegen/fastjson.py)."""'
    shared = "_new = object.__new__\nM = _rt.MISSING\n_INF = float('inf')\n_b64 = _rt.b64"
    parts = [
        python_header(source) + doc,
        "\n".join(imports),
        shared,
        "\n".join(_enum_tables(names)),
        "\n\n".join(tables),
        *bodies,
        "\n".join(installs),
    ]
    return "\n\n\n".join(p for p in parts if p) + "\n"


# The well-known classes that get the runtime's writer and reader as their to_dict / from_dict
# (Timestamp, Duration, FieldMask and the wrappers keep the methods codegen.runtime.wkt gives
# them; their fields are written and read by the runtime directly).
_SPECIAL_INSTALLS = {
    "Struct": ("lambda m, c, full: _rt.struct_(m)", "_rt.struct_from(d)"),
    "Value": ("lambda m, c, full: _rt.value(m)", "_rt.value_from(d)"),
    "ListValue": ("lambda m, c, full: _rt.list_value(m)", "_rt.list_value_from(d)"),
    "Any": ("_rt.any_", "_rt.any_from({cls}, d, ign)"),
}  # fmt: skip


def _special_installs(specials: dict[str, str], names: _Names, module: str) -> list[str]:
    out: list[str] = []
    for short, (to, frm) in _SPECIAL_INSTALLS.items():
        if _WKT + short not in specials:
            continue
        cls = names.cls(_Ref(module, short))
        out.append(f"_rt.install({cls}, {to}, lambda d, ign: {frm.format(cls=cls)})")
    return out


# --------------------------------------------------------------------------- the step


def _pool(descriptor_set: Path) -> Any:
    from google.protobuf import descriptor_pb2, descriptor_pool  # noqa: PLC0415

    fds = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for file in fds.file:
        pool.Add(file)
    return pool


def write(parent: Path, package: str, descriptor_set: Path) -> int:
    """Write every JSON codec module of ``package`` (imported from ``parent``); how many."""
    import betterproto2  # noqa: PLC0415 - only in the generator's own interpreter

    sys.path.insert(0, str(parent))
    proto = f"{package}.proto"
    pool = _pool(descriptor_set)
    modules = list(_modules(proto))  # importing them all fills the message pool
    registry = importlib.import_module(f"{proto}.message_pool").default_message_pool
    full_names = {cls: url.rsplit("/", 1)[-1] for url, cls in registry.url_to_type.items()}
    count = 0
    plans: list[tuple[Path, str, list[_Message], dict[str, str]]] = []
    for module in modules:
        classes = [
            obj
            for obj in vars(module).values()
            if isinstance(obj, type)
            and issubclass(obj, betterproto2.Message)
            and obj.__module__ == module.__name__
        ]
        if not classes:
            continue
        messages: list[_Message] = []
        specials: dict[str, str] = {}
        for cls in sorted(classes, key=lambda c: c.__name__):
            full = full_names.get(cls)
            if full is None:
                raise GenerationError(f"fastjson: {cls.__name__} is not in the message pool")
            if full in _SPECIAL or full in _WRAPPERS:
                specials[full] = cls.__name__
                continue
            messages.append(_describe(cls, pool.FindMessageTypeByName(full)))
        if module.__name__.endswith(".google.protobuf") and hasattr(module, "NullValue"):
            specials[_WKT + "NullValue"] = "NullValue"
        plans.append((Path(module.__file__ or ""), module.__name__, messages, specials))
        count += len(messages)
    label = _source_label(parent / package / "proto" / "__init__.py")
    (parent / package / "proto" / f"{RUNTIME_MODULE}.py").write_text(
        python_header(f"{label} (JSON codec runtime)") + "\n" + runtime_source(),
        encoding="utf-8",
        newline="\n",
    )
    for path, module_name, messages, specials in plans:
        source = _source_label(path)
        (path.parent / f"{JSON_MODULE}.py").write_text(
            module_source(module_name, messages, specials, source), encoding="utf-8", newline="\n"
        )
        text = path.read_text(encoding="utf-8").rstrip("\n")
        path.write_text(f"{text}\n{INSTALL_LINE}\n", encoding="utf-8", newline="\n")
    return count


def runtime_source() -> str:
    """The text of :mod:`codegen.runtime.jsoncodec`, which the generated package gets verbatim."""
    return Path(runtime.__file__).read_text(encoding="utf-8")


_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[3])
from codegen.fastjson import write
from pathlib import Path
print(write(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[4])))
"""


def generate(parent: Path, package: str, project_root: Path, descriptor_set: Path) -> None:
    """Run :func:`write` in a fresh interpreter (it must import the new package, not ours);
    ``-P`` keeps ``PYTHONPATH``, through which a pip build environment has its packages."""
    argv = [sys.executable, "-P", "-c", _SCRIPT, str(parent), package, str(project_root)]
    argv.append(str(descriptor_set))
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        reason = tail[-1] if tail else f"exit code {proc.returncode}"
        raise GenerationError(f"generate: proto3 JSON codecs failed: {reason}")
