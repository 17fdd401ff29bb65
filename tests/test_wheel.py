"""The wheel and sdist ship runbind and the generated code, no upstream specs, and work alone."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import tomllib
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated" / "runbind_generated"
SRC = ROOT / "src" / "runbind"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
LOCKED = tomllib.loads((ROOT / "specs" / "lock.toml").read_text(encoding="utf-8"))["sources"]
# Generators, formatters and dev tools: none of them may come with the wheel.
BUILD_ONLY = ("grpc_tools", "datamodel_code_generator", "ruff", "nox", "codegen", "mypy", "pytest")


class Dists(NamedTuple):
    wheel: Path
    sdist: Path


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _py_files(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".typed")
    }


def _no_upstream_specs(names: list[str]) -> None:
    for name in names:
        parts = name.split("/")
        assert not name.endswith(".proto"), name
        assert parts[-1] not in ("openapi.yaml", "openapi.yml", "lock.toml"), name
        assert "specs" not in parts, name
        assert "__pycache__" not in parts, name
        assert not name.endswith((".pyc", ".stamp.json")), name


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """``python -m build`` of the project (sdist, then the wheel built from the sdist)."""
    assert importlib.util.find_spec("build") is not None, "`build` is not installed here"
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    wheels, sdists = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    assert [w.name for w in wheels] == [f"runbind-{VERSION}-py3-none-any.whl"]
    assert [s.name for s in sdists] == [f"runbind-{VERSION}.tar.gz"]
    return Dists(wheels[0], sdists[0])


def test_the_wheel_holds_runbind_and_the_generated_package(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as wheel:
        names = wheel.namelist()
        metadata = wheel.read(f"runbind-{VERSION}.dist-info/METADATA").decode()
    tops = {name.split("/", 1)[0] for name in names}
    assert tops == {"runbind", "runbind_generated", f"runbind-{VERSION}.dist-info"}
    generated = {n.removeprefix("runbind_generated/") for n in names if n.startswith("runbind_")}
    assert generated == _py_files(GENERATED)
    assert "proto/yandex/cloud/ai/assistants/v1/runs/__init__.py" in generated
    assert "openai/models.py" in generated
    ours = {n.removeprefix("runbind/") for n in names if n.startswith("runbind/")}
    assert ours == _py_files(SRC)
    _no_upstream_specs(names)
    # Runtime dependencies only; the generators stay in the `codegen` extra.
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    runtime = [line for line in requires if "extra ==" not in line]
    assert any("betterproto2" in line for line in runtime)
    assert any("pydantic" in line for line in runtime)
    for tool in ("grpcio-tools", "datamodel-code-generator", "ruff", "nox"):
        assert not any(tool in line for line in runtime), tool


def _metadata(dists: Dists) -> list[str]:
    with zipfile.ZipFile(dists.wheel) as wheel:
        return wheel.read(f"runbind-{VERSION}.dist-info/METADATA").decode().splitlines()


def test_the_wheel_carries_our_licence_and_the_upstream_licences(dists: Dists) -> None:
    licences = f"runbind-{VERSION}.dist-info/licenses/"
    with zipfile.ZipFile(dists.wheel) as wheel:
        shipped = {n.removeprefix(licences) for n in wheel.namelist() if n.startswith(licences)}
        ours = wheel.read(licences + "LICENSE").decode()
    upstream = {
        f"generated/licenses/{name}-{rel.replace('/', '-')}"  # codegen.licences.licence_name
        for name, source in LOCKED.items()
        for rel in source["files"]
        if rel.rsplit("/", 1)[-1] == "LICENSE"
    }
    assert len(upstream) == 3  # cloudapi, the googleapis it carries, openai-openapi
    assert shipped == {"LICENSE", "NOTICE", *upstream}
    assert "Apache License" in ours
    metadata = _metadata(dists)
    assert "License-Expression: Apache-2.0" in metadata
    assert {f"License-File: {name}" for name in shipped} <= set(metadata)


def _tested_pythons() -> tuple[str, ...]:
    """``PYTHONS`` of the noxfile, read without importing it."""
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "PYTHONS":
            value: tuple[str, ...] = ast.literal_eval(node.value)
            return value
    raise AssertionError("noxfile.py has no PYTHONS")


def test_the_metadata_declares_typing_pythons_urls_and_only_user_facing_extras(
    dists: Dists,
) -> None:
    metadata = _metadata(dists)
    classifiers = {line.removeprefix("Classifier: ") for line in metadata if "Classifier:" in line}
    assert "Typing :: Typed" in classifiers
    minors = {c.rsplit(" ", 1)[-1] for c in classifiers if c.startswith("Programming Language")}
    # exactly the Pythons the nox sessions run the suite on
    assert {m for m in minors if m.count(".") == 1} == set(_tested_pythons())
    assert any(line.startswith("Project-URL:") for line in metadata)
    extras = {line.removeprefix("Provides-Extra: ") for line in metadata if "-Extra:" in line}
    assert extras == {"emulator", "yandex-sa"}


def test_the_sdist_holds_the_generated_code_and_no_upstream_specs(dists: Dists) -> None:
    with tarfile.open(dists.sdist) as sdist:
        names = [m.name for m in sdist.getmembers() if m.isfile()]
    prefix = f"runbind-{VERSION}/"
    assert all(name.startswith(prefix) for name in names)
    rels = [name.removeprefix(prefix) for name in names]
    generated = {r.removeprefix("generated/runbind_generated/") for r in rels if "runbind_gen" in r}
    assert generated == _py_files(GENERATED)
    assert {r.removeprefix("src/runbind/") for r in rels if r.startswith("src/")} == _py_files(SRC)
    expected = {"pyproject.toml", "README.md", "PKG-INFO", "LICENSE", "NOTICE", "hatch_build.py"}
    assert expected <= set(rels)
    assert len([r for r in rels if r.startswith("generated/licenses/")]) == 3
    _no_upstream_specs(rels)
    assert not any(r.startswith(("specs/", "tests/", "codegen/")) for r in rels)


PROBE = textwrap.dedent(
    """
    import importlib.metadata, importlib.util, json, sys

    import runbind
    import runbind_generated
    from runbind import Run, RunStatus
    from runbind_generated.proto.google.protobuf import Timestamp
    from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs

    native = runs.Run(
        id="run-1",
        assistant_id="asst-1",
        thread_id="thread-1",
        created_at=Timestamp(seconds=1753228800),
        labels={"team": "qa"},
        state=runs.RunState(status=runs.RunStateRunStatus.COMPLETED),
        usage=runs.ContentUsage(prompt_tokens=3, completion_tokens=5, total_tokens=8),
    )
    yandex = Run.from_yandex(bytes(native))
    openai = Run.from_openai(
        {
            "id": "run_1",
            "object": "thread.run",
            "created_at": 1753228800,
            "thread_id": "thread_1",
            "assistant_id": "asst_1",
            "status": "requires_action",
            "model": "gpt-4o",
            "tools": [],
            "parallel_tool_calls": True,
            "metadata": {"team": "qa"},
        }
    )
    print(json.dumps({
        "files": [runbind.__file__, runbind_generated.__file__],
        "prefix": sys.prefix,
        "version": importlib.metadata.version("runbind"),
        "provenance": runbind.__provenance__,
        "yandex": [yandex.provider, yandex.id, yandex.status is RunStatus.COMPLETED,
                   yandex.labels, yandex.usage.total_tokens if yandex.usage else None],
        "openai": [openai.provider, openai.id, openai.status is RunStatus.REQUIRES_ACTION,
                   openai.metadata],
        "importable": {m: importlib.util.find_spec(m) is not None for m in sys.argv[1:]},
    }, default=str))
    """
)


@pytest.fixture(scope="module")
def installed(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A fresh venv with only the wheel (and its runtime dependencies) installed; probe output."""
    where = tmp_path_factory.mktemp("venv")
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(dists.wheel)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    probe = where / "probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    proc = subprocess.run(
        [str(python), "-I", str(probe), *BUILD_ONLY],
        cwd=where,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_the_installed_wheel_is_what_gets_imported(installed: dict[str, Any]) -> None:
    prefix = installed["prefix"]
    for path in installed["files"]:
        assert path.startswith(prefix), path
        assert "site-packages" in path, path
        assert not path.startswith(str(ROOT)), path
    assert installed["version"] == VERSION


def test_the_installed_wheel_names_both_upstream_commits(installed: dict[str, Any]) -> None:
    provenance = installed["provenance"]
    assert provenance["version"] == VERSION
    upstream = provenance["upstream"]
    assert set(upstream) == set(LOCKED)
    for name, source in LOCKED.items():
        assert upstream[name]["commit"] == source["commit"], name
        assert upstream[name]["committed"] == source["committed"], name
        assert upstream[name]["repository"] == source["repository"], name


def test_the_installed_wheel_decodes_runs_of_both_providers(installed: dict[str, Any]) -> None:
    assert installed["yandex"] == ["yandex", "run-1", True, {"team": "qa"}, 8]
    assert installed["openai"] == ["openai", "run_1", True, {"team": "qa"}]


def test_no_generator_or_dev_tool_comes_with_the_wheel(installed: dict[str, Any]) -> None:
    assert installed["importable"] == dict.fromkeys(BUILD_ONLY, False)


def test_an_editable_install_before_the_first_generate_finds_the_generated_package(
    tmp_path: Path,
) -> None:
    """A fresh clone installs (nox) before it generates: the path must cover generated/ anyway."""
    project = tmp_path / "clone"
    for name in ("pyproject.toml", "README.md", "hatch_build.py", "LICENSE", "NOTICE"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_bytes((ROOT / name).read_bytes())
    (project / "src" / "runbind").mkdir(parents=True)
    (project / "src" / "runbind" / "__init__.py").write_text("", encoding="utf-8")
    (project / "generated").mkdir()  # as in a clone: the folder, but no runbind_generated yet
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=_env(), timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "-e"]
    proc = subprocess.run(
        [*pip, str(project)], capture_output=True, text=True, env=_env(), timeout=240, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (pth,) = (venv / "lib").glob("python3*/site-packages/_runbind*.pth")
    paths = pth.read_text(encoding="utf-8").split()
    assert str(project / "generated") in paths
    assert str(project / "src") in paths


def _tree_without_generated_code(where: Path) -> Path:
    """What a checkout holds (pip install git+…): the sources, the generator, the lock; no
    generated/ and no specs/upstream/ (both git-ignored)."""
    project = where / "checkout"
    for name in ("pyproject.toml", "README.md", "hatch_build.py", "LICENSE", "NOTICE"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_bytes((ROOT / name).read_bytes())
    for folder in ("src", "codegen", "specs"):
        ignore = shutil.ignore_patterns("__pycache__", "upstream")
        shutil.copytree(ROOT / folder, project / folder, ignore=ignore)
    return project


def _build(project: Path, out: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(project)],
        env={**_env(), **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_checkout_without_specs_fails_to_build_with_one_line(tmp_path: Path) -> None:
    """No mirror, no network: not a broken package, but one line saying what to set."""
    project = _tree_without_generated_code(tmp_path)
    proc = _build(project, tmp_path / "dist", RUNBIND_SPECS_MIRROR="", RUNBIND_SPECS_NETWORK="0")
    assert proc.returncode != 0
    ours = [line for line in (proc.stdout + proc.stderr).splitlines() if "runbind build:" in line]
    assert len(ours) == 1, proc.stdout + proc.stderr
    assert "RUNBIND_SPECS_MIRROR" in ours[0]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not list((tmp_path / "dist").glob("*.whl"))


def test_a_checkout_with_a_mirror_builds_the_generated_code(tmp_path: Path) -> None:
    """The hook generates from the lock, verified against the mirror; the same wheel results."""
    mirror = os.environ.get("RUNBIND_SPECS_MIRROR") or str(ROOT.parent / "shared" / "specs-mirror")
    if not Path(mirror).is_dir():
        pytest.skip("no specs mirror on this machine")
    project = _tree_without_generated_code(tmp_path)
    proc = _build(project, tmp_path / "dist", RUNBIND_SPECS_MIRROR=mirror)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as built:
        names = built.namelist()
    (sdist,) = (tmp_path / "dist").glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        member = archive.extractfile(f"runbind-{VERSION}/PKG-INFO")
        assert member is not None
        pkg_info = member.read().decode()
    # the licences copied by the hook are named even though they did not exist before it ran
    assert pkg_info.count("License-File: generated/licenses/") == 3
    generated = {n.removeprefix("runbind_generated/") for n in names if n.startswith("runbind_")}
    assert generated == _py_files(GENERATED)
    assert sum("/licenses/generated/licenses/" in n for n in names) == 3
