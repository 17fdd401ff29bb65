"""The memory a decoded message holds is bounded by its wire size: at most a few hundred bytes
for each byte, whatever the shape, for every generated type.

Each decoded object costs its instance (its attributes stored inline, about 8 bytes each, and an
empty list or dict of 56-64 bytes for each repeated or map field) and takes at least 2 bytes on
the wire (a tag and a zero length), so the costliest input is a list of empty sub-messages of the
costliest type reachable: about (cost of an empty object + its list slot) / 2 bytes a byte. The
test builds, for every type, each shape that could beat that (empty elements and elements holding
one empty sub-message, short strings and bytes, packed varints, unknown enum numbers, map entries
with distinct short keys, the same one level down), measures what the decoded object holds with
tracemalloc beyond the empty message itself, and asserts the worst shape stays within that
structural bound (and, for the Yandex types, under :data:`LIMIT`). upb holds about 80 bytes a
byte for the worst of them (the memory rows of ``python -m benchmarks``): it allocates into one
arena and makes Python objects only on access.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import pkgutil
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import betterproto2
import pytest
from runbind_generated.proto.google.protobuf import ListValue, Struct, Value
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import Tool
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import ListRunsResponse

from tests._memory import traced
from tests._proto_inputs import key, ld, varint

SIZE = 4 * 1024
"""Wire bytes of each shape: thousands of elements, so that a list's spare room averages out."""

LIMIT = 200
"""Bytes held per wire byte, for any shape of any Yandex type (the worst measured: about 180,
for a list of empty Assistants; before the codecs set attributes in order, about 330)."""

ENUM_MEMBER = 300
"""Bytes of one open UNKNOWN enum member (a number the enum does not list), about 280."""


def _generated_types() -> list[type[betterproto2.Message]]:
    root = importlib.import_module("runbind_generated.proto")
    found: set[type[betterproto2.Message]] = set()
    for info in pkgutil.walk_packages(root.__path__, root.__name__ + "."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, betterproto2.Message)
                and obj.__module__ == module.__name__
            ):
                found.add(obj)
    return sorted(found, key=lambda c: f"{c.__module__}.{c.__name__}")


TYPES = _generated_types()


def _limited(cls: Any) -> bool:
    """Whether :data:`LIMIT` applies: the Yandex types and the JSON-like ones they hold (not
    descriptor.proto's, whose options make empty objects of up to 13 lists)."""
    return cls.__module__.startswith("runbind_generated.proto.yandex") or cls in (
        Struct,
        Value,
        ListValue,
    )


def _held(cls: Any, data: bytes) -> int:
    """Bytes the object decoded from ``data`` holds (allocated while decoding, still alive;
    decoded objects hold no cycles, so what an earlier call made is gone)."""
    with traced():
        obj = cls.parse(data)
        held = tracemalloc.get_traced_memory()[0]
    del obj
    return held


def _fill(unit: Callable[[int], bytes], size: int = SIZE) -> bytes:
    out: list[bytes] = []
    total = 0
    for i in itertools.count():
        piece = unit(i)
        out.append(piece)
        total += len(piece)
        if total >= size:
            return b"".join(out)
    raise AssertionError  # pragma: no cover


def _keys() -> Iterator[bytes]:
    """Distinct three-byte keys (a map of short keys needs them distinct to grow)."""
    for chars in itertools.product(b"abcdefghijklmnopqrstuvwxyz0123456789", repeat=3):
        yield bytes(chars)


def _map_key(meta: Any) -> Callable[[int], bytes] | None:
    kind = meta.proto_type
    if kind == "string":
        keys = _keys()
        return lambda i: ld(1, next(keys))
    if kind == "bool":
        return None  # two entries at most
    return lambda i: key(1, 0) + varint(i + 1)


def shapes(cls: Any, depth: int = 0) -> Iterator[tuple[str, bytes]]:
    """The inputs of ``cls`` that could make it hold the most per wire byte."""
    meta = cls._betterproto
    for name, f in meta.meta_by_field_name.items():
        n = f.number
        if f.proto_type == "map":
            make_key = _map_key(f.map_meta[0])
            if make_key is not None:

                def entry(i: int, n: int = n, make_key: Callable[[int], bytes] = make_key) -> bytes:
                    return ld(n, make_key(i))

                yield f"{name}: entries of distinct keys", _fill(entry)
        elif f.repeated and f.proto_type == "message":
            yield f"{name}: empty elements", _fill(lambda i: ld(n, b""))
            sub = meta.cls_by_field[name]
            for sname, sf in sub._betterproto.meta_by_field_name.items():
                if sf.proto_type == "message" and not sf.repeated:
                    inner = ld(sf.number, b"")
                    yield (
                        f"{name}: elements holding an empty {sname}",
                        _fill(lambda i: ld(n, inner)),
                    )
            if depth == 0:
                for sname, data in shapes(sub, depth + 1):
                    yield f"{name}[0].{sname}", ld(n, data)
        elif f.repeated and f.proto_type in ("string", "bytes"):
            yield f"{name}: two-byte values", _fill(lambda i: ld(n, b"ab"))
        elif f.repeated and f.proto_type == "enum":
            yield f"{name}: unknown one-byte numbers", ld(n, b"\x63" * SIZE)
            yield f"{name}: unknown two-byte numbers", ld(n, _fill(lambda i: varint(128 + i)))
        elif f.repeated:
            yield f"{name}: packed two-byte numbers", ld(n, b"\xff\x01" * (SIZE // 2))
        elif f.proto_type == "message" and f.unwrap is None and depth == 0:
            for sname, data in shapes(meta.cls_by_field[name], depth + 1):
                yield f"{name}.{sname}", ld(n, data)
        elif f.proto_type == "enum":
            yield f"{name}: an unknown number", key(n, 0) + varint(300)


def _reachable(cls: Any) -> Iterator[Any]:
    seen: set[Any] = set()
    todo = [cls]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        yield current
        meta = current._betterproto
        for name, f in meta.meta_by_field_name.items():
            if f.proto_type == "message" and f.unwrap is None:
                todo.append(meta.cls_by_field[name])
            elif f.proto_type == "map" and f.map_meta[1].proto_type == "message":
                todo.append(meta.cls_by_field[f"{name}.value"])


@functools.cache
def _empty(cls: Any) -> float:
    """Bytes of one empty decoded ``cls``, measured over many (CPython reuses up to 80 freed
    lists and dicts without allocating, which would hide a single object's containers)."""
    count = 1000
    with traced():
        objects = [cls.parse(b"") for _ in range(count)]
        held = tracemalloc.get_traced_memory()[0]
    del objects
    return held / count


def structural_bound(cls: Any) -> float:
    """Bytes per wire byte of the costliest 2-byte element reachable from ``cls``: an empty
    object and its list slot (or an UNKNOWN enum member), plus 20% for a list's spare room."""
    costliest = max(_empty(sub) + 8 for sub in _reachable(cls))
    return 1.2 * max(costliest, ENUM_MEMBER) / 2


@pytest.mark.parametrize("cls", TYPES, ids=[c.__name__ for c in TYPES])
def test_the_worst_shape_is_within_the_structural_bound(cls: Any) -> None:
    worst, what = 0.0, ""
    empty = _empty(cls)  # the message itself, whatever its size
    for name, data in shapes(cls):
        ratio = (_held(cls, data) - empty) / len(data)
        if ratio > worst:
            worst, what = ratio, name
    bound = min(structural_bound(cls), LIMIT) if _limited(cls) else structural_bound(cls)
    assert worst <= bound, f"{cls.__name__}: {what} holds {worst:.0f} bytes a byte ({bound:.0f})"


def test_empty_sub_messages_keep_the_compact_instance_layout() -> None:
    """A list of empty Runs: 2 wire bytes and, per Run, no per-object dict (which doubled it)."""
    data = ld(1, b"") * 20_000
    ratio = _held(ListRunsResponse, data) / len(data)
    assert ratio < 170, ratio  # about 156; with a dict per object, 324
    first, second = ListRunsResponse.parse(data).runs[:2]
    assert first.tools == second.tools == []
    assert first.labels == second.labels == {}
    first.tools.append(Tool())  # the containers are each object's own
    first.labels["k"] = "v"
    assert second.tools == []
    assert second.labels == {}


def test_unknown_enum_numbers_below_128_are_made_once() -> None:
    # Run.state (7) > RunState.status (1): a number the enum does not list, in two runs
    first = ListRunsResponse.parse(ld(1, ld(7, key(1, 0) + b"\x63")) * 2).runs
    again = ListRunsResponse.parse(ld(1, ld(7, key(1, 0) + b"\x63"))).runs
    assert first[0].state is not None
    assert again[0].state is not None
    assert int(first[0].state.status) == 99
    assert first[0].state.status is again[0].state.status
    large = ListRunsResponse.parse(ld(1, ld(7, key(1, 0) + varint(300))) * 2).runs
    assert large[0].state is not None
    assert large[1].state is not None
    assert large[0].state.status == large[1].state.status == 300
