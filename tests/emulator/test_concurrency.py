"""50 concurrent runs on both protocols finish right and leave consistent state; the CLI serves."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc  # type: ignore[import-untyped]
import httpx

from runbind.emulator import Emulator

from ._clients import TIMEOUT, GrpcWorld, LineReader, OpenAI, Yandex, kind, status, stop, text_of

PER_PROTOCOL = 25
BEHAVIOURS = ("echo", "tools", "fail")
SCRIPTS = {
    "echo": "echo chunks=3 delay=0.01",
    "tools": "tools calls=2 chunks=2 delay=0.01",
    "fail": "fail code=rate_limit_exceeded message=busy chunks=1 delay=0.01",
}
FINAL = {"echo": "completed", "tools": "completed", "fail": "failed"}


def yandex_lifecycle(client: Yandex, index: int, barrier: threading.Barrier) -> str:
    """One whole run over gRPC (Listen, Submit on tool calls); checks its events; its id."""
    behaviour = BEHAVIOURS[index % len(BEHAVIOURS)]
    text = " ".join([f"grpc-{index}"] * 6)
    assistant = client.assistant(SCRIPTS[behaviour])
    thread = client.thread(text)
    barrier.wait(TIMEOUT)
    run = client.call(
        "RunService/Create", assistant_id=assistant.id, thread_id=thread.id, stream=True
    )
    events = []
    for event in client.open_stream("RunService/Listen", run_id=run.id):
        events.append(event)
        if kind(event) == "TOOL_CALLS":
            results = client.results(event.tool_call_list, f"r{index}")
            client.call("RunService/Submit", run_id=run.id, tool_result_list=results)
    assert [e.stream_cursor.current_event_idx for e in events] == list(range(len(events)))
    kinds = [kind(e) for e in events]
    if behaviour == "echo":
        assert kinds == ["PARTIAL_MESSAGE"] * 3 + ["DONE"]
        assert text_of(events[-1].completed_message.content) == text
    elif behaviour == "tools":
        assert kinds == ["TOOL_CALLS", "PARTIAL_MESSAGE", "PARTIAL_MESSAGE", "DONE"]
        expected = f"get_weather: r{index}-0; get_weather: r{index}-1"
        assert text_of(events[-1].completed_message.content) == expected
    else:
        assert kinds == ["PARTIAL_MESSAGE", "ERROR"]
        assert (events[-1].error.code, events[-1].error.message) == (8, "busy")
    final = client.get(run.id)
    assert status(final) == ("FAILED" if behaviour == "fail" else "COMPLETED")
    return str(run.id)


def openai_lifecycle(base_url: str, index: int, barrier: threading.Barrier) -> str:
    """One whole run over HTTP with SSE (submitting tool outputs); checks its events; its id."""
    behaviour = BEHAVIOURS[index % len(BEHAVIOURS)]
    text = " ".join([f"http-{index}"] * 6)
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as http:
        client = OpenAI(http)
        assistant = client.assistant(SCRIPTS[behaviour])
        thread = client.thread(text)
        barrier.wait(TIMEOUT)
        events = client.sse(
            f"/threads/{thread['id']}/runs", {"assistant_id": assistant["id"], "stream": True}
        )
        run = events[0][1]
        if behaviour == "tools":
            assert events[-2][0] == "thread.run.requires_action"
            body = {**client.outputs(events[-2][1], f"o{index}"), "stream": True}
            events += client.sse(client.run_path(run) + "/submit_tool_outputs", body)
        names = [name for name, _ in events]
        assert names[:3] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
        assert names[-2:] == [f"thread.run.{FINAL[behaviour]}", "done"]
        text_deltas = "".join(
            d["delta"]["content"][0]["text"]["value"]
            for name, d in events
            if name == "thread.message.delta"
        )
        if behaviour == "echo":
            assert text_deltas == text
        elif behaviour == "tools":
            assert text_deltas == f"get_weather: o{index}-0; get_weather: o{index}-1"
        else:
            assert events[-2][1]["last_error"] == {"code": "rate_limit_exceeded", "message": "busy"}
        assert client.ok("GET", client.run_path(run))["status"] == FINAL[behaviour]
        return str(run["id"])


def test_fifty_concurrent_runs_on_both_protocols(grpc_world: GrpcWorld) -> None:
    began = time.monotonic()
    emu = Emulator().start_in_thread()
    channel = grpc.insecure_channel(emu.grpc_target)
    try:
        yandex = Yandex(grpc_world, channel)
        barrier = threading.Barrier(2 * PER_PROTOCOL)
        with ThreadPoolExecutor(max_workers=2 * PER_PROTOCOL) as pool:
            grpc_jobs = [
                pool.submit(yandex_lifecycle, yandex, i, barrier) for i in range(PER_PROTOCOL)
            ]
            http_jobs = [
                pool.submit(openai_lifecycle, emu.openai_base_url, i, barrier)
                for i in range(PER_PROTOCOL)
            ]
            grpc_ids = [job.result(timeout=15) for job in grpc_jobs]
            http_ids = [job.result(timeout=15) for job in http_jobs]

        for store, ids in ((emu.yandex_store, grpc_ids), (emu.openai_store, http_ids)):
            assert len(set(ids)) == PER_PROTOCOL
            assert len(store.runs) == PER_PROTOCOL
            assert len(store.threads) == PER_PROTOCOL
            assert len(store.assistants) == PER_PROTOCOL
            for index, run_id in enumerate(ids):
                run = store.runs.get(run_id)
                assert run is not None
                assert run.status.value == FINAL[BEHAVIOURS[index % len(BEHAVIOURS)]]
                assert run.task is not None
                assert run.task.done()
                assert store.active_run(run.thread_id) is None
                assert run.results_received == (1 if index % len(BEHAVIOURS) == 1 else 0)
    finally:
        channel.close()
        stop(emu)
    assert time.monotonic() - began < 20


def test_cli_serves_both_protocols_and_stops_on_sigint(grpc_world: GrpcWorld) -> None:
    env = {k: v for k, v in os.environ.items() if k != "RUNBIND_EMULATOR_API_KEY"}
    command = [sys.executable, "-m", "runbind", "emulator", "--grpc-port", "0", "--http-port", "0"]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        out = LineReader(proc.stdout)
        lines = [out.next() for _ in range(3)]
        grpc_line = re.fullmatch(r"yandex gRPC: (127\.0\.0\.1):(\d+)\n", lines[0] or "")
        http_line = re.fullmatch(r"openai HTTP: (http://127\.0\.0\.1:(\d+)/v1)\n", lines[1] or "")
        assert grpc_line is not None, lines
        assert http_line is not None, lines
        assert lines[2] == "auth: off; Ctrl-C stops\n"
        grpc_port, http_port = int(grpc_line[2]), int(http_line[2])
        assert grpc_port > 0
        assert http_port > 0
        assert grpc_port != http_port

        response = httpx.get(f"{http_line[1]}/assistants", timeout=TIMEOUT)
        assert response.status_code == 200
        assert json.loads(response.text)["object"] == "list"
        channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
        try:
            assert Yandex(grpc_world, channel).thread().id
        finally:
            channel.close()

        began = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=5)
        assert time.monotonic() - began < 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    assert proc.stderr is not None
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.stdout is not None
    assert out.next() is None  # nothing else was printed
    proc.stdout.close()
    assert code == 130, err
    assert "Traceback" not in err, err
