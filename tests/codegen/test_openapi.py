"""codegen.openapi: slice, overlay, naming, determinism, and the previous (3.0) spec.

The spec is read at run time (never copied here): ``RUNBIND_SPECS_OPENAI`` or the
synced ``specs/upstream`` copy; the previous spec from ``RUNBIND_SPECS_OPENAI_PREVIOUS``
or the offline mirror next to the project.
"""

from __future__ import annotations

import ast
import json
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from codegen import openapi
from codegen.errors import GenerationError
from codegen.openapi import _emit, _nulls, _shape, _spec
from codegen.openapi._shape import Shaped

ROOT = Path(__file__).resolve().parents[2]
PREVIOUS_COMMIT = "25be47865ea2df1179a46be045c2f6b65f38e982"
MIRROR_PREVIOUS = (
    ROOT.parent / "shared" / "specs-mirror" / "openai" / "openai-openapi" / PREVIOUS_COMMIT
) / "openapi.yaml"
# Class names that may legitimately end in a digit (none in this slice today).
ALLOWED_TRAILING_DIGITS: set[str] = set()
STREAM_EVENT_SCHEMAS = (
    "AssistantStreamEvent",
    "ThreadStreamEvent",
    "RunStreamEvent",
    "RunStepStreamEvent",
    "MessageStreamEvent",
    "ErrorEvent",
    "DoneEvent",
)


def _current_spec() -> Path:
    env = os.environ.get("RUNBIND_SPECS_OPENAI")
    path = Path(env) if env else ROOT / "specs" / "upstream" / "openai-openapi" / "openapi.yaml"
    if not path.exists():
        pytest.fail(f"spec not found at {path}: run `nox -s sync` or set RUNBIND_SPECS_OPENAI")
    return path


@pytest.fixture(scope="module")
def spec_file() -> Path:
    return _current_spec()


@pytest.fixture(scope="module")
def spec(spec_file: Path) -> dict[str, Any]:
    return _spec.load_spec(spec_file)


@pytest.fixture(scope="module")
def sliced(spec: dict[str, Any]) -> dict[str, Any]:
    return openapi.slice_spec(spec)


@pytest.fixture(scope="module")
def first_build(
    spec_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[str]]:
    dest = tmp_path_factory.mktemp("first") / "openai"
    openapi.generate(spec_file, dest, source_label="openai/openai-openapi@test")
    return dest, openapi.surface(spec_file)


def _files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.glob("*.py"))}


# -- the slice --------------------------------------------------------------------


RESPONSES_PATHS = {
    "/responses",
    "/responses/{response_id}",
    "/responses/{response_id}/cancel",
    "/responses/{response_id}/input_items",
}


def test_slice_keeps_exactly_the_assistants_and_responses_paths(
    spec: dict[str, Any], sliced: dict[str, Any]
) -> None:
    assistants = {p for p in spec["paths"] if p.split("/")[1] in ("assistants", "threads")}
    expected = assistants | RESPONSES_PATHS
    assert set(sliced["paths"]) == expected
    assert any(p.startswith("/threads/{thread_id}/runs") for p in expected)
    # The siblings the exact paths leave out are upstream (so leaving them out is a choice).
    left_out = {"/responses/compact", "/responses/input_tokens", "/responses?beta=true"}
    left_out |= {f"{p}?beta=true" for p in RESPONSES_PATHS - {"/responses"}}
    assert left_out <= set(spec["paths"])
    assert set(openapi.slice_spec(spec, [openapi.ASSISTANTS])["paths"]) == assistants
    assert "ResponseStreamEvent" in sliced["components"]["schemas"]
    for path in expected:  # every operation kept
        assert sliced["paths"][path] == spec["paths"][path]
    assert sliced["openapi"] == spec["openapi"]
    assert sliced["info"] == spec["info"]
    assert set(sliced) == {"openapi", "info", "paths", "components"}


def test_every_ref_resolves_inside_the_slice(sliced: dict[str, Any]) -> None:
    refs = set(_spec.iter_refs(sliced))
    assert refs
    for ref in refs:
        section, name = _spec.split_ref(ref)
        assert name in sliced["components"][section], ref
    # Nothing unreachable is kept.
    reachable = {_spec.split_ref(r)[1] for r in refs} | set(_spec.SLICE_EXTRA_SCHEMAS)
    assert set(sliced["components"]["schemas"]) <= reachable


def test_stream_event_schemas_are_in_the_slice(sliced: dict[str, Any]) -> None:
    for name in STREAM_EVENT_SCHEMAS:
        assert name in sliced["components"]["schemas"], name


def test_an_exact_path_missing_upstream_fails(spec: dict[str, Any]) -> None:
    part = _spec.SlicePart("x", paths=("/responses/{response_id}/pause",))
    with pytest.raises(GenerationError, match=r"the x path /responses/\{response_id\}/pause"):
        openapi.slice_spec(spec, [openapi.ASSISTANTS, part])


# The previous spec predates the Responses API: the slice of both parts fails, the pipeline
# leaves the Responses part out (none of its paths is there), with its names and overlay.
def test_slice_of_the_previous_spec() -> None:
    previous = _previous_spec()
    loaded = _spec.load_spec(previous)
    with pytest.raises(GenerationError, match=r"the responses path /responses is not in the spec"):
        openapi.slice_spec(loaded)
    sliced = openapi.slice_spec(loaded, [openapi.ASSISTANTS])
    assert sliced["openapi"].startswith("3.0")
    assert "/threads/{thread_id}/runs" in sliced["paths"]
    for name in STREAM_EVENT_SCHEMAS:
        assert name in sliced["components"]["schemas"], name


# -- nullable normalisation -------------------------------------------------------------


def test_nullable_is_normalised_to_31() -> None:
    doc = {
        "openapi": "3.0.0",
        "components": {
            "schemas": {
                "A": {
                    "type": "object",
                    "properties": {
                        "s": {"type": "string", "nullable": True},
                        "r": {"allOf": [{"$ref": "#/components/schemas/B"}, {"nullable": True}]},
                        "e": {"type": "string", "enum": ["x", "y", None]},
                    },
                },
                "B": {"type": "object", "properties": {"n": {"type": "integer"}}},
            }
        },
    }
    props = _spec.normalise_nullable(doc)["components"]["schemas"]["A"]["properties"]
    assert props["s"] == {"type": ["string", "null"]}
    assert props["r"] == {"anyOf": [{"$ref": "#/components/schemas/B"}, {"type": "null"}]}
    assert props["e"] == {"anyOf": [{"type": "string", "enum": ["x", "y"]}, {"type": "null"}]}


# -- which optional properties admit no null ------------------------------------------------

_REFS = {
    "Obj": {"type": "object", "properties": {"a": {"type": "string"}}},
    "Maybe": {"anyOf": [{"$ref": "#/components/schemas/Obj"}, {"type": "null"}]},
    "Loop": {"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Loop"}}},
}


@pytest.mark.parametrize(
    ("schema", "admits"),
    [
        ({}, True),
        ({"description": "anything"}, True),
        (True, True),
        (False, False),
        ({"type": "string"}, False),
        ({"type": ["string", "null"]}, True),
        ({"type": "null"}, True),
        ({"enum": ["a", "b"]}, False),
        ({"enum": ["a", None]}, True),
        ({"const": "x"}, False),
        ({"const": None}, True),
        ({"$ref": "#/components/schemas/Obj"}, False),
        ({"$ref": "#/components/schemas/Maybe"}, True),
        ({"$ref": "#/components/schemas/Loop"}, False),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, False),
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, True),
        ({"oneOf": [{"type": "null"}, {"type": ["integer", "null"]}]}, False),  # two match
        ({"allOf": [{"type": ["string", "null"]}, {"type": "string"}]}, False),
        ({"allOf": [{"type": ["string", "null"]}, {"description": "d"}]}, True),
        ({"not": {"type": "null"}}, False),
        ({"properties": {"a": {"type": "string"}}}, True),  # no type: null is valid
        ({"type": "object", "properties": {"a": {"type": "string"}}}, False),
    ],
)
def test_admits_null_decides_as_json_schema_does(schema: Any, admits: bool) -> None:
    assert _nulls.admits_null(schema, _REFS) is admits


def test_nullability_table_lists_the_optional_properties_that_admit_no_null(
    first_build: tuple[Path, list[str]],
) -> None:
    """The table is the one fact the models lose: every entry is an optional property of the
    generated models (not required, typed ``| None`` like a nullable one), and the nullable
    ones are absent."""
    dest, surface = first_build
    table = runpy.run_path(str(dest / "_nullability.py"))["NOT_NULLABLE"]
    assert list(table) == sorted(table)
    assert table["CreateMessageRequestAttachmentsItem"] == {"file_id", "tools"}
    assert table["ResponseFormatJsonSchemaJsonSchema"] == {"description", "schema"}
    assert table["CreateThreadRequest"] == {"messages"}
    assert {"description", "parameters"} <= table["FunctionObject"]
    assert "CreateMessageRequest" not in table  # attachments and metadata are nullable
    assert "ModifyRunRequest" not in table  # metadata is nullable
    facts = {line.split(":", 1)[0]: line for line in surface if line.startswith("property ")}
    for model, props in table.items():
        for prop in props:
            fact = facts[f"property {model}.{prop}"]
            assert " required" not in fact, fact
    assert "property CreateMessageRequest.role" in facts
    assert "role" not in table.get("CreateMessageRequest", ())


def test_surface_takes_required_and_nullable_from_the_spec(
    first_build: tuple[Path, list[str]],
) -> None:
    """The models type every optional property ``X | None``; the surface says what the spec
    says: an optional property the table lists is not nullable, a nullable one is."""
    dest, surface = first_build
    table = runpy.run_path(str(dest / "_nullability.py"))["NOT_NULLABLE"]
    facts = {line.split(":", 1)[0]: line for line in surface if line.startswith("property ")}
    listed = [facts[f"property {model}.{prop}"] for model, props in table.items() for prop in props]
    assert listed
    assert not any(" nullable" in fact for fact in listed)
    assert facts["property ModifyRunRequest.metadata"] == (
        "property ModifyRunRequest.metadata: Metadata nullable"
    )
    assert facts["property CreateThreadRequest.messages"] == (
        "property CreateThreadRequest.messages: list[CreateMessageRequest]"
    )


def test_surface_records_constraints_and_defaults(first_build: tuple[Path, list[str]]) -> None:
    _, surface = first_build
    facts = {line.split(":", 1)[0]: line for line in surface if line.startswith("property ")}
    # maxItems is pydantic's max_length on a list.
    name = "CreateThreadRequestToolResourcesFileSearchVectorStoresItem.file_ids"
    assert facts[f"property {name}"].endswith(' {"max_length": 100000000}')
    assert facts["property AssistantObject.temperature"].endswith(
        ' nullable {"default": 1, "ge": 0.0, "le": 2.0}'
    )
    # Every constraint block is JSON with sorted keys, after the flags.
    for fact in facts.values():
        if ' {"' in fact:
            block = fact[fact.index(' {"') + 1 :]
            assert list(json.loads(block)) == sorted(json.loads(block)), fact


def test_nullability_table_and_models_cannot_drift() -> None:
    """A property the table would list must be an optional field of the generated class."""
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}}
    shaped = Shaped(doc={"components": {"schemas": {"A": schema}}}, classes={"A"})
    optional = "class A(BaseModel):\n    a: str | None = None\n    b: str | None = Field(None)\n"
    assert _nulls.not_nullable(shaped, optional) == {"A": ("a", "b")}
    required = "class A(BaseModel):\n    a: str | None = None\n    b: str = Field(...)\n"
    with pytest.raises(GenerationError, match=r"A\.b is optional in the spec but not in"):
        _nulls.not_nullable(shaped, required)
    aliased = "class A(BaseModel):\n    a: str | None = None\n"
    aliased += '    b_: str | None = Field(None, alias="b")\n'
    assert _nulls.not_nullable(shaped, aliased) == {"A": ("a", "b")}


# -- the overlay ----------------------------------------------------------------------------


def _doc() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "paths": {"/x/{id}": {"get": {"operationId": "getX"}}},
        "components": {
            "schemas": {
                "X": {
                    "type": "object",
                    "required": ["a", "b"],
                    "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
                }
            }
        },
    }


def _overlay(*actions: dict[str, Any]) -> dict[str, Any]:
    return {"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": list(actions)}


def test_overlay_updates_and_removes() -> None:
    doc = _doc()
    out = openapi.apply_overlay(
        doc,
        _overlay(
            {
                "target": "$.components.schemas.X.properties.a",
                "description": "nullable in practice",
                "update": {"type": ["string", "null"]},
            },
            {
                "target": "$.components.schemas.X.required[?(@ == 'b')]",
                "description": "omitted in practice",
                "remove": True,
            },
            {
                "target": "$.paths['/x/{id}'].get",
                "description": "bracket selector",
                "update": {"summary": "s"},
            },
        ),
    )
    schema = out["components"]["schemas"]["X"]
    assert schema["properties"]["a"] == {"type": ["string", "null"]}
    assert schema["required"] == ["a"]
    assert out["paths"]["/x/{id}"]["get"]["summary"] == "s"
    assert doc == _doc()  # the input is not modified


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            {"target": "$.components.schemas.Gone.properties.a", "description": "r", "update": {}},
            "target no longer exists upstream",
        ),
        (
            {
                "target": "$.components.schemas.X.required[?(@ == 'c')]",
                "description": "r",
                "remove": True,
            },
            "target no longer exists upstream",
        ),
        (
            {
                "target": "$.components.schemas.X.properties.a",
                "description": "r",
                "update": {"type": "string"},
            },
            "no longer changes anything",
        ),
        ({"target": "$.components.schemas.X", "update": {"title": "t"}}, "needs a 'description'"),
        ({"target": "$..X", "description": "r", "update": {}}, "unsupported selector"),
    ],
)
def test_overlay_fails_loudly(action: dict[str, Any], message: str) -> None:
    with pytest.raises(GenerationError, match=re.escape(message)) as info:
        openapi.apply_overlay(_doc(), _overlay(action))
    assert "overlay action 1" in str(info.value) or "selector" in str(info.value)
    assert "\n" not in str(info.value)


def test_an_overlay_action_of_a_part_applies_only_with_that_part() -> None:
    action = {
        "target": "$.components.schemas.X.required[?(@ == 'b')]",
        "description": "b is optional in the newer API",
        "x-slice": "responses",
        "remove": True,
    }

    def required(parts: list[_spec.SlicePart] | tuple[_spec.SlicePart, ...]) -> Any:
        return openapi.apply_overlay(_doc(), _overlay(action), parts)["components"]["schemas"]["X"][
            "required"
        ]

    assert required(openapi.SLICE) == ["a"]
    assert required([openapi.ASSISTANTS]) == ["a", "b"]
    with pytest.raises(GenerationError, match="x-slice 'nope' is not a part of the slice"):
        openapi.apply_overlay(_doc(), _overlay({**action, "x-slice": "nope"}))


def test_committed_overlay_applies_to_the_current_spec(spec: dict[str, Any]) -> None:
    overlay = _spec.load_yaml(openapi.OVERLAY_FILE)
    assert overlay["actions"], "the overlay is expected to carry the reviewed corrections"
    for action in overlay["actions"]:
        assert action["description"].strip()
    openapi.apply_overlay(spec, overlay)


# -- names ------------------------------------------------------------------------------------


def test_stale_naming_map_entry_fails(spec_file: Path, tmp_path: Path) -> None:
    names = tmp_path / "names.toml"
    text = openapi.NAMES_FILE.read_text(encoding="utf-8")
    names.write_text(text + '\n"RunObject.no_such_property" = "Nothing"\n', encoding="utf-8")
    with pytest.raises(GenerationError, match=r"RunObject\.no_such_property.*no longer matches"):
        openapi.prepare(spec_file, names_file=names)


def test_naming_tables_belong_to_their_part(tmp_path: Path) -> None:
    names = tmp_path / "names.toml"
    names.write_text('[names]\n"A.b" = "AB"\n[responses-names]\n"C.d" = "CD"\n', "utf-8")
    assert _shape.load_names(names) == {"A.b": "AB"}
    assert _shape.load_names(names, ["names", "responses-names"]) == {"A.b": "AB", "C.d": "CD"}
    names.write_text('[names]\n"A.b" = "AB"\n[responses-names]\n"A.b" = "AB"\n', "utf-8")
    with pytest.raises(GenerationError, match=r"entry 'A\.b' is in two tables"):
        _shape.load_names(names, ["names", "responses-names"])


def _object(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": sorted(props)}


def test_a_component_name_that_is_no_class_name_is_renamed_by_the_map() -> None:
    schemas = {"A-2": _object(a={"type": "string"}), "B": _object(x={"$ref": f"{_shape.REF}A-2"})}
    doc = {"openapi": "3.1.0", "paths": {}, "components": {"schemas": schemas}}
    with pytest.raises(GenerationError, match=r"schema name 'A-2' .* is not a class name"):
        _shape.shape(doc, {})
    shaped = _shape.shape(doc, {"A-2": "Alpha"})
    assert {"Alpha", "B"} <= shaped.classes
    assert shaped.doc["components"]["schemas"]["B"]["properties"]["x"]["$ref"].endswith("/Alpha")


def test_the_wider_union_rule_is_off_for_the_narrow_part() -> None:
    """Several tags per variant and tags shared by variants (told apart by `role`) make a tagged
    union under the wider rule only; the narrow part keeps its plain alias."""
    ref = _shape.REF
    schemas = {
        "Web": _object(type={"type": "string", "enum": ["web", "web_2025"]}),
        "In": _object(
            type={"type": "string", "enum": ["message"]},
            role={"type": "string", "enum": ["user", "system"]},
        ),
        "Out": _object(
            type={"type": "string", "enum": ["message"]}, role={"type": "string", "enum": ["bot"]}
        ),
        "Item": {"oneOf": [{"$ref": f"{ref}{n}"} for n in ("Web", "In", "Out")]},
    }
    doc = {"openapi": "3.1.0", "paths": {}, "components": {"schemas": schemas}}
    wide = _shape.shape(doc, {})
    union = wide.unions["Item"]
    assert union.members == (("web", "Web"), ("web_2025", "Web"))
    assert union.shared == (("message", "In"), ("message", "Out"))
    assert union.sub_tags == (("message", "role"),)
    role = wide.doc["components"]["schemas"]["In"]["properties"]["role"]  # literals, no enum
    assert role["anyOf"] == [{"type": "string", "enum": [v]} for v in ("user", "system")]
    narrow = _shape.shape(doc, {}, narrow=frozenset(schemas))
    assert "Item" not in narrow.unions


def test_missing_name_fails(spec_file: Path, tmp_path: Path) -> None:
    names = tmp_path / "names.toml"
    kept = [
        line
        for line in openapi.NAMES_FILE.read_text(encoding="utf-8").splitlines()
        if not line.startswith('"AssistantsApiToolChoiceOption|0"')
    ]
    names.write_text("\n".join(kept) + "\n", encoding="utf-8")
    with pytest.raises(
        GenerationError, match=r"no derivable name .*AssistantsApiToolChoiceOption\|0"
    ):
        openapi.prepare(spec_file, names_file=names)


def test_no_numbered_class_names(first_build: tuple[Path, list[str]]) -> None:
    dest, _ = first_build
    classes = []  # over every module: the models are split between _runs.py and models.py
    for path in sorted(dest.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        classes += [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    assert len(classes) > 150
    assert len(classes) == len(set(classes))
    numbered = [
        c for c in classes if re.search(r"[A-Za-z]\d+$", c) and c not in ALLOWED_TRAILING_DIGITS
    ]
    assert numbered == []
    for expected in ("RunObject", "RunObjectStatus", "AssistantToolsCode", "UnknownAssistantTool"):
        assert expected in classes


# -- generate and surface -------------------------------------------------------------------------


def test_generated_files_start_with_the_header(first_build: tuple[Path, list[str]]) -> None:
    dest, _ = first_build
    for name, data in _files(dest).items():
        text = data.decode("utf-8")
        assert text.startswith("# generated by runbind codegen — do not edit.\n"), name
        assert (
            "openai/openai-openapi@test openapi.yaml (Assistants and Responses slice)"
            in (text.splitlines()[1])
        )
        assert str(ROOT) not in text
        assert "/tmp" not in text
        assert not re.search(r"\b20\d\d-\d\d-\d\dT", text), name


def test_generate_and_surface_are_deterministic(
    spec_file: Path, first_build: tuple[Path, list[str]], tmp_path: Path
) -> None:
    dest, surface = first_build
    openapi._SURFACE_CACHE.clear()
    second = tmp_path / "openai"
    openapi.generate(spec_file, second, source_label="openai/openai-openapi@test")
    assert _files(second) == _files(dest)
    assert openapi.surface(spec_file) == surface


def test_surface_lists_facts(first_build: tuple[Path, list[str]]) -> None:
    _, surface = first_build
    assert surface == sorted(surface)
    assert len(surface) == len(set(surface))
    assert "path POST /threads/{thread_id}/runs createRun" in surface
    assert "model RunObject" in surface
    assert "enum RunObjectStatus = queued" in surface
    assert any(
        line.startswith("property RunObject.status: RunObjectStatus required") for line in surface
    )
    assert any(
        line.startswith("property RunObject.usage: RunCompletionUsage") and "nullable" in line
        for line in surface
    )
    union = next(line for line in surface if line.startswith("union AssistantStreamEvent ="))
    assert "UnknownAssistantStreamEvent discriminator event" in union
    # The Responses part: its paths, its event union on `type`, and the Assistants part's
    # plain alias left as it was (the wider union rule is the Responses part's only).
    assert "path POST /responses createResponse" in surface
    union = next(line for line in surface if line.startswith("union ResponseStreamEvent ="))
    assert union.endswith("| UnknownResponseStreamEvent discriminator type")
    assert union.count(" | ") == 58
    assert any(line.startswith("alias AssistantsApiToolChoiceOption = ") for line in surface)
    assert "enum ResponseStatus = queued" in surface
    kinds = {line.split(" ", 1)[0] for line in surface}
    assert kinds == {"path", "model", "property", "enum", "union", "alias"}


def test_generate_refuses_a_non_empty_destination(spec_file: Path, tmp_path: Path) -> None:
    (tmp_path / "stale.py").write_text("", encoding="utf-8")
    with pytest.raises(GenerationError, match="not empty"):
        openapi.generate(spec_file, tmp_path, source_label="x")


def _previous_spec() -> Path:
    env = os.environ.get("RUNBIND_SPECS_OPENAI_PREVIOUS")
    path = Path(env) if env else MIRROR_PREVIOUS
    if not path.exists():
        pytest.skip(f"previous spec not available at {path} (set RUNBIND_SPECS_OPENAI_PREVIOUS)")
    return path


def test_previous_spec_generates_and_imports(tmp_path: Path) -> None:
    previous = _previous_spec()
    package = tmp_path / "runbind_generated"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    openapi.generate(
        previous,
        package / "openai",
        source_label=f"openai/openai-openapi@{PREVIOUS_COMMIT}",
    )  # without the Responses part, which that spec predates (its paths are all missing)
    check = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import runbind_generated.openai as o;"
        "from pydantic import TypeAdapter;"
        "assert o.__file__.startswith(sys.argv[1]);"
        "e = TypeAdapter(o.AssistantStreamEvent).validate_python({'event': 'x.y', 'data': {}});"
        "assert type(e).__name__ == 'UnknownAssistantStreamEvent';"
        "assert o.RunObjectStatus('new_status').value == 'new_status'"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", check, str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_every_model_config_is_declared_a_class_variable() -> None:
    """Declared as pydantic's base declares it: unannotated, pyright's --verifytypes counted
    every model (and what returns one) as of ambiguous type."""
    package = ROOT / "generated" / "runbind_generated" / "openai"
    found = 0
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign):
                assert [ast.unparse(t) for t in node.targets] != ["model_config"], path.name
            elif isinstance(node, ast.AnnAssign) and ast.unparse(node.target) == "model_config":
                assert ast.unparse(node.annotation) == "ClassVar[ConfigDict]", path.name
                found += 1
    assert found > 1  # the base and the models with their own (extra="forbid", ...)


def test_a_model_config_of_another_shape_fails_the_build() -> None:
    code = "class M(BaseModel):\n    model_config = dict(extra='forbid')\n"
    node = ast.parse(code).body[0]
    assert isinstance(node, ast.ClassDef)
    with pytest.raises(GenerationError, match=r"M\.model_config: its annotation"):
        _emit._annotate_model_config(node, code.splitlines(keepends=True))
