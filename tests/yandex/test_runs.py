"""AsyncRuns and Runs against the emulator over gRPC: every method, options, streams, errors."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import time
import typing
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import threads

from runbind import (
    ApiError,
    InvalidArgumentError,
    PromptTruncationOptions,
    ResponseFormat,
    Run,
    RunFailedError,
    RunResult,
    RunStatus,
    RunStreamEvent,
    RunTimeoutError,
    SpecVersionError,
    StreamEventKind,
    Tool,
    UnsupportedOperationError,
)
from runbind._core import generated as _generated
from runbind.emulator import Emulator
from runbind.yandex import AsyncRuns, Runs
from tests._flavours import POLL, TIMEOUT, Connect, Flavour, stop
from tests._spec_version import RUNS, V1, requires_generated

from .conftest import content, make

PARTIAL = StreamEventKind.PARTIAL_MESSAGE
DONE = StreamEventKind.DONE
WRONG_KEY = "wrong-key-Zq81xv"

# The Submit RPC and response formats are newer than some cloudapi versions (before 2025-02).
SUBMIT = requires_generated(f"{RUNS}.SubmitToRunRequest")
RESPONSE_FORMAT = requires_generated(f"{V1}.ResponseFormat")


def kinds(events: list[RunStreamEvent]) -> list[StreamEventKind]:
    return [e.status for e in events]


def indices(events: Sequence[RunStreamEvent]) -> list[int]:
    return [e.event_index for e in events]


def texts(events: list[RunStreamEvent]) -> list[str | None]:
    return [e.text for e in events]


def stored_request(emu: Emulator, run: Run) -> Any:
    """The CreateRunRequest the emulator received for ``run``."""
    core = emu.yandex_store.runs.get(run.id)
    assert core is not None, f"the emulator has no run {run.id}"
    return core.options["request"]


# --------------------------------------------------------------------------- create


def test_create_plain(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "echo chunks=2", "hello there")
    run = runs.create(assistant, thread)
    assert isinstance(run, Run)
    assert (run.provider, run.assistant_id, run.thread_id) == ("yandex", assistant, thread)
    assert run.id.startswith("fvtrun")
    assert run.status in (RunStatus.QUEUED, RunStatus.IN_PROGRESS, RunStatus.COMPLETED)
    assert emulator.yandex_store.runs.get(run.id) is not None
    assert run.custom_temperature is None
    assert run.custom_prompt_truncation_options is None
    assert run.custom_response_format is None
    assert run.tools == ()
    result = runs.wait(run)
    assert result.status is RunStatus.COMPLETED
    assert result.text == "hello there"


def test_create_with_labels_and_additional_messages(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "echo chunks=1", "first")
    data = threads.MessageData(content=content("as MessageData"), labels={"m": "1"})
    run = runs.create(
        assistant,
        thread,
        labels={"team": "qa", "n": "7"},
        additional_messages=["as text", data],
    )
    assert run.labels == {"team": "qa", "n": "7"}
    assert runs.get(run).labels == {"team": "qa", "n": "7"}
    stored = emulator.yandex_store.threads.get(thread)
    assert stored is not None
    assert [(m.role, m.text) for m in stored.messages[:3]] == [
        ("user", "first"),
        ("user", "as text"),
        ("user", "as MessageData"),
    ]
    assert stored.messages[2].labels == {"m": "1"}
    # echo answers the last user message: the additional messages came before the run started
    assert runs.wait(run).text == "as MessageData"


def test_create_completion_options_reach_the_server(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator)
    run = runs.create(assistant, thread, custom_temperature=0.25, custom_max_tokens=77)
    assert (run.custom_temperature, run.custom_max_tokens) == (0.25, 77)
    again = runs.get(run.id)
    assert (again.custom_temperature, again.custom_max_tokens) == (0.25, 77)
    options = stored_request(emulator, run).custom_completion_options
    assert (options.temperature, options.max_tokens) == (0.25, 77)


def test_create_only_max_tokens_leaves_temperature_unset(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator)
    run = runs.create(assistant, thread, custom_max_tokens=5)
    assert (run.custom_temperature, run.custom_max_tokens) == (None, 5)
    assert stored_request(emulator, run).custom_completion_options.temperature is None


@pytest.mark.parametrize(
    ("options", "strategy", "num_messages"),
    [
        (PromptTruncationOptions(500, "auto", None), "auto", None),
        (PromptTruncationOptions(None, "last_messages", 3), "last_messages", 3),
    ],
    ids=["auto", "last_messages"],
)
def test_create_prompt_truncation_options(
    runs: Flavour,
    emulator: Emulator,
    options: PromptTruncationOptions,
    strategy: str,
    num_messages: int | None,
) -> None:
    assistant, thread = make(emulator)
    run = runs.create(assistant, thread, custom_prompt_truncation_options=options)
    for seen in (run, runs.get(run)):
        got = seen.custom_prompt_truncation_options
        assert got is not None
        assert (got.max_prompt_tokens, got.strategy, got.num_messages) == (
            options.max_prompt_tokens,
            strategy,
            num_messages,
        )
        assert seen.custom_max_prompt_tokens == options.max_prompt_tokens
    sent = stored_request(emulator, run).custom_prompt_truncation_options
    if strategy == "auto":
        assert sent.auto_strategy is not None
        assert sent.last_messages_strategy is None
    else:
        assert sent.last_messages_strategy.num_messages == 3
        assert sent.auto_strategy is None


def test_create_custom_tools_reach_the_server(runs: Flavour, emulator: Emulator) -> None:
    parameters = {
        "type": "object",
        "properties": {"q": {"type": "string"}, "limit": {"type": "number"}},
        "required": ["q"],
    }
    tool = Tool("function", "lookup", "Look something up", parameters)
    assistant, thread = make(emulator, "tools calls=2")
    run = runs.create(assistant, thread, custom_tools=[tool])
    assert len(run.tools) == 1
    got = run.tools[0]
    assert (got.type, got.name, got.description, got.parameters) == (
        "function",
        "lookup",
        "Look something up",
        parameters,
    )
    assert runs.get(run).tools == run.tools
    sent = stored_request(emulator, run).tools
    assert [t.function.name for t in sent] == ["lookup"]
    assert sent[0].function.parameters.to_dict() == parameters
    # the scripted model calls the run's own tools, so the name came through
    result = runs.wait(run)
    assert result.requires_action
    assert [c.name for c in result.tool_calls] == ["lookup", "lookup"]


@RESPONSE_FORMAT
@pytest.mark.parametrize(
    "fmt",
    [
        ResponseFormat("json_object"),
        ResponseFormat(
            "json_schema",
            json_schema={"type": "object", "properties": {"answer": {"type": "string"}}},
        ),
    ],
    ids=["json_object", "json_schema"],
)
def test_create_response_format(runs: Flavour, emulator: Emulator, fmt: ResponseFormat) -> None:
    assistant, thread = make(emulator)
    run = runs.create(assistant, thread, custom_response_format=fmt)
    for seen in (run, runs.get(run)):
        got = seen.custom_response_format
        assert got is not None
        assert (got.type, got.json_schema) == (fmt.type, fmt.json_schema)
    sent = stored_request(emulator, run).custom_response_format
    if fmt.type == "json_object":
        assert sent.json_object is True
        assert sent.json_schema is None
    else:
        assert sent.json_schema.schema.to_dict() == fmt.json_schema


def test_create_stream_yields_the_exact_event_sequence(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "echo chunks=4", "abcdefgh")
    stream = runs.create_stream(assistant, thread)
    assert stream.run is not None
    created = stream.run.id
    assert stream.last_event is None
    events = list(stream)
    assert indices(events) == [0, 1, 2, 3, 4]
    assert kinds(events) == [PARTIAL] * 4 + [DONE]
    assert texts(events) == ["ab", "abcd", "abcdef", "abcdefgh", "abcdefgh"]
    assert [e.message.partial for e in events if e.message is not None] == [True] * 4 + [False]
    assert events[-1].is_finished
    assert events[-1].is_succeeded
    assert stream.last_event == events[-1]
    assert stream.run is not None
    assert stream.run.id == created
    assert stream.run.thread_id == thread
    assert next(stream, None) is None  # over after DONE
    assert stored_request(emulator, stream.run).stream is True


# --------------------------------------------------------------------------- get / listen


def test_get_by_run_and_by_id(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "echo chunks=1", "answer me")
    run = runs.create(assistant, thread)
    runs.wait(run)
    for ref in (run, run.id):
        got = runs.get(ref)
        assert got.id == run.id
        assert got.status is RunStatus.COMPLETED
        assert got.completed_message is not None
        assert got.completed_message.text == "answer me"
        assert got.usage is not None
        assert got.usage.completion_tokens == 2


def test_get_last_by_thread(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "echo chunks=1")
    first = runs.create(assistant, thread)
    assert runs.get_last_by_thread(thread).id == first.id
    runs.wait(first)
    second = runs.create(assistant, thread)
    assert second.id != first.id
    assert runs.get_last_by_thread(thread).id == second.id


def test_listen_from_start_middle_and_past_the_end(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "echo chunks=4", "abcdefgh")
    stream = runs.create_stream(assistant, thread)
    streamed = list(stream)
    assert stream.run is not None
    run = runs.get(stream.run)
    assert run.is_finished

    replay = list(runs.listen(run))
    assert [(e.event_index, e.status, e.text) for e in replay] == [
        (e.event_index, e.status, e.text) for e in streamed
    ]
    middle = runs.listen(run.id, events_start_idx=2)
    tail = list(middle)
    assert indices(tail) == [2, 3, 4]
    assert texts(tail) == ["abcdef", "abcdefgh", "abcdefgh"]
    assert middle.run is None  # a run id alone: no run known yet
    assert list(runs.listen(run, events_start_idx=5)) == []
    assert list(runs.listen(run, events_start_idx=500)) == []


def test_listen_follows_a_live_run_to_its_end(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "echo chunks=3 delay=0.05", "live")
    run = runs.create(assistant, thread)  # not streaming: only DONE is logged
    stream = runs.listen(run)
    assert stream.run == run
    events = list(stream)
    assert kinds(events) == [DONE]
    assert events[0].text == "live"
    assert runs.get_status(run) is RunStatus.COMPLETED


# --------------------------------------------------------------------------- tools


@SUBMIT
def test_tool_loop_over_streams(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "tools calls=2")
    stream = runs.create_stream(assistant, thread)
    first = list(stream)
    assert kinds(first) == [StreamEventKind.TOOL_CALLS]
    assert indices(first) == [0]
    event = first[0]
    assert event.requires_action
    assert not event.is_finished
    assert [c.name for c in event.tool_calls] == ["get_weather", "get_weather"]
    assert [c.arguments for c in event.tool_calls] == [
        {"city": "city-0", "index": 0},
        {"city": "city-1", "index": 1},
    ]
    assert [c.id for c in event.tool_calls] == [None, None]
    assert stream.run is not None
    assert runs.get_status(stream.run) is RunStatus.REQUIRES_ACTION

    results = [c.result(f"sunny-{i}") for i, c in enumerate(event.tool_calls)]
    rest_stream = runs.submit_stream(stream.run, results)
    rest = list(rest_stream)
    assert indices(rest) == list(range(1, len(rest) + 1)), "must continue after the TOOL_CALLS"
    assert kinds(rest) == [PARTIAL] * (len(rest) - 1) + [DONE]
    assert rest[-1].text == "get_weather: sunny-0; get_weather: sunny-1"
    assert rest_stream.last_event == rest[-1]
    core = emulator.yandex_store.runs.get(stream.run.id)
    assert core is not None
    assert core.results_received == 1
    assert runs.get_result(stream.run).text == "get_weather: sunny-0; get_weather: sunny-1"


@SUBMIT
def test_a_replay_of_a_finished_tool_run_gives_every_event(
    runs: Flavour, emulator: Emulator
) -> None:
    """Listening from 0 to a run that went past its tool calls does not stop at them: grpcio and
    the Yandex SDK see [TOOL_CALLS, DONE], and so does runbind; while the run still waits on them,
    the stream ends there."""
    assistant, thread = make(emulator, "tools calls=1")
    run = runs.create(assistant, thread)
    waiting = list(runs.listen(run))
    assert kinds(waiting) == [StreamEventKind.TOOL_CALLS]
    assert kinds(list(runs.listen(run, events_start_idx=0))) == [StreamEventKind.TOOL_CALLS]
    (call,) = waiting[0].tool_calls
    runs.submit(run, [call.result("fine")])
    assert runs.wait(run).is_succeeded
    replay = list(runs.listen(run, events_start_idx=0))
    assert kinds(replay) == [StreamEventKind.TOOL_CALLS, DONE]
    assert indices(replay) == [0, 1]
    assert replay[-1].text == "get_weather: fine"
    assert kinds(list(runs.listen(run, events_start_idx=1))) == [DONE]


@SUBMIT
def test_submit_without_stream_returns_the_run(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "tools calls=1")
    run = runs.create(assistant, thread)
    waiting = runs.wait(run)
    assert waiting.status is RunStatus.REQUIRES_ACTION
    assert waiting.text is None
    (call,) = waiting.tool_calls
    submitted = runs.submit(run, [call.result({"temp": 21})])
    assert isinstance(submitted, Run)
    assert submitted.id == run.id
    assert submitted.thread_id == thread
    done = runs.wait(run)
    assert done.is_succeeded
    assert done.text == 'get_weather: {"temp": 21}'


def test_submit_at_a_spec_without_the_rpc_is_a_spec_version_error(
    runs: Flavour, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As at a cloudapi commit before 2025-02 (fault injected here: the generated request class
    removed): the call names what it lacks, and nothing is sent."""
    assistant, thread = make(emulator, "tools calls=1")
    run = runs.create(assistant, thread)
    (call,) = runs.wait(run).tool_calls
    generated_runs = importlib.import_module(RUNS)
    if hasattr(generated_runs, "SubmitToRunRequest"):
        monkeypatch.delattr(generated_runs, "SubmitToRunRequest")
    monkeypatch.setattr(_generated, "_names", {})
    with pytest.raises(SpecVersionError) as caught:
        runs.submit(run, [call.result("42")])
    assert caught.value.name == f"{RUNS}.SubmitToRunRequest"
    assert caught.value.spec.startswith("cloudapi@")
    core = emulator.yandex_store.runs.get(run.id)
    assert core is not None
    assert core.results_received == 0


def test_listen_ends_at_tool_calls(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "tools calls=1")
    run = runs.create(assistant, thread)
    events = list(runs.listen(run))
    assert kinds(events) == [StreamEventKind.TOOL_CALLS]
    assert runs.get_status(run) is RunStatus.REQUIRES_ACTION


def test_submit_stream_from_a_client_that_never_streamed_the_run_needs_the_index(
    runs: Flavour, emulator: Emulator
) -> None:
    """Yandex events carry no run id, so the start must be given; nothing is sent without it."""
    assistant, thread = make(emulator, "tools calls=1")
    run = runs.create(assistant, thread)
    (call,) = runs.wait(run).tool_calls
    with pytest.raises(InvalidArgumentError, match="events_start_idx"):
        runs.submit_stream(run, [call.result("42")])
    core = emulator.yandex_store.runs.get(run.id)
    assert core is not None
    assert core.results_received == 0
    assert runs.get_status(run) is RunStatus.REQUIRES_ACTION


@SUBMIT
def test_submit_with_explicit_events_start_idx(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "tools calls=1")
    run = runs.create(assistant, thread)
    (call,) = runs.wait(run).tool_calls
    events = list(runs.submit_stream(run, [call.result("42")], events_start_idx=1))
    assert indices(events)[0] == 1
    assert events[-1].status is DONE
    assert events[-1].text == "get_weather: 42"


def test_submit_with_a_bad_events_start_idx_submits_nothing(
    runs: Flavour, emulator: Emulator
) -> None:
    assistant, thread = make(emulator, "tools calls=1")
    run = runs.create(assistant, thread)
    (call,) = runs.wait(run).tool_calls
    with pytest.raises(InvalidArgumentError):
        runs.submit_stream(run, [call.result("42")], events_start_idx=-1)
    core = emulator.yandex_store.runs.get(run.id)
    assert core is not None
    assert core.results_received == 0
    assert runs.get_status(run) is RunStatus.REQUIRES_ACTION


@SUBMIT
def test_submit_to_a_run_not_waiting_is_failed_precondition(
    runs: Flavour, emulator: Emulator
) -> None:
    assistant, thread = make(emulator)
    run = runs.create(assistant, thread)
    runs.wait(run)
    with pytest.raises(ApiError) as caught:
        runs.submit(run, [{"name": "get_weather", "content": "x"}])
    assert caught.value.provider == "yandex"
    assert caught.value.code == "FAILED_PRECONDITION"
    assert "not waiting" in caught.value.message


def test_cancel_is_unsupported_and_makes_no_call(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "echo chunks=2 delay=0.02")
    run = runs.create(assistant, thread)
    with pytest.raises(UnsupportedOperationError, match="cannot be cancelled"):
        runs.cancel(run)
    core = emulator.yandex_store.runs.get(run.id)
    assert core is not None
    assert not core.cancel_requested.is_set()
    assert runs.wait(run).status is RunStatus.COMPLETED


# --------------------------------------------------------------------------- status / wait


def test_get_status_and_get_result(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "slow seconds=0.3", "patience")
    run = runs.create(assistant, thread)
    assert runs.get_status(run).is_running
    early = runs.get_result(run.id)
    assert isinstance(early, RunResult)
    assert early.is_running
    assert early.text is None
    runs.wait(run)
    assert runs.get_status(run) is RunStatus.COMPLETED
    result = runs.get_result(run)
    assert result.is_succeeded
    assert result.text == "patience"
    assert result.run.id == run.id


def test_wait_returns_at_completion(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "echo chunks=2 delay=0.05", "slowly done")
    run = runs.create(assistant, thread)
    result = runs.wait(run.id)
    assert isinstance(result, RunResult)
    assert result.status is RunStatus.COMPLETED
    assert result.text == "slowly done"


def test_wait_returns_when_tool_results_are_needed(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "tools calls=3")
    run = runs.create(assistant, thread)
    result = runs.wait(run)
    assert result.requires_action
    assert not result.is_finished
    assert len(result.tool_calls) == 3


def test_wait_times_out_with_the_last_run(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "slow seconds=5")
    run = runs.create(assistant, thread)
    started = time.monotonic()
    with pytest.raises(RunTimeoutError) as caught:
        runs.wait(run, timeout=0.5, poll_interval=0.05)
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 1.5, elapsed
    last = caught.value.last_run
    assert last is not None
    assert last.id == run.id
    assert last.status is RunStatus.IN_PROGRESS


def test_wait_polls_until_its_deadline(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "slow seconds=0.2", "in time")
    run = runs.create(assistant, thread)
    result = runs.wait(run, timeout=3.0, poll_interval=5.0)
    assert result.text == "in time"


def test_wait_rejects_a_non_positive_poll_interval(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator)
    run = runs.create(assistant, thread)
    with pytest.raises(InvalidArgumentError, match="poll_interval"):
        runs.wait(run, poll_interval=0)


def test_failed_run(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "fail chunks=2 code=invalid_prompt message=bad_input", "xy")
    stream = runs.create_stream(assistant, thread)
    events = list(stream)
    assert kinds(events) == [PARTIAL, PARTIAL, StreamEventKind.ERROR]
    assert indices(events) == [0, 1, 2]
    error_event = events[-1]
    assert error_event.is_failed
    assert error_event.is_finished
    assert error_event.error is not None
    assert (error_event.error.code, error_event.error.message) == (3, "bad input")
    assert stream.run is not None
    result = runs.wait(stream.run)
    assert result.is_failed
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error.message == "bad input"
    with pytest.raises(RunFailedError):
        _ = result.text


# --------------------------------------------------------------------------- errors


def test_unknown_ids_are_not_found(runs: Flavour, emulator: Emulator) -> None:
    calls: list[Callable[[], object]] = [
        lambda: runs.get("fvtrun-missing"),
        lambda: runs.get_status("fvtrun-missing"),
        lambda: runs.wait("fvtrun-missing"),
        lambda: list(runs.listen("fvtrun-missing")),
        lambda: runs.get_last_by_thread("fvtthr-missing"),
        lambda: runs.create(*make(emulator)[:1], "fvtthr-missing"),
    ]
    for call in calls:
        with pytest.raises(ApiError) as caught:
            call()
        assert (caught.value.provider, caught.value.code) == ("yandex", "NOT_FOUND")


def test_get_last_by_thread_without_runs_is_not_found(runs: Flavour, emulator: Emulator) -> None:
    _, thread = make(emulator)
    with pytest.raises(ApiError) as caught:
        runs.get_last_by_thread(thread)
    assert caught.value.code == "NOT_FOUND"


BAD_CALLS: dict[str, Callable[[Flavour, str, str], object]] = {
    "empty assistant_id": lambda r, a, t: r.create("", t),
    "empty thread_id": lambda r, a, t: r.create(a, ""),
    "empty run id": lambda r, a, t: r.get(""),
    "run id not a str": lambda r, a, t: r.get(42),  # type: ignore[arg-type]
    "empty thread for get_last": lambda r, a, t: r.get_last_by_thread(""),
    "empty run for listen": lambda r, a, t: r.listen(""),
    "page_size 0": lambda r, a, t: r.list(page_size=0),
    "page_size bool": lambda r, a, t: r.list(page_size=True),
    "page_size str": lambda r, a, t: r.list(page_size="7"),
    "negative events_start_idx": lambda r, a, t: r.listen("fvtrun-x", events_start_idx=-1),
    "float events_start_idx": lambda r, a, t: r.listen("fvtrun-x", events_start_idx=1.0),
    "custom_tools of str": lambda r, a, t: r.create(a, t, custom_tools=["lookup"]),
    "custom_tools of dict": lambda r, a, t: r.create(a, t, custom_tools=[{"name": "f"}]),
    "custom_tools unnamed": lambda r, a, t: r.create(a, t, custom_tools=[Tool("function")]),
    "custom_tools builtin": lambda r, a, t: r.create(a, t, custom_tools=[Tool("search_index")]),
    "tool parameters not JSON": lambda r, a, t: r.create(
        a, t, custom_tools=[Tool("function", "f", parameters={"x": {1, 2}})]
    ),
    "additional_messages a str": lambda r, a, t: r.create(a, t, additional_messages="hi"),
    "additional message an int": lambda r, a, t: r.create(a, t, additional_messages=[1]),
    "last_messages without num": lambda r, a, t: r.create(
        a, t, custom_prompt_truncation_options=PromptTruncationOptions(None, "last_messages", None)
    ),
    "truncation a dict": lambda r, a, t: r.create(
        a, t, custom_prompt_truncation_options={"max_prompt_tokens": 5}
    ),
    "response format text": lambda r, a, t: r.create(
        a, t, custom_response_format=ResponseFormat("text")
    ),
    "json_schema without schema": lambda r, a, t: r.create(
        a, t, custom_response_format=ResponseFormat("json_schema")
    ),
    "empty idempotency_key": lambda r, a, t: r.create(a, t, idempotency_key=""),
    "empty submit run": lambda r, a, t: r.submit("", [{"name": "f", "content": "x"}]),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_arguments_raise_before_any_call(runs: Flavour, emulator: Emulator, case: str) -> None:
    assistant, thread = make(emulator)
    before = len(emulator.yandex_store.runs)
    with pytest.raises(InvalidArgumentError):
        BAD_CALLS[case](runs, assistant, thread)
    assert len(emulator.yandex_store.runs) == before, "a run was created anyway"


@pytest.mark.parametrize(
    "options",
    [
        {"api_key": "a", "iam_token": "b"},
        {"api_key": ""},
        {"api_key": "two\nlines"},
        {"iam_token": "  "},
        {"endpoint": "no-port"},
        {"endpoint": "host:0"},
        {"endpoint": "host:http"},
    ],
)
def test_bad_constructor_arguments(
    connect: Connect, emulator: Emulator, options: dict[str, Any]
) -> None:
    with pytest.raises(InvalidArgumentError):
        connect(emulator, **options)


# --------------------------------------------------------------------------- auth


@pytest.fixture(scope="module")
def keyed() -> Iterator[Emulator]:
    """An emulator that requires the API key ``k``."""
    emu = Emulator(api_key="k").start_in_thread()
    try:
        yield emu
    finally:
        stop(emu)


def _works(runs: Flavour, emu: Emulator) -> None:
    assistant, thread = make(emu, "echo chunks=1", "authorised", api_key="k")
    run = runs.create(assistant, thread)
    assert runs.wait(run).text == "authorised"
    assert [e.status for e in runs.listen(run)] == [DONE]


@pytest.mark.parametrize("how", ["api_key", "env YC_API_KEY", "iam_token", "env YC_IAM_TOKEN"])
def test_auth_with_the_right_credential(
    connect: Connect, keyed: Emulator, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how.startswith("env "):
        monkeypatch.setenv(how[4:], "k")
        runs = connect(keyed)
    else:
        runs = connect(keyed, **{how: "k"})
    expected = "iam-token" if "IAM" in how.upper() else "api-key"
    assert f"auth={expected}" in repr(runs.client)
    _works(runs, keyed)


@pytest.mark.parametrize("how", ["api_key", "iam_token", "env YC_API_KEY"])
def test_auth_with_a_wrong_credential(
    connect: Connect, keyed: Emulator, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how.startswith("env "):
        monkeypatch.setenv(how[4:], WRONG_KEY)
        runs = connect(keyed)
    else:
        runs = connect(keyed, **{how: WRONG_KEY})
    assistant, thread = make(keyed, api_key="k")
    attempts: list[Callable[[], object]] = [
        lambda: runs.create(assistant, thread),
        lambda: runs.get("fvtrun-x"),
        lambda: list(runs.listen("fvtrun-x")),
        lambda: next(iter(runs.list(folder_id="f"))),
    ]
    for attempt in attempts:
        with pytest.raises(ApiError) as caught:
            attempt()
        assert caught.value.code == "UNAUTHENTICATED"
        for shown in (str(caught.value), repr(caught.value), repr(runs.client)):
            assert WRONG_KEY not in shown
    assert len(keyed.yandex_store.runs_of(thread)) == 0


def test_auth_without_credentials(connect: Connect, keyed: Emulator) -> None:
    runs = connect(keyed)
    assert "auth=none" in repr(runs.client)
    with pytest.raises(ApiError) as caught:
        runs.get("fvtrun-x")
    assert caught.value.code == "UNAUTHENTICATED"


def test_repr_never_shows_the_credential(connect: Connect, emulator: Emulator) -> None:
    for options in ({"api_key": WRONG_KEY}, {"iam_token": WRONG_KEY}):
        runs = connect(emulator, **options)
        shown = repr(runs.client)
        assert WRONG_KEY not in shown
        assert emulator.grpc_target in shown


# --------------------------------------------------------------------------- native use


@SUBMIT
def test_native_async_usage(emulator: Emulator) -> None:
    assistant, thread = make(emulator, "tools calls=1")

    async def main() -> Sequence[RunStreamEvent]:
        async with AsyncRuns(endpoint=emulator.grpc_target) as client:
            stream = await client.create(assistant, thread, stream=True, timeout=TIMEOUT)
            events = [event async for event in stream]
            assert stream.run is not None
            (call,) = events[-1].tool_calls
            rest = await client.submit_tool_results(
                stream.run, [call.result("7")], stream=True, timeout=TIMEOUT
            )
            async with rest:
                events += [event async for event in rest]
            return events

    events = asyncio.run(main())
    assert indices(events) == list(range(len(events)))
    assert events[0].status is StreamEventKind.TOOL_CALLS
    assert events[-1].status is DONE
    assert events[-1].text == "get_weather: 7"


@SUBMIT
def test_native_sync_usage(emulator: Emulator) -> None:
    assistant, thread = make(emulator, "tools calls=1")
    with Runs(endpoint=emulator.grpc_target) as client:
        with client.create(assistant, thread, stream=True, timeout=TIMEOUT) as stream:
            events = list(stream)
        assert stream.run is not None
        (call,) = events[-1].tool_calls
        with client.submit_tool_results(
            stream.run, [call.result("7")], stream=True, timeout=TIMEOUT
        ) as rest:
            events += list(rest)
        assert client.wait(stream.run, poll_interval=POLL).text == "get_weather: 7"
    assert indices(events) == list(range(len(events)))
    assert events[-1].status is DONE


def test_leaving_a_stream_early_then_listening_again(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "echo chunks=5 delay=0.02", "abcdefghij")
    stream = runs.create_stream(assistant, thread)
    first = next(stream)
    assert first.event_index == 0
    assert stream.run is not None
    rest = list(runs.listen(stream.run, events_start_idx=1))
    assert indices(rest) == [1, 2, 3, 4, 5]
    assert rest[-1].text == "abcdefghij"


# --------------------------------------------------------------------------- signatures

_RENAMES = {"AsyncRunStream": "RunStream", "AsyncRunList": "RunList"}


def _sync_form(annotation: object) -> object:
    if isinstance(annotation, str):
        for old, new in _RENAMES.items():
            annotation = annotation.replace(old, new)
    return annotation


def _shape(function: Callable[..., Any]) -> list[tuple[str, Any, Any, Any]]:
    signature = inspect.signature(function)
    return [(p.name, p.kind, p.default, p.annotation) for p in signature.parameters.values()] + [
        ("return", None, None, _sync_form(signature.return_annotation))
    ]


def _public(cls: type) -> set[str]:
    """Public methods (and ``__init__``), the inherited ones included."""
    return {
        name
        for klass in cls.__mro__[:-1]
        for name, value in vars(klass).items()
        if callable(value) and (not name.startswith("_") or name == "__init__")
    }


def test_public_methods_match() -> None:
    assert _public(Runs) == _public(AsyncRuns)
    for method in (Runs.__enter__, Runs.__exit__, AsyncRuns.__aenter__, AsyncRuns.__aexit__):
        assert callable(method)


@pytest.mark.parametrize("name", sorted(_public(AsyncRuns)))
def test_signatures_match(name: str) -> None:
    async_method = getattr(AsyncRuns, name)
    sync_method = getattr(Runs, name)
    assert _shape(sync_method) == _shape(async_method)
    assert not inspect.iscoroutinefunction(sync_method)
    coroutine = name not in ("__init__", "list", "listen")
    assert inspect.iscoroutinefunction(async_method) is coroutine


def _overloads(cls: type, name: str) -> list[list[tuple[str, Any, Any, Any]]]:
    return [_shape(f) for f in typing.get_overloads(getattr(cls, name))]


@pytest.mark.parametrize("name", ["create", "submit_tool_results"])
def test_overloads_exist(name: str) -> None:
    for cls in (AsyncRuns, Runs):
        overloads = typing.get_overloads(getattr(cls, name))
        returns = [inspect.signature(f).return_annotation for f in overloads]
        stream = "RunStream" if cls is Runs else "AsyncRunStream"
        assert returns[:2] == ["Run[runs.Run]", f"{stream}[runs.StreamEvent, runs.Run]"]
        streams = [inspect.signature(f).parameters["stream"].annotation for f in overloads]
        assert streams[:2] == ["Literal[False]", "Literal[True]"]


@pytest.mark.parametrize("name", ["create", "submit_tool_results"])
def test_overloads_match(name: str) -> None:
    assert _overloads(Runs, name) == _overloads(AsyncRuns, name)


def test_one_async_client_serves_successive_event_loops(emulator: Emulator) -> None:
    """A channel belongs to its loop: a second ``asyncio.run`` gets a fresh one, not an error."""
    client = AsyncRuns(endpoint=emulator.grpc_target)
    for question in ("first", "second"):
        assistant, thread = emulator.seed("yandex", question)
        run = asyncio.run(client.create(assistant, thread))
        result = asyncio.run(client.wait(run, timeout=5, poll_interval=0.01))
        assert result.text == question
    asyncio.run(client.close())
