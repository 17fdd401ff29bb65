"""The OpenAI Assistants API Runs client over HTTP: :class:`AsyncRuns` and :class:`Runs`.

Its names are imported on first access: the core imports only :mod:`._adapter` (through the
seam), which must not cost httpx.
"""

from typing import TYPE_CHECKING

from .._core.lazy import attach

if TYPE_CHECKING:
    from ._async import AsyncRuns
    from ._sync import Runs
    from ._transport import DEFAULT_BASE_URL

__all__ = ["DEFAULT_BASE_URL", "AsyncRuns", "Runs"]

if not TYPE_CHECKING:  # type checkers read the imports above: a misspelt name stays an error
    __getattr__, __dir__ = attach(
        __name__, {"AsyncRuns": "._async", "Runs": "._sync", "DEFAULT_BASE_URL": "._transport"}
    )
