"""What the fuzz modules share: the hypothesis settings, the corpus, and a memory probe.

``RUNBIND_FUZZ_EXAMPLES`` (an int) sets the examples of every fuzz test (default
:data:`DEFAULT_EXAMPLES`, sized for CI); the runs are derandomised and keep no example database,
so that CI is reproducible. A longer search: ``RUNBIND_FUZZ_EXAMPLES=20000 pytest tests/fuzz``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import tracemalloc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from runbind import RunbindError
from tests._memory import traced

__all__ = [
    "CORPUS",
    "CORPUS_FILE_LIMIT",
    "CORPUS_TOTAL_LIMIT",
    "DEFAULT_EXAMPLES",
    "EXAMPLES",
    "FUZZ",
    "canned_server",
    "corpus",
    "ld",
    "peak_memory",
    "touch",
    "varint",
]

DEFAULT_EXAMPLES = 300
"""Examples per fuzz test in CI: the whole package stays well under a minute on 2 cores."""


def _examples() -> int:
    raw = os.environ.get("RUNBIND_FUZZ_EXAMPLES", "")
    return int(raw) if raw.strip() else DEFAULT_EXAMPLES


EXAMPLES = _examples()
"""Examples per fuzz test: ``RUNBIND_FUZZ_EXAMPLES`` or :data:`DEFAULT_EXAMPLES`."""

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""The settings of every fuzz test (reproducible: derandomised, no example database)."""

CORPUS = Path(__file__).parent / "corpus"
"""``corpus/<target>/<what it holds>``: seeds and every input that once found a bug."""


CORPUS_FILE_LIMIT = 64 * 1024
CORPUS_TOTAL_LIMIT = 1024 * 1024
"""Bytes a corpus file and the whole corpus may take: big hostile inputs are made in code."""


def corpus(target: str) -> list[Any]:
    """The files of ``corpus/<target>`` as ``pytest.param(bytes, id=file name)``, sorted.

    Fails when the target has no file, or a file or the corpus is over its size limit.
    """
    files = sorted(p for p in (CORPUS / target).iterdir() if p.is_file())
    assert files, f"the {target} corpus is empty"
    for path in files:
        assert path.stat().st_size < CORPUS_FILE_LIMIT, f"{path} is too big for the corpus"
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    assert total < CORPUS_TOTAL_LIMIT, f"the corpus takes {total} bytes"
    return [pytest.param(p.read_bytes(), id=p.name) for p in files]


def peak_memory(call: Callable[[], object]) -> int:
    """Bytes allocated at the peak while ``call()`` runs (exceptions are swallowed)."""
    with traced():
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        with contextlib.suppress(Exception):  # only the memory is measured here
            call()
        return tracemalloc.get_traced_memory()[1] - base


def touch(value: Any) -> None:
    """Read every field of a decoded runbind object, nested and deferred ones included, and its
    derived properties; not ``raw`` (the provider's own object). Only runbind's errors may come
    of it (a failed run has no message; a model may write arguments that are no JSON object).
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = [f.name for f in dataclasses.fields(value) if f.name != "raw"]
        names += [
            name
            for name in ("text", "arguments", "message")
            if isinstance(getattr(type(value), name, None), property)
        ]
        for name in names:
            try:
                item = getattr(value, name)
            except RunbindError:
                continue
            touch(item)
        assert repr(value)
    elif isinstance(value, tuple | list):
        for item in value:
            touch(item)
    elif isinstance(value, dict):
        for item in value.values():
            touch(item)


def varint(value: int) -> bytes:
    """``value`` (>= 0) as a protobuf varint."""
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | value & 0x7F)
        value >>= 7
    out.append(value)
    return bytes(out)


def ld(number: int, payload: bytes) -> bytes:
    """Field ``number`` holding ``payload`` length-delimited (wire type 2)."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


@asynccontextmanager
async def canned_server(status: int, content_type: str, body: bytes) -> AsyncIterator[str]:
    """A loopback HTTP server answering every request with ``body``; yields its ``/v1`` URL.

    Hostile bodies for the clients (a fault no real server should send): each connection reads
    one request, gets the answer and is closed; every wait is bounded.
    """

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await asyncio.wait_for(reader.readexactly(length), 5)
            writer.write(
                b"HTTP/1.1 %d X\r\ncontent-type: %s\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n" % (status, content_type.encode(), len(body)) + body
            )
            await asyncio.wait_for(writer.drain(), 5)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.close()
        await server.wait_closed()
