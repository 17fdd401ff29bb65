"""OpenAI request bodies from the client's arguments, validated by the generated models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pydantic
from runbind_generated.openai import CreateRunRequest

from .._core.errors import InvalidArgumentError
from .._core.models import PromptTruncationOptions, ResponseFormat, Tool

__all__ = ["create_body"]

MessageInput = str | Mapping[str, object] | pydantic.BaseModel
ToolInput = Tool | Mapping[str, object] | pydantic.BaseModel
TruncationInput = PromptTruncationOptions | Mapping[str, object]
FormatInput = ResponseFormat | str | Mapping[str, object]

Json = dict[str, Any]


def _plain(value: Mapping[str, Any] | pydantic.BaseModel) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dict(value)


def _message(value: MessageInput, index: int) -> Any:
    if isinstance(value, str):
        return {"role": "user", "content": value}
    if isinstance(value, Mapping | pydantic.BaseModel):
        return _plain(value)
    kind = type(value).__name__
    raise InvalidArgumentError(f"additional_messages[{index}] must be a str or dict, got {kind}")


def _tool(value: ToolInput, index: int) -> Any:
    if isinstance(value, Mapping | pydantic.BaseModel):
        return _plain(value)
    if not isinstance(value, Tool):
        raise InvalidArgumentError(
            f"custom_tools[{index}] must be a Tool or dict, got {type(value).__name__}"
        )
    if value.type != "function":
        return {"type": value.type}
    function: Json = {"name": value.name}
    if value.description is not None:
        function["description"] = value.description
    if value.parameters is not None:
        function["parameters"] = value.parameters
    return {"type": "function", "function": function}


def _truncation(value: TruncationInput, body: Json) -> None:
    if isinstance(value, Mapping):
        body["truncation_strategy"] = dict(value)
        return
    if not isinstance(value, PromptTruncationOptions):
        raise InvalidArgumentError(
            "custom_prompt_truncation_options must be PromptTruncationOptions, "
            f"got {type(value).__name__}"
        )
    if value.max_prompt_tokens is not None:
        body["max_prompt_tokens"] = value.max_prompt_tokens
    if value.strategy is not None:
        strategy: Json = {"type": value.strategy}
        if value.num_messages is not None:
            strategy["last_messages"] = value.num_messages
        body["truncation_strategy"] = strategy


def _response_format(value: FormatInput) -> Any:
    if isinstance(value, str | Mapping):
        return value if isinstance(value, str) else dict(value)
    if not isinstance(value, ResponseFormat):
        raise InvalidArgumentError(
            f"custom_response_format must be a ResponseFormat, got {type(value).__name__}"
        )
    if value.type == "auto":
        return "auto"
    if value.type != "json_schema":
        return {"type": value.type}
    schema: Json = {"name": value.name or "response", "schema": value.json_schema}
    if value.strict is not None:
        schema["strict"] = value.strict
    return {"type": "json_schema", "json_schema": schema}


def create_body(
    assistant_id: str,
    *,
    labels: Mapping[str, str] | None,
    additional_messages: Sequence[MessageInput],
    custom_temperature: float | None,
    custom_max_tokens: int | None,
    custom_prompt_truncation_options: TruncationInput | None,
    custom_tools: Sequence[ToolInput] | None,
    custom_response_format: FormatInput | None,
    stream: bool,
) -> Json:
    """The JSON body of a create-run request, checked against ``CreateRunRequest``."""
    if not isinstance(assistant_id, str) or not assistant_id:
        raise InvalidArgumentError("assistant_id must be a non-empty string")
    if isinstance(additional_messages, str):
        raise InvalidArgumentError("additional_messages must be a list, got a str")
    body: Json = {"assistant_id": assistant_id}
    if labels is not None:
        body["metadata"] = dict(labels)
    if additional_messages:
        body["additional_messages"] = [_message(m, i) for i, m in enumerate(additional_messages)]
    if custom_temperature is not None:
        body["temperature"] = custom_temperature
    if custom_max_tokens is not None:
        body["max_completion_tokens"] = custom_max_tokens
    if custom_prompt_truncation_options is not None:
        _truncation(custom_prompt_truncation_options, body)
    if custom_tools is not None:
        body["tools"] = [_tool(t, i) for i, t in enumerate(custom_tools)]
    if custom_response_format is not None:
        body["response_format"] = _response_format(custom_response_format)
    if stream:
        body["stream"] = True
    try:
        checked = CreateRunRequest.model_validate(body)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidArgumentError(f"invalid run request at {where}: {first['msg']}") from None
    dumped: Json = checked.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return dumped
