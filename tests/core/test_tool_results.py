"""Function results go back in order and as sent, and every malformed result list is refused."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from runbind_generated.openai import SubmitToolOutputsRunRequest
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import ToolResultList

import runbind
from runbind import FunctionResultDict, InvalidArgumentError, ToolCall


def pairs(message: ToolResultList) -> list[tuple[str, str | None]]:
    """``(name, content)`` of every function result in a Yandex ``ToolResultList``."""
    out = []
    for result in message.tool_results:
        function = result.function_result
        assert function is not None
        out.append((function.name, function.content))
    return out


OPENAI_CALL = ToolCall("call_Paris01", "get_weather", '{"city": "Paris"}')
YANDEX_CALL = ToolCall(None, "get_weather", '{"city": "Paris"}')


# --------------------------------------------------------------------------------------------
# ToolCall.result
# --------------------------------------------------------------------------------------------


def test_result_of_string_is_sent_as_is() -> None:
    assert OPENAI_CALL.result("18C, cloudy") == {
        "name": "get_weather",
        "content": "18C, cloudy",
        "tool_call_id": "call_Paris01",
    }
    assert OPENAI_CALL.result("") == {
        "name": "get_weather",
        "content": "",
        "tool_call_id": "call_Paris01",
    }
    assert OPENAI_CALL.result('{"already": "json"}')["content"] == '{"already": "json"}'


def test_result_of_dict_and_list_is_json() -> None:
    as_dict = OPENAI_CALL.result({"city": "Москва", "temperature": -3.5, "ok": True, "x": None})
    assert json.loads(as_dict["content"]) == {
        "city": "Москва",
        "temperature": -3.5,
        "ok": True,
        "x": None,
    }
    assert "Москва" in as_dict["content"]
    as_list = OPENAI_CALL.result([1, "two", {"three": 3}])
    assert as_list["content"] == '[1, "two", {"three": 3}]'
    assert OPENAI_CALL.result({})["content"] == "{}"
    assert OPENAI_CALL.result([])["content"] == "[]"


def test_result_without_id_has_no_tool_call_id() -> None:
    result = YANDEX_CALL.result("ok")
    assert result == {"name": "get_weather", "content": "ok"}
    assert "tool_call_id" not in result


# --------------------------------------------------------------------------------------------
# Happy paths
# --------------------------------------------------------------------------------------------


def test_yandex_results_keep_order() -> None:
    calls = [
        ToolCall(None, "get_weather", '{"city": "Paris"}'),
        ToolCall(None, "get_weather", '{"city": "Tokyo"}'),
        ToolCall(None, "get_time", "{}"),
    ]
    results = [
        calls[0].result({"temperature": 18}),
        calls[1].result("22C"),
        calls[2].result(["14:05", "CEST"]),
    ]
    message = runbind.to_yandex_tool_results(results)
    assert isinstance(message, ToolResultList)
    assert pairs(message) == [
        ("get_weather", '{"temperature": 18}'),
        ("get_weather", "22C"),
        ("get_time", '["14:05", "CEST"]'),
    ]
    assert ToolResultList.parse(bytes(message)) == message


def test_yandex_accepts_any_iterable_type_and_extra_id() -> None:
    items: list[FunctionResultDict] = [
        {"name": "a", "content": "1", "tool_call_id": "call_1"},
        {"name": "b", "content": ""},
    ]
    typed: list[dict[str, Any]] = [{"name": "c", "content": "3", "type": "function"}]

    def gen() -> Iterator[FunctionResultDict]:
        yield from items

    for results in (items, tuple(items), gen()):
        message = runbind.to_yandex_tool_results(results)
        assert pairs(message) == [("a", "1"), ("b", "")]
    message = runbind.to_yandex_tool_results(typed)  # type: ignore[arg-type]
    assert pairs(message) == [("c", "3")]


def test_openai_outputs_keep_order() -> None:
    calls = [
        ToolCall("call_Paris01", "get_weather", '{"city": "Paris"}'),
        ToolCall("call_Tokyo02", "get_weather", '{"city": "Tokyo"}'),
        ToolCall("call_Time03", "get_time", "{}"),
    ]
    results = [
        calls[0].result({"temperature": 18}),
        calls[1].result("22C"),
        calls[2].result(["14:05"]),
    ]
    request = runbind.to_openai_tool_outputs(results)
    assert isinstance(request, SubmitToolOutputsRunRequest)
    assert request.stream is None
    assert [(o.tool_call_id, o.output) for o in request.tool_outputs] == [
        ("call_Paris01", '{"temperature": 18}'),
        ("call_Tokyo02", "22C"),
        ("call_Time03", '["14:05"]'),
    ]
    assert request.model_dump(mode="json", exclude_none=True) == {
        "tool_outputs": [
            {"tool_call_id": "call_Paris01", "output": '{"temperature": 18}'},
            {"tool_call_id": "call_Tokyo02", "output": "22C"},
            {"tool_call_id": "call_Time03", "output": '["14:05"]'},
        ]
    }


@pytest.mark.parametrize("stream", [True, False])
def test_openai_stream_passes_through(stream: bool) -> None:
    request = runbind.to_openai_tool_outputs([OPENAI_CALL.result("ok")], stream=stream)
    assert request.stream is stream
    assert request.model_dump(mode="json", exclude_none=True)["stream"] is stream


def test_openai_needs_no_name_and_keeps_empty_content() -> None:
    results: list[Any] = [{"tool_call_id": "call_1", "content": ""}]
    request = runbind.to_openai_tool_outputs(results)
    assert [(o.tool_call_id, o.output) for o in request.tool_outputs] == [("call_1", "")]


def test_inputs_are_not_mutated() -> None:
    results: list[FunctionResultDict] = [
        {"name": "a", "content": "1", "tool_call_id": "call_1"},
        {"name": "b", "content": "2", "tool_call_id": "call_2"},
    ]
    before = copy.deepcopy(results)
    runbind.to_yandex_tool_results(results)
    runbind.to_openai_tool_outputs(results)
    assert results == before


# --------------------------------------------------------------------------------------------
# Invalid input: InvalidArgumentError naming the index and key
# --------------------------------------------------------------------------------------------

BOTH = ("yandex", "openai")
YANDEX = ("yandex",)
OPENAI = ("openai",)

_DROP = object()
GOOD: dict[str, Any] = {"name": "get_weather", "content": "ok", "tool_call_id": "call_1"}


def _good(**changes: Any) -> dict[str, Any]:
    item = dict(GOOD)
    for key, value in changes.items():
        if value is _DROP:
            del item[key]
        else:
            item[key] = value
    return item


def _convert(target: str, results: Any) -> object:
    if target == "yandex":
        return runbind.to_yandex_tool_results(results)
    return runbind.to_openai_tool_outputs(results)


INVALID: list[Any] = [
    # label, targets, results, fragments the message must contain
    ("empty list", BOTH, [], ["empty"]),
    ("empty tuple", BOTH, (), ["empty"]),
    ("empty iterator", BOTH, iter(()), ["empty"]),
    ("single dict", BOTH, dict(GOOD), ["list"]),
    ("str", BOTH, "ok", ["list"]),
    ("bytes", BOTH, b"ok", ["list"]),
    ("str item", BOTH, [GOOD, "ok"], ["[1]", "dict", "str"]),
    ("None item", BOTH, [None], ["[0]", "dict", "NoneType"]),
    ("list item", BOTH, [GOOD, GOOD, ["get_weather", "ok"]], ["[2]", "dict", "list"]),
    ("missing content", BOTH, [GOOD, _good(content=_DROP)], ["[1]", "'content'"]),
    ("None content", BOTH, [_good(content=None)], ["[0]", "'content'"]),
    ("dict content", BOTH, [GOOD, _good(content={"t": 1})], ["[1]", "'content'", "dict"]),
    ("int content", BOTH, [_good(content=18)], ["[0]", "'content'", "int"]),
    ("bytes content", BOTH, [_good(content=b"ok")], ["[0]", "'content'", "bytes"]),
    ("missing name", YANDEX, [GOOD, _good(name=_DROP)], ["[1]", "'name'"]),
    ("None name", YANDEX, [_good(name=None)], ["[0]", "'name'"]),
    ("empty name", YANDEX, [_good(name="")], ["[0]", "'name'", "empty"]),
    ("int name", BOTH, [_good(name=7)], ["[0]", "'name'", "int"]),
    ("missing id", OPENAI, [GOOD, GOOD, _good(tool_call_id=_DROP)], ["[2]", "'tool_call_id'"]),
    ("None id", OPENAI, [_good(tool_call_id=None)], ["[0]", "'tool_call_id'"]),
    ("empty id", OPENAI, [_good(tool_call_id="")], ["[0]", "'tool_call_id'", "empty"]),
    ("int id", BOTH, [_good(tool_call_id=1)], ["[0]", "'tool_call_id'", "int"]),
    ("unknown key", BOTH, [GOOD, _good(output="ok")], ["[1]", "unknown", "output"]),
    (
        "unknown keys",
        BOTH,
        [_good(arguments="{}", output="ok")],
        ["[0]", "unknown", "arguments, output"],
    ),
    ("type code", BOTH, [_good(type="code_interpreter")], ["[0]", "function"]),
    ("type None", BOTH, [GOOD, _good(type=None)], ["[1]", "function"]),
]


@pytest.mark.parametrize(
    ("target", "results", "fragments"),
    [
        pytest.param(target, results, fragments, id=f"{target}-{label}")
        for label, targets, results, fragments in INVALID
        for target in targets
    ],
)
def test_invalid_results(target: str, results: Any, fragments: list[str]) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        _convert(target, results)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, runbind.RunbindError)


def test_yandex_call_result_cannot_go_to_openai() -> None:
    with pytest.raises(InvalidArgumentError, match=r"\[0\].*'tool_call_id'"):
        runbind.to_openai_tool_outputs([YANDEX_CALL.result("ok")])


def test_first_bad_result_is_reported() -> None:
    results: list[Any] = [GOOD, _good(content=1), _good(name=2)]
    with pytest.raises(InvalidArgumentError, match=r"\[1\]") as info:
        runbind.to_yandex_tool_results(results)
    assert "[2]" not in str(info.value)


@pytest.mark.parametrize("target", BOTH)
def test_wrong_type_message_names_the_key(target: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        _convert(target, [_good(type="code_interpreter")])
    assert "'type'" in str(info.value)
    assert "code_interpreter" in str(info.value)


@pytest.mark.parametrize("target", BOTH)
@pytest.mark.parametrize("results", [None, 5])
def test_non_iterable_results(target: str, results: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="list"):
        _convert(target, results)
