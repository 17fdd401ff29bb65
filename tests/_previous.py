"""Generated code at the mirror's "previous" commits, in a folder of its own (``nox -s
tests_previous`` and the degradation tests).

``python -m tests._previous DEST [SOURCE ...]`` relocks each named source (default: every source
the mirror has a "previous" commit of) at that commit in a temp lock under ``DEST`` and runs the
pipeline there: ``DEST/generated`` holds ``runbind_generated``, ``DEST/specs/upstream/cloudapi``
the protos (for the tests that compile them with Google's protoc). The project's own lock,
surface and ``generated/`` are never touched.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from codegen import lock, pipeline
from codegen.fetch import DEFAULT_MIRROR, MIRROR_ENV, mirror_root
from codegen.lock import PROJECT_ROOT

__all__ = ["PREVIOUS_ROLE", "build", "previous_commits"]

PREVIOUS_ROLE = "previous"
_COPIED = ("openai-overlay.yaml", "openai-names.toml")


def previous_commits() -> dict[str, tuple[str, str]]:
    """``{source name: (commit, YYYY-MM-DD)}`` of the mirror's "previous" commits, matched to
    the lock's sources by repository."""
    root = mirror_root()
    if root is None or not (root / "index.json").is_file():
        raise RuntimeError(f"no specs mirror (set {MIRROR_ENV} or put it at {DEFAULT_MIRROR})")
    index = json.loads((root / "index.json").read_text(encoding="utf-8"))
    by_repo = {s.repository.rstrip("/"): name for name, s in lock.load().sources.items()}
    found: dict[str, tuple[str, str]] = {}
    for entry in index:
        name = by_repo.get(str(entry.get("upstream", "")).rstrip("/"))
        if entry.get("role") == PREVIOUS_ROLE and name is not None:
            found[name] = (str(entry["commit"]), str(entry["committed"]))
    return found


def build(dest: Path, sources: Sequence[str] = ()) -> dict[str, str]:
    """Generate under ``dest`` with ``sources`` (default: all with a previous commit) at their
    previous commits, the others at the locked ones; returns ``{source: commit}`` in use."""
    previous = previous_commits()
    names = list(sources) or sorted(previous)
    unknown = [n for n in names if n not in previous]
    if unknown:
        raise RuntimeError(f"no previous commit in the mirror for {', '.join(unknown)}")
    specs = dest / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    for rel in _COPIED:
        shutil.copyfile(PROJECT_ROOT / "specs" / rel, specs / rel)
    moved = lock.load()
    for name in names:
        moved = lock.relock(moved, name, *previous[name])
    lock.write(moved, specs / "lock.toml")
    pipeline.generate(
        root=dest,
        generated_dir=dest / "generated",
        surface_dir=specs / "surface",
        upstream_dir=specs / "upstream",
        lock_path=specs / "lock.toml",
    )
    return {name: source.commit for name, source in sorted(moved.sources.items())}


def main(argv: Sequence[str]) -> int:
    """CLI: build, then print one line per source and commit in use."""
    if not argv:
        print("usage: python -m tests._previous DEST [SOURCE ...]", file=sys.stderr)
        return 2
    for name, commit in build(Path(argv[0]), argv[1:]).items():
        print(f"previous: {name} at {commit}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
