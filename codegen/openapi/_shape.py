"""Give every generated class a stable name before datamodel-code-generator sees the spec.

Every inline schema that would become a class (an object with properties, an
enum of two or more values, a tagged union) is hoisted into
``components.schemas`` under a derived name, so the generator never has to
invent (and number) one. Derivation, from the nearest named parent:

- property ``p``              -> ``Parent`` + ``P``  (``RunObject.status`` -> ``RunObjectStatus``)
- array items                 -> ``Parent`` + ``Item``
- map values                  -> ``Parent`` + ``Value``
- union branch tagged ``t``   -> ``Parent`` + ``T``; tagged on ``event``: ``T`` + ``Event``
  (``thread.run.created`` -> ``ThreadRunCreatedEvent``)
- anything else               -> must be named in ``specs/openai-names.toml``

``anyOf [X, null]`` wrappers are transparent. The naming map is keyed by a
location: ``Component`` then ``.prop``, ``[]`` (items), ``{}`` (map values),
``|tag`` (tagged branch), ``|N`` (untagged branch N), ``&N`` (allOf part N).
Two locations may map to one name only if their schemas are identical. A map
entry that matches nothing, a name that collides, or a name ending in digits
is a GenerationError.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen.errors import GenerationError

from ._spec import NULL, is_null, is_plain

REF = "#/components/schemas/"
# Properties that can discriminate a union, by preference.
TAG_PROPERTIES: tuple[str, ...] = ("event", "type", "object")
# Class names that may end in a digit because upstream really names them so.
ALLOWED_TRAILING_DIGITS: frozenset[str] = frozenset()
NUMBERED = re.compile(r"[A-Za-z]\d+$")
_BRANCH_CONSTRAINTS = frozenset(
    {"title", "description", "examples", "example", "minItems", "maxItems", "minLength"}
    | {"maxLength", "minimum", "maximum", "pattern", "format", "default"}
)
_NOT_STRUCTURAL = ("description", "title", "example", "examples", "x-oaiMeta", "x-oaiTypeLabel")


def pascal(text: str) -> str:
    parts = re.split(r"[^0-9A-Za-z]+", text)
    return "".join(p[:1].upper() + p[1:] for p in parts if p)


def load_names(path: Path) -> dict[str, str]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise GenerationError(
            f"openapi: cannot read naming map {path.name}: {exc.strerror}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise GenerationError(f"openapi: naming map {path.name} is not valid TOML: {exc}") from None
    names = data.get("names", {})
    if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
        raise GenerationError(f"openapi: naming map {path.name} needs a [names] table of strings")
    for loc, name in names.items():
        if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name):
            raise GenerationError(
                f"openapi: naming map entry {loc!r} = {name!r} is not a class name"
            )
    return dict(names)


@dataclass(frozen=True)
class Union:
    """A union discriminated on ``prop``: ``(tag, class name)`` per leaf, plus its unknown class."""

    name: str
    prop: str
    members: tuple[tuple[str, str], ...]
    unknown: str
    # Branches that are not tagged objects (a plain string option), by index in the schema.
    scalars: int


@dataclass
class Shaped:
    doc: dict[str, Any]
    classes: set[str] = field(default_factory=set)
    enums: set[str] = field(default_factory=set)
    unions: dict[str, Union] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    from_map: set[str] = field(default_factory=set)
    components: set[str] = field(default_factory=set)


def _structural(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            k: _structural(v)
            for k, v in schema.items()
            if k not in _NOT_STRUCTURAL and not k.startswith("x-")
        }
    if isinstance(schema, list):
        return [_structural(v) for v in schema]
    return schema


def _non_null(branches: list[Any]) -> list[Any]:
    return [b for b in branches if not is_null(b)]


class _Shaper:
    def __init__(self, schemas: dict[str, Any], names: dict[str, str]) -> None:
        self.schemas = schemas
        self.names = names
        self.used: set[str] = set()
        self.out: dict[str, Any] = {}
        self.origins: dict[str, str] = {}
        self.from_map: set[str] = set()
        self.missing: list[str] = []

    # -- lookups
    def resolve(self, schema: Any) -> Any:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema:
            name = schema["$ref"].removeprefix(REF)
            schema = self.out.get(name, self.schemas.get(name))
            seen += 1
            if seen > 50:
                raise GenerationError(f"openapi: $ref cycle through {name}")
        return schema

    def tag(self, schema: Any, prop: str) -> str | None:
        target = self.resolve(schema)
        if not isinstance(target, dict):
            return None
        value = self.resolve((target.get("properties") or {}).get(prop))
        if isinstance(value, dict):
            enum = value.get("enum")
            if isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], str):
                return enum[0]
            if isinstance(value.get("const"), str):
                return str(value["const"])
        return None

    def leaves(self, schema: Any, prop: str) -> list[tuple[str | None, Any]] | None:
        """Tagged leaves of a union branch; nested unions on the same tag are flattened."""
        target = self.resolve(schema)
        tag = self.tag(schema, prop)
        if tag is not None:
            return [(tag, schema)]
        if isinstance(target, dict):
            branches = target.get("oneOf") or target.get("anyOf")
            if branches and not any(is_null(b) for b in branches):
                out: list[tuple[str | None, Any]] = []
                for branch in branches:
                    sub = self.leaves(branch, prop)
                    if sub is None:
                        return None
                    out.extend(sub)
                return out
        return None

    def union_tag(
        self, schema: dict[str, Any]
    ) -> tuple[str, list[tuple[str | None, Any]], int] | None:
        """``(prop, leaves, scalar branch count)`` if ``schema`` is a union with a tag."""
        branches = schema.get("oneOf") or schema.get("anyOf")
        if not isinstance(branches, list) or any(is_null(b) for b in branches):
            return None
        objects = [b for b in branches if self._is_object(b)]
        scalars = len(branches) - len(objects)
        for prop in TAG_PROPERTIES:
            leaves: list[tuple[str | None, Any]] = []
            for branch in objects:
                sub = self.leaves(branch, prop)
                if sub is None:
                    break
                leaves.extend(sub)
            else:
                tags = [t for t, _ in leaves]
                if leaves and len(set(tags)) == len(tags):
                    return prop, leaves, scalars
        return None

    def _is_object(self, schema: Any) -> bool:
        target = self.resolve(schema)
        if not isinstance(target, dict):
            return False
        if target.get("type") == "object" or "properties" in target:
            return True
        branches = target.get("oneOf") or target.get("anyOf") or []
        return bool(branches) and all(self._is_object(b) for b in branches)

    def class_worthy(self, schema: dict[str, Any]) -> bool:
        if "$ref" in schema:
            return False
        if schema.get("properties"):
            return True
        enum = schema.get("enum")
        if isinstance(enum, list) and len(enum) >= 2:
            return True
        return self.union_tag(schema) is not None

    # -- hoisting
    def register(self, name: str, schema: Any, loc: str) -> None:
        if NUMBERED.search(name) and name not in ALLOWED_TRAILING_DIGITS:
            raise GenerationError(
                f"openapi: class name {name} (at {loc}) ends in a number;"
                " name it in specs/openai-names.toml"
            )
        if name in self.out:
            existing = self.out[name]
            if _structural(existing) != _structural(schema):
                raise GenerationError(
                    f"openapi: name {name} for {loc} collides with {self.origins.get(name, name)};"
                    " give one of them a name in specs/openai-names.toml"
                )
            return
        self.out[name] = schema
        self.origins[name] = loc

    def hoist(self, schema: dict[str, Any], loc: str, candidate: str | None) -> dict[str, Any]:
        name = self.names.get(loc)
        if name is not None:
            self.used.add(loc)
            self.from_map.add(name)
        elif candidate is None:
            self.missing.append(loc)
            name = f"Missing{pascal(loc)}X"
        else:
            name = candidate
        keep = {k: schema[k] for k in ("default",) if k in schema}
        body = {k: v for k, v in schema.items() if k not in keep}
        if self.union_tag(body) is not None:  # a union alias carries no field metadata
            body = {k: v for k, v in body.items() if k not in ("description", "title")}
        self.register(name, self.visit(body, loc, name), loc)
        return {"$ref": REF + name, **keep}

    def visit(self, schema: Any, loc: str, base: str) -> Any:
        """Rewrite the children of ``schema`` (whose class, if any, is ``base``)."""
        if not isinstance(schema, dict) or "$ref" in schema:
            return schema
        out = dict(schema)
        for key in ("oneOf", "anyOf"):
            # `oneOf [{required: [a]}, {required: [b]}]` beside `properties`: an "exactly one of"
            # rule for requests that types cannot express; the properties stay optional.
            branches = out.get(key)
            if (
                out.get("properties")
                and isinstance(branches, list)
                and all(
                    isinstance(b, dict) and b.keys() <= {"required", "description"}
                    for b in branches
                )
            ):
                del out[key]
        if isinstance(out.get("properties"), dict):
            out["properties"] = {
                p: self.child(s, f"{loc}.{p}", base + pascal(p))
                for p, s in out["properties"].items()
            }
        if isinstance(out.get("items"), dict):
            out["items"] = self.child(out["items"], f"{loc}[]", base + "Item")
        if isinstance(out.get("additionalProperties"), dict):
            out["additionalProperties"] = self.child(
                out["additionalProperties"], f"{loc}{{}}", base + "Value"
            )
        for key in ("oneOf", "anyOf"):
            branches = out.get(key)
            if not isinstance(branches, list):
                continue
            if (
                len(_non_null(branches)) == 1 and len(branches) == 2
            ):  # a nullable wrapper: transparent
                out[key] = [b if is_null(b) else self.child(b, loc, base) for b in branches]
                continue
            # Constraints on a plain union branch (`oneOf [string, array minItems: 1]`) cannot
            # be written inline; the generator would lift the branch into an alias named after
            # the field. They only guard requests, so they are dropped.
            branches = [
                {k: v for k, v in b.items() if k not in _BRANCH_CONSTRAINTS} if is_plain(b) else b
                for b in branches
            ]
            out[key] = branches
            tagged = self.union_tag(out)
            prop = tagged[0] if tagged else None
            worthy = [isinstance(b, dict) and self.class_worthy(b) for b in branches]
            # One class among plain branches (`anyOf [string, enum]`) takes the position's name,
            # unless the position is a component (whose name the union alias keeps).
            sole = base if sum(worthy) == 1 and prop is None and loc not in self.schemas else None
            new = []
            for index, branch in enumerate(branches):
                tag = self.tag(branch, prop) if prop else None
                if tag is None:  # untagged: a class needs a derived or mapped name
                    new.append(
                        self.child(branch, f"{loc}|{index}", sole if worthy[index] else None, base)
                    )
                else:
                    new.append(
                        self.child(branch, f"{loc}|{tag}", variant_name(base, prop or "", tag))
                    )
            out[key] = new
        if isinstance(out.get("allOf"), list):
            out["allOf"] = [
                self.child(b, f"{loc}&{i}", None, base) for i, b in enumerate(out["allOf"])
            ]
        return out

    def child(self, schema: Any, loc: str, candidate: str | None, base: str | None = None) -> Any:
        if isinstance(schema, dict) and self.class_worthy(schema):
            return self.hoist(schema, loc, candidate)
        return self.visit(schema, loc, candidate or base or "")


def variant_name(base: str, prop: str, tag: str) -> str:
    if prop == "event":
        return pascal(tag) + "Event"
    return base + pascal(tag)


def _push_nullable_components(schemas: dict[str, Any]) -> dict[str, Any]:
    """A component ``anyOf [X, null]`` becomes X; every reference to it turns nullable.

    Otherwise the generator wraps it in a RootModel (``usage.root.prompt_tokens``).
    """
    nullable: set[str] = set()
    out: dict[str, Any] = {}
    for name, schema in schemas.items():
        branches = schema.get("anyOf") if isinstance(schema, dict) else None
        if isinstance(branches, list) and len(branches) == 2 and sum(map(is_null, branches)) == 1:
            inner = copy.deepcopy(next(b for b in branches if not is_null(b)))
            for key in ("description", "title"):
                if key in schema and key not in inner:
                    inner[key] = schema[key]
            out[name] = inner
            nullable.add(name)
        else:
            out[name] = schema
    if not nullable:
        return out

    def fix(node: Any, in_nullable: bool = False) -> Any:
        if isinstance(node, list):
            return [fix(v) for v in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.removeprefix(REF) in nullable and not in_nullable:
            keep = {k: v for k, v in node.items() if k != "$ref"}
            return {**keep, "anyOf": [{"$ref": ref}, dict(NULL)]}
        result: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("anyOf", "oneOf") and isinstance(value, list) and any(map(is_null, value)):
                result[key] = [fix(v, in_nullable=True) for v in value]
            elif key in ("properties", "patternProperties"):
                result[key] = {k: fix(v) for k, v in value.items()}
            else:
                result[key] = fix(value)
        return result

    return {name: fix(schema) for name, schema in out.items()}


def _nullable(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    types = schema.get("type")
    branches = schema.get("anyOf") or schema.get("oneOf") or []
    return (isinstance(types, list) and "null" in types) or any(map(is_null, branches))


def _relax_required(node: Any) -> Any:
    """A required property that may be null may also be absent (it reads as None).

    The spec marks many nullable fields required, while its own examples (and
    servers) omit them; for response models "null" and "absent" mean the same.
    """
    if isinstance(node, list):
        return [_relax_required(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _relax_required(v) for k, v in node.items()}
    props = out.get("properties")
    if isinstance(out.get("required"), list) and isinstance(props, dict):
        kept = [p for p in out["required"] if not _nullable(props.get(p))]
        if kept:
            out["required"] = kept
        else:
            del out["required"]
    return out


def shape(doc: dict[str, Any], names: dict[str, str]) -> Shaped:
    """Hoist, name and classify every generated class of the (normalised) slice."""
    schemas = _relax_required(_push_nullable_components(doc["components"]["schemas"]))
    shaper = _Shaper(schemas, names)
    for name in sorted(schemas):
        shaper.origins[name] = name
    for name in sorted(schemas):
        shaper.register(name, shaper.visit(schemas[name], name, name), name)
    if shaper.missing:
        first = shaper.missing[0]
        more = (
            f" (and {len(shaper.missing) - 1} more: {', '.join(shaper.missing[1:])})"
            if len(shaper.missing) > 1
            else ""
        )
        raise GenerationError(
            f"openapi: no derivable name for the inline schema at {first};"
            f' add `"{first}" = "SomeName"`'
            f" to specs/openai-names.toml{more}"
        )
    stale = sorted(set(names) - shaper.used)
    if stale:
        raise GenerationError(
            f"openapi: specs/openai-names.toml entry {stale[0]!r} no longer matches"
            " any inline schema" + (f" (and {len(stale) - 1} more)" if len(stale) > 1 else "")
        )
    final = dict(sorted(shaper.out.items()))
    result = Shaped(doc={**doc, "components": {**doc["components"], "schemas": final}})
    result.origins = shaper.origins
    result.components = set(final)
    result.from_map = shaper.from_map
    shaper.schemas = final
    for name, schema in final.items():
        if not isinstance(schema, dict):
            continue
        tagged = shaper.union_tag(schema)
        if tagged is not None:
            prop, leaves, scalars = tagged
            members = []
            for tag, leaf in leaves:
                if not (isinstance(leaf, dict) and "$ref" in leaf):
                    raise GenerationError(f"openapi: union {name}: branch {tag!r} was not hoisted")
                members.append((str(tag), leaf["$ref"].removeprefix(REF)))
            unknown = f"Unknown{name}"
            if unknown in final:
                raise GenerationError(
                    f"openapi: unknown-variant class {unknown} collides with a schema"
                )
            result.unions[name] = Union(name, prop, tuple(members), unknown, scalars)
        elif isinstance(schema.get("enum"), list) and len(schema["enum"]) >= 2:
            result.enums.add(name)
        elif schema.get("properties") or schema.get("type") == "object":
            result.classes.add(name)
    return result


def canonical_json(doc: Any) -> str:
    return json.dumps(doc, sort_keys=False, ensure_ascii=False, indent=1)
