"""Breaking changes since the last release must be accepted, or covered by a MAJOR bump.

``specs/baseline/<source>.txt`` is the surface index the last release shipped (written by
``python -m codegen baseline`` when releasing, together with ``specs/baseline/version``).
``check`` compares it with the current surface and adds the ``buf breaking`` findings that the
bumps since the release recorded in ``specs/surface/<source>.buf.json`` (merged with the surface
lines: one line per change); every breaking change must be listed in
``specs/accepted-breaks.toml`` unless the package's MAJOR version is above the baseline's. A
protobuf bump made without buf, or a lock moved without a bump, leaves buf's view unknown:
that is a problem too, until a bump with buf records it.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

from codegen.errors import CodegenError
from codegen.lock import PROJECT_ROOT, load
from codegen.report import Change, Finding, diff_surfaces, merge, unaccepted

__all__ = [
    "accepted",
    "baseline",
    "gate_findings",
    "gate_path",
    "package_version",
    "problems",
    "read_gate",
]

ACCEPTED = "specs/accepted-breaks.toml"
BASELINE = "specs/baseline"
SURFACE = "specs/surface"


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


# --- buf's findings since the release ------------------------------------------------------


def gate_path(surface_dir: Path, name: str) -> Path:
    """``specs/surface/<source>.buf.json``: buf's findings since the last release, for check."""
    return surface_dir / f"{name}.buf.json"


def read_gate(path: Path) -> dict[str, object] | None:
    """The recorded buf findings (``since``, ``at``, ``findings``), or None without a file."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise CodegenError(f"breaks: {path.name}: {exc}") from None
    if not isinstance(data, dict):
        raise CodegenError(f"breaks: {path.name} is not a JSON object")
    return data


def gate_findings(data: dict[str, object]) -> list[Finding] | None:
    """The findings of a gate record (None: the bump ran without buf)."""
    items = data.get("findings")
    if items is None:
        return None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise CodegenError("breaks: the findings of a .buf.json file are not a list of objects")
    try:
        return [Finding(**item) for item in items]
    except TypeError as exc:
        raise CodegenError(f"breaks: a .buf.json finding is malformed: {exc}") from None


def _locked_commit(root: Path, name: str) -> str | None:
    path = root / "specs" / "lock.toml"
    if not path.is_file():
        return None
    lock = load(path)
    return lock.sources[name].commit if name in lock.sources else None


def _recorded(root: Path, name: str) -> tuple[list[Finding], list[str]]:
    """buf's findings since the release for ``name``, and why they cannot be trusted (if so)."""
    rel = f"{SURFACE}/{name}.buf.json"
    data = read_gate(root / rel)
    if data is None:
        return [], []
    issues = []
    since = data.get("since")
    start = str(since.get("commit", "?")) if isinstance(since, dict) else "?"
    at, locked = str(data.get("at", "")), _locked_commit(root, name)
    if locked is not None and at != locked:
        issues.append(
            f"check: {rel} records buf's findings up to {at[:12]}, but the lock has {name} at "
            f"{locked[:12]}; move it with `nox -s bump` (which runs buf)"
        )
    findings = gate_findings(data)
    if findings is None:
        issues.append(
            f"check: buf breaking has not compared {name} since {start[:12]} (a bump ran "
            "without buf); re-run it with `nox -s bump` or RUNBIND_BUF set"
        )
    return findings or [], issues


# --- the gate ------------------------------------------------------------------------------


def _covered_by_major(root: Path) -> bool | None:
    """None without a baseline (nothing to compare), else whether the MAJOR version moved."""
    version_file = root / BASELINE / "version"
    if not version_file.is_file():
        return None
    return _major(package_version(root)) > _major(version_file.read_text(encoding="utf-8").strip())


def since_release(root: Path = PROJECT_ROOT) -> dict[str, list[Change]]:
    """Per source, every change since the baseline: surface diff and buf's findings merged."""
    base = root / BASELINE
    found: dict[str, list[Change]] = {}
    names = {p.stem for p in base.glob("*.txt")}
    names |= {p.name.removesuffix(".buf.json") for p in (root / SURFACE).glob("*.buf.json")}
    for name in sorted(names):
        old, current = base / f"{name}.txt", root / SURFACE / f"{name}.txt"
        old_text = old.read_text(encoding="utf-8") if old.is_file() else ""
        new_text = current.read_text(encoding="utf-8") if current.is_file() else ""
        findings, _ = _recorded(root, name)
        found[name] = merge(diff_surfaces(old_text, new_text), findings)
    return found


def unaccepted_changes(root: Path = PROJECT_ROOT) -> dict[str, list[Change]]:
    """Per source, the breaking changes since the baseline that nothing allows."""
    if _covered_by_major(root) is not False:
        return {}  # no baseline, or a MAJOR release, which may break anything
    allowed = accepted(root)
    found = {}
    for name, changes in since_release(root).items():
        bad = unaccepted(changes, allowed)
        if bad:
            found[name] = bad
    return found


def problems(root: Path = PROJECT_ROOT) -> list[str]:
    """One line per unaccepted breaking change, or unknown buf view (empty when releasable)."""
    if _covered_by_major(root) is not False:
        return []
    out = []
    for path in sorted((root / SURFACE).glob("*.buf.json")):
        out += _recorded(root, path.name.removesuffix(".buf.json"))[1]
    out += [
        f"check: unaccepted breaking change in {source}: {change.key} "
        f"(add it to {ACCEPTED} with a reason, or bump the MAJOR version)"
        for source, changes in unaccepted_changes(root).items()
        for change in changes
    ]
    return out


def baseline(root: Path = PROJECT_ROOT) -> str:
    """Record the current surface and version as the released baseline; the version.

    buf's findings since the previous release are part of what is released, so they go.
    """
    base = root / BASELINE
    base.mkdir(parents=True, exist_ok=True)
    for old in base.glob("*.txt"):
        old.unlink()
    for surface in sorted((root / SURFACE).glob("*.txt")):
        shutil.copyfile(surface, base / surface.name)
    for gate in (root / SURFACE).glob("*.buf.json"):
        gate.unlink()
    version = package_version(root)
    (base / "version").write_text(version + "\n", encoding="utf-8")
    return version
