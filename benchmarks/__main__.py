"""``python -m benchmarks [--quick] [--only GROUPS] [--json PATH]``: run the rows, print the
table, write the JSON (default ``.bench/results.json``). ``nox -s bench`` is the usual way in."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ._report import document, scaling_table, table
from ._results import Row
from ._timing import Settings

ROOT = Path(__file__).resolve().parents[1]
GROUPS = ("proto", "openai", "coldstart", "regen", "stream", "scaling")  # stream, scaling: grpcio
SDK_ENV = "RUNBIND_BENCH_YANDEX_SDK_PYTHON"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few short rounds (a smoke test)")
    parser.add_argument("--rounds", type=int, help="rounds per row (default 9, quick 3)")
    parser.add_argument("--only", help=f"comma-separated groups of {','.join(GROUPS)}")
    parser.add_argument(
        "--json", type=Path, default=ROOT / ".bench" / "results.json", help="where to write"
    )
    parser.add_argument(
        "--yandex-sdk-python",
        default=os.environ.get(SDK_ENV),
        help=f"an interpreter with yandex-ai-studio-sdk for the cold-start rows (${SDK_ENV})",
    )
    return parser


def _sdk_versions(python: str | None) -> dict[str, str]:
    if not python:
        return {}
    code = "from importlib.metadata import version as v\n"
    code += "print(v('yandex-ai-studio-sdk'), v('protobuf'))"
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    sdk, protobuf = proc.stdout.split()
    return {"yandex-ai-studio-sdk": sdk, "protobuf (Yandex SDK venv)": protobuf}


def _runners(args: argparse.Namespace, settings: Settings) -> dict[str, Callable[[], list[Row]]]:
    from . import (  # noqa: PLC0415
        coldstart,
        openai_models,
        proto,
        regen,
        responses_stream,
        scaling,
        stream,
    )

    return {
        "proto": lambda: proto.rows(settings),
        "openai": lambda: openai_models.rows(settings),
        "coldstart": lambda: coldstart.rows(settings, args.yandex_sdk_python),
        "regen": lambda: regen.rows(settings, full_rounds=1 if settings.quick else None),
        "stream": lambda: (
            stream.rows(settings, events=2_000 if settings.quick else stream.EVENTS)
            + responses_stream.rows(
                settings, events=2_000 if settings.quick else responses_stream.EVENTS
            )
        ),
        "scaling": lambda: scaling.rows(settings),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen groups; the exit status is 0 unless a row failed to run."""
    args = _parser().parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 9)
    settings = Settings(rounds=rounds, round_time=0.01 if args.quick else 0.1, quick=args.quick)
    groups = args.only.split(",") if args.only else list(GROUPS)
    if rounds < 1:
        _parser().error("--rounds must be at least 1")
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        _parser().error(f"unknown groups {unknown} (known: {', '.join(GROUPS)})")
    runners = _runners(args, settings)
    rows: list[Row] = []
    for group in (g for g in GROUPS if g in groups):
        start = time.perf_counter()
        print(f"bench: {group} ...", file=sys.stderr, flush=True)
        rows += runners[group]()
        print(f"bench: {group} done in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    print(table(rows, rounds))
    scaled = scaling_table(rows)
    if scaled:
        print(f"\n{scaled}")
    config = {"quick": args.quick, "rounds": rounds, "round_time": settings.round_time}
    doc = document(
        rows,
        argv=["-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)],
        settings=config | {"groups": groups},
        extra=_sdk_versions(args.yandex_sdk_python),
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"\nbench: wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
