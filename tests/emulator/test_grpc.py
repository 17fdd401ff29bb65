"""The emulator's Yandex side, driven over a socket by grpcio with protoc-built protobuf classes."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import re
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import grpc  # type: ignore[import-untyped]
import httpx
import pytest
from google.protobuf import json_format
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import threads as threads_pb

from runbind._core import offload
from runbind.emulator import Emulator, parse_script
from tests._memory import traced
from tests._misbehaving import grpc_frame, slow_to_decode

from ._clients import (
    TIMEOUT,
    GrpcWorld,
    Json,
    Msg,
    Requests,
    Yandex,
    assert_no_traceback,
    content,
    kind,
    raw_grpc,
    status,
    text_of,
)

TEXT = "the quick brown fox jumps over the lazy dog again and again"
SC = grpc.StatusCode


def cursors(events: list[Msg]) -> list[int]:
    """The ``current_event_idx`` of each event."""
    return [e.stream_cursor.current_event_idx for e in events]


def fails(call: Callable[[], Any], expected: Any) -> str:
    """Run ``call``, which must fail with status ``expected``; its details."""
    with pytest.raises(grpc.RpcError) as info:
        call()
    error: Any = info.value
    assert error.code() == expected, error.details()
    return str(error.details())


def assert_partials_grow(partials: list[Msg], final: str) -> None:
    """Partial messages carry the text so far: strictly growing prefixes of ``final``."""
    texts = [text_of(e.partial_message) for e in partials]
    assert texts, "no partial messages"
    for before, after in itertools.pairwise(texts):
        assert after.startswith(before)
        assert len(after) > len(before)
    assert final.startswith(texts[-1])


# --------------------------------------------------------------------------- lifecycles


def test_echo_streams_growing_partials_then_done(yandex: Yandex) -> None:
    assistant = yandex.assistant("echo chunks=4")
    thread = yandex.thread(TEXT)
    run = yandex.call(
        "RunService/Create",
        assistant_id=assistant.id,
        thread_id=thread.id,
        stream=True,
        labels={"purpose": "echo"},
    )
    assert run.id
    assert run.thread_id == thread.id
    assert run.assistant_id == assistant.id
    assert dict(run.labels) == {"purpose": "echo"}
    assert status(run) in ("PENDING", "IN_PROGRESS")

    events = yandex.events(run.id)
    assert [kind(e) for e in events] == ["PARTIAL_MESSAGE"] * 4 + ["DONE"]
    assert cursors(events) == list(range(5))
    assert_partials_grow(events[:-1], TEXT)
    assert text_of(events[-2].partial_message) == TEXT
    done = events[-1].completed_message
    assert text_of(done.content) == TEXT
    assert done.author.role == "ASSISTANT"  # the service's roles are upper-case
    assert done.thread_id == thread.id
    assert type(done).MessageStatus.Name(done.status) == "COMPLETED"

    final = yandex.get(run.id)
    assert status(final) == "COMPLETED"
    assert final.state.WhichOneof("StateData") == "completed_message"
    assert final.state.completed_message == done
    usage = final.usage
    assert usage.completion_tokens == len(TEXT.split())
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert yandex.call("RunService/GetLastByThread", thread_id=thread.id) == final

    messages = yandex.call("MessageService/List", thread_id=thread.id)
    assert [(m.author.role, text_of(m.content)) for m in messages] == [  # newest first
        ("ASSISTANT", TEXT),
        ("USER", TEXT),
    ]
    assert messages[0].id == done.id
    got = yandex.call("MessageService/Get", thread_id=thread.id, message_id=done.id)
    assert got == done


def test_repeat_adds_partial_messages_that_add_nothing(yandex: Yandex) -> None:
    run = yandex.start("echo chunks=2 repeat=3", TEXT)
    events = yandex.events(run.id)
    assert [kind(e) for e in events] == ["PARTIAL_MESSAGE"] * 5 + ["DONE"]
    assert cursors(events) == list(range(6))
    assert [text_of(e.partial_message) for e in events[1:5]] == [TEXT] * 4
    assert text_of(events[-1].completed_message.content) == TEXT
    assert parse_script("echo repeat=100000").repeat == 100_000
    for bad in ("echo repeat=-1", "echo repeat=100001", "echo repeat=many"):
        with pytest.raises(ValueError, match="repeat must be"):
            parse_script(bad)


def test_stream_false_listen_gives_only_final_events(yandex: Yandex) -> None:
    run = yandex.start("echo chunks=5", TEXT, stream=False)
    events = yandex.events(run.id)
    assert [kind(e) for e in events] == ["DONE"]
    assert cursors(events) == [0]
    assert text_of(events[0].completed_message.content) == TEXT

    run = yandex.start("tools calls=2 chunks=5", TEXT, stream=False)
    listen = yandex.open_stream("RunService/Listen", run_id=run.id)
    first = next(listen)
    assert kind(first) == "TOOL_CALLS"
    results = yandex.results(first.tool_call_list)
    yandex.call("RunService/Submit", run_id=run.id, tool_result_list=results)
    rest = list(listen)
    assert [kind(e) for e in rest] == ["DONE"]
    assert cursors([first, *rest]) == [0, 1]
    answer = "get_weather: result-0; get_weather: result-1"
    assert text_of(rest[0].completed_message.content) == answer


def test_tools_three_calls_then_submit_then_answer(yandex: Yandex) -> None:
    parameters = {"type": "object", "properties": {"city": {"type": "string"}}}
    tool = {"function": {"name": "lookup", "description": "look up", "parameters": parameters}}
    run = yandex.start("tools calls=3 chunks=2", TEXT, tools=[tool])
    listen = yandex.open_stream("RunService/Listen", run_id=run.id)
    first = next(listen)
    assert kind(first) == "TOOL_CALLS"
    assert first.stream_cursor.current_event_idx == 0
    assert first.stream_cursor.num_user_events_received == 0
    calls = first.tool_call_list.tool_calls
    assert [c.function_call.name for c in calls] == ["lookup"] * 3
    arguments = [json_format.MessageToDict(c.function_call.arguments) for c in calls]
    assert arguments == [{"index": i, "city": f"city-{i}"} for i in range(3)]

    waiting = yandex.get(run.id)
    assert status(waiting) == "TOOL_CALLS"
    assert waiting.state.tool_call_list == first.tool_call_list

    results = yandex.results(first.tool_call_list, prefix="sunny")
    response = yandex.call("RunService/Submit", run_id=run.id, tool_result_list=results)
    assert response.ByteSize() == 0
    rest = list(listen)
    assert [kind(e) for e in rest] == ["PARTIAL_MESSAGE"] * 2 + ["DONE"]
    assert cursors([first, *rest]) == [0, 1, 2, 3]
    assert all(e.stream_cursor.num_user_events_received == 1 for e in rest)
    answer = "lookup: sunny-0; lookup: sunny-1; lookup: sunny-2"
    assert_partials_grow(rest[:-1], answer)
    assert text_of(rest[-1].completed_message.content) == answer

    final = yandex.get(run.id)
    assert status(final) == "COMPLETED"
    assert [t.function.name for t in final.tools] == []  # the run itself asked for no tools
    # a second submit to the finished run is refused
    details = fails(
        lambda: yandex.call("RunService/Submit", run_id=run.id, tool_result_list=results),
        SC.FAILED_PRECONDITION,
    )
    assert run.id in details
    yandex.healthy()


@pytest.mark.parametrize(
    ("script", "partials", "number", "message"),
    [
        ("fail", 0, 13, "scripted failure"),
        ("fail code=rate_limit_exceeded message=slow_down_please", 0, 8, "slow down please"),
        ("fail code=7 chunks=2 message=denied", 2, 7, "denied"),
    ],
)
def test_fail_reports_the_scripted_code_and_message(
    yandex: Yandex, script: str, partials: int, number: int, message: str
) -> None:
    run = yandex.start(script, TEXT)
    events = yandex.events(run.id)
    assert [kind(e) for e in events] == ["PARTIAL_MESSAGE"] * partials + ["ERROR"]
    assert cursors(events) == list(range(partials + 1))
    assert (events[-1].error.code, events[-1].error.message) == (number, message)
    final = yandex.get(run.id)
    assert status(final) == "FAILED"
    assert final.state.WhichOneof("StateData") == "error"
    assert final.state.error == events[-1].error


def test_slow_run_stays_in_progress_then_completes(yandex: Yandex) -> None:
    started = time.monotonic()
    run = yandex.start("slow seconds=0.2", TEXT)
    assert status(yandex.get(run.id)) in ("PENDING", "IN_PROGRESS")
    events = yandex.events(run.id)
    assert time.monotonic() - started >= 0.2
    assert [kind(e) for e in events][-1] == "DONE"
    assert text_of(events[-1].completed_message.content) == TEXT
    assert status(yandex.get(run.id)) == "COMPLETED"


def test_incomplete_run_completes_with_a_truncated_message(yandex: Yandex) -> None:
    run = yandex.start("incomplete chunks=4", TEXT)
    events = yandex.events(run.id)
    assert [kind(e) for e in events] == ["PARTIAL_MESSAGE"] * 2 + ["DONE"]
    done = events[-1].completed_message
    assert type(done).MessageStatus.Name(done.status) == "TRUNCATED"
    truncated = text_of(done.content)
    assert truncated
    assert TEXT.startswith(truncated)
    assert len(truncated) < len(TEXT)
    final = yandex.get(run.id)
    assert status(final) == "COMPLETED"
    assert final.state.completed_message == done


def test_expire_fails_with_an_error_when_no_results_come(yandex: Yandex) -> None:
    run = yandex.start("expire seconds=0.1 calls=2", TEXT)
    events = yandex.events(run.id)
    assert [kind(e) for e in events] == ["TOOL_CALLS", "ERROR"]
    assert len(events[0].tool_call_list.tool_calls) == 2
    assert events[1].error.code == 4
    assert events[1].error.message
    final = yandex.get(run.id)
    assert status(final) == "FAILED"
    assert final.state.error == events[1].error
    results = yandex.results(events[0].tool_call_list)
    fails(
        lambda: yandex.call("RunService/Submit", run_id=run.id, tool_result_list=results),
        SC.FAILED_PRECONDITION,
    )
    yandex.healthy()


def test_attach_submits_tool_results_on_the_same_stream(
    yandex: Yandex, grpc_world: GrpcWorld
) -> None:
    run = yandex.start("tools calls=3 chunks=2", TEXT)
    attach = grpc_world.cls("runs.AttachRunRequest")
    requests = Requests()
    requests.put(attach(run_id=run.id))
    stream = yandex.callable("RunService/Attach")(
        iter(requests), timeout=TIMEOUT, metadata=yandex.metadata
    )
    try:
        first = next(stream)
        assert kind(first) == "TOOL_CALLS"
        requests.put(attach(tool_result_list=yandex.results(first.tool_call_list, "attached")))
        rest = list(stream)
    finally:
        requests.close()
    assert [kind(e) for e in rest] == ["PARTIAL_MESSAGE"] * 2 + ["DONE"]
    assert cursors([first, *rest]) == [0, 1, 2, 3]
    assert [e.stream_cursor.num_user_events_received for e in rest] == [1, 1, 1]
    answer = "; ".join(f"get_weather: attached-{i}" for i in range(3))
    assert text_of(rest[-1].completed_message.content) == answer
    assert status(yandex.get(run.id)) == "COMPLETED"


def test_attach_with_a_bad_submission_fails_the_stream(
    yandex: Yandex, grpc_world: GrpcWorld
) -> None:
    run = yandex.start("tools calls=3", TEXT)
    attach = grpc_world.cls("runs.AttachRunRequest")
    requests = Requests()
    requests.put(attach(run_id=run.id))
    stream = yandex.callable("RunService/Attach")(
        iter(requests), timeout=2.0, metadata=yandex.metadata
    )
    try:
        first = next(stream)
        one = {"tool_results": [{"function_result": {"name": "get_weather", "content": "x"}}]}
        requests.put(attach(tool_result_list=one))
        details = fails(lambda: list(stream), SC.INVALID_ARGUMENT)
    finally:
        requests.close()
    assert "tool_result_list" in details
    # the run still waits: a correct submit finishes it
    results = yandex.results(first.tool_call_list)
    yandex.call("RunService/Submit", run_id=run.id, tool_result_list=results)
    assert kind(yandex.events(run.id)[-1]) == "DONE"


# --------------------------------------------------------------------------- streaming & resume


def test_listen_resumes_without_losing_or_repeating_events(yandex: Yandex) -> None:
    text = " ".join(f"word{i:02d}" for i in range(40))
    run = yandex.start("echo chunks=20 delay=0.03", text)
    seen: list[Msg] = []
    for _ in range(3):  # three reconnects, each dropped after a few events
        start = seen[-1].stream_cursor.current_event_idx + 1 if seen else 0
        call = yandex.open_stream(
            "RunService/Listen", run_id=run.id, events_start_idx={"value": start}
        )
        for _ in range(4):
            seen.append(next(call))
        call.cancel()
        with pytest.raises(grpc.RpcError) as info:
            next(call)
        assert info.value.code() == SC.CANCELLED
    assert status(yandex.get(run.id)) == "IN_PROGRESS", "the run ended before the test resumed"
    seen += yandex.events(run.id, seen[-1].stream_cursor.current_event_idx + 1)

    full = yandex.events(run.id, 0)
    assert [kind(e) for e in full] == ["PARTIAL_MESSAGE"] * 20 + ["DONE"]
    assert cursors(seen) == cursors(full) == list(range(21))
    assert [e.SerializeToString() for e in seen] == [e.SerializeToString() for e in full]
    assert_partials_grow(full[:-1], text)
    # reconnecting after the end gives nothing more; in the middle, the tail
    assert yandex.events(run.id, 21) == []
    assert yandex.events(run.id, 15) == full[15:]


# --------------------------------------------------------------------------- reads and paging


def test_get_last_by_thread_and_list_paging_across_five_runs(yandex: Yandex) -> None:
    folder = "paging-folder"
    assistant = yandex.assistant("echo chunks=1", folder=folder)
    thread = yandex.thread(TEXT, folder=folder)
    ids = []
    for index in range(5):
        run = yandex.call(
            "RunService/Create",
            assistant_id=assistant.id,
            thread_id=thread.id,
            labels={"n": str(index)},
        )
        yandex.events(run.id)
        ids.append(run.id)
        assert yandex.call("RunService/GetLastByThread", thread_id=thread.id).id == run.id

    # newest first; as on the service, every page with runs has a token, the page after the
    # last run is empty and has none
    newest = ids[::-1]
    pages: list[list[str]] = []
    token = ""
    while True:
        page = yandex.call("RunService/List", folder_id=folder, page_size=2, page_token=token)
        pages.append([r.id for r in page.runs])
        assert bool(page.next_page_token) == bool(page.runs)
        token = page.next_page_token
        if not token:
            break
        assert len(pages) < 10
    assert pages == [newest[0:2], newest[2:4], newest[4:5], []]
    everything = yandex.call("RunService/List", folder_id=folder)
    assert [r.id for r in everything.runs] == newest
    assert everything.next_page_token
    after = yandex.call("RunService/List", folder_id=folder, page_token=everything.next_page_token)
    assert (list(after.runs), after.next_page_token) == ([], "")
    assert [dict(r.labels) for r in everything.runs] == [{"n": str(i)} for i in range(4, -1, -1)]
    assert all(status(r) == "COMPLETED" for r in everything.runs)
    assert yandex.call("RunService/List", folder_id="no-such-folder").runs == []


# --------------------------------------------------------------------------- status codes


@pytest.mark.parametrize(
    ("rpc", "fields", "missing"),
    [
        ("RunService/Get", {"run_id": "fvtrun-nope"}, "fvtrun-nope"),
        ("RunService/Listen", {"run_id": "fvtrun-nope"}, "fvtrun-nope"),
        ("RunService/Submit", {"run_id": "fvtrun-nope"}, "fvtrun-nope"),
        ("RunService/GetLastByThread", {"thread_id": "fvtthr-nope"}, "fvtthr-nope"),
        ("ThreadService/Get", {"thread_id": "fvtthr-nope"}, "fvtthr-nope"),
        ("MessageService/List", {"thread_id": "fvtthr-nope"}, "fvtthr-nope"),
        ("AssistantService/Get", {"assistant_id": "fvtasst-nope"}, "fvtasst-nope"),
    ],
)
def test_unknown_ids_are_not_found(yandex: Yandex, rpc: str, fields: Json, missing: str) -> None:
    details = fails(lambda: yandex.call(rpc, **fields), SC.NOT_FOUND)
    assert missing in details
    yandex.healthy()


def test_create_run_with_unknown_assistant_or_thread_is_not_found(yandex: Yandex) -> None:
    assistant = yandex.assistant("echo")
    thread = yandex.thread()
    for assistant_id, thread_id, missing in [
        ("fvtasst-nope", thread.id, "fvtasst-nope"),
        (assistant.id, "fvtthr-nope", "fvtthr-nope"),
    ]:
        details = fails(
            partial(
                yandex.call, "RunService/Create", assistant_id=assistant_id, thread_id=thread_id
            ),
            SC.NOT_FOUND,
        )
        assert missing in details
    empty = yandex.thread()
    fails(lambda: yandex.call("RunService/GetLastByThread", thread_id=empty.id), SC.NOT_FOUND)
    yandex.healthy()


def test_invalid_arguments_name_the_field(yandex: Yandex) -> None:
    thread = yandex.thread()
    run = yandex.start("echo")
    yandex.events(run.id)
    cases: list[tuple[str, Json, str]] = [
        ("RunService/Create", {"assistant_id": "", "thread_id": thread.id}, "assistant_id"),
        ("RunService/Get", {"run_id": ""}, "run_id"),
        (
            "RunService/Listen",
            {"run_id": run.id, "events_start_idx": {"value": -1}},
            "events_start_idx",
        ),
        ("RunService/List", {"folder_id": "tests", "page_token": "bogus"}, "page_token"),
        ("RunService/List", {"folder_id": "tests", "page_size": -1}, "page_size"),
        ("ThreadService/List", {"folder_id": "tests", "page_token": "bogus"}, "page_token"),
        ("AssistantService/Create", {"labels": {"emulator": "dance"}}, "labels.emulator"),
        ("AssistantService/Create", {"labels": {"emulator": "tools calls=0"}}, "calls"),
        ("AssistantService/Create", {"labels": {"emulator": "echo colour=red"}}, "colour"),
        ("MessageService/Create", {"thread_id": thread.id}, "content"),
        (
            "ThreadService/Create",
            {"folder_id": "tests", "messages": [{"content": {}}]},
            "messages[0].content",
        ),
    ]
    for rpc, fields, field in cases:
        details = fails(partial(yandex.call, rpc, **fields), SC.INVALID_ARGUMENT)
        assert field in details, (rpc, details)
        yandex.healthy()


def test_failed_preconditions(yandex: Yandex) -> None:
    assistant = yandex.assistant("tools calls=1")
    thread = yandex.thread()
    run = yandex.call("RunService/Create", assistant_id=assistant.id, thread_id=thread.id)
    listen = yandex.open_stream("RunService/Listen", run_id=run.id)
    first = next(listen)
    details = fails(
        lambda: yandex.call("RunService/Create", assistant_id=assistant.id, thread_id=thread.id),
        SC.FAILED_PRECONDITION,
    )
    assert thread.id in details
    results = yandex.results(first.tool_call_list)
    yandex.call("RunService/Submit", run_id=run.id, tool_result_list=results)
    assert kind(list(listen)[-1]) == "DONE"
    details = fails(
        lambda: yandex.call("RunService/Submit", run_id=run.id, tool_result_list=results),
        SC.FAILED_PRECONDITION,
    )
    assert "not waiting" in details
    # the thread is free again
    second = yandex.call("RunService/Create", assistant_id=assistant.id, thread_id=thread.id)
    assert second.id != run.id
    listen = yandex.open_stream("RunService/Listen", run_id=second.id)
    first = next(listen)
    yandex.call(
        "RunService/Submit", run_id=second.id, tool_result_list=yandex.results(first.tool_call_list)
    )
    assert kind(list(listen)[-1]) == "DONE"


def test_oversized_message_is_resource_exhausted(
    start_emulator: Callable[..., Emulator],
    grpc_world: GrpcWorld,
    open_channel: Callable[[Emulator], Any],
) -> None:
    emu = start_emulator(max_message_size=2048)
    yandex = Yandex(grpc_world, open_channel(emu))
    yandex.healthy()
    big = [{"content": content("x" * 4096)}]
    details = fails(
        lambda: yandex.call("ThreadService/Create", folder_id="f", messages=big),
        SC.RESOURCE_EXHAUSTED,
    )
    assert "2048" in details
    assert len(emu.yandex_store.threads) == 1  # only the healthy() thread
    yandex.healthy()


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"\x0a\x05ab", "assistant_id"),  # length prefix past the end
        (b"\x0f", "assistant_id"),  # field 1 with wire type 7
        (b"\x12\x02\xff\xfe", "thread_id"),  # invalid UTF-8
        (b"\x38", "stream"),  # truncated varint
        # additional_messages[0].content.content[0].text.content = b"\xff\xfe"
        (b"\x22\x0a\x1a\x08\x0a\x06\x0a\x04\x0a\x02\xff\xfe", "additional_messages[0].content"),
        (b"\x22\x03\x1a\x05\x0a", "additional_messages[0]"),  # nested length past the parent
    ],
)
def test_malformed_frames_are_invalid_argument_naming_the_field(
    yandex: Yandex, emulator: Emulator, data: bytes, where: str
) -> None:
    runs = len(emulator.yandex_store.runs)
    details = fails(lambda: yandex.call("RunService/Create", data), SC.INVALID_ARGUMENT)
    assert "CreateRunRequest" in details
    assert where in details, details
    assert len(emulator.yandex_store.runs) == runs
    yandex.healthy()


def test_unknown_fields_in_requests_are_accepted(yandex: Yandex, grpc_world: GrpcWorld) -> None:
    unknown = b"\xf8\x06\x2a" + b"\x82\x07\x03abc" + b"\xcd\x07\x01\x02\x03\x04"  # 111, 112, 121
    create = grpc_world.request("AssistantService/Create", folder_id="f", name="with-unknowns")
    assistant = yandex.call("AssistantService/Create", create.SerializeToString() + unknown)
    assert assistant.name == "with-unknowns"
    thread = yandex.thread(TEXT)
    request = grpc_world.request(
        "RunService/Create", assistant_id=assistant.id, thread_id=thread.id, stream=True
    )
    run = yandex.call("RunService/Create", unknown + request.SerializeToString())
    assert run.thread_id == thread.id
    listen = grpc_world.request("RunService/Listen", run_id=run.id)
    events = yandex.call("RunService/Listen", listen.SerializeToString() + unknown)
    assert kind(events[-1]) == "DONE"
    assert text_of(events[-1].completed_message.content) == TEXT


# --------------------------------------------------------------------------- auth

KEY = "sekret-key-0123456789"


def test_api_key_is_required_and_never_echoed(
    start_emulator: Callable[..., Emulator],
    grpc_world: GrpcWorld,
    open_channel: Callable[[Emulator], Any],
) -> None:
    emu = start_emulator(api_key=KEY)
    channel = open_channel(emu)
    good = [
        Yandex(grpc_world, channel, [("authorization", f"Api-Key {KEY}")]),
        Yandex(grpc_world, channel, [("authorization", f"Bearer {KEY}")]),
    ]
    bad = [
        Yandex(grpc_world, channel),
        Yandex(grpc_world, channel, [("authorization", "Api-Key sekret-wrong")]),
        Yandex(grpc_world, channel, [("authorization", f"Basic {KEY}")]),
        Yandex(grpc_world, channel, [("authorization", KEY)]),
        Yandex(grpc_world, channel, [("authorization", f"Api-Key {KEY}x")]),
        Yandex(grpc_world, channel, [("x-api-key", KEY)]),
    ]
    for client in bad:
        details = fails(client.thread, SC.UNAUTHENTICATED)
        assert "sekret" not in details
        details = fails(
            partial(client.call, "RunService/Listen", run_id="fvtrun-x"), SC.UNAUTHENTICATED
        )
        assert "sekret" not in details
        good[0].healthy()
    assert len(emu.yandex_store.threads) == len(bad)  # only the healthy() threads
    for client in good:
        run = client.start("echo", TEXT)
        assert kind(client.events(run.id)[-1]) == "DONE"


# --------------------------------------------------------------------------- latency


def test_the_grpc_socket_lets_asyncio_disable_nagle(emulator: Emulator) -> None:
    # asyncio sets TCP_NODELAY on accepted connections only when the listening socket was
    # created with IPPROTO_TCP; without it every successful unary call stalled ~40 ms.
    server = emulator._grpc
    assert server is not None
    listening = server._server.sockets  # type: ignore[union-attr]
    assert listening
    assert all(sock.proto == socket.IPPROTO_TCP for sock in listening)


# --------------------------------------------------------------------------- framing

GET_REQUEST = b"\x0a\x0afvtrun-xyz"  # GetRunRequest(run_id="fvtrun-xyz"), a ListenRunRequest too


@pytest.mark.parametrize(
    ("method", "body", "headers", "reason"),
    [
        ("RunService/Get", grpc_frame(GET_REQUEST, flag=1), (), "compressed flag set"),
        (
            "RunService/Get",
            grpc_frame(GET_REQUEST, flag=1),
            (("grpc-encoding", "gzip"),),
            "compressed flag set",
        ),
        ("RunService/Get", grpc_frame(GET_REQUEST, flag=2), (), "compressed flag 2"),
        ("RunService/Get", b"\x00\x00\x00", (), "ended inside a message prefix"),
        ("RunService/Get", b"\x00\x00\x00\x00\x10abc", (), "inside a message of 16 bytes"),
        ("RunService/Get", grpc_frame(GET_REQUEST) + b"\x00\x00", (), "one request message"),
        ("RunService/Get", grpc_frame(GET_REQUEST) * 2, (), "one request message"),
        ("RunService/Listen", grpc_frame(GET_REQUEST) * 2, (), "one request message"),
        ("RunService/Get", b"", (), "without its request message"),
        ("RunService/Listen", b"", (), "without its request message"),
        ("ThreadService/Create", b"\x00\x00\x00\x00\x02\x0a", (), "inside a message of 2"),
    ],
    ids=[
        "compressed-flag",
        "compressed-flag-gzip",
        "flag-2",
        "prefix-cut-short",
        "message-cut-short",
        "bytes-after-the-message",
        "two-messages-unary",
        "two-messages-listen",
        "no-message-unary",
        "no-message-listen",
        "cut-short-create",
    ],
)
def test_malformed_grpc_framing_is_invalid_argument_without_a_traceback(
    yandex: Yandex,
    emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
    method: str,
    body: bytes,
    headers: tuple[tuple[str, str], ...],
    reason: str,
) -> None:
    """grpclib answered most of these with UNKNOWN and logged a traceback, and ignored what
    followed a unary call's message."""
    threads = len(emulator.yandex_store.threads)
    with caplog.at_level(logging.DEBUG):
        answer = raw_grpc(emulator.grpc_port, method, body, headers=headers)
    assert answer.status == SC.INVALID_ARGUMENT.value[0], answer
    assert "malformed gRPC framing" in answer.grpc_message
    assert reason in answer.grpc_message
    assert_no_traceback(caplog)
    assert len(emulator.yandex_store.threads) == threads
    yandex.healthy()


@pytest.mark.parametrize(
    ("content_type", "headers"),
    [
        ("application/json", ()),
        (None, ()),
        ("application/grpc+json", ()),
        ("application/grpc", (("grpc-timeout", "abc"),)),
    ],
)
def test_calls_grpclib_refuses_before_a_message_get_a_status_without_a_traceback(
    yandex: Yandex,
    emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
    content_type: str | None,
    headers: tuple[tuple[str, str], ...],
) -> None:
    with caplog.at_level(logging.DEBUG):
        answer = raw_grpc(
            emulator.grpc_port,
            "RunService/Get",
            grpc_frame(GET_REQUEST),
            content_type=content_type,
            headers=headers,
        )
    assert answer.status == SC.UNKNOWN.value[0], answer
    assert answer.grpc_message
    assert_no_traceback(caplog)
    yandex.healthy()


def test_attach_with_a_malformed_second_message_fails_the_stream(
    yandex: Yandex, emulator: Emulator, grpc_world: GrpcWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """The reader of Attach's requests used to lose the error: the stream went on."""
    run = yandex.start("tools calls=1", TEXT)
    first = grpc_world.request("RunService/Attach", run_id=run.id).SerializeToString()
    with caplog.at_level(logging.DEBUG):
        answer = raw_grpc(
            emulator.grpc_port, "RunService/Attach", grpc_frame(first) + b"\x00\x00\x00"
        )
    assert answer.status == SC.INVALID_ARGUMENT.value[0], answer
    assert "ended inside a message prefix" in answer.grpc_message
    assert_no_traceback(caplog)
    assert status(yandex.get(run.id)) == "TOOL_CALLS"  # nothing was submitted


def test_an_oversized_prefix_is_refused_before_its_message_is_read(emulator: Emulator) -> None:
    """grpclib read (and acknowledged) the whole announced message before the codec's size
    check: 300 MB streamed raised the emulator's memory by as much. Now the 5-byte prefix is
    refused at once; the client can send no more than the stream's flow-control window (grpclib
    opens 4 MiB), and nothing of it is kept."""
    announced = 300 << 20

    def body() -> Iterator[bytes]:
        yield b"\x00" + announced.to_bytes(4, "big")
        for _ in range(32):  # 32 MiB of it at most, if nobody stops us
            yield bytes(1 << 20)

    with traced():
        answer = raw_grpc(emulator.grpc_port, "ThreadService/Create", body())
        _, peak = tracemalloc.get_traced_memory()
    assert answer.status == SC.RESOURCE_EXHAUSTED.value[0], answer
    assert f"message of {announced} bytes exceeds the limit of {4 << 20}" in answer.grpc_message
    assert answer.sent <= (4 << 20) + (64 << 10)
    assert peak < 16 << 20


# --------------------------------------------------------------------------- slow decoding


def decoding() -> int:
    """Decode workers running in this process (the emulator's included)."""
    return sum(t.name == "runbind-decode" for t in threading.enumerate())


def arrived(emu: Emulator) -> int:
    """Requests on the emulator's loop that hold or wait for a decode turn (they have arrived)."""
    turns = offload._turns.get(emu._loop) if emu._loop is not None else None
    if turns is None:
        return 0
    return offload.WORKERS - turns.free + sum(not t.done() for t in turns.waiting)


@pytest.mark.serial  # bounds in wall-clock time: run alone
@pytest.mark.parametrize("large", [1, 4])
def test_small_calls_are_answered_while_large_requests_decode(
    start_emulator: Callable[..., Emulator],
    grpc_world: GrpcWorld,
    open_channel: Callable[[Emulator], Any],
    large: int,
) -> None:
    """A request of unknown fields that takes seconds to decode froze both protocols for as
    long, decoded on the loop; on a worker thread, a small gRPC call and a small HTTP call on
    other connections are answered within 100 ms meanwhile. Large requests are decoded one at a
    time: with eight workers at once the loop waited 0.4-1.4 s for the GIL."""
    emu = start_emulator(max_message_size=64 << 20)
    slow = slow_to_decode(threads_pb.CreateThreadRequest, 3.0 / large)
    clients = [Yandex(grpc_world, open_channel(emu)) for _ in range(large)]
    small = Yandex(grpc_world, open_channel(emu))
    thread = small.thread("small")
    with httpx.Client(base_url=emu.openai_base_url, timeout=TIMEOUT) as http:
        assert http.get("/assistants", params={"limit": 1}).status_code == 200
        answered: list[Any] = []
        creates = [c.callable("ThreadService/Create", raw=True) for c in clients]
        callers = [
            threading.Thread(
                target=lambda c=create: answered.append(c(slow, timeout=TIMEOUT * 3)),
                daemon=True,
            )
            for create in creates
        ]
        for caller in callers:
            caller.start()
        # Time the small calls once every large request has arrived: one decoding on its worker,
        # the others waiting for their turn. (Receiving megabytes of HTTP/2 frames is the loop's
        # own work; it is what this test measures around, not what it measures.)
        give_up = time.monotonic() + TIMEOUT
        while arrived(emu) != large and time.monotonic() < give_up:
            time.sleep(0.005)
        assert decoding() >= 1, "no large request is decoding off the loop"
        took = []
        for _ in range(3):
            started = time.monotonic()
            assert small.call("ThreadService/Get", thread_id=thread.id).id == thread.id
            took.append(time.monotonic() - started)
            started = time.monotonic()
            assert http.get("/assistants", params={"limit": 1}).status_code == 200
            took.append(time.monotonic() - started)
        in_flight = len(answered) < large
        for caller in callers:
            caller.join(TIMEOUT * 3)
    assert max(took) < 0.1, took
    assert in_flight, "the large requests were answered before the small calls were made"
    assert len(answered) == large  # and each large request got its thread


@pytest.mark.serial  # bounds in wall-clock time: run alone
def test_a_deadline_stops_the_decoding_of_a_request_and_frees_its_turn(
    start_emulator: Callable[..., Emulator],
    grpc_world: GrpcWorld,
    open_channel: Callable[[Emulator], Any],
) -> None:
    """Two requests slow to decode with a 0.5 s deadline: the first is stopped while it decodes,
    the second while it waits for its turn; neither worker outlives its deadline, and the next
    large request is decoded at once."""
    emu = start_emulator(max_message_size=64 << 20)
    slow = slow_to_decode(threads_pb.CreateThreadRequest, 3.0)
    create = Yandex(grpc_world, open_channel(emu)).callable("ThreadService/Create", raw=True)
    futures = [create.future(slow, timeout=0.5) for _ in range(2)]
    for future in futures:
        with pytest.raises(grpc.RpcError) as caught:
            future.result()
        assert caught.value.code() == SC.DEADLINE_EXCEEDED
    give_up = time.monotonic() + 0.5
    while decoding() and time.monotonic() < give_up:
        time.sleep(0.01)
    assert decoding() == 0
    large = grpc_world.request("ThreadService/Create", folder_id="f", name="n" * (200 << 10))
    started = time.monotonic()
    assert create(large.SerializeToString(), timeout=TIMEOUT).name == "n" * (200 << 10)
    assert time.monotonic() - started < 2.0


@pytest.mark.serial  # bounds in wall-clock time: run alone
def test_small_calls_are_answered_while_a_large_http_body_is_validated(
    start_emulator: Callable[..., Emulator],
    grpc_world: GrpcWorld,
    open_channel: Callable[[Emulator], Any],
) -> None:
    """Five megabytes of JSON (150,000 thread messages, the last one invalid) take half a second
    to validate; on the loop that held up both protocols, so no other call was answered meanwhile.
    On a worker thread small calls keep being answered (only its C calls, and the garbage
    collector, hold the GIL for tens of milliseconds). The body is this large so that validation
    outlasts several small calls whatever the GIL hand-offs cost them: at one megabyte, a run in
    a process holding the whole suite answered only two."""
    count = 150_000
    emu = start_emulator(max_body_size=8 << 20)
    yandex = Yandex(grpc_world, open_channel(emu))
    messages = [{"role": "user", "content": "x"} for _ in range(count - 1)]
    body = json.dumps({"messages": [*messages, {"role": "user", "content": "x", "no": 1}]})
    data = body.encode()
    head = "POST /v1/threads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    request = f"{head}Content-Length: {len(data)}\r\n\r\n".encode() + data
    thread = yandex.thread("small")
    meanwhile = 0  # small calls answered before the large request was
    with (
        httpx.Client(base_url=emu.openai_base_url, timeout=TIMEOUT) as http,
        socket.create_connection(("127.0.0.1", emu.http_port), timeout=TIMEOUT) as sock,
    ):
        assert http.get("/assistants", params={"limit": 1}).status_code == 200
        sock.sendall(request)
        # It is being validated once a worker is (without workers: after the wait, on the loop).
        give_up = time.monotonic() + 0.5
        while not decoding() and time.monotonic() < give_up:
            time.sleep(0.002)
        early = b""
        for turn in range(200):
            if turn % 2:
                assert http.get("/assistants", params={"limit": 1}).status_code == 200
            else:
                assert yandex.call("ThreadService/Get", thread_id=thread.id).id == thread.id
            sock.settimeout(0.0)
            with contextlib.suppress(BlockingIOError):
                early = sock.recv(65536)
            sock.settimeout(TIMEOUT)
            if early:
                break
            meanwhile += 1
        answer = raw_answer(sock, early)
    assert len(data) > 5_000_000
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:100]
    assert f"messages[{count - 1}].no".encode() in answer
    assert meanwhile >= 3


def raw_answer(sock: socket.socket, start: bytes = b"") -> bytes:
    """One response read from ``sock`` (``start``: what of it was read already), to the end
    of its body or of the connection."""
    answer = start
    while True:
        head, _, rest = answer.partition(b"\r\n\r\n")
        length = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
        if length and len(rest) >= int(length.group(1)):
            return answer
        chunk = sock.recv(65536)
        if not chunk:
            return answer
        answer += chunk
