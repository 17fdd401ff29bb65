"""JSON text to Python values with one nesting bound on every path that reads provider JSON,
and the check that decoded JSON handed over by a caller holds what such text could."""

from __future__ import annotations

from typing import Any, Final

from .errors import FieldError

__all__ = ["MAX_JSON_DEPTH", "MAX_JSON_INT", "check", "loads", "unicode_problem"]

MAX_JSON_DEPTH: Final = 200
"""Deepest JSON runbind decodes: no value may sit inside more arrays and objects than this.

It is the bound of pydantic-core's JSON parser, which both ``model_validate_json`` and
:func:`loads` use, so that JSON text has one limit whichever path reads it; deeper text is a
``ValueError`` (a :class:`~runbind.DecodeError` from the adapters), never a ``RecursionError``.
Decoded JSON given to an adapter is held to the same bound by :func:`check`.
"""

MAX_JSON_INT: Final = 10**4300
"""Integers of JSON text have fewer than 4,301 digits (pydantic-core's parser refuses longer
ones, and Python's ``int``-to-``str`` limit is the same), so every one has a ``repr``."""


def loads(data: str | bytes | bytearray) -> Any:
    """``data`` decoded like :func:`json.loads`, but bounded by :data:`MAX_JSON_DEPTH`.

    Text that is not JSON, not UTF-8 (a ``str`` holding a lone surrogate included), or nested
    too deeply raises ``ValueError``; the standard library's parser would instead raise
    ``RecursionError`` at a depth set by the stack.
    """
    from pydantic_core import from_json  # noqa: PLC0415 - `import runbind` loads no pydantic

    try:
        return from_json(data)
    except TypeError:
        # pydantic-core raises a bare TypeError for a str it cannot encode as UTF-8.
        problem = unicode_problem(data) if isinstance(data, str) else None
        if problem is None:
            raise
        raise ValueError(f"not valid Unicode text: {problem}") from None


def unicode_problem(text: str) -> str | None:
    """Why ``text`` cannot be UTF-8 (a lone surrogate, and where), or ``None`` when it can."""
    if text.isascii():
        return None
    try:
        text.encode()
    except UnicodeEncodeError as exc:
        return f"lone surrogate {text[exc.start]!r} at index {exc.start}"
    return None


def check(value: Any) -> None:
    """Raise :class:`FieldError` (with its path into ``value``) unless ``value`` holds only what
    :func:`loads` returns: dicts with string keys, lists (or tuples), strings that are valid
    Unicode, integers below :data:`MAX_JSON_INT`, floats, booleans and ``None``, nested no
    deeper than :data:`MAX_JSON_DEPTH`.

    An adapter given decoded JSON checks it first, so that what JSON text could not hold (a
    thousand levels, an object, a 5,000-digit number) is refused by the call, not met later by
    an attribute read, a ``repr`` or a pickle.
    """
    kind = type(value)
    if kind is dict or kind is list or kind is tuple:
        _walk(value, 0)
    else:
        _walk({"": value}, -1)  # a scalar: its error has the empty path


_SCALARS: Final = frozenset({bool, float, type(None)})


def _walk(value: dict[Any, Any] | list[Any] | tuple[Any, ...], depth: int) -> None:
    """Check the items of a container at ``depth`` (inline: a call per item doubles the cost)."""
    if value and depth >= MAX_JSON_DEPTH:
        raise FieldError("", f"nested deeper than {MAX_JSON_DEPTH} levels")
    pairs = value.items() if type(value) is dict else enumerate(value)
    for step, item in pairs:
        kind = type(item)
        if kind is str:
            if not item.isascii() and (problem := unicode_problem(item)) is not None:
                raise FieldError(str(step), f"not valid Unicode text: {problem}")
        elif kind is dict or kind is list or kind is tuple:
            try:
                _walk(item, depth + 1)
            except FieldError as exc:
                raise exc.under(str(step)) from None
        elif kind is int:
            if not -MAX_JSON_INT < item < MAX_JSON_INT:
                raise FieldError(str(step), "an integer of more than 4,300 digits")
        elif kind not in _SCALARS:
            raise FieldError(str(step), f"not a JSON value ({kind.__name__})")
    if type(value) is dict:
        for key in value:
            if type(key) is not str:
                raise FieldError("", f"a key is {type(key).__name__}, not a string")
            if not key.isascii() and (problem := unicode_problem(key)) is not None:
                raise FieldError("", f"a key is not valid Unicode text: {problem}")
