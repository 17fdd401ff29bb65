"""The ``generate`` and ``check`` jobs: locked specs in, ``generated/runbind_generated`` out.

Generation always starts from an empty temp folder inside ``generated/``; the result is
formatted with the pinned ruff, import-checked in a fresh interpreter and only then swapped
into place, so any failure leaves the previous output untouched. A stamp of the inputs
(lock, overlay, naming map, ``codegen/`` sources, tool versions) makes an unchanged
regeneration a no-op that never syncs, imports a generator or touches the output.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from codegen import breaks, headers
from codegen._stages import reached
from codegen.errors import CodegenError, GenerationError
from codegen.fetch import UPSTREAM_DIR, fetch
from codegen.lock import LOCK_PATH, PROJECT_ROOT, Lock, Source, load
from codegen.toolenv import tool_env

GENERATED_DIR = PROJECT_ROOT / "generated"
PACKAGE = "runbind_generated"
SURFACE_DIR = PROJECT_ROOT / "specs" / "surface"
STAMP_NAME = ".stamp.json"
JOURNAL = ".bump-journal"
"""Left in ``generated/`` by a bump that was killed before it could roll back (codegen.bump)."""
# Committed inputs besides the lock and codegen/: decisions about the generated API.
EXTRA_INPUTS = ("specs/openai-overlay.yaml", "specs/openai-names.toml")
_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
# Set for every generator subprocess (design: determinism rules).
DETERMINISTIC_ENV = {"PYTHONHASHSEED": "0", "TZ": "UTC", "LC_ALL": "C", "SOURCE_DATE_EPOCH": "0"}


def _pin_environment() -> None:
    os.environ.update(DETERMINISTIC_ENV)


@dataclass(frozen=True)
class Result:
    """What one ``generate`` run did."""

    noop: bool
    seconds: float
    modules: Mapping[str, int] = field(default_factory=dict)
    classes: Mapping[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """A few human lines for the main job's output."""
        where = (GENERATED_DIR / PACKAGE).relative_to(PROJECT_ROOT)
        if self.noop:
            return f"generate: up to date ({where}), nothing to do [{self.seconds * 1000:.0f} ms]"
        lines = [f"generate: wrote {where} in {self.seconds:.1f} s"]
        for part in sorted(self.modules):
            modules, classes = self.modules[part], self.classes.get(part, 0)
            lines.append(f"  {part:<7} {modules:>4} modules {classes:>5} classes")
        return "\n".join(lines)


def check_tools(lock: Lock) -> None:
    """Fail unless every pinned tool is installed at exactly its locked version."""
    for name, pinned in sorted(lock.tools.items()):
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != pinned:
            raise GenerationError(
                f"generate: {name} is {installed}, the lock pins {pinned} "
                "(run through nox, or pip install -e . --group codegen)"
            )


def _input_files(root: Path, lock_path: Path) -> list[Path]:
    files = [lock_path, *(root / rel for rel in EXTRA_INPUTS)]
    files += sorted((PROJECT_ROOT / "codegen").rglob("*.py"))
    return [f for f in files if f.is_file() and "__pycache__" not in f.parts]


def fingerprint(lock: Lock, root: Path = PROJECT_ROOT, lock_path: Path = LOCK_PATH) -> str:
    """Hash of everything that determines the output (project files read under ``root``)."""
    digest = hashlib.sha256()
    for path in _input_files(root, lock_path):
        base = root if path.is_relative_to(root) else PROJECT_ROOT  # codegen/ is always ours
        label = path.relative_to(base).as_posix() if path.is_relative_to(base) else path.name
        digest.update(label.encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    for name, version in sorted(lock.tools.items()):
        digest.update(f"{name}=={version}\0".encode())
    digest.update(f"python{_PYTHON}".encode())
    return digest.hexdigest()


def _walk(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            yield path


def tree_digest(root: Path) -> str:
    """Hash of every file (path and bytes) under ``root``; ignores bytecode caches."""
    digest = hashlib.sha256()
    for path in _walk(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _read_stamp(generated_dir: Path) -> dict[str, str]:
    try:
        data = json.loads((generated_dir / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _package_init(lock: Lock) -> str:
    provenance = {
        name: {"repository": s.repository, "commit": s.commit, "committed": s.committed}
        for name, s in sorted(lock.sources.items())
    }
    label = ", ".join(s.label for _, s in sorted(lock.sources.items()))
    return (
        headers.python_header(label)
        + '"""Generated bindings: ``proto`` (Yandex Cloud AI Assistants) and ``openai``'
        + ' (OpenAI Assistants slice)."""\n\n'
        + f"__provenance__ = {provenance!r}\n"
    )


def _run(argv: list[str], what: str, cwd: Path | None = None) -> None:
    proc = subprocess.run(
        argv, capture_output=True, text=True, cwd=cwd, env=tool_env(), check=False
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        reason = tail[-1] if tail else f"exit code {proc.returncode}"
        raise GenerationError(f"generate: {what} failed: {reason}")


def _format(root: Path) -> None:
    """Format with the pinned ruff and fixed settings, independent of any user config.

    Files are passed one by one and gitignore is not consulted: the build folder lives in
    the git-ignored ``generated/``, which a directory walk would silently skip.
    """
    files = [str(p) for p in sorted(root.rglob("*.py"))]
    flags = ["--isolated", "--no-cache", "--no-respect-gitignore", "--line-length", "100"]
    flags += ["--target-version", "py311"]
    _run([sys.executable, "-m", "ruff", "format", *flags, *files], "ruff format")


_IMPORT_CHECK = """
import importlib, pkgutil, sys
sys.path.insert(0, sys.argv[1])
pkg = importlib.import_module(sys.argv[2])
for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
    importlib.import_module(mod.name)
"""


def _import_check(parent: Path) -> None:
    """Import every generated module in a fresh interpreter before anything is swapped.

    ``-P`` (no current folder on the path), not ``-I``: a pip build environment reaches its
    packages through ``PYTHONPATH``, which ``-I`` would drop (``pip install git+…`` failed so).
    """
    argv = [sys.executable, "-P", "-c", _IMPORT_CHECK, str(parent), PACKAGE]
    _run(argv, "import check of the generated package")


def _count(root: Path) -> tuple[int, int]:
    modules = classes = 0
    for path in root.rglob("*.py"):
        modules += 1
        classes += _classes(ast.parse(path.read_text(encoding="utf-8")).body)
    return modules, classes


def _classes(body: list[ast.stmt]) -> int:
    """Class statements in ``body`` and the statements nested in them (expressions, the bulk
    of a generated module, cannot hold one, so they are not walked)."""
    count = 0
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        count += isinstance(node, ast.ClassDef)
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, name, None)
            if isinstance(children, list):
                stack.extend(
                    c
                    for c in children
                    if isinstance(c, ast.stmt | ast.excepthandler | ast.match_case)
                )
    return count


@dataclass(frozen=True)
class Build:
    """A finished build in a temp folder, not yet swapped in."""

    parent: Path
    surfaces: Mapping[str, str]

    @property
    def package(self) -> Path:
        return self.parent / PACKAGE


Generator = Callable[[Source, Path, Path, Path], list[str]]


def _proto(source: Source, spec_dir: Path, dest: Path, root: Path) -> list[str]:
    # Imported here: keeps the no-op path free of generator imports.
    from codegen import fastjson, fastproto, protos  # noqa: PLC0415

    roots = protos.proto_files(spec_dir, source.include)
    protos.generate(spec_dir, roots, dest, source_label=source.label)
    # The fast codecs are derived from the betterproto2 output, so they come second; the JSON
    # codecs also read the descriptors (json_name, enum value names) protoc writes.
    fastproto.generate(dest.parent.parent, dest.parent.name, PROJECT_ROOT)
    with tempfile.TemporaryDirectory(prefix="runbind-json-") as tmp:
        descriptors = Path(tmp) / "set.pb"
        protos.descriptor_set(spec_dir, roots, descriptors)
        fastjson.generate(dest.parent.parent, dest.parent.name, PROJECT_ROOT, descriptors)
    return protos.surface(spec_dir, roots)


def _openapi(source: Source, spec_dir: Path, dest: Path, root: Path) -> list[str]:
    from codegen import openapi  # noqa: PLC0415 - keeps the no-op path free of generator imports

    spec_file = spec_dir / source.include[0]
    if source.end_of_life:  # parts frozen at the last commit that had them
        from codegen import eol  # noqa: PLC0415

        spec_file = eol.compose(source, spec_dir)
    overlay_file = root / "specs" / openapi.OVERLAY_FILE.name
    names_file = root / "specs" / openapi.NAMES_FILE.name
    openapi.generate(
        spec_file,
        dest,
        source_label=source.label,
        overlay_file=overlay_file,
        names_file=names_file,
    )
    return openapi.surface(spec_file, overlay_file=overlay_file, names_file=names_file)


# Which generator builds which source, and where its package goes.
GENERATORS: Mapping[str, tuple[str, Generator]] = {
    "proto": ("proto", _proto),
    "openapi": ("openai", _openapi),
}


def _surface_text(source: Source, lines: list[str]) -> str:
    title = f"# runbind surface index of {source.owner_repo} (written by `nox -s generate`)"
    return "\n".join([title, *lines]) + "\n"


def build(
    lock: Lock, spec_dirs: Mapping[str, Path], parent: Path, root: Path = PROJECT_ROOT
) -> Build:
    """Generate, format and import-check the whole package under ``parent``."""
    package = parent / PACKAGE
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(_package_init(lock), encoding="utf-8")
    (package / "py.typed").write_text("", encoding="utf-8")
    surfaces: dict[str, str] = {}
    for name, source in sorted(lock.sources.items()):
        try:
            subpackage, generator = GENERATORS[source.kind]
        except KeyError:
            raise GenerationError(
                f"generate: {name}: unknown source kind {source.kind!r}"
            ) from None
        lines = generator(source, spec_dirs[name], package / subpackage, root)
        surfaces[name] = _surface_text(source, lines)
    _format(package)
    _import_check(parent)
    return Build(parent=parent, surfaces=surfaces)


def _swap(build_: Build, generated_dir: Path) -> None:
    """Replace ``generated/runbind_generated`` by the build (two renames on one filesystem)."""
    target = generated_dir / PACKAGE
    old = build_.parent / f"{PACKAGE}.old"
    if target.exists():
        target.rename(old)
    build_.package.rename(target)


def _write_surfaces(surfaces: Mapping[str, str], surface_dir: Path) -> None:
    surface_dir.mkdir(parents=True, exist_ok=True)
    for name, text in surfaces.items():
        tmp = surface_dir / f".{name}.txt.tmp"
        tmp.write_text(text, encoding="utf-8", newline="\n")
        tmp.replace(surface_dir / f"{name}.txt")


def generate(
    *,
    force: bool = False,
    generated_dir: Path = GENERATED_DIR,
    surface_dir: Path = SURFACE_DIR,
    upstream_dir: Path = UPSTREAM_DIR,
    lock_path: Path = LOCK_PATH,
    root: Path = PROJECT_ROOT,
) -> Result:
    """Regenerate ``generated/`` from the lock unless its inputs are unchanged.

    ``root`` is the project whose overlay and naming map apply (a scratch copy in tests).
    """
    started = time.perf_counter()
    _pin_environment()
    lock = load(lock_path)
    check_tools(lock)
    inputs = fingerprint(lock, root, lock_path)
    target = generated_dir / PACKAGE
    stamp = _read_stamp(generated_dir)
    if (
        not force
        and stamp.get("inputs") == inputs
        and target.is_dir()
        and stamp.get("output") == tree_digest(target)
    ):
        return Result(noop=True, seconds=time.perf_counter() - started)
    spec_dirs = fetch(lock, upstream_dir)
    generated_dir.mkdir(parents=True, exist_ok=True)
    parent = Path(tempfile.mkdtemp(prefix=".build-", dir=generated_dir))
    try:
        reached("build")
        result = build(lock, spec_dirs, parent, root)
        counts = {sub: _count(result.package / sub) for sub, _ in GENERATORS.values()}
        (generated_dir / STAMP_NAME).unlink(missing_ok=True)
        _swap(result, generated_dir)
        _write_surfaces(result.surfaces, surface_dir)
        stamp_data = {"inputs": inputs, "output": tree_digest(target)}
        (generated_dir / STAMP_NAME).write_text(json.dumps(stamp_data, indent=1) + "\n")
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    return Result(
        noop=False,
        seconds=time.perf_counter() - started,
        modules={k: v[0] for k, v in counts.items()},
        classes={k: v[1] for k, v in counts.items()},
    )


def check(
    *,
    generated_dir: Path = GENERATED_DIR,
    surface_dir: Path = SURFACE_DIR,
    upstream_dir: Path = UPSTREAM_DIR,
    root: Path = PROJECT_ROOT,
) -> list[str]:
    """Regenerate twice into temp folders; return the problems found (empty when clean).

    Proves determinism (both builds byte-equal), that the committed surface index matches,
    that ``generated/`` (when present) equals a fresh build, and that every breaking change
    since the released baseline is accepted or covered by a MAJOR bump (:mod:`codegen.breaks`).
    """
    _pin_environment()
    lock = load()
    check_tools(lock)
    spec_dirs = fetch(lock, upstream_dir)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="runbind-check-") as tmp:
        first = build(lock, spec_dirs, Path(tmp) / "a", root)
        second = build(lock, spec_dirs, Path(tmp) / "b", root)
        digest = tree_digest(first.package)
        if digest != tree_digest(second.package):
            problems.append("check: two builds from the same inputs differ (non-deterministic)")
        for name, text in sorted(first.surfaces.items()):
            committed = surface_dir / f"{name}.txt"
            if not committed.is_file() or committed.read_text(encoding="utf-8") != text:
                problems.append(
                    f"check: specs/surface/{name}.txt is stale; run `nox -s generate` and commit it"
                )
        current = generated_dir / PACKAGE
        if (generated_dir / JOURNAL).is_dir():
            problems.append(
                f"check: generated/{JOURNAL} is left by an interrupted bump; run the bump again "
                "(it rolls the interrupted one back first)"
            )
        if current.is_dir() and tree_digest(current) != digest:
            problems.append("check: generated/ differs from a fresh build; run `nox -s generate`")
    problems.extend(breaks.problems(root))
    return problems


def main_generate(force: bool) -> int:
    """CLI entry: print the summary, or one error line and exit 1."""
    try:
        result = generate(force=force)
    except CodegenError as exc:
        print(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, file=sys.stderr)
        return 1
    print(result.summary())
    return 0


def main_check() -> int:
    """CLI entry for ``check``."""
    try:
        problems = check()
    except CodegenError as exc:
        print(str(exc).splitlines()[0], file=sys.stderr)
        return 1
    for line in problems:
        print(line, file=sys.stderr)
    if not problems:
        print("check: deterministic, surface index and generated/ up to date")
    return 1 if problems else 0
