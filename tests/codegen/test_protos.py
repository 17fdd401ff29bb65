"""codegen.protos: inputs, closure, surface, deterministic generation, protoc errors.

Upstream .proto files are read from the spec folder at run time (``RUNBIND_SPECS_CLOUDAPI``
or ``specs/upstream/cloudapi``); the synthetic protos below are written by the tests.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

from codegen import protos
from codegen.errors import CodegenError, GenerationError
from codegen.headers import HEADER_FIRST_LINE

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SPEC_ENV = "RUNBIND_SPECS_CLOUDAPI"
GLOBS = ("yandex/cloud/ai/assistants/v1/**/*.proto", "yandex/cloud/ai/files/v1/**/*.proto")
LABEL = "yandex-cloud/cloudapi@test"
RUN = "yandex/cloud/ai/assistants/v1/runs/run.proto"
RUNS = "yandex.cloud.ai.assistants.v1.runs"


@pytest.fixture(scope="session")
def spec() -> Path:
    root = Path(os.environ.get(SPEC_ENV, str(PROJECT_ROOT / "specs" / "upstream" / "cloudapi")))
    if not (root / RUN).is_file():
        pytest.fail(f"cloudapi specs not found at {root} (set {SPEC_ENV} or run `nox -s sync`)")
    return root


@pytest.fixture(scope="session")
def roots(spec: Path) -> list[str]:
    return protos.proto_files(spec, GLOBS)


def _write(root: Path, rel: str, text: str) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(text, encoding="utf-8")


def _tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


# --------------------------------------------------------------------------- proto_files


def test_proto_files_lists_sorted_relative_roots(spec: Path, roots: list[str]) -> None:
    assert roots == sorted(roots)
    assert RUN in roots
    assert "yandex/cloud/ai/files/v1/file_service.proto" in roots
    assert all(
        r.startswith(("yandex/cloud/ai/assistants/v1/", "yandex/cloud/ai/files/v1/")) for r in roots
    )
    assert all(not Path(r).is_absolute() and "\\" not in r for r in roots)
    assert "yandex/cloud/ai/common/common.proto" not in roots  # imports are not roots


def test_proto_files_glob_semantics(tmp_path: Path) -> None:
    for rel in ("a/x.proto", "a/b/y.proto", "a/b/c/z.proto", "a/notes.txt", "ab/w.proto"):
        _write(tmp_path, rel, "")
    assert protos.proto_files(tmp_path, ["a/*.proto"]) == ["a/x.proto"]
    assert protos.proto_files(tmp_path, ["a/**/*.proto"]) == [
        "a/b/c/z.proto",
        "a/b/y.proto",
        "a/x.proto",
    ]
    assert protos.proto_files(tmp_path, ["a/b/**/*.proto", "a/x.proto"]) == [
        "a/b/c/z.proto",
        "a/b/y.proto",
        "a/x.proto",
    ]
    assert protos.proto_files(tmp_path, ["nothing/**/*.proto"]) == []


# --------------------------------------------------------------------------- import_closure


def test_import_closure_of_the_assistant_roots(spec: Path, roots: list[str]) -> None:
    closure = protos.import_closure(spec, roots)
    assert closure == sorted(closure)
    assert set(roots) <= set(closure)
    assert "third_party/googleapis/google/api/http.proto" in closure
    assert "third_party/googleapis/google/api/annotations.proto" in closure
    assert "yandex/cloud/validation.proto" in closure
    assert "yandex/cloud/ai/common/common.proto" in closure
    assert not [p for p in closure if "google/protobuf/" in p]
    assert all((spec / p).is_file() for p in closure)


def test_import_closure_follows_transitive_and_public_imports(tmp_path: Path) -> None:
    _write(tmp_path, "p/a.proto", 'syntax = "proto3";\nimport "p/b.proto";\n')
    _write(
        tmp_path,
        "p/b.proto",
        'import public "google/api/x.proto";\nimport "google/protobuf/any.proto";',
    )
    _write(tmp_path, "third_party/googleapis/google/api/x.proto", 'import "p/b.proto";\n')
    _write(tmp_path, "p/unrelated.proto", "")
    assert protos.import_closure(tmp_path, ["p/a.proto"]) == [
        "p/a.proto",
        "p/b.proto",
        "third_party/googleapis/google/api/x.proto",
    ]


def test_import_closure_reports_a_missing_import(tmp_path: Path) -> None:
    _write(tmp_path, "p/a.proto", 'import "p/missing.proto";\n')
    with pytest.raises(GenerationError, match=r"p/missing\.proto"):
        protos.import_closure(tmp_path, ["p/a.proto"])


# --------------------------------------------------------------------------- surface


def test_surface_lists_facts_sorted(spec: Path, roots: list[str]) -> None:
    lines = protos.surface(spec, roots)
    assert lines == sorted(set(lines))
    expected = {
        f"message {RUNS}.Run",
        f"field {RUNS}.Run.created_at = 5 singular google.protobuf.Timestamp",
        f"field {RUNS}.Run.labels = 6 map<string,string>",
        f"field {RUNS}.Run.tools = 11 repeated yandex.cloud.ai.assistants.v1.Tool",
        f"field {RUNS}.RunState.error = 2 singular yandex.cloud.ai.common.Error oneof StateData",
        f"enum {RUNS}.RunState.RunStatus",
        f"enum_value {RUNS}.RunState.RunStatus.COMPLETED = 4",
        f"service {RUNS}.RunService",
        f"rpc {RUNS}.RunService.Get({RUNS}.GetRunRequest) returns ({RUNS}.Run)",
        f"rpc {RUNS}.RunService.Listen({RUNS}.ListenRunRequest)"
        f" returns (stream {RUNS}.StreamEvent)",
        f"rpc {RUNS}.RunService.Attach(stream {RUNS}.AttachRunRequest)"
        f" returns (stream {RUNS}.StreamEvent)",
    }
    assert expected <= set(lines)
    kinds = {"message", "field", "enum", "enum_value", "service", "rpc"}
    assert {line.split(" ", 1)[0] for line in lines} == kinds
    assert all(line.split(" ")[1].startswith("yandex.") for line in lines)
    assert not [line for line in lines if "Entry" in line.split(" ")[1]]  # map entries folded
    assert not [line for line in lines if "//" in line or '"' in line or len(line.split()) > 9]


def test_surface_marks_proto3_optional(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "yandex/t/t.proto",
        'syntax = "proto3";\npackage yandex.t;\n'
        "message M { optional int64 a = 1; repeated bytes b = 2; map<int32, M> c = 3;\n"
        "  oneof o { string d = 4; M e = 5; } }\n",
    )
    assert protos.surface(tmp_path, ["yandex/t/t.proto"]) == [
        "field yandex.t.M.a = 1 optional int64",
        "field yandex.t.M.b = 2 repeated bytes",
        "field yandex.t.M.c = 3 map<int32,yandex.t.M>",
        "field yandex.t.M.d = 4 singular string oneof o",
        "field yandex.t.M.e = 5 singular yandex.t.M oneof o",
        "message yandex.t.M",
    ]


# --------------------------------------------------------------------------- generate


@pytest.fixture(scope="module")
def generated_twice(
    spec: Path, roots: list[str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    first = tmp_path_factory.mktemp("gen1") / "runbind_generated" / "proto"
    second = tmp_path_factory.mktemp("gen2") / "runbind_generated" / "proto"
    protos.generate(spec, roots, first, source_label=LABEL)
    protos.generate(spec, list(reversed(roots)), second, source_label=LABEL)
    return first, second


def test_generate_is_deterministic(generated_twice: tuple[Path, Path]) -> None:
    first, second = generated_twice
    assert _tree_hash(first) == _tree_hash(second)


def test_generated_files_carry_the_header(generated_twice: tuple[Path, Path], spec: Path) -> None:
    first, _ = generated_twice
    files = sorted(first.rglob("*.py"))
    assert (first / "yandex/cloud/ai/assistants/v1/runs/__init__.py") in files
    assert (first / "message_pool.py") in files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert text.startswith(HEADER_FIRST_LINE + "\n# source: "), path
        assert text.endswith("\n")
        assert "\r" not in text
        assert str(spec) not in text
        assert str(first) not in text
        assert "# sources:" not in text
        assert "DO NOT EDIT!" not in text
    runs = (first / "yandex/cloud/ai/assistants/v1/runs/__init__.py").read_text(encoding="utf-8")
    assert runs.splitlines()[1] == (
        f"# source: {LABEL} yandex/cloud/ai/assistants/v1/runs/run.proto, "
        "yandex/cloud/ai/assistants/v1/runs/run_service.proto"
    )
    wkt = (first / "google/protobuf/__init__.py").read_text(encoding="utf-8")
    assert "(bundled well-known types) google/protobuf/" in wkt.splitlines()[1]


def test_generated_stubs_and_bases_are_async(generated_twice: tuple[Path, Path]) -> None:
    runs = (generated_twice[0] / "yandex/cloud/ai/assistants/v1/runs/__init__.py").read_text(
        encoding="utf-8"
    )
    assert "class RunServiceStub(betterproto2_grpclib.ServiceStub)" in runs
    assert "class RunServiceBase(" in runs
    assert "async def listen(" in runs
    assert "unwrap=lambda: ______google__protobuf__.Timestamp" not in runs
    assert 'created_at: "______google__protobuf__.Timestamp | None"' in runs


def test_generate_refuses_a_non_empty_destination(
    spec: Path, roots: list[str], tmp_path: Path
) -> None:
    (tmp_path / "stale.py").write_text("", encoding="utf-8")
    with pytest.raises(GenerationError, match="not empty"):
        protos.generate(spec, roots, tmp_path, source_label=LABEL)


def test_a_broken_proto_raises_a_one_line_generation_error(
    spec: Path, roots: list[str], tmp_path: Path
) -> None:
    broken = tmp_path / "spec"
    for rel in protos.import_closure(spec, [RUN]):
        (broken / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(spec / rel, broken / rel)
    text = (broken / RUN).read_text(encoding="utf-8")
    assert "message Run {" in text
    (broken / RUN).write_text(
        text.replace("message Run {", "message Run { oops", 1), encoding="utf-8"
    )
    with pytest.raises(GenerationError) as info:
        protos.generate(broken, [RUN], tmp_path / "out", source_label=LABEL)
    message = str(info.value)
    assert isinstance(info.value, CodegenError)
    assert "\n" not in message
    assert message.startswith("protoc failed: ")
    assert "run.proto" in message
    assert str(tmp_path) not in message


# --------------------------------------------------------------------------- well-known types

_WKT_PROTO = """syntax = "proto3";
package yandex.t;
import "google/protobuf/duration.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/field_mask.proto";
message W {
  google.protobuf.Duration d = 1;
  repeated google.protobuf.Duration ds = 2;
  google.protobuf.Timestamp t = 3;
  map<string, google.protobuf.Duration> dm = 4;
  google.protobuf.UInt64Value u = 5;
  google.protobuf.FloatValue f = 6;
  google.protobuf.BytesValue b = 7;
  google.protobuf.FieldMask m = 8;
}
"""


def test_duration_and_wrappers_match_google_json(tmp_path: Path) -> None:
    """Duration is not in the cloudapi closure: check its fix on a proto written here."""
    _write(tmp_path / "spec", "yandex/t/w.proto", _WKT_PROTO)
    protos.generate(
        tmp_path / "spec",
        ["yandex/t/w.proto"],
        tmp_path / "pkg" / "rbwkt" / "proto",
        source_label=LABEL,
    )
    (tmp_path / "pkg" / "rbwkt" / "__init__.py").write_text("", encoding="utf-8")
    desc_set = tmp_path / "set.pb"
    protos._run_protoc(
        tmp_path / "spec",
        ["yandex/t/w.proto"],
        [f"--descriptor_set_out={desc_set}", "--include_imports"],
    )
    pool = descriptor_pool.DescriptorPool()
    for file in descriptor_pb2.FileDescriptorSet.FromString(desc_set.read_bytes()).file:
        pool.Add(file)
    gcls = message_factory.GetMessageClass(pool.FindMessageTypeByName("yandex.t.W"))
    sys.path.insert(0, str(tmp_path / "pkg"))
    try:
        ours_cls: Any = importlib.import_module("rbwkt.proto.yandex.t").W
    finally:
        sys.path.remove(str(tmp_path / "pkg"))
    cases = [(1, 1), (-1, -1), (0, -500), (315576000000, 999999999), (-2, -120000000), (0, 0)]
    for seconds, nanos in cases:
        g: Any = gcls()
        g.d.seconds, g.d.nanos = seconds, nanos
        g.ds.add(seconds=seconds, nanos=nanos)
        g.dm["k"].seconds, g.dm["k"].nanos = seconds, nanos
        g.t.seconds, g.t.nanos = 1753228800 + seconds % 86400, abs(nanos)
        g.u.value, g.f.value, g.b.value = 2**64 - 1, float("-inf"), b"\x00\xff"
        g.m.paths.extend(["a_b", "c.d_e"])
        data = g.SerializeToString(deterministic=True)
        ours = ours_cls.parse(data)
        assert (ours.d.seconds, ours.d.nanos) == (seconds, nanos)
        assert bytes(ours) == data
        expected = json.loads(json_format.MessageToJson(g, descriptor_pool=pool))
        assert json.loads(ours.to_json()) == expected
        assert bytes(ours_cls.from_json(json_format.MessageToJson(g, descriptor_pool=pool))) == data
    assert ours_cls.from_dict({"d": "-1.000000001s"}).d.nanos == -1
    assert ours_cls.from_dict({"d": "1.5s"}).to_dict() == {"d": "1.500s"}
