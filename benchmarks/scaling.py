"""Scaling rows: how time and peak memory grow with the size of the work, at three sizes each.

- a Yandex ``Run`` with 1, 100 and 1,000 tool calls, and with 10 KB, 1 MB and 10 MB of answer
  text: decode, decode + every field read, encode, proto3 JSON both ways (ours against upb where
  upb does the same thing);
- an OpenAI Assistants run (JSON) with as many tool calls and as much text (instructions):
  ``runbind.Run.from_openai`` against openai-python's ``Run.model_validate_json``, and encode
  (``model_dump_json``) both sides;
- ``AsyncRuns.listen`` over 1,000, 10,000 and 100,000 events, and ``AsyncResponses.listen``
  over as many Responses events, from an emulator in a child process;
- ``AsyncRuns.list`` over 100, 1,000 and 10,000 runs (Yandex and OpenAI), 100 a page.

Each row times the whole operation at one size (seconds per op) and the peak of memory
allocated while one operation runs (``tracemalloc``, ours only: upb's arena is not Python
memory). The growth of a row is against the size before it, per 10x of size: time 10x is
linear (per item flat); memory 1x is flat. ``--quick`` uses sizes 10-100 times smaller.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import openai.types.beta.threads as openai_threads
from google.protobuf import message_factory
from runbind_generated.openai import RunObject
from runbind_generated.proto.google.protobuf import Struct
from runbind_generated.proto.yandex.cloud.ai.assistants import v1
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import Run
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.threads import ContentPart, Text

import runbind

from . import _google, _walk
from ._growth import annotate, peak_mib
from ._payloads import CALLS, openai_run_json, yandex_run
from ._results import Row, Series
from ._timing import Contender, Settings, compare
from .stream import child_server

__all__ = ["rows"]

KB = 1000
MB = 1000 * KB
_TIMEOUT = 300.0
_KEY = "sk-bench"


@dataclass(frozen=True)
class Sizes:
    """The three sizes of a family, full and quick."""

    full: tuple[int, ...]
    quick: tuple[int, ...]

    def of(self, settings: Settings) -> tuple[int, ...]:
        return self.quick if settings.quick else self.full


TOOL_CALLS = Sizes((1, 100, 1_000), (1, 10, 100))
TEXT = Sizes((10 * KB, MB, 10 * MB), (KB, 10 * KB, 100 * KB))
EVENTS = Sizes((1_000, 10_000, 100_000), (100, 300, 1_000))
RUNS = Sizes((100, 1_000, 10_000), (100, 300, 1_000))


def _size_label(size: int, unit: str) -> str:
    if unit == "B":
        return f"{size / MB:g} MB of text" if size >= MB else f"{size / KB:g} KB of text"
    return f"{size:,} {unit}"


def _scaled(row: Row, family: str, size: int, unit: str, peak: float, *, flat_memory: bool) -> Row:
    row.scale = {
        "family": family,
        "size": size,
        "size_unit": unit,
        "size_label": _size_label(size, unit),
        "peak_mib": peak,
        "flat_memory": flat_memory,
    }
    return row


# -- Yandex Run --------------------------------------------------------------------------------


def _run_with_calls(count: int) -> Run:
    run = yandex_run(tools=True)
    calls = [
        v1.ToolCall(function_call=v1.FunctionCall(name=name, arguments=Struct.from_dict(args)))
        for name, args in (CALLS[i % len(CALLS)] for i in range(count))
    ]
    assert run.state is not None
    run.state.tool_call_list = v1.ToolCallList(tool_calls=calls)
    return run


def _run_with_text(size: int) -> Run:
    run = yandex_run(tools=False)
    assert run.state is not None
    assert run.state.completed_message is not None
    message = run.state.completed_message
    assert message.content is not None
    words = "All work and no play makes Jack a dull boy. "
    text = (words * (size // len(words) + 1))[:size]
    message.content.content = [ContentPart(text=Text(content=text))]
    return run


def _yandex_family(
    settings: Settings, family: str, sizes: tuple[int, ...], unit: str, make: Callable[[int], Run]
) -> list[Row]:
    from .proto import _ours_by_name  # noqa: PLC0415 - the proto rows' helpers

    google = _google.modules().run_pb2.Run
    gplans, oplans = _walk.plans(
        google.DESCRIPTOR, message_factory.GetMessageClass, _ours_by_name()
    )
    found: dict[str, list[Row]] = {}
    for size in sizes:
        obj = make(size)
        data = bytes(obj)
        gobj = google.FromString(data)
        text = obj.to_json()
        if (
            Run.parse(data) != obj
            or gobj.SerializeToString()
            != google.FromString(bytes(Run.parse(data))).SerializeToString()
        ):
            raise AssertionError(f"{family} {size}: the round trip differs")

        def read(data: bytes = data) -> int:
            return _walk.read_all(Run.parse(data), oplans, _walk.ours_present)

        def google_read(data: bytes = data) -> int:
            return _walk.read_all(google.FromString(data), gplans, _walk.google_present)

        if read() != google_read():
            raise AssertionError(f"{family} {size}: ours and upb read different values")
        note = f"{len(data):,} B on the wire"
        cases: list[tuple[str, Contender, list[Contender]]] = [
            (
                "decode",
                Contender("Run.parse", functools.partial(Run.parse, data)),
                [Contender("upb FromString", functools.partial(google.FromString, data))],
            ),
            (
                "decode + read",
                Contender("Run.parse + read", read),
                [Contender("upb FromString + read", google_read)],
            ),
            (
                "encode",
                Contender("bytes(run)", functools.partial(bytes, obj)),
                [Contender("upb SerializeToString", gobj.SerializeToString)],
            ),
            ("to_json", Contender("run.to_json()", obj.to_json), []),
            ("from_json", Contender("Run.from_json", functools.partial(Run.from_json, text)), []),
        ]
        for op, ours, anchors in cases:
            name = f"Yandex Run, {op} [{_size_label(size, unit)}]"
            row = compare("scaling", name, settings, ours, *anchors, note=note)
            peak = peak_mib(ours.call)
            found.setdefault(op, []).append(
                _scaled(row, f"yandex {family} {op}", size, unit, peak, flat_memory=False)
            )
    return [row for op_rows in found.values() for row in op_rows]


# -- OpenAI run (JSON) ---------------------------------------------------------------------------


def _openai_with_calls(count: int) -> str:
    run = json.loads(openai_run_json())
    calls = [
        {
            "id": f"call_{index:06d}Xk2mP9qLr7sT4vW1yZ3b",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)},
        }
        for index, (name, args) in ((i, CALLS[i % len(CALLS)]) for i in range(count))
    ]
    run["required_action"]["submit_tool_outputs"]["tool_calls"] = calls
    return json.dumps(run, separators=(",", ":"))


def _openai_with_text(size: int) -> str:
    run = json.loads(openai_run_json())
    words = "All work and no play makes Jack a dull boy. "
    run["instructions"] = (words * (size // len(words) + 1))[:size]
    return json.dumps(run, separators=(",", ":"))


def _openai_family(
    settings: Settings, family: str, sizes: tuple[int, ...], unit: str, make: Callable[[int], str]
) -> list[Row]:
    found: dict[str, list[Row]] = {}
    for size in sizes:
        text = make(size)
        ours_model = RunObject.model_validate_json(text)
        theirs_model = openai_threads.Run.model_validate_json(text)
        assert runbind.Run.from_openai(text).id == theirs_model.id
        note = f"{len(text):,} B of JSON"
        cases: list[tuple[str, Contender, list[Contender]]] = [
            (
                "Run.from_openai",
                Contender("Run.from_openai", functools.partial(runbind.Run.from_openai, text)),
                [
                    Contender(
                        "openai Run.model_validate_json",
                        functools.partial(openai_threads.Run.model_validate_json, text),
                    )
                ],
            ),
            (
                "model_dump_json",
                Contender("RunObject.model_dump_json", ours_model.model_dump_json),
                [Contender("openai Run.model_dump_json", theirs_model.model_dump_json)],
            ),
        ]
        for op, ours, anchors in cases:
            name = f"OpenAI run, {op} [{_size_label(size, unit)}]"
            row = compare("scaling", name, settings, ours, *anchors, note=note)
            peak = peak_mib(ours.call)
            found.setdefault(op, []).append(
                _scaled(row, f"openai {family} {op}", size, unit, peak, flat_memory=False)
            )
    return [row for op_rows in found.values() for row in op_rows]


# -- streams and listings from the emulator -------------------------------------------------------


def _repeat(
    settings: Settings, name: str, call: Callable[[], int], expected: int, note: str
) -> Row:
    """A row of ``call`` (one whole operation against a child emulator), timed per round."""
    if call() != expected:  # warm up, and check
        raise AssertionError(f"{name}: expected {expected} items")
    samples = []
    for _ in range(settings.rounds if settings.quick else min(settings.rounds, 5)):
        start = time.perf_counter()
        got = call()
        samples.append(time.perf_counter() - start)
        if got != expected:
            raise AssertionError(f"{name}: expected {expected} items, got {got}")
    return Row("scaling", name, Series(name.split(" [", maxsplit=1)[0], samples), note=note)


@contextmanager
def _runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner


def _run_once(runner: asyncio.Runner, call: Callable[[], Coroutine[Any, Any, int]]) -> int:
    return runner.run(call())


def _listen_rows(settings: Settings) -> list[Row]:
    from runbind.openai import AsyncResponses  # noqa: PLC0415
    from runbind.yandex import AsyncRuns  # noqa: PLC0415

    found: list[Row] = []
    for size in EVENTS.of(settings):
        with child_server("benchmarks._stream_server", size) as info, _runner() as runner:

            async def listen(target: str = info["target"], run_id: str = info["run_id"]) -> int:
                count = 0
                async with AsyncRuns(endpoint=target) as client:
                    async for event in client.listen(run_id, timeout=_TIMEOUT):
                        count += event.status is not None
                return count

            name = f"AsyncRuns.listen [{size:,} events]"
            row = _repeat(settings, name, lambda: runner.run(listen()), size, "whole listen")
            peak = peak_mib(lambda: runner.run(listen()))
            found.append(_scaled(row, "yandex listen", size, "events", peak, flat_memory=True))
    for size in EVENTS.of(settings):
        with child_server("benchmarks._responses_server", size) as info, _runner() as runner:

            async def follow(url: str = info["base_url"], rid: str = info["response_id"]) -> int:
                count = 0
                async with AsyncResponses(base_url=url, api_key=_KEY, timeout=_TIMEOUT) as client:
                    async for event in client.listen(rid, timeout=_TIMEOUT):
                        count += event.status is not None
                return count

            name = f"AsyncResponses.listen [{size:,} events]"
            row = _repeat(settings, name, lambda: runner.run(follow()), size, "whole listen")
            peak = peak_mib(lambda: runner.run(follow()))
            found.append(_scaled(row, "responses listen", size, "events", peak, flat_memory=True))
    return found


def _list_rows(settings: Settings) -> list[Row]:
    from runbind.openai import AsyncRuns as OpenAIRuns  # noqa: PLC0415
    from runbind.yandex import AsyncRuns  # noqa: PLC0415

    yandex: list[Row] = []
    openai: list[Row] = []
    for size in RUNS.of(settings):
        with child_server("benchmarks._list_server", size) as info, _runner() as runner:

            async def list_yandex(target: str = info["target"]) -> int:
                async with AsyncRuns(endpoint=target) as client:
                    return sum([1 async for _ in client.list(page_size=100, timeout=_TIMEOUT)])

            async def list_openai(
                url: str = info["base_url"], thread: str = info["thread_id"]
            ) -> int:
                async with OpenAIRuns(base_url=url, api_key=_KEY, timeout=_TIMEOUT) as client:
                    listing = client.list(thread, page_size=100, timeout=_TIMEOUT)
                    return sum([1 async for _ in listing])

            for side, call, into in (
                ("yandex", list_yandex, yandex),
                ("openai", list_openai, openai),
            ):
                name = (
                    f"{'Yandex' if side == 'yandex' else 'OpenAI'} AsyncRuns.list [{size:,} runs]"
                )
                once = functools.partial(_run_once, runner, call)
                row = _repeat(settings, name, once, size, "100 a page")
                peak = peak_mib(once)
                into.append(_scaled(row, f"{side} list", size, "runs", peak, flat_memory=True))
    return yandex + openai


def rows(settings: Settings) -> list[Row]:
    """Every scaling row, with its growth against the size before."""
    found = (
        _yandex_family(
            settings, "tool calls", TOOL_CALLS.of(settings), "tool calls", _run_with_calls
        )
        + _yandex_family(settings, "text", TEXT.of(settings), "B", _run_with_text)
        + _openai_family(
            settings, "tool calls", TOOL_CALLS.of(settings), "tool calls", _openai_with_calls
        )
        + _openai_family(settings, "text", TEXT.of(settings), "B", _openai_with_text)
        + _listen_rows(settings)
        + _list_rows(settings)
    )
    annotate(found)
    return found
