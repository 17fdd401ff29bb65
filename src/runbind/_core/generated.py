"""Generated names resolved on first use, so that a spec version lacking one degrades cleanly.

The hand-written layer runs against whatever ``runbind_generated`` was built from the lock,
and an older or newer spec may lack a class or field the layer knows (the Responses API, an
``ErrorResponse``, a Yandex ``ResponseFormat``). Importing such a name at module level would
make ``import runbind.emulator`` an ``ImportError``; :func:`need` resolves it when the call
that uses it runs, once per process, and raises :class:`~.errors.SpecVersionError` naming
the missing name and the spec commit in use. :func:`converted` turns the ``ImportError`` of a
module that still imports a missing name directly (an adapter after an upstream removal) into
the same error at the boundaries that import lazily (the seam, a package's lazy attributes).
"""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any

from .errors import SpecVersionError

__all__ = ["converted", "fields", "has_field", "need", "need_field", "newer_fields", "spec_commit"]

ROOT = "runbind_generated"
_SOURCES = {"openai": "openai-openapi", "proto": "cloudapi"}
"""Which locked source each generated subpackage is built from."""

_names: dict[tuple[str, str], Any] = {}
_fields: dict[type, frozenset[str]] = {}


def spec_commit(module: str) -> str:
    """``source@commit`` of the spec ``module`` (under ``runbind_generated``) was generated from;
    every locked source when the subpackage is not known, ``unknown`` without provenance."""
    try:
        provenance: dict[str, dict[str, str]] = importlib.import_module(ROOT).__provenance__
    except (ImportError, AttributeError):
        return "unknown spec commit"
    parts = module.split(".")
    wanted = _SOURCES.get(parts[1]) if len(parts) > 1 else None
    names = [wanted] if wanted in provenance else sorted(provenance)
    return ", ".join(f"{n}@{provenance[n].get('commit', '?')}" for n in names if n)


def _missing(module: str, name: str) -> SpecVersionError:
    return SpecVersionError(f"{module}.{name}", spec_commit(module))


def need(module: str, name: str) -> Any:
    """``name`` from the generated ``module``, resolved once per process.

    Raises :class:`SpecVersionError` when the spec version in use lacks the module or the
    name. Typed callers keep the generated type with a ``TYPE_CHECKING`` import and a cast,
    or an accessor function annotated with it.
    """
    key = (module, name)
    try:
        return _names[key]
    except KeyError:
        pass
    try:
        value = getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if not missing.startswith(ROOT) or not (module + ".").startswith(missing + "."):
            raise  # not the generated module itself: a broken install stays what it is
        raise _missing(module, name) from None
    except AttributeError:
        raise _missing(module, name) from None
    _names[key] = value
    return value


def fields(cls: type) -> frozenset[str]:
    """The field names of a generated class (a dataclass), computed once per class."""
    try:
        return _fields[cls]
    except KeyError:
        pass
    found = frozenset(
        getattr(cls, "__dataclass_fields__", None) or getattr(cls, "model_fields", {})
    )
    _fields[cls] = found
    return found


def has_field(cls: type, name: str) -> bool:
    """Whether the spec version in use gives the generated ``cls`` a field ``name``."""
    return name in fields(cls)


def need_field(cls: type, name: str) -> None:
    """Raise :class:`SpecVersionError` naming ``cls.name`` unless the generated class has it."""
    if name not in fields(cls):
        raise SpecVersionError(
            f"{cls.__module__}.{cls.__qualname__}.{name}", spec_commit(cls.__module__)
        )


def newer_fields(cls: type, **values: Any) -> dict[str, Any]:
    """The keyword arguments of ``values`` that the generated ``cls`` has a field for.

    For fields newer than some spec versions: an unset one (``None``) is dropped where the spec
    lacks the field; a set one there is a :class:`SpecVersionError` naming it.
    """
    known = fields(cls)
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name in known:
            out[name] = value
        elif value is not None:
            need_field(cls, name)
    return out


_CANNOT = re.compile(r"cannot import name '([^']+)' from '([^']+)'")


def converted(exc: ImportError) -> SpecVersionError | None:
    """The :class:`SpecVersionError` for ``exc`` when a generated name or module is missing
    (``None`` for any other import failure, which stays what it is)."""
    match = _CANNOT.match(str(exc))
    if match and (match[2] == ROOT or match[2].startswith(ROOT + ".")):
        return _missing(match[2], match[1])
    name = exc.name or ""
    if isinstance(exc, ModuleNotFoundError) and name.startswith(ROOT + ".") and ROOT in sys.modules:
        parent, _, leaf = name.rpartition(".")
        return _missing(parent, leaf)
    return None
