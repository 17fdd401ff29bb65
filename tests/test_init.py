"""The public API is exactly `runbind.__all__`: sorted, importable, documented, cheap to import."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import runbind

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _ruff_sort_key(name: str) -> tuple[int, str]:
    """isort-style order (ruff RUF022): CONSTANTS, then Classes, then the rest."""
    if name.isupper():
        return (0, name)
    if name[0].isupper():
        return (1, name)
    return (2, name)


def test_all_is_sorted_and_unique() -> None:
    assert runbind.__all__ == sorted(runbind.__all__, key=_ruff_sort_key)
    assert len(set(runbind.__all__)) == len(runbind.__all__)


def test_all_names_exist_and_nothing_public_is_missing() -> None:
    for name in runbind.__all__:
        assert hasattr(runbind, name), name
    public = {
        name
        for name, value in vars(runbind).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert public == set(runbind.__all__) - {"__version__", "__provenance__"}


@pytest.mark.parametrize("name", [n for n in runbind.__all__ if not n.startswith("__")])
def test_every_public_name_is_documented(name: str) -> None:
    value = getattr(runbind, name)
    if inspect.isclass(value) or inspect.isfunction(value):
        assert inspect.getdoc(value), name
        assert value.__module__.startswith("runbind._"), "defined in a private module"
    for attr, member in vars(value).items() if inspect.isclass(value) else ():
        if attr.startswith("_") or not (
            inspect.isfunction(member) or isinstance(member, property | classmethod)
        ):
            continue
        target = member.__func__ if isinstance(member, classmethod) else member
        assert inspect.getdoc(target), f"{name}.{attr}"


PUBLIC_SUBPACKAGES = {"emulator", "openai", "yandex"}


def test_modules_other_than_the_package_are_private() -> None:
    names = [m.name for m in pkgutil.iter_modules(runbind.__path__)]
    assert names
    public = {name for name in names if not name.startswith("_")}
    assert public == PUBLIC_SUBPACKAGES, names


@pytest.mark.parametrize("package", sorted(PUBLIC_SUBPACKAGES))
def test_each_public_subpackage_has_a_tight_documented_surface(package: str) -> None:
    module = importlib.import_module(f"runbind.{package}")
    assert module.__all__ == sorted(module.__all__, key=_ruff_sort_key)
    for name in module.__all__:
        value = getattr(module, name)
        if inspect.isclass(value):
            assert inspect.getdoc(value), name
            for attr, member in vars(value).items():
                if not attr.startswith("_") and callable(member):
                    assert inspect.getdoc(member), f"{package}.{name}.{attr}"
    modules = [m.name for m in pkgutil.iter_modules(module.__path__)]
    assert all(name.startswith("_") for name in modules), modules


def test_import_runbind_does_not_load_the_generated_code() -> None:
    code = (
        "import sys, runbind\n"
        "loaded = [m for m in sys.modules if m.startswith(('runbind_generated', 'pydantic',"
        " 'betterproto2'))]\n"
        "print(loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    )
    assert out.stdout.strip() == "[]"


def test_provenance_names_the_locked_upstream_commits() -> None:
    from codegen import lock  # noqa: PLC0415

    locked = lock.load()
    provenance = runbind.__provenance__
    assert provenance["version"] == runbind.__version__
    assert set(provenance["upstream"]) == set(locked.sources)
    for name, source in locked.sources.items():
        entry = provenance["upstream"][name]
        assert (entry["commit"], entry["committed"]) == (source.commit, source.committed)
        assert entry["repository"] == source.repository
