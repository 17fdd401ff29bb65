"""Responses API request checks on plain JSON: the create body, its input items and tools.

Bad input raises :class:`~._openai_requests.ApiError` (400, the spec's error object with a
``param`` and a ``code``). The checks here are the emulator's own contract; the generated
``CreateResponse`` model then validates the whole body (:func:`check_with_models`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, NoReturn, cast

from .._core.generated import need
from ._openai_requests import ApiError, check, check_metadata, script
from ._script import Script
from ._state import new_id

if TYPE_CHECKING:
    from runbind_generated.openai import CreateResponse

__all__ = [
    "CreateBody",
    "asks_script",
    "check_with_models",
    "invalid",
    "parse_create",
    "query_flag",
    "query_int",
    "text_of",
]

Json = dict[str, Any]

_MAX_DEPTH: Final = 64
_BOOLS: Final = ("background", "store", "stream", "parallel_tool_calls")
_STRINGS: Final = (
    "instructions",
    "previous_response_id",
    "prompt_cache_key",
    "safety_identifier",
    "user",
    "service_tier",
    "prompt_cache_retention",
)
_OBJECTS: Final = (
    "reasoning",
    "text",
    "stream_options",
    "prompt",
    "prompt_cache_options",
    "moderation",
)
_OTHER: Final = ("conversation", "context_management", "include", "tool_choice", "truncation")
_NUMBERS: Final = {"temperature": (0.0, 2.0), "top_p": (0.0, 1.0)}
_INTEGERS: Final = {"max_output_tokens": 16, "max_tool_calls": 1, "top_logprobs": 0}
KNOWN: Final = frozenset(
    ("model", "input", "metadata", "tools", *_BOOLS, *_STRINGS, *_OBJECTS, *_OTHER)
).union(_NUMBERS, _INTEGERS)
"""Every property of the spec's create body."""
_ROLES: Final = ("user", "assistant", "system", "developer")
_ITEM_TYPES: Final = ("message", "function_call", "function_call_output", "item_reference")
_PART_TYPES: Final = ("input_text", "input_image", "input_file", "output_text", "refusal")
_TOOL_CHOICES: Final = ("none", "auto", "required")
_TRUNCATION: Final = ("auto", "disabled")
_DEFAULT_FUNCTION: Final = "get_weather"


def invalid(message: str, param: str | None, code: str | None = "invalid_value") -> NoReturn:
    """A 400 with the spec's error object."""
    raise ApiError(400, message, param, code=code)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _type(param: str, expected: str, value: Any) -> NoReturn:
    invalid(
        f"Invalid type for '{param}': expected {expected}, but got {_kind(value)} instead.",
        param,
        "invalid_type",
    )


def _missing(param: str) -> NoReturn:
    invalid(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")


def _supported(param: str, value: Any, allowed: Sequence[str]) -> NoReturn:
    names = ", ".join(f"'{a}'" for a in allowed)
    invalid(f"Invalid value: '{value}'. Supported values are: {names}.", param)


def _string(value: Any, param: str, *, nullable: bool = False) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        _type(param, "a string", value)
    return value


def _object(value: Any, param: str) -> Json:
    if not isinstance(value, dict):
        _type(param, "an object", value)
    return value


def _json(raw: bytes) -> Json:
    try:
        value = json.loads(raw or b"{}", parse_constant=_no_constant)
    except (ValueError, RecursionError):
        invalid("We could not parse the JSON body of your request.", None, None)
    if not isinstance(value, dict):
        invalid("The request body must be a JSON object.", None, None)
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > _MAX_DEPTH:
            invalid(f"The request body is nested deeper than {_MAX_DEPTH} levels.", None, None)
        if isinstance(item, dict | list):
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return value


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def check_with_models(value: Json) -> None:
    """The create body validated strictly by the generated ``CreateResponse`` model and closed to
    values the spec does not list, as the Assistants bodies are (:func:`._openai_requests.parse`).

    Called after the emulator's own checks, which name the spec's specific error codes
    (``invalid_type``, ``unknown_parameter``...); the model catches what they do not look at
    (the shape of ``text``, ``reasoning``, ``tool_choice``, input content parts...).
    """
    # Resolved on use: the Responses API is newer than some openai-openapi versions.
    check(cast("type[CreateResponse]", need("runbind_generated.openai", "CreateResponse")), value)


# --- the create body ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateBody:
    """A checked ``POST /responses`` body: what the emulator acts on, and what it echoes."""

    model: str
    input: list[Json]
    """The input items as stored (``input_items``): each with an id and a status."""
    instructions: str | None
    metadata: dict[str, str]
    background: bool
    stream: bool
    store: bool
    previous_response_id: str | None
    tools: list[Json]
    function_names: list[str]
    script: Script | None
    """The behaviour the body asks for; None: the previous response's (or echo)."""
    echo: Json = field(default_factory=dict)
    """Response fields copied from the body."""


def parse_create(raw: bytes) -> CreateBody:
    """The create body, checked (bad input: :class:`ApiError`)."""
    value = _json(raw)
    for key in value:
        if key not in KNOWN:
            invalid(f"Unknown parameter: '{key}'.", key, "unknown_parameter")
    _scalars(value)
    model = value.get("model")
    if model is None:
        _missing("model")
    if not isinstance(model, str):
        _type("model", "a string", model)
    metadata = value.get("metadata")
    if metadata is not None:
        _object(metadata, "metadata")
        for key, item in metadata.items():
            _string(item, f"metadata.{key}")
    labels = check_metadata(metadata, "metadata")
    instructions = _string(value.get("instructions"), "instructions", nullable=True)
    background = value.get("background") is True
    store = value.get("store") is not False
    if background and not store:
        invalid("Background mode requires 'store' to be true.", "background")
    tools = _tools(value.get("tools"))
    names = [t["name"] for t in tools if t.get("type") == "function"]
    items = _input(value.get("input"))
    check_with_models(value)
    return CreateBody(
        model=model,
        input=items,
        instructions=instructions,
        metadata=labels,
        background=background,
        stream=value.get("stream") is True,
        store=store,
        previous_response_id=_string(
            value.get("previous_response_id"), "previous_response_id", nullable=True
        ),
        tools=tools,
        function_names=names or [_DEFAULT_FUNCTION],
        script=script(labels, instructions) if asks_script(labels, instructions) else None,
        echo=_echo(value),
    )


def asks_script(metadata: Mapping[str, str], instructions: str | None) -> bool:
    """The body names a behaviour (an ``emulator`` metadata entry or instructions line)."""
    if "emulator" in metadata:
        return True
    for line in (instructions or "").splitlines():
        head, sep, _ = line.partition(":")
        if sep and head.strip().lower() == "emulator":
            return True
    return False


def _scalars(value: Json) -> None:
    """Types and ranges of the top-level properties the emulator does not act on itself."""
    for key in _BOOLS:
        if value.get(key) is not None and not isinstance(value[key], bool):
            _type(key, "a boolean", value[key])
    for key in _STRINGS:
        _string(value.get(key), key, nullable=True)
    for key in _OBJECTS:
        if value.get(key) is not None:
            _object(value[key], key)
    for key, (low, high) in _NUMBERS.items():
        number = value.get(key)
        if number is None:
            continue
        if isinstance(number, bool) or not isinstance(number, int | float):
            _type(key, "a number", number)
        if not math.isfinite(number) or not low <= number <= high:
            invalid(f"Invalid '{key}': expected a number between {low} and {high}.", key)
    for key, least in _INTEGERS.items():
        number = value.get(key)
        if number is None:
            continue
        if isinstance(number, bool) or not isinstance(number, int):
            _type(key, "an integer", number)
        if number < least:
            invalid(f"Invalid '{key}': integer below minimum value {least}.", key)
    truncation = value.get("truncation")
    if truncation is not None and truncation not in _TRUNCATION:
        _supported("truncation", truncation, _TRUNCATION)
    choice = value.get("tool_choice")
    if isinstance(choice, str) and choice not in _TOOL_CHOICES:
        _supported("tool_choice", choice, _TOOL_CHOICES)
    if choice is not None and not isinstance(choice, str | dict):
        _type("tool_choice", "a string or an object", choice)
    include = value.get("include")
    if include is not None and not (
        isinstance(include, list) and all(isinstance(i, str) for i in include)
    ):
        _type("include", "an array of strings", include)


def _echo(value: Json) -> Json:
    """The Response fields the body sets (the spec's defaults for the rest)."""
    text = value.get("text") or {"format": {"type": "text"}}
    echo: Json = {
        "temperature": value.get("temperature", 1.0),
        "top_p": value.get("top_p", 1.0),
        "parallel_tool_calls": value.get("parallel_tool_calls") is not False,
        "tool_choice": value.get("tool_choice") or "auto",
        "truncation": value.get("truncation") or "disabled",
        "max_output_tokens": value.get("max_output_tokens"),
        "max_tool_calls": value.get("max_tool_calls"),
        "text": text,
        "reasoning": value.get("reasoning") or {"effort": None, "summary": None},
        "service_tier": value.get("service_tier") or "default",
    }
    for key in ("user", "safety_identifier", "prompt_cache_key", "top_logprobs"):
        if value.get(key) is not None:
            echo[key] = value[key]
    return echo


def _tools(value: Any) -> list[Json]:
    """The tools as a Response shows them; function tools need a name."""
    if value is None:
        return []
    if not isinstance(value, list):
        _type("tools", "an array", value)
    tools: list[Json] = []
    for index, raw in enumerate(value):
        param = f"tools[{index}]"
        tool = _object(raw, param)
        kind = tool.get("type")
        if kind is None:
            _missing(f"{param}.type")
        _string(kind, f"{param}.type")
        if kind != "function":
            tools.append(dict(tool))
            continue
        name = tool.get("name")
        if name is None:
            _missing(f"{param}.name")
        _string(name, f"{param}.name")
        parameters = tool.get("parameters")
        if parameters is not None:
            _object(parameters, f"{param}.parameters")
        strict = tool.get("strict")
        if strict is not None and not isinstance(strict, bool):
            _type(f"{param}.strict", "a boolean", strict)
        shown = {**tool, "parameters": parameters, "strict": True if strict is None else strict}
        tools.append(shown)
    return tools


# --- input items -------------------------------------------------------------------------------


def _input(value: Any) -> list[Json]:
    """The input as stored items: a string is one user message."""
    if value is None:
        return []
    if isinstance(value, str):
        return [_message("user", [{"type": "input_text", "text": value}])]
    if not isinstance(value, list):
        _type("input", "a string or an array", value)
    return [_item(item, f"input[{i}]") for i, item in enumerate(value)]


def _message(role: str, content: list[Json]) -> Json:
    return {
        "id": new_id("msg_"),
        "type": "message",
        "role": role,
        "status": "completed",
        "content": content,
    }


def _item(raw: Any, param: str) -> Json:
    item = _object(raw, param)
    kind = item.get("type", "message")
    if kind not in _ITEM_TYPES:
        _supported(f"{param}.type", kind, _ITEM_TYPES)
    if kind == "message":
        role = item.get("role")
        if role is None:
            _missing(f"{param}.role")
        if role not in _ROLES:
            _supported(f"{param}.role", role, _ROLES)
        if "content" not in item:
            _missing(f"{param}.content")
        return _message(role, _content(item["content"], role, f"{param}.content"))
    if kind == "item_reference":
        return {"id": _string(item.get("id"), f"{param}.id"), "type": "item_reference"}
    call_id = item.get("call_id")
    if call_id is None:
        _missing(f"{param}.call_id")
    _string(call_id, f"{param}.call_id")
    if not 1 <= len(call_id) <= 64:
        invalid(f"Invalid '{param}.call_id': expected 1 to 64 characters.", f"{param}.call_id")
    if kind == "function_call":
        for key in ("name", "arguments"):
            if key not in item:
                _missing(f"{param}.{key}")
            _string(item[key], f"{param}.{key}")
        shown = {"name": item["name"], "arguments": item["arguments"]}
        return {
            "id": new_id("fc_"),
            "type": kind,
            "call_id": call_id,
            **shown,
            "status": "completed",
        }
    if "output" not in item:
        _missing(f"{param}.output")
    output = item["output"]
    if not isinstance(output, str):
        _parts(output, f"{param}.output")
    return {
        "id": new_id("fco_"),
        "type": kind,
        "call_id": call_id,
        "output": output,
        "status": "completed",
    }


def _content(value: Any, role: str, param: str) -> list[Json]:
    """A message's content as parts (assistant text is ``output_text``)."""
    if isinstance(value, str):
        if role == "assistant":
            return [{"type": "output_text", "text": value, "annotations": [], "logprobs": []}]
        return [{"type": "input_text", "text": value}]
    return _parts(value, param)


def _parts(value: Any, param: str) -> list[Json]:
    if not isinstance(value, list):
        _type(param, "a string or an array", value)
    parts: list[Json] = []
    for index, raw in enumerate(value):
        where = f"{param}[{index}]"
        part = _object(raw, where)
        kind = part.get("type")
        if kind is None:
            _missing(f"{where}.type")
        if kind not in _PART_TYPES:
            _supported(f"{where}.type", kind, _PART_TYPES)
        if kind in ("input_text", "output_text"):
            if "text" not in part:
                _missing(f"{where}.text")
            _string(part["text"], f"{where}.text")
        parts.append(dict(part))
    return parts


def text_of(item: Json) -> str:
    """The text of a message item (its text parts joined), else ""."""
    texts = [p.get("text", "") for p in item.get("content", ()) if isinstance(p, dict)]
    return "\n".join(t for t in texts if isinstance(t, str))


# --- query parameters --------------------------------------------------------------------------


def query_flag(query: Mapping[str, str], name: str) -> bool:
    """A boolean query parameter (``true``/``false``; absent: false)."""
    raw = query.get(name)
    if raw is None or raw.lower() == "false":
        return False
    if raw.lower() == "true":
        return True
    _type(name, "a boolean", raw)


def query_int(query: Mapping[str, str], name: str) -> int | None:
    """An integer query parameter >= 0, or None."""
    raw = query.get(name)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        invalid(f"Invalid '{name}': expected an integer >= 0, got '{raw}'.", name, "invalid_type")
    return int(raw)
