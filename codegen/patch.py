"""Text patches that fail loudly: each must find its target exactly once.

Post-processing edits text written by others (betterproto2, datamodel-code-generator). When an
upgrade moves or rewords a target, ``str.replace`` and ``re.sub`` silently change nothing and
the fix is lost; these raise a :class:`PatchError` naming the patch instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from codegen.errors import GenerationError


class PatchError(GenerationError):
    """A text patch did not find its target exactly once."""


def _check(count: int, target: str, what: str) -> None:
    if count != 1:
        found = "not found" if count == 0 else f"found {count} times"
        raise PatchError(f"patch {what!r}: {target} {found}, expected exactly once")


def _shorten(text: str) -> str:
    return repr(text) if len(text) <= 80 else repr(text[:77]) + "..."


def replace_once(text: str, old: str, new: str, *, what: str) -> str:
    """``text`` with its one occurrence of ``old`` replaced by ``new``.

    Raises :class:`PatchError` naming ``what`` when ``old`` occurs zero or several times.
    """
    _check(text.count(old) if old else 0, _shorten(old), what)
    return text.replace(old, new, 1)


def replace_all(text: str, old: str, new: str, *, what: str) -> str:
    """``text`` with every occurrence of ``old`` replaced by ``new``; at least one must exist.

    Raises :class:`PatchError` naming ``what`` when ``old`` does not occur.
    """
    if not old or old not in text:
        raise PatchError(f"patch {what!r}: {_shorten(old)} not found, expected at least once")
    return text.replace(old, new)


def sub_once(
    pattern: str | re.Pattern[str],
    repl: str | Callable[[re.Match[str]], str],
    text: str,
    *,
    what: str,
    flags: int = 0,
) -> str:
    """``text`` with the one match of ``pattern`` replaced by ``repl`` (as :func:`re.sub`).

    Raises :class:`PatchError` naming ``what`` when the pattern matches zero or several times.
    """
    compiled = re.compile(pattern, flags)
    matches = sum(1 for _ in compiled.finditer(text))
    _check(matches, f"pattern {_shorten(compiled.pattern)}", what)
    return compiled.sub(repl, text, count=1)
