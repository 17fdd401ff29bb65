"""The emulator as a drop-in for the Yandex service, proven with the official clients unmodified:
yandex-ai-studio-sdk 0.22.0 (the last release with assistants; sync and asyncio, with
``endpoint=`` and with ``service_map=``) and grpcio with yandexcloud's generated stubs.

They need protobuf < 7, so they live in a venv of their own that ``nox -s tests`` builds
(pyproject's ``official-yandex`` dependency group) and names in
``RUNBIND_OFFICIAL_YANDEX_PYTHON``; each group of calls runs there as one child process
(``yandex_official_child.py``) against an emulator started here on 127.0.0.1, and reports what
the clients saw as JSON.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trustme

from runbind.emulator import Emulator

PYTHON_ENV = "RUNBIND_OFFICIAL_YANDEX_PYTHON"
CHILD = Path(__file__).with_name("yandex_official_child.py")
KEY = "official-key"
DAY = 86_400.0
MASK_T = "completion_options.temperature"

pytestmark = pytest.mark.skipif(
    not os.environ.get(PYTHON_ENV),
    reason=f"{PYTHON_ENV} is not set: the official Yandex clients' venv is built by nox -s tests",
)


def child(emulator: Emulator, group: str, *extra: str) -> dict[str, Any]:
    """Run ``group`` of the child in the official clients' venv; what it reported."""
    argv = [os.environ[PYTHON_ENV], str(CHILD), group, emulator.grpc_target, KEY, *extra]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


@pytest.fixture
def emu(start_emulator: Callable[..., Emulator]) -> Emulator:
    """A fresh emulator per group (listings then hold the group's own objects), with a key."""
    return start_emulator(api_key=KEY)


def test_sdk_with_only_an_endpoint(emu: Emulator) -> None:
    got = child(emu, "sdk_sync")
    # the service's defaults, as its recorded answers show them
    assert got["created"] == {
        "policy": "SINCE_LAST_ACTIVE",
        "ttl_days": 7,
        "strategy": "AutoPromptTruncationStrategy",
        "max_prompt_tokens": None,
        "model": "gpt://official/yandexgpt/latest",
        "expires_minus_created": 7 * DAY,
        "updated_by": "emulator",
        "updated_at_is_created_at": True,
    }
    assert got["second"] == {"policy": "STATIC", "ttl_days": 2, "max_prompt_tokens": 500}
    assert got["updated"] == {
        "name": "a0-renamed",
        "description": "d",
        "temperature": 0.0,
        "max_tokens": 50,
        "ttl_days": 3,
        "policy": "SINCE_LAST_ACTIVE",
        "updated_later": True,
    }
    assert got["versions"] == [
        [["completion_options.temperature"], "a0-renamed"],
        [["completion_options.max_tokens"], "a0-renamed"],
        [["name", "description", "expiration_config.ttl_days", MASK_T], "a0-renamed"],
        [[], "a0"],
    ]
    assert got["got"] == "a0-renamed"
    assert got["assistants"] == got["assistants_paged"] == ["a1", "a0-renamed"]

    assert got["thread"] == {
        "policy": "SINCE_LAST_ACTIVE",
        "ttl_days": 7,
        "labels": {"k": "v"},
        "expires_minus_created": 7 * DAY,
    }
    assert got["thread_updated"] == ["t0-renamed", 4, "STATIC"]
    assert got["thread_got"] == "t0-renamed"
    assert got["threads"] == got["threads_paged"] == ["t1", "t0-renamed"]
    assert got["read"] == [  # newest first
        ["USER", "hello there", "COMPLETED"],
        ["USER", "first question", "COMPLETED"],
    ]

    assert got["run"] == {
        "status": "COMPLETED",
        "text": "hello there",
        "usage": got["run"]["usage"],
        "result_text": "hello there",
        "created_by": "emulator",
    }
    assert got["run"]["usage"] > 0
    assert got["stream"] == [
        ["PARTIAL_MESSAGE", "hello "],
        ["PARTIAL_MESSAGE", "hello there"],
        ["DONE", "hello there"],
    ]
    assert got["listen_from_1"] == got["stream"][1:]
    assert got["listen_from_0"] == ["PARTIAL_MESSAGE", "PARTIAL_MESSAGE", "DONE"]
    assert got["read_after"][:2] == [["ASSISTANT", "hello there"]] * 2

    assert got["tool_status"] == "TOOL_CALLS"
    assert got["tool_calls"] == [["get_weather", {"index": 0.0, "city": "city-0"}]]
    assert got["tool_done"] == ["COMPLETED", "get_weather: sunny"]
    assert got["tool_replay"] == ["TOOL_CALLS", "DONE"]

    newest_first = got["run_ids"][::-1]
    assert got["runs"] == got["runs_paged"] == newest_first
    assert got["last_by_thread"] == got["run_ids"][1]
    assert got["run_got"] == got["run_ids"][0]
    assert got["after_delete"] == [[], []]


def test_async_sdk_with_a_service_map(emu: Emulator) -> None:
    got = child(emu, "sdk_async")
    assert got["stream"][-1] == ["DONE", "async hello"]
    assert [kind for kind, _ in got["stream"]] == ["PARTIAL_MESSAGE"] * 3 + ["DONE"]
    assert got["result"] == ["COMPLETED", "async hello"]
    assert got["listen_from_2"] == ["PARTIAL_MESSAGE", "DONE"]
    # the SDK's tool loop on one stream: TOOL_CALLS, answered, then the rest of the run
    assert got["tool_stream"][:2] == [["TOOL_CALLS", None], ["lookup", "lookup"]]
    assert got["tool_stream"][-1] == ["DONE", "lookup: r0; lookup: r1"]
    assert got["tool_result"] == "lookup: r0; lookup: r1"
    assert (got["runs"], got["assistants"], got["threads"]) == (2, 2, 1)
    assert got["messages"] == ["ASSISTANT", "ASSISTANT", "USER"]
    assert got["last_by_thread"] is True


def test_grpcio_with_yandexcloud_stubs_every_run_method(emu: Emulator) -> None:
    got = child(emu, "grpcio")
    assert got["endpoints"]["ai-assistants"] == emu.grpc_target
    assert set(got["endpoints"].values()) == {emu.grpc_target}
    assert got["endpoint_x"] == emu.grpc_target
    ids = ["x-client-request-id", "x-request-id", "x-server-trace-id"]
    assert got["create_metadata"] == ids
    assert got["client_request_id"] == "child-1"
    assert got["not_found"] == ["NOT_FOUND", ids]
    assert (got["first_event"], got["get"]) == ("TOOL_CALLS", "TOOL_CALLS")
    assert got["attach"] == ["TOOL_CALLS", *["PARTIAL_MESSAGE"] * 3, "DONE"]
    assert got["after_attach"] == "COMPLETED"
    assert got["replay"] == got["attach"]
    assert (got["second_first"], got["second_rest"]) == ("TOOL_CALLS", ["DONE"])
    assert got["last_by_thread"] is True
    assert got["list_pages"] == [[got["ids"][0]], [got["ids"][1]], []]


def test_yandexcloud_sdk_discovers_the_emulator_over_tls(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    """yandexcloud's SDK asks the discovery service over TLS only: the emulator serves gRPC
    over TLS when given a server context (a certificate for 127.0.0.1 made here)."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    emu = start_emulator(api_key=KEY, grpc_tls=context)
    got = child(emu, "yandexcloud", str(ca_file))
    assert got["endpoints"]["ai-assistants"] == got["endpoints"]["iam"] == emu.grpc_target
    assert got["kinds"] == ["PARTIAL_MESSAGE", "PARTIAL_MESSAGE", "DONE"]
    assert (got["status"], got["text"]) == ("COMPLETED", "over tls")
    assert got["policy"] == 2  # SINCE_LAST_ACTIVE
