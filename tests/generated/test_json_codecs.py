"""The generated proto3 JSON codecs on the Yandex messages, against Google's ``json_format``.

``test_proto_wire.check_json`` compares ``to_json`` / ``from_json`` with Google for every
reachable message (both casings, every input form); this adds what it does not cover: that every
message class has its generated codecs, the option that writes defaults, the bench's Run with
tools, and hostile nesting in a Struct.
"""

from __future__ import annotations

import json
from typing import Any

import betterproto2
import pytest
from google.protobuf import json_format

from .test_proto_wire import KEY_MESSAGES, World, canon, to_google, variants, world

__all__ = ["world"]

pytestmark = pytest.mark.filterwarnings("ignore:.* is deprecated:DeprecationWarning")

# Written and read by the runtime or by the methods codegen/runtime/wkt.py gives them.
_OWN_FORMS = {
    f"google.protobuf.{name}"
    for name in (
        "Timestamp",
        "Duration",
        "FieldMask",
        *(
            f"{kind}Value"
            for kind in ("Bool", "Int32", "Int64", "UInt32", "UInt64", "Float", "Double")
        ),
        "StringValue",
        "BytesValue",
    )
}


def test_every_message_class_has_generated_json_codecs(world: World) -> None:
    missing = [
        name
        for name, cls in world.ours_by_name.items()
        if name not in _OWN_FORMS and "_fast_to_dict" not in cls.__dict__
    ]
    assert not missing, missing


def _norm(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


@pytest.mark.parametrize("name", KEY_MESSAGES, ids=lambda n: n.rsplit(".", 1)[-1])
def test_defaults_are_written_as_google_writes_fields_without_presence(
    world: World, name: str
) -> None:
    desc = world.pool.FindMessageTypeByName(name)
    cls = world.ours_cls(desc)
    for mv in variants(world, desc, json_safe=True):
        g = to_google(world, mv)
        ours = cls.parse(canon(g))
        for snake in (False, True):
            casing = betterproto2.Casing.SNAKE if snake else betterproto2.Casing.CAMEL
            expected = json_format.MessageToDict(
                g,
                preserving_proto_field_name=snake,
                always_print_fields_with_no_presence=True,
                descriptor_pool=world.pool,
            )
            got = ours.to_dict(casing=casing, include_default_values=True)
            assert _norm(got) == _norm(expected)
        empty = world.google_cls(desc)()
        assert _norm(cls().to_dict(include_default_values=True)) == _norm(
            json_format.MessageToDict(
                empty, always_print_fields_with_no_presence=True, descriptor_pool=world.pool
            )
        )


def test_the_bench_run_matches_json_format_both_ways(world: World) -> None:
    from benchmarks._payloads import yandex_run  # noqa: PLC0415 - the bench's own payload

    desc = world.pool.FindMessageTypeByName("yandex.cloud.ai.assistants.v1.runs.Run")
    gcls, cls = world.google_cls(desc), world.ours_cls(desc)
    for tools in (True, False):
        data = bytes(yandex_run(tools=tools))
        g, ours = gcls.FromString(data), cls.parse(data)
        as_dict = json_format.MessageToDict(g, descriptor_pool=world.pool)
        assert ours.to_dict() == as_dict
        assert json.loads(ours.to_json()) == as_dict
        text = json_format.MessageToJson(g, descriptor_pool=world.pool)
        back = cls.from_json(text)
        assert back == ours
        assert canon(gcls.FromString(bytes(back))) == canon(g)


def test_deep_struct_nesting_is_refused_not_a_recursion_error(world: World) -> None:
    cls = world.ours_by_name["google.protobuf.Struct"]
    value: Any = "leaf"
    for _ in range(2000):
        value = {"k": [value]}
    with pytest.raises(ValueError, match="nested deeper"):
        cls.from_dict(value)
    shallow: Any = "leaf"
    for _ in range(40):
        shallow = {"k": [shallow]}
    assert cls.from_dict(shallow).to_dict() == shallow
