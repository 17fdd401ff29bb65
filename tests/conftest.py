"""Shared fixtures: the locked specs, materialised once per test session."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from codegen import fetch, lock


@pytest.fixture(scope="session")
def the_lock() -> lock.Lock:
    """The committed lock."""
    return lock.load()


@pytest.fixture(scope="session")
def spec_dirs(the_lock: lock.Lock) -> Mapping[str, Path]:
    """``{source name: folder}`` of the synced, verified upstream files."""
    return fetch.fetch(the_lock)
