"""Fuzzing the OpenAI JSON decode: runs, messages and stream events, as text and as dicts.

The paths: ``Run.from_openai`` / ``Message.from_openai`` on JSON text (``model_validate_json``)
and on decoded JSON (the clients decode with ``runbind._core.jsonio.loads`` and pass the dict), and
``RunStreamEvent.from_openai`` on ``{"event", "data": <JSON text>}`` as the SSE client does.
Only :class:`~runbind.DecodeError` may escape, and reading every field of what decodes must not
fail. Inputs: random JSON and bytes, realistic payloads (the benchmarks', the Run-layer tests'
and the emulator's) with values replaced by random JSON, keys dropped, unknown fields and
unknown enum values added (both must be kept), huge strings, and nesting at and past
``MAX_JSON_DEPTH``, through the adapters and through the client against a loopback server.
Examples per test: ``RUNBIND_FUZZ_EXAMPLES`` (see ``tests/fuzz/_fuzz.py``).
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from benchmarks._payloads import openai_run_json
from runbind import ApiError, DecodeError, Message, Run, RunStatus, RunStreamEvent
from runbind._core import jsonio
from runbind._core.jsonio import MAX_JSON_DEPTH
from runbind._core.retry import RetryPolicy
from runbind.openai import AsyncRuns
from tests.openai.test_adapter import answer_message, completed_run, failed_run

from ._fuzz import FUZZ, canned_server, corpus, peak_memory, touch

Json = Any

# ------------------------------------------------------------------------------------- seeds


def _emulator_events() -> list[tuple[str, Json]]:
    """``(event, data)`` of the emulator's recorded streams in the SSE corpus."""
    out: list[tuple[str, Json]] = []
    for param in corpus("sse"):
        text = param.values[0]
        if not param.id.startswith("seed-emulator-"):
            continue
        for block in text.decode().split("\n\n"):
            lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if "event" in lines and lines["event"] != "done":
                out.append((lines["event"], json.loads(lines["data"])))
    assert out
    return out


EVENTS = _emulator_events()
RUNS: list[Json] = [
    json.loads(openai_run_json()),
    completed_run(),
    failed_run(),
    *(data for _, data in EVENTS if data.get("object") == "thread.run"),
]
MESSAGES: list[Json] = [
    answer_message(),
    *(data for name, data in EVENTS if name == "thread.message.completed"),
]
"""Realistic payloads: the benchmark run, the Run-layer tests' ones, the emulator's."""

_KNOWN_STATUSES = {s.value for s in RunStatus}


# ---------------------------------------------------------------------------------- the paths


def _decode(build: Callable[[Any], Any], value: Any) -> Any | DecodeError:
    """``build(value)`` with every field read, or the DecodeError (nothing else may escape)."""
    try:
        result = build(value)
    except DecodeError as exc:
        error = exc
    else:
        touch(result)
        return result
    assert error.provider == "openai"
    return error


def _event(name: str, data: Any) -> Callable[[Any], RunStreamEvent]:
    return lambda text: RunStreamEvent.from_openai({"event": name, "data": text}, event_index=0)


def _client_loads(text: str) -> Json:
    """The body as the OpenAI client decodes it (``AsyncRuns._request``)."""
    try:
        return jsonio.loads(text)
    except ValueError as exc:
        raise DecodeError("openai", "get", "", f"response is not JSON: {exc}") from None


def decode_run(payload: Json) -> Run | DecodeError:
    """Decode a run payload as text, as bytes, as the client's dict and as an event's data; all
    four agree on success."""
    text = json.dumps(payload)
    as_text = _decode(Run.from_openai, text)
    as_bytes = _decode(Run.from_openai, text.encode())
    as_dict = _decode(lambda t: Run.from_openai(_client_loads(t)), text)
    as_event = _decode(_event("thread.run.created", None), text)
    outcomes = [isinstance(r, DecodeError) for r in (as_text, as_bytes, as_dict, as_event)]
    assert len(set(outcomes)) == 1, (as_text, as_bytes, as_dict, as_event)
    return as_text


def decode_message(payload: Json) -> Message | DecodeError:
    """Decode a message payload as text, as the client's dict and as an event's data."""
    text = json.dumps(payload)
    as_text = _decode(Message.from_openai, text)
    as_dict = _decode(lambda t: Message.from_openai(_client_loads(t)), text)
    as_event = _decode(_event("thread.message.completed", None), text)
    outcomes = [isinstance(r, DecodeError) for r in (as_text, as_dict, as_event)]
    assert len(set(outcomes)) == 1, (as_text, as_dict, as_event)
    return as_text


def test_every_seed_decodes() -> None:
    for run in RUNS:
        assert isinstance(decode_run(run), Run)
    for message in MESSAGES:
        assert isinstance(decode_message(message), Message)
    for name, data in EVENTS:
        assert isinstance(_decode(_event(name, None), json.dumps(data)), RunStreamEvent)


# ------------------------------------------------------------------------------------ fuzzing

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
"""Any JSON value (small)."""


def _paths(value: Json, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``value`` (dict keys and list indices)."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


def _at(value: Json, path: tuple[Any, ...]) -> Json:
    for step in path:
        value = value[step]
    return value


def _set(value: Json, path: tuple[Any, ...], new: Json) -> Json:
    if not path:
        return new
    _at(value, path[:-1])[path[-1]] = new
    return value


@st.composite
def mutated(draw: st.DrawFn, seeds: list[Json]) -> Json:
    """A seed with a few values replaced by random JSON, keys dropped or unknown keys added."""
    value = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(value)))
        edit = draw(st.sampled_from(["replace", "drop", "add", "retype"]))
        target = _at(value, path)
        if edit == "replace":
            value = _set(value, path, draw(json_values))
        elif edit == "drop" and path:
            del _at(value, path[:-1])[path[-1]]
        elif edit == "add" and isinstance(target, dict):
            target[draw(st.text(min_size=1, max_size=8))] = draw(json_values)
        elif edit == "retype":  # the same value, of the wrong type
            wrong = {str: 1, int: "1", float: "1.5", bool: 0, type(None): {}}.get(type(target), [])
            value = _set(value, path, wrong)
    return value


@FUZZ
@given(payload=json_values)
def test_random_json_is_a_decode_error_not_a_crash(payload: Json) -> None:
    for decode in (decode_run, decode_message):
        assert isinstance(decode(payload), DecodeError) or isinstance(payload, dict)


@FUZZ
@given(data=st.binary(max_size=256))
def test_random_bytes_are_decode_errors(data: bytes) -> None:
    for build in (Run.from_openai, Message.from_openai, _event("thread.run.created", None)):
        assert isinstance(_decode(build, data), DecodeError | Run | Message | RunStreamEvent)


@FUZZ
@given(payload=mutated(RUNS))
def test_edited_runs_decode_or_fail_with_a_decode_error(payload: Json) -> None:
    decode_run(payload)


@FUZZ
@given(payload=mutated(MESSAGES))
def test_edited_messages_decode_or_fail_with_a_decode_error(payload: Json) -> None:
    decode_message(payload)


@FUZZ
@given(event=st.sampled_from(EVENTS), data=st.data())
def test_edited_stream_events_decode_or_fail_with_a_decode_error(
    event: tuple[str, Json], data: st.DataObject
) -> None:
    name, payload = event
    name = data.draw(st.sampled_from([name, name + ".new", "thread.run.brand_new", ""]))
    edited = data.draw(mutated([payload]))
    _decode(_event(name, None), json.dumps(edited))


# ------------------------------------------------------------------- unknown values are kept

RUN_ENUMS = [
    ("status",),
    ("tools", 0, "type"),
    ("truncation_strategy", "type"),
    ("last_error", "code"),
    ("incomplete_details", "reason"),
]
MESSAGE_ENUMS = [
    ("role",),
    ("status",),
    ("content", 0, "type"),
    ("incomplete_details", "reason"),
]
"""Paths of open enums (a new value must decode and be kept) in the run and message seeds.

Single-value enums (``required_action.type``, a tool call's ``type``) are tags by design
(``Literal``, see ``codegen/openapi``): a new tag there is a DecodeError, so they are not here.
"""


def _dumped(model: Any) -> Json:
    return model.model_dump(mode="json", by_alias=True)


_EMPTY = {"last_error": {"message": "m"}, "incomplete_details": {}}
"""What a null optional object on an enum's path is replaced with, so that it can hold one."""


def _with(seed: Json, path: tuple[Any, ...], value: Json) -> Json | None:
    """``seed`` with ``value`` at ``path``; None if the seed has no such place."""
    payload = copy.deepcopy(seed)
    node = payload
    for step in path[:-1]:
        if isinstance(node, dict) and node.get(step) is None and step in _EMPTY:
            node[step] = copy.deepcopy(_EMPTY[step])
        present = node.get(step) if isinstance(node, dict) else None
        if isinstance(node, list) and isinstance(step, int) and step < len(node):
            present = node[step]
        if not isinstance(present, dict | list):
            return None
        node = present
    node[path[-1]] = value
    return payload


_names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=30)


@FUZZ
@given(seed=st.sampled_from(RUNS), path=st.sampled_from(RUN_ENUMS), value=_names)
def test_an_unknown_run_enum_value_decodes_and_is_kept(
    seed: Json, path: tuple[Any, ...], value: str
) -> None:
    payload = _with(seed, path, value)
    assume(payload is not None)
    run = decode_run(payload)
    assert isinstance(run, Run), run
    assert _at(_dumped(run.raw), path) == value
    if path == ("status",):
        assert run.status_raw == value
        assert (run.status is RunStatus.UNKNOWN) == (value not in _KNOWN_STATUSES)


@FUZZ
@given(seed=st.sampled_from(MESSAGES), path=st.sampled_from(MESSAGE_ENUMS), value=_names)
def test_an_unknown_message_enum_value_decodes_and_is_kept(
    seed: Json, path: tuple[Any, ...], value: str
) -> None:
    payload = _with(seed, path, value)
    assume(payload is not None)
    message = decode_message(payload)
    assert isinstance(message, Message), message
    assert _at(_dumped(message.raw), path) == value


def _object_paths(value: Json) -> list[tuple[Any, ...]]:
    """Paths of the objects of ``value`` that are models (not free-form maps or schemas)."""
    free = {"metadata", "parameters", "schema"}
    return [
        p
        for p in _paths(value)
        if isinstance(_at(value, p), dict) and not free & {s for s in p if isinstance(s, str)}
    ]


@FUZZ
@given(seed=st.sampled_from(RUNS + MESSAGES), data=st.data())
def test_an_unknown_field_anywhere_decodes_and_is_kept(seed: Json, data: st.DataObject) -> None:
    payload = copy.deepcopy(seed)
    path = data.draw(st.sampled_from(_object_paths(payload)))
    key = data.draw(
        st.text(st.characters(codec="ascii"), min_size=1, max_size=8).map("zz_".__add__)
    )
    value = data.draw(json_values)
    _at(payload, path)[key] = value
    decoded = (decode_run if "assistant_id" in seed and "role" not in seed else decode_message)(
        payload
    )
    assert not isinstance(decoded, DecodeError), decoded
    assert _at(_dumped(decoded.raw), path)[key] == value


# -------------------------------------------------------------------------- huge and invalid


def test_a_huge_string_decodes_in_a_small_multiple_of_its_size() -> None:
    payload = copy.deepcopy(RUNS[0])
    payload["instructions"] = "é" * (4 << 20)
    text = json.dumps(payload, ensure_ascii=False).encode()
    run = Run.from_openai(text)
    assert run.instructions == payload["instructions"]
    assert peak_memory(lambda: Run.from_openai(text)) < 6 * len(text)
    assert peak_memory(lambda: Run.from_openai(jsonio.loads(text))) < 6 * len(text)


@pytest.mark.parametrize(
    "text",
    [
        b"\xff\xfe{}",
        b'{"id": "\xc3\x28"}',
        b'{"id": "\\ud800"}',
        b"[" * 100_000,
        b'{"id": ' + b"9" * 5000 + b"}",
        b"",
        b'{"id": "run_1"} trailing',
        b'{"id": "run_1",}',
        b"{'id': 'run_1'}",
    ],
    ids=[
        "utf-16 bom",
        "invalid utf-8 in a string",
        "lone surrogate escape",
        "unclosed deep array",
        "5000-digit integer",
        "empty",
        "trailing text",
        "trailing comma",
        "single quotes",
    ],
)
def test_invalid_json_is_a_decode_error_on_every_path(text: bytes) -> None:
    assert isinstance(_decode(Run.from_openai, text), DecodeError)
    assert isinstance(_decode(Message.from_openai, text), DecodeError)
    assert isinstance(_decode(_event("thread.run.created", None), text), DecodeError)
    with pytest.raises(ValueError, match="line 1 column"):
        jsonio.loads(text)


# ------------------------------------------------------------------------------------ nesting


def _deep(levels: int, kind: str) -> Json:
    """A JSON value of ``levels`` nested containers (objects, arrays, or both in turn)."""
    value: Json = 1
    for level in range(levels):
        use = kind if kind != "mixed" else ("object", "array")[level % 2]
        value = {"a": value} if use == "object" else [value]
    return value


def _run_with_parameters(parameters: Json) -> Json:
    """The benchmark run with ``parameters`` as its first tool's (a free-form JSON object)."""
    run = copy.deepcopy(RUNS[0])
    run["tools"][0]["function"]["parameters"] = parameters
    return run


@pytest.mark.parametrize("kind", ["object", "array", "mixed"])
def test_json_text_is_taken_at_max_depth_and_refused_one_deeper(kind: str) -> None:
    # The run object, its tools list, the tool, the function and the parameters object are five
    # containers around "p": its value may hold a leaf inside MAX_JSON_DEPTH - 5 more.
    inside = MAX_JSON_DEPTH - 5
    at_limit = json.dumps(_run_with_parameters({"p": _deep(inside, kind)}))
    too_deep = json.dumps(_run_with_parameters({"p": _deep(inside + 1, kind)}))
    run = decode_run(json.loads(at_limit))
    assert isinstance(run, Run), run
    assert run.tools[0].parameters is not None
    error = decode_run(json.loads(too_deep))
    assert isinstance(error, DecodeError)
    assert "recursion limit" in error.reason
    assert jsonio.loads(json.dumps(_deep(MAX_JSON_DEPTH, kind))) == _deep(MAX_JSON_DEPTH, kind)
    with pytest.raises(ValueError, match="recursion limit"):
        jsonio.loads(json.dumps(_deep(MAX_JSON_DEPTH + 1, kind)))


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 2, 1_000, 100_000])
def test_deep_json_text_is_a_decode_error_on_every_path_not_a_recursion_error(
    levels: int,
) -> None:
    text = "[" * levels + "]" * levels  # the innermost array sits inside levels - 1 others
    deep_run = '{"id": "r", "metadata": ' + text + "}"
    for build in (Run.from_openai, Message.from_openai, _event("thread.run.created", None)):
        assert isinstance(_decode(build, deep_run), DecodeError)
    # A tool call's arguments, written by the model, go through the same bounded parser.
    run = copy.deepcopy(RUNS[0])
    run["required_action"]["submit_tool_outputs"]["tool_calls"][0]["function"]["arguments"] = text
    call = Run.from_openai(run).tool_calls[0]
    with pytest.raises(DecodeError, match="recursion limit"):
        _ = call.arguments
    assert peak_memory(lambda: Run.from_openai(deep_run)) < 64 * 1024 + 8 * len(deep_run)


@pytest.mark.parametrize("kind", ["object", "array", "mixed"])
def test_a_dict_from_the_caller_is_held_to_the_bound_of_json_text_at_the_call(kind: str) -> None:
    # Decoded JSON the caller built (or read with the standard library's parser, which goes
    # about 1,000 levels deep) meets the bound of JSON text when it is handed over, not when a
    # field, repr or pickle later reaches the deep part.
    inside = MAX_JSON_DEPTH - 5
    run = Run.from_openai(_run_with_parameters({"p": _deep(inside, kind)}))
    assert run.tools[0].parameters is not None
    for levels in (inside + 1, 1_000):
        with pytest.raises(DecodeError, match="nested deeper than 200 levels") as caught:
            Run.from_openai(_run_with_parameters({"p": _deep(levels, kind)}))
        assert caught.value.path.startswith("tools.0.function.parameters.p.")


# ------------------------------------------------------------------- through the client


async def _get(body: bytes, status: int = 200, max_size: int = 64 << 20) -> Run:
    async with canned_server(status, "application/json", body) as url:
        runs = AsyncRuns(base_url=url, retry=RetryPolicy(attempts=1), max_response_size=max_size)
        try:
            return await runs.get("run_1", thread_id="thread_1", timeout=10)
        finally:
            await runs.close()


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 5_000])
def test_the_client_refuses_deep_json_bodies_with_typed_errors(levels: int) -> None:
    deep = b'{"id": "r", "metadata": ' + b"[" * levels + b"]" * levels + b"}"
    with pytest.raises(DecodeError, match="not JSON"):
        asyncio.run(_get(deep))
    error_body = b'{"error": ' + b"[" * levels + b"]" * levels + b"}"
    with pytest.raises(ApiError) as caught:
        asyncio.run(_get(error_body, status=400))
    assert caught.value.status_code == 400


def test_the_client_takes_a_body_of_its_size_limit_and_refuses_one_byte_more() -> None:
    body = json.dumps(RUNS[0]).encode()
    assert asyncio.run(_get(body, max_size=len(body))).id == RUNS[0]["id"]
    with pytest.raises(DecodeError, match=f"body over {len(body) - 1} bytes"):
        asyncio.run(_get(body, max_size=len(body) - 1))


def test_the_client_decodes_a_body_at_max_depth() -> None:
    body = json.dumps(_run_with_parameters({"p": _deep(MAX_JSON_DEPTH - 5, "array")})).encode()
    run = asyncio.run(_get(body))
    assert run.id == RUNS[0]["id"]
    assert run.tools[0].parameters is not None


# ------------------------------------------------------------------------------------- corpus


@pytest.mark.parametrize("data", corpus("openai_json"))
def test_the_corpus_replays_with_only_decode_errors(data: bytes) -> None:
    for build in (Run.from_openai, Message.from_openai, _event("thread.run.created", None)):
        _decode(build, data)
    try:
        value = jsonio.loads(data)
    except ValueError:
        return
    if isinstance(value, dict):
        _decode(Run.from_openai, value)
        _decode(Message.from_openai, value)
