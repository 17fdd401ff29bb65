"""The exceptions runbind raises: one small hierarchy under :class:`RunbindError`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._models import ErrorDetails
    from ._run import Run
    from ._status import RunStatus

__all__ = [
    "ApiError",
    "DecodeError",
    "InvalidArgumentError",
    "RunFailedError",
    "RunTimeoutError",
    "RunbindError",
    "UnsupportedOperationError",
]


class RunbindError(Exception):
    """Base of every error runbind raises on purpose; catch this to catch them all."""


class DecodeError(RunbindError, ValueError):
    """Provider data (protobuf bytes, JSON, a model) that does not decode into runbind objects.

    ``provider`` is where the data came from (``"yandex"``, ``"openai"``, or ``"model"`` for
    tool-call arguments the model wrote), ``type_name`` the type being decoded and ``path`` the
    dotted field path where decoding stopped (empty for the top level).
    """

    def __init__(self, provider: str, type_name: str, path: str, reason: str) -> None:
        self.provider = provider
        self.type_name = type_name
        self.path = path
        self.reason = reason
        where = f" at {path}" if path else ""
        super().__init__(f"cannot decode {provider} {type_name}{where}: {reason}")


class InvalidArgumentError(RunbindError, ValueError):
    """A caller-supplied value runbind cannot use (wrong type, missing key, out of range)."""


class RunFailedError(RunbindError):
    """The run ended without a result to read (failed, cancelled, expired).

    Raised when reading ``message`` (or ``text``/``parts``/``citations``) of a failed run;
    ``status`` is the run's status and ``error`` the provider's error details, if any.
    """

    def __init__(self, status: RunStatus, error: ErrorDetails | None) -> None:
        self.status = status
        self.error = error
        detail = f": {error}" if error is not None else ""
        super().__init__(f"run is {status.value} and has no message{detail}")


class UnsupportedOperationError(RunbindError):
    """The provider has no such operation (for example cancelling a Yandex run)."""


class RunTimeoutError(RunbindError, TimeoutError):
    """A deadline passed before the run reached the awaited state; ``last_run`` is what was seen."""

    def __init__(self, message: str, last_run: Run | None = None) -> None:
        self.last_run = last_run
        super().__init__(message)


class ApiError(RunbindError):
    """The service answered with an error: ``code`` is the gRPC status name or HTTP status."""

    def __init__(self, provider: str, code: str | int, message: str) -> None:
        self.provider = provider
        self.code = code
        self.message = message
        super().__init__(f"{provider} API error {code}: {message}")
