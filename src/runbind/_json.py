"""JSON text to Python values with one nesting bound on every path that reads provider JSON."""

from __future__ import annotations

from typing import Any, Final

__all__ = ["MAX_JSON_DEPTH", "loads"]

MAX_JSON_DEPTH: Final = 200
"""Deepest JSON runbind decodes: no value may sit inside more arrays and objects than this.

It is the bound of pydantic-core's JSON parser, which both ``model_validate_json`` and
:func:`loads` use, so that JSON text has one limit whichever path reads it; deeper text is a
``ValueError`` (a :class:`~runbind.DecodeError` from the adapters), never a ``RecursionError``.
"""


def loads(data: str | bytes | bytearray) -> Any:
    """``data`` decoded like :func:`json.loads`, but bounded by :data:`MAX_JSON_DEPTH`.

    Text that is not JSON, not UTF-8, or nested too deeply raises ``ValueError``; the standard
    library's parser would instead raise ``RecursionError`` at a depth set by the stack.
    """
    from pydantic_core import from_json  # noqa: PLC0415 - `import runbind` loads no pydantic

    return from_json(data)
