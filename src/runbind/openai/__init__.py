"""The OpenAI Assistants API Runs client over HTTP: :class:`AsyncRuns` and :class:`Runs`."""

from ._async import AsyncRuns
from ._sync import Runs
from ._transport import DEFAULT_BASE_URL

__all__ = ["DEFAULT_BASE_URL", "AsyncRuns", "Runs"]
