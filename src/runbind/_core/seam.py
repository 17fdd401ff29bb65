"""The one seam between the neutral core and the providers: an :class:`Adapter` per provider.

The core never imports a provider. ``runbind/__init__.py`` registers each provider's adapter
module by name; the module is imported on the first conversion for that provider and exposes
``ADAPTER``. A new provider is a package with an adapter module and one :func:`register` line.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import generated
from .errors import InvalidArgumentError

if TYPE_CHECKING:
    from .models import Message
    from .run import Run, RunStreamEvent

__all__ = ["Adapter", "adapter", "register"]


class Adapter:
    """How one provider's wire objects become runbind's and back (pure functions, no I/O).

    ``run``, ``event`` and ``message`` convert a wire run, stream event (extra arguments are
    the provider's) and message; ``tool_results`` makes the provider's submit request from
    ``ToolCall.result(...)`` dicts; ``deferred`` builds, from ``run.raw``, the ``Run`` fields
    this provider's runs leave unset until first read (see ``run.DEFERRABLE_FIELDS``).
    """

    __slots__ = ("deferred", "event", "message", "run", "tool_results")

    def __init__(
        self,
        *,
        run: Callable[[Any], Run],
        event: Callable[..., RunStreamEvent],
        message: Callable[[Any], Message],
        tool_results: Callable[..., Any],
        deferred: Mapping[str, Callable[[Any], Any]] | None = None,
    ) -> None:
        # A plain class: a dataclass costs `import runbind` most of a millisecond.
        self.run = run
        self.event = event
        self.message = message
        self.tool_results = tool_results
        self.deferred: Mapping[str, Callable[[Any], Any]] = deferred or {}


_modules: dict[str, str] = {}
_adapters: dict[str, Adapter] = {}


def register(provider: str, module: str) -> None:
    """Name the module (imported on first use) whose ``ADAPTER`` converts ``provider``'s runs."""
    _modules[provider] = module
    _adapters.pop(provider, None)


def adapter(provider: str) -> Adapter:
    """``provider``'s adapter, its module imported on the first call."""
    found = _adapters.get(provider)
    if found is not None:
        return found
    module = _modules.get(provider)
    if module is None:
        known = ", ".join(sorted(_modules)) or "none"
        raise InvalidArgumentError(f"no adapter for provider {provider!r} (registered: {known})")
    try:
        found = importlib.import_module(module).ADAPTER
    except ImportError as exc:  # the spec version in use lacks a name the adapter imports
        error = generated.converted(exc)
        if error is None:
            raise
        raise error from None
    if not isinstance(found, Adapter):
        raise TypeError(f"{module}.ADAPTER is not a runbind adapter")
    _adapters[provider] = found
    return found
