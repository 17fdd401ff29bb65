"""The lock file: parsing, deterministic writing, pins in step with pyproject."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path

import pytest

from codegen import lock
from codegen.errors import CodegenError


def test_lock_round_trips_byte_for_byte(the_lock: lock.Lock) -> None:
    assert lock.dumps(the_lock) == lock.LOCK_PATH.read_text(encoding="utf-8")


def test_lock_pins_the_mirror_current_commits(the_lock: lock.Lock) -> None:
    assert the_lock.source("cloudapi").commit.startswith("00e9ff04")
    assert the_lock.source("openai-openapi").commit.startswith("f85dbe22")
    for source in the_lock.sources.values():
        assert re.fullmatch(r"[0-9a-f]{40}", source.commit)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", source.committed)
        assert source.files, source.name
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in source.files.values())


def test_tool_pins_match_pyproject_and_installed(the_lock: lock.Lock) -> None:
    pyproject = tomllib.loads((lock.PROJECT_ROOT / "pyproject.toml").read_text())
    extras = pyproject["dependency-groups"]["codegen"]
    pins = {}
    for spec in extras:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", spec)
        assert match, f"codegen group {spec!r} is not pinned with =="
        pins[match[1]] = match[2]
    assert pins == dict(the_lock.tools)
    for name, version in the_lock.tools.items():
        assert importlib.metadata.version(name) == version, name
    runtime = importlib.metadata.version("betterproto2").split(".")[:2]
    assert runtime == the_lock.tools["betterproto2-compiler"].split(".")[:2]


def test_locked_files_are_exactly_roots_closure_and_licences(
    the_lock: lock.Lock, spec_dirs: Mapping[str, Path]
) -> None:
    for name, source in the_lock.sources.items():
        resolved = lock.resolve_files(source.kind, source.include, spec_dirs[name])
        assert resolved == dict(source.files), name


def test_malformed_lock_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "lock.toml"
    bad.write_text("[tools]\nruff = '1'\n[sources.x]\nrepository = 'r'\n")
    with pytest.raises(CodegenError, match=r"^lock: malformed lock\.toml"):
        lock.load(bad)
    bad.write_text("not toml [")
    with pytest.raises(CodegenError, match=r"^lock: cannot read lock\.toml"):
        lock.load(bad)


PREVIOUS_CLOUDAPI = "4a4ec1c6968e662ce4e7ac68379270c9506ef6f6"


def test_relock_moves_one_source_and_rehashes_its_closure(the_lock: lock.Lock) -> None:
    moved = lock.relock(the_lock, "cloudapi", PREVIOUS_CLOUDAPI, "2025-01-27")
    old, new = the_lock.source("cloudapi"), moved.source("cloudapi")
    assert (new.commit, new.committed, new.include) == (
        PREVIOUS_CLOUDAPI,
        "2025-01-27",
        old.include,
    )
    assert "yandex/cloud/ai/assistants/v1/runs/run.proto" in new.files
    assert (
        new.files["yandex/cloud/ai/assistants/v1/runs/run.proto"]
        != old.files["yandex/cloud/ai/assistants/v1/runs/run.proto"]
    )
    assert moved.source("openai-openapi") == the_lock.source("openai-openapi")
    assert moved.tools == the_lock.tools


def test_relock_rejects_bad_input(the_lock: lock.Lock) -> None:
    with pytest.raises(CodegenError, match="not a full 40-hex commit"):
        lock.relock(the_lock, "cloudapi", "4a4ec1c", "2025-01-27")
    with pytest.raises(CodegenError, match="YYYY-MM-DD"):
        lock.relock(the_lock, "cloudapi", PREVIOUS_CLOUDAPI, "27.01.2025")
    with pytest.raises(CodegenError, match="no source 'nope'"):
        lock.relock(the_lock, "nope", PREVIOUS_CLOUDAPI, "2025-01-27")
