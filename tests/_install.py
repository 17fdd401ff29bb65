"""Shared by the install tests: clean venvs outside the project, and the README's client loops."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README_LOOPS = [
    block
    for block in re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    if "from runbind.emulator import Emulator" in block and "# completed" in block
]
"""The README's tool loops against the emulator, each ending in a ``# <expected output>`` line."""


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without this venv and path, so that the new venv sees only itself."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return {**env, **extra}


def run(
    argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (ten minutes at most), output captured; the caller judges the exit code."""
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=600, env=env, cwd=cwd, check=False
    )


def ok(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run ``argv`` and return its stdout; fail the test with the output's tail otherwise."""
    proc = run(argv, env, cwd)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return proc.stdout


def new_venv(where: Path) -> Path:
    """A fresh venv at ``where`` with the current pip, as a user has (the pip that comes with
    an older CPython rejects ``name @ git+file:///…`` requirements); its python."""
    ok([sys.executable, "-m", "venv", "--upgrade-deps", str(where)], env=clean_env())
    return where / "bin" / "python"


def assert_readme_runs(python: Path, venv: Path) -> None:
    """runbind is imported from ``venv`` (not this checkout) and the README's first loop prints
    what the README says it prints."""
    where = ok([str(python), "-I", "-c", "import runbind; print(runbind.__file__)"], clean_env())
    assert where.startswith(str(venv)), where
    code = README_LOOPS[0]
    expected = code.rsplit("# ", 1)[1].strip()
    out = ok([str(python), "-I", "-c", code], env=clean_env())
    assert out.strip() == expected, out
