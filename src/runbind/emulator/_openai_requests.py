"""OpenAI request checks: JSON bodies validated strictly by the generated request models and closed
to values the spec does not list, metadata, tool resources, content and list paging. Bad input
raises :class:`ApiError`, answered with the spec's error object.
"""

from __future__ import annotations

import functools
import json
import math
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import Any, NoReturn, TypeVar, cast

import pydantic
import runbind_generated.openai
from pydantic import BaseModel, ValidationError
from runbind_generated.openai import AssistantToolsFunction, MessageRequestContentTextObject
from runbind_generated.openai._nullability import NOT_NULLABLE

from .._core import offload
from .._core.errors import SpecVersionError
from .._core.generated import need
from ._http import Request, Response
from ._openai_objects import Json, dump, plain, text_part
from ._script import Script, script_for
from ._state import FunctionSpec

__all__ = [
    "ApiError",
    "bad",
    "check",
    "check_include",
    "check_metadata",
    "check_resources",
    "content",
    "error_body",
    "functions",
    "list_response",
    "missing",
    "page",
    "parse",
    "parse_body",
    "script",
]

_M = TypeVar("_M", bound=BaseModel)
_T = TypeVar("_T")

_OPENAI = "runbind_generated.openai"
_DEFAULT_LIMIT = 20
_MAX_LIMIT = 100
_MAX_DEPTH = 64
_MAX_METADATA = 16
_INCLUDE = ("step_details.tool_calls[*].file_search.results[*].content",)


# --- errors -------------------------------------------------------------------------------


class ApiError(Exception):
    """A 4xx answer: the spec's error object."""

    def __init__(
        self,
        status: int,
        message: str,
        param: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.headers = headers
        self.code = code

    def response(self) -> Response:
        body = error_body(self.status, self.message, self.param, self.code)
        return Response(self.status, body, (("content-type", "application/json"), *self.headers))


def error_body(
    status: int, message: str, param: str | None = None, code: str | None = None
) -> bytes:
    """The JSON bytes of an OpenAI error object (also for the HTTP server's own errors)."""
    kind = "server_error" if status >= 500 else "invalid_request_error"
    error = {"message": message, "type": kind, "param": param, "code": code}
    data = _error_model().model_validate({"error": error}).model_dump(mode="json")
    return json.dumps(data, separators=(",", ":")).encode()


@functools.cache
def _error_model() -> type[BaseModel]:
    """The generated ``ErrorResponse``; where the spec version's slice lacks it (openai-openapi
    before 2026-08-14), the same ``{"error": Error}`` shape built on its ``Error`` model."""
    try:
        return cast("type[BaseModel]", need(_OPENAI, "ErrorResponse"))
    except SpecVersionError:
        error = cast("type[BaseModel]", need(_OPENAI, "Error"))
        return pydantic.create_model("ErrorResponse", error=(error, ...))


def bad(message: str, param: str | None = None) -> NoReturn:
    raise ApiError(400, message, param)


def missing(kind: str, ident: str) -> NoReturn:
    raise ApiError(404, f"No {kind} found with id '{ident}'.")


# --- request bodies -------------------------------------------------------------------------


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _number(text: str) -> float | int:
    """A JSON number with a fraction or exponent: an int when integral, as JSON Schema counts
    ``2.0`` an integer (the strict validation in :func:`parse` takes no float for an int)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return int(value) if value.is_integer() else value


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > _MAX_DEPTH:
            return True
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        stack.extend((child, depth + 1) for child in children)
    return False


def _json_object(raw: bytes) -> Json:
    try:
        value = json.loads(raw or b"{}", parse_constant=_no_constant, parse_float=_number)
    except (ValueError, RecursionError):
        bad(
            "We could not parse the JSON body of your request. The API expects a JSON payload, "
            "but what was sent was not valid JSON."
        )
    if not isinstance(value, dict):
        bad("The request body must be a JSON object.")
    if _too_deep(value):
        bad(f"The request body is nested deeper than {_MAX_DEPTH} levels.")
    return value


def _param(loc: Sequence[int | str], value: Any, *, name_last: bool) -> str | None:
    """The input path of a Pydantic error location (union member labels are skipped)."""
    path = ""
    current = value
    for position, step in enumerate(loc):
        in_dict = isinstance(current, dict) and isinstance(step, str) and step in current
        in_list = isinstance(current, list) and isinstance(step, int) and 0 <= step < len(current)
        if in_dict or in_list:
            current = current[step]
        elif not (name_last and position == len(loc) - 1):
            continue
        path += f"[{step}]" if isinstance(step, int) else f".{step}" if path else step
    return path or None


def _invalid(exc: ValidationError, value: Any) -> ApiError:
    first = exc.errors(include_url=False, include_input=False)[0]
    kind = first["type"]
    param = _param(first["loc"], value, name_last=kind in ("missing", "extra_forbidden"))
    if kind == "missing":
        message = f"Missing required parameter: '{param}'."
    elif kind == "extra_forbidden":
        message = f"Unrecognized request argument supplied: {param}"
    else:
        message = f"Invalid value for '{param}': {first['msg']}."
    return ApiError(400, message, param)


def parse(cls: type[_M], raw: bytes) -> _M:
    """The request body as ``cls``, validated strictly (a JSON ``false`` is no number, ``"1"``
    no integer) and closed to values the spec does not list (:func:`_closed`)."""
    return check(cls, _json_object(raw))


def check(cls: type[_M], value: Json) -> _M:
    """Decoded JSON ``value`` as ``cls``, validated and closed as :func:`parse` does."""
    try:
        body = cls.model_validate_json(json.dumps(value), strict=True)
    except ValidationError as exc:
        raise _invalid(exc, value) from None
    _closed(body)
    return body


async def parse_body(cls: type[_M], raw: bytes) -> _M:
    """:func:`parse`, on a worker thread when the body is large (see :mod:`runbind._core.offload`):
    validating a megabyte of JSON takes a few hundred milliseconds, which on the loop would
    hold up every other call of both protocols."""
    return await offload.decode(lambda data: parse(cls, data), raw)


def _supported(values: Sequence[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    return ", ".join(quoted[:-1]) + f" and {quoted[-1]}" if len(quoted) > 1 else "".join(quoted)


@functools.cache
def _known_tags(unknown: type[BaseModel]) -> tuple[str, ...]:
    """The ``type`` tags of the known variants of the union ``Unknown<Name>`` belongs to."""
    alias = getattr(runbind_generated.openai, unknown.__name__.removeprefix("Unknown"), None)
    tags: list[str] = []
    stack = [getattr(alias, "__value__", None)]
    while stack:
        item = stack.pop()
        if isinstance(item, type) and issubclass(item, BaseModel) and item is not unknown:
            field = item.model_fields.get("type")
            if field is not None and typing.get_origin(field.annotation) is typing.Literal:
                tags.extend(typing.get_args(field.annotation))
        else:
            stack.extend(typing.get_args(item))
    return tuple(sorted(tags))


def _closed(body: BaseModel) -> None:
    """Refuse what the open request models let through but the spec does not allow.

    The models are open so that new upstream values parse in responses: an unlisted enum value
    (``reasoning_effort``) or an unknown union variant (an attachment tool's ``type``, a chunking
    strategy without one) would otherwise be accepted in a request, where the API refuses them.
    They also read an explicit null for an optional property as absent, nullable or not: a null
    sent where the spec admits none (``NOT_NULLABLE``, derived from it) is refused, at any depth.
    """
    stack: list[tuple[Any, str]] = [(body, "")]
    while stack:
        value, param = stack.pop()
        if isinstance(value, Enum) and not getattr(value, "is_known", True):
            names = _supported([str(m.value) for m in type(value)])
            bad(f"Invalid value: '{value.value}'. Supported values are: {names}.", param)
        elif isinstance(value, BaseModel):
            kind = type(value)
            generated = kind.__module__.startswith("runbind_generated.openai")
            if generated and kind.__name__.startswith("Unknown"):
                where = f"{param}.type" if param else "type"
                tag = getattr(value, "type", None)
                if tag is None:
                    bad(f"Missing required parameter: '{where}'.", where)
                known = _supported(_known_tags(kind))
                bad(f"Invalid value: '{tag}'. Supported values are: {known}.", where)
            never_null = NOT_NULLABLE.get(kind.__name__, frozenset()) if generated else frozenset()
            for name, field in kind.model_fields.items():
                key = field.alias or name
                where = f"{param}.{key}" if param else key
                item = value.__dict__.get(name)  # not getattr: a deprecated field would warn
                if item is None and key in never_null and name in value.model_fields_set:
                    bad(f"Invalid type for '{where}': expected a value, got null.", where)
                stack.append((item, where))
        elif isinstance(value, list):
            stack.extend((item, f"{param}[{i}]") for i, item in enumerate(value))
        elif isinstance(value, dict):
            stack.extend((item, f"{param}.{key}") for key, item in value.items())


def check_include(request: Request) -> None:
    """A run's ``include[]`` query values must be ones the spec lists (each one, not the last)."""
    for name, value in request.params:
        if name == "include[]" and value not in _INCLUDE:
            bad(f"Invalid value: '{value}'. Supported values are: {_supported(_INCLUDE)}.", name)


def check_resources(resources: Any, param: str) -> None:
    """``file_search`` tool resources take exactly one of ``vector_store_ids``/``vector_stores``.

    The generated models drop this "exactly one of" rule (it cannot be typed); the API keeps it.
    """
    search = getattr(resources, "file_search", None)
    if search is None:
        return
    given = search.model_fields_set & {"vector_store_ids", "vector_stores"}
    if len(given) != 1:
        where = f"{param}.file_search"
        bad(f"Invalid '{where}': give exactly one of 'vector_store_ids' or 'vector_stores'.", where)


def check_metadata(metadata: Mapping[str, str] | None, param: str) -> dict[str, str]:
    if metadata is None:
        return {}
    if len(metadata) > _MAX_METADATA:
        bad(f"Invalid '{param}': at most {_MAX_METADATA} key-value pairs are allowed.", param)
    for key, value in metadata.items():
        if not isinstance(value, str):  # an older spec's model lets any value through
            bad(f"Invalid '{param}.{key}': expected a string.", f"{param}.{key}")
        if len(key) > 64 or len(value) > 512:
            bad(f"Invalid '{param}': keys are at most 64 and values 512 characters.", param)
    return dict(metadata)


def script(metadata: Mapping[str, str] | None, instructions: str | None) -> Script:
    try:
        return script_for(metadata or {}, instructions)
    except ValueError as exc:
        param = "metadata.emulator" if metadata and "emulator" in metadata else "instructions"
        bad(str(exc), param)


def functions(tools: Sequence[Any]) -> list[FunctionSpec]:
    return [
        FunctionSpec(
            t.function.name,
            t.function.description or "",
            plain(t.function.parameters) or {},
        )
        for t in tools
        if isinstance(t, AssistantToolsFunction)
    ]


def content(content: str | list[Any], param: str) -> tuple[str, list[Json] | None]:
    """The text of a message's content, and its parts when it came as a list."""
    if isinstance(content, str):
        return content, None
    if not content:
        bad(f"Invalid '{param}': expected at least one content part.", param)
    texts: list[str] = []
    parts: list[Json] = []
    for part in content:
        if isinstance(part, MessageRequestContentTextObject):
            texts.append(part.text)
            parts.append(text_part(part.text))
        else:  # an image part: parse() refused unknown part types
            parts.append(plain(part))
    return "\n".join(texts), parts


# --- paging -----------------------------------------------------------------------------------


def _limit(raw: str | None) -> int:
    if raw is None:
        return _DEFAULT_LIMIT
    if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= _MAX_LIMIT:
        bad(
            f"Invalid 'limit': expected an integer between 1 and {_MAX_LIMIT}, got '{raw}'.",
            "limit",
        )
    return int(raw)


def _cursor(ids: list[str], query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None:
        return None
    if value not in ids:
        bad(f"Invalid '{name}': no object with id '{value}' in this list.", name)
    return ids.index(value)


def page(
    items: Sequence[_T], query: Mapping[str, str], ident: Callable[[_T], str]
) -> tuple[list[_T], bool]:
    """One page of ``items`` (oldest first) by OpenAI's cursor rules; and whether more follow."""
    limit = _limit(query.get("limit"))
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        bad(f"Invalid 'order': expected 'asc' or 'desc', got '{order}'.", "order")
    ordered = list(items) if order == "asc" else list(reversed(items))
    ids = [ident(item) for item in ordered]
    after = _cursor(ids, query, "after")
    before = _cursor(ids, query, "before")
    window = ordered[(after + 1 if after is not None else 0) : before]
    if before is not None and after is None:
        return window[-limit:], len(window) > limit
    return window[:limit], len(window) > limit


def list_response(cls: type[BaseModel], data: list[Json], has_more: bool) -> Response:
    """A list response (``first_id``/``last_id`` are null on an empty page, as OpenAI sends)."""
    body: Json = {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }
    if data:
        body = dump(cls, body)
    return Response.json(200, body)
