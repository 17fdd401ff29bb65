"""An assistant and a thread with a first question, made over the emulator's own protocols.

Examples and tests need them before a run can start; the Runs clients cover runs only.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Literal, TypeVar

import httpx
from runbind_generated.proto.yandex.cloud.ai.assistants import v1
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import threads

from .._core.credentials import Secret
from .._core.errors import DecodeError, InvalidArgumentError
from .._core.retry import Transient
from ..openai import _transport as openai_transport
from ..yandex import _transport as yandex_transport

__all__ = ["Provider", "seed"]

Provider = Literal["yandex", "openai"]
_TIMEOUT = 30.0
_T = TypeVar("_T")


def _final(error: Exception) -> Exception:
    """A translated error as it leaves: a Transient one is its ApiError (the seed retries not)."""
    return error.error if isinstance(error, Transient) else error


async def _grpc(call: Awaitable[_T], secret: Secret | None) -> _T:
    """``call``, its failure the runbind error a Yandex client would raise (message kept)."""
    yandex_transport.begin_call()
    try:
        return await call
    except Exception as exc:
        raise _final(yandex_transport.translate(exc, "seed", secret)) from None


async def _yandex(
    host: str, port: int, api_key: str | None, question: str, behaviour: str, folder_id: str
) -> tuple[str, str]:
    secret = Secret(api_key) if api_key else None
    metadata = {"authorization": f"Api-Key {api_key}"} if api_key else {}
    channel = yandex_transport.SecureChannel(host, port)
    try:
        assistant = await _grpc(
            v1.AssistantServiceStub(channel).create(
                v1.CreateAssistantRequest(
                    folder_id=folder_id, name="seed", labels={"emulator": behaviour}
                ),
                timeout=_TIMEOUT,
                metadata=metadata,
            ),
            secret,
        )
        part = threads.ContentPart(text=threads.Text(content=question))
        message = threads.MessageData(content=threads.MessageContent(content=[part]))
        thread = await _grpc(
            threads.ThreadServiceStub(channel).create(
                threads.CreateThreadRequest(folder_id=folder_id, messages=[message]),
                timeout=_TIMEOUT,
                metadata=metadata,
            ),
            secret,
        )
    finally:
        channel.close()
    return assistant.id, thread.id


async def _post(http: httpx.AsyncClient, path: str, body: Any, secret: Secret | None) -> Any:
    """The JSON answer of a POST; its failure the runbind error an OpenAI client would raise."""
    try:
        response = await http.post(path, json=body)
    except Exception as exc:
        raise _final(openai_transport.translate(exc, f"seed {path}")) from None
    try:
        openai_transport.check_response(response, response.content, secret)
    except Transient as exc:
        raise exc.error from None
    try:
        return response.json()
    except ValueError as exc:
        raise DecodeError("openai", path, "", f"response is not JSON: {exc}") from None


async def _openai(
    base_url: str, api_key: str | None, question: str, behaviour: str
) -> tuple[str, str]:
    secret = Secret(api_key) if api_key else None
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=_TIMEOUT) as http:
        spec = {"model": "gpt-4o", "name": "seed", "metadata": {"emulator": behaviour}}
        assistant = await _post(http, "/assistants", spec, secret)
        first = {"messages": [{"role": "user", "content": question}]}
        thread = await _post(http, "/threads", first, secret)
    try:
        return str(assistant["id"]), str(thread["id"])
    except (KeyError, TypeError) as exc:
        raise DecodeError("openai", "seed", "id", f"no id in the answer: {exc!r}") from None


async def seed(
    provider: Provider,
    *,
    host: str,
    grpc_port: int,
    base_url: str,
    api_key: str | None,
    question: str,
    behaviour: str,
    folder_id: str,
) -> tuple[str, str]:
    """``(assistant id, thread id)`` made on ``provider``'s side of a running emulator.

    A failure is the runbind error a client would raise for it (:class:`~runbind.ApiError` and
    its subclasses with the server's message, :class:`~runbind.RunTimeoutError`), never a raw
    httpx or grpclib one.
    """
    if provider == "yandex":
        return await _yandex(host, grpc_port, api_key, question, behaviour, folder_id)
    if provider == "openai":
        return await _openai(base_url, api_key, question, behaviour)
    raise InvalidArgumentError(f"provider must be 'yandex' or 'openai', got {provider!r}")
