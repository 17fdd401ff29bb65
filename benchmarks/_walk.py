""" "Every field read": one routine walks a message tree by field name, for both libraries.

The plans (which names, and whether a field holds a scalar, a message, a list or a map) come
from Google's descriptors for both sides, so both read the same names; ``plans`` checks that
each name is also a field of our class under the same number. Two things differ, each the
library's own model: a wrapper field (``Int64Value``...) is a message for Google and its plain
value for betterproto2 (kind ``WRAPPED``), and whether a message field is set is
``HasField(name)`` for Google and ``is not None`` for ours.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import betterproto2

__all__ = ["MAP", "MESSAGE", "Plans", "Present", "google_present", "ours_present", "plans"]

LEAF, MESSAGE, REPEATED, REPEATED_MESSAGE, MAP, MAP_MESSAGE, WRAPPED = range(7)
Plan = tuple[tuple[str, int], ...]
Plans = dict[type, Plan]
Present = Callable[[Any, str, Any], bool]
Descriptor = Any  # protobuf's descriptor classes (upb or python) have no common typed base


def read_all(obj: Any, plans: Plans, present: Present) -> int:
    """Read every field of ``obj`` and its set sub-messages; the number of values read."""
    count = 0
    for name, kind in plans[type(obj)]:
        value = getattr(obj, name)
        if kind == LEAF:
            count += 1
        elif kind == MESSAGE:
            if present(obj, name, value):
                count += read_all(value, plans, present)
        elif kind == REPEATED:
            for _ in value:
                count += 1
        elif kind == REPEATED_MESSAGE:
            for item in value:
                count += read_all(item, plans, present)
        elif kind == MAP:
            for _ in value.items():
                count += 1
        elif kind == MAP_MESSAGE:
            for item in value.values():
                count += read_all(item, plans, present)
        elif value is not None:  # WRAPPED: betterproto2 keeps a wrapper's plain value
            count += 1
    return count


def google_present(obj: Any, name: str, value: Any) -> bool:
    """Whether a Google message field is set."""
    return bool(obj.HasField(name))


def ours_present(obj: Any, name: str, value: Any) -> bool:
    """Whether a betterproto2 message field is set."""
    return value is not None


def _kind(field: Any) -> int:
    message = field.message_type
    if message is not None and message.GetOptions().map_entry:
        value = message.fields_by_name["value"]
        return MAP_MESSAGE if value.message_type is not None else MAP
    if field.is_repeated:
        return REPEATED_MESSAGE if message is not None else REPEATED
    return MESSAGE if message is not None else LEAF


def _reachable(root: Descriptor) -> list[Descriptor]:
    seen: dict[str, Descriptor] = {}
    todo = [root]
    while todo:
        desc = todo.pop()
        if desc.full_name in seen:
            continue
        seen[desc.full_name] = desc
        todo += [f.message_type for f in desc.fields if f.message_type is not None]
    return [d for d in seen.values() if not d.GetOptions().map_entry]


def _ours_fields(cls: type[betterproto2.Message]) -> dict[str, Any]:
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    return {f.name: f.metadata["betterproto"] for f in fields}


def plans(
    root: Descriptor,
    google_cls: Callable[[Descriptor], type],
    ours_by_name: Mapping[str, type[betterproto2.Message]],
) -> tuple[Plans, Plans]:
    """The (Google, ours) plans of every message type reachable from ``root``."""
    google: Plans = {}
    ours: Plans = {}
    for desc in _reachable(root):
        ours_cls = ours_by_name[desc.full_name]
        meta = _ours_fields(ours_cls)
        g_plan: list[tuple[str, int]] = []
        o_plan: list[tuple[str, int]] = []
        for field in desc.fields:
            if field.name not in meta or meta[field.name].number != field.number:
                raise RuntimeError(f"{desc.full_name}.{field.name}: no such field in {ours_cls}")
            kind = _kind(field)
            g_plan.append((field.name, kind))
            wrapped = kind == MESSAGE and meta[field.name].unwrap is not None
            o_plan.append((field.name, WRAPPED if wrapped else kind))
        google[google_cls(desc)] = tuple(g_plan)
        ours[ours_cls] = tuple(o_plan)
    return google, ours
