"""OpenAI Responses request bodies from the client's arguments, validated by the generated
``CreateResponse`` model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pydantic
from runbind_generated.openai import CreateResponse

from .._core.errors import InvalidArgumentError
from .._core.models import Tool

__all__ = ["InputArg", "InputItemInput", "ResponseToolInput", "response_body", "tool_param"]

Json = dict[str, Any]

InputItemInput = str | Mapping[str, object] | pydantic.BaseModel
"""One input item: a string (a user message), an item as a dict, or a generated model."""
InputArg = str | Sequence[InputItemInput]
"""A response's input: a string (one user message) or a list of items."""
ResponseToolInput = Tool | Mapping[str, object] | pydantic.BaseModel
"""A tool: a runbind :class:`Tool` (a function becomes a non-strict function tool), a dict as
the API takes it, or a generated model."""

_NAMED = frozenset(
    {
        "model",
        "input",
        "instructions",
        "tools",
        "previous_response_id",
        "metadata",
        "temperature",
        "max_output_tokens",
        "background",
        "stream",
    }
)
"""Body properties the client's own arguments set (``extra_body`` may not repeat them)."""


def _plain(value: Mapping[str, Any] | pydantic.BaseModel) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dict(value)


def _item(value: InputItemInput, index: int) -> Any:
    if isinstance(value, str):
        return {"role": "user", "content": value}
    if isinstance(value, Mapping | pydantic.BaseModel):
        return _plain(value)
    kind = type(value).__name__
    raise InvalidArgumentError(f"input[{index}] must be a str, dict or model, got {kind}")


def tool_param(value: ResponseToolInput, index: int) -> Any:
    """``value`` as the API takes a tool."""
    if isinstance(value, Mapping | pydantic.BaseModel):
        return _plain(value)
    if not isinstance(value, Tool):
        raise InvalidArgumentError(
            f"tools[{index}] must be a Tool or dict, got {type(value).__name__}"
        )
    if value.type != "function":
        return {"type": value.type}
    tool: Json = {"type": "function", "name": value.name, "strict": False}
    if value.description is not None:
        tool["description"] = value.description
    tool["parameters"] = value.parameters if value.parameters is not None else {}
    return tool


def response_body(
    model: str,
    input: InputArg | None,
    *,
    instructions: str | None,
    tools: Sequence[ResponseToolInput] | None,
    previous_response_id: str | None,
    labels: Mapping[str, str] | None,
    temperature: float | None,
    max_output_tokens: int | None,
    background: bool,
    stream: bool,
    extra_body: Mapping[str, object] | None,
) -> Json:
    """The JSON body of a create-response request, checked against ``CreateResponse``."""
    if not isinstance(model, str) or not model:
        raise InvalidArgumentError("model must be a non-empty string")
    body: Json = {"model": model}
    if isinstance(input, str):
        body["input"] = input
    elif input is not None:
        if isinstance(input, Mapping | bytes) or not isinstance(input, Sequence):
            kind = type(input).__name__
            raise InvalidArgumentError(f"input must be a str or a list of items, got {kind}")
        body["input"] = [_item(item, i) for i, item in enumerate(input)]
    if instructions is not None:
        body["instructions"] = instructions
    if tools is not None:
        if isinstance(tools, Mapping | str):
            raise InvalidArgumentError(f"tools must be a list, got {type(tools).__name__}")
        body["tools"] = [tool_param(t, i) for i, t in enumerate(tools)]
    if previous_response_id is not None:
        body["previous_response_id"] = previous_response_id
    if labels is not None:
        body["metadata"] = dict(labels)
    if temperature is not None:
        body["temperature"] = temperature
    if max_output_tokens is not None:
        body["max_output_tokens"] = max_output_tokens
    if not isinstance(background, bool) or not isinstance(stream, bool):
        raise InvalidArgumentError("background and stream must be booleans")
    body["background"] = background
    if stream:
        body["stream"] = True
    for key, value in (extra_body or {}).items():
        if not isinstance(key, str) or key in _NAMED:
            raise InvalidArgumentError(f"extra_body: {key!r} has an argument of its own")
        body[key] = value
    try:
        checked = CreateResponse.model_validate(body)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidArgumentError(f"invalid response request at {where}: {first['msg']}") from None
    dumped: Json = checked.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return dumped
