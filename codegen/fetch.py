"""Fetch: materialise the locked upstream files into ``specs/upstream/<source>/``, verified.

This is the pipeline's ``sync`` step (``python -m codegen sync``, ``nox -s sync``), which
:func:`fetch` runs, as ``generate`` and ``check`` do before they build.

Sources are tried in order: a mirror folder laid out as ``<owner>/<repo>/<commit>/<path>``
(``$RUNBIND_SPECS_MIRROR``, else ``../shared/specs-mirror`` beside the project when it
exists), then the GitHub archive of the locked commit (unless ``RUNBIND_SPECS_NETWORK=0``).
Every file's sha256 must match the lock; a mismatch, a missing file or an unreachable
source is a :class:`~codegen.errors.SyncError` with one line naming the file and source.
Files are staged in a temp folder and moved into place only when all of them verify.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

from codegen.errors import SyncError
from codegen.lock import PROJECT_ROOT, Lock, Source, sha256_file

UPSTREAM_DIR = PROJECT_ROOT / "specs" / "upstream"
MIRROR_ENV = "RUNBIND_SPECS_MIRROR"
NETWORK_ENV = "RUNBIND_SPECS_NETWORK"
DEFAULT_MIRROR = PROJECT_ROOT.parent / "shared" / "specs-mirror"
_STAMP = ".runbind-sync"
_ARCHIVE_TIMEOUT_S = 60.0
_ARCHIVE_MAX_BYTES = 512 * 1024 * 1024


def mirror_root() -> Path | None:
    """The configured mirror folder, or ``None`` when there is none."""
    configured = os.environ.get(MIRROR_ENV)
    if configured is not None:
        return Path(configured).expanduser().resolve() if configured else None
    return DEFAULT_MIRROR if DEFAULT_MIRROR.is_dir() else None


def network_allowed() -> bool:
    """Whether the GitHub archive may be used as a fallback source."""
    return os.environ.get(NETWORK_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}


def _stamp_text(source: Source) -> str:
    body = "\n".join(f"{p} {h}" for p, h in sorted(source.files.items()))
    digest = hashlib.sha256(body.encode()).hexdigest()
    return f"{source.label} {digest}\n"


def source_dir(source: Source, upstream_dir: Path = UPSTREAM_DIR) -> Path:
    """Where the files of ``source`` are materialised."""
    return upstream_dir / source.name


def is_fetched(source: Source, upstream_dir: Path = UPSTREAM_DIR) -> bool:
    """True when the materialised folder holds exactly this lock entry, hashes verified."""
    target = source_dir(source, upstream_dir)
    stamp = target / _STAMP
    if not stamp.is_file() or stamp.read_text(encoding="utf-8") != _stamp_text(source):
        return False
    return all(
        (target / rel).is_file() and sha256_file(target / rel) == expected
        for rel, expected in source.files.items()
    )


def _verify(source: Source, rel: str, data: bytes, origin: str) -> None:
    got = hashlib.sha256(data).hexdigest()
    expected = source.files[rel]
    if got != expected:
        raise SyncError(
            f"sync: {source.name}: {rel}: sha256 mismatch in {origin} "
            f"(lock {expected[:12]}…, got {got[:12]}…)"
        )


def _from_mirror(source: Source, mirror: Path, stage: Path) -> bool:
    """Copy from the mirror; False when it does not hold this commit at all."""
    base = mirror / source.owner_repo / source.commit
    if not base.is_dir():
        return False
    for rel in sorted(source.files):
        path = base / rel
        if not path.is_file():
            raise SyncError(f"sync: {source.name}: {rel}: missing in mirror {base}")
        data = path.read_bytes()
        _verify(source, rel, data, f"mirror {base}")
        out = stage / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    return True


def _download(source: Source) -> bytes:
    """The archive of the locked commit, bounded in size and time."""
    url = source.archive_url
    try:
        with urllib.request.urlopen(url, timeout=_ARCHIVE_TIMEOUT_S) as resp:
            blob: bytes = resp.read(_ARCHIVE_MAX_BYTES + 1)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SyncError(f"sync: {source.name}: archive {url} unreachable: {reason}") from exc
    if len(blob) > _ARCHIVE_MAX_BYTES:
        raise SyncError(f"sync: {source.name}: archive {url} is larger than the limit")
    return blob


def _from_archive(source: Source, stage: Path) -> None:
    """Download the commit's archive and extract only the locked files."""
    url = source.archive_url
    blob = _download(source)
    repo = source.owner_repo.split("/")[1]
    prefix = f"{repo}-{source.commit}/"
    wanted = set(source.files)
    try:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            for member in tar:
                if not member.isfile() or not member.name.startswith(prefix):
                    continue
                rel = member.name[len(prefix) :]
                if rel not in wanted:
                    continue
                extracted = tar.extractfile(member)
                if extracted is None:
                    continue
                data = extracted.read()
                _verify(source, rel, data, f"archive {url}")
                out = stage / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
                wanted.discard(rel)
    except tarfile.TarError as exc:
        raise SyncError(f"sync: {source.name}: archive {url} is not a valid tar.gz: {exc}") from exc
    if wanted:
        raise SyncError(f"sync: {source.name}: {min(wanted)}: missing in archive {url}")


def fetch_source(source: Source, upstream_dir: Path = UPSTREAM_DIR) -> Path:
    """Materialise one source (no-op when already fetched) and return its folder."""
    target = source_dir(source, upstream_dir)
    if is_fetched(source, upstream_dir):
        return target
    upstream_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{source.name}-", dir=upstream_dir))
    try:
        mirror = mirror_root()
        found = mirror is not None and _from_mirror(source, mirror, stage)
        if not found:
            if not network_allowed():
                where = f"mirror {mirror}" if mirror else "no mirror configured"
                raise SyncError(
                    f"sync: {source.name}: commit {source.commit[:12]} not found ({where}) "
                    f"and network is disabled ({NETWORK_ENV}=0)"
                )
            try:
                _from_archive(source, stage)
            except SyncError as exc:
                where = f"not in mirror {mirror}" if mirror else "no mirror configured"
                raise SyncError(f"{exc} ({where})") from exc
        (stage / _STAMP).write_text(_stamp_text(source), encoding="utf-8")
        old = target.with_name(f".{source.name}-old")
        if old.exists():
            shutil.rmtree(old)
        if target.exists():
            target.rename(old)
        stage.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)
    return target


def fetch(lock: Lock, upstream_dir: Path = UPSTREAM_DIR) -> Mapping[str, Path]:
    """Materialise every source of the lock; return ``{source name: folder}``."""
    return {name: fetch_source(src, upstream_dir) for name, src in sorted(lock.sources.items())}


@contextlib.contextmanager
def upstream_tree(source: Source) -> Iterator[Path]:
    """A whole upstream tree at ``source.commit`` (mirror folder, else extracted archive).

    Used to (re)compute a lock entry, when the file list is not known yet.
    """
    mirror = mirror_root()
    if mirror is not None and (mirror / source.owner_repo / source.commit).is_dir():
        yield mirror / source.owner_repo / source.commit
        return
    if not network_allowed():
        raise SyncError(
            f"sync: {source.name}: commit {source.commit[:12]} not in mirror {mirror} "
            f"and network is disabled ({NETWORK_ENV}=0)"
        )
    url = source.archive_url
    blob = _download(source)
    with tempfile.TemporaryDirectory(prefix="runbind-tree-") as tmp:
        try:
            with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
                tar.extractall(tmp, filter="data")
        except tarfile.TarError as exc:
            raise SyncError(f"sync: {source.name}: archive {url} is not a valid tar.gz") from exc
        repo = source.owner_repo.split("/")[1]
        yield Path(tmp) / f"{repo}-{source.commit}"
