"""Schemathesis against the emulator's OpenAI side, driven by the sliced spec.

The document is the Assistants slice that ``codegen.openapi`` cuts from the locked upstream
``openapi.yaml`` (overlay applied, nullability in the 3.1 form: what the generator reads), the
upstream file materialised at run time by ``codegen.fetch``; nothing of it is committed here.
Every operation the emulator serves (:data:`COVERED`) is fuzzed against a real emulator on
127.0.0.1 that requires an API key: schema-valid requests (positive mode) and invalid ones
(negative mode, for the operations with a body or a query), about half of them on real
assistants, threads, messages and runs made first, so that the handlers run rather than 404.
Checks: no 5xx; status code documented; content type, headers and body per the spec; invalid
data rejected, valid data accepted; every frame of an event stream a spec stream event.

Where the upstream spec is wrong or silent, :func:`_document` corrects it one quirk at a time
(each names its operations and why, and fails once upstream changes there); the check wrapped
here (:func:`positive_acceptance`) leaves out one named case; nothing else is relaxed.

Bounded for CI: :data:`EXAMPLES` examples per operation and mode (25), no deadline, no
shrinking, and the same inputs every run, whatever else runs in the process: derandomized (a
seed fixed per test, no example database), and with Hypothesis's pool of "local constants"
turned off (:func:`fixed_constants`). That pool holds the literals of every module of ours
imported so far, so it changed the inputs with the set of test modules collected before this
one and with every edit anywhere in ``src/``: a run of the whole folder drew other examples
than a run of this file. Hypothesis tries its simplest example first, and :func:`_fuzz` makes
it one that must work: real ids, and a stream where the operation streams. A valid example
of every operation succeeds (and streams) by construction, not by chance, whatever the seed
(the simplest example is the same for every seed; the positive tests assert it). Negative
mode may discard its simplest example (no mutation fits it); there about half of the 25 use
real ids and must reach validation. The other examples are drawn as before (real ids or
made-up ones, about half each). A bigger run: ``RUNBIND_SCHEMATHESIS_EXAMPLES=500``; other inputs:
``RUNBIND_SCHEMATHESIS_SEED=N`` (random generation from seed N, reproducible by it).
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import providers as hypothesis_providers
from hypothesis.internal.constants_ast import Constants
from schemathesis import GenerationMode
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case
from schemathesis.specs.openapi import checks as spec_checks
from schemathesis.specs.openapi.schemas import OpenApiSchema

from codegen import openapi
from codegen.openapi._spec import normalise_nullable
from runbind.emulator import Emulator
from tests._spec_version import requires_locked_spec

from ._clients import TIMEOUT, stop

# The document and its quirk corrections are the committed lock's openai-openapi spec.
pytestmark = requires_locked_spec("openai-openapi")

Json = dict[str, Any]
Example = Case[Any]
"""A schemathesis test case of one of our operations."""

EXAMPLES = int(os.environ.get("RUNBIND_SCHEMATHESIS_EXAMPLES", "25"))
"""Examples per operation and generation mode."""
SEED = os.environ.get("RUNBIND_SCHEMATHESIS_SEED")
"""Unset: derandomized (the inputs of every run are the same). Set: the seed of a random run."""

MAX_BODY = 8 * 1024 * 1024
"""The module's emulator takes request bodies up to this size (the default is 1 MiB). The spec's
bounded strings JSON-escaped reach past 1 MiB (an ``instructions`` of 256,001 characters, one
too many, is 1.5 MB as ``\\uXXXX`` escapes): with the default such a body was refused whole
(413, which the spec does not document) before its validation ran."""

API_KEY = "sk-schemathesis-emulator"
_REAL = "real_id"  # a path parameter to be replaced by a real id before the call (URL-safe)

COVERED: dict[str, tuple[str, str]] = {
    "listAssistants": ("GET", "/assistants"),
    "createAssistant": ("POST", "/assistants"),
    "getAssistant": ("GET", "/assistants/{assistant_id}"),
    "modifyAssistant": ("POST", "/assistants/{assistant_id}"),
    "deleteAssistant": ("DELETE", "/assistants/{assistant_id}"),
    "createThread": ("POST", "/threads"),
    "createThreadAndRun": ("POST", "/threads/runs"),
    "getThread": ("GET", "/threads/{thread_id}"),
    "modifyThread": ("POST", "/threads/{thread_id}"),
    "deleteThread": ("DELETE", "/threads/{thread_id}"),
    "listMessages": ("GET", "/threads/{thread_id}/messages"),
    "createMessage": ("POST", "/threads/{thread_id}/messages"),
    "getMessage": ("GET", "/threads/{thread_id}/messages/{message_id}"),
    "modifyMessage": ("POST", "/threads/{thread_id}/messages/{message_id}"),
    "deleteMessage": ("DELETE", "/threads/{thread_id}/messages/{message_id}"),
    "listRuns": ("GET", "/threads/{thread_id}/runs"),
    "createRun": ("POST", "/threads/{thread_id}/runs"),
    "getRun": ("GET", "/threads/{thread_id}/runs/{run_id}"),
    "modifyRun": ("POST", "/threads/{thread_id}/runs/{run_id}"),
    "cancelRun": ("POST", "/threads/{thread_id}/runs/{run_id}/cancel"),
    "submitToolOuputsToRun": ("POST", "/threads/{thread_id}/runs/{run_id}/submit_tool_outputs"),
    "listRunSteps": ("GET", "/threads/{thread_id}/runs/{run_id}/steps"),
    "getRunStep": ("GET", "/threads/{thread_id}/runs/{run_id}/steps/{step_id}"),
}
"""Every operation the emulator serves: ``{operationId: (method, path)}`` in the slice."""

NEGATED = (
    "listAssistants",
    "createAssistant",
    "modifyAssistant",
    "createThread",
    "createThreadAndRun",
    "modifyThread",
    "listMessages",
    "createMessage",
    "modifyMessage",
    "listRuns",
    "createRun",
    "modifyRun",
    "submitToolOuputsToRun",
    "listRunSteps",
    "getRunStep",
)
"""The covered operations with a body or a query: the rest have only string path parameters,
which schemathesis cannot make invalid."""

# Spec quirk (every operation): upstream documents only 200 and 429, yet the API answers bad
# input, unknown ids and conflicts with its error object. These are the 4xx statuses each
# operation may answer; any other status is still undocumented and fails.
_NOT_FOUND = 404  # an unknown assistant, thread, message or run
_BAD = 400  # invalid body or query, or a request the resource's state refuses
ERRORS: dict[str, tuple[int, ...]] = {
    "listAssistants": (_BAD,),
    "createAssistant": (_BAD,),
    "getAssistant": (_NOT_FOUND,),
    "modifyAssistant": (_BAD, _NOT_FOUND),
    "deleteAssistant": (_NOT_FOUND,),
    "createThread": (_BAD,),
    "createThreadAndRun": (_BAD, _NOT_FOUND),
    "getThread": (_NOT_FOUND,),
    "modifyThread": (_BAD, _NOT_FOUND),
    "deleteThread": (_NOT_FOUND,),
    "listMessages": (_BAD, _NOT_FOUND),
    "createMessage": (_BAD, _NOT_FOUND),
    "getMessage": (_NOT_FOUND,),
    "modifyMessage": (_BAD, _NOT_FOUND),
    "deleteMessage": (_NOT_FOUND,),
    "listRuns": (_BAD, _NOT_FOUND),
    "createRun": (_BAD, _NOT_FOUND),
    "getRun": (_NOT_FOUND,),
    "modifyRun": (_BAD, _NOT_FOUND),
    "cancelRun": (_BAD, _NOT_FOUND),
    "submitToolOuputsToRun": (_BAD, _NOT_FOUND),
    "listRunSteps": (_BAD, _NOT_FOUND),
    "getRunStep": (_BAD, _NOT_FOUND),
}

# Spec quirk: these take `stream: true` and then answer `text/event-stream` (their
# descriptions say so), but their 200 response lists only application/json.
STREAMING = ("createRun", "createThreadAndRun", "submitToolOuputsToRun")

# Spec quirks of the list operations: `first_id`/`last_id` are plain strings, but an empty
# page has neither and the API sends null for both (the emulator does the same); and `limit`
# "can range between 1 and 100" says its description, while its schema has no bounds.
LISTS = {
    "listAssistants": "ListAssistantsResponse",
    "listMessages": "ListMessagesResponse",
    "listRuns": "ListRunsResponse",
    "listRunSteps": "ListRunStepsResponse",
}


# Spec quirk (every body with `metadata`): the limits of a Metadata map are in its description
# only ("16 key-value pairs", keys at most 64 and values at most 512 characters); the API
# enforces them, so valid examples must keep to them and invalid ones may break them.
METADATA_LIMITS = {"maxProperties": 16, "propertyNames": {"maxLength": 64}}


def _spec_path(spec_dirs: Mapping[str, Path]) -> Path:
    return spec_dirs["openai-openapi"] / "openapi.yaml"


def _operations(doc: Json) -> dict[str, tuple[str, str]]:
    """``{operationId: (METHOD, path)}`` of a document."""
    found: dict[str, tuple[str, str]] = {}
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                found[operation["operationId"]] = (method.upper(), path)
    return found


def _document(sliced: Json) -> Json:
    """The slice with the spec quirks above corrected, each only where it applies."""
    doc = copy.deepcopy(sliced)
    operations = _operations(doc)
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for name, statuses in ERRORS.items():
        method, path = operations[name]
        responses = doc["paths"][path][method.lower()]["responses"]
        for status in statuses:
            assert str(status) not in responses, f"{name} documents {status} now: drop the quirk"
            responses[str(status)] = {
                "description": "The API's error object.",
                "content": {"application/json": {"schema": error}},
            }
    for name in STREAMING:
        method, path = operations[name]
        content = doc["paths"][path][method.lower()]["responses"]["200"]["content"]
        assert "text/event-stream" not in content, f"{name} documents its stream now"
        content["text/event-stream"] = {}
    for name, schema_name in LISTS.items():
        properties = doc["components"]["schemas"][schema_name]["properties"]
        for key in ("first_id", "last_id"):
            assert properties[key].get("type") == "string", f"{schema_name}.{key} changed"
            properties[key] = {**properties[key], "type": ["string", "null"]}
        method, path = operations[name]
        (limit,) = (
            p for p in doc["paths"][path][method.lower()]["parameters"] if p["name"] == "limit"
        )
        assert "between 1 and 100" in limit["description"], f"{name}: limit range changed"
        assert not {"minimum", "maximum"} & set(limit["schema"]), f"{name}: limit bounded now"
        limit["schema"] = {**limit["schema"], "minimum": 1, "maximum": 100}
    (mapping, _null) = doc["components"]["schemas"]["Metadata"]["anyOf"]
    text = " ".join(mapping["description"].split())
    for phrase in ("16 key-value pairs", "maximum length of 64", "maximum length of 512"):
        assert phrase in text, f"Metadata limits changed: {phrase!r} is gone"
    assert not set(METADATA_LIMITS) & set(mapping), "Metadata is bounded now: drop the quirk"
    mapping.update(copy.deepcopy(METADATA_LIMITS))
    mapping["additionalProperties"] = {**mapping["additionalProperties"], "maxLength": 512}
    return doc


# --- the emulator, its resources, and the schema -----------------------------------------------


@dataclass
class Tally:
    """What the module sent and got: per operation and mode, statuses and requests."""

    statuses: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    streams: Counter[str] = field(default_factory=Counter)
    first: dict[tuple[str, str], tuple[int, bool]] = field(default_factory=dict)
    setup_requests: int = 0

    def count(self, operation: str, mode: GenerationMode, response: Response) -> None:
        self.statuses[(operation, mode.value, response.status_code)] += 1
        if _is_stream(response):
            self.streams[operation] += 1
        self.first.setdefault((operation, mode.value), (response.status_code, _is_stream(response)))

    def seen(self, operation: str, mode: GenerationMode, accept: Callable[[int], bool]) -> int:
        return sum(
            n
            for (op, m, status), n in self.statuses.items()
            if (op, m) == (operation, mode.value) and accept(status)
        )


class World:
    """Real resources on the emulator, so that examples reach the handlers rather than 404."""

    def __init__(self, http: httpx.Client, tally: Tally) -> None:
        self.http = http
        self.tally = tally
        self.echo = self.assistant("echo")
        self.tools = self.assistant("tools calls=2")
        self.thread = self.new_thread()
        self.message = self.post(f"/threads/{self.thread}/messages", role="user", content="Hi")
        run = self.post(f"/threads/{self.thread}/runs", assistant_id=self.echo)
        self.run = self.wait(self.thread, run, ("completed",))["id"]
        self.tally.setup_requests += 1
        steps = self.http.get(f"/threads/{self.thread}/runs/{self.run}/steps").raise_for_status()
        self.step = str(steps.json()["data"][0]["id"])

    def post(self, path: str, **body: Any) -> str:
        """POST ``body`` and the new object's id."""
        self.tally.setup_requests += 1
        response = self.http.post(path, json=body).raise_for_status()
        return str(response.json()["id"])

    def assistant(self, behaviour: str) -> str:
        tool = {"type": "function", "function": {"name": "lookup"}}
        return self.post(
            "/assistants", model="gpt-4o", tools=[tool], metadata={"emulator": behaviour}
        )

    def new_thread(self) -> str:
        return self.post("/threads", messages=[{"role": "user", "content": "Hello!"}])

    def wait(self, thread: str, run: str, statuses: tuple[str, ...]) -> Json:
        """The run once its status is one of ``statuses`` (bounded)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            self.tally.setup_requests += 1
            body: Json = self.http.get(f"/threads/{thread}/runs/{run}").raise_for_status().json()
            if body["status"] in statuses:
                return body
            assert time.monotonic() < deadline, f"run {run} stuck in {body['status']}"
            time.sleep(0.01)

    def waiting_run(self) -> tuple[str, str, list[str]]:
        """A new run waiting for tool outputs: thread id, run id and its call ids."""
        thread = self.new_thread()
        run = self.wait(
            thread,
            self.post(f"/threads/{thread}/runs", assistant_id=self.tools),
            ("requires_action",),
        )
        calls = run["required_action"]["submit_tool_outputs"]["tool_calls"]
        return thread, run["id"], [str(c["id"]) for c in calls]

    def realise(self, operation: str, case: Example, mode: GenerationMode) -> None:
        """Real ids for the path's :data:`_REAL` placeholders and the body's ``assistant_id``;
        fresh resources where the call uses them up (a delete, a cancel, a submit)."""
        params = case.path_parameters or {}
        if operation in ("deleteAssistant", "modifyAssistant"):
            # its own: a modify would change the behaviour of the shared ones
            params["assistant_id"] = self.assistant("echo")
        elif operation in ("deleteThread", "createRun", "createMessage"):
            # a thread of its own: a run still active on a shared one would refuse valid data
            params["thread_id"] = self.new_thread()
        elif operation == "deleteMessage":
            params["thread_id"] = thread = self.new_thread()
            params["message_id"] = self.post(
                f"/threads/{thread}/messages", role="user", content="."
            )
        elif operation in ("cancelRun", "submitToolOuputsToRun"):
            params["thread_id"], params["run_id"], calls = self.waiting_run()
            self._answer(case, calls, mode)
        else:
            real = {
                "assistant_id": self.echo,
                "thread_id": self.thread,
                "message_id": self.message,
                "run_id": self.run,
                "step_id": self.step,
            }
            params.update({k: real[k] for k, v in params.items() if v == _REAL})
        # only a drawn string is replaced: a negative example's non-string id stays invalid
        if isinstance(case.body, dict) and isinstance(case.body.get("assistant_id"), str):
            case.body["assistant_id"] = self.echo

    @staticmethod
    def _answer(case: Example, calls: list[str], mode: GenerationMode) -> None:
        """A valid submit answers every pending call: the drawn items get the real call ids."""
        body = case.body
        outputs = body.get("tool_outputs") if isinstance(body, dict) else None
        if mode is GenerationMode.POSITIVE and isinstance(body, dict) and isinstance(outputs, list):
            drawn = [o for o in outputs if isinstance(o, dict)]
            body["tool_outputs"] = [
                {**(drawn[i] if i < len(drawn) else {}), "tool_call_id": call}
                for i, call in enumerate(calls)
            ]


@pytest.fixture(scope="module", autouse=True)
def fixed_constants() -> Iterator[None]:
    """Hypothesis without its pool of local constants while this module runs, so that the
    examples depend on the spec, the strategies and the seed only (see the module docstring).

    Hypothesis (pinned) offers no switch for the pool: its private collector is replaced by an
    empty pool, and the cache of the constants each draw may take is emptied on the way in (it
    may hold the pool of earlier modules) and out (so later modules get theirs back). The global
    pool of edge-case numbers and strings stays in use.
    """
    collector = getattr(hypothesis_providers, "_get_local_constants", None)
    cache = getattr(hypothesis_providers, "CONSTANTS_CACHE", None)
    assert callable(collector), "Hypothesis moved its local constants: update fixed_constants"
    assert cache is not None, "Hypothesis moved its constants cache: update fixed_constants"
    empty = Constants()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hypothesis_providers, "_get_local_constants", lambda: empty)
        cache.cache.clear()
        try:
            yield
        finally:
            cache.cache.clear()


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """An emulator of this module's own, behind an API key; it must stop cleanly."""
    emu = Emulator(api_key=API_KEY, max_body_size=MAX_BODY).start_in_thread()
    try:
        yield emu
    finally:
        stop(emu)


@pytest.fixture(scope="module")
def sliced(spec_dirs: Mapping[str, Path]) -> Json:
    """The Assistants slice as the generator reads it (the emulator's Responses side is not
    fuzzed here: the slice's Responses part is left out)."""
    document, _ = openapi.prepare(_spec_path(spec_dirs), parts=[openapi.ASSISTANTS])
    return normalise_nullable(document)


@pytest.fixture(scope="module")
def tally() -> Iterator[Tally]:
    """The module's counts; printed at the end (``-s`` shows them)."""
    counts = Tally()
    started = time.monotonic()
    yield counts
    sent = sum(counts.statuses.values())
    print(
        f"\nschemathesis: {sent} generated requests ({sum(counts.streams.values())} streamed) "
        f"+ {counts.setup_requests} setup requests "
        f"in {time.monotonic() - started:.1f} s; statuses "
        f"{dict(sorted(Counter(s for _, _, s in counts.statuses.elements()).items()))}"
    )


@pytest.fixture(scope="module")
def world(emulator: Emulator, tally: Tally) -> Iterator[World]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=emulator.openai_base_url, headers=headers, timeout=TIMEOUT) as http:
        yield World(http, tally)


@pytest.fixture(scope="module")
def api(sliced: Json, emulator: Emulator) -> OpenApiSchema:
    """The corrected slice as a schemathesis schema aimed at the emulator (no config discovery)."""
    schema = schemathesis.openapi.from_dict(_document(sliced), config=SchemathesisConfig())
    schema.config.update(base_url=emulator.openai_base_url)
    return schema


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    """One keep-alive session for every generated request, with the API key."""
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {API_KEY}"
        yield http


class Ids(dict[str, str]):
    """Real ids for a path template's placeholders (``str.format_map``)."""

    NAMES = ("assistant_id", "thread_id", "message_id", "run_id", "step_id")

    def __init__(self, world: World) -> None:
        super().__init__(
            assistant_id=world.echo,
            thread_id=world.thread,
            message_id=world.message,
            run_id=world.run,
            step_id=world.step,
        )


# --- checks of our own --------------------------------------------------------------------------


def _frames(text: str) -> Iterator[tuple[str, str]]:
    """``(event, data)`` of every frame of a server-sent event stream."""
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        event, data = "message", []
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
        yield event, "\n".join(data)


def _error_param(response: Response) -> Any:
    try:
        return json.loads(response.content)["error"]["param"]
    except (ValueError, KeyError, TypeError):
        return None


def positive_acceptance(ctx: CheckContext, response: Response, case: Example) -> bool | None:
    """Schemathesis's ``positive_data_acceptance``, less one spec quirk: a list's ``after`` and
    ``before`` are plain strings in the spec but must be ids of the listed objects, so a random
    cursor is refused with a 400 naming it (any other 400 on valid data still fails)."""
    cursor = _error_param(response) if response.status_code == _BAD else None
    if case.operation.label.startswith("GET") and cursor in ("after", "before"):
        return None
    return spec_checks.positive_data_acceptance(ctx, response, case)


def _is_stream(response: Response) -> bool:
    return any(v.startswith("text/event-stream") for v in response.headers.get("content-type", []))


def stream_errors(text: str, validator: jsonschema_rs.Validator) -> list[str]:
    """What is wrong with an event stream: a frame that is no AssistantStreamEvent of the spec,
    or an end other than ``done``."""
    frames = list(_frames(text))
    if not frames or frames[-1] != ("done", "[DONE]"):
        return [f"the stream does not end with done: {frames[-1:]}"]
    errors = []
    for event, data in frames:
        try:
            value = {"event": event, "data": data if event == "done" else json.loads(data)}
        except ValueError:
            errors.append(f"{event}: data is not JSON: {data[:200]!r}")
            continue
        errors += [f"{event}: {e.message[:500]}" for e in validator.iter_errors(value)]
    return errors


def stream_validator(sliced: Json) -> jsonschema_rs.Validator:
    """A validator of ``{"event": ..., "data": ...}`` against the spec's AssistantStreamEvent."""
    root = {"$ref": "#/components/schemas/AssistantStreamEvent", "components": sliced["components"]}
    return jsonschema_rs.Draft202012Validator(root)


def stream_conformance(sliced: Json) -> Callable[[CheckContext, Response, Example], bool | None]:
    """A check: every frame of a ``text/event-stream`` answer is a spec stream event, and the
    stream ends with ``done`` (schemathesis validates no stream itself)."""
    validator = stream_validator(sliced)

    def check(ctx: CheckContext, response: Response, case: Example) -> bool | None:
        if not _is_stream(response):
            return None
        errors = stream_errors(response.content.decode(), validator)
        if errors:
            raise AssertionError(f"{case.operation.label}: {len(errors)} bad frames: {errors[0]}")
        return True

    return check


# --- the tests ------------------------------------------------------------------------------------


def test_the_slice_has_every_operation_the_emulator_serves(sliced: Json) -> None:
    operations = _operations(sliced)
    gone = {k: v for k, v in COVERED.items() if operations.get(k) != v}
    assert not gone, f"covered operations missing or moved in the slice: {gone}"
    for name in NEGATED:
        method, path = COVERED[name]
        operation = sliced["paths"][path][method.lower()]
        queries = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
        assert "requestBody" in operation or queries, f"{name} has no body or query to negate"


def test_the_emulator_serves_exactly_the_sliced_operations(sliced: Json, world: World) -> None:
    """So that :data:`COVERED` is the emulator's whole OpenAI surface: it covers every
    operation of the slice, and any other method on their paths is refused."""
    others = {k: v for k, v in _operations(sliced).items() if k not in COVERED}
    assert not others, f"sliced operations the emulator does not cover: {others}"
    served = set(COVERED.values())
    answers = {}
    for path in sorted({path for _, path in served}):
        for method in ("GET", "POST", "DELETE", "PUT", "PATCH"):
            if (method, path) not in served:
                url = path.format_map(Ids(world))
                answers[(method, path)] = world.http.request(method, url, json={}).status_code
    assert len(answers) > len(served)
    assert all(status in (404, 405) for status in answers.values()), answers


def test_the_stream_check_refuses_frames_that_are_no_spec_stream_event(
    sliced: Json, world: World
) -> None:
    validator = stream_validator(sliced)
    body = {"assistant_id": world.echo, "stream": True}
    world.tally.setup_requests += 1
    text = world.http.post("/threads/runs", json=body).raise_for_status().text
    assert stream_errors(text, validator) == []
    assert "thread.run.completed" in text
    broken = text.replace('"status":"completed"', '"status":"finished"', 1)
    assert broken != text
    assert stream_errors(broken, validator)
    unknown = "event: thread.run.exploded\ndata: {}\n\nevent: done\ndata: [DONE]\n\n"
    assert stream_errors(unknown, validator)
    assert stream_errors(text.removesuffix("event: done\ndata: [DONE]\n\n"), validator)
    assert stream_errors("event: done\ndata: [DONE]\n\n", validator) == []


def test_the_drawn_inputs_do_not_depend_on_what_else_is_imported(
    api: OpenApiSchema, tmp_path: Path
) -> None:
    """The same examples before and after a new module of ours (with literals) is imported:
    Hypothesis's local constants would draw from it, as they drew from the modules other test
    files import (the inputs of a run of the folder were not those of a run of this file)."""
    strategy = api.find_operation_by_id("createAssistant").as_strategy(
        generation_mode=GenerationMode.POSITIVE
    )

    def draw() -> list[str]:
        drawn: list[str] = []

        @settings(
            max_examples=40,
            derandomize=True,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(case=strategy)
        def record(case: Example) -> None:
            drawn.append(json.dumps(case.body, sort_keys=True))

        record()
        return drawn

    before = draw()
    name = "runbind_constants_probe"
    literals = ", ".join(f'"gpt-probe-{i}", {1000 + i}, {i}.25' for i in range(200))
    (tmp_path / f"{name}.py").write_text(f"VALUES = [{literals}]\n", encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        importlib.import_module(name)
        after = draw()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)
    assert len(before) == 40
    assert after == before


def _fuzz(
    api: OpenApiSchema,
    world: World,
    session: requests.Session,
    tally: Tally,
    sliced: Json,
    name: str,
    mode: GenerationMode,
) -> None:
    """Run :data:`EXAMPLES` examples of one operation in one mode; the first failure raises."""
    operation = api.find_operation_by_id(name)
    _method, path = COVERED[name]
    pinned = {p: _REAL for p in Ids.NAMES if f"{{{p}}}" in path}
    plain = operation.as_strategy(generation_mode=mode)
    real = operation.as_strategy(generation_mode=mode, path_parameters=pinned) if pinned else plain
    acceptance = (
        positive_acceptance
        if mode is GenerationMode.POSITIVE
        else spec_checks.negative_data_rejection
    )
    checks = [
        not_a_server_error,
        spec_checks.status_code_conformance,
        spec_checks.content_type_conformance,
        spec_checks.response_headers_conformance,
        spec_checks.response_schema_conformance,
        acceptance,
        stream_conformance(sliced),
    ]

    # Hypothesis tries the simplest example first (every choice at its simplest: False for a
    # boolean), so the two flags below are drawn negated: that first example has real ids and,
    # where the operation streams, asks for a stream. Any other example is drawn as before.
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=SEED is None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def example(data: st.DataObject) -> None:
        use_real = not data.draw(st.booleans(), label="made-up ids")
        case = data.draw(real if use_real else plain, label="case")
        if use_real:
            world.realise(name, case, mode)
            if (
                name in STREAMING
                and mode is GenerationMode.POSITIVE
                and isinstance(case.body, dict)
            ):
                # `stream` is optional and nullable: drawn alone it is rarely true
                case.body["stream"] = not data.draw(st.booleans(), label="no stream")
        response = case.call(session=session, timeout=TIMEOUT)
        tally.count(name, mode, response)
        case.validate_response(response, checks=checks)

    (example if SEED is None else seed(int(SEED))(example))()


@pytest.mark.parametrize("name", list(COVERED))
def test_schema_valid_requests_get_spec_answers(
    api: OpenApiSchema,
    world: World,
    session: requests.Session,
    tally: Tally,
    sliced: Json,
    name: str,
) -> None:
    _fuzz(api, world, session, tally, sliced, name, GenerationMode.POSITIVE)
    succeeded = tally.seen(name, GenerationMode.POSITIVE, lambda s: 200 <= s < 300)
    assert succeeded, f"{name}: no valid example succeeded (the handler never ran)"
    if name in STREAMING:
        assert tally.streams[name], f"{name}: no example streamed"
    # not by chance: the first example is the simplest, on real ids (and streamed)
    status, streamed = tally.first[(name, GenerationMode.POSITIVE.value)]
    assert 200 <= status < 300, f"{name}: the simplest valid example got {status}"
    assert streamed is (name in STREAMING), f"{name}: the simplest example streamed: {streamed}"


@pytest.mark.parametrize("name", NEGATED)
def test_invalid_requests_are_rejected_with_spec_errors(
    api: OpenApiSchema,
    world: World,
    session: requests.Session,
    tally: Tally,
    sliced: Json,
    name: str,
) -> None:
    _fuzz(api, world, session, tally, sliced, name, GenerationMode.NEGATIVE)
    rejected = tally.seen(name, GenerationMode.NEGATIVE, lambda s: s == _BAD)
    assert rejected, f"{name}: no invalid example reached validation (all were 404s)"
