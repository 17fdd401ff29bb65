"""Growth of the scaling rows: the peak memory of one operation, the growth per 10x of size
against the row one size down, and the flags (standard library only, for the table script and
its tests)."""

from __future__ import annotations

import gc
import math
import tracemalloc
from collections.abc import Callable, Sequence

from ._results import Row

__all__ = ["NOT_FLAT", "SUPER_LINEAR", "annotate", "growth", "peak_mib"]

SUPER_LINEAR = 10**1.15
"""Time growth per 10x above which a row is flagged (an exponent above 1.15: noise allowed)."""
NOT_FLAT = 1.5
"""Memory growth per 10x above which a row that should be flat is flagged."""


def peak_mib(call: Callable[[], object]) -> float:
    """The peak of Python memory allocated while ``call`` runs (its result included), in MiB."""
    gc.collect()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return max(peak - start, 1) / (1 << 20)


def growth(before: tuple[int, float], after: tuple[int, float]) -> float:
    """How much ``after``'s value is of ``before``'s, per 10x of size (sizes first)."""
    (s0, v0), (s1, v1) = before, after
    return float((v1 / v0) ** (1 / math.log10(s1 / s0)))


def annotate(rows: Sequence[Row]) -> None:
    """Each scaling row's growth against the row of its family one size down, and its flags."""
    last: dict[str, Row] = {}
    for row in rows:
        scale = row.scale
        if scale is None:
            continue
        before = last.get(scale["family"])
        last[scale["family"]] = row
        flags: list[str] = []
        scale["time_growth"] = scale["memory_growth"] = None
        if before is not None and before.scale is not None:
            size0, size1 = before.scale["size"], scale["size"]
            time_growth = growth((size0, before.ours.min), (size1, row.ours.min))
            mem_growth = growth((size0, before.scale["peak_mib"]), (size1, scale["peak_mib"]))
            scale["time_growth"], scale["memory_growth"] = time_growth, mem_growth
            if time_growth > SUPER_LINEAR:
                flags.append("SUPER-LINEAR TIME")
            if scale["flat_memory"] and mem_growth > NOT_FLAT:
                flags.append("MEMORY NOT FLAT")
            elif mem_growth > SUPER_LINEAR:
                flags.append("SUPER-LINEAR MEMORY")
        scale["flags"] = flags
