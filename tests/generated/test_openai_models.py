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
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, RootModel, TypeAdapter, ValidationError
from typing_extensions import TypeAliasType

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
_base: Any = importlib.import_module("runbind_generated.openai._base")
KNOWN_TAG: str = _base.KNOWN_TAG
UNKNOWN_TAG: str = _base.UNKNOWN_TAG


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
    """Every model class, from each module that defines some (``_runs`` and ``models``)."""
    modules = [
        importlib.import_module(info.name)
        for info in pkgutil.iter_modules(oai.__path__, oai.__name__ + ".")
    ]
    return [
        obj
        for module in modules
        for _, obj in sorted(vars(module).items())
        if inspect.isclass(obj) and issubclass(obj, BaseModel) and obj.__module__ == module.__name__
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


def _union_names() -> list[str]:
    return [n for n in oai.__all__ if isinstance(getattr(oai, n), TypeAliasType)]


def _resolve(adapter: TypeAdapter[Any]) -> Any:
    schema: Any = adapter.core_schema
    refs = {d["ref"]: d for d in schema.get("definitions", [])}
    while schema["type"] in ("definitions", "definition-ref"):
        schema = schema["schema"] if schema["type"] == "definitions" else refs[schema["schema_ref"]]
    return schema


def test_open_unions_pick_their_variant_in_rust() -> None:
    """Known tags are looked up by pydantic-core; Python runs only for the unknown branch.

    (A callable discriminator would get the payload converted to Python objects first.)
    The stream-event unions stay one tagged union (``test_stream_event_union_is_discriminated``).
    """
    checked = 0
    for name in _union_names():
        schema = _resolve(TypeAdapter(getattr(oai, name)))
        if schema["type"] == "tagged-union":
            assert name.endswith("StreamEvent"), name
            continue
        labels = [c[1] for c in schema.get("choices", ()) if isinstance(c, tuple)]
        if UNKNOWN_TAG not in labels:
            continue  # a plain alias (`A | B`), not one of the tagged unions
        assert schema["mode"] == "left_to_right", name
        (known, known_label), *_, (unknown, unknown_label) = schema["choices"]
        assert (known_label, unknown_label) == (KNOWN_TAG, UNKNOWN_TAG), name
        if known["type"] == "definition-ref":  # one known variant: its model, checked in Rust
            refs = {d["ref"]: d for d in TypeAdapter(getattr(oai, name)).core_schema["definitions"]}
            assert refs[known["schema_ref"]]["type"] == "model", name
        else:
            assert known["type"] == "tagged-union", name
            assert isinstance(known["discriminator"], str), name
        assert unknown["type"] == "function-after", name  # the guard against known tags
        checked += 1
    assert checked >= 15


@pytest.mark.parametrize("mode", ["python", "json"])
def test_unknown_branch_takes_only_unknown_tags(mode: str) -> None:
    adapter = TypeAdapter(list[oai.AssistantTool])

    def validate(value: Any) -> Any:
        if mode == "json":
            return adapter.validate_json(json.dumps(value))
        return adapter.validate_python(value)

    tools = validate(
        [
            {"type": "web_search", "x": 1},
            {"no_type": True},
            {"type": "function", "function": {"name": "f"}},
        ]
    )
    assert [type(t).__name__ for t in tools] == [
        "UnknownAssistantTool",
        "UnknownAssistantTool",
        "AssistantToolsFunction",
    ]
    assert tools[0].raw == {"type": "web_search", "x": 1}
    for bad in ({"type": "function"}, {"type": "file_search", "file_search": 5}, {"type": 3}, "x"):
        with pytest.raises(ValidationError) as info:
            validate([bad])
        assert info.value.errors()[0]["loc"][:2] == (0, KNOWN_TAG), bad
    fmt = TypeAdapter(oai.AssistantsApiResponseFormatOption)
    assert fmt.validate_python("auto") == "auto"
    assert type(fmt.validate_python({"type": "grammar"})).__name__.startswith("Unknown")
    with pytest.raises(ValidationError):
        fmt.validate_python({"type": "json_schema"})
    with pytest.raises(ValidationError):
        fmt.validate_python("none")


_LAZY_PROBE = """
import sys
import runbind_generated.openai as oai
assert not any(m.split(".")[0] == "pydantic" for m in sys.modules), "pydantic at import"
from runbind_generated.openai import RunObject
assert "runbind_generated.openai.models" not in sys.modules
assert not RunObject.__pydantic_complete__, "a schema was built at import"
run = RunObject.model_validate_json(open(sys.argv[1], encoding="utf-8").read())
assert "runbind_generated.openai.models" not in sys.modules
# Nested classes were never built on their own: serialising them must still work.
import pickle
from typing import Any
from pydantic import TypeAdapter
tool = run.tools[0]
assert TypeAdapter(Any).dump_python({"t": tool})["t"]["type"] == "function"
assert b'"function"' in TypeAdapter(Any).dump_json([tool])
assert run.model_dump(serialize_as_any=True)["tools"][0]["type"] == "function"
assert pickle.loads(pickle.dumps(tool)).model_dump()["type"] == "function"
assert oai.models.RunObject is RunObject and "RunObject" in dir(oai)
print("ok")
"""


def test_models_load_and_build_lazily(tmp_path: Path) -> None:
    payload = tmp_path / "run.json"
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    run = {"id": "run_1", "object": "thread.run", "created_at": 1, "thread_id": "t"}
    run |= {"assistant_id": "a", "status": "queued", "model": "m", "tools": tools}
    payload.write_text(json.dumps(run | {"parallel_tool_calls": True}), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", _LAZY_PROBE, str(payload)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT / "generated",
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
