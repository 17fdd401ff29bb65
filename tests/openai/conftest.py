"""OpenAI's part of the shared scaffolding (:mod:`tests._flavours`): its clients, environment
and base URL, and assistants/threads made over plain HTTP."""

from __future__ import annotations

import httpx
import pytest

from runbind.emulator import Emulator
from runbind.openai import AsyncRuns, Runs
from tests._flavours import TIMEOUT, Provider, _clean_env, connect, emulator, runs

__all__ = ["_clean_env", "connect", "emulator", "runs"]  # the shared fixtures, for this folder

OPENAI = Provider(
    env=("OPENAI_API_KEY", "OPENAI_BASE_URL"),
    async_runs=AsyncRuns,
    runs=Runs,
    target=lambda emu: {"base_url": emu.openai_base_url},
)
"""No OpenAI key or base URL from the machine; clients reach the emulator's ``/v1`` (pass
``base_url=None`` to use the environment)."""


@pytest.fixture(scope="session")
def provider() -> Provider:
    """OpenAI, for the shared fixtures."""
    return OPENAI


def http(emu: Emulator, api_key: str | None = None) -> httpx.Client:
    """A plain HTTP client of the emulator's ``/v1`` (with the bearer key, if any)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx.Client(base_url=emu.openai_base_url, headers=headers, timeout=TIMEOUT)


def make(
    emu: Emulator,
    script: str = "echo chunks=3",
    text: str = "hello there world",
    *,
    api_key: str | None = None,
) -> tuple[str, str]:
    """A new assistant following ``script`` and a thread whose one user message is ``text``."""
    with http(emu, api_key) as client:
        assistant = client.post(
            "/assistants", json={"model": "gpt-4o", "metadata": {"emulator": script}}
        )
        assistant.raise_for_status()
        thread = client.post("/threads", json={"messages": [{"role": "user", "content": text}]})
        thread.raise_for_status()
        return str(assistant.json()["id"]), str(thread.json()["id"])


def new_thread(emu: Emulator, text: str = "hello there world") -> str:
    """A new thread whose one user message is ``text``."""
    with http(emu) as client:
        thread = client.post("/threads", json={"messages": [{"role": "user", "content": text}]})
        thread.raise_for_status()
        return str(thread.json()["id"])


def thread_texts(emu: Emulator, thread_id: str) -> list[tuple[str, str]]:
    """``(role, text)`` of the thread's messages, oldest first, read over plain HTTP."""
    with http(emu) as client:
        response = client.get(f"/threads/{thread_id}/messages", params={"order": "asc"})
        response.raise_for_status()
        return [
            (m["role"], "".join(p["text"]["value"] for p in m["content"]))
            for m in response.json()["data"]
        ]
