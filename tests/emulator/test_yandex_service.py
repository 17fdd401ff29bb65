"""The Yandex side as the real service behaves, over grpcio with Google protobuf classes: update
masks, assistant versions, thread updates, message authors, request ids on every answer,
endpoint discovery, and the same checks and injected faults as the other methods."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import grpc  # type: ignore[import-untyped]
import pytest

from runbind.emulator import Emulator
from runbind.emulator._yandex_endpoints import (
    SERVICE,
    ApiEndpoint,
    GetApiEndpointRequest,
    ListApiEndpointsRequest,
    ListApiEndpointsResponse,
)

from ._clients import TIMEOUT, GrpcWorld, Json, Yandex, content, kind, text_of

SC = grpc.StatusCode
IDS = ("x-request-id", "x-server-trace-id")


def fails(call: Callable[[], Any], code: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    assert caught.value.code() == code, caught.value.details()
    return caught.value


def update(yandex: Yandex, assistant_id: str, paths: list[str], **fields: Any) -> Any:
    mask = {"paths": paths}
    return yandex.call(
        "AssistantService/Update", assistant_id=assistant_id, update_mask=mask, **fields
    )


def test_assistant_update_changes_only_the_masked_fields(yandex: Yandex) -> None:
    created = yandex.assistant(
        "echo",
        name="before",
        description="kept",
        completion_options={"max_tokens": {"value": 9}},
        prompt_truncation_options={"max_prompt_tokens": {"value": 700}},
    )
    assert created.prompt_truncation_options.WhichOneof("TruncationStrategy") == "auto_strategy"
    assert created.expires_at.seconds - created.created_at.seconds == 7 * 86_400
    got = update(
        yandex,
        created.id,
        [
            "name",
            "completion_options.temperature",
            "prompt_truncation_options.last_messages_strategy",
        ],
        name="after",
        description="ignored: not in the mask",
        prompt_truncation_options={"last_messages_strategy": {"num_messages": 4}},
    )
    assert (got.name, got.description) == ("after", "kept")
    assert got.completion_options.temperature.value == 0.0  # left out: stored as 0
    assert got.completion_options.HasField("temperature")
    assert got.completion_options.max_tokens.value == 9
    options = got.prompt_truncation_options
    assert options.WhichOneof("TruncationStrategy") == "last_messages_strategy"
    assert options.last_messages_strategy.num_messages == 4
    assert options.max_prompt_tokens.value == 700
    assert got.updated_by == "emulator"
    assert (got.updated_at.seconds, got.updated_at.nanos) >= (
        created.updated_at.seconds,
        created.updated_at.nanos,
    )
    assert got.created_at == created.created_at
    again = update(
        yandex,
        created.id,
        ["expiration_config.ttl_days", "prompt_truncation_options.auto_strategy", "labels"],
        expiration_config={"ttl_days": 2},
        prompt_truncation_options={"auto_strategy": {}},
        labels={"emulator": "fail code=invalid_prompt"},
    )
    assert again.expiration_config.ttl_days == 2
    assert (
        type(again.expiration_config).ExpirationPolicy.Name(
            again.expiration_config.expiration_policy
        )
        == "SINCE_LAST_ACTIVE"
    )
    assert again.expires_at.seconds - again.created_at.seconds == 2 * 86_400
    assert again.prompt_truncation_options.WhichOneof("TruncationStrategy") == "auto_strategy"
    assert yandex.call("AssistantService/Get", assistant_id=created.id) == again
    # the behaviour follows the new label
    thread = yandex.thread()
    run = yandex.call("RunService/Create", assistant_id=created.id, thread_id=thread.id)
    assert [kind(e) for e in yandex.events(run.id)] == ["ERROR"]


def test_assistant_versions_newest_first_and_paged(yandex: Yandex) -> None:
    created = yandex.assistant("echo", name="v0")
    update(yandex, created.id, ["name"], name="v1")
    update(yandex, created.id, ["name", "description"], name="v2", description="d")
    listed = yandex.call("AssistantService/ListVersions", assistant_id=created.id)
    assert [(list(v.update_mask.paths), v.assistant.name) for v in listed.versions] == [
        (["name", "description"], "v2"),
        (["name"], "v1"),
        ([], "v0"),
    ]
    assert len({v.id for v in listed.versions}) == 3
    assert listed.next_page_token
    pages: list[list[str]] = []
    token = ""
    while True:
        page = yandex.call(
            "AssistantService/ListVersions",
            assistant_id=created.id,
            page_size=2,
            page_token=token,
        )
        pages.append([v.assistant.name for v in page.versions])
        if not page.versions:
            assert page.next_page_token == ""
            break
        token = page.next_page_token
    assert pages == [["v2", "v1"], ["v0"], []]
    yandex.call("AssistantService/Delete", assistant_id=created.id)
    fails(
        lambda: yandex.call("AssistantService/ListVersions", assistant_id=created.id),
        SC.NOT_FOUND,
    )


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({}, "update_mask"),
        ({"update_mask": {"paths": ["colour"]}}, "colour"),
        ({"update_mask": {"paths": ["id"]}}, "'id'"),
        ({"update_mask": {"paths": ["model_uri"]}}, "model_uri"),
        ({"update_mask": {"paths": ["completion_options.max_tokens"]}}, "max_tokens"),
        (
            {
                "update_mask": {"paths": ["completion_options"]},
                "completion_options": {"max_tokens": {"value": -1}},
            },
            "max_tokens",
        ),
        ({"update_mask": {"paths": ["expiration_config.ttl_days"]}}, "ttl_days"),
        ({"update_mask": {"paths": ["expiration_config.expiration_policy"]}}, "expiration_policy"),
        (
            {"update_mask": {"paths": ["labels"]}, "labels": {"emulator": "dance"}},
            "labels.emulator",
        ),
    ],
)
def test_assistant_update_checks_its_request(yandex: Yandex, fields: Json, named: str) -> None:
    created = yandex.assistant("echo", name="same")
    error = fails(
        partial(yandex.call, "AssistantService/Update", assistant_id=created.id, **fields),
        SC.INVALID_ARGUMENT,
    )
    assert named in error.details()
    assert yandex.call("AssistantService/Get", assistant_id=created.id) == created


def test_unknown_ids_on_the_new_methods_are_not_found(yandex: Yandex) -> None:
    mask = {"paths": ["name"]}
    cases: list[tuple[str, Json]] = [
        ("AssistantService/Update", {"assistant_id": "fvtasst-nope", "update_mask": mask}),
        ("AssistantService/ListVersions", {"assistant_id": "fvtasst-nope"}),
        ("AssistantService/Delete", {"assistant_id": "fvtasst-nope"}),
        ("ThreadService/Update", {"thread_id": "fvtthr-nope", "update_mask": mask}),
        ("ThreadService/Delete", {"thread_id": "fvtthr-nope"}),
    ]
    for rpc, fields in cases:
        assert "nope" in fails(partial(yandex.call, rpc, **fields), SC.NOT_FOUND).details()
    fails(partial(yandex.call, "AssistantService/Update", assistant_id=""), SC.INVALID_ARGUMENT)


def test_thread_defaults_update_and_message_authors(yandex: Yandex) -> None:
    thread = yandex.call(
        "ThreadService/Create",
        folder_id="authors",
        name="t",
        description="d",
        messages=[{"content": content("first")}],
    )
    author = thread.default_message_author_id
    assert author
    assert thread.updated_by == thread.created_by == "emulator"
    assert thread.expires_at.seconds - thread.created_at.seconds == 7 * 86_400
    yandex.call("MessageService/Create", thread_id=thread.id, content=content("second"))
    yandex.call(
        "MessageService/Create",
        thread_id=thread.id,
        content=content("third"),
        author={"id": "someone", "role": "user"},
    )
    messages = yandex.call("MessageService/List", thread_id=thread.id)
    assert [(text_of(m.content), m.author.id, m.author.role) for m in messages] == [
        ("third", "someone", "USER"),
        ("second", author, "USER"),
        ("first", author, "USER"),
    ]
    mask = {"paths": ["name", "labels", "expiration_config"]}
    got = yandex.call(
        "ThreadService/Update",
        thread_id=thread.id,
        update_mask=mask,
        name="renamed",
        description="not in the mask",
        labels={"a": "b"},
        expiration_config={"expiration_policy": "STATIC", "ttl_days": 1},
    )
    assert (got.name, got.description, dict(got.labels)) == ("renamed", "d", {"a": "b"})
    assert got.expiration_config.ttl_days == 1
    assert got.expires_at.seconds - got.created_at.seconds == 86_400
    assert got.default_message_author_id == author
    assert yandex.call("ThreadService/Get", thread_id=thread.id) == got
    error = fails(
        partial(
            yandex.call,
            "ThreadService/Update",
            thread_id=thread.id,
            update_mask={"paths": ["instruction"]},
        ),
        SC.INVALID_ARGUMENT,
    )
    assert "instruction" in error.details()


def test_listings_are_newest_first_with_a_token_on_every_page(yandex: Yandex) -> None:
    names = [f"n{i}" for i in range(3)]
    for name in names:
        yandex.call("ThreadService/Create", folder_id="newest", name=name)
        yandex.assistant("echo", folder="newest", name=name)
    for rpc, items in [("ThreadService/List", "threads"), ("AssistantService/List", "assistants")]:
        listed = yandex.call(rpc, folder_id="newest")
        assert [x.name for x in getattr(listed, items)] == names[::-1]
        assert listed.next_page_token
        rest = yandex.call(rpc, folder_id="newest", page_token=listed.next_page_token)
        assert (list(getattr(rest, items)), rest.next_page_token) == ([], "")


def _metadata(call: Any) -> dict[str, str]:
    return dict((*call.initial_metadata(), *call.trailing_metadata()))


def test_every_answer_carries_request_ids(
    start_emulator: Callable[..., Emulator], grpc_world: GrpcWorld
) -> None:
    emu = start_emulator(api_key="k")
    with grpc.insecure_channel(emu.grpc_target) as channel:
        ok = Yandex(grpc_world, channel, [("authorization", "Api-Key k")])
        thread = ok.thread()
        get = ok.callable("ThreadService/Get")
        request = grpc_world.request("ThreadService/Get", thread_id=thread.id)
        _, call = get.with_call(
            request, metadata=[*ok.metadata, ("x-client-request-id", "c-1")], timeout=TIMEOUT
        )
        initial = dict(call.initial_metadata())
        assert {*IDS, "x-client-request-id"} <= set(initial)
        assert initial["x-client-request-id"] == "c-1"
        assert not set(IDS) & set(dict(call.trailing_metadata()))
        # another call, other ids
        _, second = get.with_call(request, metadata=ok.metadata, timeout=TIMEOUT)
        assert dict(second.initial_metadata())["x-request-id"] != initial["x-request-id"]
        # a stream: with its first message
        run = ok.start("echo chunks=2")
        listen = ok.open_stream("RunService/Listen", run_id=run.id)
        list(listen)
        assert set(IDS) <= set(dict(listen.initial_metadata()))
        # errors, trailers only: not found, refused credentials, an injected fault
        bad = grpc_world.request("ThreadService/Get", thread_id="fvtthr-nope")
        for metadata, code in [
            ([*ok.metadata, ("x-client-request-id", "c-2")], SC.NOT_FOUND),
            (
                [("authorization", "Api-Key wrong"), ("x-client-request-id", "c-2")],
                SC.UNAUTHENTICATED,
            ),
        ]:
            error = fails(partial(get, bad, metadata=metadata, timeout=TIMEOUT), code)
            trailing = dict(error.trailing_metadata())
            assert set(IDS) <= set(trailing)
            assert trailing["x-client-request-id"] == "c-2"
        emu.faults.fail(1, protocol="yandex", method="ThreadService/Get")
        error = fails(partial(get, request, metadata=ok.metadata, timeout=TIMEOUT), SC.UNAVAILABLE)
        assert set(IDS) <= set(dict(error.trailing_metadata()))


def _discovery(channel: Any, name: str, request: Any, reply: Any, **options: Any) -> Any:
    call = channel.unary_unary(
        f"/{SERVICE}/{name}", request_serializer=bytes, response_deserializer=reply.parse
    )
    return call(request, timeout=TIMEOUT, **options)


def test_discovery_answers_every_service_with_the_address_called(
    start_emulator: Callable[..., Emulator],
) -> None:
    emu = start_emulator(api_key="k")
    for target in (emu.grpc_target, f"localhost:{emu.grpc_port}"):
        with grpc.insecure_channel(target) as channel:
            listed = _discovery(
                channel, "List", ListApiEndpointsRequest(), ListApiEndpointsResponse
            )
            found = {e.id: e.address for e in listed.endpoints}
            assert found["ai-assistants"] == target  # no credentials needed
            assert set(found.values()) == {target}
            assert listed.next_page_token == ""
            one = _discovery(
                channel, "Get", GetApiEndpointRequest(api_endpoint_id="anything"), ApiEndpoint
            )
            assert (one.id, one.address) == ("anything", target)
            fails(
                partial(_discovery, channel, "Get", GetApiEndpointRequest(), ApiEndpoint),
                SC.INVALID_ARGUMENT,
            )
    emu.faults.fail(1, protocol="yandex", method="ApiEndpointService/List")
    with grpc.insecure_channel(emu.grpc_target) as channel:
        fails(
            partial(
                _discovery, channel, "List", ListApiEndpointsRequest(), ListApiEndpointsResponse
            ),
            SC.UNAVAILABLE,
        )
        assert _discovery(channel, "List", ListApiEndpointsRequest(), ListApiEndpointsResponse)


def test_faults_reach_the_new_methods(emulator: Emulator, yandex: Yandex) -> None:
    created = yandex.assistant("echo")
    for rpc, fields in [
        (
            "AssistantService/Update",
            {"assistant_id": created.id, "update_mask": {"paths": ["name"]}},
        ),
        ("AssistantService/ListVersions", {"assistant_id": created.id}),
        ("ThreadService/Update", {"thread_id": "x", "update_mask": {"paths": ["name"]}}),
    ]:
        emulator.faults.fail(1, protocol="yandex", method=rpc, status="rate_limited")
        fails(partial(yandex.call, rpc, **fields), SC.RESOURCE_EXHAUSTED)
    assert update(yandex, created.id, ["name"], name="fine").name == "fine"
