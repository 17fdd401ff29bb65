"""Installing runbind as a user would, each into a clean venv that then runs the README's first
example: from a git tag (``git+file://…@vX.Y.Z``) with a specs mirror, from the sdist with no
specs at all; and a git install with neither mirror nor network fails with one line.

The release from a package index is tests/test_publish.py; the wheel's contents tests/test_wheel.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from codegen import release
from tests._install import ROOT, assert_readme_runs, clean_env, new_venv, ok, run

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
TAG = f"v{VERSION}"
MIRROR = Path(os.environ.get("RUNBIND_SPECS_MIRROR") or ROOT.parent / "shared" / "specs-mirror")
NO_SPECS = {"RUNBIND_SPECS_MIRROR": "", "RUNBIND_SPECS_NETWORK": "0"}
"""Neither a mirror nor the network archive: what a user without specs has."""


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A git repository of this tree as committed by a maintainer (the files git tracks, as they
    are now; no generated/ and no specs/upstream/, both ignored), tagged ``vX.Y.Z``; its URL."""
    tracked = ok(["git", "ls-files", "-z"], cwd=ROOT).split("\0")
    repo = tmp_path_factory.mktemp("git") / "runbind"
    for name in filter(None, tracked):
        source = ROOT / name
        if source.is_file():  # a file deleted but not yet staged is not part of the tree
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git = ["git", "-c", "user.name=runbind", "-c", "user.email=runbind@example.invalid"]
    ok([*git, "init", "--quiet", "--initial-branch", "main"], cwd=repo)
    ok([*git, "add", "--all"], cwd=repo)
    ok([*git, "commit", "--quiet", "--no-verify", "-m", "release"], cwd=repo)
    ok([*git, "tag", TAG], cwd=repo)
    assert not (repo / "generated" / "runbind_generated").exists()
    return f"git+file://{repo}@{TAG}"


def _pip_install(python: Path, requirement: str, **env: str) -> subprocess.CompletedProcess[str]:
    argv = [str(python), "-m", "pip", "install", "--quiet", "--no-cache-dir", requirement]
    return run(argv, env=clean_env(**env))


def test_a_git_tag_installs_with_a_mirror_and_runs_the_readme(tagged: str, tmp_path: Path) -> None:
    """The build hook generates the code from the lock, every file verified against the mirror."""
    if not MIRROR.is_dir():
        pytest.skip("no specs mirror on this machine")
    python = new_venv(tmp_path / "venv")
    proc = _pip_install(python, f"runbind[emulator] @ {tagged}", RUNBIND_SPECS_MIRROR=str(MIRROR))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert_readme_runs(python, tmp_path / "venv")
    shown = ok([str(tmp_path / "venv" / "bin" / "runbind"), "--version"], clean_env())
    assert f"runbind {VERSION}" in shown
    for source in tomllib.loads((ROOT / "specs" / "lock.toml").read_text())["sources"].values():
        assert source["commit"][:12] in shown, shown


def test_a_git_tag_without_mirror_or_network_fails_with_one_line(
    tagged: str, tmp_path: Path
) -> None:
    """Not a package that fails at import time: the install stops, saying what to set."""
    python = new_venv(tmp_path / "venv")
    proc = _pip_install(python, f"runbind @ {tagged}", **NO_SPECS)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    ours = [line.strip() for line in output.splitlines() if "runbind build:" in line]
    assert len(ours) == 1, output[-3000:]
    assert "RUNBIND_SPECS_MIRROR" in ours[0]
    assert "Traceback" not in output, output[-3000:]
    shown = run([str(python), "-m", "pip", "show", "runbind"], clean_env())
    assert shown.returncode != 0, shown.stdout  # nothing half-installed


def test_the_sdist_installs_without_any_specs_and_runs_the_readme(tmp_path: Path) -> None:
    """A release's sdist carries the generated code: no mirror, no network, no generator."""
    dists = release.build_dists(ROOT, tmp_path / "dist", epoch=0)
    (sdist,) = (d for d in dists if d.name.endswith(".tar.gz"))
    python = new_venv(tmp_path / "venv")
    proc = _pip_install(python, f"runbind[emulator] @ {sdist.as_uri()}", **NO_SPECS)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert_readme_runs(python, tmp_path / "venv")
    generators = ("grpc_tools", "datamodel_code_generator", "codegen")
    tools = f"import importlib.util as u; print([m for m in {generators!r} if u.find_spec(m)])"
    assert ok([str(python), "-I", "-c", tools], clean_env()).strip() == "[]"
