"""The benchmark harness (benchmarks/) runs its cheap groups in ``--quick`` mode and writes a
well-formed document: every row has samples, and every anchor a positive ratio. Timings
themselves are never asserted."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from codegen.toolenv import tool_env

pytest.importorskip("openai", reason="the bench extra is not installed")
pytest.importorskip("grpc", reason="the bench extra is not installed")

ROOT = Path(__file__).resolve().parents[1]
GROUPS = ("proto", "openai", "coldstart", "stream", "scaling")
ROUNDS = 2


def test_quick_run_prints_ratios_and_writes_the_document(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    argv = [sys.executable, "-m", "benchmarks", "--quick", "--rounds", str(ROUNDS)]
    argv += ["--only", ",".join(GROUPS), "--json", str(out)]
    # Unmeasured: a benchmark under coverage's tracer takes twice as long and covers nothing
    # the suite's own tests do not.
    env = tool_env(PYTHONHASHSEED="0")
    proc = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(out.read_text(encoding="utf-8"))

    assert doc["settings"]["quick"] is True
    assert doc["settings"]["rounds"] == ROUNDS
    assert doc["machine"]["cpu_count"] >= 1
    for name in ("python", "betterproto2", "protobuf", "pydantic", "openai", "grpcio"):
        assert doc["versions"][name] != "not installed", name
    assert "benchmarks" in doc["command"]
    rows = doc["rows"]
    assert {row["group"] for row in rows} == set(GROUPS)
    for row in rows:
        assert row["unit"] in ("s", "MiB")
        for series in (row["ours"], *row["anchors"]):
            assert len(series["samples"]) == ROUNDS, row["name"]
            assert all(value > 0 for value in series["samples"]), row["name"]
        for anchor in row["anchors"]:
            for key in ("ratio_min", "ratio_median"):
                assert anchor[key] > 0, (row["name"], key)
                assert math.isfinite(anchor[key]), (row["name"], key)
        assert row["name"] in proc.stdout
    for group in GROUPS:
        assert any(row["anchors"] for row in rows if row["group"] == group), group
    assert "> 1 means runbind is faster" in proc.stdout
    _check_scaling([row for row in rows if row["group"] == "scaling"], proc.stdout)


def _check_scaling(rows: list[dict[str, Any]], stdout: str) -> None:
    """Every scaling family has three sizes, growing, each with a peak and (after the first)
    its growth per 10x; the printed scaling table lists every row."""
    families: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        scale = row["scale"]
        assert isinstance(scale, dict), row["name"]
        assert scale["peak_mib"] > 0, row["name"]
        families.setdefault(scale["family"], []).append(scale)
        assert f"{row['name']} " in stdout.split("scaling row", 1)[1], row["name"]
    for wanted in ("yandex tool calls", "yandex text", "openai tool calls", "openai text"):
        assert any(name.startswith(wanted) for name in families), wanted
    for wanted in ("yandex listen", "responses listen", "yandex list", "openai list"):
        assert wanted in families, wanted
    for name, scales in families.items():
        sizes = [scale["size"] for scale in scales]
        assert len(sizes) == 3, name
        assert sizes == sorted(set(sizes)), name
        assert scales[0]["time_growth"] is None, name
        for scale in scales[1:]:
            for key in ("time_growth", "memory_growth"):
                assert math.isfinite(scale[key]), (name, key)
                assert scale[key] > 0, (name, key)
