"""Google's side of the proto rows: ``_pb2`` and ``_pb2_grpc`` modules that grpcio-tools' protoc
writes from the locked specs into a temp folder at bench time (no .proto is copied anywhere).

The modules are imported from that folder under their real names (``yandex.cloud...run_pb2``):
the ``yandex`` tree gets ``__init__.py`` files so that it wins over any installed namespace
portion, and its ``google/api`` files join the ``google`` namespace package beside protobuf's own.
"""

from __future__ import annotations

import functools
import importlib
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import grpc_tools

from codegen import fetch, lock, protos

__all__ = ["RUN_SERVICE", "GoogleModules", "modules", "spec_root"]

RUN_SERVICE = "yandex/cloud/ai/assistants/v1/runs/run_service.proto"
_RUN_SERVICE_MODULE = "yandex.cloud.ai.assistants.v1.runs.run_service_pb2"


@dataclass(frozen=True)
class GoogleModules:
    """The imported modules of the run service (messages and grpcio stubs)."""

    run_pb2: ModuleType
    run_service_pb2: ModuleType
    run_service_pb2_grpc: ModuleType


def spec_root() -> Path:
    """The synced, verified cloudapi tree (``specs/upstream/cloudapi``; synced when missing)."""
    return fetch.fetch_source(lock.load().by_kind("proto"))


def _names(spec: Path) -> list[str]:
    """What protoc calls the run service's files and every file they import (WKTs aside)."""
    prefix = protos.GOOGLEAPIS_ROOT + "/"
    closure = protos.import_closure(spec, [RUN_SERVICE])
    return [rel.removeprefix(prefix) for rel in closure]


def _protoc(spec: Path, out: Path) -> None:
    wkt = Path(grpc_tools.__file__).resolve().parent / "_proto"
    args = [sys.executable, "-m", "grpc_tools.protoc", f"-I{spec / protos.GOOGLEAPIS_ROOT}"]
    args += [f"-I{spec}", f"-I{wkt}", f"--python_out={out}", f"--grpc_python_out={out}"]
    proc = subprocess.run([*args, *_names(spec)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"protoc failed: {proc.stderr.strip()}")


def _join_google_namespace(out: Path) -> None:
    """Let ``google.api`` (written by protoc) be found beside the installed ``google.protobuf``."""
    import google  # noqa: PLC0415 - the namespace package protobuf installs

    portion = str(out / "google")
    if portion not in list(google.__path__):
        google.__path__.append(portion)


@functools.cache
def modules() -> GoogleModules:
    """The modules, generated into a temp folder (removed at exit) on the first call."""
    folder = tempfile.TemporaryDirectory(prefix="runbind-bench-pb2-")
    _FOLDERS.append(folder)
    return _build(Path(folder.name))


_FOLDERS: list[tempfile.TemporaryDirectory[str]] = []


def _build(out: Path) -> GoogleModules:
    _protoc(spec_root(), out)
    for folder in [out / "yandex", *(p for p in (out / "yandex").rglob("*") if p.is_dir())]:
        (folder / "__init__.py").touch()
    sys.path.insert(0, str(out))
    _join_google_namespace(out)
    service = importlib.import_module(_RUN_SERVICE_MODULE)
    if not Path(str(service.__file__)).resolve().is_relative_to(out.resolve()):
        raise RuntimeError(f"{_RUN_SERVICE_MODULE} came from {service.__file__}, not {out}")
    return GoogleModules(
        run_pb2=importlib.import_module("yandex.cloud.ai.assistants.v1.runs.run_pb2"),
        run_service_pb2=service,
        run_service_pb2_grpc=importlib.import_module(_RUN_SERVICE_MODULE + "_grpc"),
    )
