"""An assistant and a thread with a first question, made over the emulator's own protocols.

Examples and tests need them before a run can start; the Runs clients cover runs only.
"""

from __future__ import annotations

from typing import Literal

import httpx
from grpclib.client import Channel
from runbind_generated.proto.yandex.cloud.ai.assistants import v1
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import threads

__all__ = ["Provider", "seed"]

Provider = Literal["yandex", "openai"]
_TIMEOUT = 30.0


async def _yandex(
    host: str, port: int, api_key: str | None, question: str, behaviour: str, folder_id: str
) -> tuple[str, str]:
    metadata = {"authorization": f"Api-Key {api_key}"} if api_key else {}
    channel = Channel(host, port)
    try:
        assistant = await v1.AssistantServiceStub(channel).create(
            v1.CreateAssistantRequest(
                folder_id=folder_id, name="seed", labels={"emulator": behaviour}
            ),
            timeout=_TIMEOUT,
            metadata=metadata,
        )
        part = threads.ContentPart(text=threads.Text(content=question))
        message = threads.MessageData(content=threads.MessageContent(content=[part]))
        thread = await threads.ThreadServiceStub(channel).create(
            threads.CreateThreadRequest(folder_id=folder_id, messages=[message]),
            timeout=_TIMEOUT,
            metadata=metadata,
        )
    finally:
        channel.close()
    return assistant.id, thread.id


async def _openai(
    base_url: str, api_key: str | None, question: str, behaviour: str
) -> tuple[str, str]:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=_TIMEOUT) as http:
        spec = {"model": "gpt-4o", "name": "seed", "metadata": {"emulator": behaviour}}
        assistant = (await http.post("/assistants", json=spec)).raise_for_status().json()
        first = {"messages": [{"role": "user", "content": question}]}
        thread = (await http.post("/threads", json=first)).raise_for_status().json()
    return str(assistant["id"]), str(thread["id"])


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
    """``(assistant id, thread id)`` made on ``provider``'s side of a running emulator."""
    if provider == "yandex":
        return await _yandex(host, grpc_port, api_key, question, behaviour, folder_id)
    if provider == "openai":
        return await _openai(base_url, api_key, question, behaviour)
    raise ValueError(f"provider must be 'yandex' or 'openai', got {provider!r}")
