"""Coverage-guided fuzzing of the decoders with atheris (libFuzzer), for long runs: ``nox -s fuzz``.

``python -m tests.fuzz._atheris TARGET [libFuzzer options] [NEW_DIR CORPUS_DIR]``, TARGET one of
``proto``, ``openai_json``, ``sse``. Each input goes through the same oracle as the target's
hypothesis tests (every path, only typed errors, the paths agree); anything else is a crash,
which libFuzzer saves (``-artifact_prefix``). New inputs go to the first directory; name the
ones worth keeping for what they hold and move them into ``tests/fuzz/corpus/TARGET/``, where
the parametrised corpus tests replay them. Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

atheris: Any = importlib.import_module("atheris")  # untyped, and only in the fuzz session

with atheris.instrument_imports(include=["runbind", "runbind_generated"]):
    from . import test_openai_json, test_proto, test_sse

__all__ = ["TARGETS", "main"]


def _proto(data: bytes) -> None:
    for name in test_proto.TYPES:
        test_proto.decode_everywhere(name, data)


def _openai_json(data: bytes) -> None:
    test_openai_json.test_the_corpus_replays_with_only_decode_errors(data)


def _sse(data: bytes) -> None:
    # The first two bytes choose a chunk size, so that libFuzzer explores the splits too.
    size = int.from_bytes(data[:2], "little") % 97 + 1
    body = data[2:]
    chunks = [body[i : i + size] for i in range(0, len(body), size)]
    expected = test_sse.reference(body, test_sse.LIMIT)
    assert test_sse.parse([chunks, [body]]) == [expected, expected]
    test_sse.decode_events(expected)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "proto": _proto,
    "openai_json": _openai_json,
    "sse": _sse,
}


def main(argv: list[str]) -> None:
    """Fuzz ``argv[1]`` with libFuzzer's options in the rest of ``argv``."""
    if len(argv) < 2 or argv[1] not in TARGETS:
        raise SystemExit(f"usage: python -m tests.fuzz._atheris {{{','.join(TARGETS)}}} ...")
    target = TARGETS[argv[1]]
    atheris.Setup([argv[0], *argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
