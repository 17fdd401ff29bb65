"""Shared fixtures: the locked specs, materialised once per test session; the coverage tracer
paused for tests whose bounds are wall-clock times."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from codegen import fetch, lock
from tests._memory import untraced


@pytest.fixture
def no_coverage() -> Iterator[None]:
    """The test runs without coverage.py's tracer (its bounds are times of our code's own)."""
    with untraced():
        yield


@pytest.fixture(scope="session")
def the_lock() -> lock.Lock:
    """The committed lock."""
    return lock.load()


@pytest.fixture(scope="session")
def spec_dirs(the_lock: lock.Lock) -> Mapping[str, Path]:
    """``{source name: folder}`` of the synced, verified upstream files."""
    return fetch.fetch(the_lock)
