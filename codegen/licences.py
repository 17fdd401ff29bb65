"""The upstream licence files the lock lists, copied into ``generated/licenses/`` for shipping.

``license-files`` in pyproject.toml names them, so the wheel's ``.dist-info/licenses/`` and the
sdist carry each upstream licence as published at the locked commit (verified by its sha256
when fetched). The build hook (hatch_build.py) and the release step call :func:`copy_licences`
before building, so that every build of a tree sees the same files from its start.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from codegen.lock import PROJECT_ROOT, Lock

__all__ = ["LICENSES_DIR", "copy_licences", "is_licence", "licence_name"]

LICENSES_DIR = PROJECT_ROOT / "generated" / "licenses"
_NAMES = ("LICENSE", "LICENCE", "COPYING", "NOTICE")


def is_licence(rel: str) -> bool:
    """Whether a locked file is a licence or notice file (by its base name)."""
    return rel.rsplit("/", 1)[-1].upper().startswith(_NAMES)


def licence_name(source: str, rel: str) -> str:
    """The flat file name of one upstream licence file: ``<source>-<path with - for />``."""
    return f"{source}-{rel.replace('/', '-')}"


def copy_licences(lock: Lock, dirs: Mapping[str, Path], out: Path = LICENSES_DIR) -> list[Path]:
    """Make ``out`` hold exactly the lock's licence files (from the fetched ``dirs``).

    Files already equal are left untouched, so that a second build sees the same tree.
    """
    out.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, bytes] = {}
    for name, source in sorted(lock.sources.items()):
        for rel in sorted(filter(is_licence, source.files)):
            wanted[licence_name(name, rel)] = (dirs[name] / rel).read_bytes()
    for stale in out.iterdir():
        if stale.name not in wanted:
            stale.unlink()
    for file_name, data in wanted.items():
        path = out / file_name
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
    return [out / file_name for file_name in wanted]
