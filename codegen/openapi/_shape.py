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
A key that is a bare component name renames that component (upstream names a few
with a trailing number, ``GrammarSyntax1``); every ``$ref`` to it follows.
Two locations may map to one name only if their schemas are identical. A map
entry that matches nothing, a name that collides, or a name ending in digits
is a GenerationError.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen.errors import GenerationError

from ._spec import NULL, is_null, is_plain

REF = "#/components/schemas/"
# Properties that can discriminate a union, by preference.
TAG_PROPERTIES: tuple[str, ...] = ("event", "type", "object")
# Properties that can tell apart the variants sharing a tag, by preference.
SUB_TAG_PROPERTIES: tuple[str, ...] = ("role", *TAG_PROPERTIES)
# Class names that may end in a digit because upstream really names them so.
ALLOWED_TRAILING_DIGITS: frozenset[str] = frozenset()
NUMBERED = re.compile(r"[A-Za-z]\d+$")
CLASS_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_BRANCH_CONSTRAINTS = frozenset(
    {"title", "description", "examples", "example", "minItems", "maxItems", "minLength"}
    | {"maxLength", "minimum", "maximum", "pattern", "format", "default"}
)
_NOT_STRUCTURAL = ("description", "title", "example", "examples", "x-oaiMeta", "x-oaiTypeLabel")


def pascal(text: str) -> str:
    parts = re.split(r"[^0-9A-Za-z]+", text)
    return "".join(p[:1].upper() + p[1:] for p in parts if p)


def load_names(path: Path, tables: Sequence[str] = ("names",)) -> dict[str, str]:
    """The naming map: the entries of ``tables`` of the TOML file (one table per slice part).

    A location named in two tables is an error, even with the same name (one owner each).
    """
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise GenerationError(
            f"openapi: cannot read naming map {path.name}: {exc.strerror}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise GenerationError(f"openapi: naming map {path.name} is not valid TOML: {exc}") from None
    names: dict[str, str] = {}
    for table in tables:
        entries = data.get(table, {})
        if not isinstance(entries, dict) or not all(isinstance(v, str) for v in entries.values()):
            raise GenerationError(
                f"openapi: naming map {path.name} needs a [{table}] table of strings"
            )
        twice = sorted(names.keys() & entries.keys())
        if twice:
            raise GenerationError(f"openapi: naming map entry {twice[0]!r} is in two tables")
        names.update(entries)
    for loc, name in names.items():
        if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name):
            raise GenerationError(
                f"openapi: naming map entry {loc!r} = {name!r} is not a class name"
            )
    return dict(names)


class StaleNames(GenerationError):
    """Naming map entries that match no inline schema (upstream removed them); ``names``."""

    def __init__(self, names: list[str], message: str) -> None:
        super().__init__(message)
        self.names = names


@dataclass(frozen=True)
class Leaf:
    """A variant of a tagged union: its tag values, its schema, whether a tag is shared."""

    tags: tuple[str, ...]
    schema: Any
    shared: bool


def _literal_values(value: dict[str, Any]) -> tuple[str, ...] | None:
    """The strings a string enum (or a union of string enums) allows; None for anything else."""
    enum = value.get("enum")
    if isinstance(enum, list) and enum and all(isinstance(v, str) for v in enum):
        return tuple(enum)
    branches = value.get("anyOf") or value.get("oneOf")
    if isinstance(branches, list) and branches:
        parts = [_literal_values(b) if isinstance(b, dict) else None for b in branches]
        if all(p is not None and len(p) == 1 for p in parts):
            return tuple(p[0] for p in parts if p is not None)
    return None


@dataclass(frozen=True)
class Union:
    """A union discriminated on ``prop``: ``(tag, class name)`` per leaf, plus its unknown class."""

    name: str
    prop: str
    members: tuple[tuple[str, str], ...]
    unknown: str
    # Branches that are not tagged objects (a plain string option), by index in the schema.
    scalars: int
    # Variants whose tag another variant shares (`message`: an input or an output message),
    # ``(tag, class name)``: tried after the discriminated ``members``, per tag.
    shared: tuple[tuple[str, str], ...] = ()
    # ``(shared tag, property)``: the property that tells that tag's variants apart (`role`).
    sub_tags: tuple[tuple[str, str], ...] = ()


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
        # The wider union rule (several tags per variant, shared tags): off while visiting a
        # schema of a part that keeps the first rule (see :func:`shape`).
        self.wide = True

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

    def property(self, target: dict[str, Any], prop: str) -> Any:
        """The schema of ``prop`` in ``target``, also when an ``allOf`` part declares it.

        Own properties first, then the parts from the last (the generated class declares the
        inline parts' fields over its ``$ref`` bases, and a later base overrides an earlier one).
        """
        props = target.get("properties") or {}
        if prop in props:
            return props[prop]
        for part in reversed(target.get("allOf") or []):
            sub = self.resolve(part)
            if isinstance(sub, dict):
                found = self.property(sub, prop)
                if found is not None:
                    return found
        return None

    def required(self, target: dict[str, Any]) -> set[str]:
        """The properties ``target`` requires, its ``allOf`` parts' included."""
        out = set(target.get("required") or ())
        for part in target.get("allOf") or []:
            sub = self.resolve(part)
            if isinstance(sub, dict):
                out |= self.required(sub)
        return out

    def tags(self, schema: Any, prop: str) -> tuple[str, ...] | None:
        """The values ``prop`` may take in ``schema``, if it is a tag.

        A tag is a single-valued enum or a const, or (for a required property only: an absent
        one would pick no variant) an enum of several strings or a union of such literals.
        """
        target = self.resolve(schema)
        if not isinstance(target, dict):
            return None
        value = self.resolve(self.property(target, prop))
        if not isinstance(value, dict):
            return None
        if isinstance(value.get("const"), str):
            return (str(value["const"]),)
        values = _literal_values(value)
        if values is None or (len(values) > 1 and prop not in self.required(target)):
            return None
        return values

    def tag(self, schema: Any, prop: str) -> str | None:
        """The tag of a variant with a single one (its class is named after it)."""
        found = self.tags(schema, prop)
        return found[0] if found is not None and len(found) == 1 else None

    def leaves(self, schema: Any, prop: str) -> list[tuple[tuple[str, ...], Any]] | None:
        """Tagged leaves of a union branch; nested unions on the same tag are flattened."""
        target = self.resolve(schema)
        tags = self.tags(schema, prop)
        if tags is not None:
            return [(tags, schema)]
        if isinstance(target, dict):
            branches = target.get("oneOf") or target.get("anyOf")
            if branches and not any(is_null(b) for b in branches):
                out: list[tuple[tuple[str, ...], Any]] = []
                for branch in branches:
                    sub = self.leaves(branch, prop)
                    if sub is None:
                        return None
                    out.extend(sub)
                return out
        return None

    def union_tag(self, schema: dict[str, Any]) -> tuple[str, list[Leaf], int] | None:
        """``(prop, leaves, scalar branch count)`` if ``schema`` is a union with a tag.

        Every object branch needs a tag; a tag that several leaves carry marks them all
        ``shared`` (tried one by one after the discriminated ones), and at least one leaf must
        have tags of its own. Unless ``self.wide``, every leaf has one tag and none is shared:
        the first rule, which the Assistants models were generated with and keep.
        """
        branches = schema.get("oneOf") or schema.get("anyOf")
        if not isinstance(branches, list) or any(is_null(b) for b in branches):
            return None
        objects = [b for b in branches if self._is_object(b)]
        scalars = len(branches) - len(objects)
        for prop in TAG_PROPERTIES:
            found: list[tuple[tuple[str, ...], Any]] = []
            for branch in objects:
                sub = self.leaves(branch, prop)
                if sub is None:
                    break
                found.extend(sub)
            else:
                owners: dict[str, set[str]] = {}
                for tags, leaf in found:
                    for tag in tags:
                        owners.setdefault(tag, set()).add(json.dumps(leaf, sort_keys=True))
                leaves = [
                    Leaf(tags, leaf, any(len(owners[t]) > 1 for t in tags)) for tags, leaf in found
                ]
                narrow_ok = all(len(leaf.tags) == 1 and not leaf.shared for leaf in leaves)
                if any(not leaf.shared for leaf in leaves) and (self.wide or narrow_ok):
                    return prop, leaves, scalars
        return None

    def sub_tag(self, schemas: list[Any], exclude: str) -> tuple[str, list[tuple[str, ...]]] | None:
        """A property whose tags tell ``schemas`` apart (none shared), and their tags."""
        for prop in SUB_TAG_PROPERTIES:
            if prop == exclude:
                continue
            found = [self.tags(schema, prop) for schema in schemas]
            flat = [tag for tags in found for tag in tags or ()]
            if all(found) and len(set(flat)) == len(flat):
                return prop, [tags for tags in found if tags]
        return None

    def declaring(self, name: str, prop: str) -> str | None:
        """The component that declares ``prop`` of component ``name`` (itself, an inline
        ``allOf`` part of it, or a component it extends through ``allOf``)."""
        schema = self.schemas.get(name)
        if not isinstance(schema, dict):
            return None
        parts = [p for p in schema.get("allOf") or [] if isinstance(p, dict)]
        if any(prop in (h.get("properties") or {}) for h in (schema, *parts) if "$ref" not in h):
            return name
        for part in reversed(parts):
            ref = part.get("$ref")
            if isinstance(ref, str):
                found = self.declaring(ref.removeprefix(REF), prop)
                if found is not None:
                    return found
        return None

    def _is_object(self, schema: Any) -> bool:
        target = self.resolve(schema)
        if not isinstance(target, dict):
            return False
        if target.get("type") == "object" or "properties" in target:
            return True
        if any(self._is_object(part) for part in target.get("allOf") or []):
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
        if not CLASS_NAME.fullmatch(name):  # the generator would mangle it (`A-2` -> `A2`)
            raise GenerationError(
                f"openapi: schema name {name!r} (at {loc}) is not a class name;"
                " rename it in specs/openai-names.toml"
            )
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
            # An inline object part adds fields to this class (the generator makes the `$ref`
            # parts its bases): it is visited in place, its properties named after this class.
            out["allOf"] = [
                self.visit(b, f"{loc}&{i}", base)
                if isinstance(b, dict) and b.get("properties") and not self.union_tag(b)
                else self.child(b, f"{loc}&{i}", None, base)
                for i, b in enumerate(out["allOf"])
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


def _rename_components(
    doc: dict[str, Any], names: dict[str, str]
) -> tuple[dict[str, Any], set[str]]:
    """``doc`` with the components that ``names`` maps by bare name renamed, refs followed.

    Returns the new document and the map keys used. A new name that is already a component
    is a GenerationError (the two would merge silently).
    """
    schemas = doc["components"]["schemas"]
    renames = {old: new for old, new in names.items() if old in schemas}
    if not renames:
        return doc, set()
    for old, new in sorted(renames.items()):
        if new in schemas:
            raise GenerationError(
                f"openapi: naming map renames {old} to {new}, which is already a schema"
            )
    refs = {REF + old: REF + new for old, new in renames.items()}

    def fix(node: Any) -> Any:
        if isinstance(node, list):
            return [fix(v) for v in node]
        if not isinstance(node, dict):
            return node
        return {
            k: refs.get(v, v) if k == "$ref" and isinstance(v, str) else fix(v)
            for k, v in node.items()
        }

    out = fix(doc)
    out["components"]["schemas"] = {
        renames.get(name, name): schema for name, schema in out["components"]["schemas"].items()
    }
    return out, set(renames)


def _multi_tag_variants(shaper: _Shaper, schema: Any) -> set[tuple[str, str]]:
    """``(component, tag property)`` of every variant with several tags of the unions in
    ``schema``."""
    todo: set[tuple[str, str]] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        stack.extend(node.values())
        if "oneOf" not in node and "anyOf" not in node:
            continue
        tagged = shaper.union_tag(node)
        if tagged is None:
            continue
        prop, leaves, _ = tagged
        for leaf in leaves:
            if len(leaf.tags) > 1 and isinstance(leaf.schema, dict) and "$ref" in leaf.schema:
                todo.add((leaf.schema["$ref"].removeprefix(REF), prop))
        for group in _shared_groups(leaves).values():
            sub = shaper.sub_tag(group, prop)
            for variant, tags in zip(group, sub[1] if sub else (), strict=False):
                if sub and len(tags) > 1 and isinstance(variant, dict) and "$ref" in variant:
                    todo.add((variant["$ref"].removeprefix(REF), sub[0]))
    return todo


def _shared_groups(leaves: list[Leaf]) -> dict[str, list[Any]]:
    """``{shared tag: the schemas of the leaves that carry it}``, in leaf order."""
    groups: dict[str, list[Any]] = {}
    for leaf in leaves:
        if leaf.shared:
            for tag in leaf.tags:
                groups.setdefault(tag, []).append(leaf.schema)
    return {tag: group for tag, group in groups.items() if len(group) > 1}


def _literal_tags(schemas: dict[str, Any], narrow: frozenset[str]) -> dict[str, Any]:
    """Write each multi-valued tag of a union variant as a union of single-value enums.

    ``type: {enum: [web_search, web_search_2025_08_26]}`` would become an enum class, which a
    discriminated union cannot read; the generator writes the rewritten form as
    ``Literal["web_search"] | Literal["web_search_2025_08_26"]``, which it can. Only component
    variants whose own (or inline ``allOf`` part's) property carries the enum are rewritten,
    and only for the unions of schemas outside ``narrow`` (those keep the first rule).
    """
    shaper = _Shaper(schemas, {})
    todo: set[tuple[str, str]] = set()
    for root in sorted(set(schemas) - narrow):
        todo |= _multi_tag_variants(shaper, schemas[root])
    out = dict(schemas)
    for variant, prop in sorted(todo):
        name = shaper.declaring(variant, prop) or variant
        if name in narrow:
            raise GenerationError(
                f"openapi: {name}.{prop} would turn into literals for a union of the wider rule,"
                " but its part keeps the first rule"
            )
        schema = copy.deepcopy(out[name])
        holders = [schema, *(p for p in schema.get("allOf") or [] if isinstance(p, dict))]
        for holder in holders:
            value = (holder.get("properties") or {}).get(prop)
            if isinstance(value, dict) and isinstance(value.get("enum"), list):
                rest = {k: v for k, v in value.items() if k not in ("enum", "type", "default")}
                rest["anyOf"] = [{"type": "string", "enum": [tag]} for tag in value["enum"]]
                holder["properties"][prop] = rest
        out[name] = schema
    return out


def _drop_discriminators(node: Any) -> Any:
    """``node`` without OpenAPI ``discriminator`` keywords.

    The unions are classified here (:meth:`_Shaper.union_tag`) and written by the
    post-processing; given a discriminator without a mapping, the generator would instead
    retype a variant's tag it cannot read as a literal of the class name.
    """
    if isinstance(node, list):
        return [_drop_discriminators(v) for v in node]
    if not isinstance(node, dict):
        return node
    return {k: _drop_discriminators(v) for k, v in node.items() if k != "discriminator"}


def _root(loc: str) -> str:
    """The component a location starts from (``RunObject.status`` -> ``RunObject``)."""
    return re.split(r"[.\[{|&]", loc, maxsplit=1)[0]


def shape(
    doc: dict[str, Any], names: dict[str, str], narrow: frozenset[str] = frozenset()
) -> Shaped:
    """Hoist, name and classify every generated class of the (normalised) slice.

    ``narrow`` names the components (and what is hoisted out of them) that keep the first
    union rule (:meth:`_Shaper.union_tag`): the Assistants part, whose models must not change.
    """
    doc, renamed = _rename_components(doc, names)
    narrow = frozenset(names.get(n, n) if n in renamed else n for n in narrow)
    schemas = _relax_required(_push_nullable_components(doc["components"]["schemas"]))
    schemas = _literal_tags(_drop_discriminators(schemas), narrow)
    shaper = _Shaper(schemas, names)
    shaper.used |= renamed
    shaper.from_map |= {names[old] for old in renamed}
    for name in sorted(schemas):
        shaper.origins[name] = name
    for name in sorted(schemas):
        shaper.wide = name not in narrow
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
        raise StaleNames(
            stale,
            f"openapi: specs/openai-names.toml entry {stale[0]!r} no longer matches"
            " any inline schema" + (f" (and {len(stale) - 1} more)" if len(stale) > 1 else ""),
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
        shaper.wide = _root(shaper.origins.get(name, name)) not in narrow
        tagged = shaper.union_tag(schema)
        if tagged is not None:
            prop, leaves, scalars = tagged
            members: list[tuple[str, str]] = []
            shared: list[tuple[str, str]] = []
            sub_tags = []
            for tag, group in _shared_groups(leaves).items():
                sub = shaper.sub_tag(group, prop)
                if sub is not None:
                    sub_tags.append((tag, sub[0]))
            for leaf in leaves:
                if not (isinstance(leaf.schema, dict) and "$ref" in leaf.schema):
                    raise GenerationError(
                        f"openapi: union {name}: branch {leaf.tags[0]!r} was not hoisted"
                    )
                cls = leaf.schema["$ref"].removeprefix(REF)
                (shared if leaf.shared else members).extend((tag, cls) for tag in leaf.tags)
            unknown = f"Unknown{name}"
            if unknown in final:
                raise GenerationError(
                    f"openapi: unknown-variant class {unknown} collides with a schema"
                )
            result.unions[name] = Union(
                name, prop, tuple(members), unknown, scalars, tuple(shared), tuple(sub_tags)
            )
        elif isinstance(schema.get("enum"), list) and len(schema["enum"]) >= 2:
            result.enums.add(name)
        elif schema.get("properties") or schema.get("type") == "object" or "allOf" in schema:
            result.classes.add(name)
    return result


def canonical_json(doc: Any) -> str:
    return json.dumps(doc, sort_keys=False, ensure_ascii=False, indent=1)
