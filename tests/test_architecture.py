"""The import contracts in pyproject.toml hold, and they catch a reverse import.

``lint-imports`` (import-linter) checks that the core imports no provider, that neither provider
imports the other nor the emulator, that generated code never imports the hand-written layer and
that nothing that ships imports the code generator. Each reverse import below is written into a
copy of the tree, where the check must fail and name it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the tree at ``root`` (its pyproject's contracts, no cache)."""
    path = os.pathsep.join(str(root / p) for p in ("src", "generated", "."))
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_tree_keeps_every_import_contract() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of what the contracts cover: src/, codegen/, pyproject.toml (generated/ linked)."""
    root = tmp_path_factory.mktemp("tree")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "src", root / "src", ignore=ignore)
    shutil.copytree(ROOT / "codegen", root / "codegen", ignore=ignore)
    shutil.copytree(ROOT / "generated", root / "generated", ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


REVERSE_IMPORTS = {
    "core imports a provider": (
        "src/runbind/_core/run.py",
        "from runbind.yandex import _adapter",
        "runbind._core is not allowed to import runbind.yandex",
        "runbind._core.run -> runbind.yandex._adapter",
    ),
    "a provider imports the other": (
        "src/runbind/openai/_adapter.py",
        "from runbind.yandex import _wire",
        "runbind.openai is not allowed to import runbind.yandex",
        "runbind.openai._adapter -> runbind.yandex._wire",
    ),
    "a provider imports the emulator": (
        "src/runbind/yandex/_transport.py",
        "import runbind.emulator._state",
        "runbind.yandex is not allowed to import runbind.emulator",
        "runbind.yandex._transport -> runbind.emulator._state",
    ),
    "generated code imports runbind": (
        "generated/runbind_generated/openai/__init__.py",
        "import runbind._core.status",
        "runbind_generated is not allowed to import runbind",
        "runbind_generated.openai -> runbind._core.status",
    ),
    "runbind imports codegen": (
        "src/runbind/_core/models.py",
        "import codegen.lock",
        "runbind is not allowed to import codegen",
        "runbind._core.models -> codegen.lock",
    ),
}


@pytest.mark.parametrize("case", sorted(REVERSE_IMPORTS))
def test_a_reverse_import_breaks_a_contract(tree_copy: Path, case: str) -> None:
    file, line, broken, chain = REVERSE_IMPORTS[case]
    target = tree_copy / file
    original = target.read_text(encoding="utf-8")
    target.write_text(f"{original}\n{line}  # noqa\n", encoding="utf-8")
    try:
        done = lint_imports(tree_copy)
    finally:
        target.write_text(original, encoding="utf-8")
    assert done.returncode == 1, done.stdout + done.stderr
    assert broken in done.stdout, done.stdout
    assert chain in done.stdout, done.stdout


def loaded_after(code: str) -> set[str]:
    """Top-level names of the modules a fresh interpreter has loaded after running ``code``."""
    script = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(done.stdout.split())


def test_import_runbind_loads_no_provider() -> None:
    loaded = loaded_after("import runbind")
    assert not {m for m in loaded if m.startswith(("runbind.yandex", "runbind.openai"))}


@pytest.mark.parametrize(
    ("provider", "transport"), [("yandex", "runbind.yandex._transport"), ("openai", "httpx")]
)
def test_an_adapter_costs_no_transport(provider: str, transport: str) -> None:
    """Converting a run loads the provider's adapter, not its client and transport (the Yandex
    generated modules import grpclib for their stubs, so there it is runbind's transport)."""
    loaded = loaded_after(
        f"import runbind\nfrom runbind._core.seam import adapter\nadapter({provider!r})"
    )
    assert f"runbind.{provider}._adapter" in loaded
    assert transport not in loaded
    assert f"runbind.{provider}._async" not in loaded
