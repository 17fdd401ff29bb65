"""``bump``: move one upstream source to another commit and report what changed, atomically.

Steps: relock (commit, date, file list, hashes), sync, regenerate, rewrite the surface index,
compare the old and new surface (:mod:`codegen.report`), add ``buf breaking`` findings for
protobuf sources when buf is available, write the report (Markdown and JSON) under
``specs/changes/<source>/`` and a CHANGELOG entry. Any failure puts the lock, the surface
index, the CHANGELOG and ``generated/`` back as they were.

After regenerating, the bump proves runbind's layer against the new code (:mod:`codegen.layer`);
the report's "Effect on runbind" says what broke. A bump that breaks the layer is rolled back,
its report kept as ``specs/changes/<source>/<old>-<new>.refused.{md,json}`` (written after the
rollback, so that the maintainer can read what broke); ``allow_broken_layer`` adopts it anyway
and leaves ``specs/broken-layer.json``, which makes ``check`` fail until the layer passes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from codegen import eol, pipeline, report
from codegen import layer as layermod
from codegen import lock as lockmod
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


# --- the layer proof (codegen.layer) ----------------------------------------------------------


class _LayerRefused(Exception):
    """Raised inside the bump's rollback block; carries the report to keep after it."""

    def __init__(self, result: report.Report, path: Path) -> None:
        super().__init__("layer broken")
        self.result = result
        self.path = path


def _prove_layer(
    result: report.Report, root: Path, options: _LayerOptions, outputs: list[Path]
) -> report.Report:
    """Run the layer tests on the new ``generated/``; refuse (raise) or mark a broken layer."""
    effect = layermod.prove(root / "generated", tests=options.tests or layermod.LAYER_TESTS)
    if not effect.broken:
        (root / layermod.MARKER).unlink(missing_ok=True)
        return dataclasses.replace(result, effect=effect)
    if not options.allow_broken:
        refused = dataclasses.replace(result, effect=dataclasses.replace(effect, refused=True))
        raise _LayerRefused(refused, outputs[0].with_suffix(".refused.md"))
    effect = dataclasses.replace(effect, adopted_broken=True)
    rel = outputs[0].relative_to(root).as_posix()
    layermod.write_marker(root, result.source, result.new_commit, rel, effect)
    return dataclasses.replace(result, effect=effect)


def _keep_refused(exc: _LayerRefused, root: Path) -> CodegenError:
    """Write the refused bump's report beside the adopted ones; the error points at it."""
    result, md = exc.result, exc.path
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(result.markdown(), encoding="utf-8")
    md.with_suffix(".json").write_text(result.to_json(), encoding="utf-8")
    failures = result.effect.failures if result.effect is not None else ()
    names = layermod.missing_names(failures)
    hint = f", e.g. missing {names[0]}" if names else ""
    return CodegenError(
        f"bump: {result.source} {result.new_commit[:12]} breaks runbind's layer "
        f"({len(failures)} failing layer tests{hint}); not adopted, rolled back. "
        f'Report: {md.relative_to(root).as_posix()} (section "Effect on runbind"); '
        "to adopt it anyway: --allow-broken-layer"
    )


@dataclasses.dataclass(frozen=True)
class _LayerOptions:
    prove: bool = True
    allow_broken: bool = False
    tests: Sequence[str] | None = None


def bump(
    name: str,
    commit: str,
    committed: str | None = None,
    *,
    buf: str | None = None,
    root: Path = lockmod.PROJECT_ROOT,
    layer: bool = True,
    allow_broken_layer: bool = False,
    layer_tests: Sequence[str] | None = None,
) -> report.Report:
    """Move source ``name`` to ``commit`` and write its change report; all or nothing.

    With ``layer`` the new code must pass runbind's layer tests (``layer_tests``, default
    :data:`codegen.layer.LAYER_TESTS`): a bump that breaks them is rolled back with a
    CodegenError naming its kept report, unless ``allow_broken_layer``.
    """
    options = _LayerOptions(layer, allow_broken_layer, layer_tests)
    try:
        return _bump(name, commit, committed, buf=buf, root=root, layer=options)
    except _LayerRefused as exc:
        raise _keep_refused(exc, root) from None


def _generate_cleaning_names(root: Path, names_file: Path) -> list[str]:
    """Regenerate ``root``; naming map entries upstream made stale are removed (and listed)."""
    from codegen.openapi._shape import StaleNames  # noqa: PLC0415 - generator deps

    removed: list[str] = []
    for _ in range(3):
        try:
            pipeline.generate(
                generated_dir=root / "generated",
                surface_dir=root / "specs" / "surface",
                upstream_dir=root / "specs" / "upstream",
                lock_path=root / "specs" / "lock.toml",
                root=root,
            )
        except StaleNames as exc:
            removed += eol.remove_names(names_file, exc.names)
            continue
        return removed
    raise CodegenError("bump: the naming map kept going stale; see specs/openai-names.toml")


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


def _bump(
    name: str,
    commit: str,
    committed: str | None = None,
    *,
    buf: str | None = None,
    root: Path = lockmod.PROJECT_ROOT,
    layer: _LayerOptions = _LayerOptions(),
) -> report.Report:
    """The bump itself (see :func:`bump`)."""
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
    if old.kind == "openapi":  # upstream removed a whole part of the slice: report, propose
        old_dir = fetch_source(old, root / "specs" / "upstream")
        removal = eol.removed_parts(old, commit, date, old_dir)
        if removal is not None:
            raise eol.write_removal(removal, changes_dir, root)
    names_file = root / "specs" / "openai-names.toml"
    refused = [p.with_suffix(".refused" + p.suffix) for p in outputs]
    kept = [*outputs, *refused, root / layermod.MARKER]  # layer proof: reports and marker
    with _restored_on_failure([lock_path, changelog, names_file, *surfaces, *kept], generated):
        new_lock = lockmod.relock(lock, name, commit, date)
        lockmod.write(new_lock, lock_path)
        upstream = root / "specs" / "upstream"
        naming = _generate_cleaning_names(root, names_file)
        new = new_lock.source(name)
        result = report.Report(
            source=name,
            repository=old.repository,
            old_commit=old.commit,
            old_date=old.committed,
            new_commit=new.commit,
            new_date=new.committed,
            changes=report.diff_surfaces(old_surface, surface_path.read_text(encoding="utf-8")),
            naming=naming,
        )
        tool = buf or os.environ.get(BUF_ENV)
        if tool and new.kind == "proto":
            new_dir = upstream / name
            findings = _buf_findings(old, new, new_dir, tool)
            result = dataclasses.replace(result, tool_findings=findings)
        if layer.prove:
            result = _prove_layer(result, root, layer, outputs)
        for path in refused:  # an earlier refusal of this bump, adopted now
            path.unlink(missing_ok=True)
        changes_dir.mkdir(parents=True, exist_ok=True)
        outputs[0].write_text(result.markdown(), encoding="utf-8")
        outputs[1].write_text(result.to_json(), encoding="utf-8")
        write_changelog(result, changelog)
        eol.note_in_changelog(changelog, name, eol.frozen_now(old), old)
    return result
