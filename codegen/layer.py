"""Prove the hand-written layer against freshly generated code: the "Effect on runbind".

A bump regenerates ``generated/``; runbind's Run layer, clients and emulator are written against
the names and fields of that code. :func:`prove` runs the layer's tests (:data:`LAYER_TESTS`) in
a pytest subprocess whose ``PYTHONPATH`` puts the new ``generated/`` first, and returns what
broke: test ids and each one's first error line (an ``ImportError``/``AttributeError`` naming the
missing generated name).

How the subset is chosen: every module of ``src/runbind`` that imports ``runbind_generated`` is
exercised by one of the listed test modules, and each of them works in process (or on loopback)
without timing bounds: the converters between generated models and the neutral Run
(``Run.from_yandex``, ``RunResult.from_openai``, the Responses adapter), the clients' paging
(request builders and parsers), and the emulator's Yandex, Assistants and Responses apps (which
build generated objects). The slower client suites (polling deadlines, transport faults) add no
generated name the subset misses, so they stay out; ``-m "not serial"`` drops wall-clock-bound
tests. Measured: about 330 tests in 30 s of pytest time (45 s with start-up on a loaded machine).

A bump that breaks the layer is refused; adopted with ``--allow-broken-layer`` it leaves
:data:`MARKER` (``specs/broken-layer.json``), and ``python -m codegen check`` fails while it is
there: check runs the layer tests again and removes the marker once they pass.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen.lock import PROJECT_ROOT
from codegen.toolenv import tool_env

__all__ = [
    "LAYER_TESTS",
    "MARKER",
    "Effect",
    "Failure",
    "check_marker",
    "missing_names",
    "prove",
    "read_marker",
    "write_marker",
]

LAYER_TESTS: tuple[str, ...] = (
    "tests/yandex/test_adapter.py",
    "tests/yandex/test_paging.py",
    "tests/openai/test_adapter.py",
    "tests/openai/test_responses_adapter.py",
    "tests/openai/test_paging.py",
    "tests/emulator/test_yandex_service.py",
    "tests/emulator/test_openai_app.py",
    "tests/emulator/test_responses_app.py",
)
"""The layer's tests that depend on generated code (the module docstring says why these)."""
MARKER = Path("specs") / "broken-layer.json"
"""Written by a bump adopted with ``--allow-broken-layer``; ``check`` fails while it exists."""
TIMEOUT = 900.0
_SHOWN = 40  # failures listed in the Markdown section (the JSON has them all)
_ERROR_LINE = re.compile(r"^E\s+(\w+(?:\.\w+)*(?:Error|Exception|Exit)\b.*)$")
_MISSING = (
    re.compile(r"cannot import name '([^']+)' from '([^']+)'"),
    re.compile(r"'([^']+)' object has no attribute '([^']+)'"),
    re.compile(r"module '([^']+)' has no attribute '([^']+)'"),
    re.compile(r"(\w+)\.__init__\(\) got an unexpected keyword argument '([^']+)'"),
    re.compile(r"got an unexpected keyword argument '([^']+)'"),
    re.compile(r"No module named '([^']+)'"),
)


@dataclass(frozen=True)
class Failure:
    """One failing layer test: its pytest id and the first line of its error."""

    test: str
    error: str


@dataclass(frozen=True)
class Effect:
    """What the new generated code does to runbind's layer (the report's "Effect on runbind")."""

    tests: tuple[str, ...]
    passed: int
    failures: tuple[Failure, ...] = ()
    seconds: float = 0.0
    adopted_broken: bool = False
    refused: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def broken(self) -> bool:
        """True when any layer test failed (or the run itself did)."""
        return bool(self.failures)

    def markdown(self) -> list[str]:
        """The report section, as Markdown lines."""
        modules = "module" if len(self.tests) == 1 else "modules"
        scope = f"{len(self.tests)} test {modules} of the layer (`codegen/layer.py`)"
        out = ["## Effect on runbind", ""]
        if not self.broken:
            out += [
                f"None: {self.passed} tests of {scope} pass against the new generated code "
                f"({self.seconds:.0f} s).",
                "",
            ]
            return out
        out.append(
            f"**{len(self.failures)} failing** ({self.passed} passing) of {scope} against the "
            f"new generated code ({self.seconds:.0f} s)."
        )
        out.append("")
        if self.refused:
            out += [
                "**Not adopted**: the bump was rolled back. Fix the layer (or the overlay), or "
                "adopt it anyway with `--allow-broken-layer`.",
                "",
            ]
        if self.adopted_broken:
            out += [
                "**Adopted with `--allow-broken-layer`**: runbind's layer is broken at this "
                f"commit. `{MARKER.as_posix()}` records it and `python -m codegen check` fails "
                "until the layer tests pass again.",
                "",
            ]
        names = missing_names(self.failures)
        if names:
            out += ["Generated names the layer misses:", ""]
            out += [f"- `{name}`" for name in names]
            out.append("")
        out += ["Failing tests (first error line):", ""]
        out += [f"- `{f.test}`: `{_tick(f.error)}`" for f in self.failures[:_SHOWN]]
        if len(self.failures) > _SHOWN:
            out.append(f"- … and {len(self.failures) - _SHOWN} more (the JSON report lists all)")
        out += ["", *self.notes] if self.notes else []
        out.append("")
        return out

    def as_dict(self) -> dict[str, Any]:
        """The section for the JSON report."""
        return {
            "tests": list(self.tests),
            "passed": self.passed,
            "broken": self.broken,
            "refused": self.refused,
            "adopted_broken": self.adopted_broken,
            "seconds": round(self.seconds, 1),
            "missing_names": missing_names(self.failures),
            "failures": [{"test": f.test, "error": f.error} for f in self.failures],
        }


def _tick(text: str) -> str:
    return text.replace("`", "'")


def missing_names(failures: Sequence[Failure]) -> list[str]:
    """The generated names the errors say are missing (``module.Name``, ``Class.field``)."""
    found: set[str] = set()
    for failure in failures:
        for pattern in _MISSING:
            match = pattern.search(failure.error)
            if match is None:
                continue
            groups = match.groups()
            if len(groups) == 2 and pattern is _MISSING[0]:
                found.add(f"{groups[1]}.{groups[0]}")
            elif len(groups) == 2:
                found.add(f"{groups[0]}.{groups[1]}")
            else:
                found.add(groups[0])
            break
    return sorted(found)


def _first_error(message: str, text: str) -> str:
    """The exception line of a failure: the first ``E   XxxError: ...`` line, else the message."""
    lines = [line.rstrip() for line in text.splitlines()]
    for line in lines:
        match = _ERROR_LINE.match(line)
        if match:
            return match.group(1)[:300]
    for line in lines:
        if line.startswith("E "):
            return line[1:].strip()[:300]
    return (message.splitlines()[0] if message else "failed")[:300]


def _test_id(classname: str, name: str, tests: Sequence[str]) -> str:
    """pytest's id from a JUnit ``classname`` and ``name``."""
    for module in sorted(tests, key=len, reverse=True):
        dotted = module.removesuffix(".py").replace("/", ".")
        if classname == dotted or classname.startswith(dotted + "."):
            rest = classname[len(dotted) :].lstrip(".")
            return "::".join(part for part in (module, *rest.split("."), name) if part)
    if not classname:  # a collection error names the module only
        return name.replace(".", "/") + ".py"
    return f"{classname}::{name}"


def _parse_junit(path: Path, tests: Sequence[str]) -> tuple[int, list[Failure]]:
    root = ET.parse(path).getroot()
    passed, failures = 0, []
    for case in root.iter("testcase"):
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is None:
            if case.find("skipped") is None:
                passed += 1
            continue
        test = _test_id(case.get("classname", ""), case.get("name", ""), tests)
        failures.append(Failure(test, _first_error(bad.get("message", ""), bad.text or "")))
    return passed, failures


def prove(
    generated: Path,
    *,
    tests: Sequence[str] = LAYER_TESTS,
    project: Path = PROJECT_ROOT,
    timeout: float = TIMEOUT,
) -> Effect:
    """Run ``tests`` (paths under ``project``) against the code in ``generated``.

    The subprocess sees ``generated`` first on ``PYTHONPATH``, then ``project/src`` and
    ``project`` (the tests package); the project's own ``generated/`` is not on it.
    """
    # Nothing of a test run that started the bump (pytest's state, a coverage tracer) carries
    # over: the proof is a run of its own.
    env = {k: v for k, v in tool_env().items() if not k.startswith(("PYTEST_", "COV_CORE"))}
    env["PYTHONPATH"] = os.pathsep.join(
        str(p) for p in (generated.resolve(), project / "src", project)
    )
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="runbind-layer-") as tmp:
        junit = Path(tmp) / "junit.xml"
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
        argv += ["-m", "not serial", "--tb=short", f"--junitxml={junit}", *tests]
        try:
            proc = subprocess.run(
                argv,
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            failure = Failure("(layer tests)", f"timed out after {timeout:.0f} s")
            return Effect(tuple(tests), 0, (failure,), time.perf_counter() - started)
        seconds = time.perf_counter() - started
        passed, failures = _parse_junit(junit, tests) if junit.is_file() else (0, [])
    if proc.returncode not in (0, 1, 2) or (proc.returncode and not failures):
        tail = (proc.stdout + proc.stderr).strip().splitlines()
        failures.append(
            Failure("(layer tests)", f"pytest exited {proc.returncode}: {tail[-1] if tail else ''}")
        )
    return Effect(tuple(tests), passed, tuple(failures), seconds)


# --- the marker of an adopted broken layer ----------------------------------------------------


def write_marker(root: Path, source: str, commit: str, report: str, effect: Effect) -> Path:
    """Record that the layer is broken at ``source``'s ``commit``; ``check`` reads it."""
    path = root / MARKER
    data = {
        "source": source,
        "commit": commit,
        "report": report,
        "failing": len(effect.failures),
        "missing_names": missing_names(effect.failures),
        "how to clear": "fix the layer, then `python -m codegen check` (removes this file "
        "once the layer tests pass)",
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


def read_marker(root: Path) -> dict[str, Any] | None:
    """The marker's content, or None when the layer is not marked broken."""
    path = root / MARKER
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def check_marker(root: Path = PROJECT_ROOT, *, tests: Sequence[str] = LAYER_TESTS) -> list[str]:
    """Problems for ``check``: none without the marker; with it, the layer tests run again.

    When they pass the marker is removed (the layer was fixed); otherwise one problem line
    names the bump, the count and a missing name, and points at the report.
    """
    data = read_marker(root)
    if data is None:
        return []
    effect = prove(root / "generated", tests=tests, project=PROJECT_ROOT)
    if not effect.broken:
        (root / MARKER).unlink()
        print(f"check: the layer passes again ({effect.passed} tests); removed {MARKER}")
        return []
    names = missing_names(effect.failures)
    example = names[0] if names else effect.failures[0].error
    return [
        f"check: runbind's layer is broken since the bump of {data.get('source')} to "
        f"{str(data.get('commit'))[:12]} ({len(effect.failures)} failing layer tests, e.g. "
        f"{example}); see {data.get('report')}; {MARKER} is removed once they pass"
    ]
