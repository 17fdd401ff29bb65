"""``bump``: move one upstream source to another commit and report what changed, atomically.

Steps: relock (commit, date, file list, hashes), sync, regenerate, rewrite the surface index,
compare the old and new surface (:mod:`codegen.report`), add ``buf breaking`` findings for
protobuf sources when buf is available, write the report (Markdown and JSON) under
``specs/changes/<source>/`` and a CHANGELOG entry. Any failure puts the lock, the surface
index, the CHANGELOG and ``generated/`` back as they were.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from codegen import lock as lockmod
from codegen import pipeline, report
from codegen.errors import CodegenError
from codegen.fetch import fetch_source, mirror_root

__all__ = ["BUF_ENV", "CHANGELOG", "CHANGES_DIR", "bump", "commit_date", "write_changelog"]

CHANGES_DIR = lockmod.PROJECT_ROOT / "specs" / "changes"
CHANGELOG = lockmod.PROJECT_ROOT / "CHANGELOG.md"
BUF_ENV = "RUNBIND_BUF"
"""Path of the ``buf`` binary; without it, protobuf reports rely on the surface comparison."""
_BUF_CONFIG = json.dumps({"version": "v2", "breaking": {"use": ["PACKAGE"]}})
_CHANGELOG_HEAD = "# Changelog\n\nEvery release names the upstream commits it was generated from.\n"


def commit_date(repository: str, commit: str) -> str:
    """The commit date the mirror's index.json records (else a CodegenError asking for it)."""
    root = mirror_root()
    index = root / "index.json" if root is not None else None
    if index is not None and index.is_file():
        for entry in json.loads(index.read_text(encoding="utf-8")):
            if entry.get("commit") == commit and entry.get("upstream") == repository:
                return str(entry["committed"])
    raise CodegenError(f"bump: no date known for {commit[:12]}; pass it (YYYY-MM-DD)")


@contextlib.contextmanager
def _restored_on_failure(paths: list[Path], tree: Path) -> Iterator[None]:
    """Put ``paths`` (files) and ``tree`` (a folder) back as they were if the block fails."""
    saved = {p: p.read_bytes() if p.is_file() else None for p in paths}
    with tempfile.TemporaryDirectory(prefix="runbind-bump-") as tmp:
        backup = Path(tmp) / "tree"
        if tree.is_dir():
            shutil.copytree(tree, backup, symlinks=True)
        try:
            yield
        except BaseException:
            for path, data in saved.items():
                if data is None:
                    path.unlink(missing_ok=True)
                else:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
            if backup.is_dir():
                shutil.rmtree(tree, ignore_errors=True)
                shutil.copytree(backup, tree, symlinks=True)
            raise


def _buf_findings(
    old: lockmod.Source, new: lockmod.Source, new_dir: Path, buf: str
) -> list[report.Change]:
    from codegen import protos  # noqa: PLC0415 - generator imports stay off the no-op path

    with tempfile.TemporaryDirectory(prefix="runbind-buf-") as tmp:
        old_dir = fetch_source(old, Path(tmp) / "upstream")
        images = {}
        for label, source, spec_dir in (("old", old, old_dir), ("new", new, new_dir)):
            image = Path(tmp) / f"{label}.binpb"
            protos.descriptor_set(spec_dir, protos.proto_files(spec_dir, source.include), image)
            images[label] = image
        args = [buf, "breaking", str(images["new"]), "--against", str(images["old"])]
        proc = subprocess.run(
            [*args, "--error-format", "json", "--config", _BUF_CONFIG],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode not in (0, 100):  # 100: breaking changes found
        raise CodegenError(f"bump: buf breaking failed: {proc.stderr.strip()[:300]}")
    findings = []
    for line in proc.stdout.splitlines():
        if line.strip():
            item = json.loads(line)
            subject = f"{item.get('path', '')}: {item.get('message', '')}"
            findings.append(report.Change(True, f"buf {item.get('type', 'BREAKING')}", subject))
    return sorted(findings)


def write_changelog(entry: report.Report, path: Path = CHANGELOG) -> None:
    """Add the report as an entry under ``## Unreleased`` (created when missing)."""
    text = path.read_text(encoding="utf-8") if path.is_file() else _CHANGELOG_HEAD
    lines = [
        f"### {entry.source}: {entry.old_commit[:12]} ({entry.old_date}) → "
        f"{entry.new_commit[:12]} ({entry.new_date}), implies {entry.bump.upper()}",
        "",
        *[c.line() for c in entry.all_changes if c.breaking],
        *[c.line() for c in entry.all_changes if not c.breaking],
        "",
        f"Full report: `specs/changes/{entry.source}/"
        f"{entry.old_commit[:12]}-{entry.new_commit[:12]}.md`.",
        "",
    ]
    marker = "## Unreleased\n"
    if marker in text:
        head, _, rest = text.partition(marker)
        text = head + marker + "\n" + "\n".join(lines) + rest.lstrip("\n")
    else:
        head, sep, rest = text.partition("\n## ")
        text = head.rstrip("\n") + "\n\n" + marker + "\n" + "\n".join(lines) + (sep + rest)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def bump(
    name: str,
    commit: str,
    committed: str | None = None,
    *,
    buf: str | None = None,
    root: Path = lockmod.PROJECT_ROOT,
) -> report.Report:
    """Move source ``name`` to ``commit`` and write its change report; all or nothing."""
    lock_path = root / "specs" / "lock.toml"
    surface_dir = root / "specs" / "surface"
    changes_dir = root / "specs" / "changes" / name
    changelog = root / "CHANGELOG.md"
    generated = root / "generated"
    lock = lockmod.load(lock_path)
    old = lock.source(name)
    if old.commit == commit:
        raise CodegenError(f"bump: {name} is already at {commit[:12]}")
    date = committed or commit_date(old.repository, commit)
    surface_path = surface_dir / f"{name}.txt"
    old_surface = surface_path.read_text(encoding="utf-8") if surface_path.is_file() else ""
    stem = f"{old.commit[:12]}-{commit[:12]}"
    outputs = [changes_dir / f"{stem}.md", changes_dir / f"{stem}.json"]
    surfaces = sorted(surface_dir.glob("*.txt"))
    with _restored_on_failure([lock_path, changelog, *surfaces, *outputs], generated):
        new_lock = lockmod.relock(lock, name, commit, date)
        lockmod.write(new_lock, lock_path)
        upstream = root / "specs" / "upstream"
        pipeline.generate(
            generated_dir=generated,
            surface_dir=surface_dir,
            upstream_dir=upstream,
            lock_path=lock_path,
            root=root,
        )
        new = new_lock.source(name)
        result = report.Report(
            source=name,
            repository=old.repository,
            old_commit=old.commit,
            old_date=old.committed,
            new_commit=new.commit,
            new_date=new.committed,
            changes=report.diff_surfaces(old_surface, surface_path.read_text(encoding="utf-8")),
        )
        tool = buf or os.environ.get(BUF_ENV)
        if tool and new.kind == "proto":
            new_dir = upstream / name
            findings = _buf_findings(old, new, new_dir, tool)
            result = dataclasses.replace(result, tool_findings=findings)
        changes_dir.mkdir(parents=True, exist_ok=True)
        outputs[0].write_text(result.markdown(), encoding="utf-8")
        outputs[1].write_text(result.to_json(), encoding="utf-8")
        write_changelog(result, changelog)
    return result
