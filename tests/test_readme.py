"""The Python examples of the README and of the guides in docs/ run as written, and pass mypy
--strict and pyright strict."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codegen.lock import PROJECT_ROOT

DOCUMENTS = {
    path.relative_to(PROJECT_ROOT).as_posix(): path.read_text(encoding="utf-8")
    for path in [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").rglob("*.md"))]
}
"""The README and the guides, by path: wherever a block moves among them, it is still checked."""
_FOUND = [
    (name, code)
    for name, text in DOCUMENTS.items()
    for code in re.findall(r"```python\n(.*?)```", text, re.S)
]
BLOCKS = [code for _, code in _FOUND]
BLOCK_IDS = [f"{name}:{code.split('import', 2)[1].split()[0]}" for name, code in _FOUND]


def test_readme_has_an_example_per_provider() -> None:
    assert len(BLOCKS) >= 2
    assert any("runbind_generated.proto" in b for b in BLOCKS)
    assert any("runbind_generated.openai" in b for b in BLOCKS)


@pytest.mark.parametrize("code", BLOCKS, ids=BLOCK_IDS)
def test_readme_example_runs(code: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert proc.returncode == 0, proc.stderr


CLIENT_BLOCKS = [
    b
    for b in BLOCKS
    if re.search(r"^from runbind\.(yandex|openai) import (Runs|Responses)$", b, re.M)
]


@pytest.mark.parametrize("code", CLIENT_BLOCKS, ids=["yandex", "openai", "openai-responses"])
def test_readme_runs_client_loop_prints_what_it_says(code: str) -> None:
    """The quickstart's tool-calling loops print exactly the line their comment shows."""
    printed = re.findall(r"^\s*print\(.*\)  # (.*)$", code, re.M)
    assert len(printed) == 1
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == printed


# --------------------------------------------------------------------------- static types

SKIP_MARKER = "<!-- not type-checked:"
"""Put ``<!-- not type-checked: why -->`` on the line before a block that is not a complete
program; every other Python block of the documents must pass mypy --strict and pyright strict."""
_MARKED = re.compile(r"^(<!-- not type-checked:[^\n]*-->\n)?```python\n(.*?)```", re.S | re.M)
TYPED = [
    code for text in DOCUMENTS.values() for marker, code in _MARKED.findall(text) if not marker
]
# The tool loop as it was written before streams had ``current_run``: ``stream.run`` may be
# None, so both checkers must refuse it (the check is not vacuous).
OLD_LOOP = next(b for b in CLIENT_BLOCKS if "current_run" in b).replace(".current_run", ".run")


def _blocks(tmp_path: Path) -> dict[str, str]:
    files = {f"readme_block_{i}.py": code for i, code in enumerate(TYPED)}
    files["old_tool_loop.py"] = OLD_LOOP
    for name, code in files.items():
        (tmp_path / name).write_text(code, encoding="utf-8")
    return files


def _by_file(errors: list[tuple[str, str]], files: dict[str, str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {name: [] for name in files}
    for name, message in errors:
        found[name].append(message)
    return found


def test_readme_type_check_markers_are_few() -> None:
    assert len(TYPED) == len(BLOCKS)  # _MARKED reads every block BLOCKS does
    marked = sum(text.count(SKIP_MARKER) for text in DOCUMENTS.values())
    assert marked <= 2, "keep the blocks left out of the type check few"


def test_readme_blocks_pass_mypy_strict(tmp_path: Path) -> None:
    files = _blocks(tmp_path)
    mypy = [sys.executable, "-m", "mypy", "--strict", "--config-file", "pyproject.toml"]
    proc = subprocess.run(
        [*mypy, "--no-error-summary", *(str(tmp_path / name) for name in files)],
        cwd=PROJECT_ROOT,  # the project's mypy_path (src, generated) and its cache
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode in (0, 1), proc.stderr
    errors = [
        (Path(path).name, line)
        for line in proc.stdout.splitlines()
        if (path := line.split(":", 1)[0]).endswith(".py") and ": error:" in line
    ]
    found = _by_file(errors, files)
    assert found.pop("old_tool_loop.py"), "mypy accepted a Run | None as a run"
    assert found == {name: [] for name in found}


PYRIGHT = os.environ.get("RUNBIND_PYRIGHT") or shutil.which("pyright")


@pytest.mark.skipif(PYRIGHT is None, reason="RUNBIND_PYRIGHT is not set and pyright not found")
def test_readme_blocks_pass_pyright_strict(tmp_path: Path) -> None:
    assert PYRIGHT is not None
    files = _blocks(tmp_path)
    config = {
        "typeCheckingMode": "strict",
        "pythonVersion": "3.11",
        "extraPaths": [str(PROJECT_ROOT / "src"), str(PROJECT_ROOT / "generated")],
    }
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(config), encoding="utf-8")
    proc = subprocess.run(
        [PYRIGHT, "--outputjson", "--pythonpath", sys.executable, "--project", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    errors = [
        (Path(d["file"]).name, f"{d['range']['start']['line'] + 1}: {d['message']}")
        for d in report["generalDiagnostics"]
        if d["severity"] == "error"
    ]
    found = _by_file(errors, files)
    assert found.pop("old_tool_loop.py"), "pyright accepted a Run | None as a run"
    assert found == {name: [] for name in found}
    assert report["summary"]["filesAnalyzed"] == len(files)
