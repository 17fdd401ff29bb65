"""Tests that need a generated name or field some spec version lacks (``nox -s tests_previous``
runs the layer's tests against code generated at the mirror's "previous" commits).

A test module imports such a name with :func:`generated`: the class, or, where the spec version
lacks it, a stand-in that skips the test using it (the reason names it and the spec commit).
A test that needs a name or field only in what it checks is marked :func:`requires_generated`.
At the current pins nothing is missing, so nothing is skipped.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from runbind._core.generated import spec_commit

ROOT = "runbind_generated"
V1 = f"{ROOT}.proto.yandex.cloud.ai.assistants.v1"
THREADS = f"{V1}.threads"
RUNS = f"{V1}.runs"
OPENAI = f"{ROOT}.openai"


def lacks(dotted: str) -> bool:
    """Whether the generated code lacks ``dotted``: a module, a module attribute, or a field
    (``module.Class.field``) of a generated class."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for index, part in enumerate(parts[cut:], start=cut):
            last = index == len(parts) - 1
            if last and isinstance(target, type):
                fields = getattr(target, "__dataclass_fields__", None) or getattr(
                    target, "model_fields", None
                )
                if fields:  # a message or model: its fields, else a nested name
                    return part not in fields and not hasattr(target, part)
            if not hasattr(target, part):
                return True
            target = getattr(target, part)
        return False
    return True


def missing(*dotted: str) -> list[str]:
    """The names of ``dotted`` the generated code lacks."""
    return [name for name in dotted if lacks(name)]


def requires_generated(*dotted: str) -> pytest.MarkDecorator:
    """Skip where the generated code lacks any of ``dotted`` (names under runbind_generated)."""
    absent = missing(*dotted)
    where = spec_commit(absent[0]) if absent else ""
    reason = f"the spec version in use ({where}) has no {', '.join(absent)}"
    return pytest.mark.skipif(bool(absent), reason=reason)


def requires_locked_spec(source: str) -> pytest.MarkDecorator:
    """Skip unless the generated code was built from the committed lock's commit of ``source``:
    for tests that check the generated code or the emulator against that lock's spec files."""
    from codegen import lock  # noqa: PLC0415 - only the tests that need it load the pipeline

    committed = lock.load().source(source).commit
    provenance: dict[str, dict[str, str]] = importlib.import_module(ROOT).__provenance__
    in_use = provenance.get(source, {}).get("commit", "?")
    reason = f"reads the committed lock's {source} spec ({committed}); the code in use is {in_use}"
    return pytest.mark.skipif(in_use != committed, reason=reason)


class _Absent:
    """Stands in for a generated class the spec version lacks: a test that builds, reads or
    checks against it is skipped on the spot, the missing name and spec commit its reason."""

    def __init__(self, dotted: str) -> None:
        self._dotted = dotted

    def _skip(self) -> Any:
        spec = spec_commit(self._dotted)
        pytest.skip(f"the spec version in use ({spec}) has no {self._dotted}")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # introspection (pytest's collection, copy, pickle)
            raise AttributeError(name)
        return self._skip()

    def __call__(self, *args: object, **kwargs: object) -> Any:
        return self._skip()

    def __instancecheck__(self, instance: object) -> bool:
        return bool(self._skip())


def generated(module: str, name: str) -> Any:
    """``module.name`` from the generated code, or a stand-in when the spec version lacks it."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return _Absent(f"{module}.{name}")
