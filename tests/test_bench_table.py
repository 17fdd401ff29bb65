"""The performance tables of README.md and docs/performance.md are written from the bench output
(``python -m benchmarks.table``): their markers are there, a rewrite from the same results
changes nothing the second time, and the text outside the markers is kept."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from benchmarks import table
from benchmarks._growth import annotate
from benchmarks._report import document
from benchmarks._results import Row, Series

ROOT = Path(__file__).resolve().parents[1]


def _doc(*, quick: bool = False) -> dict[str, Any]:
    """A results document as ``python -m benchmarks`` writes it, from rows made here."""
    plain = Row(
        "proto",
        "Run object -> bytes [tools]",
        Series("bytes(run)", [2e-4, 3e-4]),
        [Series("upb SerializeToString", [5e-6, 6e-6])],
    )
    listen = Row("stream", "Listen, AsyncRuns.listen", Series("AsyncRuns.listen", [3e-5, 4e-5]))
    listen.per = "event"
    scaled = []
    for size, took, peak in ((100, 0.01, 0.3), (1000, 0.1, 0.3), (10000, 1.2, 0.31)):
        row = Row("scaling", f"AsyncRuns.listen [{size} events]", Series("listen", [took]))
        row.scale = {
            "family": "yandex listen",
            "size": size,
            "size_unit": "events",
            "size_label": f"{size} events",
            "peak_mib": peak,
            "flat_memory": True,
        }
        scaled.append(row)
    annotate(scaled)
    settings = {"quick": quick, "rounds": 2, "round_time": 0.1, "groups": ["proto"]}
    return document(
        [plain, listen, *scaled], argv=["-m", "benchmarks"], settings=settings, extra={}
    )


def _outside(text: str) -> str:
    """``text`` with what is between its markers left out."""
    block = r"(<!-- bench-table:(\w+) start -->).*?(<!-- bench-table:\2 end -->)"
    return re.sub(block, r"\1\3", text, flags=re.DOTALL)


def _project(tmp_path: Path) -> Path:
    for relative in table.TARGETS:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, tmp_path / relative)
    return tmp_path


def test_the_markers_are_in_the_committed_files() -> None:
    for relative, names in table.TARGETS.items():
        text = (ROOT / relative).read_text(encoding="utf-8")
        for name in names:
            start = f"<!-- bench-table:{name} start -->"
            end = f"<!-- bench-table:{name} end -->"
            assert text.count(start) == 1, (relative, name)
            assert text.count(end) == 1, (relative, name)
            assert text.index(start) < text.index(end), (relative, name)


def test_rewrite_is_idempotent_and_keeps_the_rest(tmp_path: Path) -> None:
    root = _project(tmp_path)
    results = tmp_path / "results.json"
    results.write_text(json.dumps(_doc()), encoding="utf-8")
    argv = ["--results", str(results), "--root", str(root)]
    assert table.main(argv) == 0
    first = {rel: (root / rel).read_text(encoding="utf-8") for rel in table.TARGETS}
    assert table.main(argv) == 0
    assert table.main([*argv, "--check"]) == 0
    for relative, text in first.items():
        assert (root / relative).read_text(encoding="utf-8") == text, relative
        original = (ROOT / relative).read_text(encoding="utf-8")
        assert _outside(text) == _outside(original), relative  # as committed
        assert len(text) > len(_outside(text)), relative
    readme = first["README.md"]
    assert "| Run object -> bytes [tools] | `bytes(run)` 200 µs | upb SerializeToString 5 µs |" in (
        readme
    )
    assert "0.03 / 0.02 |" in readme
    assert "33,333 events/s" in readme
    perf = first["docs/performance.md"]
    assert (
        "| AsyncRuns.listen [10000 events] | 1.2 s | 120 µs | 0.31 MiB | 12.00x | 1.03x |" in perf
    )


def test_check_fails_when_a_table_is_stale(tmp_path: Path) -> None:
    root = _project(tmp_path)
    results = tmp_path / "results.json"
    doc = _doc()
    results.write_text(json.dumps(doc), encoding="utf-8")
    argv = ["--results", str(results), "--root", str(root)]
    assert table.main(argv) == 0
    doc["rows"][0]["ours"]["min"] = 1e-3
    results.write_text(json.dumps(doc), encoding="utf-8")
    assert table.main([*argv, "--check"]) == 1
    assert table.main(argv) == 0
    assert table.main([*argv, "--check"]) == 0


def test_missing_markers_and_quick_results_are_refused(tmp_path: Path) -> None:
    tables = table.render(_doc())
    with pytest.raises(ValueError, match="exactly once"):
        table.rewrite("no markers here", tables, ["summary"])
    swapped = "<!-- bench-table:summary end -->\n<!-- bench-table:summary start -->"
    with pytest.raises(ValueError, match="before its start"):
        table.rewrite(swapped, tables, ["summary"])
    stray = "<!-- bench-table:summary start -->\n<!-- bench-table:summary end -->\n"
    with pytest.raises(ValueError, match="unknown tables"):
        table.rewrite(stray + "<!-- bench-table:other start -->", tables, ["summary"])
    results = tmp_path / "results.json"
    results.write_text(json.dumps(_doc(quick=True)), encoding="utf-8")
    with pytest.raises(SystemExit):
        table.main(["--results", str(results), "--root", str(_project(tmp_path))])


def test_a_full_run_without_a_summary_row_is_refused() -> None:
    """A renamed row must not drop out of the README's summary silently."""
    doc = _doc()
    doc["settings"]["groups"] = ["proto", "openai", "coldstart", "regen", "stream", "scaling"]
    with pytest.raises(ValueError, match="summary row"):
        table.render(doc)
    assert "Run object -> bytes" in table.render(_doc())["summary"]  # one group: its rows only


def test_the_last_full_run_renders() -> None:
    """The committed README names only rows a full run makes (its summary is one of them)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in table.SUMMARY:
        assert f"| {name} |" in readme, name
