"""Package attributes imported on first access (PEP 562), so that importing a package for one
light module (an adapter) does not import its heavy ones (a transport and its libraries)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

from .generated import converted

__all__ = ["attach"]


def attach(
    package: str, names: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: each of ``names`` (name -> relative module)
    is imported from its module on first access and then kept in the package's namespace."""
    namespace = importlib.import_module(package).__dict__

    def getattr_(name: str) -> object:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        try:
            value = getattr(importlib.import_module(module, package), name)
        except ImportError as exc:  # a module needing a name the spec version in use lacks
            error = converted(exc)
            if error is None:
                raise
            raise error from None
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *names})

    return getattr_, dir_
