"""The exceptions runbind raises: one small hierarchy under :class:`RunbindError`."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .models import ErrorDetails
    from .run import Run
    from .status import RunStatus

__all__ = [
    "APIConnectionError",
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "DecodeError",
    "FieldError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RunFailedError",
    "RunTimeoutError",
    "RunbindError",
    "ServerError",
    "SpecVersionError",
    "UnsupportedOperationError",
    "convert",
]

_T = TypeVar("_T")
_R = TypeVar("_R")


class RunbindError(Exception):
    """Base of every error runbind raises on purpose; catch this to catch them all."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt without calling __init__ (whose arguments are not ``args``): a pickled error,
        # sent to another process or an error tracker, comes back with every attribute.
        return (_rebuild, (type(self), self.args), self.__dict__)


def _rebuild(cls: type[RunbindError], args: tuple[Any, ...]) -> RunbindError:
    """An error of ``cls`` with ``args``, its attributes restored by pickle afterwards."""
    error = cls.__new__(cls)
    error.args = args
    return error


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


class SpecVersionError(UnsupportedOperationError):
    """The spec version runbind was generated from lacks a generated name or field this call
    needs: ``name`` is its dotted name under ``runbind_generated``, ``spec`` the source and
    commit in use (``runbind.__provenance__``). Regenerate at a commit that has it."""

    def __init__(self, name: str, spec: str) -> None:
        self.name = name
        self.spec = spec
        super().__init__(f"{name} is not in the generated code (spec {spec}); this call needs it")


class RunTimeoutError(RunbindError, TimeoutError):
    """A deadline passed before the run reached the awaited state; ``last_run`` is what was seen."""

    def __init__(self, message: str, last_run: Run | None = None) -> None:
        self.last_run = last_run
        super().__init__(message)


class ApiError(RunbindError):
    """The service answered with an error, or could not be reached; the same classes for both
    providers, so that callers catch by meaning (:class:`NotFoundError`, :class:`RateLimitError`,
    ...) and read the details here.

    ``message`` is the server's own message (credentials redacted, long ones cut).
    ``status_code`` is the HTTP status (OpenAI), ``grpc_status`` the gRPC status name (Yandex);
    either is None when no answer came. ``code`` is the provider's error code: the OpenAI error
    body's ``code`` (None when it has none, ``"connection_error"`` when no answer came) or the
    gRPC status name. ``type`` and ``param`` are the OpenAI error body's (None on Yandex).
    ``request_id`` is the server's ``x-request-id`` (header or gRPC metadata), if it sent one,
    and ``headers`` the response headers or gRPC metadata, credentials masked.
    """

    provider: str
    code: str | int | None
    message: str
    status_code: int | None
    grpc_status: str | None
    request_id: str | None
    headers: Mapping[str, str]
    type: str | None
    param: str | None

    def __init__(
        self,
        provider: str,
        code: str | int | None,
        message: str,
        *,
        status_code: int | None = None,
        grpc_status: str | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        type: str | None = None,  # openai-python's name for the error body's type
        param: str | None = None,
    ) -> None:
        self.provider = provider
        self.code = code
        self.message = message
        self.status_code = status_code
        self.grpc_status = grpc_status
        self.request_id = request_id
        self.headers = dict(headers or {})
        self.type = type
        self.param = param
        status = status_code if status_code is not None else grpc_status or code
        super().__init__(f"{provider} API error {status}: {message}")


class BadRequestError(ApiError):
    """The service refused the request as malformed (HTTP 400 or 422, ``INVALID_ARGUMENT``,
    ``OUT_OF_RANGE``)."""


class AuthenticationError(ApiError):
    """The credentials are missing, wrong or expired (HTTP 401, ``UNAUTHENTICATED``)."""


class PermissionDeniedError(ApiError):
    """The credentials may not do this (HTTP 403, ``PERMISSION_DENIED``)."""


class NotFoundError(ApiError):
    """No such run, thread or assistant (HTTP 404, ``NOT_FOUND``)."""


class ConflictError(ApiError):
    """The request conflicts with the state of what it names: an idempotency key used for
    another request, a run that does not take tool results now (HTTP 409, ``ALREADY_EXISTS``,
    ``ABORTED``, ``FAILED_PRECONDITION``)."""


class RateLimitError(ApiError):
    """Too many requests or a quota used up (HTTP 429, ``RESOURCE_EXHAUSTED``); raised once the
    retries are used up."""


class ServerError(ApiError):
    """The service failed or is unavailable (HTTP 5xx, ``INTERNAL``, ``UNAVAILABLE``,
    ``UNKNOWN``, ``DATA_LOSS``, ``UNIMPLEMENTED``); raised once the retries are used up."""


class APIConnectionError(ApiError, builtins.ConnectionError):
    """The service could not be reached, or the connection was lost before an answer (no status:
    ``status_code`` is None; ``code`` is ``"connection_error"`` on OpenAI, ``UNAVAILABLE`` on
    Yandex, as gRPC reports it). Also a builtin :class:`ConnectionError`, so ``except
    ConnectionError`` catches it; named as openai-python names it, not to shadow the builtin."""


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
