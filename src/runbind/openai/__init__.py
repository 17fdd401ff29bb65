"""The OpenAI clients over HTTP: runs of the Assistants API (:class:`AsyncRuns`, :class:`Runs`)
and background responses of the Responses API as runs (:class:`AsyncResponses`,
:class:`Responses`).

OpenAI shut the hosted Assistants API down on 2026-08-26: ``Runs`` is for OpenAI-compatible
servers that keep it, and the emulator; on api.openai.com runs are background responses.

Its names are imported on first access: the core imports only :mod:`._adapter` (through the
seam), which must not cost httpx.
"""

from typing import TYPE_CHECKING

from .._core.lazy import attach

if TYPE_CHECKING:
    from ._async import AsyncRuns
    from ._responses import AsyncResponses
    from ._responses_sync import Responses
    from ._sync import Runs
    from ._transport import DEFAULT_BASE_URL

__all__ = ["DEFAULT_BASE_URL", "AsyncResponses", "AsyncRuns", "Responses", "Runs"]

if not TYPE_CHECKING:  # type checkers read the imports above: a misspelt name stays an error
    __getattr__, __dir__ = attach(
        __name__,
        {
            "AsyncRuns": "._async",
            "Runs": "._sync",
            "AsyncResponses": "._responses",
            "Responses": "._responses_sync",
            "DEFAULT_BASE_URL": "._transport",
        },
    )
