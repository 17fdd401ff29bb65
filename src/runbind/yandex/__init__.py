"""The Yandex Cloud AI Assistants Runs client over gRPC: :class:`AsyncRuns` and :class:`Runs`."""

from ._async import AsyncRuns
from ._sync import Runs
from ._transport import DEFAULT_ENDPOINT

__all__ = ["DEFAULT_ENDPOINT", "AsyncRuns", "Runs"]
