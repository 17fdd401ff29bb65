"""The exceptions runbind raises: one small hierarchy under :class:`RunbindError`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from .models import ErrorDetails
    from .run import Run
    from .status import RunStatus

__all__ = [
    "ApiError",
    "DecodeError",
    "FieldError",
    "InvalidArgumentError",
    "RunFailedError",
    "RunTimeoutError",
    "RunbindError",
    "UnsupportedOperationError",
    "convert",
]

_T = TypeVar("_T")
_R = TypeVar("_R")


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


class FieldError(Exception):
    """Internal: the value at ``path`` does not convert; :func:`convert` makes it a DecodeError."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")

    def under(self, prefix: str) -> FieldError:
        """The same error with ``prefix`` in front of its path."""
        return FieldError(f"{prefix}.{self.path}" if self.path else prefix, self.reason)


def convert(
    provider: str,
    type_name: str,
    build: Callable[[_T], _R],
    value: _T,
    catch: tuple[type[Exception], ...] = (),
) -> _R:
    """``build(value)``, with a FieldError (or an exception in ``catch``) as a DecodeError."""
    try:
        return build(value)
    except FieldError as exc:
        raise DecodeError(provider, type_name, exc.path, exc.reason) from None
    except catch as exc:
        raise DecodeError(provider, type_name, "", f"{type(exc).__name__}: {exc}") from None
