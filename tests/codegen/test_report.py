"""codegen.report classifies every surface-index difference, implies the bump, renders md/JSON."""

from __future__ import annotations

import json

import pytest

from codegen import report
from codegen.report import (
    Change,
    Finding,
    Report,
    diff_surfaces,
    implied_bump,
    merge,
    parse_surface,
    unaccepted,
)

# --- synthetic surfaces in both formats ------------------------------------------------------

PROTO_BASE = """\
# runbind surface index of yandex-cloud/cloudapi (written by `nox -s generate`)
enum p.v1.Color
enum_value p.v1.Color.COLOR_UNSPECIFIED = 0
enum_value p.v1.Color.RED = 1
field p.v1.Run.id = 1 singular string
field p.v1.Run.labels = 6 map<string,string>
field p.v1.Run.state = 2 singular p.v1.Run.State
field p.v1.Run.tags = 3 repeated string
field p.v1.Run.text = 4 singular string oneof Content
message p.v1.Run
message p.v1.Run.State
message p.v1.RunX
rpc p.v1.RunService.Get(p.v1.GetRunRequest) returns (p.v1.Run)
service p.v1.RunService
"""

OPENAPI_BASE = """\
# runbind surface index of openai/openai-openapi (written by `nox -s generate`)
alias Metadata = dict[str, str]
enum RunStatus = completed
enum RunStatus = queued
enum SupportedModels = gpt-4.1
model RunObject
model RunObjectX
model RunStatus (open enum)
model SupportedModels (open enum)
path GET /threads/{thread_id}/runs listRuns
path POST /threads/{thread_id}/runs createRun
property RunObject.id: str required
property RunObject.instructions: str nullable
property RunObject.metadata: Metadata nullable
property RunObject.model: str required
property RunObjectX.note: str
union Tool = CodeTool | FunctionTool | UnknownTool discriminator type
"""


def _edit(base: str, *, remove: tuple[str, ...] = (), add: tuple[str, ...] = ()) -> str:
    """``base`` without the lines in ``remove`` and with the lines in ``add``."""
    lines = base.splitlines()
    for line in remove:
        assert line in lines, line
        lines.remove(line)
    return "\n".join([*lines, *add]) + "\n"


def _replace(base: str, old: str, new: str) -> str:
    assert base.count(old + "\n") == 1, old
    return base.replace(old + "\n", new + "\n")


def _summary(changes: list[Change]) -> list[tuple[bool, str, str, str]]:
    return [(c.breaking, c.what, c.subject, c.detail) for c in changes]


# --- parsing ---------------------------------------------------------------------------------


def test_parse_proto_surface_keys_and_facts() -> None:
    facts = parse_surface(PROTO_BASE)
    assert facts[("message", "p.v1.Run")] == ""
    assert facts[("field", "p.v1.Run.id")] == "1 singular string"
    assert facts[("field", "p.v1.Run.text")] == "4 singular string oneof Content"
    assert facts[("enum_value", "p.v1.Color.RED")] == "1"
    assert facts[("enum", "p.v1.Color")] == ""
    assert facts[("service", "p.v1.RunService")] == ""
    rpc = facts[("rpc", "p.v1.RunService.Get")]
    assert rpc == "(p.v1.GetRunRequest) returns (p.v1.Run)"
    assert not any(kind.startswith("#") for kind, _ in facts), "comment lines are skipped"
    assert len(facts) == len(PROTO_BASE.splitlines()) - 1


def test_parse_openapi_surface_keys_and_facts() -> None:
    facts = parse_surface(OPENAPI_BASE)
    assert facts[("model", "RunObject")] == ""
    assert facts[("model", "RunStatus")] == "(open enum)"
    assert facts[("enum_member", "RunStatus.queued")] == ""
    assert facts[("enum_member", "SupportedModels.gpt-4.1")] == ""
    assert facts[("property", "RunObject.id")] == "str required"
    assert facts[("property", "RunObjectX.note")] == "str"
    assert facts[("path", "GET /threads/{thread_id}/runs")] == "listRuns"
    assert facts[("alias", "Metadata")] == "dict[str, str]"
    assert facts[("union", "Tool")] == "CodeTool | FunctionTool | UnknownTool discriminator type"


def test_identical_or_reordered_surfaces_have_no_changes() -> None:
    assert diff_surfaces(PROTO_BASE, PROTO_BASE) == []
    shuffled = "\n".join(reversed(OPENAPI_BASE.splitlines())) + "\n\n"
    assert diff_surfaces(OPENAPI_BASE, shuffled) == []
    assert implied_bump([]) == "none"


# --- protobuf: added / removed ---------------------------------------------------------------

PROTO_MEMBERS = [
    ("message p.v1.Extra", "message", "p.v1.Extra", ""),
    (
        "field p.v1.Run.usage = 8 singular p.v1.Usage",
        "field",
        "p.v1.Run.usage",
        "8 singular p.v1.Usage",
    ),
    ("enum p.v1.Shade", "enum", "p.v1.Shade", ""),
    ("enum_value p.v1.Color.BLUE = 2", "enum value", "p.v1.Color.BLUE", "2"),
    ("service p.v1.OtherService", "service", "p.v1.OtherService", ""),
    (
        "rpc p.v1.RunService.Cancel(p.v1.CancelRequest) returns (stream p.v1.Run)",
        "RPC",
        "p.v1.RunService.Cancel",
        "(p.v1.CancelRequest) returns (stream p.v1.Run)",
    ),
]


@pytest.mark.parametrize(("line", "label", "subject", "detail"), PROTO_MEMBERS)
def test_proto_addition_is_additive(line: str, label: str, subject: str, detail: str) -> None:
    changes = diff_surfaces(PROTO_BASE, _edit(PROTO_BASE, add=(line,)))
    assert _summary(changes) == [(False, f"{label} added", subject, detail)]
    assert implied_bump(changes) == "minor"


@pytest.mark.parametrize(("line", "label", "subject", "detail"), PROTO_MEMBERS)
def test_proto_removal_is_breaking(line: str, label: str, subject: str, detail: str) -> None:
    old = _edit(PROTO_BASE, add=(line,))
    changes = diff_surfaces(old, PROTO_BASE)
    assert _summary(changes) == [(True, f"{label} removed", subject, detail)]
    assert implied_bump(changes) == "major"


# --- protobuf: changed -----------------------------------------------------------------------

FIELD_CHANGES = [
    (
        "field p.v1.Run.id = 1 singular string",
        "field p.v1.Run.id = 9 singular string",
        [("field renumbered", "1 → 9")],
    ),
    (
        "field p.v1.Run.id = 1 singular string",
        "field p.v1.Run.id = 1 singular bytes",
        [("field type changed", "string → bytes")],
    ),
    (
        "field p.v1.Run.id = 1 singular string",
        "field p.v1.Run.id = 1 repeated string",
        [("field cardinality changed", "singular → repeated")],
    ),
    (
        "field p.v1.Run.id = 1 singular string",
        "field p.v1.Run.id = 1 optional string",
        [("field cardinality changed", "singular → optional")],
    ),
    (
        "field p.v1.Run.id = 1 singular string",
        "field p.v1.Run.id = 1 singular string oneof Ident",
        [("field oneof changed", "none → Ident")],
    ),
    (
        "field p.v1.Run.text = 4 singular string oneof Content",
        "field p.v1.Run.text = 4 singular string oneof Body",
        [("field oneof changed", "Content → Body")],
    ),
    (
        "field p.v1.Run.text = 4 singular string oneof Content",
        "field p.v1.Run.text = 4 singular string",
        [("field oneof changed", "Content → none")],
    ),
    (
        "field p.v1.Run.tags = 3 repeated string",
        "field p.v1.Run.tags = 5 singular int64",
        [
            ("field cardinality changed", "repeated → singular"),
            ("field renumbered", "3 → 5"),
            ("field type changed", "string → int64"),
        ],
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), FIELD_CHANGES)
def test_field_changes_are_breaking_with_detail(
    old: str, new: str, expected: list[tuple[str, str]]
) -> None:
    changes = diff_surfaces(PROTO_BASE, _replace(PROTO_BASE, old, new))
    subject = old.split(" ")[1]
    assert _summary(changes) == [(True, what, subject, detail) for what, detail in expected]
    assert implied_bump(changes) == "major"


@pytest.mark.parametrize(
    "new",
    [
        "field p.v1.Run.labels = 7 map<string,string>",
        "field p.v1.Run.labels = 6 map<string,int64>",
        "field p.v1.Run.labels = 6 singular string",
    ],
)
def test_a_changed_map_field_is_reported(new: str) -> None:
    old = "field p.v1.Run.labels = 6 map<string,string>"
    changes = diff_surfaces(PROTO_BASE, _replace(PROTO_BASE, old, new))
    assert changes
    assert all(c.breaking and c.subject == "p.v1.Run.labels" for c in changes)


def test_enum_value_renumbered_is_breaking() -> None:
    new = _replace(PROTO_BASE, "enum_value p.v1.Color.RED = 1", "enum_value p.v1.Color.RED = 3")
    assert _summary(diff_surfaces(PROTO_BASE, new)) == [
        (True, "enum value renumbered", "p.v1.Color.RED", "1 → 3")
    ]


def test_rpc_signature_change_is_breaking() -> None:
    old = "rpc p.v1.RunService.Get(p.v1.GetRunRequest) returns (p.v1.Run)"
    new = "rpc p.v1.RunService.Get(p.v1.GetRunRequest) returns (stream p.v1.Run)"
    changes = diff_surfaces(PROTO_BASE, _replace(PROTO_BASE, old, new))
    assert [(c.breaking, c.what, c.subject) for c in changes] == [
        (True, "RPC changed", "p.v1.RunService.Get")
    ]
    assert "stream p.v1.Run" in changes[0].detail


# --- protobuf: containers ----------------------------------------------------------------------


def test_removed_message_is_reported_once_not_per_field() -> None:
    fields = [line for line in PROTO_BASE.splitlines() if line.startswith("field p.v1.Run.")]
    new = _edit(PROTO_BASE, remove=("message p.v1.Run", "message p.v1.Run.State", *fields))
    changes = diff_surfaces(PROTO_BASE, new)
    assert [(c.what, c.subject) for c in changes] == [
        ("message removed", "p.v1.Run"),
        ("message removed", "p.v1.Run.State"),
    ]


def test_removed_enum_and_service_cover_their_members() -> None:
    new = _edit(
        PROTO_BASE,
        remove=(
            "enum p.v1.Color",
            "enum_value p.v1.Color.COLOR_UNSPECIFIED = 0",
            "enum_value p.v1.Color.RED = 1",
            "service p.v1.RunService",
            "rpc p.v1.RunService.Get(p.v1.GetRunRequest) returns (p.v1.Run)",
        ),
    )
    changes = diff_surfaces(PROTO_BASE, new)
    assert [(c.breaking, c.what, c.subject) for c in changes] == [
        (True, "enum removed", "p.v1.Color"),
        (True, "service removed", "p.v1.RunService"),
    ]


def test_added_containers_cover_their_members() -> None:
    new = _edit(
        PROTO_BASE,
        add=(
            "message p.v1.Usage",
            "field p.v1.Usage.input_tokens = 1 singular int64",
            "field p.v1.Usage.output_tokens = 2 singular int64",
            "enum p.v1.Mode",
            "enum_value p.v1.Mode.MODE_UNSPECIFIED = 0",
            "service p.v1.UsageService",
            "rpc p.v1.UsageService.Get(p.v1.Run) returns (p.v1.Usage)",
        ),
    )
    changes = diff_surfaces(PROTO_BASE, new)
    assert [(c.breaking, c.what, c.subject) for c in changes] == [
        (False, "enum added", "p.v1.Mode"),
        (False, "message added", "p.v1.Usage"),
        (False, "service added", "p.v1.UsageService"),
    ]


def test_a_name_sharing_a_prefix_with_a_removed_message_is_still_reported() -> None:
    # p.v1.RunX is not a member of p.v1.Run: removing Run must not hide a change of RunX.
    old = _edit(PROTO_BASE, add=("field p.v1.RunX.note = 1 singular string",))
    fields = [line for line in PROTO_BASE.splitlines() if line.startswith("field p.v1.Run.")]
    new = _edit(PROTO_BASE, remove=("message p.v1.Run", *fields))
    assert [(c.what, c.subject) for c in diff_surfaces(old, new)] == [
        ("field removed", "p.v1.RunX.note"),
        ("message removed", "p.v1.Run"),
    ]


# --- OpenAPI: added / removed ----------------------------------------------------------------

OPENAPI_MEMBERS = [
    ("model ErrorResponse", "schema", "ErrorResponse", ""),
    ("property RunObject.usage: RunObjectUsage nullable", "property", "RunObject.usage", ""),
    ("enum RunStatus = expired", "enum value", "RunStatus.expired", ""),
    ("enum SupportedModels = gpt-5.1-mini", "enum value", "SupportedModels.gpt-5.1-mini", ""),
    (
        "path DELETE /threads/{thread_id}/runs deleteRuns",
        "operation",
        "DELETE /threads/{thread_id}/runs",
        "deleteRuns",
    ),
    ("alias Labels = dict[str, str]", "alias", "Labels", "dict[str, str]"),
]


@pytest.mark.parametrize(("line", "label", "subject", "detail"), OPENAPI_MEMBERS)
def test_openapi_addition_is_additive(line: str, label: str, subject: str, detail: str) -> None:
    changes = diff_surfaces(OPENAPI_BASE, _edit(OPENAPI_BASE, add=(line,)))
    assert len(changes) == 1
    change = changes[0]
    assert (change.breaking, change.what, change.subject) == (False, f"{label} added", subject)
    if detail:
        assert change.detail == detail


@pytest.mark.parametrize(("line", "label", "subject", "detail"), OPENAPI_MEMBERS)
def test_openapi_removal_is_breaking(line: str, label: str, subject: str, detail: str) -> None:
    changes = diff_surfaces(_edit(OPENAPI_BASE, add=(line,)), OPENAPI_BASE)
    assert len(changes) == 1
    change = changes[0]
    assert (change.breaking, change.what, change.subject) == (True, f"{label} removed", subject)
    if detail:
        assert change.detail == detail
    assert implied_bump(changes) == "major"


def test_removed_operations_are_breaking_per_method() -> None:
    new = _edit(
        OPENAPI_BASE,
        remove=(
            "path GET /threads/{thread_id}/runs listRuns",
            "path POST /threads/{thread_id}/runs createRun",
        ),
    )
    assert _summary(diff_surfaces(OPENAPI_BASE, new)) == [
        (True, "operation removed", "GET /threads/{thread_id}/runs", "listRuns"),
        (True, "operation removed", "POST /threads/{thread_id}/runs", "createRun"),
    ]


def test_required_property_added_is_breaking_optional_is_not() -> None:
    new = _edit(
        OPENAPI_BASE,
        add=("property RunObject.status: RunStatus required", "property RunObject.note: str"),
    )
    assert _summary(diff_surfaces(OPENAPI_BASE, new)) == [
        (True, "required property added", "RunObject.status", "RunStatus required"),
        (False, "property added", "RunObject.note", "str"),
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "property RunObject.instructions: str nullable",
            "property RunObject.instructions: str required nullable",
            [(True, "property became required")],
        ),
        (
            "property RunObject.id: str required",
            "property RunObject.id: str",
            [(True, "property no longer required")],
        ),
        (
            "property RunObject.id: str required",
            "property RunObject.id: str required nullable",
            [(True, "property became nullable")],
        ),
        (
            "property RunObject.instructions: str nullable",
            "property RunObject.instructions: str",
            [(False, "property no longer nullable")],
        ),
        (
            "property RunObject.id: str required",
            "property RunObject.id: int | str",
            [(True, "property no longer required"), (True, "property type changed")],
        ),
    ],
)
def test_property_flag_changes(old: str, new: str, expected: list[tuple[bool, str]]) -> None:
    changes = diff_surfaces(OPENAPI_BASE, _replace(OPENAPI_BASE, old, new))
    subject = old.split(" ")[1].rstrip(":")
    assert [(c.breaking, c.what) for c in changes] == expected
    assert all(c.subject == subject for c in changes)


FILE_IDS = "property CreateRunRequest.file_ids: list[str] required"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # The case: maxItems 10000 -> 100000000 accepts more (pydantic: max_length).
        ('{"max_length": 10000}', '{"max_length": 100000000}', [(False, "loosened")]),
        ('{"max_length": 100000000}', '{"max_length": 10000}', [(True, "tightened")]),
        ('{"min_length": 1}', '{"min_length": 2}', [(True, "tightened")]),
        ('{"ge": 1}', '{"ge": 0}', [(False, "loosened")]),
        ('{"le": 2}', '{"le": 1}', [(True, "tightened")]),
        ("", '{"pattern": "^a"}', [(True, "added")]),
        ('{"pattern": "^a"}', "", [(False, "removed")]),
        ('{"pattern": "^a"}', '{"pattern": "^b"}', [(True, "changed")]),
        ('{"default": "auto"}', '{"default": "none"}', [(True, "default changed")]),
        (
            '{"max_length": 10, "min_length": 1}',
            '{"max_length": 20, "min_length": 2}',
            [(True, "min_length tightened"), (False, "max_length loosened")],
        ),
    ],
)
def test_constraint_changes(old: str, new: str, expected: list[tuple[bool, str]]) -> None:
    before = f"{FILE_IDS} {old}".rstrip()
    after = f"{FILE_IDS} {new}".rstrip()
    changes = diff_surfaces(_edit(OPENAPI_BASE, add=(before,)), _edit(OPENAPI_BASE, add=(after,)))
    assert [c.breaking for c in changes] == [breaking for breaking, _ in expected]
    for change, (_, words) in zip(changes, expected, strict=True):
        assert words in change.what, change
        assert change.subject == "CreateRunRequest.file_ids"
        assert " → " in change.detail
    if not old:
        assert changes[0].detail.startswith("none → ")


def test_constraint_detail_is_json() -> None:
    old = _edit(OPENAPI_BASE, add=(f'{FILE_IDS} {{"pattern": "^a"}}',))
    new = _edit(OPENAPI_BASE, add=(f'{FILE_IDS} {{"max_length": 20}}',))
    assert _summary(diff_surfaces(old, new)) == [
        (True, "constraint max_length added", "CreateRunRequest.file_ids", "none → 20"),
        (False, "constraint pattern removed", "CreateRunRequest.file_ids", '"^a" → none'),
    ]


def test_constraints_are_parsed_apart_from_flags() -> None:
    facts = parse_surface(f'{FILE_IDS} nullable {{"max_length": 20}}\n')
    assert facts[("property", "CreateRunRequest.file_ids")].endswith('{"max_length": 20}')
    # Only the flag changed: no constraint line, no type line.
    old = _edit(OPENAPI_BASE, add=(f'{FILE_IDS} {{"max_length": 20}}',))
    new = _edit(OPENAPI_BASE, add=(f'{FILE_IDS} nullable {{"max_length": 20}}',))
    assert [c.what for c in diff_surfaces(old, new)] == ["property became nullable"]


def test_property_type_change_detail() -> None:
    old = "property RunObject.metadata: Metadata nullable"
    new = "property RunObject.metadata: dict[str, Any] nullable"
    assert _summary(diff_surfaces(OPENAPI_BASE, _replace(OPENAPI_BASE, old, new))) == [
        (True, "property type changed", "RunObject.metadata", "Metadata → dict[str, Any]")
    ]


def test_union_members_and_discriminator() -> None:
    old = "union Tool = CodeTool | FunctionTool | UnknownTool discriminator type"
    new = "union Tool = FunctionTool | SearchTool | UnknownTool discriminator kind"
    changes = diff_surfaces(OPENAPI_BASE, _replace(OPENAPI_BASE, old, new))
    assert _summary(changes) == [
        (True, "union discriminator changed", "Tool", "type → kind"),
        (True, "union member removed", "Tool.CodeTool", ""),
        (False, "union member added", "Tool.SearchTool", ""),
    ]


def test_union_member_added_alone_is_additive() -> None:
    old = "union Tool = CodeTool | FunctionTool | UnknownTool discriminator type"
    new = "union Tool = CodeTool | FunctionTool | SearchTool | UnknownTool discriminator type"
    changes = diff_surfaces(OPENAPI_BASE, _replace(OPENAPI_BASE, old, new))
    assert _summary(changes) == [(False, "union member added", "Tool.SearchTool", "")]
    assert implied_bump(changes) == "minor"


def test_operation_id_change_is_additive_alias_change_breaking() -> None:
    new = _replace(
        OPENAPI_BASE,
        "path GET /threads/{thread_id}/runs listRuns",
        "path GET /threads/{thread_id}/runs listThreadRuns",
    )
    new = _replace(new, "alias Metadata = dict[str, str]", "alias Metadata = dict[str, Any]")
    assert _summary(diff_surfaces(OPENAPI_BASE, new)) == [
        (True, "alias changed", "Metadata", "dict[str, str] → dict[str, Any]"),
        (
            False,
            "operation id changed",
            "GET /threads/{thread_id}/runs",
            "listRuns → listThreadRuns",
        ),
    ]


# --- OpenAPI: containers -----------------------------------------------------------------------


def test_removed_schema_covers_its_properties_and_enum_values() -> None:
    new = _edit(
        OPENAPI_BASE,
        remove=(
            "model RunObject",
            "property RunObject.id: str required",
            "property RunObject.instructions: str nullable",
            "property RunObject.metadata: Metadata nullable",
            "property RunObject.model: str required",
            "model SupportedModels (open enum)",
            "enum SupportedModels = gpt-4.1",
        ),
    )
    assert _summary(diff_surfaces(OPENAPI_BASE, new)) == [
        (True, "schema removed", "RunObject", ""),
        (True, "schema removed", "SupportedModels", "(open enum)"),
    ]


def test_added_schema_covers_its_properties_and_dotted_enum_values() -> None:
    new = _edit(
        OPENAPI_BASE,
        add=(
            "model Reasoning (open enum)",
            "enum Reasoning = low",
            "enum Reasoning = o1.high",
            "model Usage",
            "property Usage.total_tokens: int required",
        ),
    )
    assert [(c.breaking, c.what, c.subject) for c in diff_surfaces(OPENAPI_BASE, new)] == [
        (False, "schema added", "Reasoning"),
        (False, "schema added", "Usage"),
    ]


def test_a_schema_sharing_a_prefix_with_a_removed_one_is_still_reported() -> None:
    new = _edit(OPENAPI_BASE, remove=("model RunObjectX", "property RunObject.model: str required"))
    # RunObject stays, RunObjectX goes: RunObject.model is a member of neither removal.
    assert [(c.what, c.subject) for c in diff_surfaces(OPENAPI_BASE, new)] == [
        ("property removed", "RunObject.model"),
        ("schema removed", "RunObjectX"),
    ]
    # RunObjectX.note is covered by its own schema's removal only.
    new = _edit(OPENAPI_BASE, remove=("model RunObjectX", "property RunObjectX.note: str"))
    assert [(c.what, c.subject) for c in diff_surfaces(OPENAPI_BASE, new)] == [
        ("schema removed", "RunObjectX")
    ]


# --- ordering, bump, key and line --------------------------------------------------------------


def test_changes_are_sorted_breaking_first_then_by_kind_and_subject() -> None:
    new = _edit(
        PROTO_BASE,
        remove=("enum_value p.v1.Color.RED = 1",),
        add=("message p.v1.B", "message p.v1.A", "field p.v1.Run.zz = 9 singular string"),
    )
    new = _replace(
        new, "field p.v1.Run.id = 1 singular string", "field p.v1.Run.id = 7 singular string"
    )
    changes = diff_surfaces(PROTO_BASE, new)
    assert [(c.breaking, c.what, c.subject) for c in changes] == [
        (True, "enum value removed", "p.v1.Color.RED"),
        (True, "field renumbered", "p.v1.Run.id"),
        (False, "field added", "p.v1.Run.zz"),
        (False, "message added", "p.v1.A"),
        (False, "message added", "p.v1.B"),
    ]
    assert implied_bump(changes) == "major"


def test_implied_bump() -> None:
    additive = Change(False, "field added", "p.M.f", "1 singular string")
    breaking = Change(True, "field removed", "p.M.g")
    assert implied_bump([]) == "none"
    assert implied_bump([additive]) == "minor"
    assert implied_bump([additive, breaking]) == "major"
    assert implied_bump(iter([breaking])) == "major"
    assert set(report.BUMPS) >= {"none", "minor", "major"}


def test_change_key_and_line() -> None:
    change = Change(True, "field renumbered", "p.M.f", "8 → 13")
    assert change.key == "field renumbered: p.M.f"
    assert change.line() == "- **BREAKING** field renumbered: `p.M.f` (`8` → `13`) [surface]"
    assert Change(False, "message added", "p.M").line() == "- message added: `p.M` [surface]"


def test_line_keeps_markdown_characters_in_code_spans() -> None:
    """A map type (``<...>`` would be an HTML tag) or a backtick renders as itself."""
    field = Change(False, "field added", "p.M.labels", "6 map<string,string>")
    assert field.line() == "- field added: `p.M.labels` (`6 map<string,string>`) [surface]"
    odd = Change(True, "buf X", "a.proto: `b`", "")
    assert odd.line() == "- **BREAKING** buf X: `` a.proto: `b` `` [surface]"


# --- Report ------------------------------------------------------------------------------------

OLD = "a" * 40
NEW = "b" * 40


def _report(changes: list[Change], findings: list[Finding] | None = None) -> Report:
    found = findings or []
    return Report(
        source="cloudapi",
        repository="https://github.com/yandex-cloud/cloudapi",
        old_commit=OLD,
        old_date="2025-01-27",
        new_commit=NEW,
        new_date="2026-07-23",
        changes=merge(changes, found),
        findings=found,
        compared=("surface", "buf") if findings is not None else ("surface",),
    )


BREAK = Change(True, "field removed", "p.v1.Run.usage", "8 singular p.v1.Usage")
ADD = Change(False, "message added", "p.v1.ResponseFormat")
RUN_PROTO = "p/v1/run.proto"
# What buf says about BREAK, and about a json_name that only buf sees.
DELETED = Finding(
    "buf",
    "FIELD_NO_DELETE",
    RUN_PROTO,
    'Previously present field "8" with name "usage" on message "Run" was deleted.',
    "p.v1",
)
JSON_NAME = Finding(
    "buf",
    "FIELD_SAME_JSON_NAME",
    RUN_PROTO,
    'Field "2" with name "assistant_id" on message "Run" changed option "json_name" from '
    '"assistantId" to "assistantID".',
    "p.v1",
)


def test_a_finding_about_a_surface_change_marks_that_line() -> None:
    (merged,) = merge([BREAK], [DELETED])
    assert merged.key == BREAK.key  # accepted-break entries keep working
    assert merged.sources == ("surface", "buf")
    assert merged.rules == ("FIELD_NO_DELETE",)
    assert merged.line().endswith("[surface, buf: FIELD_NO_DELETE]")


def test_a_finding_only_buf_sees_is_its_own_breaking_line() -> None:
    merged = merge([BREAK, ADD], [DELETED, JSON_NAME])
    assert len(merged) == 3
    own = merged[0]  # sorted: breaking first, then by kind ("buf ..." before "field ...")
    assert own.breaking
    assert own.key == f"buf FIELD_SAME_JSON_NAME: {RUN_PROTO}: {JSON_NAME.message}"
    assert (own.sources, own.rules) == (("buf",), ("FIELD_SAME_JSON_NAME",))
    assert own.line().endswith("[buf: FIELD_SAME_JSON_NAME]")
    assert merged[2] == ADD


def test_findings_match_by_number_package_and_nested_container() -> None:
    enum_value = Change(True, "enum value removed", "p.v1.RunState.RunStatus.TOOL_CALLS", "5")
    other_pkg = Change(True, "enum value removed", "q.v1.RunState.RunStatus.TOOL_CALLS", "5")
    renumbered = Change(True, "field renumbered", "p.v1.Run.usage", "8 → 13")
    finding = Finding(
        "buf",
        "ENUM_VALUE_NO_DELETE",
        "p/v1/state.proto",
        'Previously present enum value "5" on enum "RunStatus" was deleted.',
        "p.v1",
    )
    merged = merge([enum_value, other_pkg, renumbered], [finding, DELETED])
    assert [c.sources for c in merged] == [("surface", "buf"), ("surface",), ("surface", "buf")]
    # A container that only shares a suffix is another element.
    lookalike = Change(True, "field removed", "p.v1.OtherRun.usage", "8 singular string")
    assert [c.sources for c in merge([lookalike], [DELETED])] == [("buf",), ("surface",)]


def test_a_finding_names_the_rule_of_the_change_it_marks() -> None:
    type_changed = Change(True, "field type changed", "p.v1.Run.usage", "Usage → string")
    oneof_changed = Change(True, "field oneof changed", "p.v1.Run.usage", "none → u")
    finding = Finding(
        "buf",
        "FIELD_SAME_TYPE",
        RUN_PROTO,
        'Field "8" with name "usage" on message "Run" changed type from "message" to "string".',
        "p.v1",
    )
    merged = merge([type_changed, oneof_changed], [finding])
    assert [(c.what, c.sources) for c in merged] == [
        ("field oneof changed", ("surface",)),
        ("field type changed", ("surface", "buf")),
    ]


def test_removed_messages_and_rpcs_merge() -> None:
    message = Change(True, "message removed", "p.v1.Gone")
    rpc = Change(True, "RPC removed", "p.v1.RunService.Get", "(p.v1.A) returns (p.v1.B)")
    findings = [
        Finding(
            "buf",
            "MESSAGE_NO_DELETE",
            RUN_PROTO,
            'Previously present message "Gone" was deleted from file.',
            "p.v1",
        ),
        Finding(
            "buf",
            "RPC_NO_DELETE",
            RUN_PROTO,
            'Previously present RPC "Get" on service "RunService" was deleted.',
            "p.v1",
        ),
    ]
    assert [c.sources for c in merge([message, rpc], findings)] == [("surface", "buf")] * 2


def test_report_counts_each_change_once() -> None:
    assert _report([]).bump == "none"
    assert _report([ADD]).bump == "minor"
    assert _report([ADD, BREAK]).bump == "major"
    assert _report([ADD], [JSON_NAME]).bump == "major"
    both = _report([ADD, BREAK], [DELETED])
    assert len(both.all_changes) == 2
    assert sum(c.breaking for c in both.all_changes) == 1


def test_markdown_shape() -> None:
    text = _report([BREAK, ADD], [DELETED, JSON_NAME]).markdown()
    lines = text.splitlines()
    assert lines[0] == f"# Change report: cloudapi {OLD[:12]} → {NEW[:12]}"
    assert f"`{OLD}` (2025-01-27)" in lines[2]
    assert f"`{NEW}` (2026-07-23)" in lines[2]
    assert "https://github.com/yandex-cloud/cloudapi" in lines[2]
    assert "`buf breaking` (PACKAGE rules)" in lines[4]
    breaking_at = lines.index("## Breaking (2)")
    additive_at = lines.index("## Additive (1)")
    assert breaking_at < additive_at
    assert lines[breaking_at + 1] == lines[additive_at - 1] == ""  # lists set apart: they render
    breaking = lines[breaking_at:additive_at]
    assert sum("usage" in line for line in breaking) == 1
    assert any(line.endswith("[buf: FIELD_SAME_JSON_NAME]") for line in breaking)
    assert ADD.line() in lines[additive_at:]
    assert lines[-1] == "Implied version bump: **MAJOR**"
    assert text.endswith("\n")


def test_markdown_of_an_empty_report() -> None:
    text = _report([]).markdown()
    assert "## Breaking (0)\n\nNone.\n" in text
    assert "## Additive (0)\n\nNone.\n" in text
    assert "buf" not in text
    assert "Implied version bump: **NONE**" in text
    additive_only = _report([ADD]).markdown()
    assert "Implied version bump: **MINOR**" in additive_only
    assert "BREAKING" not in additive_only


def test_markdown_notes_are_quoted() -> None:
    report_ = _report([ADD])
    noted = Report(**{**report_.__dict__, "notes": ("buf breaking was not run.",)})
    assert "> buf breaking was not run.\n\n## Breaking (0)" in noted.markdown()


def test_json_shape() -> None:
    data = json.loads(_report([BREAK, ADD], [DELETED, JSON_NAME]).to_json())
    assert data["source"] == "cloudapi"
    assert data["repository"] == "https://github.com/yandex-cloud/cloudapi"
    assert data["from"] == {"commit": OLD, "date": "2025-01-27"}
    assert data["to"] == {"commit": NEW, "date": "2026-07-23"}
    assert data["bump"] == "major"
    assert data["compared"] == ["surface", "buf"]
    assert data["changes"][0] == {
        "breaking": True,
        "what": "buf FIELD_SAME_JSON_NAME",
        "subject": f"{RUN_PROTO}: {JSON_NAME.message}",
        "detail": "",
        "sources": ["buf"],
        "rules": ["FIELD_SAME_JSON_NAME"],
        "key": f"buf FIELD_SAME_JSON_NAME: {RUN_PROTO}: {JSON_NAME.message}",
    }
    assert data["changes"][1] == {
        "breaking": True,
        "what": "field removed",
        "subject": "p.v1.Run.usage",
        "detail": "8 singular p.v1.Usage",
        "sources": ["surface", "buf"],
        "rules": ["FIELD_NO_DELETE"],
        "key": "field removed: p.v1.Run.usage",
    }
    assert data["changes"][2]["key"] == "message added: p.v1.ResponseFormat"
    assert [Finding(**f) for f in data["findings"]] == [DELETED, JSON_NAME]
    assert json.loads(_report([]).to_json())["bump"] == "none"


def test_json_keeps_non_ascii_and_ends_with_newline() -> None:
    text = _report([Change(True, "field renumbered", "p.M.f", "8 → 13")]).to_json()
    assert "8 → 13" in text
    assert text.endswith("\n")


# --- unaccepted --------------------------------------------------------------------------------


def test_unaccepted_lists_only_breaking_changes_not_accepted() -> None:
    other = Change(True, "enum value removed", "p.v1.Color.RED", "1")
    changes = [BREAK, ADD, other]
    assert unaccepted(changes, {}) == [BREAK, other]
    assert unaccepted(changes, {BREAK.key: "upstream dropped it"}) == [other]
    assert unaccepted(changes, {BREAK.key: "r", other.key: "r"}) == []
    # Accepting an additive change or an unrelated key changes nothing; keys must match exactly.
    assert unaccepted(changes, {ADD.key: "r", "field removed: p.v1.Run": "r"}) == [BREAK, other]


def test_unaccepted_on_a_real_diff() -> None:
    new = _edit(
        PROTO_BASE, remove=("field p.v1.Run.tags = 3 repeated string",), add=("message p.v1.Z",)
    )
    changes = diff_surfaces(PROTO_BASE, new)
    assert [c.key for c in unaccepted(changes, {})] == ["field removed: p.v1.Run.tags"]
    assert unaccepted(changes, {"field removed: p.v1.Run.tags": "ok"}) == []


def test_an_rpc_signature_is_one_code_span() -> None:
    rpc = Change(False, "RPC added", "p.S.Get", "(p.GetRequest) returns (p.Run)")
    assert rpc.line() == "- RPC added: `p.S.Get` `(p.GetRequest) returns (p.Run)` [surface]"
