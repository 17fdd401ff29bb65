"""The Yandex Cloud AI Assistants Runs client over gRPC: :class:`AsyncRuns` and :class:`Runs`.

Its names are imported on first access: the core imports only :mod:`._adapter` (through the
seam), which must not cost grpclib.
"""

from typing import TYPE_CHECKING

from .._core.lazy import attach

if TYPE_CHECKING:
    from ._async import AsyncRuns
    from ._credentials import IamToken, ServiceAccountKey, TokenProvider
    from ._sync import Runs
    from ._transport import DEFAULT_ENDPOINT

__all__ = [
    "DEFAULT_ENDPOINT",
    "AsyncRuns",
    "IamToken",
    "Runs",
    "ServiceAccountKey",
    "TokenProvider",
]

if not TYPE_CHECKING:  # type checkers read the imports above: a misspelt name stays an error
    __getattr__, __dir__ = attach(
        __name__,
        {
            "AsyncRuns": "._async",
            "Runs": "._sync",
            "DEFAULT_ENDPOINT": "._transport",
            "IamToken": "._credentials",
            "ServiceAccountKey": "._credentials",
            "TokenProvider": "._credentials",
        },
    )
