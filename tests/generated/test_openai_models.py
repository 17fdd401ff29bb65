"""The generated OpenAI models: import, build, validate the spec's own examples, stay open.

Examples are read from the spec at run time (never copied here): the path comes from
``RUNBIND_SPECS_OPENAI`` if set, else the synced ``specs/upstream`` copy.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, RootModel, TypeAdapter

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "generated" / "runbind_generated" / "openai"
DEFAULT_SPEC = ROOT / "specs" / "upstream" / "openai-openapi" / "openapi.yaml"
SLICE_PREFIXES = ("/assistants", "/threads")

if not (PACKAGE_DIR / "__init__.py").exists():
    pytest.fail(
        f"{PACKAGE_DIR.relative_to(ROOT)} is missing: run `nox -s generate` first",
        pytrace=False,
    )
if str(ROOT / "generated") not in sys.path:
    sys.path.insert(0, str(ROOT / "generated"))

oai: Any = importlib.import_module("runbind_generated.openai")
models: Any = importlib.import_module("runbind_generated.openai.models")


def _spec_path() -> Path:
    env = os.environ.get("RUNBIND_SPECS_OPENAI")
    return Path(env) if env else DEFAULT_SPEC


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    path = _spec_path()
    if not path.exists():
        pytest.fail(f"spec not found at {path}: run `nox -s sync` or set RUNBIND_SPECS_OPENAI")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open("rb") as handle:
        data: dict[str, Any] = yaml.load(handle, Loader=loader)
    return data


def _model_classes() -> list[type[BaseModel]]:
    return [
        obj
        for _, obj in sorted(vars(models).items())
        if inspect.isclass(obj) and issubclass(obj, BaseModel) and obj.__module__ == models.__name__
    ]


def _sse_events(text: str) -> Iterator[dict[str, Any]]:
    """Parse a server-sent events transcript into ``{"event", "data"}`` payloads.

    Upstream transcripts carry typos: a stray closing brace after some ``data:``
    objects (``raw_decode`` reads the first JSON value) and a JSON line without its
    ``data:`` prefix (ignored: as in the SSE spec, an event without data is not dispatched).
    """
    for block in text.strip().split("\n\n"):
        event, data = None, []
        for line in block.splitlines():
            if line.startswith("event:"):
                event = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data.append(line.removeprefix("data:").strip())
        if event is None or not data:
            continue
        raw = "\n".join(data)
        payload = raw if raw == "[DONE]" else json.JSONDecoder().raw_decode(raw)[0]
        yield {"event": event, "data": payload}


def _examples(spec: dict[str, Any]) -> Iterator[tuple[str, str, str, Any]]:
    """``(id, response schema name, kind, payload)`` for each example response of the slice."""
    for path, item in sorted(spec["paths"].items()):
        if not any(path == p or path.startswith(p + "/") for p in SLICE_PREFIXES):
            continue
        for method, op in sorted(item.items()):
            if not isinstance(op, dict) or "responses" not in op:
                continue
            content = op["responses"].get("200", {}).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
            examples = op.get("x-oaiMeta", {}).get("examples", [])
            examples = examples if isinstance(examples, list) else [examples]
            for number, example in enumerate(examples):
                response = example.get("response") if isinstance(example, dict) else None
                if not response:
                    continue
                label = f"{op.get('operationId', method)}[{number}]"
                if isinstance(response, str) and response.lstrip().startswith("event:"):
                    yield label, "AssistantStreamEvent", "sse", response
                else:
                    payload = json.loads(response) if isinstance(response, str) else response
                    yield label, ref.rsplit("/", 1)[-1], "json", payload


def test_every_module_imports() -> None:
    for info in pkgutil.walk_packages(oai.__path__, oai.__name__ + "."):
        importlib.import_module(info.name)
    for name in oai.__all__:
        assert getattr(oai, name) is not None


def test_every_model_builds_its_validator_eagerly() -> None:
    classes = _model_classes()
    assert len(classes) > 100
    for cls in classes:
        cls.model_rebuild(raise_errors=True)
        cls.model_json_schema()
    for name in oai.__all__:
        obj = getattr(oai, name)
        if not inspect.isclass(obj):
            TypeAdapter(obj).json_schema()


def test_spec_examples_validate(spec: dict[str, Any]) -> None:
    checked = 0
    events = 0
    failures = []
    stream = TypeAdapter(oai.AssistantStreamEvent)
    for label, schema, kind, payload in _examples(spec):
        try:
            if kind == "sse":
                for event in _sse_events(payload):
                    parsed = stream.validate_python(event)
                    assert not type(parsed).__name__.startswith("Unknown"), (label, event["event"])
                    events += 1
            else:
                TypeAdapter(getattr(oai, schema)).validate_python(payload)
        except Exception as exc:
            failures.append(f"{label} ({schema}): {str(exc).splitlines()[0]}")
        checked += 1
    assert not failures, "\n".join(failures)
    assert checked >= 20
    assert events > 0


def test_unknown_run_status_keeps_raw_value() -> None:
    status = TypeAdapter(oai.RunObjectStatus).validate_python("paused_for_lunch")
    assert status.value == "paused_for_lunch"
    assert str(status) == "paused_for_lunch"
    assert not status.is_known
    assert oai.RunObjectStatus("queued") is oai.RunObjectStatus.QUEUED
    assert oai.RunObjectStatus.QUEUED.is_known
    assert TypeAdapter(oai.RunObjectStatus).dump_python(status, mode="json") == "paused_for_lunch"


def test_unknown_tool_type_is_an_explicit_unknown_variant() -> None:
    adapter = TypeAdapter(oai.AssistantTool)
    payload = {"type": "web_search", "web_search": {"context": "high"}}
    tool = adapter.validate_python(payload)
    assert isinstance(tool, oai.UnknownAssistantTool)
    assert not isinstance(tool, oai.AssistantToolsCode)
    assert tool.raw == payload
    assert adapter.dump_python(tool, mode="json") == payload
    known = adapter.validate_python({"type": "code_interpreter"})
    assert isinstance(known, oai.AssistantToolsCode)


def test_unknown_stream_event_is_an_explicit_unknown_variant() -> None:
    adapter = TypeAdapter(oai.AssistantStreamEvent)
    payload = {"event": "thread.run.paused", "data": {"id": "run_1", "object": "thread.run"}}
    event = adapter.validate_python(payload)
    assert isinstance(event, oai.UnknownAssistantStreamEvent)
    assert event.event == "thread.run.paused"
    assert event.raw == payload
    done = adapter.validate_python({"event": "done", "data": "[DONE]"})
    assert isinstance(done, oai.DoneEvent)


def test_unknown_fields_are_kept_and_round_trip() -> None:
    payload = {"type": "function", "function": {"name": "f", "brand_new": [1]}, "also_new": "x"}
    tool = oai.AssistantToolsFunction.model_validate(payload)
    dumped = tool.model_dump(mode="json", exclude_unset=True)
    assert dumped == payload
    assert oai.AssistantToolsFunction.model_validate_json(json.dumps(payload)).also_new == "x"


def test_nullable_fields_are_plain_optionals() -> None:
    run_fields = oai.RunObject.model_fields
    assert run_fields["usage"].annotation == oai.RunCompletionUsage | None
    assert run_fields["expires_at"].annotation == int | None
    roots = [c.__name__ for c in _model_classes() if issubclass(c, RootModel)]
    assert roots == []


def test_stream_event_union_is_discriminated() -> None:
    adapter = TypeAdapter(oai.AssistantStreamEvent)
    schema: Any = adapter.core_schema
    while schema.get("type") in ("definitions", "definition-ref") or "schema" in schema:
        if schema["type"] == "definitions":
            schema = schema["schema"]
        elif schema["type"] == "definition-ref":
            refs = {d["ref"]: d for d in adapter.core_schema.get("definitions", [])}
            schema = refs[schema["schema_ref"]]
        elif schema["type"] == "tagged-union":
            break
        else:
            schema = schema["schema"]
    assert schema["type"] == "tagged-union"
    assert "thread.run.created" in schema["choices"]
    assert len(schema["choices"]) >= 25
    # Sanity only (no timing): a run event parses into its own class.
    event = adapter.validate_json(
        json.dumps(
            {"event": "error", "data": {"message": "m", "type": "t", "code": None, "param": None}}
        )
    )
    assert isinstance(event, oai.ErrorEvent)
