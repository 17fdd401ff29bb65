"""Yandex's part of the shared scaffolding (:mod:`tests._flavours`): its clients, environment
and endpoint, and assistants/threads made with the generated stubs."""

from __future__ import annotations

import asyncio

import pytest
from grpclib.client import Channel
from runbind_generated.proto.yandex.cloud.ai.assistants import v1
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import threads

from runbind.emulator import Emulator
from runbind.yandex import AsyncRuns, Runs
from tests._flavours import Provider, _clean_env, connect, emulator, runs

__all__ = ["_clean_env", "connect", "emulator", "runs"]  # the shared fixtures, for this folder

YANDEX = Provider(
    env=("YC_API_KEY", "YC_IAM_TOKEN", "YC_FOLDER_ID"),
    async_runs=AsyncRuns,
    runs=Runs,
    target=lambda emu: {"endpoint": emu.grpc_target},
)
"""No Yandex credentials or folder from the machine; clients reach the emulator over gRPC."""


@pytest.fixture(scope="session")
def provider() -> Provider:
    """Yandex, for the shared fixtures."""
    return YANDEX


async def _make_many(
    emu: Emulator, script: str, texts: list[str], folder: str, api_key: str | None
) -> tuple[str, list[str]]:
    metadata = {"authorization": f"Api-Key {api_key}"} if api_key else None
    channel = Channel(emu.host, emu.grpc_port)
    try:
        assistant = await v1.AssistantServiceStub(channel).create(
            v1.CreateAssistantRequest(folder_id=folder, labels={"emulator": script}),
            metadata=metadata,
        )
        stub = threads.ThreadServiceStub(channel)
        made = await asyncio.gather(
            *(
                stub.create(
                    threads.CreateThreadRequest(
                        folder_id=folder,
                        messages=[threads.MessageData(content=content(text))],
                    ),
                    metadata=metadata,
                )
                for text in texts
            )
        )
        return assistant.id, [t.id for t in made]
    finally:
        channel.close()


def content(text: str) -> threads.MessageContent:
    """A message content with one text part."""
    return threads.MessageContent(content=[threads.ContentPart(text=threads.Text(content=text))])


def make(
    emu: Emulator,
    script: str = "echo chunks=3",
    text: str = "hello",
    *,
    folder: str = "f",
    api_key: str | None = None,
) -> tuple[str, str]:
    """A new assistant following ``script`` and a thread whose one user message is ``text``."""
    assistant, made = asyncio.run(_make_many(emu, script, [text], folder, api_key))
    return assistant, made[0]


def make_many(
    emu: Emulator, script: str, count: int, *, folder: str = "f"
) -> tuple[str, list[str]]:
    """A new assistant and ``count`` threads (message ``"m<i>"``), made concurrently."""
    texts = [f"m{i}" for i in range(count)]
    return asyncio.run(_make_many(emu, script, texts, folder, None))
