"""The OpenAPI part of the surface index: facts about the generated API, one per line."""

from __future__ import annotations

import ast
import json
from typing import Any

from ._nulls import admits_null, own_properties
from ._shape import Shaped
from ._spec import HTTP_METHODS


def _flatten(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _flatten(node.left) + _flatten(node.right)
    return [node]


# Field keywords that constrain a value (pydantic's names; ``max_length`` also bounds lists).
CONSTRAINTS = ("ge", "gt", "le", "lt", "max_length", "min_length", "multiple_of", "pattern")


def _literal(node: ast.expr) -> Any:
    """A keyword's value: the constant itself when it is one, else its source text."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        return ast.unparse(node)


def _constraints(value: ast.expr | None) -> dict[str, Any]:
    """The constraints and the default (when not None) of a field's right-hand side."""
    if value is None:
        return {}
    if not (isinstance(value, ast.Call) and ast.unparse(value.func) == "Field"):
        default = _literal(value)
        return {} if default is None else {"default": default}
    out = {k.arg: _literal(k.value) for k in value.keywords if k.arg in CONSTRAINTS}
    default_node = value.args[0] if value.args else None
    for keyword in value.keywords:
        if keyword.arg == "default":
            default_node = keyword.value
    if default_node is not None:
        default = _literal(default_node)
        if default is not None and default is not Ellipsis:
            out["default"] = default
    return out


def _field_facts(
    model: str, node: ast.AnnAssign, spec: tuple[dict[str, Any], set[str]] | None, schemas: Any
) -> str | None:
    """``property Model.name: type[ required][ nullable][ {constraints}]``.

    Required and nullable come from the spec when the class is a spec schema: an optional
    property is typed ``X | None = None`` whatever its schema says, so the annotation alone
    cannot tell "may be absent" from "may be null".
    """
    if not isinstance(node.target, ast.Name) or node.target.id == "model_config":
        return None
    name = node.target.id
    required = node.value is None
    value = node.value
    if isinstance(value, ast.Call) and ast.unparse(value.func) == "Field":
        if value.args:
            required = isinstance(value.args[0], ast.Constant) and value.args[0].value is Ellipsis
        else:
            required = not any(k.arg in ("default", "default_factory") for k in value.keywords)
        for keyword in value.keywords:
            if keyword.arg == "alias" and isinstance(keyword.value, ast.Constant):
                name = str(keyword.value.value)
    members = _flatten(node.annotation)
    kept = [m for m in members if not (isinstance(m, ast.Constant) and m.value is None)]
    nullable = len(kept) != len(members)
    if spec is not None and name in spec[0]:
        props, names_required = spec
        required = name in names_required
        nullable = admits_null(props[name], schemas)
    annotation = " | ".join(ast.unparse(m) for m in kept)
    flags = (" required" if required else "") + (" nullable" if nullable else "")
    facts = _constraints(value)
    extra = f" {json.dumps(facts, sort_keys=True, ensure_ascii=False)}" if facts else ""
    return f"property {model}.{name}: {annotation}{flags}{extra}"


def surface_lines(code: str, shaped: Shaped, sliced: dict[str, Any]) -> list[str]:
    lines: set[str] = set()
    for path, item in sliced["paths"].items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                lines.add(f"path {method.upper()} {path} {op.get('operationId', '-')}")
    tree = ast.parse(code)
    schemas = shaped.doc["components"]["schemas"]
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name != "BaseModel":
            bases = [ast.unparse(b) for b in node.bases]
            if bases == ["OpenStrEnum"]:
                lines.add(f"model {node.name} (open enum)")
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant):
                        lines.add(f"enum {node.name} = {stmt.value.value!s}")
                continue
            lines.add(f"model {node.name}")
            spec = None
            if node.name in shaped.classes and isinstance(schemas.get(node.name), dict):
                spec = own_properties(schemas[node.name], schemas)
            for stmt in node.body:
                if isinstance(stmt, ast.AnnAssign):
                    fact = _field_facts(node.name, stmt, spec, schemas)
                    if fact:
                        lines.add(fact)
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            name = node.targets[0].id
            union = shaped.unions.get(name)
            if union is not None:
                members = " | ".join(dict.fromkeys(cls for _, cls in union.members))
                shared = "".join(f" | {cls}" for cls in dict.fromkeys(c for _, c in union.shared))
                scalars = " | scalar" if union.scalars else ""
                lines.add(
                    f"union {name} = {members}{shared}{scalars} | {union.unknown}"
                    f" discriminator {union.prop}"
                )
            elif isinstance(node.value, ast.Call) and len(node.value.args) == 2:
                value = node.value.args[1]
                if isinstance(value, ast.Subscript) and ast.unparse(value.value) == "Annotated":
                    value = value.slice.elts[0] if isinstance(value.slice, ast.Tuple) else value
                lines.add(f"alias {name} = {ast.unparse(value)}")
    return sorted(lines)
