"""codegen/fastjson.py on a synthetic proto of our own, against Google's ``json_format``.

The fixture has every scalar kind, explicit and derived ``json_name`` s that betterproto2's own
camel-casing gets wrong, oneofs, maps of every key kind, enums with unknown numbers, and the
well-known types with JSON forms of their own. It is built through the pipeline's own steps
(betterproto2 output, fast binary codecs, JSON codecs) and compared with Google's generated
code for the same file: output equal to ``MessageToDict``, input read as ``ParseDict`` reads
it, refused where it refuses, and a differential fuzz over random messages.
"""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import betterproto2
import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codegen import fastjson, fastproto, protos
from codegen.lock import PROJECT_ROOT

PACKAGE = "fastjson_fixture"

SYNTHETIC = """
syntax = "proto3";
package rbjsonfix.json;

import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

enum Shade {
  SHADE_UNSPECIFIED = 0;
  LIGHT = 1;
  DARK = 2;
}

message Leaf {
  string label = 1 [json_name = "leafLabel"];
  sint64 weight = 2;
  repeated Leaf more = 3;
}

message Tree {
  int32 i32 = 1;
  int64 i64 = 2;
  uint32 u32 = 3;
  uint64 u64 = 4;
  sint32 s32 = 5;
  sint64 s64 = 6;
  fixed32 f32 = 7;
  fixed64 f64 = 8;
  sfixed32 sf32 = 9;
  sfixed64 sf64 = 10;
  float fl = 11;
  double db = 12;
  bool flag = 13;
  string text = 14 [json_name = "otherName"];
  bytes blob = 15;
  Shade shade = 16;
  Leaf leaf = 17;
  optional int64 maybe = 18;
  string field_1a = 19;
  string snake_case_name = 20 [json_name = "explicit_snake"];
  repeated int64 r_i64 = 21;
  repeated double r_db = 22;
  repeated float r_fl = 23;
  repeated Shade r_shade = 24;
  repeated string r_text = 25;
  repeated bytes r_blob = 26;
  repeated Leaf r_leaf = 27;
  map<int32, string> m_int = 28;
  map<string, Leaf> m_leaf = 29;
  map<bool, Shade> m_shade = 30;
  map<uint64, bytes> m_blob = 31;
  map<string, google.protobuf.Value> m_value = 32;
  oneof choice {
    string c_text = 33;
    sint64 c_num = 34;
    Leaf c_leaf = 35;
  }
  google.protobuf.Int64Value w_i64 = 36;
  google.protobuf.UInt32Value w_u32 = 37;
  google.protobuf.DoubleValue w_db = 38;
  google.protobuf.FloatValue w_fl = 39;
  google.protobuf.BytesValue w_blob = 40;
  google.protobuf.StringValue w_text = 41;
  google.protobuf.BoolValue w_flag = 42;
  google.protobuf.Timestamp at = 43;
  google.protobuf.Duration took = 44;
  google.protobuf.FieldMask mask = 45;
  google.protobuf.Struct doc = 46;
  google.protobuf.Value any_value = 47;
  google.protobuf.ListValue items = 48;
  google.protobuf.Any packed = 49;
  google.protobuf.Empty nothing = 50;
  repeated google.protobuf.Timestamp r_at = 51;
}
"""


class Fixture:
    """Our generated classes and Google's, for the synthetic proto."""

    def __init__(self, ours: ModuleType, google: ModuleType) -> None:
        self.ours = ours
        self.google = google


@pytest.fixture(scope="module")
def fixture(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    root = tmp_path_factory.mktemp("fastjson")
    spec = root / "spec"
    (spec / "rbjsonfix" / "json").mkdir(parents=True)
    rel = "rbjsonfix/json/tree.proto"
    (spec / rel).write_text(SYNTHETIC, encoding="utf-8")
    parent = root / "build"
    package = parent / PACKAGE
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    protos.generate(spec, [rel], package / "proto", source_label="fixture@0 tree.proto")
    fastproto.generate(parent, PACKAGE, PROJECT_ROOT)
    protos.descriptor_set(spec, [rel], root / "set.pb")
    fastjson.generate(parent, PACKAGE, PROJECT_ROOT, root / "set.pb")
    google_out = root / "google"
    google_out.mkdir()
    args = [sys.executable, "-m", "grpc_tools.protoc", f"-I{spec}"]
    args += [f"-I{protos._wkt_include_dir()}", f"--python_out={google_out}"]
    subprocess.run([*args, rel], check=True)
    for folder in (google_out / "rbjsonfix", google_out / "rbjsonfix" / "json"):
        (folder / "__init__.py").touch()
    sys.path[:0] = [str(parent), str(google_out)]
    try:
        ours = importlib.import_module(f"{PACKAGE}.proto.rbjsonfix.json")
        google = importlib.import_module("rbjsonfix.json.tree_pb2")
    finally:
        sys.path.remove(str(parent))
        sys.path.remove(str(google_out))
    return Fixture(ours, google)


def canon(message: Any) -> bytes:
    return bytes(message.SerializeToString(deterministic=True))


def _google_dict(g: Any, **options: Any) -> Any:
    return json_format.MessageToDict(g, **options)


def _same_message(fixture: Fixture, ours: Any, g: Any) -> bool:
    """Ours holds what Google's message holds (compared by Google, on canonical bytes)."""
    return canon(fixture.google.Tree.FromString(bytes(ours))) == canon(g)


# --------------------------------------------------------------------------- json_name


def test_json_names_are_the_descriptors(fixture: Fixture) -> None:
    """Step 0: betterproto2 0.10 wrote its own camel-casing of the Python name and refused the
    json_name on input; the output now uses json_name and the input takes both names."""
    g = fixture.google.Tree(text="t", field_1a="f", snake_case_name="s")
    g.leaf.label = "l"
    ours = fixture.ours.Tree.parse(canon(g))
    expected = _google_dict(g)
    assert expected == {
        "otherName": "t",
        "field1a": "f",
        "explicit_snake": "s",
        "leaf": {"leafLabel": "l"},
    }
    assert ours.to_dict() == expected
    assert json.loads(ours.to_json()) == expected
    snake = _google_dict(g, preserving_proto_field_name=True)
    assert ours.to_dict(casing=betterproto2.Casing.SNAKE) == snake
    for form in (expected, snake):
        assert _same_message(fixture, fixture.ours.Tree.from_dict(form), g)
        assert _same_message(fixture, fixture.ours.Tree.from_json(json.dumps(form)), g)


# --------------------------------------------------------------------------- fuzz values

I32 = st.integers(-(2**31), 2**31 - 1)
I64 = st.integers(-(2**63), 2**63 - 1)
U32 = st.integers(0, 2**32 - 1)
U64 = st.integers(0, 2**64 - 1)
# Google writes the largest floats as a shortest decimal that it then refuses to read back.
FLOAT32 = st.floats(width=32, min_value=-(2.0**127), max_value=2.0**127) | st.sampled_from(
    [math.nan, math.inf, -math.inf]
)
DOUBLE = st.floats()
TEXT = st.text(max_size=12)
BLOB = st.binary(max_size=12)
SHADE = st.sampled_from([0, 1, 2, 9])  # 9: not listed, kept as a number
JSON_LEAF = st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | TEXT
JSON: st.SearchStrategy[Any] = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def leaves(draw: st.DrawFn, depth: int = 0) -> Any:
    value = {"label": draw(TEXT), "weight": draw(I64)}
    if depth < 2:
        value["more"] = draw(st.lists(leaves(depth + 1), max_size=2))
    return value


def _leaf(fixture: Fixture, value: dict[str, Any]) -> Any:
    g = fixture.google.Leaf(label=value["label"], weight=value["weight"])
    g.more.extend(_leaf(fixture, m) for m in value.get("more", []))
    return g


SCALARS = {
    "i32": I32, "i64": I64, "u32": U32, "u64": U64, "s32": I32, "s64": I64, "f32": U32,
    "f64": U64, "sf32": I32, "sf64": I64, "fl": FLOAT32, "db": DOUBLE, "flag": st.booleans(),
    "text": TEXT, "blob": BLOB, "shade": SHADE, "field_1a": TEXT, "snake_case_name": TEXT,
}  # fmt: skip
REPEATED = {
    "r_i64": I64, "r_db": DOUBLE, "r_fl": FLOAT32, "r_shade": SHADE, "r_text": TEXT,
    "r_blob": BLOB,
}  # fmt: skip
MAPS = {
    "m_int": (I32, TEXT), "m_shade": (st.booleans(), SHADE), "m_blob": (U64, BLOB),
}  # fmt: skip
WRAPPERS = {
    "w_i64": I64, "w_u32": U32, "w_db": DOUBLE, "w_fl": FLOAT32, "w_blob": BLOB,
    "w_text": TEXT, "w_flag": st.booleans(),
}  # fmt: skip


@st.composite
def trees(draw: st.DrawFn, fixture: Fixture) -> Any:
    """A random Google ``Tree``: each field set or not, edge values included."""
    g = fixture.google.Tree()
    for name, values in SCALARS.items():
        if draw(st.booleans()):
            setattr(g, name, draw(values))
    for name, values in REPEATED.items():
        getattr(g, name).extend(draw(st.lists(values, max_size=3)))
    for name, (keys, values) in MAPS.items():
        getattr(g, name).update(draw(st.dictionaries(keys, values, max_size=2)))
    for name, values in WRAPPERS.items():
        if draw(st.booleans()):
            getattr(g, name).value = draw(values)
    if draw(st.booleans()):
        g.leaf.CopyFrom(_leaf(fixture, draw(leaves())))
    if draw(st.booleans()):
        g.maybe = draw(I64)
    g.r_leaf.extend(_leaf(fixture, v) for v in draw(st.lists(leaves(), max_size=2)))
    for key, value in draw(st.dictionaries(TEXT, leaves(), max_size=2)).items():
        g.m_leaf[key].CopyFrom(_leaf(fixture, value))
    for key, value in draw(st.dictionaries(TEXT, JSON, max_size=2)).items():
        json_format.ParseDict(value, g.m_value[key])
    choice = draw(st.sampled_from(["c_text", "c_num", "c_leaf", None]))
    if choice == "c_text":
        g.c_text = draw(TEXT)
    elif choice == "c_num":
        g.c_num = draw(I64)
    elif choice == "c_leaf":
        g.c_leaf.CopyFrom(_leaf(fixture, draw(leaves())))
    if draw(st.booleans()):
        g.at.seconds = draw(st.integers(-62135596800, 253402300799))
        g.at.nanos = draw(st.integers(0, 999_999_999))
    if draw(st.booleans()):
        seconds = draw(st.integers(0, 315576000000))
        nanos = draw(st.integers(0, 999_999_999))
        sign = draw(st.sampled_from([1, -1]))
        g.took.seconds, g.took.nanos = sign * seconds, sign * nanos
    if draw(st.booleans()):
        words = st.from_regex(r"[a-z]{1,5}(_[a-z]{1,4}){0,2}(\.[a-z]{1,5}){0,1}", fullmatch=True)
        g.mask.paths.extend(draw(st.lists(words, max_size=3)))
    if draw(st.booleans()):
        json_format.ParseDict(draw(st.dictionaries(TEXT, JSON, max_size=3)), g.doc)
    if draw(st.booleans()):
        json_format.ParseDict(draw(JSON), g.any_value)
    if draw(st.booleans()):
        items: Any = draw(st.lists(JSON, max_size=3))
        json_format.ParseDict(items, g.items)
    if draw(st.booleans()):
        g.packed.Pack(_leaf(fixture, draw(leaves())))
    if draw(st.booleans()):
        g.nothing.SetInParent()
    for _ in range(draw(st.integers(0, 2))):
        g.r_at.add(seconds=draw(st.integers(0, 2**33)), nanos=draw(st.integers(0, 10**9 - 1)))
    return g


def _norm(value: Any) -> Any:
    """NaN equal to NaN, and -0.0 told apart from 0.0, in nested JSON values."""
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, float):
        return ("float", repr(value))
    return value


def _check(fixture: Fixture, g: Any) -> None:
    ours = fixture.ours.Tree.parse(canon(g))
    for snake in (False, True):
        casing = betterproto2.Casing.SNAKE if snake else betterproto2.Casing.CAMEL
        for full in (False, True):
            expected = _google_dict(
                g, preserving_proto_field_name=snake, always_print_fields_with_no_presence=full
            )
            got = ours.to_dict(casing=casing, include_default_values=full)
            assert _norm(got) == _norm(expected), (snake, full)
    forms: tuple[dict[str, Any], ...] = (
        {},
        {"preserving_proto_field_name": True},
        {"use_integers_for_enums": True},
        {"always_print_fields_with_no_presence": True},
    )
    for options in forms:
        text = json_format.MessageToJson(g, **options)
        expected_g = json_format.Parse(text, fixture.google.Tree())
        assert _same_message(fixture, fixture.ours.Tree.from_json(text), expected_g), options
        read = fixture.ours.Tree.from_dict(json.loads(text))
        assert _same_message(fixture, read, expected_g), options


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_messages_match_json_format_both_ways(fixture: Fixture, data: st.DataObject) -> None:
    _check(fixture, data.draw(trees(fixture)))


def test_edge_values_match_json_format(fixture: Fixture) -> None:
    g = fixture.google.Tree(
        db=-0.0, fl=-0.0, shade=12345, i64=-(2**63), u64=2**64 - 1, r_db=[math.nan, math.inf, -0.0]
    )
    g.r_fl.extend([0.1, -math.inf, 3e38])
    g.w_db.value = math.nan
    g.w_fl.value = -0.0
    g.w_i64.value = 2**63 - 1
    g.w_blob.value = b"\xff\x00?"
    g.at.seconds, g.at.nanos = 253402300799, 999_999_999
    g.took.seconds, g.took.nanos = -1, -1
    g.m_shade[True] = 77
    g.r_shade.extend([2, 99])
    _check(fixture, g)
    got = fixture.ours.Tree.parse(canon(g)).to_dict()
    assert math.copysign(1.0, got["db"]) < 0
    assert got["shade"] == 12345
    assert got["rDb"][:2] == ["NaN", "Infinity"]
    assert got["took"] == "-1.000000001s"
    assert got["at"] == "9999-12-31T23:59:59.999999999Z"


# --------------------------------------------------------------------------- refusals

BAD_INPUTS = [
    {"noSuchField": 1},
    {"i32": 2**31},
    {"u32": -1},
    {"i64": "1.5"},
    {"i64": True},
    {"flag": "true"},
    {"text": 5},
    {"fl": 1e39},
    {"db": "nan"},
    {"shade": "NOT_A_SHADE"},
    {"cText": "a", "cNum": "1"},
    {"rText": "not a list"},
    {"rText": [None]},
    {"mShade": {"maybe": "LIGHT"}},
    {"leaf": 3},
    {"at": "2026-13-01T00:00:00Z"},
    {"took": "1.5"},
    {"packed": {"value": 1}},
    {"mInt": {"x": "a"}},
]


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=lambda b: json.dumps(b)[:30])
def test_input_google_refuses_is_refused(fixture: Fixture, bad: dict[str, Any]) -> None:
    with pytest.raises(json_format.ParseError):
        json_format.ParseDict(bad, fixture.google.Tree())
    errors = importlib.import_module(f"{PACKAGE}.proto._json_runtime")
    with pytest.raises(errors.JsonError):
        fixture.ours.Tree.from_dict(bad)


def test_unknown_fields_and_names_can_be_ignored(fixture: Fixture) -> None:
    value = {"noSuchField": 1, "shade": "NOT_A_SHADE", "rShade": ["DARK", "NOPE"], "i32": 4}
    g = json_format.ParseDict(value, fixture.google.Tree(), ignore_unknown_fields=True)
    ours = fixture.ours.Tree.from_dict(value, ignore_unknown_fields=True)
    assert _same_message(fixture, ours, g)


def test_nulls_leave_fields_unset_but_make_a_null_value(fixture: Fixture) -> None:
    value = {"i32": None, "leaf": None, "anyValue": None, "mValue": {"k": None}}
    g = json_format.ParseDict(value, fixture.google.Tree())
    ours = fixture.ours.Tree.from_dict(value)
    assert _same_message(fixture, ours, g)
    assert ours.to_dict() == _google_dict(g) == {"anyValue": None, "mValue": {"k": None}}


def test_the_python_output_format_keeps_betterproto2s_method(fixture: Fixture) -> None:
    tree = fixture.ours.Tree(i64=5, shade=1)
    assert tree.to_dict(output_format=betterproto2.OutputFormat.PYTHON) == {"i64": 5, "shade": 1}
    assert tree.to_dict() == {"i64": "5", "shade": "LIGHT"}


def test_every_message_class_has_json_codecs(fixture: Fixture) -> None:
    for cls in (fixture.ours.Tree, fixture.ours.Leaf):
        assert "_fast_to_dict" in cls.__dict__
        assert "_fast_from_dict" in cls.__dict__
    text = (Path(fixture.ours.__file__ or "").parent / "_json.py").read_text(encoding="utf-8")
    assert "# source: fixture@0 tree.proto" in text


# --------------------------------------------------------------------------- input fuzz

JSON_ANY: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
    | st.sampled_from(
        ["NaN", "-Infinity", "1e3", "-0", "LIGHT", "9", "AAE=", "_-8", "1.5s", "a_b,cD", "true"]
    )
    | st.sampled_from(["2026-01-01T00:00:00.5+01:00", "1970-01-01t00:00:00z", "0.000000001s"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=5,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_values_in_every_field_are_read_as_parse_dict_reads_them(
    fixture: Fixture, data: st.DataObject
) -> None:
    """Every field of a Google-written Tree given a random JSON value: Google and ours accept
    and refuse alike, and read the same message (but where a message is expected, Google also
    takes a string or an array, iterating over it; ours takes only a JSON object)."""
    g = data.draw(trees(fixture))
    value = json_format.MessageToDict(g, preserving_proto_field_name=data.draw(st.booleans()))
    names = [f.json_name for f in fixture.google.Tree.DESCRIPTOR.fields]
    for name in data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3)):
        value[name] = data.draw(JSON_ANY)
    ignore = data.draw(st.booleans())
    try:
        expected: Any = json_format.ParseDict(
            json.loads(json.dumps(value)), fixture.google.Tree(), ignore_unknown_fields=ignore
        )
    except json_format.ParseError:
        expected = None
    refusal = ""
    try:
        got: Any = fixture.ours.Tree.from_dict(value, ignore_unknown_fields=ignore)
    except ValueError as exc:
        got, refusal = None, str(exc)
    if expected is None:
        assert got is None, f"Google refuses, ours accepts: {value!r}"
    elif not refusal.startswith("expected a JSON object for "):
        assert got is not None, f"Google accepts, ours refuses ({refusal}): {value!r}"
        assert _same_message(fixture, got, expected)


def test_unknown_enum_names_in_maps_are_left_out_when_ignoring(fixture: Fixture) -> None:
    value = {"mShade": {"true": "NOPE", "false": "DARK"}}
    g = json_format.ParseDict(value, fixture.google.Tree(), ignore_unknown_fields=True)
    ours = fixture.ours.Tree.from_dict(value, ignore_unknown_fields=True)
    assert _same_message(fixture, ours, g)
    assert ours.to_dict() == {"mShade": {"false": "DARK"}}
    errors = importlib.import_module(f"{PACKAGE}.proto._json_runtime")
    with pytest.raises(errors.JsonError):
        fixture.ours.Tree.from_dict(value)
