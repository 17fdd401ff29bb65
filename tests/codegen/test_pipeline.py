"""The generate/check pipeline: determinism, no-op, atomic failure, ownership headers."""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from codegen import headers, lock, pipeline, sync
from codegen.errors import GenerationError, SyncError
from tests.codegen.test_sync import make_mirror

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
        base = make_mirror(mirror, src, sync.sync_source(src))
        if name == source_name:
            files = dict(src.files)
            for rel, data in changes.items():
                (base / rel).write_bytes(data)
                files[rel] = lock.sha256_file(base / rel)
            sources[name] = dataclasses.replace(src, files=files)
    lock_path = tmp_path / "lock.toml"
    lock.write(lock.Lock(the_lock.tools, sources), lock_path)
    return mirror, lock_path


def _previous_output(tmp_path: Path) -> Path:
    gen = tmp_path / "generated"
    shutil.copytree(GENERATED, gen / pipeline.PACKAGE)
    return gen


def _assert_untouched(gen: Path, digest: str) -> None:
    assert pipeline.tree_digest(gen / pipeline.PACKAGE) == digest
    assert sorted(p.name for p in gen.iterdir()) == [pipeline.PACKAGE], "temp folders left behind"


@pytest.mark.parametrize(
    ("source", "rel", "mutate", "cause"),
    [
        (
            "cloudapi",
            "yandex/cloud/ai/assistants/v1/runs/run.proto",
            lambda b: b.replace(b"message Run {", b"message Run {{", 1),
            "protoc",
        ),
        (
            "openai-openapi",
            "openapi.yaml",
            lambda b: b[: len(b) // 2] + b"\n  - [unclosed: {\n",
            "yaml",
        ),
    ],
    ids=["broken-proto", "malformed-yaml"],
)
def test_a_broken_spec_fails_with_one_line_and_leaves_generated_intact(
    the_lock: lock.Lock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    rel: str,
    mutate: Callable[[bytes], bytes],
    cause: str,
) -> None:
    original = sync.sync_source(the_lock.source(source)) / rel
    broken = mutate(original.read_bytes())
    assert broken != original.read_bytes()
    mirror, lock_path = _copy_lock_with(the_lock, tmp_path, source, {rel: broken})
    monkeypatch.setenv(sync.MIRROR_ENV, str(mirror))
    monkeypatch.setenv(sync.NETWORK_ENV, "0")
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
    assert "\n" not in str(err.value).strip()
    assert cause in str(err.value).lower()
    _assert_untouched(gen, digest)
    assert not (tmp_path / "surface").exists()


def test_hash_mismatch_refuses_to_generate(
    the_lock: lock.Lock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror, _ = _copy_lock_with(the_lock, tmp_path, "cloudapi", {})
    src = the_lock.source("cloudapi")
    victim = mirror / src.owner_repo / src.commit / "yandex/cloud/ai/assistants/v1/runs/run.proto"
    victim.write_bytes(victim.read_bytes().replace(b"Run", b"Rum", 1))
    monkeypatch.setenv(sync.MIRROR_ENV, str(mirror))
    monkeypatch.setenv(sync.NETWORK_ENV, "0")
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
