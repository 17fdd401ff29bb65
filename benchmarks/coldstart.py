"""Cold start: a fresh interpreter per sample imports a package (and makes its first typed parse);
the child times itself from before the import and reports its peak RSS.

Peak RSS is ``VmHWM`` of ``/proc/self/status``: on Linux ``ru_maxrss`` of a spawned child starts
from the spawning process's high-water mark (it is kept across ``exec``), which here is the
benchmark's own 50+ MiB. ``ru_maxrss`` is the fallback where there is no ``/proc``.

The Yandex SDK needs protobuf<7, which the codegen pins cannot share, so it runs under its own
interpreter (``--yandex-sdk-python``; ``nox -s bench`` makes that venv). Its first parse is the
``run_pb2`` module the SDK ships with (from ``yandexcloud``), the class it decodes runs with.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ._payloads import openai_run_json, yandex_run
from ._results import Row, Series
from ._timing import Settings

__all__ = ["rows"]

# The child: nothing but builtins are loaded before the clock starts.
_CHILD = """\
import resource, sys, time
data = open(sys.argv[1], "rb").read()
start = time.perf_counter()
{code}
took = time.perf_counter() - start
try:  # this program's own high-water mark (ru_maxrss also holds the spawning parent's)
    with open("/proc/self/status") as status:
        rss = int(next(line for line in status if line.startswith("VmHWM:")).split()[1])
except OSError:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.stdout.write(f"{{took!r}} {{rss!r}}\\n")
"""

_YANDEX_PARSE = "runbind.Run.from_yandex(data)"
_OPENAI_PARSE = "runbind.Run.from_openai(data)"


@dataclass(frozen=True)
class _Case:
    label: str
    code: str
    python: str
    payload: str  # "yandex" or "openai": which file the child gets as argv[1]


def _sample(case: _Case, files: dict[str, Path]) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one fresh interpreter running ``case``."""
    script = _CHILD.format(code=case.code)
    argv = [case.python, "-I", "-c", script, str(files[case.payload])]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=files["cwd"])
    if proc.returncode != 0:
        raise RuntimeError(f"cold start {case.label!r} failed: {proc.stderr.strip()[-400:]}")
    took, rss = proc.stdout.split()
    return float(took), int(rss) / 1024  # both are in KiB


def _sdk_python(configured: str | None) -> str | None:
    if configured:
        return configured
    return sys.executable if importlib.util.find_spec("yandex_ai_studio_sdk") else None


def _cases(sdk: str | None) -> list[tuple[str, _Case, list[_Case]]]:
    me = sys.executable
    sdk_cases: dict[str, _Case] = {}
    if sdk is not None:
        sdk_import = "import yandex_ai_studio_sdk"
        parse = (
            f"{sdk_import}\nfrom yandex.cloud.ai.assistants.v1.runs.run_pb2 import Run\n"
            "Run.FromString(data)"
        )
        sdk_cases["import"] = _Case(sdk_import, sdk_import, sdk, "yandex")
        sdk_cases["parse"] = _Case("yandex_ai_studio_sdk + run_pb2 parse", parse, sdk, "yandex")
    openai_import = _Case("import openai", "import openai", me, "openai")
    openai_parse = _Case(
        "import openai + Run.model_validate_json",
        "import openai\nfrom openai.types.beta.threads import Run\nRun.model_validate_json(data)",
        me,
        "openai",
    )
    return [
        (
            "import",
            _Case("import runbind", "import runbind", me, "yandex"),
            [openai_import, *([sdk_cases["import"]] if sdk_cases else [])],
        ),
        (
            "import + first Yandex parse",
            _Case("runbind + Run.from_yandex", f"import runbind\n{_YANDEX_PARSE}", me, "yandex"),
            [sdk_cases["parse"]] if sdk_cases else [],
        ),
        (
            "import + first OpenAI parse",
            _Case("runbind + Run.from_openai", f"import runbind\n{_OPENAI_PARSE}", me, "openai"),
            [openai_parse],
        ),
    ]


def rows(settings: Settings, sdk_python: str | None = None) -> list[Row]:
    """Time and memory rows of each cold-start case, samples interleaved across cases."""
    sdk = _sdk_python(sdk_python)
    cases = _cases(sdk)
    flat = [case for _, ours, anchors in cases for case in (ours, *anchors)]
    times: dict[str, list[float]] = {case.label: [] for case in flat}
    memory: dict[str, list[float]] = {case.label: [] for case in flat}
    with tempfile.TemporaryDirectory(prefix="runbind-bench-cold-") as tmp:
        files = {
            "yandex": Path(tmp) / "run.bin",
            "openai": Path(tmp) / "run.json",
            "cwd": Path(tmp),
        }
        files["yandex"].write_bytes(bytes(yandex_run(tools=True)))
        files["openai"].write_text(openai_run_json(), encoding="utf-8")
        for round_ in range(settings.rounds):
            for offset in range(len(flat)):
                case = flat[(round_ + offset) % len(flat)]
                took, rss = _sample(case, files)
                times[case.label].append(took)
                memory[case.label].append(rss)
    note = (
        "" if sdk else "yandex-ai-studio-sdk not found (nox -s bench installs it in its own venv)"
    )
    result: list[Row] = []
    for name, ours, anchors in cases:
        for unit, data, suffix in (("s", times, ""), ("MiB", memory, ", peak RSS")):
            result.append(
                Row(
                    "coldstart",
                    f"cold {name}{suffix}",
                    Series(ours.label, data[ours.label]),
                    [Series(a.label, data[a.label]) for a in anchors],
                    unit=unit,
                    per="process",
                    note=note,
                )
            )
    return result
