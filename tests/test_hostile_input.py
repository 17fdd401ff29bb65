"""Input the adapters must refuse at the call, with a DecodeError naming where: lone surrogates,
what JSON text cannot hold given as a dict or a model, and Struct values no JSON can hold.

Each case once escaped as a bare exception, or was accepted and failed later: at a field read,
a ``repr``, a pickle, or as ``arguments_json`` that was not JSON (``tests/fuzz/test_deferred``
searches for more).
"""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from runbind_generated.openai import MessageObject, RunObject
from runbind_generated.proto.google.protobuf import ListValue, Struct, Value
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import Run as YRun

from runbind import DecodeError, Message, Run, RunResult, RunStreamEvent, ToolCall
from runbind._core import jsonio
from runbind.yandex import _wire
from tests.openai import test_adapter as openai_seeds
from tests.yandex import test_adapter as yandex_seeds

Json = Any

# ------------------------------------------------------------------------ OpenAI: surrogates


def _run() -> Json:
    return openai_seeds.completed_run()


def _message() -> Json:
    return openai_seeds.answer_message()


def _refused(build: Callable[[], Any], path: str | None = "", reason: str = "") -> DecodeError:
    """The DecodeError ``build()`` raises, at ``path`` (any, for ``None``), ``reason`` in it."""
    with pytest.raises(DecodeError) as caught:
        build()
    assert caught.value.provider in ("openai", "yandex")
    assert path is None or caught.value.path == path, caught.value
    assert reason in caught.value.reason, caught.value
    return caught.value


OPENAI_ENTRIES: dict[str, Callable[[Any], Any]] = {
    "Run": Run.from_openai,
    "RunResult": RunResult.from_openai,
    "Message": Message.from_openai,
    "RunResult(message)": lambda m: RunResult.from_openai(_run(), m),
}


@pytest.mark.parametrize("entry", ["Run", "RunResult"])
def test_a_lone_surrogate_in_run_text_is_a_decode_error(entry: str) -> None:
    text = json.dumps({**_run(), "id": "run_\ud800"}, ensure_ascii=False)
    _refused(lambda: OPENAI_ENTRIES[entry](text), reason="unicode")  # was a bare TypeError
    as_bytes = text.encode("utf-8", "surrogatepass")  # the surrogate's own three bytes
    _refused(lambda: OPENAI_ENTRIES[entry](as_bytes), reason="invalid unicode")


@pytest.mark.parametrize("entry", ["Message", "RunResult(message)"])
def test_a_lone_surrogate_in_message_text_is_a_decode_error(entry: str) -> None:
    text = json.dumps({**_message(), "thread_id": "\udfff"}, ensure_ascii=False)
    _refused(lambda: OPENAI_ENTRIES[entry](text), reason="unicode")


def test_a_lone_surrogate_in_event_text_is_a_decode_error() -> None:
    data = json.dumps({**_run(), "id": "\ud800"}, ensure_ascii=False)
    whole = json.dumps(
        {"event": "thread.run.created", "data": json.loads(data)}, ensure_ascii=False
    )
    _refused(lambda: RunStreamEvent.from_openai(whole, event_index=0), reason="unicode")
    sse = {"event": "thread.run.created", "data": data}  # as the SSE client hands it over
    _refused(lambda: RunStreamEvent.from_openai(sse, event_index=0), "data", "lone surrogate")


@pytest.mark.parametrize("entry", list(OPENAI_ENTRIES))
def test_a_lone_surrogate_in_a_dict_value_or_key_is_refused_with_its_path(entry: str) -> None:
    payload = _run() if "Run" in entry and "message" not in entry else _message()
    valued = {**payload, "metadata": {"user": "a\ud800b"}}
    _refused(lambda: OPENAI_ENTRIES[entry](valued), "metadata.user", "lone surrogate")
    keyed = {**payload, "metadata": {"\udc80": "x"}}
    _refused(lambda: OPENAI_ENTRIES[entry](keyed), "metadata", "a key is not valid Unicode")


def test_the_json_reader_refuses_a_lone_surrogate_with_a_value_error() -> None:
    with pytest.raises(ValueError, match="lone surrogate '\\\\ud800' at index 1"):
        jsonio.loads('"\ud800"')  # a str pydantic-core cannot read: was a bare TypeError
    call = ToolCall("call_1", "f", '{"a": "\ud800"}')
    with pytest.raises(DecodeError, match="lone surrogate") as caught:
        _ = call.arguments
    assert caught.value.provider == "model"


# ------------------------------------------------------ OpenAI: dicts JSON text could not hold


def _with_parameters(value: Json) -> Json:
    run = _run()
    run["tools"][0]["function"]["parameters"] = {"type": "object", "x": value}
    return run


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({1, 2}, "not a JSON value (set)"),
        (lambda: 0, "not a JSON value (function)"),
        (object(), "not a JSON value (object)"),
        (b"bytes", "not a JSON value (bytes)"),
        (10**5000, "an integer of more than 4,300 digits"),
        ({1: "x"}, "a key is int, not a string"),
    ],
    ids=["set", "lambda", "object", "bytes", "huge-int", "int-key"],
)
def test_a_value_json_text_cannot_hold_is_refused_at_the_call(value: Any, reason: str) -> None:
    # Each was accepted: an object or a lambda then failed when .tools was read (or at repr or
    # pickle, which read it), a 5,000-digit integer at repr (a bare ValueError); a set, bytes
    # and an int key were quietly turned into JSON, which the same run as text is refused for.
    path = "tools.0.function.parameters.x"
    _refused(lambda: Run.from_openai(_with_parameters(value)), path, reason)


def test_a_huge_integer_in_a_typed_field_is_refused_at_the_call() -> None:
    # It was accepted, and repr(run) raised a bare ValueError (Python prints 4,300 digits).
    usage = {"prompt_tokens": 10**4300, "completion_tokens": 1, "total_tokens": 2}
    _refused(lambda: Run.from_openai({**_run(), "usage": usage}), "usage.prompt_tokens", "4,300")
    usage["prompt_tokens"] = -(10**4300)
    _refused(lambda: Run.from_openai({**_run(), "usage": usage}), "usage.prompt_tokens", "4,300")
    # The longest integer JSON text holds (4,300 digits): taken, and printable.
    usage["prompt_tokens"] = 10**4300 - 1
    assert repr(Run.from_openai({**_run(), "usage": usage}))
    assert repr(Run.from_openai(json.dumps({**_run(), "usage": usage})))


def test_a_model_holding_what_json_cannot_is_refused_at_the_call() -> None:
    deep: Json = 1
    for _ in range(1_000):
        deep = [deep]
    model = RunObject.model_validate(_with_parameters(deep))  # pydantic keeps it as it is
    error = _refused(lambda: Run.from_openai(model), reason="")
    assert "depth" in error.reason or "nested" in error.reason  # was: at .tools, repr, pickle
    with_set = RunObject.model_validate(_with_parameters(2**64))
    assert Run.from_openai(with_set).tools[0].parameters == {"type": "object", "x": 2**64}
    surrogate = MessageObject.model_validate({**_message(), "id": "\ud800"})
    _refused(lambda: Message.from_openai(surrogate), "id", "lone surrogate")
    _refused(lambda: RunResult.from_openai(_run(), surrogate), "id", "lone surrogate")


def test_a_model_made_without_validation_is_refused_at_the_call() -> None:
    # model_construct checks nothing: a run without its fields was a bare AttributeError.
    _refused(lambda: Run.from_openai(RunObject.model_construct(id="run_1")), reason="Error")
    broken = RunObject.model_validate(_run())
    object.__setattr__(broken, "tools", None)  # was a TypeError when .tools was read
    _refused(lambda: Run.from_openai(broken), reason="Error")


def test_a_checked_model_keeps_identity_and_reads_fully() -> None:
    model = RunObject.model_validate(_run())
    run = Run.from_openai(model)
    assert run.raw is model
    assert pickle.loads(pickle.dumps(run)) == run == Run.from_openai(_run())


# -------------------------------------------------------------------- Yandex: Struct values


def _yandex_with_argument(value: Value) -> YRun:
    run = yandex_seeds.tool_calls_run()
    assert run.state is not None
    assert run.state.tool_call_list is not None
    function_call = run.state.tool_call_list.tool_calls[0].function_call
    assert function_call is not None
    assert function_call.arguments is not None
    function_call.arguments.fields["x"] = value
    return run


ARGUMENT = "state.tool_call_list.tool_calls[0].function_call.arguments.x"


@pytest.mark.parametrize("number", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_number_in_a_struct_is_refused_as_json_format_does(number: float) -> None:
    # Google's json_format refuses to print one; runbind wrote "NaN" into arguments_json.
    run = _yandex_with_argument(Value(number_value=number))
    for given in (run, bytes(run)):
        _refused(partial(Run.from_yandex, given), ARGUMENT, "is not a JSON number")
        _refused(partial(RunResult.from_yandex, given), ARGUMENT, "is not a JSON number")
    event = copy.deepcopy(yandex_seeds.stream_events()[3])  # the tool-calls event
    assert event.tool_call_list is not None
    function_call = event.tool_call_list.tool_calls[0].function_call
    assert function_call is not None
    assert function_call.arguments is not None
    function_call.arguments.fields["x"] = Value(number_value=number)
    path = "tool_call_list.tool_calls[0].function_call.arguments.x"
    _refused(lambda: RunStreamEvent.from_yandex(bytes(event)), path, "is not a JSON number")


def test_a_non_finite_number_in_parameters_or_a_schema_is_refused() -> None:
    run = yandex_seeds.completed_run()
    assert run.tools[0].function is not None
    assert run.tools[0].function.parameters is not None
    run.tools[0].function.parameters.fields["maximum"] = Value(number_value=float("inf"))
    _refused(lambda: Run.from_yandex(run), "tools[0].function.parameters.maximum", "inf")
    run = yandex_seeds.completed_run()
    fmt = run.custom_response_format
    assert fmt is not None
    assert fmt.json_schema is not None
    assert fmt.json_schema.schema is not None
    items = ListValue(values=[Value(string_value="a"), Value(number_value=float("nan"))])
    fmt.json_schema.schema.fields["enum"] = Value(list_value=items)
    path = "custom_response_format.json_schema.schema.enum[1]"
    _refused(lambda: Run.from_yandex(run), path, "nan is not a JSON number")


def test_finite_struct_numbers_make_valid_json() -> None:
    run = _yandex_with_argument(Value(number_value=1e308))
    call = Run.from_yandex(run).tool_calls[0]
    assert json.loads(call.arguments_json)["x"] == 1e308
    assert call.arguments["x"] == 1e308


def test_a_struct_string_that_is_not_unicode_is_refused() -> None:
    # It made arguments_json holding a lone surrogate: .arguments was a bare TypeError.
    run = _yandex_with_argument(Value(string_value="\ud800"))
    _refused(lambda: Run.from_yandex(run), ARGUMENT, "lone surrogate")
    keyed = _yandex_with_argument(Value(struct_value=Struct(fields={"\udfff": Value()})))
    _refused(lambda: Run.from_yandex(keyed), ARGUMENT, "a key is not valid Unicode")


def test_an_integer_no_double_holds_is_refused() -> None:
    # A message built in Python may put an int in a double; this one made a repr that failed.
    run = yandex_seeds.completed_run()
    assert run.tools[0].function is not None
    assert run.tools[0].function.parameters is not None
    run.tools[0].function.parameters.fields["big"] = Value(number_value=10**5000)
    _refused(lambda: Run.from_yandex(run), "tools[0].function.parameters.big", "a double")


def _nested(levels: int) -> Value:
    value = Value(string_value="leaf")
    for _ in range(levels):
        value = Value(list_value=ListValue(values=[value]))
    return value


def test_a_struct_built_in_python_is_held_to_the_wire_nesting_bound() -> None:
    # Run > state > tool_call_list > ToolCall > FunctionCall > Struct > entry > Value: each
    # list adds a ListValue and a Value. A message nested past the bound converted, but its
    # pickle did not load (its bytes are past what the decoder takes).
    inside = (_wire.MAX_DEPTH - 8) // 2
    run = Run.from_yandex(_yandex_with_argument(_nested(inside)))
    assert pickle.loads(pickle.dumps(run)) == run
    assert json.loads(run.tool_calls[0].arguments_json)["x"]
    too_deep = _yandex_with_argument(_nested(inside + 1))
    error = _refused(lambda: Run.from_yandex(too_deep), None, "messages nested deeper than 100")
    assert error.path.startswith(f"{ARGUMENT}[0][0]")
    _refused(lambda: Run.from_yandex(bytes(too_deep)), None, "nested deeper than 100")  # the same
    far = _yandex_with_argument(_nested(5_000))
    _refused(lambda: Run.from_yandex(far), None, "messages nested deeper than 100")
