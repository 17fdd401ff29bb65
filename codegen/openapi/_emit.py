"""Run datamodel-code-generator and post-process its output into the package."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from codegen.errors import GenerationError
from codegen.patch import replace_once
from codegen.toolenv import tool_env

from ._shape import ALLOWED_TRAILING_DIGITS, NUMBERED, Shaped, Union

# See the package docstring for why each option is chosen.
DMCG_OPTIONS: tuple[str, ...] = (
    "--input-file-type=openapi",
    "--openapi-scopes=schemas",
    "--output-model-type=pydantic_v2.BaseModel",
    "--target-python-version=3.11",
    "--target-pydantic-version=2.11",
    "--disable-timestamp",
    "--formatters=builtin",
    "--use-double-quotes",
    "--use-standard-collections",
    "--use-union-operator",
    "--strict-nullable",
    "--field-constraints",
    "--enum-field-as-literal=one",
    "--capitalise-enum-members",
    "--use-type-alias-type",
    "--use-generic-base-class",
    "--extra-fields=allow",
    "--strict-refs",
    "--deserialize-default-values=enum",
    "--no-use-type-checking-imports",
    "--disable-warnings",
)
UNKNOWN_TAG = "UNKNOWN_TAG"
SCALAR_TAG = "SCALAR_TAG"
KNOWN_TAG = "KNOWN_TAG"

BASE_MODULE = '''\
"""Runtime helpers of the generated OpenAI models: open enums and open tagged unions."""

from __future__ import annotations

from collections.abc import Callable, Collection
from enum import StrEnum
from typing import Any, ClassVar, Self

from pydantic import AfterValidator, ConfigDict
from pydantic import BaseModel as _BaseModel
from pydantic_core import PydanticCustomError

__all__ = [
    "KNOWN_TAG",
    "SCALAR_TAG",
    "UNKNOWN_TAG",
    "UNKNOWN_VARIANT_ERROR",
    "BaseModel",
    "OpenStrEnum",
    "tag_discriminator",
    "unknown_variant",
]

UNKNOWN_TAG = "__runbind_unknown__"
"""Tag of the explicit unknown variant every tagged union carries."""
SCALAR_TAG = "__runbind_scalar__"
"""Tag of the non-object branches (a plain string option) of a tagged union."""
KNOWN_TAG = "__runbind_known__"
"""Tag of the branch that holds the known variants, discriminated on their tag in Rust."""
UNKNOWN_VARIANT_ERROR = "union_tag_known"
"""Error type of an unknown-variant branch given a known tag (its variant reports the cause)."""


class BaseModel(_BaseModel):
    """The base of every generated model.

    Unknown fields are kept (``extra="allow"``). Schemas are built on first use
    (``defer_build``): importing builds none, and a parse builds only what it reaches.
    """

    model_config: ClassVar[ConfigDict] = ConfigDict(
        extra="allow",
        defer_build=True,
    )


class OpenStrEnum(StrEnum):
    """A string enum that also accepts values it does not list.

    An unlisted value becomes a pseudo-member that keeps the raw value
    (``.value``, ``str()``, JSON) and reports ``is_known`` as False, so a new
    upstream value is neither an error nor silently mapped to another member.
    """

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = "UNKNOWN"
        member._value_ = value
        return member

    @property
    def is_known(self) -> bool:
        """False for a value this version of the bindings does not list."""
        return type(self).__members__.get(self._name_) is self


def tag_discriminator(prop: str, tags: frozenset[str]) -> Callable[[Any], str]:
    """A Pydantic discriminator: the known ``prop`` tag, else UNKNOWN_TAG (or SCALAR_TAG).

    Used by the stream-event unions, which stay one tagged union (a callable is needed for the
    unknown branch there). Pydantic calls it with the payload as Python objects, so in JSON mode
    it converts the whole payload first; the other unions use :func:`unknown_variant` instead.
    """

    def discriminate(value: Any) -> str:
        if isinstance(value, dict):
            tag = value.get(prop)
        elif isinstance(value, _BaseModel):
            tag = getattr(value, prop, None)
        else:
            return SCALAR_TAG
        return tag if isinstance(tag, str) and tag in tags else UNKNOWN_TAG

    return discriminate


def unknown_variant(prop: str, tags: Collection[str]) -> AfterValidator:
    """The guard of a union's unknown branch: it takes no payload whose ``prop`` is known.

    A union is validated left to right: its known variants, discriminated on ``prop`` in Rust,
    then its plain options, then the unknown variant. Without this guard a payload with a known
    tag that fails its variant would land in the unknown branch instead of being an error.
    """
    known = frozenset(tags)

    def check(value: Any) -> Any:
        tag = getattr(value, prop, None)
        if tag in known:
            raise PydanticCustomError(
                UNKNOWN_VARIANT_ERROR,
                "`{prop}` '{tag}' is known: the payload must match its variant",
                {"prop": prop, "tag": tag},
            )
        return value

    return AfterValidator(check)
'''


def run_dmcg(doc: dict[str, Any]) -> str:
    """Generate one module of models from ``doc`` (already sliced and shaped)."""
    with tempfile.TemporaryDirectory(prefix="runbind-openapi-") as tmp:
        spec = Path(tmp) / "openapi.json"
        out = Path(tmp) / "models.py"
        spec.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        env = tool_env(PYTHONHASHSEED="0", TZ="UTC", LC_ALL="C")
        argv = [sys.executable, "-m", "datamodel_code_generator", *DMCG_OPTIONS]
        argv += ["--input", spec.name, "--output", out.name]
        proc = subprocess.run(argv, cwd=tmp, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not out.exists():
            lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
            reason = lines[-1] if lines else f"exit code {proc.returncode}"
            raise GenerationError(f"openapi: datamodel-code-generator failed: {reason}")
        return out.read_text(encoding="utf-8")


def _strip_header(code: str) -> str:
    lines = code.splitlines()
    start = 0
    while start < len(lines) and (lines[start].startswith("#") or not lines[start].strip()):
        start += 1
    return "\n".join(lines[start:]) + "\n"


def _flatten_union(node: ast.expr) -> list[ast.expr]:
    """The branches of ``A | B | C``, also when wrapped as ``Annotated[A | B, Field(...)]``."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _flatten_union(node.left) + _flatten_union(node.right)
    if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "Union":
        # `Union[A, 'B']`: written so when a member is a forward reference.
        elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return [m for elt in elts for m in _flatten_union(elt)]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [ast.Name(id=node.value)]
    if (
        isinstance(node, ast.Subscript)
        and ast.unparse(node.value) == "Annotated"
        and isinstance(node.slice, ast.Tuple)
        and node.slice.elts
    ):
        return _flatten_union(node.slice.elts[0])
    return [node]


# What dmcg writes for --use-generic-base-class --extra-fields=allow; _base.BaseModel replaces
# it (the same config plus defer_build), so that every split module can share it.
_DMCG_BASE = "class BaseModel(_BaseModel):\n    model_config = ConfigDict(extra='allow')"

# Unions on this property stay one tagged union with a callable discriminator: the stream-event
# unions, which the adapters validate from decoded dicts (where the callable is a dict lookup).
CALLABLE_DISCRIMINATOR_PROPS = frozenset({"event"})


def _unknown_class(union: Union) -> str:
    return (
        f"class {union.unknown}(BaseModel):\n"
        f'    """A `{union.name}` variant unknown to this version (new `{union.prop}`).\n\n'
        f"    Every field of the payload is kept (extra fields); `raw` returns them.\n"
        f'    """\n\n'
        f"    {union.prop}: str | None = None\n\n"
        f"    @property\n"
        f"    def raw(self) -> dict[str, Any]:\n"
        f'        """The payload as received (JSON-compatible)."""\n'
        f'        return self.model_dump(mode="json", by_alias=True)\n\n\n'
    )


def _either(names: list[str], forward: frozenset[str]) -> str:
    """``A | B``; ``Union[A, "B"]`` when one is defined further down (a forward reference)."""
    if not forward & set(names):
        return " | ".join(names)
    return f"Union[{', '.join(json.dumps(n) if n in forward else n for n in names)}]"


def _union_code(union: Union, scalars: list[str], forward: frozenset[str] = frozenset()) -> str:
    """The unknown-variant class and the union alias (see the package docstring for the shapes).

    ``forward`` names the classes defined after the alias: they are written as strings.
    """
    tags = sorted({tag for tag, _ in (*union.members, *union.shared)})
    tag_set = ", ".join(json.dumps(t) for t in tags)
    prop = json.dumps(union.prop)
    if union.prop in CALLABLE_DISCRIMINATOR_PROPS:
        if union.shared:
            raise GenerationError(f"openapi: union {union.name}: a shared `{union.prop}` tag")
        choices = [
            f"Annotated[{_either([cls], forward)}, Tag({json.dumps(tag)})]"
            for tag, cls in union.members
        ]
        if scalars:
            choices.append(f"Annotated[{_either(scalars, forward)}, Tag({SCALAR_TAG})]")
        choices.append(f"Annotated[{union.unknown}, Tag({UNKNOWN_TAG})]")
        body = "\n        | ".join(choices)
        marker = f"Discriminator(tag_discriminator({prop}, frozenset({{{tag_set}}})))"
    else:
        classes = list(dict.fromkeys(cls for _, cls in union.members))  # a class per tag set
        if len(classes) > 1:
            known = (
                f"Annotated[{_either(classes, forward)}, Discriminator({prop}), Tag({KNOWN_TAG})]"
            )
        else:
            known = f"Annotated[{_either(classes, forward)}, Tag({KNOWN_TAG})]"
        choices = [known]
        groups: dict[str, list[str]] = {}
        for tag, cls in union.shared:
            groups.setdefault(tag, []).append(cls)
        sub_tags = dict(union.sub_tags)
        for tag, group in groups.items():  # one branch per tag that several variants carry
            sub = f", Discriminator({json.dumps(sub_tags[tag])})" if tag in sub_tags else ""
            choices.append(f"Annotated[{_either(group, forward)}{sub}, Tag({json.dumps(tag)})]")
        shared = {cls for _, cls in union.shared}
        scalars = [s for s in scalars if s not in shared]
        if scalars:
            choices.append(f"Annotated[{_either(scalars, forward)}, Tag({SCALAR_TAG})]")
        choices.append(
            f"Annotated[{union.unknown}, unknown_variant({prop}, frozenset({{{tag_set}}})),"
            f" Tag({UNKNOWN_TAG})]"
        )
        body = "\n        | ".join(choices)
        marker = 'Field(union_mode="left_to_right")'
    return (
        _unknown_class(union) + f"{union.name} = TypeAliasType(\n"
        f"    {json.dumps(union.name)},\n"
        f"    Annotated[\n"
        f"        {body},\n"
        f"        {marker},\n"
        f"    ],\n"
        f")\n"
    )


_EXTRA_IMPORTS = (
    "from typing import Annotated, Any, ClassVar, Union\n\n"
    "from pydantic import Discriminator, Field, Tag\n"
    "from typing_extensions import TypeAliasType\n\n"
    f"from ._base import {KNOWN_TAG}, {SCALAR_TAG}, {UNKNOWN_TAG}, BaseModel, OpenStrEnum\n"
    "from ._base import tag_discriminator, unknown_variant\n"
)


_MODEL_CONFIG = "    model_config = ConfigDict("


def _annotate_model_config(node: ast.ClassDef, lines: list[str]) -> list[tuple[int, int, str]]:
    """Declare a model's ``model_config`` as pydantic's base does (``ClassVar[ConfigDict]``):
    unannotated, type checkers infer it each their own way (pyright's --verifytypes counts the
    model's type as ambiguous)."""
    edits = []
    for stmt in node.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else []
        if [ast.unparse(t) for t in targets] == ["model_config"]:
            first = stmt.lineno - 1
            line = replace_once(
                lines[first],
                _MODEL_CONFIG,
                "    model_config: ClassVar[ConfigDict] = ConfigDict(",
                what=f"{node.name}.model_config: its annotation",
            )
            edits.append((first, first + 1, line))
    return edits


def _class_fields(tree: ast.Module) -> dict[str, tuple[list[str], dict[str, str]]]:
    """``{class: (its bases, {field: annotation})}`` of the generated module."""
    out: dict[str, tuple[list[str], dict[str, str]]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            own = {
                stmt.target.id: ast.unparse(stmt.annotation)
                for stmt in node.body
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
            }
            out[node.name] = ([ast.unparse(b) for b in node.bases], own)
    return out


def _narrowed_fields(
    node: ast.ClassDef, lines: list[str], fields: dict[str, tuple[list[str], dict[str, str]]]
) -> list[tuple[int, int, str]]:
    """Mark the fields an ``allOf`` class re-declares with another type than its base.

    ``FunctionToolCallResource`` extends ``FunctionToolCall`` and makes its optional ``status``
    (one enum class) required (another, with the same values): sound for the JSON, yet an
    incompatible override for a type checker, which the comment tells it is deliberate.
    """
    inherited: dict[str, str] = {}
    todo = list(fields[node.name][0])
    while todo:
        base = todo.pop()
        if base in fields:
            todo.extend(fields[base][0])
            for name, annotation in fields[base][1].items():
                inherited.setdefault(name, annotation)
    edits = []
    for stmt in node.body:
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        before = inherited.get(stmt.target.id)
        now = ast.unparse(stmt.annotation)
        # Narrowing a union to some of its members (`str | None` to `str`) is compatible.
        if before is not None and not set(now.split(" | ")) <= set(before.split(" | ")):
            first = stmt.lineno - 1
            text = lines[first].rstrip("\n") + "  # type: ignore[assignment]\n"
            edits.append((first, first + 1, text))
    return edits


def postprocess(code: str, shaped: Shaped) -> str:
    """Open the enums, replace each tagged union by an open discriminated one; fail on surprises."""
    code = _strip_header(code)
    tree = ast.parse(code)
    lines = code.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []  # (first line index, end line index exclusive, text)
    seen_unions: set[str] = set()
    seen_enums: set[str] = set()
    seen_base = False
    known = set(shaped.classes) | set(shaped.enums) | {"BaseModel"}
    fields = _class_fields(tree)
    last_import = 0
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            last_import = node.end_lineno or node.lineno
        elif isinstance(node, ast.ClassDef) and node.name == "BaseModel":
            if ast.unparse(node) != _DMCG_BASE:
                raise GenerationError("openapi: the generated base model has an unexpected shape")
            edits.append((node.lineno - 1, node.end_lineno or node.lineno, ""))
            seen_base = True
        elif isinstance(node, ast.ClassDef):
            name = node.name
            if NUMBERED.search(name) and name not in ALLOWED_TRAILING_DIGITS:
                raise GenerationError(f"openapi: generated class {name} has a numbered name")
            if name not in known:
                raise GenerationError(
                    f"openapi: datamodel-code-generator invented class {name}; name it"
                )
            edits += _annotate_model_config(node, lines)
            edits += _narrowed_fields(node, lines, fields)
            bases = [ast.unparse(b) for b in node.bases]
            if (
                any(b in ("RootModel", "_BaseModel") or b.startswith("RootModel[") for b in bases)
                and name != "BaseModel"
            ):
                raise GenerationError(f"openapi: {name} came out as a RootModel")
            if any(b in ("Enum", "StrEnum") or b.endswith("Enum") for b in bases):
                if name not in shaped.enums or bases != ["StrEnum"]:
                    raise GenerationError(f"openapi: enum {name} has unexpected bases {bases}")
                first = node.lineno - 1
                header = lines[first]
                if f"class {name}(StrEnum):" not in header:
                    raise GenerationError(
                        f"openapi: enum {name}: unexpected class line {header.strip()!r}"
                    )
                opened = replace_once(
                    header, "(StrEnum)", "(OpenStrEnum)", what=f"open enum {name}"
                )
                edits.append((first, first + 1, opened))
                seen_enums.add(name)
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            name = node.targets[0].id
            if name not in shaped.components:
                raise GenerationError(
                    f"openapi: datamodel-code-generator invented the alias {name}; name its schema"
                )
            if name in shaped.unions:
                union = shaped.unions[name]
                call = node.value
                if not (
                    isinstance(call, ast.Call)
                    and ast.unparse(call.func) == "TypeAliasType"
                    and len(call.args) == 2
                ):
                    raise GenerationError(
                        f"openapi: union {name}: expected a TypeAliasType assignment"
                    )
                tagged = {cls for _, cls in union.members} | set(shaped.unions)
                scalars = [
                    ast.unparse(m)
                    for m in _flatten_union(call.args[1])
                    if ast.unparse(m) not in tagged
                ]
                forward = frozenset(
                    n.value
                    for n in ast.walk(call.args[1])
                    if isinstance(n, ast.Constant) and n.value in known | set(shaped.unions)
                )
                plain = union.scalars + len({cls for _, cls in union.shared})
                if len(scalars) != plain:
                    raise GenerationError(
                        f"openapi: union {name}: expected {plain} untagged or shared-tag"
                        f" branches, found {scalars}"
                    )
                edits.append(
                    (
                        node.lineno - 1,
                        node.end_lineno or node.lineno,
                        _union_code(union, scalars, forward),
                    )
                )
                seen_unions.add(name)
    for what, expected, seen in (
        ("union", set(shaped.unions), seen_unions),
        ("enum", shaped.enums, seen_enums),
    ):
        missing = sorted(expected - seen)
        if missing:
            raise GenerationError(f"openapi: {what} {missing[0]} not found in the generated code")
    if not seen_base:
        raise GenerationError("openapi: the generated module has no base model (unexpected shape)")
    if "RootModel" in code:
        raise GenerationError("openapi: the generated code uses RootModel")
    if not last_import:
        raise GenerationError("openapi: the generated module has no imports (unexpected shape)")
    edits.append((last_import, last_import, "\n" + _EXTRA_IMPORTS))
    for first, end, text in sorted(edits, key=lambda e: e[0], reverse=True):
        lines[first:end] = [text]
    return "".join(lines)


def init_module(owners: dict[str, str]) -> str:
    """The package ``__init__``: every public name, imported from its module on first access."""
    names = sorted(n for n in owners if not n.startswith("_"))
    by_module: dict[str, list[str]] = {"_base": ["OpenStrEnum"]}
    for name in names:
        by_module.setdefault(owners[name], []).append(name)
    checking = "".join(
        f"    from .{module} import (\n" + "".join(f"        {n},\n" for n in members) + "    )\n"
        for module, members in sorted(by_module.items())
    )
    table = "".join(
        f'    "{n}": "{module}",\n'
        for module, members in sorted(by_module.items())
        for n in members
    )
    exported = "".join(f'    "{n}",\n' for n in sorted(["OpenStrEnum", *names]))
    return (
        '"""Pydantic v2 models of the OpenAI Assistants and Responses API slice.\n\n'
        "Assistants, threads, messages, runs, run steps and their stream events; responses,\n"
        "their items and stream events. Names are imported from their module on first access:\n"
        "``_runs`` holds a run, its answer message and what they reference, ``_responses`` the\n"
        "Responses API, ``models`` everything else (and re-exports all of it).\n"
        '"""\n\n'
        "from typing import TYPE_CHECKING\n\n"
        "if TYPE_CHECKING:\n"
        f"{checking}"
        "else:\n"
        "    import importlib\n\n"
        "    def __getattr__(name: str) -> object:\n"
        '        if name == "models":  # the module of the whole API, as before the split\n'
        '            return importlib.import_module(".models", __name__)\n'
        "        module = _MODULES.get(name)\n"
        "        if module is None:\n"
        '            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")\n'
        '        value = getattr(importlib.import_module(f".{module}", __name__), name)\n'
        "        globals()[name] = value\n"
        "        return value\n\n"
        "    def __dir__() -> list[str]:\n"
        "        return sorted({*globals(), *__all__})\n\n"
        "\n"
        "# public name -> the module that defines it\n"
        f"_MODULES = {{\n{table}}}\n\n"
        f"__all__ = [\n{exported}]\n"
    )
