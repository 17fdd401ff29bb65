"""Hostile input fails at the adapter call, or never: ``Run``, ``RunResult``, ``RunStreamEvent``
and ``Message`` of both providers, built from fuzzed input, then read in every way a caller can.

The inputs are realistic payloads with a value replaced or added: what JSON text can hold, and
what it cannot but a Python dict or a model can (1,000 levels, a lone surrogate in a value or a
key, NaN and infinities, a 5,000-digit integer, a set, bytes, a lambda, a key that is no
string), given as dicts, JSON text (str and bytes) and models; for Yandex, Structs holding the
same, given as messages and as their bytes. Each adapter call either raises
:class:`~runbind.DecodeError` or returns an object whose every field and property, nested and
deferred ones included, ``repr``, ``str``, pickle, copy, ``dataclasses.asdict`` and equality
work; and the JSON it derives (a Yandex tool call's ``arguments_json``, tool parameters, a
response schema) is valid JSON within ``MAX_JSON_DEPTH``. The only errors after the call are the
documented ones: reading the answer of a failed run (:class:`~runbind.RunFailedError`) and
parsing arguments the model wrote as invalid JSON (a ``DecodeError`` of provider ``"model"``).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from runbind_generated.openai import MessageObject, RunObject
from runbind_generated.proto.google.protobuf import ListValue, NullValue, Struct, Value
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import Run as YRun
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import StreamEvent as YEvent
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.threads import Message as YMessage

from runbind import DecodeError, Message, Run, RunFailedError, RunResult, RunStreamEvent, ToolCall
from runbind._core import jsonio
from runbind._core.jsonio import MAX_JSON_DEPTH
from tests.yandex import test_adapter as yandex_seeds

from ._fuzz import FUZZ
from .test_openai_json import EVENTS, MESSAGES, RUNS, _at, json_values

Json = Any

# ------------------------------------------------------------------------------ reading all

_ANSWER = frozenset({"message", "text", "parts", "citations"})


def _deep(levels: int) -> Json:
    value: Json = "leaf"
    for level in range(levels):
        value = {"a": value} if level % 2 else [value]
    return value


def _read(owner: Any, name: str) -> Any:
    """``owner.name``, or ``None`` where the documented errors allow it."""
    error: Exception
    try:
        return getattr(owner, name)
    except (RunFailedError, DecodeError) as exc:
        error = exc
    where = (type(owner).__name__, name, error)
    if isinstance(error, RunFailedError):  # the answer of a failed run
        assert name in _ANSWER, where
        assert owner.is_failed, where
    else:  # arguments the model wrote that are no JSON object
        assert isinstance(owner, ToolCall), where
        assert name == "arguments", where
        assert error.provider == "model", where
    return None


def _public(value: Any) -> list[str]:
    """The fields (``raw`` too) and properties of a runbind value object."""
    names = [f.name for f in dataclasses.fields(value)]
    names += [
        name
        for name in dir(type(value))
        if not name.startswith("_") and isinstance(getattr(type(value), name), property)
    ]
    return sorted(set(names))


def _strict_json(value: Any, what: str) -> None:
    """``value`` is JSON: written without NaN, as UTF-8, read back by runbind's parser."""
    text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    assert jsonio.loads(text.encode()) == value, what


def read_everything(value: Any, seen: set[int] | None = None) -> None:
    """Read every field and property of ``value`` and what they hold, and derive what a caller
    can derive from it: only the documented errors may come of it."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for name in _public(value):
            item = _read(value, name)
            if name != "raw":
                read_everything(item, seen)
        assert repr(value)
        assert str(value)
        if isinstance(value, ToolCall) and value.raw is not None and value.id is None:
            # Yandex: the arguments are JSON runbind wrote from a Struct, valid whatever it held.
            assert isinstance(value.arguments, dict)
            _strict_json(value.arguments, "arguments")
        if isinstance(value, Run):
            read_everything(value.result(), seen)
        for name in ("parameters", "json_schema"):
            derived = getattr(value, name, None) if name in _public(value) else None
            if isinstance(derived, dict):
                _strict_json(derived, name)
    elif isinstance(value, tuple | list):
        for item in value:
            read_everything(item, seen)
    elif isinstance(value, dict):
        for item in value.values():
            read_everything(item, seen)


def kept_whole(value: Any) -> None:
    """Everything a caller can do with a whole object: read it all, pickle, copy, compare."""
    read_everything(value)
    assert pickle.loads(pickle.dumps(value)) == value
    assert copy.deepcopy(value) == value
    assert copy.copy(value) == value
    assert dataclasses.asdict(value)
    assert value == value  # noqa: PLR0124 - equality reads every compared field


def outcome(build: Callable[[], Any], provider: str) -> Any:
    """``build()`` kept whole, or its DecodeError (of ``provider``); nothing else may escape."""
    try:
        made = build()
    except DecodeError as exc:
        error = exc
    else:
        kept_whole(made)
        return made
    assert error.provider == provider, error
    return error


# ----------------------------------------------------------------------------- hostile values

_AWKWARD: list[Callable[[], Any]] = [
    lambda: float("nan"),
    lambda: float("inf"),
    lambda: -float("inf"),
    lambda: 10**5000,
    lambda: -(10**5000),
    lambda: 2**64,
    lambda: "\ud800",
    lambda: "a\udfffb",
    lambda: {"\udc80": 1},
    lambda: {1: "x"},
    lambda: {None: 1},
    lambda: {(1, 2): 1},
    lambda: b"bytes",
    lambda: {1, 2},
    lambda: frozenset({1}),
    lambda: (1, "x"),
    object,
    lambda: lambda: 0,
    lambda: 1j,
    lambda: Decimal("1.5"),
    lambda: datetime(2024, 1, 1, tzinfo=UTC),
    lambda: _deep(MAX_JSON_DEPTH + 1),
    lambda: _deep(1_000),
    lambda: [_deep(MAX_JSON_DEPTH - 10)],
]
"""Makers of values JSON text cannot hold (or only just can), which a dict or model can."""

hostile = st.one_of(json_values, st.sampled_from(_AWKWARD).map(lambda make: make()))


def _places(value: Json, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths into a seed's JSON, no deeper than a seed goes (not down a deep hostile value)."""
    out = [prefix]
    if len(prefix) < 10 and isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str | int):
                out += _places(item, (*prefix, key))
    return out


@st.composite
def hostile_payload(draw: st.DrawFn, seeds: list[Json]) -> Json:
    """A seed with one or two values replaced by, or keys added with, a hostile value."""
    value = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 2))):
        path = draw(st.sampled_from(_places(value)))
        target = _at(value, path)
        if isinstance(target, dict) and draw(st.booleans()):
            target[draw(st.sampled_from(["zz", "metadata", "\ud83d", "x"]))] = draw(hostile)
        elif path:
            _at(value, path[:-1])[path[-1]] = draw(hostile)
    return value


def _texts(payload: Json) -> list[str | bytes]:
    """``payload`` as JSON text, every way it can be written (none when JSON cannot hold it)."""
    try:
        text = json.dumps(payload, ensure_ascii=False)
        escaped = json.dumps(payload)  # a lone surrogate as a \\udXXX escape
    except (TypeError, ValueError):
        return []
    return [text, escaped, escaped.encode(), text.encode("utf-8", "surrogatepass")]


def _models(cls: type[Any], payload: Json) -> list[Any]:
    """``payload`` as a model of ``cls``, when pydantic takes it (it keeps what it does not
    check: deep, non-JSON and surrogate values in free-form fields)."""
    # pydantic-core reports an int it cannot print (over 4,300 digits) as an "unraisable"
    # error while it validates one, and goes on: that report is the test's doing, not runbind's.
    hook, sys.unraisablehook = sys.unraisablehook, lambda unraisable: None
    try:
        return [cls.model_validate(payload)]
    except Exception:
        return []
    finally:
        sys.unraisablehook = hook


def _inputs(cls: type[Any], payload: Json) -> list[Any]:
    return [payload, *_texts(payload), *_models(cls, payload)]


# ------------------------------------------------------------------------------------ OpenAI


@FUZZ
@given(payload=hostile_payload(RUNS))
def test_openai_runs_fail_at_the_call_or_never(payload: Json) -> None:
    for given_as in _inputs(RunObject, payload):
        outcome(partial(Run.from_openai, given_as), "openai")
        outcome(partial(RunResult.from_openai, given_as), "openai")
        event = {"event": "thread.run.created", "data": given_as}
        outcome(partial(RunStreamEvent.from_openai, event, event_index=0), "openai")


@FUZZ
@given(payload=hostile_payload(MESSAGES))
def test_openai_messages_fail_at_the_call_or_never(payload: Json) -> None:
    for given_as in _inputs(MessageObject, payload):
        outcome(partial(Message.from_openai, given_as), "openai")
        outcome(partial(RunResult.from_openai, RUNS[1], given_as), "openai")
        event = {"event": "thread.message.completed", "data": given_as}
        outcome(partial(RunStreamEvent.from_openai, event, event_index=0), "openai")


@FUZZ
@given(event=st.sampled_from(EVENTS), data=st.data())
def test_openai_stream_events_fail_at_the_call_or_never(
    event: tuple[str, Json], data: st.DataObject
) -> None:
    name, seed = event
    whole = data.draw(hostile_payload([{"event": name, "data": seed}]))
    for given_as in [whole, *_texts(whole)]:
        outcome(partial(RunStreamEvent.from_openai, given_as, event_index=3), "openai")
    if isinstance(whole, dict) and isinstance(whole.get("data"), dict):
        for text in _texts(whole["data"]):
            sse = {**whole, "data": text}  # as the SSE client hands it over
            outcome(partial(RunStreamEvent.from_openai, sse, event_index=3), "openai")


# ------------------------------------------------------------------------------------ Yandex


def to_value(value: Any) -> Value:
    """``value`` (small) as a protobuf ``Value``, the way Python code could build one."""
    if value is None:
        return Value(null_value=NullValue.NULL_VALUE)
    if isinstance(value, bool):
        return Value(bool_value=value)
    if isinstance(value, int | float):
        return Value(number_value=value)
    if isinstance(value, str):
        return Value(string_value=value)
    if isinstance(value, list | tuple):
        return Value(list_value=ListValue(values=[to_value(v) for v in value]))
    return Value(struct_value=Struct(fields={str(k): to_value(v) for k, v in value.items()}))


def _deep_value(levels: int) -> Value:
    """A Value of ``levels`` nested lists and structs in turn, around a string."""
    value = Value(string_value="leaf")
    for level in range(levels):
        if level % 2:
            value = Value(struct_value=Struct(fields={"a": value}))
        else:
            value = Value(list_value=ListValue(values=[value]))
    return value


_AWKWARD_VALUES: list[Callable[[], Value]] = [
    lambda: Value(number_value=float("nan")),
    lambda: Value(number_value=float("inf")),
    lambda: Value(number_value=-float("inf")),
    lambda: Value(number_value=10**400),  # an int no double can hold
    lambda: Value(number_value=2**64),
    lambda: Value(string_value="\ud800"),
    lambda: Value(struct_value=Struct(fields={"\udc80": Value(bool_value=True)})),
    Value,  # no kind set
    lambda: Value(null_value=NullValue(5)),  # an unknown null value
    lambda: _deep_value(MAX_JSON_DEPTH + 1),
    lambda: _deep_value(1_000),
    lambda: _deep_value(MAX_JSON_DEPTH - 10),
]
"""Makers of Values no JSON holds (or only just can), which Python code can build."""

hostile_values = st.one_of(
    json_values.map(to_value), st.sampled_from(_AWKWARD_VALUES).map(lambda make: make())
)


def _structs(message: Any) -> list[Struct]:
    """Every Struct a Yandex seed converts: tool parameters, a response schema, arguments."""
    out: list[Struct] = []
    for tool in getattr(message, "tools", None) or ():
        if tool.function is not None and tool.function.parameters is not None:
            out.append(tool.function.parameters)
    fmt = getattr(message, "custom_response_format", None)
    if fmt is not None and fmt.json_schema is not None and fmt.json_schema.schema is not None:
        out.append(fmt.json_schema.schema)
    state = getattr(message, "state", None)
    calls = getattr(message, "tool_call_list", None) or (state and state.tool_call_list)
    for call in calls.tool_calls if calls else ():
        if call.function_call is not None and call.function_call.arguments is not None:
            out.append(call.function_call.arguments)
    return out


SEEDS: list[tuple[type[Any], Any]] = [
    (YRun, yandex_seeds.completed_run()),
    (YRun, yandex_seeds.tool_calls_run()),
    (YRun, yandex_seeds.failed_run()),
    *((YEvent, event) for event in yandex_seeds.stream_events()),
    (YMessage, yandex_seeds._completed_message()),
]
ADAPTERS: dict[type[Any], list[Callable[[Any], Any]]] = {
    YRun: [Run.from_yandex, RunResult.from_yandex],
    YEvent: [RunStreamEvent.from_yandex],
    YMessage: [Message.from_yandex],
}


@FUZZ
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_yandex_messages_fail_at_the_call_or_never(
    seed: tuple[type[Any], Any], data: st.DataObject
) -> None:
    cls, original = seed
    message = copy.deepcopy(original)
    structs = _structs(message)
    if structs:
        struct = data.draw(st.sampled_from(structs))
        key = data.draw(st.sampled_from(["x", "city", "\udc80", ""]))
        struct.fields[key] = data.draw(hostile_values)
    try:
        wire = bytes(message)
    except Exception:
        wire = None
    for adapter in ADAPTERS[cls]:
        made = outcome(partial(adapter, message), "yandex")
        if wire is not None:
            from_wire = outcome(partial(adapter, wire), "yandex")
            assert isinstance(made, DecodeError) == isinstance(from_wire, DecodeError)


@pytest.mark.parametrize("text", ["", "run", "\ud800", "\x00\x01", "{}"])
def test_yandex_adapters_refuse_text(text: str) -> None:
    for adapters in ADAPTERS.values():
        for adapter in adapters:
            with pytest.raises(DecodeError, match="got str"):
                adapter(text)
