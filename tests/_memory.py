"""Measurements of the code's own memory and time: coverage.py's tracer (the test session runs
under it) records lines and arcs as the code runs, allocations that would be counted as the
code's own, and a slowdown that wall-clock bounds would count as the code's. It is paused while
tracemalloc traces, and for the tests whose bounds are wall-clock times (load, retry storms)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["traced", "untraced"]


def _running_coverage() -> Any:
    try:
        import coverage  # noqa: PLC0415 - only present where the suite runs under it
    except ImportError:  # pragma: no cover - the dev extra has it
        return None
    return coverage.Coverage.current()


@contextmanager
def untraced() -> Iterator[None]:
    """coverage.py's tracer paused for the block (on every thread), if it runs."""
    cov = _running_coverage()
    if cov is not None:
        cov.stop()
    try:
        yield
    finally:
        if cov is not None:
            cov.start()


@contextmanager
def traced() -> Iterator[None]:
    """tracemalloc on for the block (read it inside), coverage.py's tracer paused."""
    with untraced():
        tracemalloc.start()
        try:
            yield
        finally:
            tracemalloc.stop()
