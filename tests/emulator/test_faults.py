"""Injected faults, the poll hint, idempotent creates and restarts, seen by real socket clients."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import grpc  # type: ignore[import-untyped]
import grpclib.exceptions
import httpx
import pytest
from grpclib.client import Channel
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs

from runbind.emulator import Emulator, Faults

from ._clients import TIMEOUT, GrpcWorld, Json, Msg, OpenAI, Yandex, kind, parse_sse, status

SC = grpc.StatusCode
TEXT = "one two three four five six"
ECHO = "echo chunks=5"  # Yandex: 5 partial messages + DONE; OpenAI: a longer SSE stream
SHORT = 0.3  # seconds a client waits before it gives up on a stalled call


@pytest.fixture
def faults(emulator: Emulator) -> Iterator[Faults]:
    """The module emulator's faults, disarmed after the test."""
    yield emulator.faults
    emulator.faults.clear()


def rpc_error(call: Callable[[], Any]) -> Any:
    """Run ``call``, which must fail with a gRPC error; the error."""
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def collect(stream: Any) -> tuple[list[Msg], Any]:
    """Events of a grpcio server stream until it ends; and its error (None on a clean end)."""
    events: list[Msg] = []
    try:
        for event in stream:
            events.append(event)
    except grpc.RpcError as exc:
        return events, exc
    return events, None


def finished_run(yandex: Yandex) -> tuple[Msg, list[Msg]]:
    """A finished streaming Yandex run and all its events."""
    run = yandex.start(ECHO, TEXT)
    events = yandex.events(run.id)
    assert [kind(e) for e in events] == ["PARTIAL_MESSAGE"] * 5 + ["DONE"]
    return run, events


def sse_events(response: httpx.Response) -> tuple[list[str], Exception | None]:
    """Event names of an SSE response until it ends; and the read error (None on a clean end)."""
    names: list[str] = []
    try:
        for name, _ in parse_sse(response.iter_lines()):
            names.append(name)
    except httpx.TransportError as exc:
        return names, exc
    return names, None


def stream_run(openai: OpenAI) -> tuple[str, Json]:
    """The path and body of a streaming create on a fresh thread."""
    assistant = openai.assistant(ECHO)
    thread = openai.thread(TEXT)
    return f"/threads/{thread['id']}/runs", {"assistant_id": assistant["id"], "stream": True}


def retry_metadata(error: Any) -> dict[str, str]:
    """The retry hints in a gRPC error's trailing metadata."""
    return {k: v for k, v in error.trailing_metadata() or () if k.startswith("retry-after")}


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("how", "code"),
    [
        ("unavailable", SC.UNAVAILABLE),
        ("rate_limited", SC.RESOURCE_EXHAUSTED),
        ("internal", SC.INTERNAL),
    ],
)
def test_grpc_failure_statuses_and_retry_after(
    yandex: Yandex,
    faults: Faults,
    how: Literal["unavailable", "rate_limited", "internal"],
    code: Any,
) -> None:
    thread = yandex.thread()
    faults.fail(protocol="yandex", status=how, retry_after=1.25)
    error = rpc_error(lambda: yandex.call("ThreadService/Get", thread_id=thread.id))
    assert error.code() == code
    assert error.details() == "injected fault"
    assert retry_metadata(error) == {"retry-after": "2", "retry-after-ms": "1250"}

    faults.fail(protocol="yandex", status=how)
    error = rpc_error(lambda: yandex.call("ThreadService/Get", thread_id=thread.id))
    assert error.code() == code
    assert retry_metadata(error) == {}
    assert yandex.call("ThreadService/Get", thread_id=thread.id).id == thread.id


@pytest.mark.parametrize(
    ("how", "code", "kind_"),
    [
        ("unavailable", 503, "server_error"),
        ("rate_limited", 429, "invalid_request_error"),
        ("internal", 500, "server_error"),
    ],
)
def test_http_failure_statuses_and_retry_after(
    http: httpx.Client,
    openai: OpenAI,
    faults: Faults,
    how: Literal["unavailable", "rate_limited", "internal"],
    code: int,
    kind_: str,
) -> None:
    thread = openai.thread()
    faults.fail(protocol="openai", status=how, retry_after=0.2)
    response = http.get(f"/threads/{thread['id']}")
    assert response.status_code == code
    assert response.headers["content-type"] == "application/json"
    assert response.headers["retry-after"] == "1"
    assert response.headers["retry-after-ms"] == "200"
    assert response.json() == {
        "error": {"message": "injected fault", "type": kind_, "param": None, "code": None}
    }

    faults.fail(protocol="openai", status=how)
    response = http.get(f"/threads/{thread['id']}")
    assert response.status_code == code
    assert "retry-after" not in response.headers
    assert "retry-after-ms" not in response.headers
    assert http.get(f"/threads/{thread['id']}").status_code == 200


def test_exactly_count_requests_fail_then_the_next_succeeds(
    yandex: Yandex, openai: OpenAI, http: httpx.Client, faults: Faults
) -> None:
    thread = yandex.thread()
    before = faults.injected
    faults.fail(3, protocol="yandex")
    for _ in range(3):
        error = rpc_error(lambda: yandex.call("ThreadService/Get", thread_id=thread.id))
        assert error.code() == SC.UNAVAILABLE
    assert yandex.call("ThreadService/Get", thread_id=thread.id).id == thread.id
    assert faults.injected == before + 3

    other = openai.thread()
    faults.fail(2, protocol="openai", status="rate_limited")
    codes = [http.get(f"/threads/{other['id']}").status_code for _ in range(3)]
    assert codes == [429, 429, 200]
    assert faults.injected == before + 5


def test_grpc_method_filter(yandex: Yandex, faults: Faults) -> None:
    thread = yandex.thread()
    run, _ = finished_run(yandex)
    faults.fail(protocol="yandex", method="Get", count=2)
    yandex.thread()  # ThreadService/Create: not a Get
    assert yandex.call("RunService/List", folder_id="tests").runs
    assert rpc_error(lambda: yandex.get(run.id)).code() == SC.UNAVAILABLE
    # a bare name matches that method of any service
    error = rpc_error(lambda: yandex.call("ThreadService/Get", thread_id=thread.id))
    assert error.code() == SC.UNAVAILABLE
    assert yandex.get(run.id).id == run.id

    faults.fail(protocol="yandex", method="RunService/Get")
    assert yandex.call("ThreadService/Get", thread_id=thread.id).id == thread.id
    assert rpc_error(lambda: yandex.get(run.id)).code() == SC.UNAVAILABLE
    assert yandex.get(run.id).id == run.id


def test_http_method_filter(http: httpx.Client, openai: OpenAI, faults: Faults) -> None:
    thread = openai.thread()
    faults.fail(protocol="openai", method="POST", status="internal")
    assert http.get(f"/threads/{thread['id']}").status_code == 200
    assert http.get("/assistants").status_code == 200
    assert http.post("/threads", json={}).status_code == 500
    assert http.post("/threads", json={}).status_code == 200


def test_protocol_filter_and_either_protocol(
    yandex: Yandex, http: httpx.Client, openai: OpenAI, faults: Faults
) -> None:
    grpc_thread = yandex.thread()
    http_thread = openai.thread()
    faults.fail(protocol="openai")
    assert yandex.call("ThreadService/Get", thread_id=grpc_thread.id).id == grpc_thread.id
    assert http.get(f"/threads/{http_thread['id']}").status_code == 503

    faults.fail(2)  # either protocol: one turn each here
    error = rpc_error(lambda: yandex.call("ThreadService/Get", thread_id=grpc_thread.id))
    assert error.code() == SC.UNAVAILABLE
    assert http.get(f"/threads/{http_thread['id']}").status_code == 503
    yandex.healthy()
    openai.healthy()


def test_clear_disarms_and_bad_arguments_are_refused(
    yandex: Yandex, faults: Faults, emulator: Emulator
) -> None:
    before = faults.injected
    faults.fail(5)
    faults.stall(30)
    faults.drop_stream(0)
    faults.clear()
    finished_run(yandex)
    yandex.healthy()
    assert faults.injected == before
    assert "armed=0" in repr(faults)

    bad: list[Callable[[], None]] = [
        lambda: faults.fail(0),
        lambda: faults.fail(protocol="grpc"),  # type: ignore[arg-type]
        lambda: faults.fail(status="boom"),  # type: ignore[arg-type]
        lambda: faults.fail(retry_after=-1),
        lambda: faults.drop_stream(-1),
        lambda: faults.drop_stream(1, how="slow"),  # type: ignore[arg-type]
        lambda: faults.stall(float("nan")),
        lambda: faults.stall(1, count=0),
    ]
    for call in bad:
        with pytest.raises(ValueError, match="must be"):
            call()
    assert "armed=0" in repr(faults)
    with pytest.raises(ValueError, match="poll_after_ms"):
        Emulator(poll_after_ms=-5)


# --------------------------------------------------------------------------- cut streams


@pytest.mark.parametrize("how", ["reset", "unavailable"])
@pytest.mark.parametrize("after", [0, 3])
def test_grpc_listen_is_cut_after_n_events(
    yandex: Yandex, faults: Faults, how: Literal["reset", "unavailable"], after: int
) -> None:
    run, everything = finished_run(yandex)
    before = faults.injected
    faults.drop_stream(after, protocol="yandex", how=how)
    events, error = collect(yandex.open_stream("RunService/Listen", run_id=run.id))
    assert [e.stream_cursor.current_event_idx for e in events] == list(range(after))
    assert error is not None, "the stream ended cleanly"
    assert error.code() == SC.UNAVAILABLE
    if how == "unavailable":
        assert error.details() == "injected fault: stream cut"
    else:
        assert "injected fault" not in error.details()  # a lost connection, not a status
    assert faults.injected == before + 1

    # the client resumes where it was cut, and the fault is used up
    rest = yandex.events(run.id, start=after)
    assert [e.stream_cursor.current_event_idx for e in rest] == list(range(after, 6))
    assert [kind(e) for e in events + rest] == [kind(e) for e in everything]


def test_grpc_reset_is_a_lost_connection_for_grpclib(
    emulator: Emulator, yandex: Yandex, faults: Faults
) -> None:
    """grpclib sees the connection go away, not a status: ``StreamTerminatedError``."""
    run, _ = finished_run(yandex)

    async def main() -> tuple[list[runs.StreamEvent], BaseException | None]:
        channel = Channel(emulator.host, emulator.grpc_port)
        got: list[runs.StreamEvent] = []
        try:
            service = runs.RunServiceStub(channel)
            faults.drop_stream(3, protocol="yandex")
            try:
                async for event in service.listen(runs.ListenRunRequest(run_id=run.id)):
                    got.append(event)
            except (grpclib.exceptions.StreamTerminatedError, grpclib.GRPCError) as exc:
                return got, exc
            return got, None
        finally:
            channel.close()

    events, error = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert len(events) == 3
    assert isinstance(error, grpclib.exceptions.StreamTerminatedError), error


def test_grpc_attach_is_cut_and_a_short_stream_is_cut_at_its_end(
    yandex: Yandex, faults: Faults
) -> None:
    run, _ = finished_run(yandex)
    faults.drop_stream(2, protocol="yandex", how="unavailable")
    requests = [yandex.g.request("RunService/Attach", run_id=run.id)]
    events, error = collect(yandex.callable("RunService/Attach")(iter(requests), timeout=TIMEOUT))
    assert len(events) == 2
    assert error is not None
    assert error.code() == SC.UNAVAILABLE

    # fewer events than `after`: all of them, then the cut instead of a clean end
    faults.drop_stream(100, protocol="yandex", how="unavailable")
    events, error = collect(yandex.open_stream("RunService/Listen", run_id=run.id))
    assert len(events) == 6
    assert error is not None
    assert error.code() == SC.UNAVAILABLE


def test_a_stream_that_fails_on_its_own_keeps_the_drop_armed(
    yandex: Yandex, faults: Faults
) -> None:
    run, _ = finished_run(yandex)
    faults.drop_stream(1, protocol="yandex", how="unavailable")
    error = rpc_error(lambda: yandex.events("fvtrun-missing"))
    assert error.code() == SC.NOT_FOUND
    events, error = collect(yandex.open_stream("RunService/Listen", run_id=run.id))
    assert len(events) == 1
    assert error is not None
    assert error.details() == "injected fault: stream cut"


def test_drop_count_cuts_that_many_streams(yandex: Yandex, faults: Faults) -> None:
    run, _ = finished_run(yandex)
    faults.drop_stream(1, protocol="yandex", count=2, how="unavailable")
    for _ in range(2):
        events, error = collect(yandex.open_stream("RunService/Listen", run_id=run.id))
        assert (len(events), error is not None) == (1, True)
    assert len(yandex.events(run.id)) == 6


@pytest.mark.parametrize("how", ["reset", "unavailable"])
@pytest.mark.parametrize("after", [0, 3])
def test_http_sse_is_cut_after_n_events(
    http: httpx.Client,
    openai: OpenAI,
    faults: Faults,
    how: Literal["reset", "unavailable"],
    after: int,
) -> None:
    path, body = stream_run(openai)
    faults.drop_stream(after, protocol="openai", how=how)
    with http.stream("POST", path, json=body) as response:
        assert response.status_code == 200
        names, error = sse_events(response)
    assert len(names) == after
    assert (
        names[:after]
        == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"][:after]
    )
    assert isinstance(error, httpx.RemoteProtocolError), error
    assert "incomplete chunked read" in str(error)

    # the run itself goes on; a new stream is whole
    run = openai.ok("GET", f"{path}", limit=1)["data"][0]
    assert openai.wait(run)["status"] == "completed"
    path, body = stream_run(openai)
    events = openai.sse(path, body)
    assert events[-1] == ("done", "[DONE]")
    openai.healthy()


# --------------------------------------------------------------------------- stalls


def test_grpc_stall_times_out_a_short_deadline(yandex: Yandex, faults: Faults) -> None:
    thread = yandex.thread()
    faults.stall(3.0, protocol="yandex", method="Get")
    stub = yandex.callable("ThreadService/Get")
    request = yandex.g.request("ThreadService/Get", thread_id=thread.id)
    started = time.monotonic()
    error = rpc_error(lambda: stub(request, timeout=SHORT))
    assert error.code() == SC.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 2.0
    started = time.monotonic()
    assert stub(request, timeout=TIMEOUT).id == thread.id
    assert time.monotonic() - started < 1.0


def test_http_stall_times_out_a_short_timeout(
    http: httpx.Client, openai: OpenAI, faults: Faults
) -> None:
    thread = openai.thread()
    faults.stall(3.0, protocol="openai", method="GET")
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        http.get(f"/threads/{thread['id']}", timeout=SHORT)
    assert time.monotonic() - started < 2.0
    started = time.monotonic()
    assert http.get(f"/threads/{thread['id']}").status_code == 200
    assert time.monotonic() - started < 1.0


def test_stalls_end_when_the_emulator_stops(
    start_emulator: Callable[..., Emulator], grpc_world: GrpcWorld
) -> None:
    emu = start_emulator()
    emu.faults.stall(60.0, count=2)
    outcomes: list[str] = []

    def grpc_call() -> None:
        with grpc.insecure_channel(emu.grpc_target) as channel:
            client = Yandex(grpc_world, channel)
            try:
                client.call("ThreadService/List", folder_id="x")
            except grpc.RpcError as exc:
                outcomes.append(f"grpc {exc.code().name}")

    def http_call() -> None:
        try:
            httpx.get(f"{emu.openai_base_url}/assistants", timeout=TIMEOUT)
        except httpx.TransportError as exc:
            outcomes.append(f"http {type(exc).__name__}")

    callers = [threading.Thread(target=grpc_call), threading.Thread(target=http_call)]
    for caller in callers:
        caller.start()
    deadline = time.monotonic() + TIMEOUT
    while emu.faults.injected < 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    started = time.monotonic()
    emu.stop_thread()
    for caller in callers:
        caller.join(TIMEOUT)
    assert time.monotonic() - started < 5.0
    assert sorted(o.split()[0] for o in outcomes) == ["grpc", "http"], outcomes
    emu.start_in_thread()  # and it starts again
    with httpx.Client(base_url=emu.openai_base_url, timeout=TIMEOUT) as http:
        OpenAI(http).healthy()


# --------------------------------------------------------------------------- poll hint


def test_poll_after_header_on_run_objects(start_emulator: Callable[..., Emulator]) -> None:
    emu = start_emulator(poll_after_ms=250)
    with httpx.Client(base_url=emu.openai_base_url, timeout=TIMEOUT) as http:
        openai = OpenAI(http)
        assistant = openai.assistant("tools calls=1")
        thread = openai.thread()
        runs_path = f"/threads/{thread['id']}/runs"
        created = http.post(runs_path, json={"assistant_id": assistant["id"]})
        run = created.json()
        path = openai.run_path(run)
        openai.wait(run, until=("requires_action",))
        waiting = http.get(path)
        modified = http.post(path, json={"metadata": {"k": "v"}})
        outputs = openai.outputs(waiting.json())
        submitted = http.post(f"{path}/submit_tool_outputs", json=outputs)
        openai.wait(run)
        slow = openai.assistant("slow seconds=30")
        other = openai.thread()
        to_cancel = openai.ok("POST", f"/threads/{other['id']}/runs", {"assistant_id": slow["id"]})
        cancelled = http.post(f"{openai.run_path(to_cancel)}/cancel")
        for response in (created, waiting, modified, submitted, cancelled):
            assert response.status_code == 200, response.text
            assert response.headers["openai-poll-after-ms"] == "250"
        openai.wait(cancelled.json())  # cancelling ends on its own; the thread is free after
        streamed = http.post(
            f"/threads/{other['id']}/runs", json={"assistant_id": assistant["id"], "stream": True}
        )
        for response in (http.get(runs_path), http.get(f"/threads/{thread['id']}"), streamed):
            assert response.status_code == 200, response.text
            assert "openai-poll-after-ms" not in response.headers


def test_no_poll_after_header_by_default(openai: OpenAI, http: httpx.Client) -> None:
    assistant = openai.assistant(ECHO)
    thread = openai.thread()
    created = http.post(f"/threads/{thread['id']}/runs", json={"assistant_id": assistant["id"]})
    assert created.status_code == 200
    assert "openai-poll-after-ms" not in created.headers
    retrieved = http.get(openai.run_path(created.json()))
    assert "openai-poll-after-ms" not in retrieved.headers


# --------------------------------------------------------------------------- idempotency


def test_openai_idempotent_create_replays_the_first_run(http: httpx.Client, openai: OpenAI) -> None:
    assistant = openai.assistant("slow seconds=0.2")
    thread = openai.thread()
    path = f"/threads/{thread['id']}/runs"
    body = {"assistant_id": assistant["id"]}
    first = http.post(path, json=body, headers={"Idempotency-Key": "key-1"})
    again = http.post(path, json=body, headers={"IDEMPOTENCY-KEY": "key-1"})
    assert first.status_code == again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert len(openai.ok("GET", path)["data"]) == 1
    openai.wait(first.json())
    assert (
        http.post(path, json=body, headers={"idempotency-key": "key-1"}).json()["id"]
        == (first.json()["id"])
    )
    assert len(openai.ok("GET", path)["data"]) == 1

    conflict = http.post(path, json={**body, "stream": True}, headers={"Idempotency-Key": "key-1"})
    error = openai.error(conflict, 409)
    assert "key-1" in error["message"]
    assert "stream" in error["message"]
    other = openai.thread()
    elsewhere = http.post(
        f"/threads/{other['id']}/runs", json=body, headers={"Idempotency-Key": "key-1"}
    )
    assert "different request" in openai.error(elsewhere, 409)["message"]
    assert len(openai.ok("GET", path)["data"]) == 1

    # a new key is a new run; so is no key
    second = openai.ok("POST", path, body)
    assert second["id"] != first.json()["id"]
    assert len(openai.ok("GET", path)["data"]) == 2


def test_openai_streaming_create_records_its_key(http: httpx.Client, openai: OpenAI) -> None:
    path, body = stream_run(openai)
    with http.stream("POST", path, json=body, headers={"Idempotency-Key": "sse-1"}) as response:
        names, error = sse_events(response)
    assert error is None
    assert names[-1] == "done"
    run = openai.ok("GET", path)["data"][0]
    replay = http.post(path, json={**body, "stream": False}, headers={"Idempotency-Key": "sse-1"})
    assert replay.json()["id"] == run["id"]
    with http.stream("POST", path, json=body, headers={"Idempotency-Key": "sse-1"}) as again:
        assert again.status_code == 409
    assert len(openai.ok("GET", path)["data"]) == 1


def test_yandex_idempotent_create_replays_the_first_run(yandex: Yandex) -> None:
    assistant = yandex.assistant(ECHO, folder="idem")
    thread = yandex.thread(TEXT)
    keyed = Yandex(yandex.g, yandex.channel, [("idempotency-key", "y-1")])
    fields = {"assistant_id": assistant.id, "thread_id": thread.id, "stream": True}
    first = keyed.call("RunService/Create", **fields)
    again = keyed.call("RunService/Create", **fields)
    assert again.id == first.id
    yandex.events(first.id)
    assert keyed.call("RunService/Create", **{**fields, "stream": False}).id == first.id
    listed = yandex.call("RunService/List", folder_id="idem").runs
    assert [r.id for r in listed] == [first.id]
    assert status(yandex.get(first.id)) == "COMPLETED"

    other = yandex.thread()
    error = rpc_error(lambda: keyed.call("RunService/Create", **{**fields, "thread_id": other.id}))
    assert error.code() == SC.ALREADY_EXISTS
    assert "y-1" in error.details()
    second = yandex.call("RunService/Create", **{**fields, "thread_id": other.id})
    assert second.id != first.id
    assert len(yandex.call("RunService/List", folder_id="idem").runs) == 2


# --------------------------------------------------------------------------- restart


def test_restart_in_a_thread_keeps_ports_and_state(
    start_emulator: Callable[..., Emulator], grpc_world: GrpcWorld
) -> None:
    emu = start_emulator()
    ports = (emu.grpc_port, emu.http_port)
    channel = grpc.insecure_channel(emu.grpc_target)
    http = httpx.Client(base_url=emu.openai_base_url, timeout=TIMEOUT)
    try:
        yandex = Yandex(grpc_world, channel)
        openai = OpenAI(http)
        run, events = finished_run(yandex)
        slow = yandex.start("slow seconds=60")
        o_run = openai.wait(
            openai.ok(
                "POST",
                f"/threads/{openai.thread(TEXT)['id']}/runs",
                {"assistant_id": openai.assistant(ECHO)["id"]},
            )
        )
        emu.faults.fail(1, protocol="openai")

        emu.stop_thread()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{emu.openai_base_url}/assistants", timeout=TIMEOUT)
        emu.start_in_thread()
        assert (emu.grpc_port, emu.http_port) == ports

        # the same grpcio channel reconnects; the finished run streams again
        again = yandex.events(run.id)
        assert [e.SerializeToString() for e in again] == [e.SerializeToString() for e in events]
        # a run cut short by the stop failed, and its thread takes new runs
        interrupted = yandex.events(slow.id)
        assert kind(interrupted[-1]) == "ERROR"
        assert status(yandex.get(slow.id)) == "FAILED"
        rerun = yandex.call(
            "RunService/Create", assistant_id=slow.assistant_id, thread_id=slow.thread_id
        )
        assert rerun.id != slow.id
        # armed faults survive too
        assert http.get(openai.run_path(o_run)).status_code == 503
        assert openai.ok("GET", openai.run_path(o_run))["status"] == "completed"
        texts = [m["content"][0]["text"]["value"] for m in openai.messages(o_run["thread_id"])]
        assert texts == [TEXT, TEXT]
    finally:
        channel.close()
        http.close()


def test_restart_on_one_loop(grpc_world: GrpcWorld) -> None:
    async def main() -> None:
        emu = Emulator()
        await emu.start()
        try:
            ports = (emu.grpc_port, emu.http_port)
            async with httpx.AsyncClient(base_url=emu.openai_base_url, timeout=TIMEOUT) as http:
                thread = (await http.post("/threads", json={})).json()
                await emu.stop()
                with pytest.raises(httpx.TransportError):
                    await http.get(f"/threads/{thread['id']}")
                await emu.start()
                assert (emu.grpc_port, emu.http_port) == ports
                with pytest.raises(RuntimeError, match="already running"):
                    await emu.start()
                got = await http.get(f"/threads/{thread['id']}")
                assert got.json()["id"] == thread["id"]
        finally:
            await emu.stop()
        assert not emu._tasks

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))


# --------------------------------------------------------------------------- threads


def test_faults_armed_from_many_threads_fire_exactly_once_each(
    start_emulator: Callable[..., Emulator],
) -> None:
    emu = start_emulator()
    armers, per_armer, requesters, per_requester = 4, 30, 4, 25
    armed = armers * per_armer
    with httpx.Client(base_url=emu.openai_base_url, timeout=TIMEOUT) as setup:
        thread_id = OpenAI(setup).thread()["id"]

    def arm() -> None:
        for _ in range(per_armer):
            emu.faults.fail(protocol="openai", method="GET", status="rate_limited")

    def request(count: int) -> list[int]:
        with httpx.Client(base_url=emu.openai_base_url, timeout=TIMEOUT) as client:
            return [client.get(f"/threads/{thread_id}").status_code for _ in range(count)]

    with ThreadPoolExecutor(armers + requesters) as pool:
        load = [pool.submit(request, per_requester) for _ in range(requesters)]
        for done in [pool.submit(arm) for _ in range(armers)]:
            done.result()
        codes = [code for future in load for code in future.result()]
    # what is still armed fails the next requests, one each, then none
    while True:
        (code,) = request(1)
        codes.append(code)
        if code == 200:
            break
        assert len(codes) < armed + requesters * per_requester + 10
    assert set(codes) == {200, 429}
    assert codes.count(429) == armed
    assert emu.faults.injected == armed
    assert request(3) == [200, 200, 200]
