"""Both OpenAI Runs clients against the emulator over real sockets: every call and its errors."""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import time
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runbind_generated.openai import RunObject

import runbind
from runbind import (
    ApiError,
    AsyncRunList,
    AsyncRunStream,
    FunctionResultDict,
    InvalidArgumentError,
    PromptTruncationOptions,
    ResponseFormat,
    RunFailedError,
    RunList,
    RunStatus,
    RunStream,
    RunStreamEvent,
    RunTimeoutError,
    StreamEventKind,
    Tool,
)
from runbind.emulator import Emulator
from runbind.openai import AsyncRuns, Runs
from tests._flavours import Connect, Flavour, stop

from .conftest import make, new_thread, thread_texts

TEXT = "hello there world"


def names(events: list[RunStreamEvent]) -> list[str]:
    """The raw event names, in order."""
    return [str(e.status_raw) for e in events]


def assert_numbered(events: list[RunStreamEvent], start: int = 0) -> None:
    """``event_index`` runs ``start, start+1, ...`` with no gap or repeat."""
    assert [e.event_index for e in events] == list(range(start, start + len(events)))


# --------------------------------------------------------------------------- create


def test_create_returns_the_run_and_it_completes_with_the_echo(
    runs: Flavour, emulator: Emulator
) -> None:
    assistant, thread = make(emulator)
    run = runs.create(assistant, thread)
    assert run.provider == "openai"
    assert run.id.startswith("run_")
    assert (run.thread_id, run.assistant_id) == (thread, assistant)
    assert run.status in (RunStatus.QUEUED, RunStatus.IN_PROGRESS)
    result = runs.wait(run)
    assert result.status is RunStatus.COMPLETED
    assert result.text == TEXT
    assert result.usage is not None


def test_create_sends_labels_as_metadata_and_additional_messages(
    runs: Flavour, emulator: Emulator
) -> None:
    assistant, thread = make(emulator)
    extra = [
        "from a str",
        {"role": "user", "content": "from a dict", "metadata": {"m": "1"}},
    ]
    run = runs.create(assistant, thread, labels={"team": "qa"}, additional_messages=extra)
    assert run.metadata == {"team": "qa"}
    assert runs.get(run).labels == {"team": "qa"}
    assert runs.wait(run).text == "from a dict"  # echo answers the last user message
    assert thread_texts(emulator, thread) == [
        ("user", TEXT),
        ("user", "from a str"),
        ("user", "from a dict"),
        ("assistant", "from a dict"),
    ]


@pytest.mark.parametrize(
    ("truncation", "strategy", "last"),
    [
        (PromptTruncationOptions(500, "auto", None), "auto", None),
        (PromptTruncationOptions(500, "last_messages", 3), "last_messages", 3),
    ],
    ids=["auto", "last_messages"],
)
def test_create_custom_settings_reach_the_server(
    runs: Flavour,
    emulator: Emulator,
    truncation: PromptTruncationOptions,
    strategy: str,
    last: int | None,
) -> None:
    assistant, thread = make(emulator)
    run = runs.create(
        assistant,
        thread,
        custom_temperature=0.25,
        custom_max_tokens=300,
        custom_prompt_truncation_options=truncation,
    )
    for seen in (run, runs.get(run)):
        assert seen.custom_temperature == 0.25
        assert seen.custom_max_tokens == 300
        assert isinstance(seen.raw, RunObject)
        assert seen.raw.max_completion_tokens == 300
        options = seen.custom_prompt_truncation_options
        assert options is not None
        assert (options.max_prompt_tokens, options.strategy, options.num_messages) == (
            500,
            strategy,
            last,
        )
        assert seen.raw.truncation_strategy is not None
        assert seen.raw.truncation_strategy.type.value == strategy
    runs.wait(run)


def test_create_custom_tools_reach_the_server_and_name_the_calls(
    runs: Flavour, emulator: Emulator
) -> None:
    assistant, thread = make(emulator, "tools calls=2")
    weather = Tool(
        "function",
        "weather",
        "The weather in a city",
        {"type": "object", "properties": {"city": {"type": "string"}}},
    )
    lookup = {"type": "function", "function": {"name": "lookup"}}
    run = runs.create(assistant, thread, custom_tools=[weather, lookup])
    assert [(t.type, t.name) for t in run.tools] == [
        ("function", "weather"),
        ("function", "lookup"),
    ]
    assert run.tools[0].description == "The weather in a city"
    assert run.tools[0].parameters == weather.parameters
    paused = runs.wait(run)
    assert paused.requires_action
    assert [c.name for c in paused.tool_calls] == ["weather", "lookup"]
    runs.cancel(run)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (ResponseFormat("json_object"), ResponseFormat("json_object")),
        (
            ResponseFormat("json_schema", {"type": "object"}, name="answer", strict=True),
            ResponseFormat("json_schema", {"type": "object"}, name="answer", strict=True),
        ),
        ("auto", ResponseFormat("auto")),
        (ResponseFormat("auto"), ResponseFormat("auto")),
    ],
    ids=["json_object", "json_schema", "auto-str", "auto"],
)
def test_create_custom_response_format_reaches_the_server(
    runs: Flavour, emulator: Emulator, given: ResponseFormat | str, expected: ResponseFormat
) -> None:
    assistant, thread = make(emulator)
    run = runs.create(assistant, thread, custom_response_format=given)
    for seen in (run, runs.get(run)):
        assert seen.custom_response_format == expected  # raw is not compared
    runs.wait(run)


# --------------------------------------------------------------------------- stream


def test_create_stream_yields_the_exact_event_sequence(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "echo chunks=5")
    stream = runs.create_stream(assistant, thread)
    events = list(stream)
    assert names(events) == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        *["thread.message.delta"] * 5,
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
        "done",
    ]
    assert_numbered(events)
    deltas = [e for e in events if e.status is StreamEventKind.PARTIAL_MESSAGE]
    assert "".join(e.text or "" for e in deltas) == TEXT
    assert all(e.message is not None and e.message.partial for e in deltas)
    completed = events[names(events).index("thread.message.completed")]
    assert completed.text == TEXT
    assert events[-2].status is StreamEventKind.DONE
    assert events[-1].status is StreamEventKind.END
    assert stream.run is not None
    assert stream.run.status is RunStatus.COMPLETED
    assert stream.last_event is events[-1]
    assert runs.get_last_by_thread(thread).id == stream.run.id


# --------------------------------------------------------------------------- get


def test_get_takes_a_run_an_event_or_an_id_with_its_thread(
    runs: Flavour, emulator: Emulator
) -> None:
    assistant, thread = make(emulator)
    stream = runs.finish(assistant, thread)
    run = stream.run
    assert run is not None
    first = next(iter(runs.listen(run)))
    for ref in (run, first):
        assert runs.get(ref).id == run.id
    by_id = runs.get(run.id, thread_id=thread)
    assert (by_id.id, by_id.status) == (run.id, RunStatus.COMPLETED)
    with pytest.raises(InvalidArgumentError, match="thread_id"):
        runs.get(run.id)


def test_get_last_by_thread_is_the_newest_run(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator)
    first = runs.finish(assistant, thread).run
    second = runs.finish(assistant, thread).run
    assert first is not None
    assert second is not None
    assert first.id != second.id
    assert runs.get_last_by_thread(thread).id == second.id


def test_get_last_by_thread_without_runs_is_404(runs: Flavour, emulator: Emulator) -> None:
    with pytest.raises(ApiError) as caught:
        runs.get_last_by_thread(new_thread(emulator))
    assert (caught.value.provider, caught.value.status_code) == ("openai", 404)


def test_unknown_run_or_thread_is_404(runs: Flavour, emulator: Emulator) -> None:
    thread = new_thread(emulator)
    for call in (
        lambda: runs.get("run_nope", thread_id=thread),
        lambda: runs.get_status("run_nope", thread_id=thread),
        lambda: runs.wait("run_nope", thread_id=thread),
        lambda: runs.cancel("run_nope", thread_id=thread),
        lambda: runs.get_last_by_thread("thread_nope"),
    ):
        with pytest.raises(ApiError) as caught:
            call()
        assert caught.value.status_code == 404


# --------------------------------------------------------------------------- listen


def test_listen_polls_status_changes_then_the_answer_then_done(
    runs: Flavour, emulator: Emulator
) -> None:
    assistant, thread = make(emulator, "echo chunks=5 delay=0.1")
    run = runs.create(assistant, thread)
    stream = runs.listen(run)
    events = list(stream)
    assert_numbered(events)
    carrying = [e for e in events if e.run is not None]
    statuses = [e.run.status for e in carrying if e.run is not None]
    assert len(statuses) >= 2, names(events)  # it saw the run while it was still going
    assert len(set(statuses)) == len(statuses), statuses  # one event per change, no repeats
    assert statuses[-1] is RunStatus.COMPLETED
    assert events[: len(carrying)] == carrying
    assert names(events)[len(carrying) :] == ["thread.message.completed", "done"]
    assert events[-2].text == TEXT
    assert stream.run is not None
    assert stream.run.status is RunStatus.COMPLETED


def test_listen_numbers_from_events_start_idx(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator)
    run = runs.finish(assistant, thread).run
    assert run is not None
    events = list(runs.listen(run, events_start_idx=40))
    assert names(events) == ["thread.run.completed", "thread.message.completed", "done"]
    assert_numbered(events, 40)


def test_listen_of_a_failed_run_is_an_error_then_done(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "fail")
    run = runs.finish(assistant, thread).run
    assert run is not None
    events = list(runs.listen(run.id, thread_id=thread))
    assert [e.status for e in events] == [StreamEventKind.ERROR, StreamEventKind.END]
    assert events[0].error is not None
    assert events[0].error.code == "server_error"


# --------------------------------------------------------------------------- tools


def test_tool_loop_streams_on_with_continued_numbering(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "tools calls=2")
    stream = runs.create_stream(assistant, thread)
    first = list(stream)
    assert_numbered(first)
    assert names(first)[-2:] == ["thread.run.requires_action", "done"]
    asking = first[-2]
    assert asking.status is StreamEventKind.TOOL_CALLS
    assert asking.requires_action
    assert len(asking.tool_calls) == 2
    paused = stream.run
    assert paused is not None
    assert paused.status is RunStatus.REQUIRES_ACTION
    assert [c.id for c in paused.tool_calls] == [c.id for c in asking.tool_calls]

    results = [c.result(f"out-{i}") for i, c in enumerate(paused.tool_calls)]
    second = list(runs.submit_stream(paused, results))
    assert_numbered(second, first[-1].event_index + 1)
    assert "thread.run.created" not in names(second)
    assert names(second)[-2:] == ["thread.run.completed", "done"]
    answer = second[names(second).index("thread.message.completed")].text
    assert answer is not None
    assert "out-0" in answer
    assert "out-1" in answer
    result = runs.get_result(paused)
    assert result.status is RunStatus.COMPLETED
    assert result.text == answer


def test_submit_without_stream_returns_the_run(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "tools calls=1")
    paused = runs.wait(runs.create(assistant, thread))
    assert paused.requires_action
    (call,) = paused.tool_calls
    run = runs.submit(paused.run, [call.result({"temp": 21})])
    assert run.id == paused.run.id
    assert run.status is not RunStatus.REQUIRES_ACTION
    done = runs.wait(run)
    assert done.status is RunStatus.COMPLETED
    assert done.text == f'{call.name}: {{"temp": 21}}'


def test_submit_to_a_run_that_is_not_waiting_is_400(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator)
    run = runs.finish(assistant, thread).run
    assert run is not None
    result: FunctionResultDict = {"name": "f", "content": "x", "tool_call_id": "call_1"}
    with pytest.raises(ApiError) as caught:
        runs.submit(run, [result])
    assert caught.value.status_code == 400


# --------------------------------------------------------------------------- cancel, status


def test_cancel_a_slow_run_then_wait_sees_it_cancelled(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "slow seconds=5")
    run = runs.create(assistant, thread)
    started = time.monotonic()
    cancelling = runs.cancel(run)
    assert cancelling.id == run.id
    assert cancelling.status is RunStatus.CANCELLING
    result = runs.wait(run)
    assert result.status is RunStatus.CANCELLED
    assert result.is_failed
    assert result.run.cancelled_at is not None
    assert time.monotonic() - started < 3.0  # it did not run its 5 s
    assert runs.get_status(run) is RunStatus.CANCELLED


def test_cancel_a_completed_run_is_400(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator)
    run = runs.finish(assistant, thread).run
    assert run is not None
    with pytest.raises(ApiError) as caught:
        runs.cancel(run)
    assert caught.value.status_code == 400
    assert runs.get_status(run) is RunStatus.COMPLETED


def test_get_result_has_the_answer_only_once_completed(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "slow seconds=5")
    slow = runs.create(assistant, thread)
    pending = runs.get_result(slow)
    assert pending.status in (RunStatus.QUEUED, RunStatus.IN_PROGRESS)
    assert pending.message is None
    assert pending.text is None
    assert runs.get_status(slow) in (RunStatus.QUEUED, RunStatus.IN_PROGRESS)
    runs.cancel(slow)

    assistant, thread = make(emulator, text="the answer")
    run = runs.finish(assistant, thread).run
    assert run is not None
    result = runs.get_result(run.id, thread_id=thread)
    assert result.text == "the answer"
    assert result.message is not None
    assert result.message.role == "assistant"
    assert result.message.run_id == run.id


def test_failed_run_streams_an_error_and_its_result_is_failed(
    runs: Flavour, emulator: Emulator
) -> None:
    assistant, thread = make(emulator, "fail code=rate_limit_exceeded message=too_many")
    stream = runs.create_stream(assistant, thread)
    events = list(stream)
    errors = [e for e in events if e.status is StreamEventKind.ERROR]
    assert names(errors) == ["thread.run.failed"]
    assert errors[0].is_failed
    assert errors[0].error is not None
    assert (errors[0].error.code, errors[0].error.message) == ("rate_limit_exceeded", "too many")
    assert names(events)[-1] == "done"
    assert stream.run is not None
    result = runs.wait(stream.run)
    assert result.is_failed
    assert result.status is RunStatus.FAILED
    with pytest.raises(RunFailedError):
        _ = result.text


# --------------------------------------------------------------------------- wait


def test_wait_returns_when_the_run_requires_action(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "tools calls=3")
    result = runs.wait(runs.create(assistant, thread))
    assert result.requires_action
    assert result.status is RunStatus.REQUIRES_ACTION
    assert len(result.tool_calls) == 3
    assert result.text is None
    runs.cancel(result.run)


@pytest.mark.parametrize("interval", [0.5, 0.02, 1.0], ids=["default", "short", "long"])
def test_wait_times_out_at_its_deadline_with_the_last_run(
    runs: Flavour, emulator: Emulator, interval: float
) -> None:
    assistant, thread = make(emulator, "slow seconds=5")
    run = runs.create(assistant, thread)
    started = time.monotonic()
    try:
        with pytest.raises(RunTimeoutError) as caught:
            runs.wait(run, timeout=0.5, poll_interval=interval)
        elapsed = time.monotonic() - started
    finally:
        runs.cancel(run)
    assert 0.4 <= elapsed < 1.0  # neither giving up early nor overrunning the deadline
    last = caught.value.last_run
    assert last is not None
    assert last.id == run.id
    assert last.status is RunStatus.IN_PROGRESS


# --------------------------------------------------------------------------- bad arguments


BAD_CREATE: list[dict[str, Any]] = [
    {"custom_temperature": "hot"},
    {"custom_max_tokens": "many"},
    {"custom_max_tokens": 77},  # the spec wants at least 256
    {"custom_temperature": 3.5},  # and at most 2
    {"custom_tools": [42]},
    {"custom_tools": ["function"]},
    {"custom_tools": [Tool("function")]},  # a function needs a name
    {"custom_response_format": 42},
    {"custom_prompt_truncation_options": "auto"},
    {"additional_messages": "hi"},
    {"additional_messages": [42]},
    {"idempotency_key": ""},
]


@pytest.mark.parametrize("options", BAD_CREATE, ids=lambda o: "-".join(f"{k}" for k in o))
def test_create_rejects_bad_arguments(
    runs: Flavour, emulator: Emulator, options: dict[str, Any]
) -> None:
    assistant, thread = make(emulator)
    with pytest.raises(InvalidArgumentError):
        runs.create(assistant, thread, **options)
    with pytest.raises(ApiError) as caught:
        runs.get_last_by_thread(thread)
    assert caught.value.status_code == 404, "a rejected create must not reach the server"


def test_calls_reject_bad_ids_and_ranges(runs: Flavour, emulator: Emulator) -> None:
    assistant, thread = make(emulator, "tools calls=1")
    run = runs.wait(runs.create(assistant, thread)).run
    for call in (
        lambda: runs.create(assistant, ""),
        lambda: runs.create("", thread),
        lambda: runs.get(""),
        lambda: runs.get(42),  # type: ignore[arg-type]
        lambda: runs.get_last_by_thread(""),
        lambda: runs.list(thread, page_size=0),
        lambda: runs.list(thread, page_size=101),
        lambda: runs.list(thread, page_size=True),
        lambda: runs.list(""),
        lambda: runs.listen(run, events_start_idx=-1),
        lambda: runs.wait(run, poll_interval=0),
        lambda: runs.submit(run, []),
        lambda: runs.submit(run, [{"name": "f", "content": "x"}]),  # no tool_call_id
        lambda: runs.submit(run, [{"content": "x", "tool_call_id": 1}]),  # type: ignore[typeddict-item]
    ):
        with pytest.raises(InvalidArgumentError):
            call()
    assert runs.get_status(run) is RunStatus.REQUIRES_ACTION  # nothing reached it
    runs.cancel(run)


@pytest.mark.parametrize(
    "options",
    [{"base_url": "ftp://host/v1"}, {"api_key": ""}, {"api_key": "a\nb"}],
    ids=["scheme", "empty-key", "newline-key"],
)
def test_constructor_rejects_bad_settings(
    connect: Connect, emulator: Emulator, options: dict[str, Any]
) -> None:
    with pytest.raises(InvalidArgumentError):
        connect(emulator, **options)


# --------------------------------------------------------------------------- auth


@pytest.fixture(scope="module")
def keyed() -> Iterator[Emulator]:
    """An emulator that wants the API key ``k``."""
    emu = Emulator(api_key="k").start_in_thread()
    try:
        yield emu
    finally:
        stop(emu)


def test_api_key_by_argument(connect: Connect, keyed: Emulator) -> None:
    assistant, thread = make(keyed, api_key="k")
    runs = connect(keyed, api_key="k")
    assert runs.wait(runs.create(assistant, thread)).text == TEXT


def test_api_key_and_base_url_from_the_environment(
    connect: Connect, keyed: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    assistant, thread = make(keyed, api_key="k")
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    monkeypatch.setenv("OPENAI_BASE_URL", keyed.openai_base_url)
    runs = connect(keyed, base_url=None)
    assert keyed.openai_base_url in repr(runs.client)
    assert runs.wait(runs.create(assistant, thread)).text == TEXT


def test_argument_beats_the_environment(
    connect: Connect, keyed: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    assistant, thread = make(keyed, api_key="k")
    monkeypatch.setenv("OPENAI_API_KEY", "wrong")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    runs = connect(keyed, api_key="k")
    assert runs.get_status(runs.create(assistant, thread)) is not RunStatus.UNKNOWN


@pytest.mark.parametrize("key", ["sk-WRONG-secret-1234", None], ids=["wrong", "none"])
def test_wrong_key_is_401_and_never_shown(
    connect: Connect, keyed: Emulator, key: str | None
) -> None:
    assistant, thread = make(keyed, api_key="k")
    runs = connect(keyed, api_key=key)
    failures: list[ApiError] = []
    for call in (
        lambda: runs.create(assistant, thread),
        lambda: list(runs.create_stream(assistant, thread)),
        lambda: runs.get_last_by_thread(thread),
        lambda: list(runs.list(thread)),
    ):
        with pytest.raises(ApiError) as caught:
            call()
        failures.append(caught.value)
    assert {(e.provider, e.status_code, e.code) for e in failures} == {
        ("openai", 401, "invalid_api_key")
    }
    if key is not None:
        shown = [repr(runs.client), str(runs.client)]
        shown += [text for e in failures for text in (str(e), repr(e), e.message)]
        assert not [text for text in shown if key in text]
    assert repr(runs.client).endswith("auth=api-key)" if key else "auth=none)")


# --------------------------------------------------------------------------- signatures

PUBLIC = [
    "create",
    "get",
    "get_last_by_thread",
    "list",
    "listen",
    "submit_tool_results",
    "cancel",
    "get_status",
    "get_result",
    "wait",
    "close",
]
NOT_COROUTINES = {"list", "listen"}
SYNC_OF: dict[Any, Any] = {AsyncRunStream: RunStream, AsyncRunList: RunList}


def _as_sync(annotation: Any) -> Any:
    """The sync counterpart of an async method's annotation."""
    if typing.get_origin(annotation) in (types.UnionType, typing.Union):
        args = [_as_sync(a) for a in typing.get_args(annotation)]
        out = args[0]
        for arg in args[1:]:
            out = out | arg
        return out
    origin = typing.get_origin(annotation)
    if origin in SYNC_OF:  # a parametrised AsyncRunStream[...]: the same parameters
        return SYNC_OF[origin][typing.get_args(annotation)]
    return SYNC_OF.get(annotation, annotation)


def _public(cls: type) -> set[str]:
    """Public methods, the inherited ones included."""
    return {
        n
        for klass in cls.__mro__[:-1]
        for n, v in vars(klass).items()
        if not n.startswith("_") and callable(v)
    }


def _signature(fn: Any, *, sync: bool) -> list[tuple[str, Any, Any, Any]]:
    sig = inspect.signature(fn, eval_str=True)
    params = [(p.name, p.kind, p.default, p.annotation) for p in sig.parameters.values()]
    ret = sig.return_annotation if sync else _as_sync(sig.return_annotation)
    return [*params, ("return", None, None, ret)]


def test_sync_and_async_clients_have_the_same_methods() -> None:
    assert _public(AsyncRuns) == _public(Runs) == set(PUBLIC)


@pytest.mark.parametrize("name", PUBLIC)
def test_sync_and_async_signatures_match(name: str) -> None:
    async_fn, sync_fn = getattr(AsyncRuns, name), getattr(Runs, name)
    assert _signature(async_fn, sync=False) == _signature(sync_fn, sync=True)
    assert inspect.iscoroutinefunction(async_fn) is (name not in NOT_COROUTINES)
    assert not inspect.iscoroutinefunction(sync_fn)
    assert inspect.getdoc(sync_fn)


def test_constructors_take_the_same_settings() -> None:
    assert _signature(AsyncRuns.__init__, sync=True) == _signature(Runs.__init__, sync=True)


@pytest.mark.parametrize("name", ["create", "submit_tool_results"])
def test_sync_and_async_overloads_match(name: str) -> None:
    async_overloads = typing.get_overloads(getattr(AsyncRuns, name))
    sync_overloads = typing.get_overloads(getattr(Runs, name))
    assert len(async_overloads) >= 2
    assert [_signature(f, sync=False) for f in async_overloads] == [
        _signature(f, sync=True) for f in sync_overloads
    ]


def test_the_test_package_does_not_shadow_an_openai_package() -> None:
    spec = importlib.util.find_spec("openai")
    here = Path(__file__).resolve().parent
    assert spec is None or spec.origin is None or here not in Path(spec.origin).resolve().parents
    assert runbind.openai.AsyncRuns is AsyncRuns


def test_one_async_client_serves_successive_event_loops(emulator: Emulator) -> None:
    """Pooled connections belong to their loop: a second ``asyncio.run`` starts afresh."""
    client = AsyncRuns(base_url=emulator.openai_base_url)
    for question in ("first", "second"):
        assistant, thread = emulator.seed("openai", question)
        run = asyncio.run(client.create(assistant, thread))
        result = asyncio.run(client.wait(run, timeout=5, poll_interval=0.01))
        assert result.text == question
    asyncio.run(client.close())
