"""The generated codecs and the strict wire walk accept exactly what upb accepts, and keep the
unknown fields upb keeps: a differential test on systematic edge cases and on random field soups.

For every input (see ``tests/_proto_inputs.py``) upb (``google.protobuf`` 7), ``cls.parse`` and
``runbind.yandex._wire.check`` accept or reject alike; for an accepted input, upb reads
``bytes(cls.parse(data))`` as it reads ``data``, unknown fields included, so nothing upb keeps is
lost or moved (wrappers and map entries with unknown fields, groups, known numbers with another
wire type). Google's classes come from the locked protos (the ``world`` fixture).
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._proto_inputs import cases, judge, ld, soup

from .test_proto_wire import World, world

__all__ = ["world"]

pytestmark = pytest.mark.filterwarnings("ignore:.* is deprecated:DeprecationWarning")

TYPES = (
    "yandex.cloud.ai.assistants.v1.runs.Run",
    "yandex.cloud.ai.assistants.v1.runs.StreamEvent",
    "yandex.cloud.ai.assistants.v1.threads.Message",
    "yandex.cloud.ai.assistants.v1.threads.Thread",
    "yandex.cloud.ai.assistants.v1.Assistant",
    "yandex.cloud.ai.assistants.v1.CompletionOptions",
    "yandex.cloud.ai.files.v1.File",
    "google.protobuf.Struct",
    "google.protobuf.Value",
)


@pytest.mark.parametrize("name", TYPES, ids=[t.rsplit(".", 1)[1] for t in TYPES])
def test_every_edge_case_is_judged_like_upb(world: World, name: str) -> None:
    desc = world.pool.FindMessageTypeByName(name)
    google, ours = world.google_cls(desc), world.ours_cls(desc)
    seen: Counter[str] = Counter()
    for label, data in cases(desc):
        try:
            verdict = judge(google, ours, data)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {label}: {exc}") from None
        seen["accepted" if verdict.upb else "rejected"] += 1
    # Both kinds, in numbers: the cases reach the message and its sub-messages.
    assert seen["accepted"] > 50, seen
    assert seen["rejected"] > 50, seen


def test_the_depth_limit_is_upbs(world: World) -> None:
    """Nested messages count from the top (level 0) to 100 levels below it, as in upb."""
    desc = world.pool.FindMessageTypeByName("google.protobuf.Value")
    google, ours = world.google_cls(desc), world.ours_cls(desc)

    def values(steps: int) -> bytes:  # Value > ListValue > Value ...: 2 levels a step
        data = b""
        for _ in range(steps):
            data = ld(6, ld(1, data))
        return data

    assert judge(google, ours, values(50)).upb
    assert not judge(google, ours, values(51)).upb
    # A group (list_value, field 6, as a group: an unknown field) counts as a level too.
    inner = ld(6, ld(1, b"\x33\x34"))
    for _ in range(48):
        inner = ld(6, ld(1, inner))
    assert judge(google, ours, inner).upb  # 98 levels of messages, the group the 99th
    deepest = ld(6, ld(1, inner))
    assert not judge(google, ours, deepest).upb  # the group would be level 101


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(TYPES))
def test_random_field_soups_are_judged_like_upb(
    world: World, data: st.DataObject, name: str
) -> None:
    desc = world.pool.FindMessageTypeByName(name)
    judge(world.google_cls(desc), world.ours_cls(desc), data.draw(soup(desc)))
