"""codegen/fastproto.py on a synthetic proto that has every field kind the generator handles.

The locked Yandex protos use only some kinds (no sint, fixed or float32 fields, no integer map
keys), so this builds a test package of our own: betterproto2 output plus the fast codecs,
through the pipeline's own steps, and compares it with Google's generated code for the same file.
"""

from __future__ import annotations

import importlib
import io
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import betterproto2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codegen import fastproto, protos
from codegen.errors import GenerationError
from codegen.lock import PROJECT_ROOT
from tests._proto_inputs import cases, judge, soup

PACKAGE = "fastproto_fixture"

SYNTHETIC = """
syntax = "proto3";
package rbfixture.codecs;

import "google/protobuf/wrappers.proto";

enum Colour {
  COLOUR_UNSPECIFIED = 0;
  RED = 1;
  GREEN = 2;
}

message Inner {
  string name = 1;
  int64 count = 2;
  repeated Inner children = 3;
}

message All {
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
  string text = 14;
  bytes blob = 15;
  Colour colour = 16;
  Inner inner = 17;
  optional int32 maybe = 18;
  repeated sint32 r_s32 = 19;
  repeated fixed64 r_f64 = 20;
  repeated float r_fl = 21;
  repeated Colour r_colour = 22;
  repeated string r_text = 23;
  repeated bytes r_blob = 24;
  repeated Inner r_inner = 25;
  map<int32, string> m_int = 26;
  map<string, Inner> m_msg = 27;
  map<bool, Colour> m_enum = 28;
  map<sint64, bytes> m_bytes = 29;
  map<fixed32, double> m_fixed = 30;
  oneof choice {
    string c_text = 31;
    sint64 c_num = 32;
    Inner c_inner = 33;
  }
  google.protobuf.Int64Value w_int = 34;
  google.protobuf.StringValue w_text = 35;
  uint64 far_field = 100000;
}
"""


class Fixture:
    """Our generated classes and Google's, for the synthetic proto."""

    def __init__(self, ours: ModuleType, google: ModuleType) -> None:
        self.ours = ours
        self.google = google


@pytest.fixture(scope="module")
def fixture(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    root = tmp_path_factory.mktemp("fastproto")
    spec = root / "spec"
    (spec / "rbfixture" / "codecs").mkdir(parents=True)
    (spec / "rbfixture" / "codecs" / "all.proto").write_text(SYNTHETIC, encoding="utf-8")
    parent = root / "build"
    package = parent / PACKAGE
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    protos.generate(
        spec, ["rbfixture/codecs/all.proto"], package / "proto", source_label="fixture@0 all.proto"
    )
    fastproto.generate(parent, PACKAGE, PROJECT_ROOT)
    google_out = root / "google"
    google_out.mkdir()
    args = [sys.executable, "-m", "grpc_tools.protoc", f"-I{spec}"]
    args += [f"-I{protos._wkt_include_dir()}", f"--python_out={google_out}"]
    subprocess.run([*args, "rbfixture/codecs/all.proto"], check=True)
    for folder in (google_out / "rbfixture", google_out / "rbfixture" / "codecs"):
        (folder / "__init__.py").touch()
    sys.path[:0] = [str(parent), str(google_out)]
    try:
        ours = importlib.import_module(f"{PACKAGE}.proto.rbfixture.codecs")
        google = importlib.import_module("rbfixture.codecs.all_pb2")
    finally:
        sys.path.remove(str(parent))
        sys.path.remove(str(google_out))
    return Fixture(ours, google)


def canon(message: Any) -> bytes:
    return bytes(message.SerializeToString(deterministic=True))


def plain_parse(cls: Any, data: bytes) -> Any:
    """betterproto2's own parser, with the fast paths of every class out of the way."""
    return betterproto2.Message.load(cls(), io.BytesIO(data))


# --------------------------------------------------------------------------- values

I32 = st.integers(-(2**31), 2**31 - 1)
I64 = st.integers(-(2**63), 2**63 - 1)
U32 = st.integers(0, 2**32 - 1)
U64 = st.integers(0, 2**64 - 1)
FLOAT32 = st.floats(width=32, allow_nan=False)
DOUBLE = st.floats(allow_nan=False)
TEXT = st.text(max_size=20)
BLOB = st.binary(max_size=20)
COLOUR = st.sampled_from([0, 1, 2, 7])  # 7: an unknown value, kept


@st.composite
def inner(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    value: dict[str, Any] = {"name": draw(TEXT), "count": draw(I64)}
    if depth < 2:
        value["children"] = draw(st.lists(inner(depth + 1), max_size=2))
    return value


@st.composite
def everything(draw: st.DrawFn) -> dict[str, Any]:
    value: dict[str, Any] = {
        "i32": draw(I32),
        "i64": draw(I64),
        "u32": draw(U32),
        "u64": draw(U64),
        "s32": draw(I32),
        "s64": draw(I64),
        "f32": draw(U32),
        "f64": draw(U64),
        "sf32": draw(I32),
        "sf64": draw(I64),
        "fl": draw(FLOAT32),
        "db": draw(DOUBLE),
        "flag": draw(st.booleans()),
        "text": draw(TEXT),
        "blob": draw(BLOB),
        "colour": draw(COLOUR),
        "r_s32": draw(st.lists(I32, max_size=4)),
        "r_f64": draw(st.lists(U64, max_size=4)),
        "r_fl": draw(st.lists(FLOAT32, max_size=4)),
        "r_colour": draw(st.lists(COLOUR, max_size=4)),
        "r_text": draw(st.lists(TEXT, max_size=3)),
        "r_blob": draw(st.lists(BLOB, max_size=3)),
        "r_inner": draw(st.lists(inner(), max_size=2)),
        "m_int": draw(st.dictionaries(I32, TEXT, max_size=3)),
        "m_msg": draw(st.dictionaries(TEXT, inner(), max_size=2)),
        "m_enum": draw(st.dictionaries(st.booleans(), COLOUR, max_size=2)),
        "m_bytes": draw(st.dictionaries(I64, BLOB, max_size=2)),
        "m_fixed": draw(st.dictionaries(U32, DOUBLE, max_size=2)),
        "far_field": draw(U64),
    }
    if draw(st.booleans()):
        value["inner"] = draw(inner())
    if draw(st.booleans()):
        value["maybe"] = draw(I32)
    choice = draw(st.sampled_from(["c_text", "c_num", "c_inner", None]))
    if choice == "c_text":
        value["c_text"] = draw(TEXT)
    elif choice == "c_num":
        value["c_num"] = draw(I64)
    elif choice == "c_inner":
        value["c_inner"] = draw(inner())
    if draw(st.booleans()):
        value["w_int"] = draw(I64)
    if draw(st.booleans()):
        value["w_text"] = draw(TEXT)
    return value


def to_google(fixture: Fixture, value: dict[str, Any]) -> Any:
    g = fixture.google.All()
    for name, item in value.items():
        if name in ("inner", "c_inner"):
            getattr(g, name).CopyFrom(_google_inner(fixture, item))
        elif name == "r_inner":
            getattr(g, name).extend(_google_inner(fixture, i) for i in item)
        elif name == "m_msg":
            for k, v in item.items():
                g.m_msg[k].CopyFrom(_google_inner(fixture, v))
        elif name.startswith("m_"):
            getattr(g, name).update(item)
        elif name.startswith("r_"):
            getattr(g, name).extend(item)
        elif name.startswith("w_"):
            getattr(g, name).value = item
        else:
            setattr(g, name, item)
    return g


def _google_inner(fixture: Fixture, value: dict[str, Any]) -> Any:
    g = fixture.google.Inner(name=value["name"], count=value["count"])
    g.children.extend(_google_inner(fixture, c) for c in value.get("children", []))
    return g


# --------------------------------------------------------------------------- tests


def test_every_class_of_the_fixture_has_fast_codecs(fixture: Fixture) -> None:
    for name in ("All", "Inner"):
        cls = getattr(fixture.ours, name)
        assert "_fast_decode" in vars(cls)
        assert "__bytes__" in vars(cls)
    codec = Path(fixture.ours.__file__ or "").parent / "_codec.py"
    text = codec.read_text(encoding="utf-8")
    assert text.startswith("# generated by runbind codegen — do not edit.\n")
    assert "# source: fixture@0 all.proto" in text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=everything())
def test_google_bytes_decode_and_re_encode_to_the_same_message(
    fixture: Fixture, value: dict[str, Any]
) -> None:
    google = to_google(fixture, value)
    data = canon(google)
    ours = fixture.ours.All.parse(data)
    assert canon(fixture.google.All.FromString(bytes(ours))) == data
    # Without -0.0 (which only we write, like Google), betterproto2's own encoder agrees.
    if not _has_negative_zero(value):
        assert betterproto2.Message.__bytes__(ours) == bytes(ours)


def _has_negative_zero(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_negative_zero(v) for v in (*value.keys(), *value.values()))
    if isinstance(value, list):
        return any(_has_negative_zero(v) for v in value)
    return isinstance(value, float) and value == 0 and math.copysign(1, value) < 0


def test_each_kind_decodes_to_what_google_holds(fixture: Fixture) -> None:
    value = {
        "i32": -5,
        "i64": -(2**63),
        "u32": 2**32 - 1,
        "u64": 2**64 - 1,
        "s32": -(2**31),
        "s64": -3,
        "f32": 2**32 - 1,
        "f64": 2**64 - 1,
        "sf32": -7,
        "sf64": -(2**63),
        "fl": 0.1,
        "db": -2.5,
        "flag": True,
        "text": "ünï",
        "blob": b"\x00\xff",
        "colour": 7,
        "r_s32": [-1, 0, 1],
        "r_f64": [1, 2**64 - 1],
        "r_fl": [1.5, -0.25],
        "r_colour": [1, 7],
        "m_int": {-1: "neg", 0: "zero"},
        "m_enum": {True: 2, False: 0},
        "m_bytes": {-9: b"x"},
        "m_fixed": {4: 0.5},
        "c_num": -12,
        "w_int": 0,
        "w_text": "",
        "far_field": 9,
    }
    google = to_google(fixture, value)
    ours = fixture.ours.All.parse(canon(google))
    for name, expected in value.items():
        got = getattr(ours, name)
        if name == "fl":
            assert got == google.fl  # the float32 value, as Google holds it
        elif name == "r_fl":
            assert got == list(google.r_fl)
        elif name.startswith("m_"):
            assert dict(got) == expected, name
        else:
            assert got == expected, name
    assert ours.colour.name == ""  # 7 is unknown: betterproto2's open UNKNOWN member
    assert ours.c_text is None
    assert ours.c_inner is None


def test_sub_messages_merge_and_oneofs_take_the_last(fixture: Fixture) -> None:
    g = fixture.google
    one = canon(g.All(inner=g.Inner(name="a"), c_text="t", r_s32=[1]))
    two = canon(g.All(inner=g.Inner(count=2), c_num=5, r_s32=[2]))
    ours = fixture.ours.All.parse(one + two)
    assert ours.inner == fixture.ours.Inner(name="a", count=2)
    assert (ours.c_text, ours.c_num, ours.r_s32) == (None, 5, [1, 2])
    assert canon(g.All.FromString(bytes(ours))) == canon(g.All.FromString(one + two))


def test_unpacked_repeated_scalars_are_read(fixture: Fixture) -> None:
    # sint32 19 unpacked: tag (19 << 3 | 0) then zigzag values; fixed64 20 unpacked: wire 1
    data = bytes([0x98, 0x01, 0x01, 0x98, 0x01, 0x04])  # -1, 2
    data += bytes([0xA1, 0x01]) + (7).to_bytes(8, "little")
    ours = fixture.ours.All.parse(data)
    assert ours.r_s32 == [-1, 2]
    assert ours.r_f64 == [7]
    assert list(fixture.google.All.FromString(data).r_s32) == [-1, 2]


def test_plain_and_fast_parse_agree_without_duplicates(fixture: Fixture) -> None:
    g = fixture.google
    data = canon(g.All(i32=-1, s64=-2, fl=1.5, m_int={3: "c"}, r_inner=[g.Inner(name="n")]))
    fast = fixture.ours.All.parse(data)
    plain = plain_parse(fixture.ours.All, data)
    assert betterproto2.Message.__bytes__(fast) == betterproto2.Message.__bytes__(plain)


@pytest.mark.parametrize("name", ["All", "Inner"])
def test_every_edge_case_of_every_kind_is_judged_like_upb(fixture: Fixture, name: str) -> None:
    """upb, the fast codec and the wire walk accept the same inputs, and upb reads our
    re-encoding of an accepted one as the input: every field kind, packed and unpacked, integer
    map keys, the wrappers (whose unknown fields betterproto2's plain values cannot hold)."""
    google, ours = getattr(fixture.google, name), getattr(fixture.ours, name)
    verdicts = [judge(google, ours, data) for _, data in cases(google.DESCRIPTOR)]
    assert sum(v.upb for v in verdicts) > 100
    assert sum(not v.upb for v in verdicts) > 100


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_field_soups_of_every_kind_are_judged_like_upb(
    fixture: Fixture, data: st.DataObject
) -> None:
    google = fixture.google.All
    judge(google, fixture.ours.All, data.draw(soup(google.DESCRIPTOR)))


def test_wrapped_values_keep_their_unknown_fields(fixture: Fixture) -> None:
    """An unknown field inside a wrapper is kept as one more occurrence of the wrapper field
    (after the value, where merging puts it back into the wrapper)."""
    inside = bytes([0x08, 0x05, 0xF8, 0x06, 0x01])  # Int64Value: value 5, unknown field 111
    data = bytes([0x92, 0x02, len(inside)]) + inside  # All.w_int (34)
    ours = fixture.ours.All.parse(data)
    assert ours.w_int == 5
    assert ours._unknown_fields == bytes([0x92, 0x02, 3, 0xF8, 0x06, 0x01])
    again = fixture.google.All.FromString(bytes(ours))
    assert again.w_int.value == 5
    assert canon(again) == canon(fixture.google.All.FromString(data))


def test_a_wrapped_oneof_member_is_refused(tmp_path: Path) -> None:
    """Its unknown fields, kept beside it, would bring it back after a later member."""
    odd = "message Odd { oneof o { google.protobuf.Int64Value w = 1; int32 i = 2; } }\n"
    source = SYNTHETIC.split("message All", 1)[0] + odd
    spec = tmp_path / "spec"
    (spec / "rbfixture" / "codecs").mkdir(parents=True)
    (spec / "rbfixture" / "codecs" / "all.proto").write_text(source, encoding="utf-8")
    package = tmp_path / "build" / "odd_fixture"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    protos.generate(spec, ["rbfixture/codecs/all.proto"], package / "proto", source_label="odd")
    with pytest.raises(GenerationError, match=r"Odd\.w: a wrapped oneof member"):
        fastproto.generate(tmp_path / "build", "odd_fixture", PROJECT_ROOT)


def test_a_failing_codec_step_is_a_generation_error(tmp_path: Path) -> None:
    with pytest.raises(GenerationError, match="fast protobuf codecs failed"):
        fastproto.generate(tmp_path, "no_such_package", PROJECT_ROOT)
