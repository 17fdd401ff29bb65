"""The ``runbind`` command as a user meets it: plain help, ``--version``, one-line errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import runbind

ROOT = Path(__file__).resolve().parent.parent
LOCKED = tomllib.loads((ROOT / "specs" / "lock.toml").read_text(encoding="utf-8"))["sources"]


def _runbind(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runbind", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "100"},
        check=False,
    )


def test_version_names_the_release_and_each_upstream_commit() -> None:
    proc = _runbind("--version")
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stdout.splitlines()
    assert line.startswith(f"runbind {runbind.__version__} (")
    for name, source in LOCKED.items():
        assert f"{name} {source['commit'][:12]} {source['committed']}" in line


@pytest.mark.parametrize("args", [(), ("emulator",), ("demo",)])
def test_help_is_plain_text(args: tuple[str, ...]) -> None:
    proc = _runbind(*args, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: runbind")
    for markup in ("``", ":class:", ":func:", ".. "):
        assert markup not in proc.stdout, markup
    if not args:
        assert "--version" in proc.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--bogus", "demo"), "unrecognized arguments: --bogus"),
        (("emulator", "--grpc-port", "x"), "invalid int value: 'x'"),
        (("serve",), "invalid choice: 'serve'"),
        ((), "required: COMMAND"),
    ],
)
def test_a_bad_option_is_one_line(args: tuple[str, ...], says: str) -> None:
    proc = _runbind(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert line.startswith("runbind")
    assert "error:" in line
    assert says in line
    assert "--help" in line


def test_a_busy_port_is_one_line_not_a_traceback() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _runbind("emulator", "--grpc-port", str(port), "--http-port", "0")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.splitlines()
    assert f"gRPC port {port}" in line
    assert "in use" in line
