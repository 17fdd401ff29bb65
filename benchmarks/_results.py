"""What a row measured: raw samples of our side and of each anchor, and the ratios.

Ratios are anchor / ours (of the minimum and of the median): above 1 means runbind is faster,
or for a memory row, smaller.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Row", "Series"]


@dataclass
class Series:
    """One contender's samples (seconds per operation, or MiB for a memory row)."""

    label: str
    samples: list[float]

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "min": self.min,
            "median": self.median,
            "samples": self.samples,
        }


@dataclass
class Row:
    """One comparison: our series against zero or more anchors, all from the same run."""

    group: str
    name: str
    ours: Series
    anchors: list[Series] = field(default_factory=list)
    unit: str = "s"  # "s" per operation, or "MiB"
    per: str = "op"  # what one operation is: op, event, process, regeneration
    note: str = ""
    scale: dict[str, Any] | None = None
    """For a scaling row: family, size, size label, peak MiB (tracemalloc), growth per 10x."""

    def ratios(self, anchor: Series) -> tuple[float, float]:
        """(anchor min / ours min, anchor median / ours median)."""
        return anchor.min / self.ours.min, anchor.median / self.ours.median

    def ops_per_s(self, series: Series) -> float | None:
        """Operations per second at the median (time rows only)."""
        return 1.0 / series.median if self.unit == "s" else None

    def as_json(self) -> dict[str, Any]:
        anchors = []
        for anchor in self.anchors:
            ratio_min, ratio_median = self.ratios(anchor)
            item = anchor.as_json() | {"ratio_min": ratio_min, "ratio_median": ratio_median}
            anchors.append(item | {"ops_per_s": self.ops_per_s(anchor)})
        return {
            "group": self.group,
            "name": self.name,
            "unit": self.unit,
            "per": self.per,
            "note": self.note,
            "ours": self.ours.as_json() | {"ops_per_s": self.ops_per_s(self.ours)},
            "anchors": anchors,
        } | ({"scale": self.scale} if self.scale is not None else {})
