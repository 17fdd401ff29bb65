"""The README's Python examples run as written."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from codegen.lock import PROJECT_ROOT

BLOCKS = re.findall(r"```python\n(.*?)```", (PROJECT_ROOT / "README.md").read_text(), re.S)


def test_readme_has_an_example_per_provider() -> None:
    assert len(BLOCKS) >= 2
    assert any("runbind_generated.proto" in b for b in BLOCKS)
    assert any("runbind_generated.openai" in b for b in BLOCKS)


@pytest.mark.parametrize("code", BLOCKS, ids=lambda c: c.split("import", 2)[1].split()[0])
def test_readme_example_runs(code: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert proc.returncode == 0, proc.stderr


CLIENT_BLOCKS = [
    b for b in BLOCKS if re.search(r"^from runbind\.(yandex|openai) import Runs$", b, re.M)
]


@pytest.mark.parametrize("code", CLIENT_BLOCKS, ids=["yandex", "openai"])
def test_readme_runs_client_loop_prints_what_it_says(code: str) -> None:
    """The tool-calling loops print exactly the line their comment shows."""
    printed = re.findall(r"^\s*print\(.*\)  # (.*)$", code, re.M)
    assert len(printed) == 1
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == printed
