"""Breaking changes since the last release must be accepted, or covered by a MAJOR bump.

``specs/baseline/<source>.txt`` is the surface index the last release shipped (written by
``python -m codegen baseline`` when releasing, together with ``specs/baseline/version``).
``check`` compares it with the current surface; every breaking change must be listed in
``specs/accepted-breaks.toml`` unless the package's MAJOR version is above the baseline's.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from codegen.errors import CodegenError
from codegen.lock import PROJECT_ROOT
from codegen.report import Change, diff_surfaces, unaccepted

__all__ = ["accepted", "baseline", "package_version", "problems"]

ACCEPTED = "specs/accepted-breaks.toml"
BASELINE = "specs/baseline"


def package_version(root: Path = PROJECT_ROOT) -> str:
    """``[project] version`` of pyproject.toml."""
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    return str(data["project"]["version"])


def _major(version: str) -> int:
    try:
        return int(version.split(".", 1)[0])
    except ValueError:
        raise CodegenError(f"breaks: version {version!r} is not SemVer") from None


def accepted(root: Path = PROJECT_ROOT) -> dict[str, str]:
    """``{change key: reason}`` of the accepted breaks (an error for a malformed file)."""
    path = root / ACCEPTED
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CodegenError(f"breaks: {ACCEPTED}: {exc}") from None
    out: dict[str, str] = {}
    for index, item in enumerate(data.get("accepted", [])):
        change, reason = item.get("change"), item.get("reason")
        if not isinstance(change, str) or not isinstance(reason, str) or not reason.strip():
            raise CodegenError(f"breaks: {ACCEPTED}: entry {index} needs `change` and `reason`")
        out[change] = reason
    return out


def unaccepted_changes(root: Path = PROJECT_ROOT) -> dict[str, list[Change]]:
    """Per source, the breaking changes since the baseline that nothing allows."""
    base = root / BASELINE
    version_file = base / "version"
    if not version_file.is_file():
        return {}
    if _major(package_version(root)) > _major(version_file.read_text(encoding="utf-8").strip()):
        return {}  # a MAJOR release may break anything
    allowed = accepted(root)
    found: dict[str, list[Change]] = {}
    for old in sorted(base.glob("*.txt")):
        current = root / "specs" / "surface" / old.name
        new_text = current.read_text(encoding="utf-8") if current.is_file() else ""
        changes = diff_surfaces(old.read_text(encoding="utf-8"), new_text)
        bad = unaccepted(changes, allowed)
        if bad:
            found[old.stem] = bad
    return found


def problems(root: Path = PROJECT_ROOT) -> list[str]:
    """One line per unaccepted breaking change (empty when releasable)."""
    return [
        f"check: unaccepted breaking change in {source}: {change.key} "
        f"(add it to {ACCEPTED} with a reason, or bump the MAJOR version)"
        for source, changes in unaccepted_changes(root).items()
        for change in changes
    ]


def baseline(root: Path = PROJECT_ROOT) -> str:
    """Record the current surface and version as the released baseline; the version."""
    base = root / BASELINE
    base.mkdir(parents=True, exist_ok=True)
    for old in base.glob("*.txt"):
        old.unlink()
    for surface in sorted((root / "specs" / "surface").glob("*.txt")):
        shutil.copyfile(surface, base / surface.name)
    version = package_version(root)
    (base / "version").write_text(version + "\n", encoding="utf-8")
    return version
