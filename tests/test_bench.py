"""The benchmark harness (benchmarks/) runs its cheap groups in ``--quick`` mode and writes a
well-formed document: every row has samples, and every anchor a positive ratio. Timings
themselves are never asserted."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("openai", reason="the bench extra is not installed")
pytest.importorskip("grpc", reason="the bench extra is not installed")

ROOT = Path(__file__).resolve().parents[1]
GROUPS = ("proto", "openai", "coldstart", "stream")
ROUNDS = 2


def test_quick_run_prints_ratios_and_writes_the_document(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    argv = [sys.executable, "-m", "benchmarks", "--quick", "--rounds", str(ROUNDS)]
    argv += ["--only", ",".join(GROUPS), "--json", str(out)]
    env = os.environ | {"PYTHONHASHSEED": "0"}
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
