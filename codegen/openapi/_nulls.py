"""Which optional properties the spec does not let be null: the ``_nullability`` table.

The generated models type an optional property ``X | None = None`` whether or not its schema
admits null (an absent property has to read as something), so the models cannot tell "may be
absent" from "may be null". This module keeps the difference in a table the generator writes
beside the models: per class, the JSON names of its optional properties whose schema admits no
null. A request that sends an explicit null for one of them breaks the spec; the emulator's
request checks refuse it by this table.

Null is decided as JSON Schema decides it, on the shaped document the generator reads (whose
nullability is in the 3.1 form): ``type``, ``enum``, ``const``, ``$ref`` (followed),
``anyOf``/``oneOf``/``allOf`` and ``not``; a schema that constrains none of them admits null.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from codegen.errors import GenerationError

from ._shape import REF, Shaped

MODULE = "_nullability"
"""The module of the generated package that holds the table."""


def admits_null(
    schema: Any, schemas: Mapping[str, Any], active: frozenset[str] = frozenset()
) -> bool:
    """Whether JSON null is valid against ``schema`` (``$ref`` into ``schemas``).

    A reference cycle admits no null through the cycle (a recursive schema is an object).
    """
    if isinstance(schema, bool):
        return schema
    if not isinstance(schema, dict):
        raise GenerationError(f"openapi: a schema is a {type(schema).__name__}, not an object")
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.removeprefix(REF)
        if name not in schemas:
            raise GenerationError(f"openapi: $ref {ref} does not resolve")
        if name in active or not admits_null(schemas[name], schemas, active | {name}):
            return False
    types = schema.get("type")
    if types is not None and "null" not in (types if isinstance(types, list) else [types]):
        return False
    if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
        return False
    if "const" in schema and schema["const"] is not None:
        return False
    any_of, one_of, all_of = (schema.get(key) for key in ("anyOf", "oneOf", "allOf"))
    if isinstance(any_of, list) and not any(admits_null(b, schemas, active) for b in any_of):
        return False
    if isinstance(one_of, list) and sum(admits_null(b, schemas, active) for b in one_of) != 1:
        return False
    if isinstance(all_of, list) and not all(admits_null(b, schemas, active) for b in all_of):
        return False
    return not ("not" in schema and admits_null(schema["not"], schemas, active))


def _optional_fields(code: str) -> dict[str, set[str]]:
    """``{class: JSON names of its fields with a default}`` of the generated models."""
    found: dict[str, set[str]] = {}
    for node in ast.parse(code).body:
        if not isinstance(node, ast.ClassDef):
            continue
        names = found.setdefault(node.name, set())
        for stmt in node.body:
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            value, name = stmt.value, stmt.target.id
            if value is None:
                continue  # required
            if isinstance(value, ast.Call) and ast.unparse(value.func) == "Field":
                first = value.args[0] if value.args else None
                if isinstance(first, ast.Constant) and first.value is Ellipsis:
                    continue  # required
                for keyword in value.keywords:
                    if keyword.arg == "alias" and isinstance(keyword.value, ast.Constant):
                        name = str(keyword.value.value)
            names.add(name)
    return found


def own_properties(
    schema: Mapping[str, Any], schemas: Mapping[str, Any]
) -> tuple[dict[str, Any], set[str]]:
    """The properties a class declares itself, and the names required of it.

    An ``allOf`` class declares the properties of its inline parts (its ``$ref`` parts are its
    base classes, which the table lists under their own names); a part may require a property
    that another part declares, so ``required`` gathers every part's list.
    """
    parts = schema.get("allOf")
    if not isinstance(parts, list):
        return dict(schema.get("properties") or {}), set(schema.get("required") or ())
    props: dict[str, Any] = dict(schema.get("properties") or {})
    required: set[str] = set(schema.get("required") or ())
    for part in parts:
        if not isinstance(part, dict):
            raise GenerationError("openapi: an allOf part is not an object")
        ref = part.get("$ref")
        if isinstance(ref, str):
            base = schemas.get(ref.removeprefix(REF))
            required |= set((base or {}).get("required") or ())
            continue
        props.update(part.get("properties") or {})
        required |= set(part.get("required") or ())
    return props, required


def not_nullable(shaped: Shaped, code: str) -> dict[str, tuple[str, ...]]:
    """``{class: sorted optional properties that admit no null}``, classes sorted, none empty.

    Checked against the generated ``code``: every listed property is a field of its class with
    a default (an optional one), so the table and the models cannot drift apart.
    """
    schemas: Mapping[str, Any] = shaped.doc["components"]["schemas"]
    optional = _optional_fields(code)
    table: dict[str, tuple[str, ...]] = {}
    for name in sorted(shaped.classes):
        props, required = own_properties(schemas[name], schemas)
        never = sorted(p for p in props if p not in required and not admits_null(props[p], schemas))
        unknown = [p for p in never if p not in optional.get(name, ())]
        if unknown:
            raise GenerationError(
                f"openapi: {name}.{unknown[0]} is optional in the spec but not in the models"
            )
        if never:
            table[name] = tuple(never)
    return table


def nullability_module(table: Mapping[str, tuple[str, ...]]) -> str:
    """The Python source of the table (without the header): sorted, one class a line."""
    rows = []
    for name, props in table.items():
        members = ", ".join(f'"{p}"' for p in props)
        row = f'    "{name}": frozenset({{{members}}}),\n'
        if len(row) > 101:
            inner = "".join(f'            "{p}",\n' for p in props)
            row = f'    "{name}": frozenset(\n        {{\n{inner}        }}\n    ),\n'
        rows.append(row)
    return (
        '"""Optional properties that the spec does not let be null, per model.\n\n'
        "A model types an optional property ``X | None = None`` whether or not the spec admits\n"
        "null there, so that an absent property reads as None. For each model, this lists the\n"
        "JSON names of its optional properties whose schema admits no null: sending an explicit\n"
        "null for one breaks the spec (leave the property out instead).\n"
        '"""\n\n'
        "from collections.abc import Mapping\n\n"
        '__all__ = ["NOT_NULLABLE"]\n\n'
        f"NOT_NULLABLE: Mapping[str, frozenset[str]] = {{\n{''.join(rows)}}}\n"
    )
