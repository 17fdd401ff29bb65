"""codegen.bump moves a source in a scratch project, reports the changes, and is all-or-nothing."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from codegen import breaks, lock, pipeline
from codegen._stages import PAUSE_ENV, STAGES
from codegen.bump import bump, commit_date, write_changelog
from codegen.errors import CodegenError
from codegen.fetch import MIRROR_ENV
from codegen.lock import PROJECT_ROOT
from codegen.report import Change, Report
from tests.codegen._mirror import copy_files, link_mirror, offline, replace_once, synthetic

BUF = os.environ.get("RUNBIND_BUF") or None
needs_buf = pytest.mark.skipif(BUF is None, reason="RUNBIND_BUF is not set (buf findings)")

CLOUD = "cloudapi"
CLOUD_REPO = "https://github.com/yandex-cloud/cloudapi"
CLOUD_OLD, CLOUD_OLD_DATE = "4a4ec1c6968e662ce4e7ac68379270c9506ef6f6", "2025-01-27"
CLOUD_NEW, CLOUD_NEW_DATE = "00e9ff043f54e3763b6f2cd2f900702e21af852d", "2026-07-23"
OPENAI = "openai-openapi"
OPENAI_REPO = "https://github.com/openai/openai-openapi"
OPENAI_OLD, OPENAI_OLD_DATE = "25be47865ea2df1179a46be045c2f6b65f38e982", "2024-12-18"
OPENAI_NEW, OPENAI_NEW_DATE = "f85dbe223d40e1a31cba812ab2d755c7e98a92a3", "2026-08-21"
# Synthetic commits that exist only in the temp mirror.
FAKE_PROTO, FAKE_PROTO_DATE = "feed" * 10, "2026-09-01"
BROKEN_PROTO, BROKEN_PROTO_DATE = "dead" * 10, "2026-09-02"
RENAMED_PATH, RENAMED_PATH_DATE = "beef" * 10, "2026-09-03"
REMOVED_PATH, REMOVED_PATH_DATE = "cafe" * 10, "2026-09-04"
SAME_PROTO, SAME_PROTO_DATE = "5a4e" * 10, "2026-09-05"  # the current files, another commit
JSON_NAME, JSON_NAME_DATE = "15a0" * 10, "2026-09-06"  # Run.assistant_id's json_name changed

RUN_PROTO = "yandex/cloud/ai/assistants/v1/runs/run.proto"
RUN = "yandex.cloud.ai.assistants.v1.runs.Run"
FAKE_BREAKS = {
    f"field removed: {RUN}.custom_response_format",
    f"field renumbered: {RUN}.usage",
    "enum value removed: yandex.cloud.ai.assistants.v1.runs.RunState.RunStatus.TOOL_CALLS",
}
RUNS_PATH = "/threads/{thread_id}/runs"


# --- helpers ---------------------------------------------------------------------------------


def _without_runs_path(spec: str) -> str:
    """``spec`` with the whole ``/threads/{thread_id}/runs`` path item cut out."""
    start = spec.index(f"\n  {RUNS_PATH}:\n") + 1
    end = spec.index("\n  /", start) + 1
    assert spec[end:].startswith(f"  {RUNS_PATH}/{{run_id}}:\n")
    return spec[:start] + spec[end:]


def make_scratch(dest: Path) -> Path:
    """A project root holding copies of what bump reads and writes (no specs/upstream)."""
    dest.mkdir(parents=True)
    for rel in ("pyproject.toml", "CHANGELOG.md"):
        shutil.copyfile(PROJECT_ROOT / rel, dest / rel)
    specs = dest / "specs"
    specs.mkdir()
    for rel in ("lock.toml", "accepted-breaks.toml", "openai-overlay.yaml", "openai-names.toml"):
        shutil.copyfile(PROJECT_ROOT / "specs" / rel, specs / rel)
    skip = shutil.ignore_patterns("__pycache__", ".build-*")
    for rel in ("surface", "baseline"):
        shutil.copytree(PROJECT_ROOT / "specs" / rel, specs / rel)
    shutil.copytree(PROJECT_ROOT / "generated", dest / "generated", ignore=skip)
    return dest


def clone(root: Path, dest: Path) -> Path:
    """A full copy of a scratch root (including its synced specs/upstream)."""
    shutil.copytree(root, dest, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def generate_at(root: Path) -> pipeline.Result:
    """Regenerate a scratch root from its own lock and its own overlay and naming map."""
    return pipeline.generate(
        root=root,
        generated_dir=root / "generated",
        surface_dir=root / "specs" / "surface",
        upstream_dir=root / "specs" / "upstream",
        lock_path=root / "specs" / "lock.toml",
    )


def move_to(root: Path, name: str, commit: str, committed: str) -> None:
    """Put a scratch root's source ``name`` at ``commit`` (relock, then generate)."""
    path = root / "specs" / "lock.toml"
    lock.write(lock.relock(lock.load(path), name, commit, committed), path)
    result = generate_at(root)
    assert not result.noop


def run_bump(root: Path, name: str, commit: str) -> Report:
    """``bump`` in a scratch root (the layer proof has tests of its own: test_layer.py)."""
    return bump(name, commit, buf=BUF, root=root, layer=False)


def file_digests(root: Path) -> dict[str, str]:
    """sha256 of everything bump promises to restore (and of generated/ as one tree)."""
    paths = [root / "specs" / "lock.toml", root / "CHANGELOG.md"]
    paths += sorted((root / "specs" / "surface").glob("*"))
    out = {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths
    }
    out["generated/"] = pipeline.tree_digest(root / "generated")
    for rel in ("specs/openai-names.toml", "specs/broken-layer.json"):  # journaled too
        path = root / rel
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"
    return out


def _real_tree_state() -> dict[str, str]:
    """What a scratch bump must never touch in the real project tree."""
    state = file_digests(PROJECT_ROOT)
    for rel in ("pyproject.toml", "specs/accepted-breaks.toml", *_baseline_files()):
        state[rel] = hashlib.sha256((PROJECT_ROOT / rel).read_bytes()).hexdigest()
    for stamp in sorted((PROJECT_ROOT / "specs" / "upstream").glob("*/.runbind-sync")):
        state[stamp.relative_to(PROJECT_ROOT).as_posix()] = stamp.read_text(encoding="utf-8")
    state["specs/changes exists"] = str((PROJECT_ROOT / "specs" / "changes").exists())
    return state


def _baseline_files() -> list[str]:
    base = PROJECT_ROOT / "specs" / "baseline"
    return [p.relative_to(PROJECT_ROOT).as_posix() for p in sorted(base.iterdir())]


def breaks_view(root: Path, dest: Path) -> Path:
    """The files breaks.problems reads, copied so that a test may edit them freely."""
    dest.mkdir()
    shutil.copyfile(root / "pyproject.toml", dest / "pyproject.toml")
    (dest / "specs").mkdir()
    shutil.copyfile(root / breaks.ACCEPTED, dest / breaks.ACCEPTED)
    shutil.copyfile(root / "specs" / "lock.toml", dest / "specs" / "lock.toml")
    shutil.copytree(root / "specs" / "surface", dest / "specs" / "surface")
    shutil.copytree(root / breaks.BASELINE, dest / breaks.BASELINE)
    return dest


def _keys(changes: list[Change]) -> set[str]:
    return {c.key for c in changes}


ADDED = Change(False, "message added", "p.A")


class Bumped(NamedTuple):
    root: Path
    report: Report


class Scratch(NamedTuple):
    root: Path
    pristine: Path  # a copy taken right after the move, for tests that must not share state


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def real_tree() -> dict[str, str]:
    """The real project's files before any scratch bump (compared by the last test)."""
    return _real_tree_state()


@pytest.fixture(scope="module", autouse=True)
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A mirror with the real commits (symlinked) and synthetic ones; network disabled."""
    root = tmp_path_factory.mktemp("mirror")
    index = link_mirror(root)
    cloud = root / "yandex-cloud" / "cloudapi"
    # Field 12 removed, field 8 renumbered to 13, enum value 5 removed.
    copy_files(cloud / CLOUD_NEW, cloud / FAKE_PROTO)
    run_proto = cloud / FAKE_PROTO / RUN_PROTO
    replace_once(run_proto, "  ResponseFormat custom_response_format = 12;\n", "")
    replace_once(run_proto, "ContentUsage usage = 8;", "ContentUsage usage = 13;")
    replace_once(run_proto, "    TOOL_CALLS = 5;\n", "")
    # Parses for the import scan, fails in protoc.
    copy_files(cloud / CLOUD_NEW, cloud / BROKEN_PROTO)
    replace_once(
        cloud / BROKEN_PROTO / RUN_PROTO, "ContentUsage usage = 8;", "ContentUsage usage = ;"
    )
    copy_files(cloud / CLOUD_NEW, cloud / SAME_PROTO)
    copy_files(cloud / CLOUD_NEW, cloud / JSON_NAME)
    replace_once(
        cloud / JSON_NAME / RUN_PROTO,
        "string assistant_id = 2;",
        'string assistant_id = 2 [json_name = "assistantID"];',
    )
    openai = root / "openai" / "openai-openapi"
    spec = (openai / OPENAI_NEW / "openapi.yaml").read_text(encoding="utf-8")
    for commit, text in (
        (RENAMED_PATH, spec.replace(f"\n  {RUNS_PATH}:\n", f"\n  {RUNS_PATH}_v2:\n", 1)),
        (REMOVED_PATH, _without_runs_path(spec)),
    ):
        assert text != spec
        (openai / commit).mkdir()
        shutil.copyfile(openai / OPENAI_NEW / "LICENSE", openai / commit / "LICENSE")
        (openai / commit / "openapi.yaml").write_text(text, encoding="utf-8")
    for repo, commit, date in (
        (CLOUD_REPO, FAKE_PROTO, FAKE_PROTO_DATE),
        (CLOUD_REPO, BROKEN_PROTO, BROKEN_PROTO_DATE),
        (OPENAI_REPO, RENAMED_PATH, RENAMED_PATH_DATE),
        (OPENAI_REPO, REMOVED_PATH, REMOVED_PATH_DATE),
        (CLOUD_REPO, SAME_PROTO, SAME_PROTO_DATE),
        (CLOUD_REPO, JSON_NAME, JSON_NAME_DATE),
    ):
        index.append(synthetic(repo, commit, date))
    with offline(root, index):
        yield root


@pytest.fixture(scope="module")
def cloud_old(tmp_path_factory: pytest.TempPathFactory) -> Scratch:
    """A scratch project with cloudapi moved back to the previous commit and regenerated."""
    base = tmp_path_factory.mktemp("cloud")
    root = make_scratch(base / "root")
    move_to(root, CLOUD, CLOUD_OLD, CLOUD_OLD_DATE)
    return Scratch(root, clone(root, base / "pristine"))


@pytest.fixture(scope="module")
def cloud_bumped(cloud_old: Scratch) -> Bumped:
    """cloudapi bumped from the previous to the current commit."""
    return Bumped(cloud_old.root, run_bump(cloud_old.root, CLOUD, CLOUD_NEW))


@pytest.fixture(scope="module")
def fake_bumped(cloud_bumped: Bumped) -> Bumped:
    """Then bumped to the synthetic commit with three breaking proto changes."""
    return Bumped(cloud_bumped.root, run_bump(cloud_bumped.root, CLOUD, FAKE_PROTO))


@pytest.fixture(scope="module")
def openai_old(tmp_path_factory: pytest.TempPathFactory) -> Scratch:
    """A scratch project with openai-openapi moved back to the OpenAPI 3.0 commit."""
    base = tmp_path_factory.mktemp("openai")
    root = make_scratch(base / "root")
    move_to(root, OPENAI, OPENAI_OLD, OPENAI_OLD_DATE)
    return Scratch(root, clone(root, base / "pristine"))


@pytest.fixture(scope="module")
def openai_bumped(openai_old: Scratch) -> Bumped:
    """openai-openapi bumped from the OpenAPI 3.0 commit to the current 3.1 one."""
    return Bumped(openai_old.root, run_bump(openai_old.root, OPENAI, OPENAI_NEW))


# --- cloudapi: previous -> current -----------------------------------------------------------


def test_moving_the_scratch_back_regenerates_the_old_surface(cloud_old: Scratch) -> None:
    surface = (cloud_old.root / "specs" / "surface" / f"{CLOUD}.txt").read_text(encoding="utf-8")
    assert f"field {RUN}.usage = 8 singular" in surface
    assert f"{RUN}.custom_response_format" not in surface
    init = cloud_old.root / "generated" / pipeline.PACKAGE / "__init__.py"
    assert CLOUD_OLD in init.read_text(encoding="utf-8")


def test_cloud_bump_reports_the_new_field_and_message(cloud_bumped: Bumped) -> None:
    changes = {c.key: c for c in cloud_bumped.report.changes}
    field = changes[f"field added: {RUN}.custom_response_format"]
    assert not field.breaking
    assert field.detail.split(" ")[0] == "12"
    message = changes["message added: yandex.cloud.ai.assistants.v1.ResponseFormat"]
    assert not message.breaking
    assert not any(c.breaking for c in cloud_bumped.report.all_changes)
    assert cloud_bumped.report.bump == "minor"
    assert (cloud_bumped.report.old_commit, cloud_bumped.report.old_date) == (
        CLOUD_OLD,
        CLOUD_OLD_DATE,
    )
    assert (cloud_bumped.report.new_commit, cloud_bumped.report.new_date) == (
        CLOUD_NEW,
        CLOUD_NEW_DATE,
    )


def test_cloud_bump_writes_the_report_files(cloud_bumped: Bumped) -> None:
    stem = cloud_bumped.root / "specs" / "changes" / CLOUD / f"{CLOUD_OLD[:12]}-{CLOUD_NEW[:12]}"
    markdown = stem.with_suffix(".md").read_text(encoding="utf-8")
    assert markdown == cloud_bumped.report.markdown()
    assert f"`{RUN}.custom_response_format`" in markdown
    assert "Implied version bump: **MINOR**" in markdown
    data = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["source"] == CLOUD
    assert data["from"] == {"commit": CLOUD_OLD, "date": CLOUD_OLD_DATE}
    assert data["to"] == {"commit": CLOUD_NEW, "date": CLOUD_NEW_DATE}
    assert data["bump"] == "minor"
    assert f"field added: {RUN}.custom_response_format" in {c["key"] for c in data["changes"]}


def test_cloud_bump_adds_a_changelog_entry(cloud_bumped: Bumped) -> None:
    text = (cloud_bumped.root / "CHANGELOG.md").read_text(encoding="utf-8")
    heading = (
        f"### {CLOUD}: {CLOUD_OLD[:12]} ({CLOUD_OLD_DATE}) → "
        f"{CLOUD_NEW[:12]} ({CLOUD_NEW_DATE}), implies MINOR"
    )
    assert heading in text
    assert text.index("## Unreleased") < text.index(heading) < text.index("## 0.1.0")
    assert f"field added: `{RUN}.custom_response_format`" in text
    assert f"specs/changes/{CLOUD}/{CLOUD_OLD[:12]}-{CLOUD_NEW[:12]}.md" in text
    assert text.count("## Unreleased") == 1


def test_cloud_bump_moves_the_lock_and_regenerates(cloud_bumped: Bumped) -> None:
    moved = lock.load(cloud_bumped.root / "specs" / "lock.toml").source(CLOUD)
    assert (moved.commit, moved.committed) == (CLOUD_NEW, CLOUD_NEW_DATE)
    # The real lock is at the current commit: the relocked entry is the same, file for file.
    assert dict(moved.files) == dict(lock.load().source(CLOUD).files)
    init = cloud_bumped.root / "generated" / pipeline.PACKAGE / "__init__.py"
    assert CLOUD_NEW in init.read_text(encoding="utf-8")
    surface = cloud_bumped.root / "specs" / "surface" / f"{CLOUD}.txt"
    assert surface.read_bytes() == (pipeline.SURFACE_DIR / f"{CLOUD}.txt").read_bytes()


def test_bump_regenerates_in_a_scratch_root_by_itself(cloud_old: Scratch) -> None:
    result = bump(CLOUD, CLOUD_NEW, buf=BUF, root=cloud_old.pristine, layer=False)
    assert f"field added: {RUN}.custom_response_format" in _keys(result.changes)
    surface = cloud_old.pristine / "specs" / "surface" / f"{CLOUD}.txt"
    assert f"{RUN}.custom_response_format" in surface.read_text(encoding="utf-8")


# --- cloudapi: synthetic breaking commit -----------------------------------------------------


def test_fake_proto_bump_reports_the_breaks(fake_bumped: Bumped) -> None:
    result = fake_bumped.report
    changes = {c.key: c for c in result.changes}
    assert set(changes) == FAKE_BREAKS
    assert all(c.breaking for c in changes.values())
    assert changes[f"field renumbered: {RUN}.usage"].detail == "8 → 13"
    assert changes[f"field removed: {RUN}.custom_response_format"].detail.startswith("12 ")
    assert result.bump == "major"
    assert (result.old_commit, result.new_commit) == (CLOUD_NEW, FAKE_PROTO)
    assert result.new_date == FAKE_PROTO_DATE  # from the mirror's index.json
    stem = fake_bumped.root / "specs" / "changes" / CLOUD / f"{CLOUD_NEW[:12]}-{FAKE_PROTO[:12]}"
    data = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["bump"] == "major"
    assert {c["key"] for c in data["changes"] if c["breaking"]} == FAKE_BREAKS
    changelog = (fake_bumped.root / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"{FAKE_PROTO[:12]} ({FAKE_PROTO_DATE}), implies MAJOR" in changelog
    # The newest entry comes first, the previous bump's entry is kept.
    assert changelog.index(FAKE_PROTO[:12]) < changelog.index(f"→ {CLOUD_NEW[:12]}")


@needs_buf
def test_fake_proto_bump_merges_buf_findings_one_line_per_change(fake_bumped: Bumped) -> None:
    result = fake_bumped.report
    # buf saw each break too: one line each, saying both comparisons found it.
    assert {c.key for c in result.changes} == FAKE_BREAKS
    assert all(c.sources == ("surface", "buf") for c in result.changes)
    rules = {c.key: c.rules for c in result.changes}
    assert rules[f"field removed: {RUN}.custom_response_format"] == ("FIELD_NO_DELETE",)
    assert rules[f"field renumbered: {RUN}.usage"] == ("FIELD_NO_DELETE",)
    assert result.compared == ("surface", "buf")
    assert {f.rule for f in result.findings} == {"FIELD_NO_DELETE", "ENUM_VALUE_NO_DELETE"}
    assert len(result.findings) == len(FAKE_BREAKS)
    assert all(f.path == RUN_PROTO for f in result.findings)
    assert all(f.package == "yandex.cloud.ai.assistants.v1.runs" for f in result.findings)
    markdown = result.markdown()
    assert "## Breaking (3)" in markdown
    assert markdown.count("custom_response_format") == 1
    assert "[surface, buf: FIELD_NO_DELETE]" in markdown
    stem = fake_bumped.root / "specs" / "changes" / CLOUD / f"{CLOUD_NEW[:12]}-{FAKE_PROTO[:12]}"
    data = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
    assert len(data["findings"]) == len(data["changes"]) == len(FAKE_BREAKS)
    changelog = (fake_bumped.root / "CHANGELOG.md").read_text(encoding="utf-8")
    entry = changelog[changelog.index(f"→ {FAKE_PROTO[:12]}") :]
    entry = entry[: entry.index("Full report")]
    assert entry.count("**BREAKING**") == len(FAKE_BREAKS)


def test_the_buf_gate_records_findings_since_the_first_bump(fake_bumped: Bumped) -> None:
    gate = breaks.read_gate(breaks.gate_path(fake_bumped.root / "specs" / "surface", CLOUD))
    assert gate is not None
    assert gate["since"] == {"commit": CLOUD_OLD, "date": CLOUD_OLD_DATE}
    assert gate["at"] == FAKE_PROTO
    found = breaks.gate_findings(gate)
    if BUF is None:
        assert found is None  # the bump could not run buf, and says so
        assert fake_bumped.report.notes
    else:
        assert found is not None
        assert {f.rule for f in found} == {"FIELD_NO_DELETE", "ENUM_VALUE_NO_DELETE"}


def _not_run(view: Path) -> list[str]:
    """The problem line of a bump made without buf (none when buf ran)."""
    return [line for line in breaks.problems(view) if "buf breaking has not compared" in line]


def test_unaccepted_breaks_are_problems_one_line_each(fake_bumped: Bumped, tmp_path: Path) -> None:
    view = breaks_view(fake_bumped.root, tmp_path / "view")
    found = breaks.problems(view)
    assert len(_not_run(view)) == (BUF is None)
    found = [line for line in found if line not in _not_run(view)]
    assert len(found) == len(FAKE_BREAKS)
    for key in FAKE_BREAKS:
        assert sum(key in line for line in found) == 1, key
    assert all(line.startswith(f"check: unaccepted breaking change in {CLOUD}: ") for line in found)


def test_accepting_the_breaks_clears_the_problems(fake_bumped: Bumped, tmp_path: Path) -> None:
    view = breaks_view(fake_bumped.root, tmp_path / "view")
    accepted = view / breaks.ACCEPTED
    first, *rest = sorted(FAKE_BREAKS)
    entry = '\n[[accepted]]\nchange = "{}"\nreason = "upstream dropped it, see the report"\n'
    with accepted.open("a", encoding="utf-8") as fh:
        fh.write(entry.format(first))
    remaining = breaks.problems(view)
    assert len(remaining) == len(rest) + (BUF is None)
    assert not any(first in line for line in remaining)
    with accepted.open("a", encoding="utf-8") as fh:
        fh.writelines(entry.format(key) for key in rest)
    assert breaks.problems(view) == _not_run(view)
    assert len(_not_run(view)) == (BUF is None)


def test_a_major_version_covers_the_breaks(fake_bumped: Bumped, tmp_path: Path) -> None:
    view = breaks_view(fake_bumped.root, tmp_path / "view")
    pyproject = view / "pyproject.toml"
    replace_once(pyproject, 'version = "0.1.0"', 'version = "1.0.0"')
    assert breaks.package_version(view) == "1.0.0"
    assert breaks.problems(view) == []


def test_a_failed_bump_restores_everything(fake_bumped: Bumped) -> None:
    root = fake_bumped.root
    before = file_digests(root)
    changes = sorted((root / "specs" / "changes").rglob("*"))
    with pytest.raises(CodegenError, match=r"protoc failed") as caught:
        bump(CLOUD, BROKEN_PROTO, buf=BUF, root=root)
    assert "run.proto" in str(caught.value)
    assert file_digests(root) == before
    assert sorted((root / "specs" / "changes").rglob("*")) == changes
    stem = f"{FAKE_PROTO[:12]}-{BROKEN_PROTO[:12]}"
    assert not list((root / "specs" / "changes").rglob(f"{stem}.*"))
    assert lock.load(root / "specs" / "lock.toml").source(CLOUD).commit == FAKE_PROTO
    assert not list((root / "generated").glob(".build-*"))
    assert not list((root / "generated").glob(".bump-journal*"))


def test_bumping_to_the_locked_commit_or_an_unknown_one_fails_cleanly(fake_bumped: Bumped) -> None:
    root = fake_bumped.root
    before = file_digests(root)
    with pytest.raises(CodegenError, match="already at"):
        bump(CLOUD, FAKE_PROTO, root=root)
    with pytest.raises(CodegenError, match="no date known"):
        bump(CLOUD, "0" * 40, root=root)
    assert file_digests(root) == before


def test_commit_dates_come_from_the_mirror_index() -> None:
    assert commit_date(CLOUD_REPO, CLOUD_OLD) == CLOUD_OLD_DATE
    assert commit_date(CLOUD_REPO, FAKE_PROTO) == FAKE_PROTO_DATE
    assert commit_date(OPENAI_REPO, OPENAI_NEW) == OPENAI_NEW_DATE
    with pytest.raises(CodegenError, match="no date known"):
        commit_date(OPENAI_REPO, CLOUD_OLD)  # a commit of another repository


# --- openai-openapi: 3.0 -> 3.1 and a removed path ---------------------------------------------


def test_the_openapi_30_slice_generates(openai_old: Scratch) -> None:
    init = openai_old.root / "generated" / pipeline.PACKAGE / "__init__.py"
    assert OPENAI_OLD in init.read_text(encoding="utf-8")
    surface = (openai_old.root / "specs" / "surface" / f"{OPENAI}.txt").read_text(encoding="utf-8")
    assert "property RunObject.metadata: dict[str, Any] nullable" in surface
    assert "model RunObject\n" in surface


def test_openai_bump_reports_run_object_changes(openai_bumped: Bumped) -> None:
    result = openai_bumped.report
    changes = {c.key: c for c in result.changes}
    metadata = changes["property type changed: RunObject.metadata"]
    assert metadata.breaking
    assert metadata.detail == "dict[str, Any] → Metadata"
    assert "alias added: Metadata" in changes
    assert (result.old_commit, result.new_commit) == (OPENAI_OLD, OPENAI_NEW)
    assert result.findings == []  # buf is for protobuf sources only
    assert (result.compared, result.notes) == (("surface",), ())
    assert result.bump == "major"
    moved = lock.load(openai_bumped.root / "specs" / "lock.toml").source(OPENAI)
    assert (moved.commit, moved.committed) == (OPENAI_NEW, OPENAI_NEW_DATE)
    init = openai_bumped.root / "generated" / pipeline.PACKAGE / "__init__.py"
    assert OPENAI_NEW in init.read_text(encoding="utf-8")
    surface = openai_bumped.root / "specs" / "surface" / f"{OPENAI}.txt"
    assert surface.read_bytes() == (pipeline.SURFACE_DIR / f"{OPENAI}.txt").read_bytes()
    stem = (
        openai_bumped.root / "specs" / "changes" / OPENAI / f"{OPENAI_OLD[:12]}-{OPENAI_NEW[:12]}"
    )
    assert json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))["bump"] == "major"
    assert stem.with_suffix(".md").is_file()


def test_a_removed_path_is_a_breaking_operation_removal(
    openai_bumped: Bumped, tmp_path: Path
) -> None:
    root = clone(openai_bumped.root, tmp_path / "root")
    # What a maintainer does when upstream drops the only user of a named inline schema.
    replace_once(
        root / "specs" / "openai-names.toml", '"CreateRunRequest.tools[]" = "AssistantTool"\n', ""
    )
    result = run_bump(root, OPENAI, REMOVED_PATH)
    assert {"operation removed: GET " + RUNS_PATH, "operation removed: POST " + RUNS_PATH} <= {
        c.key for c in result.changes if c.breaking
    }
    assert result.bump == "major"


def test_a_moved_path_is_a_breaking_operation_removal(openai_bumped: Bumped) -> None:
    result = run_bump(openai_bumped.root, OPENAI, RENAMED_PATH)
    assert [(c.breaking, c.what, c.subject, c.detail) for c in result.changes] == [
        (True, "operation removed", f"GET {RUNS_PATH}", "listRuns"),
        (True, "operation removed", f"POST {RUNS_PATH}", "createRun"),
        (False, "operation added", f"GET {RUNS_PATH}_v2", "listRuns"),
        (False, "operation added", f"POST {RUNS_PATH}_v2", "createRun"),
    ]
    assert result.bump == "major"
    assert "Implied version bump: **MAJOR**" in result.markdown()


# --- the buf gate: a break only buf sees, a bump without changes ------------------------------


class Gated(NamedTuple):
    root: Path
    changelog_before: str
    changelog_after_same: str
    same: subprocess.CompletedProcess[str]
    json_name: Report


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> Gated:
    """The real tree's state, bumped to a copy of its own files (by the command line), then
    to a json_name change."""
    root = make_scratch(tmp_path_factory.mktemp("gate") / "root")
    before = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    argv = [sys.executable, "-m", "codegen", "bump", CLOUD, SAME_PROTO, "--root", str(root)]
    argv += ["--buf", BUF] if BUF else []
    same = subprocess.run(argv, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    after_same = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    return Gated(root, before, after_same, same, run_bump(root, CLOUD, JSON_NAME))


def test_a_bump_without_changes_writes_a_report_but_no_changelog_entry(gated: Gated) -> None:
    assert gated.same.returncode == 0, gated.same.stderr
    assert gated.same.stdout == (
        f"bump: {CLOUD} -> {SAME_PROTO[:12]}: 0 changes, 0 breaking, implies NONE; "
        f"report in specs/changes/{CLOUD}/\n"
    )
    assert gated.changelog_after_same == gated.changelog_before
    stem = gated.root / "specs" / "changes" / CLOUD / f"{CLOUD_NEW[:12]}-{SAME_PROTO[:12]}"
    data = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
    assert (data["changes"], data["bump"]) == ([], "none")
    markdown = stem.with_suffix(".md").read_text(encoding="utf-8")
    assert "## Breaking (0)\n\nNone.\n" in markdown


@needs_buf
def test_the_command_line_counts_a_change_found_twice_once(
    fake_bumped: Bumped, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the CLI prints is counted from the merged lines (it said 71 for 35)."""
    from codegen import __main__ as cli  # noqa: PLC0415

    root = clone(fake_bumped.root, fake_bumped.root.parent / "cli")
    assert cli.main(["bump", CLOUD, CLOUD_NEW, "--root", str(root), "--buf", str(BUF)]) == 0
    assert capsys.readouterr().out == (
        f"bump: {CLOUD} -> {CLOUD_NEW[:12]}: 3 changes, 1 breaking, implies MAJOR; "
        f"report in specs/changes/{CLOUD}/\n"
    )
    stem = root / "specs" / "changes" / CLOUD / f"{FAKE_PROTO[:12]}-{CLOUD_NEW[:12]}"
    data = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
    # Back from the synthetic commit: the removed field and enum value return (additive), and
    # the renumbered field moves back, which buf sees as one more deletion of that field.
    assert data["bump"] == "major"
    keys = [c["key"] for c in data["changes"]]
    assert len(keys) == len(set(keys)) == 3
    assert all(c["sources"] in (["surface"], ["surface", "buf"]) for c in data["changes"])


@needs_buf
def test_a_break_only_buf_sees_fails_check_until_accepted(gated: Gated, tmp_path: Path) -> None:
    (change,) = gated.json_name.changes
    assert change.breaking
    assert change.key.startswith(f"buf FIELD_SAME_JSON_NAME: {RUN_PROTO}: ")
    assert '"assistant_id"' in change.key
    assert (change.sources, change.rules) == (("buf",), ("FIELD_SAME_JSON_NAME",))
    assert gated.json_name.bump == "major"
    changelog = (gated.root / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "[buf: FIELD_SAME_JSON_NAME]" in changelog
    # The gate compares from the first bump's old commit, across the no-change bump.
    gate = breaks.read_gate(breaks.gate_path(gated.root / "specs" / "surface", CLOUD))
    assert gate is not None
    assert (gate["since"], gate["at"]) == ({"commit": CLOUD_NEW, "date": CLOUD_NEW_DATE}, JSON_NAME)
    view = breaks_view(gated.root, tmp_path / "view")
    (problem,) = breaks.problems(view)
    assert problem.startswith(f"check: unaccepted breaking change in {CLOUD}: {change.key} ")
    entry = f'\n[[accepted]]\nchange = {json.dumps(change.key)}\nreason = "JSON name only"\n'
    with (view / breaks.ACCEPTED).open("a", encoding="utf-8") as fh:
        fh.write(entry)
    assert breaks.problems(view) == []


def test_the_old_commit_missing_from_the_mirror_is_named(tmp_path: Path) -> None:
    from codegen import bump as bump_module  # noqa: PLC0415

    current = lock.load().source(CLOUD)
    gone = dataclasses.replace(current, commit="0" * 40)
    with pytest.raises(CodegenError) as caught:
        bump_module._buf_findings(gone, current, tmp_path, "buf")
    message = str(caught.value)
    assert f"the old commit {'0' * 12} of {CLOUD} is needed too" in message
    assert "not found" in message


# --- signals: a bump stopped at any stage leaves the tree as it was ---------------------------


def tree_state(root: Path) -> dict[str, str]:
    """Digests of lock, surface, CHANGELOG, generated/ and specs/changes/ (every file)."""
    state = file_digests(root)
    changes = root / "specs" / "changes"
    state["specs/changes/"] = pipeline.tree_digest(changes) if changes.is_dir() else "absent"
    return state


def stopped_bump(
    root: Path, commit: str, stage: str, sig: int, tmp: Path, *, release: bool = False
) -> tuple[int, str]:
    """A bump of ``root`` in a child process, held at ``stage`` and sent ``sig`` there (then,
    with ``release``, let go on)."""
    marker = tmp / f"{stage}.{sig}.reached"
    env = {**os.environ, PAUSE_ENV: f"{stage}:{marker}"}
    argv = [sys.executable, "-m", "codegen", "bump", CLOUD, commit, "--root", str(root)]
    # Every stage is reached whatever the layer proof finds (the commits here break the layer).
    argv.append("--allow-broken-layer")
    proc = subprocess.Popen(
        argv, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 300
    while not marker.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"the bump never reached {stage}: {err[-2000:]}")
        time.sleep(0.05)
    proc.send_signal(sig)
    if release:
        time.sleep(0.5)  # the signal is pending (blocked) while the bump waits
        marker.unlink()
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.fixture(scope="module")
def at_current(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch copy of the real tree (no generation needed: it is current)."""
    return make_scratch(tmp_path_factory.mktemp("signals") / "root")


@pytest.mark.parametrize(
    ("stage", "sig"),
    [
        ("journal", signal.SIGTERM),
        ("relock", signal.SIGINT),
        ("build", signal.SIGTERM),
        ("generated", signal.SIGINT),
        ("changelog", signal.SIGTERM),
    ],
)
def test_a_signal_at_any_stage_leaves_the_tree_as_it_was(
    at_current: Path, tmp_path: Path, stage: str, sig: int
) -> None:
    assert stage in STAGES
    before = tree_state(at_current)
    code, err = stopped_bump(at_current, FAKE_PROTO, stage, sig, tmp_path)
    assert code == 128 + sig, err[-2000:]
    name = signal.Signals(sig).name
    assert err.strip() == f"bump: stopped by {name}; nothing changed (rolled back)"
    assert tree_state(at_current) == before
    generated = at_current / "generated"
    assert not list(generated.glob(".build-*"))
    assert not list(generated.glob(".bump-journal*"))
    assert lock.load(at_current / "specs" / "lock.toml").source(CLOUD).commit == CLOUD_NEW


def test_a_killed_bump_is_rolled_back_by_the_next_one(at_current: Path, tmp_path: Path) -> None:
    before = tree_state(at_current)
    code, _ = stopped_bump(at_current, FAKE_PROTO, "build", signal.SIGKILL, tmp_path)
    assert code == -signal.SIGKILL
    # Killed outright: the lock is half-way, the build folder and the journal are left.
    assert lock.load(at_current / "specs" / "lock.toml").source(CLOUD).commit == FAKE_PROTO
    assert list((at_current / "generated").glob(".build-*"))
    # The next bump rolls back first, so it sees the old commit (and refuses to move to it).
    argv = [sys.executable, "-m", "codegen", "bump", CLOUD, CLOUD_NEW, "--root", str(at_current)]
    proc = subprocess.run(argv, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"bump: rolled back the interrupted bump {CLOUD} {CLOUD_NEW[:12]} -> {FAKE_PROTO[:12]}",
        f"bump: {CLOUD} is already at {CLOUD_NEW[:12]}",
    ]
    assert tree_state(at_current) == before
    assert not list((at_current / "generated").glob(".b*"))


def test_a_signal_during_the_rollback_waits_for_it(at_current: Path, tmp_path: Path) -> None:
    """protoc fails, the rollback starts; SIGTERM then is held until it is done."""
    before = tree_state(at_current)
    code, err = stopped_bump(
        at_current, BROKEN_PROTO, "rollback", signal.SIGTERM, tmp_path, release=True
    )
    # Killed by the default handler (back in place) after the rollback, not during it.
    assert code == -signal.SIGTERM, err[-2000:]
    assert tree_state(at_current) == before
    assert not list((at_current / "generated").glob(".b*"))


def test_the_journal_puts_back_exactly_what_was_there(tmp_path: Path) -> None:
    """Files and folders that did not exist go again; the generated output is swapped back."""
    from codegen.bump import _Journal  # noqa: PLC0415

    root = tmp_path / "root"
    (root / "generated" / pipeline.PACKAGE).mkdir(parents=True)
    (root / "generated" / pipeline.PACKAGE / "old.py").write_text("old")
    (root / "specs").mkdir()
    (root / "specs" / "lock.toml").write_text("old lock")
    before = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    report_dir = root / "specs" / "changes" / CLOUD
    journal = _Journal(root)
    journal.open(
        [root / "specs" / "lock.toml", report_dir / "r.md"], [report_dir.parent, report_dir], "x"
    )
    assert not (root / "generated" / pipeline.PACKAGE).exists()  # moved aside
    (root / "specs" / "lock.toml").write_text("new lock")
    report_dir.mkdir(parents=True)
    (report_dir / "r.md").write_text("report")
    (root / "generated" / pipeline.PACKAGE).mkdir()
    (root / "generated" / pipeline.PACKAGE / "new.py").write_text("new")
    (root / "generated" / pipeline.STAMP_NAME).write_text("{}")  # there was none before
    (root / "generated" / ".build-x").mkdir()
    assert journal.roll_back() == "x"
    after = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in (root / "generated").iterdir()) == [pipeline.PACKAGE]
    assert not (root / "specs" / "changes").exists()


# --- history: a chain of bumps ends where a direct bump does ----------------------------------

CLOUD_HISTORY = ("5bc1be2ec566", "46cf7ab0d1a3")  # 2025-08-04, 2026-05-21
OPENAI_HISTORY = ("a17376029988", "ca34204c1094")  # 2025-02-10, 2026-08-14


def _history(upstream: str, prefix: str) -> str:
    """The full commit id of a ``history`` commit of the mirror."""
    index = json.loads((Path(os.environ[MIRROR_ENV]) / "index.json").read_text("utf-8"))
    (commit,) = [
        e["commit"]
        for e in index
        if e["upstream"] == upstream and e["commit"].startswith(prefix) and e["role"] == "history"
    ]
    return str(commit)


@pytest.fixture(scope="module")
def history_start(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both sources at their mirror's previous commits, generated."""
    root = make_scratch(tmp_path_factory.mktemp("history") / "start")
    path = root / "specs" / "lock.toml"
    moved = lock.relock(lock.load(path), CLOUD, CLOUD_OLD, CLOUD_OLD_DATE)
    lock.write(lock.relock(moved, OPENAI, OPENAI_OLD, OPENAI_OLD_DATE), path)
    assert not generate_at(root).noop
    return root


def _final_state(root: Path) -> dict[str, str]:
    state = {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in [root / "specs" / "lock.toml", *sorted((root / "specs" / "surface").iterdir())]
    }
    state["generated/"] = pipeline.tree_digest(root / "generated")
    return state


def test_a_chain_of_bumps_ends_byte_identical_to_a_direct_one(
    history_start: Path, tmp_path: Path
) -> None:
    chain = clone(history_start, tmp_path / "chain")
    steps = [
        (CLOUD, _history(CLOUD_REPO, CLOUD_HISTORY[0])),
        (OPENAI, _history(OPENAI_REPO, OPENAI_HISTORY[0])),
        (CLOUD, _history(CLOUD_REPO, CLOUD_HISTORY[1])),
        (CLOUD, CLOUD_NEW),
        (OPENAI, OPENAI_NEW),
    ]
    reports = [run_bump(chain, name, commit) for name, commit in steps]
    direct = clone(history_start, tmp_path / "direct")
    direct_reports = [run_bump(direct, CLOUD, CLOUD_NEW), run_bump(direct, OPENAI, OPENAI_NEW)]
    assert _final_state(chain) == _final_state(direct)
    # Both equal the committed tree (its surface and its generated package).
    for name in (CLOUD, OPENAI):
        rel = f"specs/surface/{name}.txt"
        assert (chain / rel).read_bytes() == (PROJECT_ROOT / rel).read_bytes()
    package = pipeline.PACKAGE
    assert pipeline.tree_digest(chain / "generated" / package) == pipeline.tree_digest(
        PROJECT_ROOT / "generated" / package
    )
    # Every step wrote its report; the direct reports name the whole range.
    assert len(list((chain / "specs" / "changes").rglob("*.md"))) == len(steps)
    assert [r.old_commit for r in direct_reports] == [CLOUD_OLD, OPENAI_OLD]
    assert all(r.new_commit == c for r, (_, c) in zip(reports, steps, strict=True))
    # Real history: maxItems 10000 -> 100000000 accepts more, so it is additive.
    key = (
        "constraint max_length loosened: CreateThreadRequestToolResourcesFileSearchVectorStoresItem"
    )
    for result in (reports[-1], direct_reports[-1]):
        (loosened,) = [c for c in result.changes if c.key == f"{key}.file_ids"]
        assert (loosened.breaking, loosened.detail) == (False, "10000 → 100000000")


# --- changelog, CLI, and the real tree ---------------------------------------------------------


def test_write_changelog_creates_and_stacks_unreleased_entries(tmp_path: Path) -> None:
    path = tmp_path / "CHANGELOG.md"
    path.write_text("# Changelog\n\nIntro.\n\n## 0.1.0\n\nFirst.\n", encoding="utf-8")
    first = Report(CLOUD, CLOUD_REPO, "a" * 40, "2025-01-01", "b" * 40, "2025-02-01", [ADDED])
    second = Report(
        CLOUD,
        CLOUD_REPO,
        "b" * 40,
        "2025-02-01",
        "c" * 40,
        "2025-03-01",
        [Change(False, "message added", "p.M"), Change(True, "field removed", "p.N.f")],
    )
    write_changelog(first, path)
    write_changelog(second, path)
    text = path.read_text(encoding="utf-8")
    assert text.count("## Unreleased") == 1
    assert text.index("## Unreleased") < text.index("ccccccccccc") < text.index("## 0.1.0")
    assert text.index("(2025-03-01), implies MAJOR") < text.index("(2025-02-01), implies MINOR")
    # Breaking lines first within an entry.
    assert text.index("field removed: `p.N.f`") < text.index("message added: `p.M`")
    assert text.endswith("First.\n")
    # Every entry ends with a blank line: no heading runs into the text above it.
    assert "\n\n### cloudapi: bbbbbbbbbbbb" in text
    assert "\n\n## 0.1.0" in text
    fresh = tmp_path / "NEW.md"
    write_changelog(first, fresh)
    assert fresh.read_text(encoding="utf-8").startswith("# Changelog\n")
    assert "## Unreleased" in fresh.read_text(encoding="utf-8")


def test_write_changelog_keeps_the_section_apart_from_the_next_heading(tmp_path: Path) -> None:
    path = tmp_path / "CHANGELOG.md"
    path.write_text("# Changelog\n\n## Unreleased\n\n### Added\n\n- x\n", encoding="utf-8")
    write_changelog(Report(CLOUD, CLOUD_REPO, "a" * 40, "d", "b" * 40, "d", [ADDED]), path)
    text = path.read_text(encoding="utf-8")
    assert "`.\n\n### Added\n" in text


def test_a_report_without_changes_adds_no_changelog_entry(tmp_path: Path) -> None:
    path = tmp_path / "CHANGELOG.md"
    path.write_text("# Changelog\n\n## Unreleased\n\n- x\n", encoding="utf-8")
    write_changelog(Report(CLOUD, CLOUD_REPO, "a" * 40, "d", "b" * 40, "d", []), path)
    assert path.read_text(encoding="utf-8") == "# Changelog\n\n## Unreleased\n\n- x\n"


def test_cli_bump_help_and_refusal() -> None:
    argv = [sys.executable, "-m", "codegen", "bump", "--help"]
    proc = subprocess.run(argv, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    for word in ("source", "commit", "committed", "--buf"):
        assert word in proc.stdout
    # Bumping to the commit already locked is refused before anything is written.
    current = lock.load().source(CLOUD).commit
    argv = [sys.executable, "-m", "codegen", "bump", CLOUD, current, "2026-01-01"]
    proc = subprocess.run(argv, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"bump: {CLOUD} is already at {current[:12]}"


def test_nothing_was_written_into_the_real_project_tree(real_tree: dict[str, str]) -> None:
    assert _real_tree_state() == real_tree
