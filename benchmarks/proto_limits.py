"""Hostile-shape protobuf rows: decode time of unknown fields and of repeated merges at three
sizes (linear growth: each size 4x the last should take 4x the time), and the memory a decoded
message holds, against Google's upb.

- unknown fields: a ``Run`` of 3-byte unknown varint fields numbered past the known ones (a newer
  schema's fields), against the same number of 3-byte known string fields (``id``, last one
  wins) and against upb on the same bytes; a row's note gives the time against the known
  strings (the target: at most 2x) and the growth from the size before.
- merges: ``Run.usage`` seen again and again, each time with an unknown field of its own.
- memory: the resident memory a fresh interpreter gains holding the decoded message, for 1 MiB of
  empty runs in a ``ListRunsResponse`` (2 wire bytes each, the costliest shape a byte) and for
  1,000 realistic runs; ours against upb, which decodes into one arena and makes Python objects
  only when they are read (not here).
"""

from __future__ import annotations

import functools
import itertools
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import Run

from . import _google
from ._payloads import yandex_run
from ._results import Row, Series
from ._timing import Contender, Settings, compare

__all__ = ["rows"]

MIB = 1 << 20
SIZES = (MIB // 4, MIB, 4 * MIB)
_UNKNOWN = b"\x98\x06\x01"  # field 99, varint 1: 3 bytes
_KNOWN = b"\x0a\x01x"  # Run.id = "x": 3 bytes
_MERGE = b"\x42\x03\x98\x06\x01"  # Run.usage holding field 99: 5 bytes


def _times(n: int, piece: bytes) -> bytes:
    return piece * (n // len(piece))


def _label(size: int) -> str:
    return f"{size / MIB:g} MiB"


def _check(google: Any, data: bytes) -> None:
    ours = Run.parse(data)
    if (
        google.FromString(bytes(ours)).SerializeToString()
        != google.FromString(data).SerializeToString()
    ):
        raise AssertionError("upb reads our re-encoding differently")


def _growth_rows(
    name: str, piece: bytes, settings: Settings, google: Any, known: bytes | None
) -> list[Row]:
    rows: list[Row] = []
    for size in SIZES:
        data = _times(size, piece)
        _check(google, data)
        anchors = []
        if known is not None:
            same = _times(size, known)
            anchors.append(
                Contender("Run.parse, known strings", functools.partial(Run.parse, same))
            )
        anchors.append(Contender("upb FromString", functools.partial(google.FromString, data)))
        rows.append(
            compare(
                "proto",
                f"Run.parse: {_label(size)} of {name}",
                settings,
                Contender(f"Run.parse, {name}", functools.partial(Run.parse, data)),
                *anchors,
            )
        )
    for before, row in itertools.pairwise(rows):
        growth = row.ours.min / before.ours.min
        row.note = f"time x{growth:.2f} for 4x the bytes (linear: 4)"
    if known is not None:
        for row in rows:
            low, mid = row.ratios(row.anchors[0])
            slower = f"{1 / low:.2f}x / {1 / mid:.2f}x the known strings' time (target: <= 2x)"
            row.note = f"{slower}; {row.note}" if row.note else slower
    return rows


_CHILD = """\
import gc, os, sys
sys.path[:0] = sys.argv[2:]
data = open(sys.argv[1], "rb").read()
def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
{setup}
gc.collect()
before = rss()
held = {decode}
sys.stdout.write(repr((rss() - before) / 1048576) + "\\n")
"""

_OURS = (
    "from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import ListRunsResponse",
    "ListRunsResponse.parse(data)",
)
_UPB = (
    "import google\ngoogle.__path__.append(sys.argv[2] + '/google')\n"
    "from yandex.cloud.ai.assistants.v1.runs.run_service_pb2 import ListRunsResponse",
    "ListRunsResponse.FromString(data)",
)


def _held(setup: tuple[str, str], data: Path, paths: list[str]) -> float:
    """MiB of resident memory a fresh interpreter gains decoding ``data`` and holding it."""
    script = _CHILD.format(setup=setup[0], decode=setup[1])
    argv = [sys.executable, "-c", script, str(data), *paths]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"memory probe failed: {proc.stderr.strip()[-400:]}")
    return max(float(proc.stdout), 1e-3)


def _memory_rows(settings: Settings, modules: _google.GoogleModules) -> list[Row]:
    pb2_root = str(Path(str(modules.run_pb2.__file__)).parents[6])
    generated = str(Path(str(sys.modules["runbind_generated"].__file__)).parents[1])
    runs = [bytes(yandex_run(tools=tools)) for tools in (True, False)]
    realistic = b"".join(b"\x0a" + _size(r) + r for r in runs * 500)
    payloads = {
        f"{_label(MIB)} of empty runs (2 bytes each)": _times(MIB, b"\x0a\x00"),
        f"1,000 realistic runs ({len(realistic) / MIB:.1f} MiB)": realistic,
    }
    rows = []
    with tempfile.TemporaryDirectory(prefix="runbind-bench-memory-") as tmp:
        for what, payload in payloads.items():
            path = Path(tmp) / "data.bin"
            path.write_bytes(payload)
            ours: list[float] = []
            upb: list[float] = []
            for round_ in range(settings.rounds):
                order = [(ours, _OURS), (upb, _UPB)]
                for samples, setup in order if round_ % 2 == 0 else order[::-1]:
                    samples.append(_held(setup, path, [pb2_root, generated]))
            per_byte = ours and min(ours) * MIB / len(payload)
            rows.append(
                Row(
                    "proto",
                    f"ListRunsResponse held after decoding {what}",
                    Series("ListRunsResponse.parse", ours),
                    [Series("upb FromString", upb)],
                    unit="MiB",
                    per="process",
                    note=f"ours: {per_byte:.0f} bytes per wire byte (resident memory gained)",
                )
            )
    return rows


def _size(data: bytes) -> bytes:
    out = bytearray()
    value = len(data)
    while value > 127:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def rows(settings: Settings) -> list[Row]:
    """The growth rows, then the memory rows."""
    modules = _google.modules()
    google: Any = modules.run_pb2.Run
    result = _growth_rows("unknown varint fields", _UNKNOWN, settings, google, _KNOWN)
    result += _growth_rows("a sub-message merged again", _MERGE, settings, google, None)
    return result + _memory_rows(settings, modules)
