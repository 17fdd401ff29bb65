"""codegen.bump moves a source in a scratch project, reports the changes, and is all-or-nothing."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from codegen import breaks, lock, pipeline
from codegen.bump import bump, commit_date, write_changelog
from codegen.errors import CodegenError
from codegen.fetch import DEFAULT_MIRROR, MIRROR_ENV, NETWORK_ENV
from codegen.lock import PROJECT_ROOT
from codegen.report import Change, Report

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

RUN_PROTO = "yandex/cloud/ai/assistants/v1/runs/run.proto"
RUN = "yandex.cloud.ai.assistants.v1.runs.Run"
FAKE_BREAKS = {
    f"field removed: {RUN}.custom_response_format",
    f"field renumbered: {RUN}.usage",
    "enum value removed: yandex.cloud.ai.assistants.v1.runs.RunState.RunStatus.TOOL_CALLS",
}
RUNS_PATH = "/threads/{thread_id}/runs"


# --- helpers ---------------------------------------------------------------------------------


def _copy_files(src: Path, dest: Path) -> None:
    """Copy every file under ``src`` (bytes only: the mirror's files are read-only)."""
    for path in sorted(src.rglob("*")):
        if path.is_file():
            out = dest / path.relative_to(src)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(path.read_bytes())


def _replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (path.name, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


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
    shutil.copytree(root / "specs" / "surface", dest / "specs" / "surface")
    shutil.copytree(root / breaks.BASELINE, dest / breaks.BASELINE)
    return dest


def _keys(changes: list[Change]) -> set[str]:
    return {c.key for c in changes}


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
    real = Path(os.environ.get(MIRROR_ENV) or DEFAULT_MIRROR)
    root = tmp_path_factory.mktemp("mirror")
    index = json.loads((real / "index.json").read_text(encoding="utf-8"))
    for entry in index:
        owner_repo = "/".join(entry["upstream"].rstrip("/").split("/")[-2:])
        (root / owner_repo).mkdir(parents=True, exist_ok=True)
        (root / owner_repo / entry["commit"]).symlink_to(real / owner_repo / entry["commit"])
    cloud = root / "yandex-cloud" / "cloudapi"
    # Field 12 removed, field 8 renumbered to 13, enum value 5 removed.
    _copy_files(cloud / CLOUD_NEW, cloud / FAKE_PROTO)
    run_proto = cloud / FAKE_PROTO / RUN_PROTO
    _replace_once(run_proto, "  ResponseFormat custom_response_format = 12;\n", "")
    _replace_once(run_proto, "ContentUsage usage = 8;", "ContentUsage usage = 13;")
    _replace_once(run_proto, "    TOOL_CALLS = 5;\n", "")
    # Parses for the import scan, fails in protoc.
    _copy_files(cloud / CLOUD_NEW, cloud / BROKEN_PROTO)
    _replace_once(
        cloud / BROKEN_PROTO / RUN_PROTO, "ContentUsage usage = 8;", "ContentUsage usage = ;"
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
    ):
        owner_repo = "/".join(repo.split("/")[-2:])
        index.append(
            {
                "upstream": repo,
                "commit": commit,
                "committed": date,
                "role": "synthetic",
                "path": f"{owner_repo}/{commit}",
                "files": {},
            }
        )
    (root / "index.json").write_text(json.dumps(index, indent=1), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(MIRROR_ENV, str(root))
        patch.setenv(NETWORK_ENV, "0")
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
def test_fake_proto_bump_has_buf_findings(fake_bumped: Bumped) -> None:
    findings = fake_bumped.report.tool_findings
    kinds = {c.what for c in findings}
    assert {"buf FIELD_NO_DELETE", "buf ENUM_VALUE_NO_DELETE"} <= kinds
    assert all(c.breaking and RUN_PROTO in c.subject for c in findings)
    assert any("custom_response_format" in c.subject for c in findings)
    markdown = fake_bumped.report.markdown()
    assert f"## buf breaking ({len(findings)})" in markdown
    stem = fake_bumped.root / "specs" / "changes" / CLOUD / f"{CLOUD_NEW[:12]}-{FAKE_PROTO[:12]}"
    data = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
    assert len(data["tool_findings"]) == len(findings)


def test_unaccepted_breaks_are_problems_one_line_each(fake_bumped: Bumped, tmp_path: Path) -> None:
    view = breaks_view(fake_bumped.root, tmp_path / "view")
    found = breaks.problems(view)
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
    assert len(remaining) == len(rest)
    assert not any(first in line for line in remaining)
    with accepted.open("a", encoding="utf-8") as fh:
        fh.writelines(entry.format(key) for key in rest)
    assert breaks.problems(view) == []


def test_a_major_version_covers_the_breaks(fake_bumped: Bumped, tmp_path: Path) -> None:
    view = breaks_view(fake_bumped.root, tmp_path / "view")
    pyproject = view / "pyproject.toml"
    _replace_once(pyproject, 'version = "0.1.0"', 'version = "1.0.0"')
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
    assert result.tool_findings == []  # buf is for protobuf sources only
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
    _replace_once(
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


# --- changelog, CLI, and the real tree ---------------------------------------------------------


def test_write_changelog_creates_and_stacks_unreleased_entries(tmp_path: Path) -> None:
    path = tmp_path / "CHANGELOG.md"
    path.write_text("# Changelog\n\nIntro.\n\n## 0.1.0\n\nFirst.\n", encoding="utf-8")
    first = Report(CLOUD, CLOUD_REPO, "a" * 40, "2025-01-01", "b" * 40, "2025-02-01", [])
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
    assert text.index("(2025-03-01), implies MAJOR") < text.index("(2025-02-01), implies NONE")
    # Breaking lines first within an entry.
    assert text.index("field removed: `p.N.f`") < text.index("message added: `p.M`")
    assert text.endswith("First.\n")
    fresh = tmp_path / "NEW.md"
    write_changelog(first, fresh)
    assert fresh.read_text(encoding="utf-8").startswith("# Changelog\n")
    assert "## Unreleased" in fresh.read_text(encoding="utf-8")


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
