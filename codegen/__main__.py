"""``python -m codegen {sync,generate,twins,check,release,...}``: the pipeline, for nox."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codegen import pipeline
from codegen.errors import CodegenError


def _sync() -> int:
    from codegen import fetch, lock  # noqa: PLC0415

    try:
        dirs = fetch.fetch(lock.load())
    except CodegenError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    for name, path in dirs.items():
        print(f"sync: {name}: {path.relative_to(lock.PROJECT_ROOT)} verified")
    return 0


def _relock(name: str, commit: str, committed: str) -> int:
    from codegen import lock  # noqa: PLC0415

    try:
        new = lock.relock(lock.load(), name, commit, committed)
    except CodegenError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    lock.write(new)
    count = len(new.source(name).files)
    print(f"relock: {name} -> {commit[:12]} ({committed}), {count} files; now run generate")
    return 0


def _bump(
    name: str,
    commit: str,
    committed: str | None,
    buf: str | None,
    root: Path | None,
    allow_broken_layer: bool,
) -> int:
    from codegen import bump, lock  # noqa: PLC0415

    where = root or lock.PROJECT_ROOT
    try:
        interrupted = bump.recover(where)
        if interrupted:
            print(f"bump: rolled back the interrupted bump {interrupted}", file=sys.stderr)
        result = bump.bump(
            name, commit, committed, buf=buf, root=where, allow_broken_layer=allow_broken_layer
        )
    except CodegenError as exc:
        print(str(exc).splitlines()[0], file=sys.stderr)
        return 1
    except bump.Interrupted as exc:
        print(f"bump: stopped by {exc}; nothing changed (rolled back)", file=sys.stderr)
        return 128 + exc.signum
    breaking = sum(c.breaking for c in result.changes)
    print(
        f"bump: {name} -> {commit[:12]}: {len(result.changes)} changes, {breaking} breaking, "
        f"implies {result.bump.upper()}; report in specs/changes/{name}/"
    )
    for note in result.notes:
        print(f"bump: note: {note}", file=sys.stderr)
    return 0


def _end_of_life(name: str, parts: list[str]) -> int:
    from codegen import eol, lock  # noqa: PLC0415

    try:
        new = eol.mark(lock.LOCK_PATH, name, parts)
    except CodegenError as exc:
        print(str(exc).splitlines()[0], file=sys.stderr)
        return 1
    source = new.source(name)
    print(
        f"end-of-life: {name} {', '.join(parts)} frozen at {source.commit[:12]} "
        f"({source.committed}); now bump again"
    )
    return 0


def _release(version: str) -> int:
    from codegen import release  # noqa: PLC0415

    try:
        built = release.release(version)
    except CodegenError as exc:
        print(str(exc).splitlines()[0], file=sys.stderr)
        return 1
    names = ", ".join(path.name for path in built)
    print(f"release: v{version} tagged; built twice, byte-identical: dist/ {names}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one pipeline step."""
    parser = argparse.ArgumentParser(prog="python -m codegen")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("sync", help="materialise and verify the locked upstream files")
    gen = sub.add_parser("generate", help="regenerate generated/ (no-op when inputs unchanged)")
    gen.add_argument("--force", action="store_true", help="regenerate even when up to date")
    twins = sub.add_parser("twins", help="write the blocking Runs clients from the async ones")
    twins.add_argument("--check", action="store_true", help="only name the stale ones (exit 1)")
    twins.add_argument("--root", type=Path, default=None, help=argparse.SUPPRESS)
    sub.add_parser(
        "check", help="prove determinism, that the surface index and the sync twins are current"
    )
    rel = sub.add_parser("relock", help="move one source to another commit (hashes recomputed)")
    rel.add_argument("source", help="source name in specs/lock.toml, e.g. cloudapi")
    rel.add_argument("commit", help="full 40-hex commit id")
    rel.add_argument("committed", help="commit date, YYYY-MM-DD")
    bmp = sub.add_parser("bump", help="move one source to a commit and write its change report")
    bmp.add_argument("source", help="source name in specs/lock.toml, e.g. cloudapi")
    bmp.add_argument("commit", help="full 40-hex commit id")
    bmp.add_argument("committed", nargs="?", help="commit date (default: from the mirror index)")
    bmp.add_argument("--buf", help="buf binary for protobuf rules (default: $RUNBIND_BUF)")
    bmp.add_argument("--root", type=Path, default=None, help=argparse.SUPPRESS)
    bmp.add_argument(
        "--allow-broken-layer",
        action="store_true",
        help="adopt a commit that breaks runbind's layer tests (check then fails until fixed)",
    )
    eol = sub.add_parser(
        "end-of-life", help="freeze slice parts upstream removed at the locked commit (lock edit)"
    )
    eol.add_argument("source", help="source name in specs/lock.toml, e.g. openai-openapi")
    eol.add_argument("parts", nargs="+", help="slice part names, e.g. assistants")
    sub.add_parser("baseline", help="record the current surface and version as released")
    rls = sub.add_parser("release", help="check, changelog, bump, baseline, tag, build twice")
    rls.add_argument("version", help="the new SemVer version, X.Y.Z")
    args = parser.parse_args(argv)
    if args.command == "release":
        return _release(args.version)
    if args.command == "bump":
        return _bump(
            args.source, args.commit, args.committed, args.buf, args.root, args.allow_broken_layer
        )
    if args.command == "end-of-life":
        return _end_of_life(args.source, args.parts)
    if args.command == "baseline":
        from codegen import breaks  # noqa: PLC0415

        print(f"baseline: recorded the surface of release {breaks.baseline()}")
        return 0
    if args.command == "relock":
        return _relock(args.source, args.commit, args.committed)
    if args.command == "sync":
        return _sync()
    if args.command == "generate":
        return pipeline.main_generate(force=args.force)
    from codegen import twins as twins_  # noqa: PLC0415

    if args.command == "twins":
        return twins_.main(check=args.check, root=args.root)
    stale_twins = twins_.main(check=True)
    checked = pipeline.main_check()
    broken_layer = _layer_check()
    return checked or stale_twins or broken_layer


def _layer_check() -> int:
    """``check`` fails while ``specs/broken-layer.json`` says a bump broke the layer."""
    from codegen import layer  # noqa: PLC0415

    problems = layer.check_marker()
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
