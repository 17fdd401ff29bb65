"""Yandex request messages from the client's arguments (runbind values or generated messages)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias, cast

from runbind_generated.proto.google.protobuf import Struct
from runbind_generated.proto.yandex.cloud.ai.assistants import v1
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs, threads

from .._core.errors import InvalidArgumentError
from .._core.generated import need, newer_fields
from .._core.models import PromptTruncationOptions, ResponseFormat, Tool

__all__ = ["create_request", "submit_request"]

MessageInput = str | threads.MessageData
ToolInput = Tool | v1.Tool
TruncationInput = PromptTruncationOptions | v1.PromptTruncationOptions
# A string: ResponseFormat is newer than some cloudapi versions runbind is generated from.
FormatInput: TypeAlias = "ResponseFormat | v1.ResponseFormat"
V1 = "runbind_generated.proto.yandex.cloud.ai.assistants.v1"
RUNS = f"{V1}.runs"


def _format_class() -> type[v1.ResponseFormat]:
    return cast("type[v1.ResponseFormat]", need(V1, "ResponseFormat"))


def _schema_class() -> type[v1.JsonSchema]:
    return cast("type[v1.JsonSchema]", need(V1, "JsonSchema"))


def _message(value: MessageInput, index: int) -> threads.MessageData:
    if isinstance(value, threads.MessageData):
        return value
    if not isinstance(value, str):
        raise InvalidArgumentError(
            f"additional_messages[{index}] must be a str or MessageData, got {type(value).__name__}"
        )
    part = threads.ContentPart(text=threads.Text(content=value))
    # No author: the service takes an authorless message as the user's.
    return threads.MessageData(content=threads.MessageContent(content=[part]))


def _struct(value: Mapping[str, object] | None, where: str) -> Struct | None:
    if value is None:
        return None
    try:
        return Struct.from_dict(dict(value))
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"{where} is not a JSON object: {exc}") from None


def _tool(value: ToolInput, index: int) -> v1.Tool:
    if isinstance(value, v1.Tool):
        return value
    where = f"custom_tools[{index}]"
    if not isinstance(value, Tool):
        raise InvalidArgumentError(f"{where} must be a Tool, got {type(value).__name__}")
    if value.type != "function" or not value.name:
        raise InvalidArgumentError(
            f"{where}: only named function tools can be built from a runbind Tool; "
            "pass a generated yandex Tool for other kinds"
        )
    function = v1.FunctionTool(
        name=value.name,
        description=value.description or "",
        parameters=_struct(value.parameters, f"{where}.parameters"),
    )
    return v1.Tool(function=function)


def _truncation(value: TruncationInput) -> v1.PromptTruncationOptions:
    if isinstance(value, v1.PromptTruncationOptions):
        return value
    if not isinstance(value, PromptTruncationOptions):
        raise InvalidArgumentError(
            "custom_prompt_truncation_options must be PromptTruncationOptions, "
            f"got {type(value).__name__}"
        )
    options = v1.PromptTruncationOptions(max_prompt_tokens=value.max_prompt_tokens)
    if value.strategy == "auto":
        options.auto_strategy = v1.PromptTruncationOptionsAutoStrategy()
    elif value.strategy == "last_messages":
        if value.num_messages is None:
            raise InvalidArgumentError("the last_messages strategy needs num_messages")
        options.last_messages_strategy = v1.PromptTruncationOptionsLastMessagesStrategy(
            num_messages=value.num_messages
        )
    elif value.strategy is not None:
        raise InvalidArgumentError(f"unknown truncation strategy {value.strategy!r}")
    return options


def _response_format(value: FormatInput) -> v1.ResponseFormat:
    if isinstance(value, ResponseFormat):
        # Checked before the generated class is needed: a bad value is a bad value at any spec.
        if value.type == "json_object":
            return _format_class()(json_object=True)
        if value.type == "json_schema":
            if value.json_schema is None:
                raise InvalidArgumentError("a json_schema response format needs json_schema")
            schema = _struct(value.json_schema, "custom_response_format.json_schema")
            return _format_class()(json_schema=_schema_class()(schema=schema))
        raise InvalidArgumentError(
            f"Yandex response formats are json_object and json_schema, got {value.type!r}"
        )
    if isinstance(value, _format_class()):
        return value
    raise InvalidArgumentError(
        f"custom_response_format must be a ResponseFormat, got {type(value).__name__}"
    )


def submit_request(run_id: str, results: v1.ToolResultList) -> runs.SubmitToRunRequest:
    """The ``Submit`` RPC's request (the RPC is newer than some cloudapi versions)."""
    request = cast("type[runs.SubmitToRunRequest]", need(RUNS, "SubmitToRunRequest"))
    return request(run_id=run_id, tool_result_list=results)


def create_request(
    assistant_id: str,
    thread_id: str,
    *,
    labels: Mapping[str, str] | None,
    additional_messages: Sequence[MessageInput],
    custom_temperature: float | None,
    custom_max_tokens: int | None,
    custom_prompt_truncation_options: TruncationInput | None,
    custom_tools: Sequence[ToolInput] | None,
    custom_response_format: FormatInput | None,
    stream: bool,
) -> runs.CreateRunRequest:
    """The ``CreateRunRequest`` for these arguments (an :class:`InvalidArgumentError` if bad)."""
    for name, value in (("assistant_id", assistant_id), ("thread_id", thread_id)):
        if not isinstance(value, str) or not value:
            raise InvalidArgumentError(f"{name} must be a non-empty string")
    if isinstance(additional_messages, str):
        raise InvalidArgumentError("additional_messages must be a list, got a str")
    completion = None
    if custom_temperature is not None or custom_max_tokens is not None:
        completion = v1.CompletionOptions(
            temperature=custom_temperature, max_tokens=custom_max_tokens
        )
    extra = newer_fields(
        runs.CreateRunRequest,
        custom_response_format=(
            None if custom_response_format is None else _response_format(custom_response_format)
        ),
    )
    return runs.CreateRunRequest(
        assistant_id=assistant_id,
        thread_id=thread_id,
        labels=dict(labels or {}),
        additional_messages=[_message(m, i) for i, m in enumerate(additional_messages)],
        custom_prompt_truncation_options=(
            None
            if custom_prompt_truncation_options is None
            else _truncation(custom_prompt_truncation_options)
        ),
        custom_completion_options=completion,
        stream=stream,
        tools=[_tool(t, i) for i, t in enumerate(custom_tools or ())],
        **extra,
    )
