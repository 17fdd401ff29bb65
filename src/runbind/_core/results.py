"""Function results going back to a run: checked once, then shaped per provider."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import InvalidArgumentError
from .models import FunctionResultDict
from .seam import adapter

if TYPE_CHECKING:
    from runbind_generated.openai import SubmitToolOutputsRunRequest
    from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import ToolResultList

__all__ = ["normalise_results", "to_openai_tool_outputs", "to_yandex_tool_results"]


def normalise_results(
    results: Iterable[FunctionResultDict], *, need_name: bool, need_id: bool
) -> list[FunctionResultDict]:
    """The results as checked dicts; an :class:`InvalidArgumentError` names the first bad one."""
    if isinstance(results, Mapping | str | bytes) or not isinstance(results, Iterable):
        kind = type(results).__name__
        raise InvalidArgumentError(f"tool results must be a list of dicts, got {kind}")
    out: list[FunctionResultDict] = []
    for index, item in enumerate(results):
        where = f"tool result [{index}]"
        if not isinstance(item, Mapping):
            raise InvalidArgumentError(f"{where} must be a dict, got {type(item).__name__}")
        unknown = set(item) - {"name", "content", "tool_call_id", "type"}
        if unknown:
            raise InvalidArgumentError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
        tool_type = item.get("type", "function")
        if tool_type != "function":
            raise InvalidArgumentError(f"{where}: 'type' must be 'function', got {tool_type!r}")
        result: FunctionResultDict = {
            "name": _text(item, "name", where, required=need_name),
            "content": _text(item, "content", where, required=True),
        }
        call_id = _text(item, "tool_call_id", where, required=need_id)
        if call_id:
            result["tool_call_id"] = call_id
        out.append(result)
    if not out:
        raise InvalidArgumentError("tool results must not be empty")
    return out


def _text(item: Mapping[str, Any], key: str, where: str, *, required: bool) -> str:
    value = item.get(key)
    if value is None:
        if required:
            raise InvalidArgumentError(f"{where} needs {key!r}")
        return ""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{where}: {key!r} must be a string, got {type(value).__name__}")
    if required and key != "content" and not value:
        raise InvalidArgumentError(f"{where}: {key!r} must not be empty")
    return value


def to_yandex_tool_results(results: Iterable[FunctionResultDict]) -> ToolResultList:
    """The Yandex ``ToolResultList`` (for ``RunService.Submit``) carrying ``results``.

    Each result needs ``name`` and ``content``; ``ToolCall.result(...)`` builds them.
    """
    result: ToolResultList = adapter("yandex").tool_results(results)
    return result


def to_openai_tool_outputs(
    results: Iterable[FunctionResultDict], *, stream: bool | None = None
) -> SubmitToolOutputsRunRequest:
    """The OpenAI ``SubmitToolOutputsRunRequest`` carrying ``results``.

    Each result needs ``tool_call_id`` and ``content``; ``ToolCall.result(...)`` builds them.
    """
    request: SubmitToolOutputsRunRequest = adapter("openai").tool_results(results, stream=stream)
    return request
