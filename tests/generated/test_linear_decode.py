"""Decoding is linear in the input: unknown fields are never grown by concatenation.

The generated decoders once appended each unknown field to the message's ``_unknown_fields``
bytes (``d['_unknown_fields'] += buf[start:pos]``): n unknown fields copied O(n^2) bytes
(0.6 MB took over ten seconds), and so did a sub-message seen n times, each time merged again.
These tests hold the algorithm, not a clock: the generated code has no such concatenation in a
loop, and the runtime's two copying steps (``keep``: a range of unknown fields collected;
``grow``: unknown fields added to a message merged into) copy each byte a bounded number of times
for the shapes that were quadratic. Speed itself is a benchmark row (``python -m benchmarks``).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from runbind_generated.proto import _codec_runtime
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import ListRunsResponse, Run
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.threads import Message

from tests._proto_inputs import key, ld

N = 200_000
"""Unknown fields (or merges) per input: what took seconds before."""


def _codec_files() -> Iterator[Path]:
    root = importlib.import_module("runbind_generated.proto")
    yield Path(root.__file__ or "").parent / "_codec_runtime.py"
    for info in pkgutil.walk_packages(root.__path__, root.__name__ + "."):
        if info.name.endswith("._codec"):
            yield Path(importlib.import_module(info.name).__file__ or "")


def _names_unknown_fields(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr == "_unknown_fields"
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value == "_unknown_fields"
    return False


def _concatenations(tree: ast.AST) -> Iterator[int]:
    """Lines that make a message's unknown fields longer by building a new bytes object."""
    for node in ast.walk(tree):
        if isinstance(node, ast.AugAssign) and _names_unknown_fields(node.target):
            yield node.lineno
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.BinOp)
            and any(_names_unknown_fields(t) for t in node.targets)
        ):
            yield node.lineno


def test_no_generated_code_concatenates_unknown_fields() -> None:
    files = list(_codec_files())
    assert len(files) > 10
    for path in files:
        found = list(_concatenations(ast.parse(path.read_text(encoding="utf-8"))))
        assert not found, f"{path.name}: unknown fields concatenated at lines {found}"


@dataclass
class Copies:
    """What the runtime copied while decoding: calls and bytes of each copying step."""

    keep_calls: int = 0
    keep_bytes: int = 0
    grow_calls: int = 0
    grow_bytes: int = 0  # appended, plus what a message had when it turned into a bytearray


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> Copies:
    tally = Copies()
    keep: Any = _codec_runtime.keep
    grow: Any = _codec_runtime.grow

    def counting_keep(u: Any, piece: bytes) -> Any:
        tally.keep_calls += 1
        tally.keep_bytes += len(piece)
        return keep(u, piece)

    def counting_grow(obj: Any, more: bytearray) -> None:
        tally.grow_calls += 1
        old = obj._unknown_fields
        tally.grow_bytes += len(more) + (len(old) if type(old) is bytes else 0)
        grow(obj, more)

    monkeypatch.setattr(_codec_runtime, "keep", counting_keep)
    monkeypatch.setattr(_codec_runtime, "grow", counting_grow)
    return tally


def test_unknown_fields_in_a_row_are_copied_once(copies: Copies) -> None:
    data = (key(99, 0) + b"\x01") * N
    run = Run.parse(data)
    assert run._unknown_fields == data
    assert type(run._unknown_fields) is bytes
    assert (copies.keep_calls, copies.keep_bytes) == (1, len(data))


def test_unknown_fields_between_known_ones_are_copied_once(copies: Copies) -> None:
    unknown = ld(99, b"x") + key(15, 0) + b"\x81\x01"  # one range of two fields
    data = (ld(1, b"r") + unknown) * (N // 2)
    run = Run.parse(data)
    assert run.id == "r"
    assert run._unknown_fields == unknown * (N // 2)
    assert copies.keep_calls <= N // 2 + 1  # one a range (and an empty one to start)
    assert copies.keep_bytes == len(unknown) * (N // 2)


@pytest.mark.parametrize("shape", ["sub-message", "nested sub-message", "oneof member"])
def test_a_sub_message_merged_again_and_again_grows_its_unknown_fields_in_place(
    copies: Copies, shape: str
) -> None:
    field = key(99, 0) + b"\x01"
    holder: Any
    if shape == "sub-message":  # Run.usage (8), each occurrence with one unknown field
        holder = Run.parse(ld(8, field) * N).usage
    elif shape == "nested sub-message":  # Run.state (7) > completed_message (3) > author (5)
        state = Run.parse(ld(7, ld(3, ld(5, field))) * N).state
        assert state is not None
        assert state.completed_message is not None
        holder = state.completed_message.author
    else:  # Run.state (7) > RunState.error (2), a oneof member
        state = Run.parse(ld(7, ld(2, field)) * N).state
        assert state is not None
        holder = state.error
    assert holder._unknown_fields == field * N
    assert type(holder._unknown_fields) is bytes  # made bytes again when the decode ended
    assert copies.grow_calls == N - 1  # the first occurrence makes the message
    assert copies.grow_bytes <= 2 * len(field) * N


def test_repeated_and_map_fields_keep_their_unknown_fields_per_element(copies: Copies) -> None:
    # ListRunsResponse.runs (1): N empty runs, each with an unknown field of its own
    field = key(99, 0) + b"\x01"
    response = ListRunsResponse.parse(ld(1, field) * N)
    assert len(response.runs) == N
    assert all(r._unknown_fields == field for r in response.runs[:: N // 10])
    assert copies.grow_calls == 0
    assert copies.keep_bytes == len(field) * N
    # Message.labels (6): N entries that hold an unknown field are kept whole, in one range
    entry = ld(6, ld(1, b"k") + ld(2, b"v") + field)
    message = Message.parse(entry * N)
    assert message.labels == {}
    assert message._unknown_fields == entry * N


def test_a_failed_decode_leaves_no_grown_messages_behind() -> None:
    field = key(99, 0) + b"\x01"
    with pytest.raises(_codec_runtime.WireError):
        Run.parse(ld(8, field) * 3 + b"\x80")
    assert not vars(_codec_runtime._state)
    run = Run.parse(ld(8, field) * 3)
    assert run.usage is not None
    assert type(run.usage._unknown_fields) is bytes
