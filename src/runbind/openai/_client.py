"""What the OpenAI clients (``AsyncRuns``, ``AsyncResponses``) share: their connection options,
checked once, and the HTTP plumbing opened from them."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping

import httpx

from .._core.client_base import ClientBase
from .._core.credentials import Secret, from_env
from .._core.errors import InvalidArgumentError
from .._core.observe import Observer, RequestHook, ResponseHook
from ._http import AUTH_HEADERS, SECRET_HEADERS, OpenAIHttp, check_headers, check_query
from ._transport import DEFAULT_BASE_URL, check_base_url, log

__all__ = ["Options"]


class Options:
    """A client's checked connection options: base URL, credential, default headers, own client.

    The key comes from ``api_key``, else ``OPENAI_API_KEY``, or from an ``Authorization`` or
    ``api-key`` (Azure) header in ``default_headers``; the base URL from the argument, else
    ``OPENAI_BASE_URL``, else the OpenAI API. ``blocking`` names the client's blocking twin (for
    the message refusing an ``http_client`` it could not use).
    """

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        verify: bool | ssl.SSLContext,
        default_headers: Mapping[str, str] | None,
        http_client: httpx.AsyncClient | None,
        blocking: str,
    ) -> None:
        url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        self.base_url = check_base_url(url, verify)
        extra = check_headers(default_headers)
        in_header = [name for name in extra if name.lower() in AUTH_HEADERS]
        if in_header and api_key is not None:
            raise InvalidArgumentError(f"pass the key as api_key or as {in_header[0]}, not both")
        if len(in_header) > 1:
            raise InvalidArgumentError("default_headers: give one credential header")
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise InvalidArgumentError(
                f"http_client must be an httpx.AsyncClient (the blocking {blocking} runs it on "
                "its loop thread)"
            )
        if http_client is not None and verify is not True:
            raise InvalidArgumentError("verify is for runbind's own pool: set it on http_client")
        # A key in a header (Azure's api-key) is the credential: none from the environment.
        self.api_key: Secret | None = None if in_header else from_env(api_key, "OPENAI_API_KEY")
        self.header_secrets = tuple(
            Secret(value) for name, value in extra.items() if name.lower() in SECRET_HEADERS
        )
        self.auth = "api-key" if self.api_key else in_header[0].lower() if in_header else "none"
        self._extra = extra
        self._verify = verify
        self._client = http_client

    @property
    def secrets(self) -> tuple[Secret | None, ...]:
        """What errors leaving the client must not show (a server may echo the key)."""
        return (self.api_key, *self.header_secrets)

    def open(
        self,
        owner: ClientBase,
        *,
        max_response_size: int,
        on_request: RequestHook | None,
        on_response: ResponseHook | None,
        default_query: Mapping[str, str] | None,
        trust_env: bool,
        assistants: bool = True,
    ) -> OpenAIHttp:
        """The HTTP plumbing of ``owner`` (its retry policy and timeout read at each call);
        ``assistants`` sends the Assistants API's ``OpenAI-Beta`` header."""
        return OpenAIHttp(
            self.base_url,
            self.api_key,
            verify=self._verify,
            max_body=max_response_size,
            policy=lambda: owner.retry,
            observer=Observer("openai", log, on_request, on_response),
            timeout=lambda: owner.timeout,
            extra=self._extra,
            query=check_query(default_query),
            client=self._client,
            trust_env=trust_env,
            secret=self.api_key or next(iter(self.header_secrets), None),
            assistants=assistants,
        )
