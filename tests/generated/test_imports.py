"""Every generated module imports in a fresh interpreter, without the pipeline's tools."""

from __future__ import annotations

import subprocess
import sys

from codegen import pipeline

_PROBE = """
import importlib, pkgutil, sys
import runbind_generated as pkg
names = [m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")]
for name in names:
    importlib.import_module(name)
tools = [m for m in ("grpc_tools", "datamodel_code_generator", "yaml", "google.protobuf", "codegen")
         if m in sys.modules]
print(len(names), tools)
"""


def test_every_generated_module_imports_without_generator_tools() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=pipeline.GENERATED_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    count, tools = proc.stdout.split(" ", 1)
    assert int(count) >= 20
    assert tools.strip() == "[]", "generated code must not need the pipeline's tools at runtime"
