"""A scratch specs mirror for the bump tests: the real mirror's commits, symlinked, beside the
synthetic commits a test builds from them; served with the network off."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codegen.fetch import DEFAULT_MIRROR, MIRROR_ENV, NETWORK_ENV


def link_mirror(root: Path) -> list[dict[str, Any]]:
    """Symlink every commit of the real mirror under ``root``; the real index's entries."""
    real = Path(os.environ.get(MIRROR_ENV) or DEFAULT_MIRROR)
    index: list[dict[str, Any]] = json.loads((real / "index.json").read_text(encoding="utf-8"))
    for entry in index:
        owner_repo = "/".join(entry["upstream"].rstrip("/").split("/")[-2:])
        (root / owner_repo).mkdir(parents=True, exist_ok=True)
        (root / owner_repo / entry["commit"]).symlink_to(real / owner_repo / entry["commit"])
    return index


def synthetic(upstream: str, commit: str, date: str) -> dict[str, Any]:
    """The index entry of a commit a test made (no file hashes: the lock records them)."""
    owner_repo = "/".join(upstream.rstrip("/").split("/")[-2:])
    return {
        "upstream": upstream,
        "commit": commit,
        "committed": date,
        "role": "synthetic",
        "path": f"{owner_repo}/{commit}",
        "files": {},
    }


@contextlib.contextmanager
def offline(root: Path, index: list[dict[str, Any]]) -> Iterator[Path]:
    """Write ``index`` and make ``root`` the mirror, with the network off, while it lasts."""
    (root / "index.json").write_text(json.dumps(index, indent=1), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(MIRROR_ENV, str(root))
        patch.setenv(NETWORK_ENV, "0")
        yield root


def copy_files(src: Path, dest: Path) -> None:
    """Copy every file under ``src`` (bytes only: the mirror's files are read-only)."""
    for path in sorted(src.rglob("*")):
        if path.is_file():
            out = dest / path.relative_to(src)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(path.read_bytes())


def replace_once(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in ``path``; fail if it is not there exactly once."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (path.name, old)
    path.write_text(text.replace(old, new), encoding="utf-8")
