"""The release step (``nox -s release -- X.Y.Z``): refusals, the CHANGELOG section, reproducible
dists, the tag; run in temp clones of the committed project."""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from codegen import breaks, lock, release

ROOT = lock.PROJECT_ROOT
MIRROR = Path(os.environ.get("RUNBIND_SPECS_MIRROR") or ROOT.parent / "shared" / "specs-mirror")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "release test",
    "GIT_AUTHOR_EMAIL": "release@test.invalid",
    "GIT_COMMITTER_NAME": "release test",
    "GIT_COMMITTER_EMAIL": "release@test.invalid",
}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, **GIT_ENV, "RUNBIND_SPECS_MIRROR": str(MIRROR)}


def _clone(tmp_path: Path) -> Path:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    return clone


def _codegen(clone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codegen", *args],
        cwd=clone,
        env={**_env(), "PYTHONPATH": str(clone)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_the_changelog_section_names_each_upstream_commit_and_date() -> None:
    locked = lock.load()
    text = "# Changelog\n\n## Unreleased\n\n### Added\n\n- a thing\n\n## 0.1.0\n"
    out = release.changelog_section(text, "0.2.0", "2026-09-01", locked)
    head, rest = out.split("## 0.2.0 (2026-09-01)\n", 1)
    assert head == "# Changelog\n\n## Unreleased\n\n"
    section = rest.split("## 0.1.0", 1)[0]
    for source in locked.sources.values():
        assert f"{source.owner_repo} `{source.commit}` ({source.committed})" in section
    assert "- a thing" in section
    with pytest.raises(release.ReleaseError, match="Unreleased"):
        release.changelog_section("# Changelog\n", "0.2.0", "2026-09-01", locked)


def test_a_dirty_tree_is_refused(tmp_path: Path) -> None:
    clone = _clone(tmp_path)
    (clone / "stray.txt").write_text("not committed\n", encoding="utf-8")
    proc = _codegen(clone, "release", "9.0.0")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "release: the git tree is dirty; commit or stash first"
    assert not subprocess.run(
        ["git", "-C", str(clone), "tag"], capture_output=True, text=True, check=True
    ).stdout


def test_a_version_not_above_the_current_one_is_refused(tmp_path: Path) -> None:
    clone = _clone(tmp_path)
    proc = _codegen(clone, "release", "0.0.1")
    assert proc.returncode == 1
    assert "is not above the current version" in proc.stderr


@pytest.mark.skipif(not MIRROR.is_dir(), reason="no specs mirror on this machine")
def test_a_release_tags_bumps_records_the_baseline_and_builds_the_same_bytes_twice(
    tmp_path: Path,
) -> None:
    clone = _clone(tmp_path)
    generated = _codegen(clone, "generate")
    assert generated.returncode == 0, generated.stderr
    # buf's findings since the last release (here: none, at the locked commit) go with it.
    cloud = lock.load().source("cloudapi")
    gate = breaks.gate_path(clone / "specs" / "surface", "cloudapi")
    since = {"commit": cloud.commit, "date": cloud.committed}
    gate.write_text(json.dumps({"since": since, "at": cloud.commit, "findings": []}))
    git = ["git", "-C", str(clone)]
    subprocess.run([*git, "add", str(gate)], check=True)
    subprocess.run([*git, "commit", "-qm", "bump"], check=True, env=_env())
    current = tomllib.loads((clone / "pyproject.toml").read_text())["project"]["version"]
    major, minor, _ = (int(part) for part in current.split("."))
    version = f"{major}.{minor + 1}.0"
    proc = _codegen(clone, "release", version)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "byte-identical" in proc.stdout
    git = ["git", "-C", str(clone)]
    tag = subprocess.run(
        [*git, "tag", "-n99", f"v{version}"], capture_output=True, text=True, check=True
    ).stdout
    changelog = (clone / "CHANGELOG.md").read_text(encoding="utf-8")
    section = changelog.split(f"## {version} (", 1)[1]
    for source in lock.load().sources.values():
        assert source.commit in tag
        assert f"`{source.commit}` ({source.committed})" in section
    assert changelog.index("## Unreleased") < changelog.index(f"## {version} (")
    assert tomllib.loads((clone / "pyproject.toml").read_text())["project"]["version"] == version
    assert f'__version__ = "{version}"' in (clone / "src/runbind/__init__.py").read_text()
    assert (clone / "specs/baseline/version").read_text().strip() == version
    assert not gate.exists()
    status = subprocess.run(
        [*git, "status", "--porcelain"], capture_output=True, text=True, check=True
    )
    assert status.stdout == ""  # everything the release changed is in its commit
    dist = sorted((clone / "dist").iterdir())
    assert [p.name for p in dist] == [
        f"runbind-{version}-py3-none-any.whl",
        f"runbind-{version}.tar.gz",
    ]
    # The same commit built once more: the same bytes.
    epoch = int(
        subprocess.run(
            [*git, "log", "-1", "--format=%ct"], capture_output=True, text=True, check=True
        ).stdout
    )
    again = release.build_dists(clone, tmp_path / "again", epoch)
    for a, b in zip(dist, again, strict=True):
        assert filecmp.cmp(a, b, shallow=False), a.name
