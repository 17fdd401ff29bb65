"""Interleaved timing: every contender of a row runs once per round, in rotating order, so that
drift of the machine hits all of them alike; a round is ``timeit``-style (gc off, a calibrated
number of calls) and gives the time of one call."""

from __future__ import annotations

import contextlib
import timeit
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from ._results import Row, Series

__all__ = ["Contender", "Settings", "compare", "interleaved"]


@dataclass(frozen=True)
class Settings:
    """How long to measure: rounds per row and the least time of one round, in seconds."""

    rounds: int = 9
    round_time: float = 0.1
    quick: bool = False


@dataclass
class Contender:
    """One side of a row: a label, a call to time, and an optional context around each round."""

    label: str
    call: Callable[[], object]
    context: Callable[[], AbstractContextManager[object]] = field(default=contextlib.nullcontext)


def _calls_per_round(contender: Contender, least: float) -> int:
    timer = timeit.Timer(contender.call)
    number = 1
    while True:
        with contender.context():
            took = timer.timeit(number)
        if took >= least or number >= 1 << 20:
            return number
        number = max(number * 2, int(number * least / max(took, 1e-9) * 1.1))


def interleaved(contenders: Sequence[Contender], settings: Settings) -> list[list[float]]:
    """Seconds per call of each contender, one sample per round."""
    numbers = [_calls_per_round(c, settings.round_time) for c in contenders]
    samples: list[list[float]] = [[] for _ in contenders]
    for round_ in range(settings.rounds):
        for offset in range(len(contenders)):
            index = (round_ + offset) % len(contenders)
            contender = contenders[index]
            timer = timeit.Timer(contender.call)
            with contender.context():
                took = timer.timeit(numbers[index])
            samples[index].append(took / numbers[index])
    return samples


def compare(
    group: str, name: str, settings: Settings, ours: Contender, *anchors: Contender, note: str = ""
) -> Row:
    """A row of ``ours`` against ``anchors``, measured together."""
    contenders = [ours, *anchors]
    samples = interleaved(contenders, settings)
    series = [Series(c.label, s) for c, s in zip(contenders, samples, strict=True)]
    return Row(group, name, series[0], series[1:], note=note)
