"""The printed table and the JSON document (raw samples, date, machine, versions, command)."""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from ._results import Row, Series

__all__ = ["document", "scaling_table", "table"]

VERSIONED = (
    "runbind",
    "betterproto2",
    "protobuf",
    "pydantic",
    "pydantic-core",
    "openai",
    "grpcio",
    "grpcio-tools",
    "grpclib",
)
HEADER = (
    "ratio = anchor time / ours (memory rows: anchor MiB / ours), of the min and of the median "
    "of the rounds: > 1 means runbind is faster (smaller)"
)


def _time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _value(row: Row, value: float) -> str:
    return f"{value:.1f} MiB" if row.unit == "MiB" else _time(value)


def _rate(row: Row, series: Series) -> str:
    rate = row.ops_per_s(series)
    if rate is None:
        return ""
    return f"{rate:,.0f}/s" if rate >= 10 else f"{rate:.3g}/s"


def table(rows: Sequence[Row], rounds: int) -> str:
    """The rows as a fixed-width text table; a row's extra anchors go on lines of their own."""
    head = (
        "row",
        "ours",
        "min",
        "median",
        "ops",
        "anchor",
        "min",
        "median",
        "ops",
        "ratio min/med",
    )
    lines: list[tuple[str, ...]] = [head]
    for row in rows:
        ours: tuple[str, ...] = (row.name, row.ours.label, _value(row, row.ours.min))
        ours += (_value(row, row.ours.median),)
        ours += (_rate(row, row.ours),)
        if not row.anchors:
            lines.append((*ours, "-", "", "", "", ""))
        for index, anchor in enumerate(row.anchors):
            low, mid = row.ratios(anchor)
            theirs = (anchor.label, _value(row, anchor.min), _value(row, anchor.median))
            start = ours if index == 0 else ("",) * 5
            lines.append((*start, *theirs, _rate(row, anchor), f"{low:.2f} / {mid:.2f}"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = [f"{HEADER}; {rounds} rounds each"]
    for number, line in enumerate(lines):
        cells = [
            cell.ljust(w) if i in (0, 1, 5) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ]
        text.append("  ".join(cells).rstrip())
        if number == 0:
            text.append("  ".join("-" * w for w in widths))
    notes = [f"- {row.name}: {row.note}" for row in rows if row.note]
    return "\n".join([*text, "", "notes:", *notes] if notes else text)


def _per_item(row: Row) -> str:
    scale = row.scale or {}
    size, unit = scale["size"], scale["size_unit"]
    if unit == "B":
        return f"{_time(row.ours.min / (size / 1000))}/KB"
    return f"{_time(row.ours.min / size)}/{unit.split()[-1].removesuffix('s')}"


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def scaling_table(rows: Sequence[Row]) -> str:
    """The scaling rows: time (min) and per item, peak memory, growth per 10x of size against
    the row one size down (time 10x = linear, memory 1x = flat), flags, ratio to the anchor."""
    head = ("scaling row", "time", "per item", "peak", "time/10x", "mem/10x", "vs anchor", "flags")
    lines: list[tuple[str, ...]] = [head]
    for row in rows:
        if row.scale is None:
            continue
        scale = row.scale
        anchor = ""
        if row.anchors:
            anchor = f"{row.ratios(row.anchors[0])[0]:.2f} {row.anchors[0].label}"
        lines.append(
            (
                row.name,
                _time(row.ours.min),
                _per_item(row),
                f"{scale['peak_mib']:.2f} MiB",
                _ratio(scale.get("time_growth")),
                _ratio(scale.get("memory_growth")),
                anchor,
                ", ".join(scale.get("flags", [])),
            )
        )
    if len(lines) == 1:
        return ""
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = [
        "scaling: growth per 10x of size against the size before (time 10x = linear, "
        "memory 1x = flat); peak = tracemalloc peak of one op (ours)"
    ]
    for number, line in enumerate(lines):
        cells = [
            cell.ljust(w) if i in (0, 6, 7) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ]
        text.append("  ".join(cells).rstrip())
        if number == 0:
            text.append("  ".join("-" * w for w in widths))
    return "\n".join(text)


def _versions(extra: dict[str, str]) -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found | extra


def document(
    rows: Sequence[Row], *, argv: Sequence[str], settings: dict[str, Any], extra: dict[str, str]
) -> dict[str, Any]:
    """Everything measured, with where and how: the JSON that ``--json`` writes."""
    return {
        "schema": 1,
        "ratio": HEADER,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": [sys.executable, *argv],
        "settings": settings,
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "python": sys.version,
            "implementation": platform.python_implementation(),
        },
        "versions": _versions(extra),
        "rows": [row.as_json() for row in rows],
    }
