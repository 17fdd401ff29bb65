"""The generate/check pipeline: determinism, no-op, atomic failure on hostile specs, headers."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from codegen import fetch, headers, lock, pipeline
from codegen.errors import GenerationError, SyncError
from tests.codegen.test_fetch import make_mirror

GENERATED = pipeline.GENERATED_DIR / pipeline.PACKAGE


@pytest.fixture(scope="module")
def fresh_build(
    the_lock: lock.Lock, spec_dirs: Mapping[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> pipeline.Build:
    """One full build into a temp folder, independent of generated/."""
    return pipeline.build(the_lock, spec_dirs, tmp_path_factory.mktemp("build"))


def test_generated_exists_and_is_current() -> None:
    assert GENERATED.is_dir(), "run `nox -s generate` first (the tests session does)"
    stamp = json.loads((pipeline.GENERATED_DIR / pipeline.STAMP_NAME).read_text())
    assert stamp["output"] == pipeline.tree_digest(GENERATED)
    assert stamp["inputs"] == pipeline.fingerprint(lock.load()), "generated/ is stale"


def test_regeneration_is_byte_identical(fresh_build: pipeline.Build) -> None:
    """A second, independent generation equals generated/ file by file."""
    ours = {p.relative_to(GENERATED) for p in pipeline._walk(GENERATED)}
    theirs = {p.relative_to(fresh_build.package) for p in pipeline._walk(fresh_build.package)}
    assert ours == theirs
    differing = [
        rel
        for rel in sorted(ours)
        if (GENERATED / rel).read_bytes() != (fresh_build.package / rel).read_bytes()
    ]
    assert differing == []


def test_committed_surface_index_matches(fresh_build: pipeline.Build) -> None:
    for name, text in fresh_build.surfaces.items():
        committed = pipeline.SURFACE_DIR / f"{name}.txt"
        assert committed.read_text(encoding="utf-8") == text, f"{committed} is stale"
        lines = text.splitlines()[1:]
        assert lines == sorted(lines), "surface lines must be sorted"
        assert len(lines) > 100


def test_every_generated_file_is_owned_and_machine_independent(
    fresh_build: pipeline.Build, the_lock: lock.Lock
) -> None:
    # Each file names the locked upstream it came from (or the pinned tool that ships it).
    provenance = [s.label for s in the_lock.sources.values()]
    provenance += [f"{name}=={version}" for name, version in the_lock.tools.items()]
    forbidden = [str(lock.PROJECT_ROOT), str(fresh_build.parent), str(Path.home()), "/tmp/"]
    host = socket.gethostname()
    if len(host) >= 6:  # a short host name ("vm") is a common substring of code
        forbidden.append(host)
    for path in pipeline._walk(fresh_build.package):
        data = path.read_bytes()
        text = data.decode("utf-8")
        assert "\r" not in text, path
        assert not text or text.endswith("\n"), path
        if path.suffix == ".py":
            assert text.startswith(headers.HEADER_FIRST_LINE + "\n"), path
            source_line = text.splitlines()[1]
            assert source_line.startswith("# source: "), path
            assert any(label in source_line for label in provenance), path
        for needle in forbidden:
            assert needle not in text, (path, needle)


def test_noop_regeneration_touches_nothing_and_imports_no_generator() -> None:
    pipeline.generate()  # brings generated/ up to date if a test edited nothing; else a no-op
    before = pipeline.tree_digest(GENERATED)
    probe = (
        "import sys, json; from codegen import pipeline; r = pipeline.generate(); "
        "heavy = [m for m in ('grpc_tools', 'datamodel_code_generator', 'yaml', 'codegen.protos') "
        "if m in sys.modules]; print(json.dumps([r.noop, heavy]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=lock.PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [True, []]
    assert pipeline.tree_digest(GENERATED) == before


def _copy_lock_with(
    the_lock: lock.Lock, tmp_path: Path, source_name: str, changes: Mapping[str, bytes]
) -> tuple[Path, Path]:
    """A temp mirror and lock where ``changes`` replace files of one source (hashes updated)."""
    mirror = tmp_path / "mirror"
    sources = dict(the_lock.sources)
    for name, src in the_lock.sources.items():
        base = make_mirror(mirror, src, fetch.fetch_source(src))
        if name == source_name:
            files = dict(src.files)
            for rel, data in changes.items():
                (base / rel).write_bytes(data)
                files[rel] = lock.sha256_file(base / rel)
            sources[name] = dataclasses.replace(src, files=files)
    lock_path = tmp_path / "lock.toml"
    lock.write(lock.Lock(the_lock.tools, sources), lock_path)
    return mirror, lock_path


def _lock_only(lock_path: Path, source: str) -> None:
    """Rewrite the lock at ``lock_path`` so that it holds ``source`` alone."""
    whole = lock.load(lock_path)
    lock.write(lock.Lock(whole.tools, {source: whole.source(source)}), lock_path)


def _previous_output(tmp_path: Path) -> Path:
    gen = tmp_path / "generated"
    shutil.copytree(GENERATED, gen / pipeline.PACKAGE)
    return gen


def _assert_untouched(gen: Path, digest: str) -> None:
    assert pipeline.tree_digest(gen / pipeline.PACKAGE) == digest
    assert sorted(p.name for p in gen.iterdir()) == [pipeline.PACKAGE], "temp folders left behind"


RUN_PROTO = "yandex/cloud/ai/assistants/v1/runs/run.proto"
RUNS = "yandex.cloud.ai.assistants.v1.runs"


def _add_import(data: bytes) -> bytes:
    anchor = b'import "google/protobuf/timestamp.proto";'
    return data.replace(anchor, anchor + b'\nimport "yandex/cloud/ai/nowhere.proto";', 1)


def _nested_and_flat_twin(data: bytes) -> bytes:
    """``Run.ClashProbe`` and a top-level ``RunClashProbe``: both are class RunClashProbe."""
    data = data.replace(b"message Run {", b"message Run {\n  message ClashProbe {}", 1)
    return data + b"\nmessage RunClashProbe {}\n"


# (source, {file: new bytes} from the locked bytes, the one line generate must fail with)
BROKEN: dict[str, tuple[str, Callable[[Callable[[str], bytes]], dict[str, bytes]], str]] = {
    "broken-proto": (
        "cloudapi",
        lambda read: {RUN_PROTO: read(RUN_PROTO).replace(b"message Run {", b"message Run {{", 1)},
        rf"protoc failed: {RUN_PROTO}:\d+:\d+: Expected .*",
    ),
    "missing-import": (
        "cloudapi",
        lambda read: {RUN_PROTO: _add_import(read(RUN_PROTO))},
        rf"proto: {RUN_PROTO} imports yandex/cloud/ai/nowhere\.proto,"
        r" which is missing from cloudapi/",
    ),
    "proto-name-clash": (
        "cloudapi",
        lambda read: {RUN_PROTO: _nested_and_flat_twin(read(RUN_PROTO))},
        rf"proto: name clash: {RUNS}\.RunClashProbe \({RUN_PROTO}\) and"
        rf" {RUNS}\.Run\.ClashProbe \({RUN_PROTO}\) both generate class RunClashProbe",
    ),
    "proto-defined-twice": (
        "cloudapi",
        lambda read: {
            "yandex/cloud/ai/assistants/v1/runs/twin.proto": (
                b'syntax = "proto3";\npackage yandex.cloud.ai.assistants.v1.runs;\nmessage Run {}\n'
            )
        },
        r"protoc failed: yandex/cloud/ai/assistants/v1/runs/twin\.proto:3:9:"
        rf' "{RUNS}\.Run" is already defined in file "{RUN_PROTO}"\..*',
    ),
    "proto-not-utf8": (
        "cloudapi",
        lambda read: {
            RUN_PROTO: read(RUN_PROTO).replace(b"message Run {", b"// \xff\nmessage Run {")
        },
        rf"proto: {RUN_PROTO} is not UTF-8 text: invalid start byte at byte \d+",
    ),
    "malformed-yaml": (
        "openai-openapi",
        lambda read: {
            "openapi.yaml": read("openapi.yaml")[: len(read("openapi.yaml")) // 2]
            + b"\n  - [unclosed: {\n"
        },
        r"openapi: openapi\.yaml is not valid YAML: line \d+, column \d+: .+",
    ),
    "openapi-not-utf8": (
        "openai-openapi",
        lambda read: {"openapi.yaml": read("openapi.yaml").replace(b"\n", b"\n# \xc3\x28\n", 1)},
        r"openapi: openapi\.yaml is not UTF-8 text: invalid .*UTF-8 octet at byte \d+",
    ),
    "openapi-empty": (
        "openai-openapi",
        lambda read: {"openapi.yaml": b""},
        r"openapi: openapi\.yaml is empty",
    ),
    "openapi-is-a-list": (
        "openai-openapi",
        lambda read: {"openapi.yaml": b"- openapi: 3.1.0\n- paths: {}\n"},
        r"openapi: openapi\.yaml is not an OpenAPI 3\.x document \(its top level is a list\)",
    ),
}


@pytest.fixture
def scratch_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private temp folder for this test (and its subprocesses) that must end up empty."""
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setenv("TMPDIR", str(private))
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    yield private
    assert sorted(p.name for p in private.iterdir()) == [], "temp files left behind"


def _generate_broken(
    the_lock: lock.Lock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    changes: Mapping[str, bytes],
    *,
    alone: bool = False,
) -> tuple[BaseException, Path, str]:
    """Run generate on a mirror where ``changes`` replace locked files; return the error.

    ``alone`` locks only ``source``: an OpenAPI failure then skips the ~2 s proto build.
    """
    mirror, lock_path = _copy_lock_with(the_lock, tmp_path, source, changes)
    if alone:
        _lock_only(lock_path, source)
    monkeypatch.setenv(fetch.MIRROR_ENV, str(mirror))
    monkeypatch.setenv(fetch.NETWORK_ENV, "0")
    gen = _previous_output(tmp_path)
    digest = pipeline.tree_digest(gen / pipeline.PACKAGE)
    with pytest.raises(GenerationError) as err:
        pipeline.generate(
            force=True,
            generated_dir=gen,
            surface_dir=tmp_path / "surface",
            upstream_dir=tmp_path / "up",
            lock_path=lock_path,
        )
    _assert_untouched(gen, digest)
    assert not (tmp_path / "surface").exists()
    leftovers = [p.name for p in (tmp_path / "up").iterdir() if p.name.startswith(".")]
    assert leftovers == [], "sync staging folders left behind"
    return err.value, gen, digest


@pytest.mark.parametrize(("case"), sorted(BROKEN))
def test_a_broken_spec_fails_with_one_line_and_leaves_generated_intact(
    the_lock: lock.Lock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    scratch_tmp: Path,
    case: str,
) -> None:
    source, mutate, message = BROKEN[case]
    locked = fetch.fetch_source(the_lock.source(source))
    changes = mutate(lambda rel: (locked / rel).read_bytes())
    assert all(
        not (locked / rel).is_file() or data != (locked / rel).read_bytes()
        for rel, data in changes.items()
    )
    # One OpenAPI case keeps the whole lock, so a failure after the proto build is covered.
    alone = source == "openai-openapi" and case != "malformed-yaml"
    error, _, _ = _generate_broken(the_lock, tmp_path, monkeypatch, source, changes, alone=alone)
    assert re.fullmatch(message, str(error)), str(error)


def test_hash_mismatch_refuses_to_generate(
    the_lock: lock.Lock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror, _ = _copy_lock_with(the_lock, tmp_path, "cloudapi", {})
    src = the_lock.source("cloudapi")
    victim = mirror / src.owner_repo / src.commit / "yandex/cloud/ai/assistants/v1/runs/run.proto"
    victim.write_bytes(victim.read_bytes().replace(b"Run", b"Rum", 1))
    monkeypatch.setenv(fetch.MIRROR_ENV, str(mirror))
    monkeypatch.setenv(fetch.NETWORK_ENV, "0")
    gen = _previous_output(tmp_path)
    digest = pipeline.tree_digest(gen / pipeline.PACKAGE)
    with pytest.raises(SyncError, match=r"runs/run\.proto: sha256 mismatch in mirror"):
        pipeline.generate(
            force=True,
            generated_dir=gen,
            surface_dir=tmp_path / "surface",
            upstream_dir=tmp_path / "up",
        )
    _assert_untouched(gen, digest)


# --------------------------------------------------------------------------- $ref cycles

SCHEMA = "#/components/schemas/"


@pytest.fixture(scope="module")
def openapi_doc(spec_dirs: Mapping[str, Path]) -> dict[str, Any]:
    """The locked OpenAPI document, parsed once (tests edit deep copies)."""
    from codegen.openapi import _spec  # noqa: PLC0415 - keeps collection free of yaml

    doc: dict[str, Any] = _spec.load_spec(spec_dirs["openai-openapi"] / "openapi.yaml")
    return doc


def _with_schemas(
    doc: dict[str, Any], probe: dict[str, Any], schemas: Mapping[str, Any]
) -> dict[str, Any]:
    """A copy of ``doc`` where RunObject gains property ``runbind_probe`` and ``schemas``."""
    out = copy.deepcopy(doc)
    out["components"]["schemas"]["RunObject"]["properties"]["runbind_probe"] = probe
    out["components"]["schemas"].update(copy.deepcopy(dict(schemas)))
    return out


def _openapi_bytes(doc: dict[str, Any]) -> bytes:
    """The document as JSON (a YAML subset the loader reads as it reads the YAML)."""
    return json.dumps(doc).encode()


TREE_NODE = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "children": {"type": "array", "items": {"$ref": SCHEMA + "RunbindTreeNode"}},
        "parent": {"anyOf": [{"$ref": SCHEMA + "RunbindTreeNode"}, {"type": "null"}]},
    },
}

# (what RunObject.runbind_probe is, extra components, the one line generate must fail with)
UNRESOLVABLE: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "alias-cycle": (
        {"$ref": SCHEMA + "RunbindA"},
        {"RunbindA": {"$ref": SCHEMA + "RunbindB"}, "RunbindB": {"$ref": SCHEMA + "RunbindA"}},
        r"openapi: openapi\.yaml: \$ref cycle with no object in between:"
        r" RunbindA -> RunbindB -> RunbindA",
    ),
    "self-alias": (
        {"$ref": SCHEMA + "RunbindA"},
        {"RunbindA": {"description": "itself", "$ref": SCHEMA + "RunbindA"}},
        r"openapi: openapi\.yaml: \$ref cycle with no object in between: RunbindA -> RunbindA",
    ),
    "combinator-cycle": (
        {"$ref": SCHEMA + "RunbindA"},
        {
            "RunbindA": {"anyOf": [{"type": "string"}, {"$ref": SCHEMA + "RunbindB"}]},
            "RunbindB": {"allOf": [{"oneOf": [{"$ref": SCHEMA + "RunbindA"}]}]},
        },
        r"openapi: openapi\.yaml: \$ref cycle with no object in between:"
        r" RunbindA -> RunbindB -> RunbindA",
    ),
    "dangling-ref": (
        {"type": "array", "items": {"$ref": SCHEMA + "RunbindNowhere"}},
        {},
        r"openapi: openapi\.yaml: \$ref #/components/schemas/RunbindNowhere"
        r" \(used in components\.schemas\.RunObject\) does not resolve",
    ),
}


@pytest.mark.parametrize("case", sorted(UNRESOLVABLE))
def test_an_unresolvable_ref_fails_with_one_line_naming_the_refs(
    the_lock: lock.Lock,
    openapi_doc: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    scratch_tmp: Path,
    case: str,
) -> None:
    probe, schemas, message = UNRESOLVABLE[case]
    spec = _openapi_bytes(_with_schemas(openapi_doc, probe, schemas))
    changes = {"openapi.yaml": spec}
    error, _, _ = _generate_broken(
        the_lock, tmp_path, monkeypatch, "openai-openapi", changes, alone=True
    )
    assert re.fullmatch(message, str(error)), str(error)


def test_a_schema_that_contains_itself_through_a_yaml_alias_fails_with_one_line(
    the_lock: lock.Lock,
    openapi_doc: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    scratch_tmp: Path,
) -> None:
    """An anchor inside itself is a cyclic object, not a ref: it must not reach a recursion."""
    text = _openapi_bytes(_with_schemas(openapi_doc, {"type": "string"}, {}))
    loop = b'&loop {"type": "object", "properties": {"next": *loop}}'
    spec = text.replace(b'"runbind_probe": {"type": "string"}', b'"runbind_probe": ' + loop, 1)
    assert spec != text
    changes = {"openapi.yaml": spec}
    error, _, _ = _generate_broken(
        the_lock, tmp_path, monkeypatch, "openai-openapi", changes, alone=True
    )
    assert str(error) == "openapi: openapi.yaml contains itself (a recursive YAML alias)"


def test_a_recursive_schema_through_properties_generates_a_working_recursive_model(
    the_lock: lock.Lock,
    openapi_doc: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    scratch_tmp: Path,
) -> None:
    """A tree node whose children are nodes is legal OpenAPI: it generates and validates."""
    doc = _with_schemas(openapi_doc, {"$ref": SCHEMA + "RunbindTreeNode"}, {})
    doc["components"]["schemas"]["RunbindTreeNode"] = TREE_NODE
    mirror, lock_path = _copy_lock_with(
        the_lock, tmp_path, "openai-openapi", {"openapi.yaml": _openapi_bytes(doc)}
    )
    _lock_only(lock_path, "openai-openapi")
    monkeypatch.setenv(fetch.MIRROR_ENV, str(mirror))
    monkeypatch.setenv(fetch.NETWORK_ENV, "0")
    gen = tmp_path / "generated"
    result = pipeline.generate(
        force=True,
        generated_dir=gen,
        surface_dir=tmp_path / "surface",
        upstream_dir=tmp_path / "up",
        lock_path=lock_path,
    )
    assert not result.noop
    assert sorted(p.name for p in gen.iterdir()) == [pipeline.STAMP_NAME, pipeline.PACKAGE]
    probe = (
        "import json, sys; sys.path.insert(0, sys.argv[1]);"
        "from runbind_generated.openai import models as m;"
        "tree = {'name': 'a', 'children': [{'name': 'b', 'children': [{'name': 'c'}]}],"
        " 'parent': {'name': 'root'}};"
        "node = m.RunbindTreeNode.model_validate(tree);"
        "leaf = node.children[0].children[0];"
        "print(json.dumps([type(leaf).__name__, leaf.name, type(node.parent).__name__,"
        " node.model_dump(exclude_none=True) == tree,"
        " m.RunObject.model_fields['runbind_probe'].annotation is not None]))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", probe, str(gen)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout) == ["RunbindTreeNode", "c", "RunbindTreeNode", True, True]


def _load_yaml_error(tmp_path: Path, text: str) -> str:
    from codegen.openapi import _spec  # noqa: PLC0415

    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GenerationError) as err:
        _spec.load_yaml(path)
    return str(err.value)


def test_a_document_nested_beyond_the_depth_limit_fails_with_one_line(tmp_path: Path) -> None:
    from codegen.openapi import _spec  # noqa: PLC0415

    depth = 5000  # far past the limit, and past what the recursive later steps could walk
    message = _load_yaml_error(tmp_path, "openapi: 3.1.0\nx-deep: " + "[" * depth + "]" * depth)
    assert message == f"openapi: hostile.yaml nests deeper than {_spec.MAX_DEPTH} levels"
    # The document mapping is level 1: MAX_DEPTH - 1 nested lists reach the limit exactly.
    lists = _spec.MAX_DEPTH - 1
    ok = tmp_path / "ok.yaml"
    ok.write_text("x: " + "[" * lists + "]" * lists, encoding="utf-8")
    assert isinstance(_spec.load_yaml(ok), dict)
    message = _load_yaml_error(tmp_path, "x: " + "[" * (lists + 1) + "]" * (lists + 1))
    assert message == f"openapi: hostile.yaml nests deeper than {_spec.MAX_DEPTH} levels"


def test_an_alias_bomb_fails_with_one_line_instead_of_expanding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nine levels of ten aliases each would expand to 10**9 nodes in the later steps."""
    from codegen.openapi import _spec  # noqa: PLC0415

    monkeypatch.setattr(_spec, "MAX_NODES", 100_000)  # keeps the test fast; the walk is linear
    lines = ["openapi: 3.1.0", "l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
    message = _load_yaml_error(tmp_path, "\n".join(lines) + "\n")
    assert message == "openapi: hostile.yaml expands to more than 100000 nodes"


def test_shared_yaml_aliases_that_form_no_cycle_load(tmp_path: Path) -> None:
    from codegen.openapi import _spec  # noqa: PLC0415

    path = tmp_path / "shared.yaml"
    path.write_text("a: &a {k: [1, 2]}\nb: [*a, *a]\nc: {d: *a}\n", encoding="utf-8")
    doc = _spec.load_yaml(path)
    assert doc["b"] == [{"k": [1, 2]}, {"k": [1, 2]}]
    assert doc["c"]["d"] is doc["a"]


def test_the_same_bytes_loaded_again_give_a_fresh_copy_of_the_same_tree(tmp_path: Path) -> None:
    """A repeated load comes from the parse cache: equal, sharing kept, never the object a
    caller already changed; other bytes at the same path are parsed anew."""
    from codegen.openapi import _spec  # noqa: PLC0415

    path = tmp_path / "cached.yaml"
    path.write_text("a: &a {k: [1, 2]}\nb: [*a, *a]\n", encoding="utf-8")
    first = _spec.load_yaml(path)
    first["a"]["k"].append(3)
    second = _spec.load_yaml(path)
    assert second == {"a": {"k": [1, 2]}, "b": [{"k": [1, 2]}, {"k": [1, 2]}]}
    assert second["b"][0] is second["a"]
    second["a"]["k"].append(4)
    assert _spec.load_yaml(path)["a"]["k"] == [1, 2]
    path.write_text("a: {k: [5]}\n", encoding="utf-8")
    assert _spec.load_yaml(path) == {"a": {"k": [5]}}


def test_a_long_chain_of_refs_is_checked_without_recursion() -> None:
    """The cycle check is iterative: a 20 000-link chain neither recurses nor passes a loop."""
    from codegen.openapi import _spec  # noqa: PLC0415

    chain: dict[str, Any] = {f"S{i}": {"$ref": f"{SCHEMA}S{i + 1}"} for i in range(20_000)}
    chain["S20000"] = {"type": "object", "properties": {"up": {"$ref": SCHEMA + "S0"}}}
    _spec.check_alias_cycles(chain)  # a cycle through a property is a recursive type: fine
    chain["S20000"] = {"allOf": [{"$ref": SCHEMA + "S0"}]}
    with pytest.raises(
        GenerationError,
        match=r"^openapi: \$ref cycle with no object in between: S0 -> S1 -> .* -> S20000 -> S0$",
    ):
        _spec.check_alias_cycles(chain)


# --------------------------------------------------------------------------- the command line


def _scratch_project(tmp_path: Path, lock_path: Path) -> Path:
    """A copy of the pipeline whose project root is a temp folder, with ``lock_path`` as lock.

    ``python -m codegen`` run there writes only below that folder (``PROJECT_ROOT`` comes from
    the location of ``codegen/``), so the command line can be tested without flags.
    """
    project = tmp_path / "project"
    shutil.copytree(
        lock.PROJECT_ROOT / "codegen",
        project / "codegen",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (project / "specs").mkdir()
    for rel in pipeline.EXTRA_INPUTS:
        shutil.copyfile(lock.PROJECT_ROOT / rel, project / rel)
    shutil.copyfile(lock_path, project / "specs" / "lock.toml")
    shutil.copytree(GENERATED, project / "generated" / pipeline.PACKAGE)
    return project


def _cli_generate_fails(project: Path, mirror: Path, scratch_tmp: Path) -> str:
    """Run ``python -m codegen generate --force`` in ``project``; return its one stderr line."""
    gen = project / "generated"
    digest = pipeline.tree_digest(gen / pipeline.PACKAGE)
    env = {
        "PATH": str(Path(sys.executable).parent),
        "TMPDIR": str(scratch_tmp),
        fetch.MIRROR_ENV: str(mirror),
        fetch.NETWORK_ENV: "0",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "codegen", "generate", "--force"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    _assert_untouched(gen, digest)
    assert (project / "specs" / "upstream").is_dir(), "the command ran outside the scratch copy"
    return lines[0]


def test_the_command_line_reports_a_hash_mismatch_in_one_line(
    the_lock: lock.Lock, tmp_path: Path, scratch_tmp: Path
) -> None:
    mirror, lock_path = _copy_lock_with(the_lock, tmp_path, "cloudapi", {})
    src = the_lock.source("cloudapi")
    victim = mirror / src.owner_repo / src.commit / RUN_PROTO
    victim.write_bytes(victim.read_bytes() + b"\n// tampered\n")
    line = _cli_generate_fails(_scratch_project(tmp_path, lock_path), mirror, scratch_tmp)
    base = mirror / src.owner_repo / src.commit
    assert re.fullmatch(
        rf"sync: cloudapi: {RUN_PROTO}: sha256 mismatch in mirror {re.escape(str(base))}"
        r" \(lock [0-9a-f]{12}…, got [0-9a-f]{12}…\)",
        line,
    ), line


def test_the_command_line_reports_a_ref_cycle_in_one_line(
    the_lock: lock.Lock, openapi_doc: dict[str, Any], tmp_path: Path, scratch_tmp: Path
) -> None:
    probe, schemas, message = UNRESOLVABLE["alias-cycle"]
    spec = _openapi_bytes(_with_schemas(openapi_doc, probe, schemas))
    mirror, lock_path = _copy_lock_with(
        the_lock, tmp_path, "openai-openapi", {"openapi.yaml": spec}
    )
    _lock_only(lock_path, "openai-openapi")
    line = _cli_generate_fails(_scratch_project(tmp_path, lock_path), mirror, scratch_tmp)
    assert re.fullmatch(message, line), line


def test_the_command_line_reports_a_proto_name_clash_in_one_line(
    the_lock: lock.Lock, tmp_path: Path, scratch_tmp: Path
) -> None:
    _, mutate, message = BROKEN["proto-name-clash"]
    locked = fetch.fetch_source(the_lock.source("cloudapi"))
    changes = mutate(lambda rel: (locked / rel).read_bytes())
    mirror, lock_path = _copy_lock_with(the_lock, tmp_path, "cloudapi", changes)
    line = _cli_generate_fails(_scratch_project(tmp_path, lock_path), mirror, scratch_tmp)
    assert re.fullmatch(message, line), line
