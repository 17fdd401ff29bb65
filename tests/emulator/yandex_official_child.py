"""Run in the official clients' own venv (yandex-ai-studio-sdk, yandexcloud, grpcio, Google
protobuf), against an emulator the test started: ``python yandex_official_child.py GROUP TARGET
API_KEY [CA_FILE]``. Each group drives the unmodified clients through a set of calls and prints
what they saw as one JSON document; ``test_yandex_official.py`` asserts on it. Nothing here
imports runbind.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import grpc  # type: ignore[import-untyped]
from google.protobuf.wrappers_pb2 import Int64Value
from yandex.cloud.ai.assistants.v1 import (
    assistant_service_pb2,
    assistant_service_pb2_grpc,
    common_pb2,
)
from yandex.cloud.ai.assistants.v1.runs import run_pb2, run_service_pb2, run_service_pb2_grpc
from yandex.cloud.ai.assistants.v1.threads import (
    message_pb2,
    thread_service_pb2,
    thread_service_pb2_grpc,
)
from yandex.cloud.endpoint import api_endpoint_service_pb2, api_endpoint_service_pb2_grpc
from yandex_ai_studio_sdk import AIStudio, AsyncAIStudio
from yandexcloud import SDK

FOLDER = "official"
POLL = 0.02  # seconds between the SDK's status polls (its default is 0.5)
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}

Json = dict[str, Any]


def _names(items: Any) -> list[Any]:
    return [item.name for item in items]


def sdk_sync(target: str, key: str) -> Json:
    """The blocking SDK given only ``endpoint=``: it discovers the services first."""
    sdk = AIStudio(folder_id=FOLDER, endpoint=target, auth=key, verify=False)
    out: Json = {}
    first = sdk.assistants.create("yandexgpt", name="a0", labels={"emulator": "echo chunks=2"})
    out["created"] = {
        "policy": first.expiration_config.expiration_policy.name,
        "ttl_days": first.expiration_config.ttl_days,
        "strategy": type(first.prompt_truncation_options.strategy).__name__,
        "max_prompt_tokens": first.max_prompt_tokens,
        "model": first.model.uri,
        "expires_minus_created": (first.expires_at - first.created_at).total_seconds(),
        "updated_by": first.updated_by,
        "updated_at_is_created_at": first.updated_at == first.created_at,
    }
    second = sdk.assistants.create(
        "yandexgpt", name="a1", ttl_days=2, expiration_policy="static", max_prompt_tokens=500
    )
    out["second"] = {
        "policy": second.expiration_config.expiration_policy.name,
        "ttl_days": second.expiration_config.ttl_days,
        "max_prompt_tokens": second.max_prompt_tokens,
    }
    first.update(name="a0-renamed", description="d", temperature=0.5, ttl_days=3)
    first.update(max_tokens=50)
    first.update(temperature=None)  # the service stores 0, as the SDK's own tests record
    out["updated"] = {
        "name": first.name,
        "description": first.description,
        "temperature": first.model.config.temperature,
        "max_tokens": first.model.config.max_tokens,
        "ttl_days": first.expiration_config.ttl_days,
        "policy": first.expiration_config.expiration_policy.name,
        "updated_later": first.updated_at > first.created_at,
    }
    versions = list(first.list_versions())
    out["versions"] = [[list(v.update_mask), v.assistant.name] for v in versions]
    out["got"] = sdk.assistants.get(first.id).name
    out["assistants"] = _names(sdk.assistants.list())
    out["assistants_paged"] = _names(sdk.assistants.list(page_size=1))

    thread = sdk.threads.create(name="t0", labels={"k": "v"})
    out["thread"] = {
        "policy": thread.expiration_config.expiration_policy.name,
        "ttl_days": thread.expiration_config.ttl_days,
        "labels": thread.labels,
        "expires_minus_created": (thread.expires_at - thread.created_at).total_seconds(),
    }
    thread.update(name="t0-renamed", ttl_days=4, expiration_policy="static")
    out["thread_updated"] = [
        thread.name,
        thread.expiration_config.ttl_days,
        thread.expiration_config.expiration_policy.name,
    ]
    out["thread_got"] = sdk.threads.get(thread.id).name
    other = sdk.threads.create(name="t1")
    out["threads"] = _names(sdk.threads.list())
    out["threads_paged"] = _names(sdk.threads.list(page_size=1))
    thread.write("first question")
    thread.write("hello there")
    out["read"] = [[m.role, m.text, m.status.name] for m in thread.read()]

    run = first.run(thread)
    result = run.wait(poll_interval=POLL, timeout=30)
    out["run"] = {
        "status": result.status.name,
        "text": result.text,
        "usage": None if result.usage is None else result.usage.total_tokens,
        "result_text": run.get_result().text,
        "created_by": run.created_by,
    }
    stream = first.run_stream(thread)
    out["stream"] = [[e.status.name, e.text] for e in stream]
    out["listen_from_1"] = [[e.status.name, e.text] for e in stream.listen(events_start_idx=1)]
    out["listen_from_0"] = [e.status.name for e in stream.listen(events_start_idx=0)]
    out["read_after"] = [[m.role, m.text] for m in thread.read()]

    tools = sdk.assistants.create(
        "yandexgpt",
        name="tools",
        labels={"emulator": "tools calls=1"},
        tools=[sdk.tools.function(SCHEMA, name="get_weather", description="weather")],
    )
    tool_thread = sdk.threads.create()
    tool_thread.write("weather?")
    tool_run = tools.run(tool_thread)
    asked = tool_run.wait(poll_interval=POLL, timeout=30)
    calls = asked.tool_calls or []
    out["tool_calls"] = [[c.function.name, c.function.arguments] for c in calls]
    out["tool_status"] = asked.status.name
    tool_run.submit_tool_results([{"name": "get_weather", "content": "sunny"}])
    done = tool_run.wait(poll_interval=POLL, timeout=30)
    out["tool_done"] = [done.status.name, done.text]
    out["tool_replay"] = [e.status.name for e in tool_run.listen(events_start_idx=0)]

    listed = list(sdk.runs.list())
    out["runs"] = [r.id for r in listed]
    out["runs_paged"] = [r.id for r in sdk.runs.list(page_size=2)]
    out["run_ids"] = [run.id, stream.id, tool_run.id]
    out["last_by_thread"] = sdk.runs.get_last_by_thread(thread).id
    out["run_got"] = sdk.runs.get(run.id).id

    for item in (tools, second, first, tool_thread, other, thread):
        item.delete()
    out["after_delete"] = [_names(sdk.assistants.list()), _names(sdk.threads.list())]
    return out


async def _sdk_async(target: str, key: str) -> Json:
    sdk = AsyncAIStudio(
        folder_id=FOLDER,
        endpoint=None,
        service_map={"ai-assistants": target},
        auth=key,
        verify=False,
    )
    out: Json = {}
    echo = await sdk.assistants.create("yandexgpt", labels={"emulator": "echo chunks=3"})
    thread = await sdk.threads.create()
    await thread.write("async hello")
    run = await echo.run_stream(thread)
    out["stream"] = [[e.status.name, e.text] async for e in run]
    result = await run.wait(poll_interval=POLL, timeout=30)
    out["result"] = [result.status.name, result.text]
    out["listen_from_2"] = [e.status.name async for e in run.listen(events_start_idx=2)]

    tools = await sdk.assistants.create(
        "yandexgpt",
        labels={"emulator": "tools calls=2"},
        tools=[sdk.tools.function(SCHEMA, name="lookup")],
    )
    tool_run = await tools.run_stream(thread)
    seen: list[Any] = []
    async for event in tool_run:  # the SDK's own tool loop: answer, keep listening
        seen.append([event.status.name, event.text])
        if event.tool_calls:
            seen.append([c.function.name for c in event.tool_calls])
            await tool_run.submit_tool_results(
                [
                    {"name": c.function.name, "content": f"r{i}"}
                    for i, c in enumerate(event.tool_calls)
                ]
            )
    out["tool_stream"] = seen
    out["tool_result"] = (await tool_run.get_result()).text
    out["runs"] = len([r async for r in sdk.runs.list()])
    out["assistants"] = len([a async for a in sdk.assistants.list()])
    out["threads"] = len([t async for t in sdk.threads.list()])
    out["messages"] = [m.role async for m in thread.read()]
    out["last_by_thread"] = (await sdk.runs.get_last_by_thread(thread)).id == tool_run.id
    for item in (tools, echo, thread):
        await item.delete()
    return out


def sdk_async(target: str, key: str) -> Json:
    """The asyncio SDK given a ``service_map`` (no discovery)."""
    return asyncio.run(_sdk_async(target, key))


def _metadata(call: Any) -> dict[str, str]:
    return {k: v for k, v in (*call.initial_metadata(), *call.trailing_metadata())}


def grpcio(target: str, key: str) -> Json:
    """grpcio with yandexcloud's generated stubs: every RunService method, and discovery."""
    auth = [("authorization", f"Api-Key {key}"), ("x-client-request-id", "child-1")]
    out: Json = {}
    with grpc.insecure_channel(target) as channel:
        endpoints = api_endpoint_service_pb2_grpc.ApiEndpointServiceStub(channel)
        listed = endpoints.List(api_endpoint_service_pb2.ListApiEndpointsRequest())
        out["endpoints"] = {e.id: e.address for e in listed.endpoints}
        got = endpoints.Get(api_endpoint_service_pb2.GetApiEndpointRequest(api_endpoint_id="x"))
        out["endpoint_x"] = got.address

        assistants = assistant_service_pb2_grpc.AssistantServiceStub(channel)
        threads = thread_service_pb2_grpc.ThreadServiceStub(channel)
        runs = run_service_pb2_grpc.RunServiceStub(channel)
        tool = common_pb2.Tool(function=common_pb2.FunctionTool(name="get_weather"))
        assistant = assistants.Create(
            assistant_service_pb2.CreateAssistantRequest(
                folder_id=FOLDER, model_uri="gpt://f/yandexgpt", labels={"emulator": "tools"}
            ),
            metadata=auth,
        )
        part = message_pb2.ContentPart(text=message_pb2.Text(content="hi"))
        data = message_pb2.MessageData(content=message_pb2.MessageContent(content=[part]))
        thread = threads.Create(
            thread_service_pb2.CreateThreadRequest(folder_id=FOLDER, messages=[data]),
            metadata=auth,
        )
        created, call = runs.Create.with_call(
            run_service_pb2.CreateRunRequest(
                assistant_id=assistant.id, thread_id=thread.id, stream=True, tools=[tool]
            ),
            metadata=auth,
        )
        out["create_metadata"] = sorted(_metadata(call))
        out["client_request_id"] = _metadata(call).get("x-client-request-id")
        listen = runs.Listen(
            run_service_pb2.ListenRunRequest(run_id=created.id, events_start_idx=Int64Value()),
            metadata=auth,
        )
        first = next(iter(listen))
        listen.cancel()
        out["first_event"] = run_service_pb2.StreamEvent.EventType.Name(first.event_type)
        out["get"] = _status(
            runs.Get(run_service_pb2.GetRunRequest(run_id=created.id), metadata=auth)
        )
        # answer on Attach, and read on: the history TOOL_CALLS event, then the rest
        results = common_pb2.ToolResultList(
            tool_results=[
                common_pb2.ToolResult(
                    function_result=common_pb2.FunctionResult(name="get_weather", content="ok")
                )
            ]
        )
        attach = runs.Attach(
            iter([run_service_pb2.AttachRunRequest(run_id=created.id, tool_result_list=results)]),
            metadata=auth,
        )
        out["attach"] = [_kind(e) for e in attach]
        out["after_attach"] = _status(
            runs.Get(run_service_pb2.GetRunRequest(run_id=created.id), metadata=auth)
        )
        replay = runs.Listen(
            run_service_pb2.ListenRunRequest(
                run_id=created.id, events_start_idx=Int64Value(value=0)
            ),
            metadata=auth,
        )
        out["replay"] = [_kind(e) for e in replay]
        # a second run on the same thread, answered with Submit
        second = runs.Create(
            run_service_pb2.CreateRunRequest(
                assistant_id=assistant.id, thread_id=thread.id, tools=[tool]
            ),
            metadata=auth,
        )
        events = runs.Listen(run_service_pb2.ListenRunRequest(run_id=second.id), metadata=auth)
        out["second_first"] = _kind(next(iter(events)))
        runs.Submit(
            run_service_pb2.SubmitToRunRequest(run_id=second.id, tool_result_list=results),
            metadata=auth,
        )
        out["second_rest"] = [_kind(e) for e in events]
        last = runs.GetLastByThread(
            run_service_pb2.GetLastRunByThreadRequest(thread_id=thread.id), metadata=auth
        )
        out["last_by_thread"] = last.id == second.id
        out["list_pages"] = list(_pages(runs, auth))
        out["ids"] = [second.id, created.id]
        try:
            runs.Get(run_service_pb2.GetRunRequest(run_id="fvtrun-nope"), metadata=auth)
        except grpc.RpcError as exc:
            out["not_found"] = [exc.code().name, sorted(_metadata(exc))]
    return out


def _status(run: Any) -> str:
    return str(run_pb2.RunState.RunStatus.Name(run.state.status))


def _kind(event: Any) -> str:
    return str(run_service_pb2.StreamEvent.EventType.Name(event.event_type))


def _pages(runs: Any, auth: list[tuple[str, str]]) -> Iterator[list[str]]:
    token = ""
    while True:
        page = runs.List(
            run_service_pb2.ListRunsRequest(folder_id=FOLDER, page_size=1, page_token=token),
            metadata=auth,
        )
        yield [r.id for r in page.runs]
        if not page.runs:
            return
        token = page.next_page_token


def yandexcloud(target: str, key: str) -> Json:
    """yandexcloud's own SDK given only the endpoint (and the test CA): it discovers every
    service over TLS, then calls them with the IAM token as a bearer."""
    ca = open(sys.argv[4], "rb").read()  # noqa: SIM115 (a short-lived child)
    sdk = SDK(endpoint=target, iam_token=key, root_certificates=ca)
    assistants = sdk.client(assistant_service_pb2_grpc.AssistantServiceStub)
    threads = sdk.client(thread_service_pb2_grpc.ThreadServiceStub)
    runs = sdk.client(run_service_pb2_grpc.RunServiceStub)
    assistant = assistants.Create(
        assistant_service_pb2.CreateAssistantRequest(
            folder_id=FOLDER, model_uri="gpt://f/yandexgpt", labels={"emulator": "echo chunks=2"}
        )
    )
    part = message_pb2.ContentPart(text=message_pb2.Text(content="over tls"))
    data = message_pb2.MessageData(content=message_pb2.MessageContent(content=[part]))
    thread = threads.Create(
        thread_service_pb2.CreateThreadRequest(folder_id=FOLDER, messages=[data])
    )
    run = runs.Create(
        run_service_pb2.CreateRunRequest(
            assistant_id=assistant.id, thread_id=thread.id, stream=True
        )
    )
    events = runs.Listen(run_service_pb2.ListenRunRequest(run_id=run.id))
    kinds = [_kind(e) for e in events]
    final = runs.Get(run_service_pb2.GetRunRequest(run_id=run.id))
    return {
        "endpoints": dict(sdk._channels.endpoints),
        "kinds": kinds,
        "status": _status(final),
        "text": final.state.completed_message.content.content[0].text.content,
        "policy": assistant.expiration_config.expiration_policy,
    }


GROUPS: dict[str, Callable[[str, str], Json]] = {
    "sdk_sync": sdk_sync,
    "sdk_async": sdk_async,
    "grpcio": grpcio,
    "yandexcloud": yandexcloud,
}

if __name__ == "__main__":
    group, target, key = sys.argv[1:4]
    print(json.dumps(GROUPS[group](target, key), default=str))
