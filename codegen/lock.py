"""Read and write ``specs/lock.toml``: upstream sources at fixed commits, file hashes, tool pins.

The lock is the only committed trace of the upstream specs: repository, commit, commit
date, include globs and the sha256 of every file the pipeline reads. The files themselves
are materialised by :mod:`codegen.fetch` into the git-ignored ``specs/upstream/``.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codegen.errors import CodegenError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCK_PATH = PROJECT_ROOT / "specs" / "lock.toml"

_HEADER = """\
# runbind spec lock: the upstream sources the generated code is built from.
# Each source: repository, commit, commit date, kind, include globs (the roots we
# generate from) and the sha256 of every file the pipeline reads (roots, their import
# closure, licences). [tools] pins every generator and formatter exactly.
# Written by `python -m codegen lock` / `nox -s bump`; do not edit by hand.
"""


@dataclass(frozen=True)
class EndOfLife:
    """A part of a source's slice upstream removed, frozen at the last commit that had it.

    Generation takes the part's paths (and the schemas upstream dropped with them) from
    ``commit``, whose files ``files`` lists with their sha256 (:mod:`codegen.eol`).
    """

    part: str
    commit: str
    committed: str
    files: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """One upstream repository pinned at a commit."""

    name: str
    repository: str
    commit: str
    committed: str
    kind: str  # "proto" or "openapi"
    include: tuple[str, ...]
    files: Mapping[str, str] = field(default_factory=dict)
    end_of_life: Mapping[str, EndOfLife] = field(default_factory=dict)

    @property
    def owner_repo(self) -> str:
        """``owner/repo`` from the repository URL."""
        parts = self.repository.rstrip("/").split("/")
        return f"{parts[-2]}/{parts[-1]}"

    @property
    def label(self) -> str:
        """Short provenance label for headers: ``owner/repo@commit``."""
        return f"{self.owner_repo}@{self.commit}"

    @property
    def archive_url(self) -> str:
        """The GitHub archive of the locked commit."""
        return f"{self.repository.rstrip('/')}/archive/{self.commit}.tar.gz"


@dataclass(frozen=True)
class Lock:
    """The parsed lock file."""

    tools: Mapping[str, str]
    sources: Mapping[str, Source]

    def source(self, name: str) -> Source:
        """Return the source called ``name`` or fail with the known names."""
        try:
            return self.sources[name]
        except KeyError:
            known = ", ".join(sorted(self.sources))
            raise CodegenError(f"lock: no source {name!r} (known: {known})") from None

    def by_kind(self, kind: str) -> Source:
        """Return the single source of ``kind``."""
        found = [s for s in self.sources.values() if s.kind == kind]
        if len(found) != 1:
            raise CodegenError(f"lock: expected one {kind} source, found {len(found)}")
        return found[0]


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load(path: Path = LOCK_PATH) -> Lock:
    """Parse the lock file, failing with one line on a missing or malformed entry."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CodegenError(f"lock: cannot read {path.name}: {exc}") from exc
    try:
        tools = {str(k): str(v) for k, v in data["tools"].items()}
        sources: dict[str, Source] = {}
        for name, raw in data["sources"].items():
            sources[name] = Source(
                name=name,
                repository=str(raw["repository"]),
                commit=str(raw["commit"]),
                committed=str(raw["committed"]),
                kind=str(raw["kind"]),
                include=tuple(str(g) for g in raw["include"]),
                files={str(k): str(v) for k, v in raw["files"].items()},
                end_of_life={
                    str(part): EndOfLife(
                        part=str(part),
                        commit=str(eol["commit"]),
                        committed=str(eol["committed"]),
                        files={str(k): str(v) for k, v in eol["files"].items()},
                    )
                    for part, eol in raw.get("end-of-life", {}).items()
                },
            )
    except (KeyError, TypeError, AttributeError) as exc:
        raise CodegenError(f"lock: malformed {path.name}: missing or bad {exc}") from exc
    return Lock(tools=tools, sources=sources)


def _q(value: str) -> str:
    """A TOML basic string (the lock holds only plain ASCII-safe values)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _list(values: Sequence[str]) -> str:
    if not values:
        return "[]"
    return "[\n" + "".join(f"    {_q(v)},\n" for v in values) + "]"


def dumps(lock: Lock) -> str:
    """Serialise deterministically: sorted sources, sorted files, LF, final newline."""
    out = [_HEADER, "[tools]"]
    out += [f"{k} = {_q(v)}" for k, v in sorted(lock.tools.items())]
    for name in sorted(lock.sources):
        src = lock.sources[name]
        out += [
            "",
            f"[sources.{name}]",
            f"repository = {_q(src.repository)}",
            f"commit = {_q(src.commit)}",
            f"committed = {_q(src.committed)}",
            f"kind = {_q(src.kind)}",
            f"include = {_list(src.include)}",
            "",
            f"[sources.{name}.files]",
        ]
        out += [f"{_q(p)} = {_q(h)}" for p, h in sorted(src.files.items())]
        for part in sorted(src.end_of_life):
            eol = src.end_of_life[part]
            out += [
                "",
                f"[sources.{name}.end-of-life.{part}]",
                f"commit = {_q(eol.commit)}",
                f"committed = {_q(eol.committed)}",
                "",
                f"[sources.{name}.end-of-life.{part}.files]",
            ]
            out += [f"{_q(p)} = {_q(h)}" for p, h in sorted(eol.files.items())]
    return "\n".join(out) + "\n"


def write(lock: Lock, path: Path = LOCK_PATH) -> None:
    """Write the lock atomically (temp file + rename)."""
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(dumps(lock), encoding="utf-8", newline="\n")
    tmp.replace(path)


def _licences(tree: Path, rels: Sequence[str]) -> list[str]:
    """LICENSE files at the tree root and in every folder above a locked file."""
    found: set[str] = set()
    for rel in rels:
        parent = Path(rel).parent
        while True:
            candidate = parent / "LICENSE"
            if (tree / candidate).is_file():
                found.add(candidate.as_posix())
            if parent == Path():
                break
            parent = parent.parent
    return sorted(found)


def resolve_files(
    kind: str, include: Sequence[str], tree: Path, optional: Sequence[str] = ()
) -> dict[str, str]:
    """The files a source's lock entry must list, hashed from an upstream ``tree``.

    For protos: the roots matched by ``include`` plus their import closure; for OpenAPI:
    the included files. Licences that cover them are always added.
    """
    if kind == "proto":
        from codegen.protos import import_closure, proto_files  # noqa: PLC0415 - needs protoc

        rels = import_closure(tree, proto_files(tree, include))
    elif kind == "openapi":
        rels = sorted(include)
    else:
        raise CodegenError(f"lock: unknown source kind {kind!r}")
    missing = [r for r in rels if not (tree / r).is_file() and r not in optional]
    if missing:
        raise CodegenError(f"lock: {missing[0]}: not found in {tree}")
    rels = [r for r in rels if (tree / r).is_file()]
    every = sorted({*rels, *_licences(tree, rels)})
    return {rel: sha256_file(tree / rel) for rel in every}


def relock(lock: Lock, name: str, commit: str, committed: str) -> Lock:
    """Return ``lock`` with source ``name`` moved to ``commit``: file list and hashes recomputed.

    The tree comes from the mirror or the archive (:func:`codegen.fetch.upstream_tree`).
    """
    import dataclasses  # noqa: PLC0415

    from codegen.fetch import upstream_tree  # noqa: PLC0415 - fetch imports this module

    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        raise CodegenError(f"lock: {commit!r} is not a full 40-hex commit id")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", committed):
        raise CodegenError(f"lock: commit date {committed!r} is not YYYY-MM-DD")
    moved = dataclasses.replace(lock.source(name), commit=commit, committed=committed, files={})
    # A source whose whole slice is end-of-life may lose its spec file upstream (codegen.eol).
    optional = moved.include if _all_frozen(moved) else ()
    with upstream_tree(moved) as tree:
        files = resolve_files(moved.kind, moved.include, tree, optional)
    sources = {**lock.sources, name: dataclasses.replace(moved, files=files)}
    return Lock(tools=lock.tools, sources=sources)


def _all_frozen(source: Source) -> bool:
    """True when every part of an OpenAPI source's slice is marked end-of-life."""
    if source.kind != "openapi" or not source.end_of_life:
        return False
    from codegen.openapi._spec import SLICE  # noqa: PLC0415 - needs the generator deps

    return all(part.name in source.end_of_life for part in SLICE)
