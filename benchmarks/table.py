"""``python -m benchmarks.table [--results PATH] [--check]``: rewrite the performance tables of
README.md and docs/performance.md from the bench output (``.bench/results.json``), between
their markers, so that no number in them is typed by hand. ``nox -s bench_table`` runs it.

Each table sits between ``<!-- bench-table:NAME start -->`` and ``<!-- bench-table:NAME end -->``:
``summary`` (README: the headline rows), ``table`` (docs/performance.md: every row but the
scaling ones) and ``scaling`` (docs/performance.md: the scaling rows with their growth). The
text between the markers is replaced whole; the rest of the file is left as it is, so a rewrite
from the same results changes nothing. ``--check`` rewrites nothing and fails when a file is not
what the results give. A ``--quick`` run's results are refused: the tables show full runs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._report import _time

__all__ = ["TARGETS", "main", "render", "rewrite"]

ROOT = Path(__file__).resolve().parents[1]
TARGETS: dict[str, tuple[str, ...]] = {
    "README.md": ("summary",),
    "docs/performance.md": ("table", "scaling"),
}
SUMMARY = (
    "Run bytes -> object, every field read [tools]",
    "Run object -> bytes [tools]",
    "proto3 JSON to: Run object -> JSON text [tools]",
    "proto3 JSON from: JSON text -> Run object [tools]",
    "OpenAI JSON -> runbind.Run.from_openai",
    "cold import",
    "Listen, AsyncRuns.listen",
    "Responses stream, AsyncResponses.listen",
)
"""The README's rows, by name (a run of only some groups leaves the others' rows out; a run of
all of them must have every one)."""
_MARK = re.compile(r"<!-- bench-table:(?P<name>[a-z]+) (?P<end>start|end) -->")
Json = dict[str, Any]


def _value(row: Json, value: float) -> str:
    if row["unit"] == "MiB":
        return f"{value:.1f} MiB"
    if row["per"] == "event":
        return f"{1 / value:,.0f} events/s"
    return _time(value).replace("us", "µs")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _rows(rows: Sequence[Json]) -> list[str]:
    lines = ["| row | ours (min) | anchor (min) | ratio min / median |", "|---|---|---|---|"]
    for row in rows:
        ours = f"`{row['ours']['label']}` {_value(row, row['ours']['min'])}"
        anchors = row["anchors"]
        if not anchors:
            lines.append(f"| {_cell(row['name'])} | {_cell(ours)} | | |")
        for index, anchor in enumerate(anchors):
            name, mine = (row["name"], ours) if index == 0 else ("", "")
            theirs = f"{anchor['label']} {_value(row, anchor['min'])}"
            ratio = f"{anchor['ratio_min']:.2f} / {anchor['ratio_median']:.2f}"
            lines.append(f"| {_cell(name)} | {_cell(mine)} | {_cell(theirs)} | {ratio} |")
    return lines


def _growth(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def _scaling(rows: Sequence[Json]) -> list[str]:
    lines = [
        "| row | time (min) | per item | peak memory | time per 10x | memory per 10x "
        "| ratio to anchor (min) | flags |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        scale = row["scale"]
        size, unit, took = scale["size"], scale["size_unit"], row["ours"]["min"]
        per = f"{_time(took / (size / 1000))}/KB" if unit == "B" else f"{_time(took / size)}"
        anchor = ""
        if row["anchors"]:
            first = row["anchors"][0]
            anchor = f"{first['ratio_min']:.2f} ({first['label']})"
        cells = (
            row["name"],
            _time(took),
            per,
            f"{scale['peak_mib']:.2f} MiB",
            _growth(scale["time_growth"]),
            _growth(scale["memory_growth"]),
            anchor,
            ", ".join(scale["flags"]),
        )
        lines.append("| " + " | ".join(_cell(c.replace("us", "µs")) for c in cells) + " |")
    return lines


def _provenance(doc: Json) -> str:
    versions = doc["versions"]
    machine = doc["machine"]
    settings = doc["settings"]
    named = ", ".join(f"{k} {v}" for k, v in versions.items() if v != "not installed")
    return (
        f"*From `.bench/results.json` of {doc['date']}: {settings['rounds']} rounds a row, "
        f"{machine['platform']}, {machine['cpu_count']} cores; {named}. "
        "Ratio = anchor time / ours: above 1 means runbind is faster. Written by "
        "`python -m benchmarks.table`; do not edit by hand.*"
    )


def render(doc: Json) -> dict[str, str]:
    """The text of each table (what goes between its markers) from a results document."""
    rows: list[Json] = doc["rows"]
    plain = [row for row in rows if "scale" not in row]
    scaled = [row for row in rows if "scale" in row]
    by_name = {row["name"]: row for row in plain}
    head = _provenance(doc)
    groups = set(doc["settings"].get("groups", ()))
    lacking = [name for name in SUMMARY if name not in by_name]
    if lacking and {"proto", "openai", "coldstart", "stream"} <= groups:
        # A run of every summary group lacks a summary row: a row was renamed, not left out.
        raise ValueError(f"the summary row {lacking[0]!r} is not in the results; see SUMMARY")
    chosen = [by_name[name] for name in SUMMARY if name in by_name]
    return {
        "summary": "\n".join([head, "", *_rows(chosen)]),
        "table": "\n".join([head, "", *_rows(plain)]),
        "scaling": "\n".join(
            [head, "", *(_scaling(scaled) if scaled else ["*(no scaling rows in this run)*"])]
        ),
    }


def rewrite(text: str, tables: Mapping[str, str], names: Sequence[str]) -> str:
    """``text`` with the block of each of ``names`` replaced by its table; every one of them
    must be there, once, start before end."""
    for name in names:
        start = f"<!-- bench-table:{name} start -->"
        end = f"<!-- bench-table:{name} end -->"
        if text.count(start) != 1 or text.count(end) != 1:
            raise ValueError(f"the markers of table {name!r} must each be there exactly once")
        head, rest = text.split(start)
        if end not in rest:
            raise ValueError(f"table {name!r}: its end marker comes before its start")
        _, tail = rest.split(end)
        text = f"{head}{start}\n{tables[name]}\n{end}{tail}"
    unknown = {m["name"] for m in _MARK.finditer(text)} - set(names)
    if unknown:
        raise ValueError(f"markers of unknown tables: {sorted(unknown)}")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite (or with ``--check`` compare) the tables; 1 when ``--check`` finds a difference."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.table", description=__doc__)
    parser.add_argument("--results", type=Path, default=ROOT / ".bench" / "results.json")
    parser.add_argument("--root", type=Path, default=ROOT, help="the project to rewrite")
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    args = parser.parse_args(argv)
    doc = json.loads(args.results.read_text(encoding="utf-8"))
    if doc["settings"].get("quick"):
        parser.error(f"{args.results} is from a --quick run; the tables show full runs")
    tables = render(doc)
    stale = []
    for relative, names in TARGETS.items():
        path = args.root / relative
        old = path.read_text(encoding="utf-8")
        new = rewrite(old, tables, names)
        if new != old:
            stale.append(relative)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    verb = "differ from" if args.check else "rewritten from"
    print(f"bench tables: {', '.join(stale) or 'nothing'} {verb} {args.results}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
