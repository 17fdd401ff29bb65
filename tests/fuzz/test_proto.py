"""Fuzzing the protobuf decode of Yandex ``Run``, ``StreamEvent`` and ``Message``.

Every input goes through the three public paths: the strict wire walk
(``runbind.yandex._wire.decode``, whose only error is ``FieldError``), the gRPC client's
``ClientCodec`` and the adapters (``Run.from_yandex`` and friends), whose only error is
:class:`~runbind.DecodeError`. The paths must agree on what is malformed and where, and reading
every field of what decodes must not fail. Inputs: random bytes, truncations, bit flips and
splices of realistic messages (the benchmark payloads), huge length prefixes and varints, and
nesting at and past ``MAX_DEPTH``.
Examples per test: ``RUNBIND_FUZZ_EXAMPLES`` (see ``tests/fuzz/_fuzz.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import (
    FunctionCall,
    FunctionTool,
    ToolCall,
    ToolCallList,
)
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import Tool as YTool
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import Run as YRun
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import (
    StreamCursor,
    StreamEventEventType,
)
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import StreamEvent as YEvent
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.threads import Message as YMessage
from runbind_generated.proto.yandex.cloud.ai.common import Error as YError

from benchmarks._payloads import yandex_run
from runbind import DecodeError, Message, Run, RunStreamEvent
from runbind._core.errors import FieldError
from runbind.yandex import _wire
from runbind.yandex._transport import ClientCodec
from runbind.yandex._wire import MAX_DEPTH
from tests._spec_version import V1, generated

from ._fuzz import FUZZ, corpus, ld, peak_memory, touch, varint

if TYPE_CHECKING:
    from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import JsonSchema
    from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import ResponseFormat as YFormat
else:  # newer than some spec versions: a stand-in skips the test using it
    JsonSchema = generated(V1, "JsonSchema")
    YFormat = generated(V1, "ResponseFormat")

Adapter = Callable[[bytes], Any]

TYPES: dict[str, tuple[type[Any], Adapter]] = {
    "Run": (YRun, Run.from_yandex),
    "StreamEvent": (YEvent, RunStreamEvent.from_yandex),
    "Message": (YMessage, Message.from_yandex),
}
"""The decoded types, each with its protobuf class and its adapter."""

CODEC_LIMIT = 1 << 20
"""``ClientCodec``'s message size limit in these tests (the client's default is 64 MiB)."""

_CODEC = ClientCodec(CODEC_LIMIT)


def decode_everywhere(type_name: str, data: bytes) -> FieldError | None:
    """Decode ``data`` as ``type_name`` by every path; they agree and raise only typed errors.

    Returns the wire error (None when the bytes are well-formed).
    """
    cls, adapt = TYPES[type_name]
    wire: FieldError | None = None
    try:
        parsed = _wire.decode(cls, data)
    except FieldError as exc:
        wire = exc
    else:
        assert isinstance(parsed, cls)
    codec_error: DecodeError | None = None
    try:
        _CODEC.decode(data, cls)
    except DecodeError as exc:
        codec_error = exc
    assert (wire is None) == (codec_error is None), (wire, codec_error)
    adapter_error: DecodeError | None = None
    try:
        result = adapt(data)
    except DecodeError as exc:
        adapter_error = exc
    if adapter_error is not None:  # a wire error, or a value that does not convert (a time...)
        assert adapter_error.provider == "yandex"
        assert adapter_error.type_name == cls.__name__
        assert wire is None or adapter_error.path == wire.path
        return wire
    assert wire is None, f"the adapter accepted what the wire walk refused: {wire}"
    touch(result)
    return None


# ------------------------------------------------------------------------------------- seeds


def _answer() -> YMessage:
    state = yandex_run(tools=False).state
    assert state is not None
    assert state.completed_message is not None
    return state.completed_message


def _events() -> list[YEvent]:
    run = yandex_run(tools=True)
    assert run.state is not None
    answer = _answer()
    cursor = StreamCursor(current_event_idx=7, num_user_events_received=1)
    return [
        YEvent(
            event_type=StreamEventEventType.PARTIAL_MESSAGE,
            stream_cursor=cursor,
            partial_message=answer.content,
        ),
        YEvent(event_type=StreamEventEventType.DONE, completed_message=answer),
        YEvent(
            event_type=StreamEventEventType.TOOL_CALLS,
            stream_cursor=cursor,
            tool_call_list=run.state.tool_call_list,
        ),
        YEvent(event_type=StreamEventEventType.ERROR, error=YError(code=8, message="quota")),
    ]


SEEDS: dict[str, list[bytes]] = {
    "Run": [bytes(yandex_run(tools=True)), bytes(yandex_run(tools=False))],
    "StreamEvent": [bytes(e) for e in _events()],
    "Message": [bytes(_answer())],
}
"""Realistic well-formed messages of each type (about 3 KB for the runs)."""

ALL_SEEDS = [(name, seed) for name, seeds in SEEDS.items() for seed in seeds]


def test_every_seed_decodes_on_every_path() -> None:
    for name, seed in ALL_SEEDS:
        assert decode_everywhere(name, seed) is None, name


# ------------------------------------------------------------------------------------ fuzzing

HUGE = [
    varint(2**31),  # a 5-byte length claiming 2 GiB
    varint(2**64 - 1),  # the largest 10-byte varint
    b"\xff" * 10 + b"\x01",  # 11 bytes: longer than any varint
    b"\x80" * 9,  # a varint cut off
]
"""Byte strings that are hostile as a length prefix or a varint."""


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """A seed of some type, changed by a few random edits."""
    name, data = draw(st.sampled_from(ALL_SEEDS))
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(buf)))
        edit = draw(st.sampled_from(["truncate", "flip", "insert", "huge", "splice", "delete"]))
        if edit == "truncate":
            del buf[at:]
        elif edit == "flip" and at < len(buf):
            buf[at] ^= 1 << draw(st.integers(0, 7))
        elif edit == "insert":
            buf[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif edit == "huge":
            buf[at:at] = draw(st.sampled_from(HUGE))
        elif edit == "splice":
            start = draw(st.integers(0, len(buf)))
            buf[at:at] = buf[start : start + draw(st.integers(1, 64))]
        elif edit == "delete":
            del buf[at : at + draw(st.integers(1, 8))]
    # The edited bytes are also tried as the other types: a message confused for another.
    return draw(st.sampled_from([name, *TYPES])), bytes(buf)


@FUZZ
@given(data=st.binary(max_size=512), type_name=st.sampled_from(list(TYPES)))
def test_random_bytes_raise_only_decode_errors(data: bytes, type_name: str) -> None:
    decode_everywhere(type_name, data)


@FUZZ
@given(case=mutated())
def test_edited_messages_raise_only_decode_errors_and_the_paths_agree(
    case: tuple[str, bytes],
) -> None:
    decode_everywhere(*case)


@FUZZ
@given(
    seed=st.sampled_from(ALL_SEEDS),
    cut=st.integers(0, 4000),
)
def test_truncated_messages_decode_or_fail_cleanly(seed: tuple[str, bytes], cut: int) -> None:
    name, data = seed
    decode_everywhere(name, data[: cut % (len(data) + 1)])


@pytest.mark.parametrize(("name", "seed"), ALL_SEEDS, ids=[n for n, _ in ALL_SEEDS])
def test_every_single_bit_flip_of_the_first_bytes_is_handled(name: str, seed: bytes) -> None:
    for at in range(min(len(seed), 48)):
        for bit in range(8):
            flipped = bytearray(seed)
            flipped[at] ^= 1 << bit
            decode_everywhere(name, bytes(flipped))


# ------------------------------------------------------------------------------------ nesting


def _number(cls: type[Any], name: str) -> int:
    numbers: dict[int, str] = cls._betterproto.field_name_by_number
    return next(n for n, field in numbers.items() if field == name)


_LEAF = ld(3, b"x")  # a Value holding the string "x"
_STEPS = {"list": 2, "struct": 3}  # levels one step adds: ListValue+Value, Struct+entry+Value


def _wrap(kind: str, value: bytes) -> bytes:
    """The Value holding ``value`` (a Value's bytes) in a list or under the key ``k``."""
    if kind == "list":
        return ld(6, ld(1, value))
    return ld(5, ld(1, ld(1, b"k") + ld(2, value)))


def _struct_of(value: bytes) -> bytes:
    """A Struct whose one field ``k`` is ``value`` (a Value's bytes)."""
    return ld(1, ld(1, b"k") + ld(2, value))


def _nested_value(levels: int, pattern: list[str]) -> bytes:
    """A Value ``levels`` messages deep (itself included), its steps following ``pattern``."""
    value = _LEAF
    left = levels - 1
    index = 0
    while left > 0:
        kind = pattern[index % len(pattern)]
        if left - _STEPS[kind] in (-1, 1):  # a depth no step sequence could then reach
            kind = "struct" if kind == "list" else "list"
        value = _wrap(kind, value)
        left -= _STEPS[kind]
        index += 1
    assert left == 0
    return value


def _in_run_tool(value_levels: int, pattern: list[str]) -> tuple[str, bytes]:
    """A Run whose tool parameters hold a Struct: Run, Tool, FunctionTool, Struct, entry."""
    struct = _struct_of(_nested_value(value_levels, pattern))
    tool = ld(_number(YTool, "function"), ld(_number(FunctionTool, "parameters"), struct))
    return "Run", ld(_number(YRun, "tools"), tool)


def _in_run_schema(value_levels: int, pattern: list[str]) -> tuple[str, bytes]:
    """A Run whose response format's JSON schema holds the Struct (same depth as a tool's)."""
    struct = _struct_of(_nested_value(value_levels, pattern))
    schema = ld(_number(YFormat, "json_schema"), ld(_number(JsonSchema, "schema"), struct))
    return "Run", ld(_number(YRun, "custom_response_format"), schema)


def _in_event_call(value_levels: int, pattern: list[str]) -> tuple[str, bytes]:
    """A StreamEvent whose tool call arguments hold the Struct (one level deeper than a Run)."""
    struct = _struct_of(_nested_value(value_levels, pattern))
    call = ld(_number(ToolCall, "function_call"), ld(_number(FunctionCall, "arguments"), struct))
    calls = ld(_number(ToolCallList, "tool_calls"), call)
    return "StreamEvent", ld(_number(YEvent, "tool_call_list"), calls)


CONTAINERS = {
    "run tool parameters": (_in_run_tool, 5),
    "run response schema": (_in_run_schema, 5),
    "event tool call arguments": (_in_event_call, 6),
}
"""Where a Struct can sit, with the messages above its first Value, the top one included: the
deepest message is ``levels + above - 1`` levels below the top (depth 0), at most MAX_DEPTH, as
upb counts."""

PATTERNS = {
    "lists": ["list"],
    "structs": ["struct"],
    "alternating": ["list", "struct"],
    "mostly structs": ["struct", "struct", "list"],
}


@pytest.mark.parametrize("pattern", list(PATTERNS), ids=list(PATTERNS))
@pytest.mark.parametrize("where", list(CONTAINERS), ids=list(CONTAINERS))
def test_nesting_is_accepted_at_max_depth_and_refused_one_deeper(where: str, pattern: str) -> None:
    build, above = CONTAINERS[where]
    name, at_limit = build(MAX_DEPTH + 1 - above, PATTERNS[pattern])
    assert decode_everywhere(name, at_limit) is None
    name, too_deep = build(MAX_DEPTH + 2 - above, PATTERNS[pattern])
    error = decode_everywhere(name, too_deep)
    assert error is not None
    assert f"deeper than {MAX_DEPTH}" in error.reason


@FUZZ
@given(
    where=st.sampled_from(list(CONTAINERS)),
    pattern=st.lists(st.sampled_from(["list", "struct"]), min_size=1, max_size=6),
    depth=st.one_of(st.integers(MAX_DEPTH - 8, MAX_DEPTH + 8), st.integers(2, 3000)),
)
def test_any_nesting_shape_is_refused_exactly_past_max_depth(
    where: str, pattern: list[str], depth: int
) -> None:
    build, above = CONTAINERS[where]
    levels = max(depth - above, 1)
    name, data = build(levels, pattern)
    error = decode_everywhere(name, data)
    assert (error is None) == (levels + above - 1 <= MAX_DEPTH), error


def _deep_lists(steps: int) -> bytes:
    """A Run's tool parameters holding ``steps`` nested lists, built in linear time."""
    headers: list[bytes] = []
    size = len(_LEAF)
    for _ in range(steps):  # from the inside out: ListValue.values, then Value.list_value
        for number in (1, 6):
            header = varint(number << 3 | 2) + varint(size)
            headers.append(header)
            size += len(header)
    value = b"".join(reversed(headers)) + _LEAF
    struct = _struct_of(value)
    tool = ld(_number(YTool, "function"), ld(_number(FunctionTool, "parameters"), struct))
    return ld(_number(YRun, "tools"), tool)


def test_a_hundred_thousand_levels_of_nesting_fail_in_bounded_memory() -> None:
    data = _deep_lists(100_000)
    error = decode_everywhere("Run", data)
    assert error is not None
    assert f"deeper than {MAX_DEPTH}" in error.reason
    assert peak_memory(lambda: Run.from_yandex(data)) < 2 * len(data)
    assert peak_memory(lambda: _CODEC.decode(data, YRun)) < 2 * len(data)


# ------------------------------------------------------------------------ sizes and prefixes


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [(HUGE[0], "exceeds the limit of 2^31 - 1"), (HUGE[1], "length longer than 5 bytes")],
    ids=["5-byte length claiming 2 GiB", "10-byte length claiming 2^64-1"],
)
@pytest.mark.parametrize("name", list(TYPES))
def test_a_huge_length_prefix_allocates_nothing_like_its_claim(
    name: str, prefix: bytes, reason: str
) -> None:
    cls, adapt = TYPES[name]
    seed = SEEDS[name][0]
    number = next(iter(cls._betterproto.field_name_by_number))
    for data in (varint(number << 3 | 2) + prefix, seed + varint(number << 3 | 2) + prefix):
        error = decode_everywhere(name, data)
        assert error is not None
        assert reason in error.reason  # refused for its length, as upb refuses it
        assert peak_memory(lambda: adapt(data)) < 64 * 1024 + 64 * len(data)  # noqa: B023
        assert peak_memory(lambda: _CODEC.decode(data, cls)) < 64 * 1024 + 64 * len(data)  # noqa: B023


@pytest.mark.parametrize("name", list(TYPES))
def test_hostile_varints_are_decode_errors(name: str) -> None:
    cls, _ = TYPES[name]
    number = next(iter(cls._betterproto.field_name_by_number))
    for tail in HUGE:
        for wire in (0, 2):
            decode_everywhere(name, varint(number << 3 | wire) + tail)
        decode_everywhere(name, tail)  # as a tag


def _padded_run(size: int) -> bytes:
    """A well-formed Run of exactly ``size`` bytes (its id padded)."""
    for id_len in range(size, -1, -1):
        data = ld(_number(YRun, "id"), b"r" * id_len)
        if len(data) == size:
            return data
    raise AssertionError(size)


def test_the_client_codec_takes_a_message_of_its_limit_and_refuses_one_byte_more() -> None:
    assert _CODEC.decode(_padded_run(CODEC_LIMIT), YRun).id == "r" * (CODEC_LIMIT - 4)
    data = _padded_run(CODEC_LIMIT + 1)
    with pytest.raises(DecodeError, match=f"exceed the limit {CODEC_LIMIT}"):
        _CODEC.decode(data, YRun)
    # Refused by its size alone: no decoding is attempted, nothing is allocated for it.
    assert peak_memory(lambda: _CODEC.decode(data, YRun)) < 64 * 1024


def test_a_large_well_formed_message_decodes_in_a_small_multiple_of_its_size() -> None:
    data = _padded_run(4 << 20)
    assert peak_memory(lambda: Run.from_yandex(data)) < 3 * len(data)


# ------------------------------------------------------------------------------------- corpus


@pytest.mark.parametrize("data", corpus("proto"))
@pytest.mark.parametrize("name", list(TYPES))
def test_the_corpus_replays_with_only_decode_errors(name: str, data: bytes) -> None:
    decode_everywhere(name, data)
