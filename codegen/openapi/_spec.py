"""Load the spec, apply the overlay, slice it and normalise ``nullable``.

The slice is defined by the two constants below, and nowhere else.
"""

from __future__ import annotations

import copy
import hashlib
import pickle
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from codegen.errors import GenerationError

# ---------------------------------------------------------------------------
# THE SLICE. Widen it here (docs/generated.md points at these constants).
# Each part keeps every operation under its path prefixes and at its exact
# paths, plus the transitive closure of every `$ref` they use.


@dataclass(frozen=True)
class SlicePart:
    """One API of the slice: the operations it keeps and the schemas it adds.

    ``path_prefixes`` keep a path and everything below it; ``paths`` keep exactly those
    paths (each must be in the spec), so that siblings such as ``/responses/compact`` or a
    ``?beta=true`` twin stay out. ``extra_schemas`` are schemas no kept path refers to.
    ``names_table`` is its table of ``specs/openai-names.toml``; overlay actions marked
    ``x-slice: <name>`` apply only when the part is generated. ``wide_unions`` lets its unions
    use the wider tagging rule (several tags per variant, shared tags: ``_shape.py``); the
    schemas of a part without it keep the first rule, so its released models do not change.
    """

    name: str
    path_prefixes: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    extra_schemas: tuple[str, ...] = ()
    names_table: str = "names"
    wide_unions: bool = True


# The run stream events are only named from the document's top-level `x-oaiMeta`
# navigation (`text/event-stream` responses carry no schema, or one the paths do not
# reach), so each part lists its event union.
ASSISTANTS = SlicePart(
    "assistants",
    path_prefixes=("/assistants", "/threads"),
    extra_schemas=("AssistantStreamEvent",),
    wide_unions=False,
)
RESPONSES = SlicePart(
    "responses",
    paths=(
        "/responses",
        "/responses/{response_id}",
        "/responses/{response_id}/cancel",
        "/responses/{response_id}/input_items",
    ),
    extra_schemas=("ResponseStreamEvent",),
    names_table="responses-names",
)
SLICE: tuple[SlicePart, ...] = (ASSISTANTS, RESPONSES)
SLICE_PATH_PREFIXES: tuple[str, ...] = tuple(p for part in SLICE for p in part.path_prefixes)
SLICE_PATHS: tuple[str, ...] = tuple(p for part in SLICE for p in part.paths)
SLICE_EXTRA_SCHEMAS: tuple[str, ...] = tuple(n for part in SLICE for n in part.extra_schemas)
# ---------------------------------------------------------------------------

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_REF_PREFIX = "#/components/"


class _Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """Safe YAML loader (C speed when available) that keeps timestamps as strings."""


_Loader.yaml_implicit_resolvers = {
    key: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in _Loader.yaml_implicit_resolvers.items()
}


_PARSED: dict[bytes, bytes] = {}
"""Checked trees by the SHA-256 of their file's bytes, pickled (a copy to hand out each time):
a bump or a ``check`` builds from the same spec more than once, and parsing it takes 2 s."""
_PARSED_MAX = 8


def load_yaml(path: Path) -> Any:
    """Parse a YAML (or JSON) file; a missing or malformed file is a GenerationError.

    Besides syntax, the loaded document must be UTF-8 text and a finite tree of bounded depth
    and size (:func:`_check_tree`): YAML anchors can build self-containing or exponentially
    shared structures, which would make the later steps recurse forever or blow up. The same
    bytes again give a fresh copy of the tree parsed before (the callers change what they get).
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise GenerationError(f"openapi: cannot read {path.name}: {exc.strerror}") from None
    key = hashlib.sha256(raw).digest()
    kept = _PARSED.get(key)
    if kept is not None:
        return pickle.loads(kept)  # our own bytes, made below in this process
    try:
        data = yaml.load(raw, Loader=_Loader)
    except yaml.reader.ReaderError as exc:
        raise GenerationError(
            f"openapi: {path.name} is not UTF-8 text: {exc.reason} at byte {exc.position}"
        ) from None
    except yaml.YAMLError as exc:
        raise GenerationError(
            f"openapi: {path.name} is not valid YAML: {_yaml_reason(exc)}"
        ) from None
    except RecursionError:
        raise GenerationError(f"openapi: {path.name} nests too deeply to load") from None
    _check_tree(data, path.name)
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.pop(next(iter(_PARSED)))
    _PARSED[key] = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    return data


# Bounds of a loaded document; the locked spec is about 61 000 nodes, 22 levels deep.
MAX_DEPTH = 200
MAX_NODES = 5_000_000


def _check_tree(data: Any, name: str) -> None:
    """Fail unless ``data`` is a tree: no node inside itself, depth and size bounded.

    Iterative, so neither a deep nor a cyclic document can exhaust the stack here; counting
    every visit bounds the expansion of shared YAML aliases (an "alias bomb").
    """
    nodes = 0
    ancestors: set[int] = set()
    # (node, depth, entering): the second visit of a container removes it from ``ancestors``.
    stack: list[tuple[Any, int, bool]] = [(data, 1, True)]
    while stack:
        node, depth, entering = stack.pop()
        if not isinstance(node, dict | list):
            nodes += 1
            continue
        if not entering:
            ancestors.discard(id(node))
            continue
        nodes += 1
        if id(node) in ancestors:
            raise GenerationError(f"openapi: {name} contains itself (a recursive YAML alias)")
        if depth > MAX_DEPTH:
            raise GenerationError(f"openapi: {name} nests deeper than {MAX_DEPTH} levels")
        if nodes > MAX_NODES:
            raise GenerationError(f"openapi: {name} expands to more than {MAX_NODES} nodes")
        ancestors.add(id(node))
        stack.append((node, depth, False))
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1, True) for child in children)


def _yaml_reason(exc: yaml.YAMLError) -> str:
    """One line: where and what (PyYAML's own text spans several lines and absolute paths)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or type(exc).__name__
    if mark is None:
        return str(problem)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def load_spec(path: Path) -> dict[str, Any]:
    """The OpenAPI 3.x document in ``path``; anything else fails with one line saying what."""
    spec = load_yaml(path)
    if spec is None:
        raise GenerationError(f"openapi: {path.name} is empty")
    if not isinstance(spec, dict):
        kind = "a list" if isinstance(spec, list) else f"a {type(spec).__name__}"
        raise GenerationError(
            f"openapi: {path.name} is not an OpenAPI 3.x document (its top level is {kind})"
        )
    version = spec.get("openapi")
    if not str(version).startswith("3."):
        raise GenerationError(
            f"openapi: {path.name} is not an OpenAPI 3.x document (openapi: {version!r})"
        )
    return spec


# -- refs and the slice -------------------------------------------------------


def iter_refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` string under ``node`` (document order)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                yield ref
            stack.extend(reversed([v for k, v in item.items() if k != "$ref"]))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def split_ref(ref: str) -> tuple[str, str]:
    """``#/components/<section>/<name>`` -> ``(section, name)``; anything else is an error."""
    if not ref.startswith(_REF_PREFIX) or ref.count("/") != 3:
        raise GenerationError(
            f"openapi: unsupported $ref {ref!r} (only #/components/<kind>/<name>)"
        )
    section, name = ref[len(_REF_PREFIX) :].split("/")
    return section, name


def _in_slice(path: str, parts: Sequence[SlicePart] = SLICE) -> bool:
    """Whether ``path`` is one of the parts' exact paths or under one of their prefixes."""
    return any(
        path in part.paths or any(path == p or path.startswith(p + "/") for p in part.path_prefixes)
        for part in parts
    )


def slice_spec(spec: dict[str, Any], parts: Sequence[SlicePart] = SLICE) -> dict[str, Any]:
    """Return the slice of ``spec`` made of ``parts`` as a standalone OpenAPI document.

    Keeps ``openapi`` and ``info``, the paths of every part (all their operations) and the
    components they reach through ``$ref`` (plus each part's ``extra_schemas``), with sorted
    keys. Usually only ``components.schemas``; other component kinds (a shared ``responses``
    entry) are kept too when a kept path refers to them, so every ``$ref`` resolves inside
    the slice. A part's exact path missing from the spec is an error (renamed upstream?).
    """
    components = spec.get("components") or {}
    all_paths = spec.get("paths") or {}
    for part in parts:
        gone = [p for p in part.paths if p not in all_paths]
        if gone:
            raise GenerationError(f"openapi: the {part.name} path {gone[0]} is not in the spec")
    paths = {k: copy.deepcopy(v) for k, v in sorted(all_paths.items()) if _in_slice(k, parts)}
    if not paths:
        prefixes = [p for part in parts for p in part.path_prefixes]
        raise GenerationError(f"openapi: no paths under {', '.join(prefixes)}")
    extra = [name for part in parts for name in part.extra_schemas]
    # (ref, where it was found): a dangling ref is reported with the place that uses it.
    todo = [(f"{_REF_PREFIX}schemas/{name}", "SLICE_EXTRA_SCHEMAS") for name in extra]
    for path_name, item in paths.items():
        todo.extend((ref, f"paths.{path_name}") for ref in iter_refs(item))
    kept: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    while todo:
        ref, origin = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        section, name = split_ref(ref)
        try:
            target = components[section][name]
        except (KeyError, TypeError):
            raise GenerationError(
                f"openapi: $ref {ref} (used in {origin}) does not resolve"
            ) from None
        kept.setdefault(section, {})[name] = copy.deepcopy(target)
        todo.extend((sub, f"components.{section}.{name}") for sub in iter_refs(target))
    check_alias_cycles(kept.get("schemas", {}))
    out: dict[str, Any] = {"openapi": spec["openapi"], "info": copy.deepcopy(spec.get("info", {}))}
    out["paths"] = paths
    out["components"] = {s: dict(sorted(v.items())) for s, v in sorted(kept.items())}
    return out


def _alias_targets(schema: Any) -> list[str]:
    """Schemas that ``schema`` *is* (its ``$ref``, its allOf/anyOf/oneOf members), not has.

    Properties, items and map values are containers: a ref through them consumes a level
    of the instance, so a cycle through them is an ordinary recursive type.
    """
    out: list[str] = []
    stack = [schema]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX + "schemas/"):
            out.append(ref.rsplit("/", 1)[1])
        for key in ("allOf", "anyOf", "oneOf"):
            if isinstance(node.get(key), list):
                stack.extend(node[key])
    return out


def check_alias_cycles(schemas: dict[str, Any]) -> None:
    """Fail on schemas that are defined as themselves through refs and combinators only.

    ``A: {$ref: B}`` with ``B: {$ref: A}`` (or the same through ``allOf``/``anyOf``/``oneOf``)
    describes no value: JSON Schema leaves such loops undefined and a generator would recurse
    forever. A cycle through a property (a tree node with child nodes) is legal and passes.
    Iterative depth-first search, so a long chain cannot exhaust the stack.
    """
    edges = {name: sorted(set(_alias_targets(schema))) for name, schema in schemas.items()}
    done: set[str] = set()
    for start in sorted(edges):
        if start in done:
            continue
        path: list[str] = [start]
        on_path = {start}
        iters = [iter(edges[start])]
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                iters.pop()
                continue
            if nxt in on_path:
                loop = [*path[path.index(nxt) :], nxt]
                raise GenerationError(
                    "openapi: $ref cycle with no object in between: " + " -> ".join(loop)
                )
            if nxt in done or nxt not in edges:
                continue
            path.append(nxt)
            on_path.add(nxt)
            iters.append(iter(edges[nxt]))


# -- the overlay ----------------------------------------------------------------

_SEGMENT = re.compile(
    r"\.([A-Za-z_][\w-]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\[\?\(@ ?== ?'((?:[^'\\]|\\.)*)'\)\]"
)


class _Equals(str):
    """A ``[?(@ == 'value')]`` segment: the one array element equal to ``value``."""


def parse_target(target: str) -> list[str | int]:
    """Parse the supported JSONPath subset.

    ``$`` then any of: ``.name``, ``['any name']``, ``[0]``, and the filter
    ``[?(@ == 'value')]`` (the array element equal to a string, so a ``required``
    entry can be removed without relying on its position).
    """
    if not target.startswith("$"):
        raise GenerationError(f"openapi overlay: target {target!r} must start with '$'")
    pos = 1
    out: list[str | int] = []
    while pos < len(target):
        match = _SEGMENT.match(target, pos)
        if match is None:
            raise GenerationError(
                f"openapi overlay: unsupported selector at {target[pos:]!r} in {target!r}"
                " (supported: .name, ['name'], [index], [?(@ == 'value')])"
            )
        name, index, quoted, equals = match.groups()
        if equals is not None:
            out.append(_Equals(equals))
        else:
            out.append(int(index) if index is not None else name if name is not None else quoted)
        pos = match.end()
    return out


def _resolve(doc: Any, segments: list[str | int]) -> tuple[bool, Any]:
    node = doc
    for seg in segments:
        if isinstance(seg, _Equals) and isinstance(node, list) and node.count(str(seg)) == 1:
            node = node[node.index(str(seg))]
        elif isinstance(seg, int) and isinstance(node, list) and 0 <= seg < len(node):  # noqa: SIM114 - separate branches narrow types
            node = node[seg]
        elif isinstance(seg, str) and isinstance(node, dict) and seg in node:
            node = node[seg]
        else:
            return False, None
    return True, node


def _merge(target: Any, update: Any) -> Any:
    if isinstance(target, dict) and isinstance(update, dict):
        merged = dict(target)
        for key, value in update.items():
            merged[key] = _merge(target[key], value) if key in target else copy.deepcopy(value)
        return merged
    return copy.deepcopy(update)


def apply_overlay(
    spec: dict[str, Any], overlay: dict[str, Any], parts: Sequence[SlicePart] = SLICE
) -> dict[str, Any]:
    """Apply an OpenAPI Overlay 1.0 document to a copy of ``spec``.

    Supported: ``actions[*]`` with ``target`` (the selector subset of
    :func:`parse_target`, one node per target), ``description`` (required here:
    the reason), and either ``update`` (mappings merge recursively, any other
    value replaces; an array target gets the value appended) or
    ``remove: true``. An action whose target does not exist, or whose update
    no longer changes anything, raises GenerationError naming the action.
    An action with ``x-slice: <part>`` belongs to that part of the slice and is skipped
    when ``parts`` leaves the part out (an older spec without that API).
    """
    names = {part.name for part in SLICE}
    wanted = {part.name for part in parts}
    if not str(overlay.get("overlay", "")).startswith("1."):
        raise GenerationError(
            "openapi overlay: not an Overlay 1.x document (missing 'overlay: 1.0.0')"
        )
    doc = copy.deepcopy(spec)
    for number, action in enumerate(overlay.get("actions") or [], start=1):
        label = f"openapi overlay action {number} ({action.get('target', '?')})"
        if not action.get("description"):
            raise GenerationError(f"{label}: every action needs a 'description' giving its reason")
        scope = action.get("x-slice")
        if scope is not None and scope not in names:
            raise GenerationError(f"{label}: x-slice {scope!r} is not a part of the slice")
        if scope is not None and scope not in wanted:
            continue
        segments = parse_target(str(action.get("target", "")))
        if not segments:
            raise GenerationError(f"{label}: the root cannot be a target")
        found, node = _resolve(doc, segments)
        if not found:
            raise GenerationError(f"{label}: target no longer exists upstream; review the overlay")
        _, parent = _resolve(doc, segments[:-1])
        last = segments[-1]
        if isinstance(last, _Equals):
            last = parent.index(str(last))
        if action.get("remove") is True:
            del parent[last]
            continue
        if "update" not in action:
            raise GenerationError(f"{label}: needs 'update' or 'remove: true'")
        if isinstance(node, list):
            new: Any = [*node, copy.deepcopy(action["update"])]
        else:
            new = _merge(node, action["update"])
        if new == node:
            raise GenerationError(f"{label}: update no longer changes anything upstream; drop it")
        parent[last] = new
    return doc


# -- nullable normalisation ----------------------------------------------------------

NULL: dict[str, Any] = {"type": "null"}
# Keywords that describe a property rather than constrain its value: they stay on
# the outer schema when a nullable schema is rewritten as `anyOf [X, null]`.
_ANNOTATIONS = (
    "title",
    "description",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "example",
    "examples",
)


def is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null" and len(schema) == 1


def _wrap_null(schema: dict[str, Any]) -> dict[str, Any]:
    outer = {k: schema[k] for k in _ANNOTATIONS if k in schema}
    inner = {k: v for k, v in schema.items() if k not in outer}
    outer["anyOf"] = [inner, dict(NULL)]
    return outer


def is_plain(schema: Any) -> bool:
    """A scalar or array schema: no class, no enum, no union."""
    return (
        isinstance(schema, dict)
        and isinstance(schema.get("type"), str)
        and schema["type"] != "object"
        and not schema.keys() & {"properties", "enum", "const", "$ref", "oneOf", "anyOf", "allOf"}
    )


def _merge_plain_nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``anyOf [{plain, constraints}, null]`` -> ``{plain, type: [t, "null"], constraints}``.

    Otherwise the generator lifts the constrained branch into an alias named after
    the field (``Name``, ``Description``), names that collide and get numbered.
    """
    branches = schema.get("anyOf") or schema.get("oneOf")
    if not isinstance(branches, list) or len(branches) != 2 or sum(map(is_null, branches)) != 1:
        return schema
    if not schema.keys() <= {"anyOf", "oneOf", *_ANNOTATIONS}:
        return schema
    (inner,) = [b for b in branches if not is_null(b)]
    if not is_plain(inner):
        return schema
    outer = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
    return {**inner, **outer, "type": [inner["type"], "null"]}


def _normalise(schema: Any) -> Any:
    """One schema, bottom-up: every nullable form becomes 3.1 (`type` list or `anyOf [X, null]`)."""
    if not isinstance(schema, dict):
        return schema
    schema = dict(schema)
    nullable = schema.pop("nullable", False) is True
    # 3.0 idiom: `allOf: [{$ref: X}, {nullable: true}]` -> the part only carries nullability.
    if isinstance(schema.get("allOf"), list):
        parts = []
        for part in schema["allOf"]:
            if isinstance(part, dict) and part.keys() <= {"nullable", *_ANNOTATIONS}:
                nullable = nullable or part.get("nullable") is True
                schema.update(
                    {k: v for k, v in part.items() if k != "nullable" and k not in schema}
                )
            else:
                parts.append(part)
        if len(parts) == 1 and not schema.keys() - {"allOf", *_ANNOTATIONS}:
            del schema["allOf"]
            schema.update(parts[0])
        else:
            schema["allOf"] = parts
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties", "$defs"):
            out[key] = {k: _normalise(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not", "contains", "unevaluatedItems"):
            out[key] = _normalise(value)
        elif key in ("oneOf", "anyOf", "allOf", "prefixItems"):
            out[key] = [_normalise(v) for v in value]
        else:
            out[key] = value
    # `enum` listing null: the null belongs to the nullability, not to the enum.
    if isinstance(out.get("enum"), list) and None in out["enum"]:
        out["enum"] = [v for v in out["enum"] if v is not None]
        nullable = True
    types = out.get("type")
    if isinstance(types, list) and "null" in types:
        rest = [t for t in types if t != "null"]
        out["type"] = rest[0] if len(rest) == 1 else rest
        nullable = True
    if not nullable:
        return _merge_plain_nullable(out)
    if is_plain(out):  # a plain value stays a 3.1 type list; a class or a union is wrapped
        return {**out, "type": [out["type"], "null"]}
    if "anyOf" in out and out.keys() <= {"anyOf", *_ANNOTATIONS}:
        if not any(is_null(m) for m in out["anyOf"]):
            out["anyOf"] = [*out["anyOf"], dict(NULL)]
        return out
    return _wrap_null(out)


def normalise_nullable(doc: dict[str, Any]) -> dict[str, Any]:
    """Rewrite every ``components.schemas`` entry so nullability is expressed the 3.1 way.

    Handles 3.0 ``nullable: true`` (also when written inside a 3.1 document),
    the ``allOf [$ref, {nullable: true}]`` idiom, ``null`` inside ``enum`` and
    ``type`` lists around classes. The result is labelled ``openapi: 3.1.0``.
    """
    out = dict(doc)
    components = dict(doc.get("components") or {})
    components["schemas"] = {k: _normalise(v) for k, v in (components.get("schemas") or {}).items()}
    out["components"] = components
    out["openapi"] = "3.1.0"
    return out
