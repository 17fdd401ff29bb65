"""Regeneration: a full build (``generate --force``) and a no-op (``generate`` when current), each
a fresh ``python`` running the pipeline into a scratch folder, so ``generated/`` is never touched.
There is no anchor: the rows hold our times only."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._results import Row, Series
from ._timing import Settings

__all__ = ["rows"]

ROOT = Path(__file__).resolve().parents[1]
_ENV = {"PYTHONHASHSEED": "0", "TZ": "UTC", "LC_ALL": "C", "SOURCE_DATE_EPOCH": "0"}
# `python -m codegen generate [--force]`, aimed at a scratch folder instead of generated/.
_CHILD = """\
import sys
from pathlib import Path
from codegen import pipeline
scratch = Path(sys.argv[1])
result = pipeline.generate(
    force=sys.argv[2] == "force",
    generated_dir=scratch / "generated",
    surface_dir=scratch / "surface",
)
assert result.noop == (sys.argv[2] == "noop"), result.summary()
"""


def _once(scratch: Path, mode: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(scratch), mode],
        cwd=ROOT,
        env=os.environ | _ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"regeneration ({mode}) failed: {proc.stderr.strip()[-400:]}")
    return took


def rows(settings: Settings, *, full_rounds: int | None = None) -> list[Row]:
    """Full and no-op regeneration times (the full one takes seconds: ``full_rounds`` caps it)."""
    full: list[float] = []
    noop: list[float] = []
    with tempfile.TemporaryDirectory(prefix="runbind-bench-regen-") as tmp:
        scratch = Path(tmp)
        for _ in range(settings.rounds if full_rounds is None else full_rounds):
            full.append(_once(scratch, "force"))
        for _ in range(settings.rounds):
            noop.append(_once(scratch, "noop"))
    note = "a fresh interpreter per sample (its start-up included)"
    return [
        Row(
            "regen",
            "full regeneration (generate --force)",
            Series("codegen pipeline", full),
            per="regeneration",
            note=note,
        ),
        Row(
            "regen",
            "no-op regeneration (generate, current)",
            Series("codegen pipeline", noop),
            per="regeneration",
            note=note,
        ),
    ]
