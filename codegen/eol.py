"""End of life of an upstream API: removal reports, the lock marking, frozen generation.

Upstream may drop an API runbind generates from (OpenAI's Assistants API has a shutdown
date). A bump that finds every path of a slice part (``codegen/openapi/_spec.py``
``SlicePart``) gone, or the spec file itself gone, does not fail with one generator line: it
writes a removal report (``specs/changes/<source>/<old>-<new>.removal.{md,json}``: the
operations and schemas that went, the schemas that stay upstream) and exits non-zero
proposing the end-of-life marking, which ``python -m codegen end-of-life <source> <part>``
writes into ``specs/lock.toml``::

    [sources.openai-openapi.end-of-life.assistants]
    commit = "<the last commit that had it>"
    committed = "YYYY-MM-DD"

    [sources.openai-openapi.end-of-life.assistants.files]
    "openapi.yaml" = "<sha256>"

With the marking, generation composes the spec (:func:`compose`): the new commit's document
plus the frozen part's paths from the marked commit and every component they use that the new
document lacks. Components still upstream come from the new commit (they are shared with live
parts); the part's own models stay those of the last commit that had them, so runbind's layer
over them keeps working. The policy (docs/maintainers.md): frozen models keep working and the
release notes say which API is frozen at which commit.

Partial removals are handled by the bump too: naming map entries (``specs/openai-names.toml``)
whose inline schema upstream removed are deleted from the map, each listed in the report
(:func:`clean_names`).
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codegen import lock as lockmod
from codegen.errors import CodegenError

__all__ = [
    "Removal",
    "compose",
    "mark",
    "proposal",
    "removal_report",
    "remove_names",
    "removed_parts",
]

COMPOSED = ".composed"
"""Folder (under the source's upstream folder's parent) holding the composed spec."""


@dataclasses.dataclass(frozen=True)
class Removal:
    """What a new commit removed from the slice: whole parts, or the spec file."""

    source: lockmod.Source
    new_commit: str
    new_date: str
    parts: tuple[str, ...]
    spec_missing: bool
    operations: dict[str, list[str]]  # part -> "METHOD /path (operationId)"
    schemas_gone: dict[str, list[str]]  # part -> schemas not in the new commit
    schemas_kept: dict[str, list[str]]  # part -> schemas still upstream
    paths_gone: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    """Exact paths (``SlicePart.paths``) missing from a part that is otherwise still there."""


def _parts() -> list[Any]:
    from codegen.openapi._spec import SLICE  # noqa: PLC0415 - generator deps

    return list(SLICE)


def _load(path: Path) -> dict[str, Any]:
    from codegen.openapi._spec import load_spec  # noqa: PLC0415

    return load_spec(path)


def _frozen_source(source: lockmod.Source, part: str) -> lockmod.Source:
    eol = source.end_of_life[part]
    return dataclasses.replace(
        source,
        name=f"{source.name}.end-of-life.{part}",
        commit=eol.commit,
        committed=eol.committed,
        files=dict(eol.files),
        end_of_life={},
    )


def removed_parts(
    old: lockmod.Source, new_commit: str, new_date: str, old_dir: Path
) -> Removal | None:
    """The live parts of ``old``'s slice that ``new_commit`` removes (None when none does)."""
    from codegen.fetch import upstream_tree  # noqa: PLC0415
    from codegen.openapi._spec import HTTP_METHODS, _in_slice, slice_spec  # noqa: PLC0415

    if old.kind != "openapi":
        return None
    before = _load(old_dir / old.include[0])
    old_paths = before.get("paths") or {}
    # Only what the old commit had can be removed (an older spec may predate a part's API).
    live = [
        part
        for part in _parts()
        if part.name not in old.end_of_life and any(_in_slice(k, [part]) for k in old_paths)
    ]
    moved = dataclasses.replace(old, commit=new_commit, committed=new_date, files={})
    with upstream_tree(moved) as tree:
        spec_file = tree / old.include[0]
        new = _load(spec_file) if spec_file.is_file() else None
    new_paths = (new or {}).get("paths") or {}
    gone = [p for p in live if not any(_in_slice(path, [p]) for path in new_paths)]
    paths_gone = {
        p.name: [path for path in p.paths if path in old_paths and path not in new_paths]
        for p in live
        if p not in gone and any(path in old_paths and path not in new_paths for path in p.paths)
    }
    if not gone and not paths_gone:
        return None
    new_schemas = set(((new or {}).get("components") or {}).get("schemas") or {})
    operations, schemas_gone, schemas_kept = {}, {}, {}
    for part in gone:
        piece = slice_spec(before, [part])
        operations[part.name] = [
            f"{method.upper()} {path} ({item[method].get('operationId', '?')})"
            for path, item in piece["paths"].items()
            for method in HTTP_METHODS
            if isinstance(item, dict) and method in item
        ]
        names = sorted((piece["components"].get("schemas") or {}).keys())
        schemas_gone[part.name] = [n for n in names if n not in new_schemas]
        schemas_kept[part.name] = [n for n in names if n in new_schemas]
    return Removal(
        old,
        new_commit,
        new_date,
        tuple(p.name for p in gone),
        new is None,
        operations,
        schemas_gone,
        schemas_kept,
        paths_gone,
    )


def proposal(source: lockmod.Source, parts: Sequence[str]) -> str:
    """The exact lock edit that marks ``parts`` end-of-life at ``source``'s locked commit."""
    marked = {
        p: lockmod.EndOfLife(p, source.commit, source.committed, dict(source.files)) for p in parts
    }
    with_eol = dataclasses.replace(source, end_of_life={**source.end_of_life, **marked})
    text = lockmod.dumps(lockmod.Lock(tools={}, sources={source.name: with_eol}))
    start = text.index(f"[sources.{source.name}.end-of-life.")
    return text[start:]


def removal_report(removal: Removal) -> tuple[str, str]:
    """The removal report as (Markdown, JSON)."""
    src = removal.source
    parts = ", ".join(removal.parts)
    command = f"python -m codegen end-of-life {src.name} {' '.join(removal.parts)}"
    out = [
        f"# Removal report: {src.name} {src.commit[:12]} → {removal.new_commit[:12]}",
        "",
        f"Upstream `{src.repository}`: `{src.commit}` ({src.committed}) → "
        f"`{removal.new_commit}` ({removal.new_date}).",
        "",
    ]
    if removal.spec_missing:
        out += [f"`{src.include[0]}` is not in the new commit: the whole slice is gone.", ""]
    if removal.parts:
        out += [f"Upstream removed the slice part(s) **{parts}**. The bump was not made.", ""]
    for part, paths in sorted(removal.paths_gone.items()):
        out += [
            f"## Paths removed from {part}",
            "",
            f"The new commit lacks these exact paths of `{part}` (its `SlicePart.paths` in "
            "`codegen/openapi/_spec.py`). The bump was not made:",
            "",
            *[f"- `{path}`" for path in paths],
            "",
            "Next step: drop them from `SlicePart.paths` (their operations leave the surface: "
            "a breaking change the next report lists), then bump again.",
            "",
        ]
    if not removal.parts:
        data: dict[str, Any] = {
            "source": src.name,
            "from": {"commit": src.commit, "date": src.committed},
            "to": {"commit": removal.new_commit, "date": removal.new_date},
            "paths_removed": removal.paths_gone,
        }
        return "\n".join(out), json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    for part in removal.parts:
        ops, gone, kept = (
            removal.operations[part],
            removal.schemas_gone[part],
            removal.schemas_kept[part],
        )
        out += [f"## Removed: {part}", "", f"Operations removed ({len(ops)}):", ""]
        out += [f"- `{op}`" for op in ops] or ["- none"]
        out += ["", f"Schemas removed with them ({len(gone)}):", ""]
        out += [f"- `{name}`" for name in gone] or ["- none"]
        out += ["", f"Schemas they use that stay upstream (shared, kept live) ({len(kept)}):", ""]
        out += [f"- `{name}`" for name in kept] or ["- none"]
        out.append("")
    out += [
        "## Next step: end of life",
        "",
        f"Keep the models of {parts} frozen at `{src.commit[:12]}` (the last commit that had "
        "them; runbind's layer over them keeps working), then bump again:",
        "",
        f"    {command}",
        f"    python -m codegen bump {src.name} {removal.new_commit}",
        "",
        "The first command adds exactly this to `specs/lock.toml`:",
        "",
        "```toml",
        proposal(src, removal.parts).rstrip("\n"),
        "```",
        "",
        f"Say in the release notes that {parts} is end-of-life upstream and its models are "
        f"frozen at {src.commit[:12]} ({src.committed}).",
        "",
    ]
    full: dict[str, Any] = {
        "source": src.name,
        "repository": src.repository,
        "from": {"commit": src.commit, "date": src.committed},
        "to": {"commit": removal.new_commit, "date": removal.new_date},
        "spec_missing": removal.spec_missing,
        "removed_parts": list(removal.parts),
        "operations": removal.operations,
        "schemas_removed": removal.schemas_gone,
        "schemas_kept_upstream": removal.schemas_kept,
        "proposal": {"command": command, "lock": proposal(src, removal.parts)},
        "paths_removed": removal.paths_gone,
    }
    return "\n".join(out), json.dumps(full, indent=2, ensure_ascii=False) + "\n"


def write_removal(removal: Removal, changes_dir: Path, root: Path) -> CodegenError:
    """Write the removal report; the error (one line) names it and the next step."""
    stem = f"{removal.source.commit[:12]}-{removal.new_commit[:12]}.removal"
    changes_dir.mkdir(parents=True, exist_ok=True)
    markdown, data = removal_report(removal)
    md = changes_dir / f"{stem}.md"
    md.write_text(markdown, encoding="utf-8")
    md.with_suffix(".json").write_text(data, encoding="utf-8")
    parts = " ".join(removal.parts)
    what = f"{removal.source.include[0]} is gone" if removal.spec_missing else "paths removed"
    if not removal.parts:
        listed = ", ".join(p for paths in removal.paths_gone.values() for p in paths)
        return CodegenError(
            f"bump: {removal.source.name} {removal.new_commit[:12]} removes slice paths "
            f"{listed}; report: {md.relative_to(root).as_posix()}; next step: drop them from "
            "SlicePart.paths in codegen/openapi/_spec.py, then bump again"
        )
    return CodegenError(
        f"bump: {removal.source.name} {removal.new_commit[:12]} removes the slice part(s) "
        f"{parts} ({what}); report: {md.relative_to(root).as_posix()}; next step: "
        f"`python -m codegen end-of-life {removal.source.name} {parts}`, then bump again"
    )


def mark(lock_path: Path, name: str, parts: Sequence[str]) -> lockmod.Lock:
    """Mark ``parts`` of source ``name`` end-of-life at its locked commit; write the lock."""
    lock = lockmod.load(lock_path)
    source = lock.source(name)
    known = {part.name for part in _parts()}
    for part in parts:
        if source.kind != "openapi" or part not in known:
            raise CodegenError(f"end-of-life: {name} has no slice part {part!r}")
    marked = {
        p: source.end_of_life.get(p)
        or lockmod.EndOfLife(p, source.commit, source.committed, dict(source.files))
        for p in parts
    }
    moved = dataclasses.replace(source, end_of_life={**source.end_of_life, **marked})
    new = lockmod.Lock(tools=lock.tools, sources={**lock.sources, name: moved})
    lockmod.write(new, lock_path)
    return new


# --- generation with frozen parts -----------------------------------------------------------


def compose(source: lockmod.Source, spec_dir: Path) -> Path:
    """The spec to generate ``source`` from: its document plus the frozen parts (see above)."""
    import yaml  # noqa: PLC0415

    from codegen.fetch import fetch_source  # noqa: PLC0415
    from codegen.openapi._spec import _in_slice, slice_spec  # noqa: PLC0415

    spec_file = spec_dir / source.include[0]
    parts = {part.name: part for part in _parts()}
    doc: dict[str, Any] | None = _load(spec_file) if spec_file.is_file() else None
    for name in sorted(source.end_of_life):
        frozen_dir = fetch_source(_frozen_source(source, name), spec_dir.parent)
        frozen = _load(frozen_dir / source.include[0])
        if doc is None:
            doc = {k: v for k, v in frozen.items() if k not in ("paths", "components")}
            doc.update(paths={}, components={})
        part = parts[name]
        piece = slice_spec(frozen, [part])
        paths = {k: v for k, v in (doc.get("paths") or {}).items() if not _in_slice(k, [part])}
        doc["paths"] = {**paths, **piece["paths"]}
        components = doc.setdefault("components", {})
        for section, entries in piece["components"].items():
            have = components.setdefault(section, {})
            for key, value in entries.items():
                have.setdefault(key, value)
    if doc is None:
        raise CodegenError(f"end-of-life: {source.name}: {source.include[0]} is missing")
    out = spec_dir.parent / COMPOSED / source.name / source.include[0]
    out.parent.mkdir(parents=True, exist_ok=True)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(doc, Dumper=dumper, sort_keys=False, allow_unicode=True, width=1 << 16)
    if not out.is_file() or out.read_text(encoding="utf-8") != text:
        out.write_text(text, encoding="utf-8")
    return out


# --- the naming map ---------------------------------------------------------------------------


def remove_names(names_file: Path, entries: Sequence[str]) -> list[str]:
    """Delete ``entries`` (locations) from the naming map; one report line per deletion."""
    text = names_file.read_text(encoding="utf-8")
    tables = tomllib.loads(text)
    lines, removed = text.splitlines(keepends=True), []
    for loc in entries:
        pattern = re.compile(r'^\s*"' + re.escape(loc) + r'"\s*=\s*"([^"]*)"\s*(#.*)?$')
        for i, line in enumerate(lines):
            match = pattern.match(line.rstrip("\n"))
            if match:
                table = next((t for t, v in tables.items() if loc in v), "?")
                removed.append(
                    f'naming map entry removed: `[{table}] "{loc}" = "{match.group(1)}"` '
                    "(upstream removed that inline schema)"
                )
                del lines[i]
                break
        else:
            raise CodegenError(f"bump: naming map entry {loc!r} not found in {names_file.name}")
    names_file.write_text("".join(lines), encoding="utf-8")
    tomllib.loads(names_file.read_text(encoding="utf-8"))  # still valid
    return removed


# --- the release notes ------------------------------------------------------------------------


def frozen_now(old: lockmod.Source) -> list[str]:
    """The parts a bump away from ``old`` freezes: marked end-of-life at ``old``'s commit."""
    return sorted(p for p, e in old.end_of_life.items() if e.commit == old.commit)


def note_in_changelog(
    changelog: Path, source: str, parts: Sequence[str], old: lockmod.Source
) -> None:
    """Add to the bump's CHANGELOG entry (the first ``### <source>:`` under Unreleased) that
    ``parts`` are end-of-life upstream and frozen at ``old``'s commit."""
    if not parts:
        return
    text = changelog.read_text(encoding="utf-8")
    start = text.find("## Unreleased")
    head = text.find(f"\n### {source}: ", max(start, 0))
    if head < 0:
        return
    end = text.find("\n", head + 1)
    names = ", ".join(f"`{p}`" for p in parts)
    line = (
        f"\n- End of life: {names} removed upstream; its models stay frozen at "
        f"{old.commit[:12]} ({old.committed}) and keep working."
    )
    rest = text[end + 1 :]
    line += "" if rest.startswith("\n- ") else "\n"
    changelog.write_text(text[: end + 1] + line + rest, encoding="utf-8")
