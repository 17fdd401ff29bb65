"""Publishing against a real package index: pypiserver on loopback, twine upload, a clean venv
installing ``runbind[emulator]==<version>`` from it, and the README's client loops run there."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from codegen import release

ROOT = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
README_LOOPS = [
    block
    for block in re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    if "from runbind.emulator import Emulator" in block and "# completed" in block
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def _index(packages: Path) -> Iterator[str]:
    """pypiserver on 127.0.0.1 serving ``packages``, uploads without authentication."""
    port = _free_port()
    argv = [sys.executable, "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", str(port)]
    argv += ["-a", ".", "-P", ".", "--disable-fallback", str(packages)]
    log = packages.parent / "pypiserver.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/simple/", timeout=2):
                    break
            except OSError:
                assert server.poll() is None, log.read_text(errors="replace")
                assert time.monotonic() < deadline, "pypiserver did not start in 30 s"
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _run(argv: list[str], env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return proc.stdout


def test_a_release_uploaded_to_an_index_installs_by_version_and_runs_the_readme(
    tmp_path: Path,
) -> None:
    assert len(README_LOOPS) == 3  # one tool loop per client: Yandex, OpenAI Runs and Responses
    dist = release.build_dists(ROOT, tmp_path / "dist", epoch=0)
    packages = tmp_path / "packages"
    packages.mkdir()
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    with _index(packages) as url:
        upload = [sys.executable, "-m", "twine", "upload", "--non-interactive"]
        upload += ["--repository-url", f"{url}/", "-u", "runbind", "-p", "unused"]
        _run([*upload, *map(str, dist)])
        assert sorted(p.name for p in packages.iterdir()) == sorted(p.name for p in dist)
        venv = tmp_path / "venv"
        _run([sys.executable, "-m", "venv", str(venv)], env=clean)
        python = str(venv / "bin" / "python")
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        # runbind from the local index only; then its dependencies from the registry configured
        # for this machine (runbind itself is already satisfied by then)
        _run([*pip, "--no-deps", "--index-url", f"{url}/simple/", f"runbind=={VERSION}"], env=clean)
        _run([*pip, f"runbind[emulator]=={VERSION}"], env=clean)
    where = _run([python, "-I", "-c", "import runbind; print(runbind.__file__)"], env=clean)
    assert where.startswith(str(venv)), where
    assert "runbind " + VERSION in _run([str(venv / "bin" / "runbind"), "--version"], env=clean)
    for code in README_LOOPS:
        expected = code.rsplit("# ", 1)[1].strip()
        out = _run([python, "-I", "-c", code], env=clean)
        assert out.strip() == expected, out
