"""Provider-neutral value objects a run is made of: messages, tools, tool calls, usage, errors.

Each is a frozen dataclass; ``raw`` keeps the provider-native object it was built from (and is
left out of equality, so the same logical value from two providers compares equal).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

from . import jsonio
from .errors import DecodeError, InvalidArgumentError
from .seam import adapter

if TYPE_CHECKING:
    from runbind_generated.openai import MessageObject
    from runbind_generated.proto.yandex.cloud.ai.assistants.v1.threads import (
        Message as YandexMessage,
    )

__all__ = [
    "Citation",
    "CitationSource",
    "ErrorDetails",
    "FunctionResultDict",
    "IncompleteDetails",
    "Message",
    "Part",
    "PromptTruncationOptions",
    "ResponseFormat",
    "Tool",
    "ToolCall",
    "Usage",
]

Provider = Literal["yandex", "openai", "openai_responses"]
"""Where a run comes from: Yandex, OpenAI Assistants, or OpenAI Responses (a response is a run)."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of a run."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@dataclass(frozen=True, slots=True)
class ErrorDetails:
    """An error reported by the provider for a run or stream (``code`` as the provider sends it)."""

    code: int | str | None
    message: str
    raw: object = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return self.message if self.code in (None, "", 0) else f"[{self.code}] {self.message}"


@dataclass(frozen=True, slots=True)
class IncompleteDetails:
    """Why a run ended incomplete (OpenAI), e.g. ``"max_completion_tokens"``."""

    reason: str | None
    raw: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class PromptTruncationOptions:
    """How the prompt is cut to fit: a token budget and a strategy.

    ``strategy`` is ``"auto"``, ``"last_messages"`` (keep ``num_messages``), or ``None`` when the
    provider left it unset.
    """

    max_prompt_tokens: int | None
    strategy: str | None
    num_messages: int | None
    raw: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    """The requested answer format: ``"text"``, ``"json_object"``, ``"json_schema"`` or ``"auto"``.

    For ``"json_schema"``, ``json_schema`` is the JSON schema as a dict (``name``/``strict`` when
    the provider has them).
    """

    type: str
    json_schema: dict[str, Any] | None = None
    name: str | None = None
    strict: bool | None = None
    raw: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Tool:
    """A tool the run may use: a ``"function"`` (name, description, JSON-schema parameters) or a
    provider's built-in (``"search_index"``, ``"gen_search"``, ``"file_search"``,
    ``"code_interpreter"``), or a type this version does not know (kept in ``raw``)."""

    type: str
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
    raw: object = field(default=None, compare=False, repr=False)


class FunctionResultDict(TypedDict):
    """A function result to send back: ``name`` (Yandex needs it), ``content`` and, for OpenAI,
    ``tool_call_id`` of the call it answers. ``ToolCall.result(content)`` builds one."""

    name: str
    content: str
    tool_call_id: NotRequired[str]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the model asks the caller to make.

    ``arguments_json`` is the arguments as JSON text; ``arguments`` parses it (a
    :class:`DecodeError` if the model produced invalid JSON). ``id`` is ``None`` on Yandex, which
    matches results by position and name.
    """

    id: str | None
    name: str
    arguments_json: str
    type: str = "function"
    raw: object = field(default=None, compare=False, repr=False)

    @property
    def arguments(self) -> dict[str, Any]:
        """The arguments as a JSON object."""
        try:
            value = jsonio.loads(self.arguments_json)
        except ValueError as exc:
            reason = f"invalid JSON: {exc}"
            raise DecodeError("model", f"tool call {self.name!r}", "arguments", reason) from None
        if not isinstance(value, dict):
            reason = f"expected a JSON object, got {type(value).__name__}"
            raise DecodeError("model", f"tool call {self.name!r}", "arguments", reason)
        return value

    def result(self, content: str | dict[str, Any] | list[Any]) -> FunctionResultDict:
        """The result of this call for ``submit_tool_results`` (non-strings are sent as JSON)."""
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        out: FunctionResultDict = {"name": self.name, "content": text}
        if self.id is not None:
            out["tool_call_id"] = self.id
        return out


@dataclass(frozen=True, slots=True)
class Part:
    """One content part of a message: ``type`` is ``"text"``, ``"refusal"``, ``"image_file"``,
    ``"image_url"`` or a type this version does not know; ``text`` is set for text and refusal."""

    type: str
    text: str | None = None
    raw: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class CitationSource:
    """What a citation points at: a file (``file_id``), a search-index chunk (``search_index_id``
    and the chunk's ``text``), or a source type this version does not know (``type``, ``raw``)."""

    type: str
    file_id: str | None = None
    search_index_id: str | None = None
    text: str | None = None
    raw: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Citation:
    """A citation in an answer: its sources and, on OpenAI, the cited span of the text."""

    sources: tuple[CitationSource, ...]
    text: str | None = None
    start_index: int | None = None
    end_index: int | None = None
    raw: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Message:
    """A message of a thread, or (``partial=True``) the content a stream has produced so far.

    ``text`` joins the text parts with newlines. ``status`` is the provider's own status name
    (Yandex ``COMPLETED``/``TRUNCATED``/``FILTERED_CONTENT``, OpenAI ``completed``/...).
    A partial Yandex message holds the text so far; an OpenAI delta holds only the new text.
    """

    parts: tuple[Part, ...]
    citations: tuple[Citation, ...] = ()
    id: str | None = None
    thread_id: str | None = None
    role: str | None = None
    author_id: str | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    status: str | None = None
    run_id: str | None = None
    assistant_id: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    partial: bool = False
    raw: object = field(default=None, compare=False, repr=False)

    @property
    def text(self) -> str:
        """The text parts joined with newlines."""
        return "\n".join(p.text for p in self.parts if p.type == "text" and p.text is not None)

    @classmethod
    def from_yandex(cls, message: YandexMessage | bytes) -> Message:
        """A message from a Yandex thread ``Message`` or its protobuf bytes."""
        return adapter("yandex").message(message)

    @classmethod
    def from_openai(cls, message: MessageObject | Mapping[str, object] | str | bytes) -> Message:
        """A message from an OpenAI ``MessageObject``, its JSON text, or its decoded JSON."""
        return adapter("openai").message(message)


def require_str(value: object, what: str) -> str:
    """``value`` if it is a string, else an :class:`InvalidArgumentError` naming ``what``."""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{what} must be a string, got {type(value).__name__}")
    return value
