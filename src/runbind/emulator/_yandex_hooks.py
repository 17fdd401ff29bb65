"""The Yandex side's grpclib hooks: the checked request codec, the API-key check, the call's
metadata kept for the services and the request ids every answer carries.

The codec bounds and wire-checks every request before it is parsed (a malformed frame is
INVALID_ARGUMENT naming the field); the hooks are ``RecvRequest`` listeners on the server.
"""

from __future__ import annotations

import contextvars
import hmac
import secrets
import uuid
from collections.abc import Mapping
from typing import Any, NoReturn

import grpclib.events
import grpclib.server
from grpclib import GRPCError
from grpclib.const import Status
from grpclib.encoding.proto import ProtoCodec

from .._core import offload
from .._core.errors import FieldError
from ..yandex import _wire
from ._yandex_endpoints import SERVICE as DISCOVERY

__all__ = ["CheckedCodec", "keep_metadata", "metadata_value", "require_key", "too_large"]

_metadata: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "runbind_emulator_metadata", default=None
)


def too_large(size: int, limit: int) -> NoReturn:
    """Refuse a message of ``size`` bytes over ``limit`` with RESOURCE_EXHAUSTED."""
    raise GRPCError(
        Status.RESOURCE_EXHAUSTED, f"message of {size} bytes exceeds the limit of {limit}"
    )


class CheckedCodec(offload.DecodeAhead, ProtoCodec):
    """The protobuf codec with a size limit and the strict wire check before parsing; the
    request reader (``_framing``) decodes ahead, off the loop when large."""

    def __init__(self, max_message_size: int) -> None:
        self.max_message_size = max_message_size

    def parse(self, data: bytes, message_type: Any) -> Any:
        """Parse ``data`` or fail with INVALID_ARGUMENT / RESOURCE_EXHAUSTED."""
        if len(data) > self.max_message_size:
            too_large(len(data), self.max_message_size)
        try:
            return _wire.decode(message_type, data)
        except FieldError as exc:
            where = f" at {exc.path}" if exc.path else ""
            raise GRPCError(
                Status.INVALID_ARGUMENT, f"malformed {message_type.__name__}{where}: {exc.reason}"
            ) from None


def require_key(server: grpclib.server.Server, api_key: str) -> None:
    """Refuse calls whose ``authorization`` metadata is not ``Api-Key <key>`` / ``Bearer <key>``."""

    async def check(event: grpclib.events.RecvRequest) -> None:
        if event.method_name.startswith(f"/{DISCOVERY}/"):
            return  # endpoint discovery is asked before any credentials are used
        header = event.metadata.get("authorization")
        value = header if isinstance(header, str) else ""
        scheme, _, token = value.partition(" ")
        good = scheme in ("Api-Key", "Bearer") and hmac.compare_digest(
            token.encode(), api_key.encode()
        )
        if not good:
            raise GRPCError(Status.UNAUTHENTICATED, "missing or wrong credentials")

    grpclib.events.listen(server, grpclib.events.RecvRequest, check)


class _Ids:
    """The ids of one call's answer, and whether they went out with its initial metadata."""

    __slots__ = ("pairs", "sent")

    def __init__(self, client_request_id: str | None) -> None:
        self.pairs = [
            ("x-request-id", str(uuid.uuid4())),
            ("x-server-trace-id", secrets.token_hex(8)),
        ]
        if client_request_id:
            self.pairs.append(("x-client-request-id", client_request_id))
        self.sent = False


_ids: contextvars.ContextVar[_Ids | None] = contextvars.ContextVar(
    "runbind_emulator_request_ids", default=None
)


def _ids_of_call() -> _Ids:
    ids = _ids.get()
    if ids is None:
        ids = _Ids(metadata_value("x-client-request-id"))
        _ids.set(ids)
    return ids


def keep_metadata(server: grpclib.server.Server) -> None:
    """Let the services read the invocation metadata of the call they handle, and give every
    answer ``x-request-id`` and ``x-server-trace-id`` (and the client's ``x-client-request-id``
    back) as the service does: with the initial metadata, or in the trailers of an answer that
    has only trailers (an error before any message)."""

    async def keep(event: grpclib.events.RecvRequest) -> None:
        _metadata.set(event.metadata)  # the handler runs in this same task, so it sees it
        _ids.set(_Ids(metadata_value("x-client-request-id")))

    async def initial(event: grpclib.events.SendInitialMetadata) -> None:
        ids = _ids_of_call()
        ids.sent = True
        for name, value in ids.pairs:
            event.metadata[name] = value

    async def trailing(event: grpclib.events.SendTrailingMetadata) -> None:
        ids = _ids_of_call()
        if not ids.sent:
            for name, value in ids.pairs:
                if name not in event.metadata:  # an injected fault may name its own request id
                    event.metadata[name] = value

    grpclib.events.listen(server, grpclib.events.RecvRequest, keep)
    grpclib.events.listen(server, grpclib.events.SendInitialMetadata, initial)
    grpclib.events.listen(server, grpclib.events.SendTrailingMetadata, trailing)


def metadata_value(name: str) -> str | None:
    """The non-empty text value of ``name`` in the current call's metadata, or None."""
    value = (_metadata.get() or {}).get(name)
    return value if isinstance(value, str) and value else None
