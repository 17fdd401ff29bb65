"""Every status value of both providers, and unknown ones, maps to the documented predicates."""

from __future__ import annotations

import typing

import pytest
from runbind_generated.openai import AssistantStreamEvent, RunObjectStatus
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import Run as YRun
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import (
    RunState,
    RunStateRunStatus,
    StreamCursor,
    StreamEvent,
    StreamEventEventType,
)

from runbind import (
    RUN_STATUS_TRAITS,
    STREAM_EVENT_TRAITS,
    Run,
    RunStatus,
    RunStreamEvent,
    StatusTraits,
    StreamEventKind,
)
from runbind.openai._statuses import OPENAI_EVENT_KINDS, OPENAI_RUN_STATUSES
from runbind.yandex._statuses import YANDEX_EVENT_KINDS, YANDEX_RUN_STATUSES

# status: (running, succeeded, failed, finished, requires_action) -- the documented table.
EXPECTED_RUN_TRAITS = {
    RunStatus.UNKNOWN: (False, False, False, False, False),
    RunStatus.UNSPECIFIED: (False, False, False, False, False),
    RunStatus.QUEUED: (True, False, False, False, False),
    RunStatus.IN_PROGRESS: (True, False, False, False, False),
    RunStatus.REQUIRES_ACTION: (False, False, False, False, True),
    RunStatus.CANCELLING: (True, False, False, False, False),
    RunStatus.CANCELLED: (False, False, True, True, False),
    RunStatus.FAILED: (False, False, True, True, False),
    RunStatus.COMPLETED: (False, True, False, True, False),
    RunStatus.INCOMPLETE: (False, False, True, True, False),
    RunStatus.EXPIRED: (False, False, True, True, False),
}

YANDEX_EXPECTED = {
    "RUN_STATUS_UNSPECIFIED": RunStatus.UNSPECIFIED,
    "PENDING": RunStatus.QUEUED,
    "IN_PROGRESS": RunStatus.IN_PROGRESS,
    "FAILED": RunStatus.FAILED,
    "COMPLETED": RunStatus.COMPLETED,
    "TOOL_CALLS": RunStatus.REQUIRES_ACTION,
}

YANDEX_EVENTS_EXPECTED = {
    "EVENT_TYPE_UNSPECIFIED": StreamEventKind.UNSPECIFIED,
    "PARTIAL_MESSAGE": StreamEventKind.PARTIAL_MESSAGE,
    "ERROR": StreamEventKind.ERROR,
    "DONE": StreamEventKind.DONE,
    "TOOL_CALLS": StreamEventKind.TOOL_CALLS,
}


def _traits(obj: RunStatus | Run | RunStreamEvent) -> tuple[bool, ...]:
    return (
        obj.is_running,
        obj.is_succeeded,
        obj.is_failed,
        obj.is_finished,
        obj.requires_action,
    )


def _openai_run(status: str) -> dict[str, object]:
    return {
        "id": "run_1",
        "object": "thread.run",
        "created_at": 1_753_228_800,
        "thread_id": "thread_1",
        "assistant_id": "asst_1",
        "status": status,
        "model": "gpt-4o",
        "tools": [],
        "parallel_tool_calls": True,
    }


def _openai_event_names() -> list[str]:
    """Every event tag of the generated ``AssistantStreamEvent`` union."""
    union = typing.get_args(AssistantStreamEvent.__value__)[0]
    names: list[str] = []
    for member in typing.get_args(union):
        model = typing.get_args(member)[0]
        field = model.model_fields.get("event")
        if field is not None and typing.get_origin(field.annotation) is typing.Literal:
            names.extend(typing.get_args(field.annotation))
    return names


def test_the_table_is_the_documented_one() -> None:
    assert set(RUN_STATUS_TRAITS) == set(RunStatus)
    for status, expected in EXPECTED_RUN_TRAITS.items():
        assert tuple(RUN_STATUS_TRAITS[status]) == expected, status
        assert _traits(status) == expected, status


@pytest.mark.parametrize("traits", [*RUN_STATUS_TRAITS.values(), *STREAM_EVENT_TRAITS.values()])
def test_every_row_is_consistent(traits: StatusTraits | None) -> None:
    if traits is None:
        return  # "the run's own": checked through the run table
    assert traits.finished == (traits.succeeded or traits.failed)
    assert not (traits.succeeded and traits.failed)
    assert sum((traits.running, traits.finished, traits.requires_action)) <= 1


def test_pending_is_an_alias_of_queued() -> None:
    pending: RunStatus = RunStatus.PENDING
    assert pending is RunStatus.QUEUED
    assert RunStatus("queued") is RunStatus.QUEUED
    completed: str = RunStatus.COMPLETED
    assert completed == "completed"


@pytest.mark.parametrize("member", list(RunStateRunStatus), ids=lambda m: m.name)
def test_every_yandex_run_status(member: RunStateRunStatus) -> None:
    expected = YANDEX_EXPECTED[member.name]
    assert YANDEX_RUN_STATUSES[int(member)] is expected
    run = Run.from_yandex(bytes(YRun(id="r", state=RunState(status=member))))
    assert run.status is expected
    assert run.status_raw == int(member)
    assert run.status_name == member.name
    assert _traits(run) == EXPECTED_RUN_TRAITS[expected]


def test_tool_calls_is_not_finished_on_yandex() -> None:
    run = Run.from_yandex(YRun(state=RunState(status=RunStateRunStatus.TOOL_CALLS)))
    assert run.requires_action
    assert not run.is_succeeded
    assert not run.is_finished


@pytest.mark.parametrize("member", list(RunObjectStatus), ids=lambda m: m.value)
def test_every_openai_run_status(member: RunObjectStatus) -> None:
    expected = OPENAI_RUN_STATUSES[member.value]
    assert expected.value == member.value  # one vocabulary: the OpenAI spellings
    run = Run.from_openai(_openai_run(member.value))
    assert run.status is expected
    assert run.status_raw == member.value
    assert run.status_name == member.value
    assert _traits(run) == EXPECTED_RUN_TRAITS[expected]


def test_provider_tables_list_exactly_the_provider_values() -> None:
    assert set(YANDEX_RUN_STATUSES) == {int(m) for m in RunStateRunStatus}
    assert set(OPENAI_RUN_STATUSES) == {m.value for m in RunObjectStatus}
    assert set(YANDEX_EVENT_KINDS) == {int(m) for m in StreamEventEventType}
    assert set(OPENAI_EVENT_KINDS) == set(_openai_event_names())


@pytest.mark.parametrize("number", [6, 7, 99, 2**31 - 1, -1])
def test_unknown_yandex_status_numbers(number: int) -> None:
    raw = bytes(YRun(id="r")) + _state_with_status(number)
    run = Run.from_yandex(raw)
    assert run.status is RunStatus.UNKNOWN
    assert run.status_raw == number
    assert run.status_name == f"UNKNOWN({number})"
    assert _traits(run) == (False, False, False, False, False)


def _state_with_status(number: int) -> bytes:
    """Field 7 (state) holding field 1 (status) = ``number`` as a varint (negative: 10 bytes)."""
    value = number & 0xFFFFFFFFFFFFFFFF
    varint = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            varint.append(byte | 0x80)
        else:
            varint.append(byte)
            break
    inner = b"\x08" + bytes(varint)
    return b"\x3a" + bytes([len(inner)]) + inner


@pytest.mark.parametrize("value", ["paused", "QUEUED", "", "requires-action"])
def test_unknown_openai_status_strings(value: str) -> None:
    run = Run.from_openai(_openai_run(value))
    assert run.status is RunStatus.UNKNOWN
    assert run.status_raw == value
    assert run.status_name == f"UNKNOWN({value!r})"
    assert _traits(run) == (False, False, False, False, False)


@pytest.mark.parametrize("member", list(StreamEventEventType), ids=lambda m: m.name)
def test_every_yandex_event_type(member: StreamEventEventType) -> None:
    event = RunStreamEvent.from_yandex(
        StreamEvent(event_type=member, stream_cursor=StreamCursor(current_event_idx=3))
    )
    kind = YANDEX_EVENTS_EXPECTED[member.name]
    assert event.status is kind
    assert event.status_name == member.name
    assert event.event_index == 3
    expected = STREAM_EVENT_TRAITS[kind]
    assert expected is not None
    assert _traits(event) == tuple(expected)


def test_unknown_yandex_event_type() -> None:
    event = RunStreamEvent.from_yandex(b"\x08\x2a")  # event_type = 42
    assert event.status is StreamEventKind.UNKNOWN
    assert event.status_name == "UNKNOWN(42)"
    assert _traits(event) == (False, False, False, False, False)


def _run_status_of(name: str) -> str:
    """The run status a ``thread.run.<x>`` event carries (``created`` runs are queued)."""
    status = name.removeprefix("thread.run.")
    return status if status in OPENAI_RUN_STATUSES else "queued"


def _openai_event(name: str) -> dict[str, object]:
    if name.startswith("thread.run.step."):
        data: object = {
            "id": "step_1",
            "object": "thread.run.step.delta" if name.endswith(".delta") else "thread.run.step",
            "created_at": 1,
            "assistant_id": "asst_1",
            "thread_id": "thread_1",
            "run_id": "run_1",
            "type": "message_creation",
            "status": "in_progress",
            "step_details": {"type": "message_creation", "message_creation": {"message_id": "m"}},
            "delta": {},
        }
    elif name.startswith("thread.run."):
        data = _openai_run(_run_status_of(name))
    elif name == "thread.message.delta":
        data = {"id": "msg_1", "object": "thread.message.delta", "delta": {"content": []}}
    elif name.startswith("thread.message."):
        data = {
            "id": "msg_1",
            "object": "thread.message",
            "created_at": 1,
            "thread_id": "thread_1",
            "role": "assistant",
            "content": [],
        }
    elif name == "thread.created":
        data = {"id": "thread_1", "object": "thread", "created_at": 1, "tool_resources": None}
    elif name == "error":
        data = {"message": "boom", "type": "server_error", "code": None, "param": None}
    else:
        data = "[DONE]"
    return {"event": name, "data": data}


@pytest.mark.parametrize("name", _openai_event_names())
def test_every_openai_event(name: str) -> None:
    event = RunStreamEvent.from_openai(_openai_event(name), event_index=5)
    kind = OPENAI_EVENT_KINDS[name]
    assert event.status is kind
    assert event.status_name == name
    assert event.event_index == 5
    traits = STREAM_EVENT_TRAITS[kind]
    if traits is None:  # a RUN event: the predicates of the run it carries
        assert event.run is not None
        assert event.run_status is OPENAI_RUN_STATUSES[_run_status_of(name)]
        assert _traits(event) == EXPECTED_RUN_TRAITS[event.run.status]
    else:
        assert _traits(event) == tuple(traits)


def test_unknown_openai_event() -> None:
    event = RunStreamEvent.from_openai({"event": "thread.run.paused", "data": {}}, event_index=0)
    assert event.status is StreamEventKind.UNKNOWN
    assert event.status_name == "UNKNOWN('thread.run.paused')"
    assert _traits(event) == (False, False, False, False, False)
