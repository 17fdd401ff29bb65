"""``python -m codegen release X.Y.Z`` (``nox -s release -- X.Y.Z``): cut one release.

In order, stopping at the first problem with one line: the git tree must be clean, the version
SemVer and above the current one, and ``check`` clean (deterministic, surface index and twins
current, no unaccepted breaking change since the baseline). Then the CHANGELOG's
``## Unreleased`` becomes ``## X.Y.Z (date)`` naming each upstream commit and its date; the
version is bumped (pyproject and ``runbind.__version__``); the surface is recorded as the new
baseline (the accepted breaks, against the old one, are emptied); all of it is committed and
tagged ``vX.Y.Z`` (the tag message names the upstream commits too); and the wheel and sdist are
built twice with ``SOURCE_DATE_EPOCH`` set to the release commit's time: the two builds must be
byte-identical, and land in ``dist/``.
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from codegen import breaks
from codegen.errors import CodegenError
from codegen.lock import PROJECT_ROOT, Lock, load

__all__ = ["build_dists", "changelog_section", "release"]

_SEMVER = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
_INIT = Path("src/runbind/__init__.py")


class ReleaseError(CodegenError):
    """The release cannot be cut (dirty tree, bad version, stale or breaking surface)."""


def _git(root: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise ReleaseError(f"release: git {args[0]} failed: {proc.stderr.strip()[:200]}")
    return proc.stdout


def _semver(version: str) -> tuple[int, int, int]:
    match = _SEMVER.fullmatch(version)
    if match is None:
        raise ReleaseError(f"release: {version!r} is not a SemVer release (X.Y.Z)")
    return int(match[1]), int(match[2]), int(match[3])


def upstream_lines(lock: Lock) -> list[str]:
    """One Markdown bullet per upstream source: repository, full commit, commit date."""
    return [
        f"- {source.owner_repo} `{source.commit}` ({source.committed})"
        for _, source in sorted(lock.sources.items())
    ]


def changelog_section(text: str, version: str, date: str, lock: Lock) -> str:
    """``text`` with its ``## Unreleased`` turned into the release's section.

    A new, empty ``## Unreleased`` stays above it; the release names its upstream commits.
    """
    heading = "## Unreleased\n"
    if heading not in text:
        raise ReleaseError("release: CHANGELOG.md has no `## Unreleased` section")
    upstream = "\n".join(["Generated from:", "", *upstream_lines(lock)])
    released = f"{heading}\n## {version} ({date})\n\n{upstream}\n"
    return text.replace(heading, released, 1)


def _bump_version(root: Path, old: str, new: str) -> None:
    for rel, line in ((Path("pyproject.toml"), 'version = "{}"'), (_INIT, '__version__ = "{}"')):
        path = root / rel
        text = path.read_text(encoding="utf-8")
        pattern = "(?m)^" + re.escape(line.format(old)) + "$"
        bumped, count = re.subn(pattern, line.format(new), text, count=1)
        if count != 1:
            raise ReleaseError(f"release: {rel}: the version {old} was not found once")
        path.write_text(bumped, encoding="utf-8")


def _empty_accepted(root: Path) -> None:
    """The accepted breaks were against the old baseline: keep the file's comments, drop them."""
    path = root / breaks.ACCEPTED
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if line.startswith("#") or not line.strip()]
        path.write_text("".join(kept).rstrip("\n") + "\n", encoding="utf-8")


def build_dists(root: Path, out: Path, epoch: int) -> list[Path]:
    """Build wheel and sdist of ``root`` into ``out`` with ``SOURCE_DATE_EPOCH=epoch``."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["SOURCE_DATE_EPOCH"] = str(epoch)
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(root)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        last = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
        raise ReleaseError(f"release: the build failed: {last[0]}")
    return sorted(out.iterdir())


def reproducible_build(root: Path, dist: Path, epoch: int) -> list[Path]:
    """Build twice; fail unless both builds are byte-identical; keep the first in ``dist``."""
    with tempfile.TemporaryDirectory(prefix="runbind-release-") as tmp:
        first = build_dists(root, Path(tmp) / "a", epoch)
        second = build_dists(root, Path(tmp) / "b", epoch)
        if [p.name for p in first] != [p.name for p in second]:
            raise ReleaseError("release: the two builds made different files")
        for a, b in zip(first, second, strict=True):
            if not filecmp.cmp(a, b, shallow=False):
                raise ReleaseError(f"release: {a.name}: two builds differ (not reproducible)")
        dist.mkdir(parents=True, exist_ok=True)
        kept = []
        for path in first:
            shutil.copyfile(path, dist / path.name)
            kept.append(dist / path.name)
        return kept


def release(version: str, *, root: Path = PROJECT_ROOT, date: str | None = None) -> list[Path]:
    """Cut release ``version`` of the project at ``root``; the built files in ``dist/``."""
    if _git(root, "status", "--porcelain").strip():
        raise ReleaseError("release: the git tree is dirty; commit or stash first")
    current = breaks.package_version(root)
    if _semver(version) <= _semver(current):
        raise ReleaseError(f"release: {version} is not above the current version {current}")
    if _git(root, "tag", "--list", f"v{version}").strip():
        raise ReleaseError(f"release: the tag v{version} exists already")
    from codegen import pipeline, twins  # noqa: PLC0415

    problems = pipeline.check(root=root)
    if twins.main(check=True) != 0:
        problems.append("check: the blocking twins are stale; run `python -m codegen twins`")
    if problems:
        raise ReleaseError(f"release: refused, {problems[0]}")
    lock = load(root / "specs" / "lock.toml")
    when = date or _git(root, "log", "-1", "--format=%cs", "HEAD").strip()
    changelog = root / "CHANGELOG.md"
    changelog.write_text(
        changelog_section(changelog.read_text(encoding="utf-8"), version, when, lock),
        encoding="utf-8",
    )
    _bump_version(root, current, version)
    breaks.baseline(root)
    _empty_accepted(root)
    changed = ["CHANGELOG.md", "pyproject.toml", str(_INIT), breaks.BASELINE, breaks.ACCEPTED]
    changed.append("specs/surface")  # the buf findings since the last release are cleared
    _git(root, "add", *changed)
    upstream = "Generated from:\n" + "\n".join(upstream_lines(lock))
    _git(root, "commit", "--quiet", "-m", f"Release {version}\n\n{upstream}")
    _git(root, "tag", "-a", f"v{version}", "-m", f"runbind {version}\n\n{upstream}")
    epoch = int(_git(root, "log", "-1", "--format=%ct", "HEAD").strip())
    # The licences in place before the first build, as the build hook leaves them for the second.
    from codegen import fetch, licences  # noqa: PLC0415

    licences.copy_licences(lock, fetch.fetch(lock), root / "generated" / "licenses")
    return reproducible_build(root, root / "dist", epoch)
