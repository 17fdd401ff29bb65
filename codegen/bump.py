"""``bump``: move one upstream source to another commit and report what changed, atomically.

Steps: relock (commit, date, file list, hashes), sync, regenerate, rewrite the surface index,
compare the old and new surface (:mod:`codegen.report`), run ``buf breaking`` for protobuf
sources when buf is available and merge its findings into the surface lines, record the buf
findings since the last release for ``check`` (``specs/surface/<source>.buf.json``), write the
report (Markdown and JSON) under ``specs/changes/<source>/`` and a CHANGELOG entry.

After regenerating, the bump proves runbind's layer against the new code (:mod:`codegen.layer`);
the report's "Effect on runbind" says what broke. A bump that breaks the layer is rolled back,
its report kept as ``specs/changes/<source>/<old>-<new>.refused.{md,json}`` (written after the
rollback, so that the maintainer can read what broke); ``allow_broken_layer`` adopts it anyway
and leaves ``specs/broken-layer.json``, which makes ``check`` fail until the layer passes.

All or nothing, also under SIGTERM and SIGINT: before anything is written, a journal
(``generated/.bump-journal``) keeps the lock, surface, CHANGELOG, naming map and report files
and the generated package; any failure or signal rolls back from it with signals blocked, and a
bump killed outright (SIGKILL, power loss) is rolled back by the next bump before it starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from codegen import eol, pipeline, report
from codegen import layer as layermod
from codegen import lock as lockmod
from codegen._stages import reached
from codegen.breaks import gate_path, read_gate
from codegen.errors import CodegenError
from codegen.fetch import fetch_source, mirror_root

__all__ = [
    "BUF_ENV",
    "CHANGELOG",
    "CHANGES_DIR",
    "Interrupted",
    "bump",
    "commit_date",
    "recover",
    "write_changelog",
]

CHANGES_DIR = lockmod.PROJECT_ROOT / "specs" / "changes"
CHANGELOG = lockmod.PROJECT_ROOT / "CHANGELOG.md"
BUF_ENV = "RUNBIND_BUF"
"""Path of the ``buf`` binary; without it, protobuf reports rely on the surface comparison."""
_BUF_CONFIG = json.dumps({"version": "v2", "breaking": {"use": ["PACKAGE"]}})
_CHANGELOG_HEAD = "# Changelog\n\nEvery release names the upstream commits it was generated from.\n"
JOURNAL = pipeline.JOURNAL
"""The journal folder inside ``generated/`` (git-ignored with the rest of it)."""
_NO_BUF = (
    "buf breaking was not run (no --buf, no $RUNBIND_BUF): protobuf breaks that only buf sees, "
    "such as a changed json_name, are not in this report and `check` fails until a bump with "
    "buf records them."
)


class Interrupted(BaseException):
    """SIGTERM or SIGINT arrived during a bump (raised by the handler; rolled back)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def commit_date(repository: str, commit: str) -> str:
    """The commit date the mirror's index.json records (else a CodegenError asking for it)."""
    root = mirror_root()
    index = root / "index.json" if root is not None else None
    if index is not None and index.is_file():
        for entry in json.loads(index.read_text(encoding="utf-8")):
            if entry.get("commit") == commit and entry.get("upstream") == repository:
                return str(entry["committed"])
    raise CodegenError(f"bump: no date known for {commit[:12]}; pass it (YYYY-MM-DD)")


# --- signals and the journal -------------------------------------------------------------------

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def _install_handlers() -> dict[int, Any]:
    """Make SIGTERM and SIGINT raise :class:`Interrupted`; the handlers they replace.

    Only the main thread can install handlers; elsewhere nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, _raise) for sig in _SIGNALS}


def _restore_handlers(handlers: dict[int, Any]) -> None:
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Hold SIGTERM and SIGINT until the block is done (they are delivered after it)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


_OUTPUT = (pipeline.PACKAGE, pipeline.STAMP_NAME)
"""What the journal moves aside from ``generated/`` (the rest of it a bump never touches)."""


@dataclasses.dataclass(frozen=True)
class _Journal:
    """What a bump may change, kept so that it can be put back (``generated/.bump-journal``).

    ``files.json`` maps each project file (relative to the root) to its saved copy, or to None
    when it did not exist; ``runbind_generated`` and ``.stamp.json`` are the generated output,
    moved aside (one rename each) before the pipeline builds the new one.
    """

    root: Path

    @property
    def generated(self) -> Path:
        return self.root / "generated"

    @property
    def path(self) -> Path:
        return self.generated / JOURNAL

    def open(self, files: list[Path], dirs: list[Path], note: str) -> None:
        """Save ``files`` into a fresh journal, made valid by one rename at the end; ``dirs``
        (parents first) that do not exist yet are removed again by a rollback when empty."""
        self.discard_partial()
        tmp = self.generated / f"{JOURNAL}.tmp"
        (tmp / "files").mkdir(parents=True)
        table: dict[str, str | None] = {}
        for index, path in enumerate(files):
            rel = path.relative_to(self.root).as_posix()
            if path.is_file():
                shutil.copyfile(path, tmp / "files" / str(index))
                table[rel] = str(index)
            else:
                table[rel] = None
        missing = [d.relative_to(self.root).as_posix() for d in dirs if not d.is_dir()]
        present = [n for n in _OUTPUT if (self.generated / n).exists()]
        data = {"bump": note, "files": table, "new_dirs": missing, "generated": present}
        (tmp / "files.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        tmp.rename(self.path)
        reached("journal")
        for name in _OUTPUT:
            if (self.generated / name).exists():
                (self.generated / name).rename(self.path / name)

    def discard_partial(self) -> None:
        """Remove a journal that was never completed, or one already committed."""
        for name in (f"{JOURNAL}.tmp", f"{JOURNAL}.done"):
            shutil.rmtree(self.generated / name, ignore_errors=True)

    def roll_back(self) -> str:
        """Put every journaled file and the generated output back; idempotent. The bump note."""
        data = json.loads((self.path / "files.json").read_text(encoding="utf-8"))
        reached("rollback")
        for rel, saved in data["files"].items():
            target = self.root / rel
            if saved is None:
                target.unlink(missing_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.rollback")
            shutil.copyfile(self.path / "files" / saved, tmp)
            tmp.replace(target)
        for rel in reversed(data.get("new_dirs", [])):
            with contextlib.suppress(OSError):  # not empty: something else put a file there
                (self.root / rel).rmdir()
        for name in _OUTPUT:
            kept, live = self.path / name, self.generated / name
            existed = name in data.get("generated", _OUTPUT)
            if kept.exists() or not existed:  # else it was never moved: it is the old one
                if live.is_dir():
                    shutil.rmtree(live)
                else:
                    live.unlink(missing_ok=True)
            if kept.exists():
                kept.rename(live)
        _clean_builds(self.generated)
        self.close()
        return str(data.get("bump", ""))

    def close(self) -> None:
        """Drop the journal: one rename makes it void, then it is deleted."""
        done = self.generated / f"{JOURNAL}.done"
        shutil.rmtree(done, ignore_errors=True)
        self.path.rename(done)
        shutil.rmtree(done, ignore_errors=True)


def _clean_builds(generated: Path) -> None:
    for folder in generated.glob(".build-*"):
        shutil.rmtree(folder, ignore_errors=True)


def recover(root: Path = lockmod.PROJECT_ROOT) -> str | None:
    """Roll back a bump that was killed before it could (its journal is still there).

    Returns the interrupted bump's description, or None when there was nothing to do.
    """
    journal = _Journal(root)
    journal.discard_partial()
    if not journal.path.is_dir():
        return None
    with _signals_blocked():
        return journal.roll_back()


@contextlib.contextmanager
def _all_or_nothing(root: Path, files: list[Path], dirs: list[Path], note: str) -> Iterator[None]:
    """Journal ``files`` and ``generated/``; roll back on any failure or signal, else commit.

    Signals raise :class:`Interrupted` inside the block. The rollback and the commit run with
    them blocked and put the old handlers back before unblocking, so a second signal can cut
    neither short, and one that arrives during the commit meets the old handler.
    """
    journal = _Journal(root)
    handlers: dict[int, Any] = {}
    committed = False
    try:
        handlers = _install_handlers()
        journal.open(files, dirs, note)
        yield
        with _signals_blocked():
            _clean_builds(journal.generated)
            journal.close()
            committed = True
            _restore_handlers(handlers)
    except BaseException:
        with _signals_blocked():
            if not committed and journal.path.is_dir():
                journal.roll_back()
            elif not committed:
                journal.discard_partial()
            _restore_handlers(handlers)
        raise


# --- buf -------------------------------------------------------------------------------------


def _package(paths: list[Path]) -> str:
    for path in paths:
        if path.is_file():
            found = re.search(r"^\s*package\s+([\w.]+)\s*;", path.read_text(encoding="utf-8"), re.M)
            if found:
                return found.group(1)
    return ""


def _spec_dir(source: lockmod.Source, dest: Path, role: str) -> Path:
    try:
        return fetch_source(source, dest)
    except CodegenError as exc:
        raise CodegenError(
            f"bump: buf compares the {role} commit with the new one, so the {role} commit "
            f"{source.commit[:12]} of {source.name} is needed too: {str(exc).splitlines()[0]}"
        ) from None


def _buf_findings(
    old: lockmod.Source, new: lockmod.Source, new_dir: Path, buf: str, role: str = "old"
) -> list[report.Finding]:
    """``buf breaking`` of ``new`` against ``old`` (PACKAGE rules), one Finding per line."""
    from codegen import protos  # noqa: PLC0415 - generator imports stay off the no-op path

    with tempfile.TemporaryDirectory(prefix="runbind-buf-") as tmp:
        old_dir = _spec_dir(old, Path(tmp) / "upstream", role)
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
        findings = set()
        for line in proc.stdout.splitlines():
            if line.strip():
                item = json.loads(line)
                path = str(item.get("path", ""))
                package = _package([new_dir / path, old_dir / path])
                rule, message = str(item.get("type", "BREAKING")), str(item.get("message", ""))
                findings.add(report.Finding("buf", rule, path, message, package))
    return sorted(findings)


def _write_gate(
    path: Path, since: lockmod.Source, at: str, findings: list[report.Finding] | None
) -> None:
    data = {
        "source": since.name,
        "since": {"commit": since.commit, "date": since.committed},
        "at": at,
        "findings": None if findings is None else [dataclasses.asdict(f) for f in findings],
    }
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _gate(
    old: lockmod.Source,
    new: lockmod.Source,
    new_dir: Path,
    tool: str | None,
    surface_dir: Path,
    findings: list[report.Finding] | None,
) -> None:
    """Record buf's findings from the commit of the last release (or the first bump since it)
    to the new commit, so that ``check`` gates them like the surface's breaks."""
    path = gate_path(surface_dir, new.name)
    recorded = read_gate(path)
    start = recorded.get("since") if recorded is not None else None
    since = old
    if isinstance(start, dict) and start.get("commit") != old.commit:
        since = dataclasses.replace(
            old, commit=str(start["commit"]), committed=str(start["date"]), files={}
        )
        if tool:
            role = "last release's"
            try:
                moved = lockmod.relock(
                    lockmod.Lock({}, {old.name: old}), old.name, since.commit, since.committed
                )
            except CodegenError as exc:
                raise CodegenError(
                    f"bump: buf compares the {role} commit with the new one, so the {role} "
                    f"commit {since.commit[:12]} of {old.name} is needed too: "
                    f"{str(exc).splitlines()[0]}"
                ) from None
            findings = _buf_findings(moved.source(old.name), new, new_dir, tool, role=role)
    _write_gate(path, since, new.commit, findings if tool else None)


# --- report and changelog ----------------------------------------------------------------------
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


def write_changelog(entry: report.Report, path: Path = CHANGELOG, *, notable: bool = False) -> None:
    """Add the report as an entry under ``## Unreleased`` (created when missing).

    A bump that changed nothing in the generated API adds no entry, unless it is ``notable``
    otherwise (it froze an end-of-life part, whose note the entry carries).
    """
    if not entry.changes and not notable:
        return
    text = path.read_text(encoding="utf-8") if path.is_file() else _CHANGELOG_HEAD
    lines = [
        f"### {entry.source}: {entry.old_commit[:12]} ({entry.old_date}) → "
        f"{entry.new_commit[:12]} ({entry.new_date}), implies {entry.bump.upper()}",
        "",
        *[c.line() for c in entry.changes if c.breaking],
        *[c.line() for c in entry.changes if not c.breaking],
        *(["", *entry.notes] if entry.notes else []),
        "",
        f"Full report: `specs/changes/{entry.source}/"
        f"{entry.old_commit[:12]}-{entry.new_commit[:12]}.md`.",
        "",
        "",
    ]
    marker = "## Unreleased\n"
    if marker in text:
        head, _, rest = text.partition(marker)
        text = head + marker + "\n" + "\n".join(lines) + rest.lstrip("\n")
    else:
        head, sep, rest = text.partition("\n## ")
        text = head.rstrip("\n") + "\n\n" + marker + "\n" + "\n".join(lines)
        text += f"## {rest}" if sep else ""
    text = text.rstrip("\n") + "\n"
    path.write_text(text, encoding="utf-8")


def _report(
    old: lockmod.Source,
    new: lockmod.Source,
    old_surface: str,
    new_surface: str,
    findings: list[report.Finding] | None,
) -> report.Report:
    changes = report.diff_surfaces(old_surface, new_surface)
    compared: tuple[str, ...] = (report.SURFACE,)
    notes: tuple[str, ...] = ()
    if findings is not None:
        changes = report.merge(changes, findings)
        compared += ("buf",)
    elif new.kind == "proto":
        notes = (_NO_BUF,)
    return report.Report(
        source=new.name,
        repository=old.repository,
        old_commit=old.commit,
        old_date=old.committed,
        new_commit=new.commit,
        new_date=new.committed,
        changes=changes,
        findings=findings or [],
        compared=compared,
        notes=notes,
    )


def _bump(
    name: str,
    commit: str,
    committed: str | None = None,
    *,
    buf: str | None = None,
    root: Path = lockmod.PROJECT_ROOT,
    layer: _LayerOptions = _LayerOptions(),
) -> report.Report:
    """The bump itself (see :func:`bump`); a journal left by a bump that was killed is rolled
    back first (:func:`recover`)."""
    recover(root)
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
    surfaces = sorted({*surface_dir.glob("*.txt"), gate_path(surface_dir, name)})
    if old.kind == "openapi":  # upstream removed a whole part of the slice: report, propose
        old_dir = fetch_source(old, root / "specs" / "upstream")
        removal = eol.removed_parts(old, commit, date, old_dir)
        if removal is not None:
            raise eol.write_removal(removal, changes_dir, root)
    names_file = root / "specs" / "openai-names.toml"
    refused = [p.with_suffix(".refused" + p.suffix) for p in outputs]
    kept = [*outputs, *refused, root / layermod.MARKER]  # layer proof: reports and marker
    files = [lock_path, changelog, names_file, *surfaces, *kept]
    generated.mkdir(parents=True, exist_ok=True)
    dirs = [changes_dir.parent, changes_dir]
    with _all_or_nothing(root, files, dirs, f"{name} {old.commit[:12]} -> {commit[:12]}"):
        new_lock = lockmod.relock(lock, name, commit, date)
        lockmod.write(new_lock, lock_path)
        reached("relock")
        upstream = root / "specs" / "upstream"
        naming = _generate_cleaning_names(root, names_file)
        reached("generated")
        new = new_lock.source(name)
        tool = buf or os.environ.get(BUF_ENV)
        findings = None
        if new.kind == "proto":
            new_dir = upstream / name
            if tool:
                findings = _buf_findings(old, new, new_dir, tool)
            _gate(old, new, new_dir, tool, surface_dir, findings)
            reached("buf")
        new_surface = surface_path.read_text(encoding="utf-8")
        result = _report(old, new, old_surface, new_surface, findings)
        result = dataclasses.replace(result, naming=naming)
        if layer.prove:
            result = _prove_layer(result, root, layer, outputs)
        reached("layer")
        for path in refused:  # an earlier refusal of this bump, adopted now
            path.unlink(missing_ok=True)
        changes_dir.mkdir(parents=True, exist_ok=True)
        outputs[0].write_text(result.markdown(), encoding="utf-8")
        outputs[1].write_text(result.to_json(), encoding="utf-8")
        reached("report")
        frozen = eol.frozen_now(old)
        write_changelog(result, changelog, notable=bool(frozen))
        eol.note_in_changelog(changelog, name, frozen, old)
        reached("changelog")
    return result
