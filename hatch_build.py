"""The build hook (hatchling's custom hook, PEP 517): no build of runbind is silently empty.

generated/ is git-ignored build output, so a checkout (``pip install git+…``) has none. When
the tree holds the code generator (``codegen/`` and ``specs/lock.toml``), a wheel or sdist
build first makes sure of two things, from the locked upstream specs (a mirror from
``RUNBIND_SPECS_MIRROR`` or ``../shared/specs-mirror``, else the locked GitHub archive, every
sha256 verified by ``codegen.fetch``):

- ``generated/runbind_generated`` exists (``codegen.pipeline.generate`` when it does not);
- the upstream licence files the lock lists are copied to ``generated/licenses/`` so that
  ``license-files`` ships them in the wheel and the sdist.

When the specs cannot be had, the build stops with one line saying what to set. An sdist has
no ``codegen/``: it carries the generated code and the licences, so this hook does nothing
there and installing it needs no specs. Editable installs are left alone (nox installs before
it generates). The generators (and the runtime dependencies, for the import check) are build
dependencies only when code is missing.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Generate from the lock when the tree has no generated code; copy the licences."""

    PLUGIN_NAME = "custom"

    @property
    def _root(self) -> Path:
        return Path(self.root)

    def _has_codegen(self) -> bool:
        return (self._root / "codegen" / "pipeline.py").is_file() and (
            self._root / "specs" / "lock.toml"
        ).is_file()

    def _has_generated(self) -> bool:
        return (self._root / "generated" / "runbind_generated" / "__init__.py").is_file()

    def dependencies(self) -> list[str]:
        """The pinned generators (the lock's ``[tools]``) and the runtime dependencies (the
        generated code is import-checked) when code must be generated."""
        if not self._has_codegen() or self._has_generated():
            return []
        lock = tomllib.loads((self._root / "specs" / "lock.toml").read_text(encoding="utf-8"))
        tools = [f"{name}=={version}" for name, version in sorted(lock["tools"].items())]
        return [*tools, *self.metadata.core.dependencies]

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Before the files are collected: generated code and licences in place, or one line."""
        if version == "editable" or not self._has_codegen():
            return
        root = str(self._root)
        if root not in sys.path:
            sys.path.insert(0, root)
        from codegen import fetch, licences, lock, pipeline  # noqa: PLC0415
        from codegen.errors import CodegenError, SyncError  # noqa: PLC0415

        try:
            locked = lock.load()
            if not self._has_generated():
                self.app.display_info("runbind: no generated code here, generating from the lock")
                pipeline.generate()
            dirs = fetch.fetch(locked)
        except SyncError as exc:
            sys.exit(_one_line(str(exc)))
        except CodegenError as exc:
            sys.exit(f"runbind build: {_first(str(exc))}")
        licences.copy_licences(locked, dirs, self._root / "generated" / "licenses")
        # The metadata may have globbed `license-files` before the copies existed (a fresh
        # checkout): glob again, or the sdist's PKG-INFO would not name the upstream licences.
        if hasattr(self.metadata.core, "_license_files"):
            self.metadata.core._license_files = None


def _first(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


def _one_line(cause: str) -> str:
    """The build's only error line when the specs cannot be had: why, and what to set."""
    return (
        f"runbind build: the locked upstream specs are unreachable ({_first(cause)}); "
        "set RUNBIND_SPECS_MIRROR to a specs mirror folder "
        "(<owner>/<repo>/<commit>/<path>), or allow network access to the locked GitHub archive"
    )
