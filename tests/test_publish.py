"""Publishing against a real package index: pypiserver on loopback, twine upload, a clean venv
installing ``runbind[emulator]==<version>`` from it, and the README's client loops run there."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from codegen import release
from tests._install import README_LOOPS, clean_env, ok

ROOT = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


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


def test_a_release_uploaded_to_an_index_installs_by_version_and_runs_the_readme(
    tmp_path: Path,
) -> None:
    assert len(README_LOOPS) == 3  # one tool loop per client: Yandex, OpenAI Runs and Responses
    dist = release.build_dists(ROOT, tmp_path / "dist", epoch=0)
    packages = tmp_path / "packages"
    packages.mkdir()
    clean = clean_env()
    with _index(packages) as url:
        upload = [sys.executable, "-m", "twine", "upload", "--non-interactive"]
        upload += ["--repository-url", f"{url}/", "-u", "runbind", "-p", "unused"]
        ok([*upload, *map(str, dist)])
        assert sorted(p.name for p in packages.iterdir()) == sorted(p.name for p in dist)
        venv = tmp_path / "venv"
        ok([sys.executable, "-m", "venv", str(venv)], env=clean)
        python = str(venv / "bin" / "python")
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        # runbind from the local index only; then its dependencies from the registry configured
        # for this machine (runbind itself is already satisfied by then)
        ok([*pip, "--no-deps", "--index-url", f"{url}/simple/", f"runbind=={VERSION}"], env=clean)
        ok([*pip, f"runbind[emulator]=={VERSION}"], env=clean)
    where = ok([python, "-I", "-c", "import runbind; print(runbind.__file__)"], env=clean)
    assert where.startswith(str(venv)), where
    assert "runbind " + VERSION in ok([str(venv / "bin" / "runbind"), "--version"], env=clean)
    for code in README_LOOPS:
        expected = code.rsplit("# ", 1)[1].strip()
        out = ok([python, "-I", "-c", code], env=clean)
        assert out.strip() == expected, out
