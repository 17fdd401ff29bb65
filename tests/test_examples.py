"""The scripts in examples/ run as a user runs them (``python examples/<name>.py``), each in a
subprocess under a time bound, against a running emulator named by the environment; one also
starts its own emulator, as it does when none is named."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbind.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))
BOUND = 30.0
"""Seconds an example may take here before it fails (each takes 1-2 s alone on two cores)."""
SHOWS = {
    "yandex_tool_loop.py": [
        'model calls get_weather({"city": "city-0", "index": 0.0})',
        'COMPLETED: get_weather: {"result": "+4 C and light rain in city-0"}; '
        'get_time: {"result": "14:05 in city-1"}',
    ],
    "openai_tool_loop.py": [
        'model calls get_time({"index":1,"city":"city-1"})',
        'completed: get_weather: {"result": "+4 C and light rain in city-0"}; '
        'get_time: {"result": "14:05 in city-1"}',
    ],
    "resume_stream.py": [
        *(f"  [{i}] PARTIAL_MESSAGE" for i in range(6)),
        "  [6] DONE 'Tell me about the fjords, slowly.'",
        "  [3] thread.run.completed",
        "answer: Tell me about the fjords, slowly.",
    ],
    "list_runs.py": ["yandex page 3: ['COMPLETED']", "yandex: 5 runs in folder", "openai: 5 runs"],
    "async_service.py": ["[yandex] Weather in Molde? get_weather", "12 requests in"],
}
"""What each example prints when it did what it shows (a line starting with each)."""


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


def _run(name: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RUNBIND_EMULATOR")}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=BOUND,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert time.monotonic() - started < BOUND
    return proc.stdout


def _shows(name: str, out: str) -> None:
    lines = out.splitlines()
    for expected in SHOWS[name]:
        assert any(line.startswith(expected) for line in lines), (expected, out)


def test_every_example_is_run_here() -> None:
    assert sorted(SHOWS) == EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_an_example_runs_against_the_emulator_the_environment_names(
    name: str, emulator: Emulator
) -> None:
    out = _run(
        name,
        RUNBIND_EMULATOR_GRPC=emulator.grpc_target,
        RUNBIND_EMULATOR_HTTP=emulator.openai_base_url,
    )
    _shows(name, out)


def test_an_example_starts_its_own_emulator_when_none_is_named() -> None:
    _shows("openai_tool_loop.py", _run("openai_tool_loop.py"))
