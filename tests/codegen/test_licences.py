"""The upstream licence files copied for shipping: exactly the lock's, named flat, rewritten only
when they differ (a second build sees the same files)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from codegen import licences, lock


def test_licence_files_are_found_by_base_name() -> None:
    assert licences.is_licence("LICENSE")
    assert licences.is_licence("third_party/googleapis/LICENSE-2.0.txt")
    assert licences.is_licence("NOTICE")
    assert licences.is_licence("docs/copying.md")
    assert not licences.is_licence("yandex/cloud/ai/assistants/v1/runs/run.proto")
    assert not licences.is_licence("LICENSE/run.proto")


def test_a_licence_gets_a_flat_name_that_keeps_its_source_and_path() -> None:
    name = licences.licence_name("cloudapi", "third_party/LICENSE")
    assert name == "cloudapi-third_party-LICENSE"


def test_the_folder_holds_exactly_the_locks_licences_and_equal_files_are_left_alone(
    the_lock: lock.Lock, spec_dirs: Mapping[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "licenses"
    out.mkdir()
    (out / "stale-LICENSE").write_text("from an older lock", encoding="utf-8")
    written = licences.copy_licences(the_lock, spec_dirs, out)
    expected = {
        licences.licence_name(name, rel): (spec_dirs[name] / rel).read_bytes()
        for name, source in the_lock.sources.items()
        for rel in source.files
        if licences.is_licence(rel)
    }
    assert expected, "the lock names no licence file"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == expected
    assert sorted(p.name for p in written) == sorted(expected)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    changed = out / next(iter(sorted(expected)))
    changed.write_bytes(b"edited")
    licences.copy_licences(the_lock, spec_dirs, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == expected
    kept = {n: t for n, t in stamps.items() if n != changed.name}
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p != changed} == kept
