"""The endpoint discovery service (``yandex.cloud.endpoint.ApiEndpointService``) on the gRPC port.

Yandex's SDKs, given only an endpoint, first ask it where each service lives (``List``, or
``Get`` for one id) and then connect there. The emulator answers every id with its own address:
the ``host:port`` the client reached it at (the call's ``:authority``), so a client can go on
using the name it already resolved. Its messages are not in the locked specs; the few used are
written here from their wire format (the field numbers the SDK's generated stubs use). The
service is answered without credentials, as discovery is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import betterproto2
import grpclib.const
import grpclib.server
from betterproto2.grpclib import ServiceBase
from grpclib import GRPCError
from grpclib.const import Status
from grpclib.protocol import H2Protocol

__all__ = [
    "SERVICE",
    "SERVICE_IDS",
    "ApiEndpoint",
    "ApiEndpointService",
    "GetApiEndpointRequest",
    "ListApiEndpointsRequest",
    "ListApiEndpointsResponse",
    "keep_request_headers",
]

SERVICE = "yandex.cloud.endpoint.ApiEndpointService"

SERVICE_IDS = (
    "ai-assistants",
    "ai-files",
    "ai-foundation-models",
    "ai-llm",
    "ai-stt",
    "ai-stt-v3",
    "ai-speechkit",
    "ai-translate",
    "ai-tts-v3",
    "ai-vision",
    "ai-vision-ocr",
    "endpoint",
    "iam",
    "operation",
    "resource-manager",
)
"""The ids ``List`` names: those the SDKs look up for the AI services, the operation service,
IAM and resource manager (``Get`` answers any id)."""


@dataclass(eq=False, repr=False)
class ApiEndpoint(betterproto2.Message):
    """Where one service lives: its id and ``host:port``."""

    id: str = betterproto2.field(1, betterproto2.TYPE_STRING)
    address: str = betterproto2.field(2, betterproto2.TYPE_STRING)


@dataclass(eq=False, repr=False)
class GetApiEndpointRequest(betterproto2.Message):
    """``Get``: the id of the service asked for."""

    api_endpoint_id: str = betterproto2.field(1, betterproto2.TYPE_STRING)


@dataclass(eq=False, repr=False)
class ListApiEndpointsRequest(betterproto2.Message):
    """``List``: paging fields (one page holds every id)."""

    page_size: int = betterproto2.field(1, betterproto2.TYPE_INT64)
    page_token: str = betterproto2.field(2, betterproto2.TYPE_STRING)


@dataclass(eq=False, repr=False)
class ListApiEndpointsResponse(betterproto2.Message):
    """``List``'s answer: every endpoint, and no further page."""

    # betterproto2's field() gives a dataclass field with a default factory (as generated code)
    endpoints: list[ApiEndpoint] = betterproto2.field(  # noqa: RUF009
        1, betterproto2.TYPE_MESSAGE, repeated=True
    )
    next_page_token: str = betterproto2.field(2, betterproto2.TYPE_STRING)


def keep_request_headers(protocol: H2Protocol) -> None:
    """Keep each request's headers on its HTTP/2 stream, where grpclib's server keeps none (it
    hands them to the request's task only), so that a method can read its ``:authority``."""
    handler = protocol.handler
    accept = handler.accept

    def accepting(stream: Any, headers: Any, release_stream: Callable[[], Any]) -> None:
        stream.headers = headers
        accept(stream, headers, release_stream)

    handler.accept = accepting  # type: ignore[method-assign]


def _address(stream: grpclib.server.Stream[Any, Any], fallback: str) -> str:
    """The ``:authority`` the client called (its own name for the emulator), else ``fallback``."""
    headers = getattr(stream._stream, "headers", None) or ()
    for name, value in headers:
        if name == ":authority" and value:
            return str(value)
    return fallback


class ApiEndpointService(ServiceBase):
    """``List`` and ``Get``, answering with the emulator's address for every service id."""

    def __init__(self, address: Callable[[], str]) -> None:
        self._fallback = address  # the emulator's host:port, when the call names none

    async def _list(
        self, stream: grpclib.server.Stream[ListApiEndpointsRequest, ListApiEndpointsResponse]
    ) -> None:
        request = await stream.recv_message()
        assert request is not None
        if request.page_size < 0:
            raise GRPCError(Status.INVALID_ARGUMENT, "page_size must not be negative")
        address = _address(stream, self._fallback())
        endpoints = [ApiEndpoint(id=name, address=address) for name in SERVICE_IDS]
        await stream.send_message(ListApiEndpointsResponse(endpoints=endpoints))

    async def _get(self, stream: grpclib.server.Stream[GetApiEndpointRequest, ApiEndpoint]) -> None:
        request = await stream.recv_message()
        assert request is not None
        if not request.api_endpoint_id:
            raise GRPCError(Status.INVALID_ARGUMENT, "api_endpoint_id is required")
        address = _address(stream, self._fallback())
        await stream.send_message(ApiEndpoint(id=request.api_endpoint_id, address=address))

    def __mapping__(self) -> dict[str, grpclib.const.Handler]:
        unary = grpclib.const.Cardinality.UNARY_UNARY
        return {
            f"/{SERVICE}/List": grpclib.const.Handler(
                self._list, unary, ListApiEndpointsRequest, ListApiEndpointsResponse
            ),
            f"/{SERVICE}/Get": grpclib.const.Handler(
                self._get, unary, GetApiEndpointRequest, ApiEndpoint
            ),
        }
