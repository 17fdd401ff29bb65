"""Fetch (the ``sync`` step): mirror first, then the archive; hashes verified; one-line errors."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import io
import shutil
import socket
import tarfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from codegen import fetch, lock
from codegen.errors import SyncError


def make_mirror(root: Path, source: lock.Source, tree: Path) -> Path:
    """Lay out ``tree`` (a synced source) as a mirror folder; return the commit folder."""
    base = root / source.owner_repo / source.commit
    for rel in source.files:
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tree / rel, base / rel)
    return base


@pytest.fixture
def cloudapi(the_lock: lock.Lock) -> lock.Source:
    return the_lock.source("cloudapi")


@pytest.fixture
def mirror(tmp_path: Path, cloudapi: lock.Source, spec_dirs: Mapping[str, Path]) -> Path:
    return make_mirror(tmp_path / "mirror", cloudapi, spec_dirs["cloudapi"])


def _use_mirror(monkeypatch: pytest.MonkeyPatch, base: Path, source: lock.Source) -> None:
    root = base
    for _ in [*source.owner_repo.split("/"), source.commit]:
        root = root.parent
    monkeypatch.setenv(fetch.MIRROR_ENV, str(root))
    monkeypatch.setenv(fetch.NETWORK_ENV, "0")


def test_fetch_from_mirror_verifies_and_is_idempotent(
    tmp_path: Path, mirror: Path, cloudapi: lock.Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_mirror(monkeypatch, mirror, cloudapi)
    out = fetch.fetch_source(cloudapi, tmp_path / "up")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(
        [*cloudapi.files, ".runbind-sync"]
    )
    assert fetch.is_fetched(cloudapi, tmp_path / "up")
    stamp_mtime = (out / ".runbind-sync").stat().st_mtime_ns
    fetch.fetch_source(cloudapi, tmp_path / "up")
    assert (out / ".runbind-sync").stat().st_mtime_ns == stamp_mtime


def test_hash_mismatch_is_refused_and_names_file_and_source(
    tmp_path: Path, mirror: Path, cloudapi: lock.Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_mirror(monkeypatch, mirror, cloudapi)
    victim = "yandex/cloud/ai/assistants/v1/runs/run.proto"
    (mirror / victim).write_bytes((mirror / victim).read_bytes() + b"\n// tampered\n")
    with pytest.raises(SyncError) as err:
        fetch.fetch_source(cloudapi, tmp_path / "up")
    message = str(err.value)
    assert "\n" not in message
    assert victim in message
    assert "sha256 mismatch" in message
    assert str(mirror) in message
    assert not (tmp_path / "up" / "cloudapi").exists()


def test_a_failed_fetch_keeps_the_previous_materialisation(
    tmp_path: Path, mirror: Path, cloudapi: lock.Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_mirror(monkeypatch, mirror, cloudapi)
    out = fetch.fetch_source(cloudapi, tmp_path / "up")
    (out / ".runbind-sync").write_text("stale\n")  # force a re-sync
    (mirror / "LICENSE").write_bytes(b"changed")
    with pytest.raises(SyncError, match="LICENSE: sha256 mismatch"):
        fetch.fetch_source(cloudapi, tmp_path / "up")
    assert (out / ".runbind-sync").read_text() == "stale\n"
    assert sorted(p.name for p in (tmp_path / "up").iterdir()) == ["cloudapi"]


def test_missing_file_in_mirror(
    tmp_path: Path, mirror: Path, cloudapi: lock.Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_mirror(monkeypatch, mirror, cloudapi)
    (mirror / "yandex/cloud/validation.proto").unlink()
    with pytest.raises(SyncError, match=r"yandex/cloud/validation\.proto: missing in mirror"):
        fetch.fetch_source(cloudapi, tmp_path / "up")


def test_no_source_and_network_disabled(
    tmp_path: Path, cloudapi: lock.Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(fetch.MIRROR_ENV, str(tmp_path / "empty-mirror"))
    monkeypatch.setenv(fetch.NETWORK_ENV, "0")
    with pytest.raises(SyncError, match=r"^sync: cloudapi: commit 00e9ff043f54 not found"):
        fetch.fetch_source(cloudapi, tmp_path / "up")


class _ArchiveHandler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture
def archive_server(cloudapi: lock.Source, spec_dirs: Mapping[str, Path]) -> Iterator[str]:
    """A loopback HTTP server serving a GitHub-style archive of the synced cloudapi files."""
    buf = io.BytesIO()
    prefix = f"cloudapi-{cloudapi.commit}/"
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for rel in sorted(cloudapi.files):
            tar.add(spec_dirs["cloudapi"] / rel, arcname=prefix + rel)
    handler = type("Handler", (_ArchiveHandler,), {"body": buf.getvalue()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/yandex-cloud/cloudapi"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_archive_fallback_when_mirror_lacks_the_commit(
    tmp_path: Path, cloudapi: lock.Source, archive_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(fetch.MIRROR_ENV, str(tmp_path / "empty-mirror"))
    monkeypatch.setenv(fetch.NETWORK_ENV, "1")
    local = dataclasses.replace(cloudapi, repository=archive_server)
    out = fetch.fetch_source(local, tmp_path / "up")
    for rel, digest in cloudapi.files.items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest


def test_archive_with_a_tampered_file_is_refused(
    tmp_path: Path, cloudapi: lock.Source, archive_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(fetch.MIRROR_ENV, "")
    files = dict(cloudapi.files)
    files["LICENSE"] = "0" * 64
    local = dataclasses.replace(cloudapi, repository=archive_server, files=files)
    with pytest.raises(SyncError, match=r"LICENSE: sha256 mismatch in archive http://127\.0\.0\.1"):
        fetch.fetch_source(local, tmp_path / "up")
    assert not (tmp_path / "up" / "cloudapi").exists()


def test_unreachable_archive_is_one_line(
    tmp_path: Path, cloudapi: lock.Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(fetch.MIRROR_ENV, "")
    # A loopback port nobody listens on: the connection is refused at once.
    local = dataclasses.replace(
        cloudapi, repository=f"http://127.0.0.1:{_closed_port()}/o/cloudapi"
    )
    with pytest.raises(SyncError) as err:
        fetch.fetch_source(local, tmp_path / "up")
    assert "\n" not in str(err.value)
    assert "unreachable" in str(err.value)
    assert "no mirror configured" in str(err.value)


def _closed_port() -> int:
    """A loopback port that was free a moment ago and has no listener."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
