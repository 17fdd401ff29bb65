"""codegen.runtime.wkt: the well-known-type methods, run here on their stand-in classes.

The same source text is spliced into the generated classes (checked at the end); the behaviour
is compared with Google's protobuf (``json_format``, ``SerializeToString``).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import math
from typing import Any

import pytest
from google.protobuf import duration_pb2, field_mask_pb2, json_format, timestamp_pb2, wrappers_pb2

from codegen import protos
from codegen.errors import GenerationError
from codegen.runtime import wkt


def google_json(message: Any) -> Any:
    return json.loads(json_format.MessageToJson(message))


TIMES = [
    (0, 0),
    (0, 1),
    (1, 500_000_000),
    (1, 120_000),
    (-1, 999_999_999),
    (-62135596800, 0),
    (253402300799, 999_999_999),
    (1753228800, 123_456_789),
]


@pytest.mark.parametrize(("seconds", "nanos"), TIMES)
def test_timestamp_json_is_googles_both_ways(seconds: int, nanos: int) -> None:
    google = timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)
    text = wkt.Timestamp(seconds=seconds, nanos=nanos).to_dict()
    assert text == google_json(google)
    back = wkt.Timestamp.from_dict(text)
    assert (back.seconds, back.nanos) == (seconds, nanos)


@pytest.mark.parametrize(
    ("text", "seconds", "nanos"),
    [
        ("1970-01-01T01:00:00+01:00", 0, 0),
        ("1970-01-01T00:00:00.5Z", 0, 500_000_000),
        ("1969-12-31T23:30:00.000000001-00:30", 0, 1),
        ("2000-02-29T12:00:00.1234Z", 951825600, 123_400_000),
    ],
)
def test_timestamp_reads_any_offset_and_up_to_nine_digits(
    text: str, seconds: int, nanos: int
) -> None:
    google = timestamp_pb2.Timestamp()
    json_format.Parse(json.dumps(text), google)
    ours = wkt.Timestamp.from_dict(text)
    assert (ours.seconds, ours.nanos) == (google.seconds, google.nanos) == (seconds, nanos)


def test_timestamp_reads_lowercase_t_and_z_as_rfc_3339_allows() -> None:
    ours = wkt.Timestamp.from_dict("1970-01-01t00:00:01.5z")
    assert (ours.seconds, ours.nanos) == (1, 500_000_000)


def test_timestamp_out_of_json_range_or_malformed_is_a_value_error() -> None:
    for seconds, nanos in [(-62135596801, 0), (253402300800, 0), (0, -1), (0, 10**9)]:
        with pytest.raises(ValueError, match="Timestamp out of range for JSON"):
            wkt.Timestamp(seconds=seconds, nanos=nanos).to_dict()
    for text in ["1970-01-01", "1970-01-01T00:00:00", "1970-01-01T00:00:00.1234567890Z"]:
        with pytest.raises(ValueError, match="invalid RFC 3339 timestamp"):
            wkt.Timestamp.from_dict(text)


def test_a_json_object_goes_to_betterproto2s_own_reader() -> None:
    assert wkt.Timestamp.from_dict({"seconds": 5, "nanos": 6}).nanos == 6
    assert wkt.Duration.from_dict({"seconds": -5}).seconds == -5
    assert wkt.FieldMask.from_dict({"paths": ["a_b"]}).paths == ["a_b"]
    for cls in (wkt.Int64Value, wkt.UInt64Value, wkt.Int32Value, wkt.UInt32Value):
        assert cls.from_dict({"value": "7"}).value == 7
    for fcls in (wkt.FloatValue, wkt.DoubleValue):
        assert fcls.from_dict({"value": "NaN"}).value != fcls.from_dict({"value": 1.5}).value == 1.5
    assert wkt.BytesValue.from_dict({"value": "AP8="}).value == b"\x00\xff"


DURATIONS = [(0, 0), (1, 0), (-1, -1), (0, -500), (315576000000, 999_999_999), (-2, -120_000_000)]


@pytest.mark.parametrize(("seconds", "nanos"), DURATIONS)
def test_duration_json_is_googles_both_ways(seconds: int, nanos: int) -> None:
    google = duration_pb2.Duration(seconds=seconds, nanos=nanos)
    text = wkt.Duration(seconds=seconds, nanos=nanos).to_dict()
    assert text == google_json(google)
    back = wkt.Duration.from_dict(text)
    assert (back.seconds, back.nanos) == (seconds, nanos)


def test_duration_with_mixed_signs_or_malformed_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="different signs"):
        wkt.Duration(seconds=1, nanos=-1).to_dict()
    with pytest.raises(ValueError, match="different signs"):
        wkt.Duration(seconds=-1, nanos=1).to_dict()
    for text in ["1", "1.s", "1.0000000001s", "+1s", "s"]:
        with pytest.raises(ValueError, match="invalid Duration"):
            wkt.Duration.from_dict(text)


def test_field_mask_json_is_googles_both_ways() -> None:
    paths = ["a_b", "c.d_e", "f"]
    text = wkt.FieldMask(paths=paths).to_dict()
    assert text == google_json(field_mask_pb2.FieldMask(paths=paths)) == "aB,c.dE,f"
    assert wkt.FieldMask.from_dict(text).paths == paths
    assert wkt.FieldMask.from_dict("").paths == []
    for bad in ["aB", "a__b", "a_1"]:
        with pytest.raises(ValueError, match="cannot be written as lowerCamel JSON"):
            wkt.FieldMask(paths=[bad]).to_dict()


@pytest.mark.parametrize(
    ("ours", "google", "value"),
    [
        (wkt.Int64Value, wrappers_pb2.Int64Value, -(2**63)),
        (wkt.UInt64Value, wrappers_pb2.UInt64Value, 2**64 - 1),
        (wkt.Int32Value, wrappers_pb2.Int32Value, -(2**31)),
        (wkt.UInt32Value, wrappers_pb2.UInt32Value, 2**32 - 1),
        (wkt.FloatValue, wrappers_pb2.FloatValue, 1.5),
        (wkt.DoubleValue, wrappers_pb2.DoubleValue, -2.25),
        (wkt.BytesValue, wrappers_pb2.BytesValue, b"\x00\xff\x10"),
    ],
)
def test_wrapper_json_and_wire_are_googles(ours: Any, google: Any, value: Any) -> None:
    message = google(value=value)
    expected = google_json(message)
    assert ours(value=value).to_dict() == expected
    assert ours.from_dict(expected).value == value
    if isinstance(value, int):  # integers are read from a string or a number
        assert ours.from_dict(str(value)).value == ours.from_dict(value).value == value
    assert bytes(ours(value=value)) == message.SerializeToString()


@pytest.mark.parametrize("cls", [wkt.FloatValue, wkt.DoubleValue])
def test_float_wrappers_write_non_finite_values_as_strings(cls: Any) -> None:
    for value, text in [(math.inf, "Infinity"), (-math.inf, "-Infinity"), (math.nan, "NaN")]:
        assert cls(value=value).to_dict() == text
        back = cls.from_dict(text).value
        assert back == value or (math.isnan(back) and math.isnan(value))


@pytest.mark.parametrize(
    ("ours", "google"),
    [(wkt.FloatValue, wrappers_pb2.FloatValue), (wkt.DoubleValue, wrappers_pb2.DoubleValue)],
)
def test_negative_zero_keeps_its_sign_on_the_wire(ours: Any, google: Any) -> None:
    data = bytes(ours(value=-0.0))
    assert data == google(value=-0.0).SerializeToString()
    assert data[0] == (0x0D if ours is wkt.FloatValue else 0x09)
    assert bytes(ours(value=0.0)) == b""
    with_unknown = ours(value=-0.0)
    with_unknown._unknown_fields = b"\x10\x01"
    assert bytes(with_unknown) == data + b"\x10\x01"


# --------------------------------------------------------------------------- what is spliced


def test_every_listed_method_and_helper_exists_here() -> None:
    assert set(wkt.METHODS) == {
        name
        for name, obj in vars(wkt).items()
        if isinstance(obj, type) and obj.__module__ == wkt.__name__
    }
    for name, methods in wkt.METHODS.items():
        for method in methods:
            assert callable(getattr(getattr(wkt, name), method)), (name, method)
    source = inspect.getsource(wkt)
    lines = source.splitlines()
    for line in wkt.SPLICED_IMPORTS:
        assert line in lines
    top = {
        target.id
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert set(wkt.HELPERS) <= top | {n for n, f in vars(wkt).items() if inspect.isfunction(f)}


def test_methods_are_spliced_with_decorators_at_class_indentation() -> None:
    methods = protos._wkt_methods()
    assert list(methods) == list(wkt.METHODS)
    from_dict = methods["Timestamp"]["from_dict"]
    assert from_dict.startswith("    @classmethod\n    def from_dict(")
    assert methods["DoubleValue"]["to_dict"] == methods["FloatValue"]["to_dict"]
    assert methods["UInt64Value"] == methods["Int64Value"]
    assert 'b"\\x09" + struct.pack("<d"' in methods["DoubleValue"]["__bytes__"]
    assert 'b"\\x0d" + struct.pack("<f"' in methods["FloatValue"]["__bytes__"]
    for by_name in methods.values():
        for text in by_name.values():
            assert not text.endswith("\n")
            ast.parse("class C:\n" + text)


def test_helpers_are_spliced_in_order() -> None:
    tail = protos._wkt_helpers()
    tree = ast.parse(tail)
    names = [
        node.name if isinstance(node, ast.FunctionDef) else ast.unparse(node.targets[0])
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.Assign)
    ]
    assert names == list(wkt.HELPERS)


def test_a_helper_missing_here_is_a_generation_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wkt, "HELPERS", (*wkt.HELPERS, "_gone"))
    with pytest.raises(GenerationError, match=r"codegen\.runtime\.wkt defines no top-level _gone"):
        protos._wkt_helpers()


def test_helper_imports_go_before_betterproto2_once() -> None:
    code = "import base64\nimport betterproto2\n"
    assert protos._ensure_imports(code, ["import base64"]) == code
    assert protos._ensure_imports(code, ["import math"]).startswith("import base64\nimport math\n")
    with pytest.raises(ValueError, match="'import betterproto2' not found"):
        protos._ensure_imports("import typing\n", ["import math"])


def test_the_generated_well_known_types_hold_this_source_verbatim() -> None:
    """After ruff (same settings as ours) the generated methods read exactly as here."""
    generated = importlib.import_module("runbind_generated.proto.google.protobuf")
    checked = 0
    for name, methods in wkt.METHODS.items():
        cls = getattr(generated, name, None)
        if cls is None:  # Duration is not in the cloudapi closure
            continue
        for method in methods:
            ours = inspect.getsource(getattr(getattr(wkt, name), method))
            assert inspect.getsource(getattr(cls, method)) == ours, (name, method)
            checked += 1
    assert checked >= 19
    for helper in ("_json_float", "_fraction"):
        assert inspect.getsource(getattr(generated, helper)) == inspect.getsource(
            getattr(wkt, helper)
        )
    assert generated._TIMESTAMP_RE.pattern == wkt._TIMESTAMP_RE.pattern
