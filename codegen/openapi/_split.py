"""Split the post-processed models into modules, so that a first run parse imports only its own.

One module of ~220 Pydantic classes costs ~60 ms to import (class creation; with
``defer_build`` no schema is built) before the first ``Run.from_openai`` can start. The objects
runbind's adapters read eagerly (``CORE_ROOTS``) and everything they reference go in
``_runs.py``; the Responses API (``RESPONSES_ROOTS``) and what it references, less what
``_runs.py`` has, in ``_responses.py`` (~370 classes, ~90 ms to import: an Assistants run parse
does not pay for it, nor a Responses one for the Assistants models); the rest (stream events, run
steps, assistants, threads, the other requests and listings) goes in ``models.py``, which imports
what it needs from the others and re-exports every model, so ``runbind_generated.openai.models``
still holds the whole API. The package
``__init__`` imports lazily (PEP 562): a name's module is imported on first access.

The split is a closure over top-level names: a class or alias goes in ``_runs`` if a root
reaches it through the names its statement mentions, so ``_runs`` never imports ``models``;
likewise ``_responses``, which may import from ``_runs`` only.
Statements keep their order within a module, which keeps every alias after what it names.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

from codegen.errors import GenerationError

CORE_MODULE = "_runs"
RESPONSES_MODULE = "_responses"
REST_MODULE = "models"
# What src/runbind/_openai.py imports at module level (the stream-event union it loads on the
# first event). tests/openai/test_adapter.py checks that a run parse does not import `models`.
CORE_ROOTS: tuple[str, ...] = (
    "ErrorEvent",
    "MessageDeltaObject",
    "MessageObject",
    "RunObject",
    "SubmitToolOutputsRunRequest",
)
# The Responses API: a response, its stream events, the create request and the input item
# list. Its own module, so that neither API's first parse imports the other's models.
RESPONSES_ROOTS: tuple[str, ...] = (
    "CreateResponse",
    "Response",
    "ResponseItemList",
    "ResponseStreamEvent",
)
# Per slice part: its module and roots, in import order (a later module imports from the
# earlier ones, never the reverse; `models` comes last and imports from all).
PART_MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "assistants": (CORE_MODULE, CORE_ROOTS),
    "responses": (RESPONSES_MODULE, RESPONSES_ROOTS),
}


@dataclass(frozen=True)
class Split:
    """Module name -> code (without the header), and public name -> module name."""

    modules: dict[str, str]
    owners: dict[str, str]


def _defined(node: ast.stmt) -> str | None:
    if isinstance(node, ast.ClassDef):
        return node.name
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        if isinstance(target, ast.Name):
            return target.id
    return None


def _is_rebuild(node: ast.stmt) -> bool:
    """``Model.model_rebuild()``, which the generator writes after a self-referencing model.

    Dropped: with ``defer_build`` every model is built on first use, when its module has
    defined every name it mentions; the call would only build the schema at import.
    """
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and not node.value.args
        and not node.value.keywords
        and isinstance(node.value.func, ast.Attribute)
        and node.value.func.attr == "model_rebuild"
        and isinstance(node.value.func.value, ast.Name)
    )


def _mentions(node: ast.stmt, names: set[str]) -> set[str]:
    found = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in names}
    # A forward reference written as a string (none today; kept correct if one appears).
    found |= {
        n.value
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in names
    }
    return found


def _closure(roots: tuple[str, ...], deps: dict[str, set[str]], taken: set[str]) -> set[str]:
    """The names ``roots`` reach through ``deps``, less those already ``taken``."""
    found: set[str] = set()
    todo = [root for root in roots if root not in taken]
    while todo:
        name = todo.pop()
        if name not in found and name not in taken:
            found.add(name)
            todo.extend(deps[name] - found - taken)
    return found


def _import_block(module: str, names: list[str]) -> str:
    return f"from .{module} import (\n" + "".join(f"    {n},\n" for n in names) + ")\n"


def split(code: str, parts: Sequence[str] = tuple(PART_MODULES)) -> Split:
    """Split ``code`` (imports, then classes and aliases only) into the parts' modules
    (:data:`PART_MODULES`, for the slice ``parts`` generated) and ``models``."""
    tree = ast.parse(code)
    lines = code.splitlines(keepends=True)
    prelude: list[str] = []
    body: list[tuple[str, str, ast.stmt]] = []  # (name, source text, node)
    for node in tree.body:
        text = "".join(lines[node.lineno - 1 : node.end_lineno or node.lineno])
        if isinstance(node, ast.Import | ast.ImportFrom):
            if body:
                raise GenerationError("openapi: an import follows the models (unexpected shape)")
            prelude.append(text)
            continue
        if _is_rebuild(node):
            continue
        name = _defined(node)
        if name is None:
            raise GenerationError(
                f"openapi: cannot split the models: unexpected statement at line {node.lineno}"
            )
        start = node.lineno - 1
        if isinstance(node, ast.ClassDef) and node.decorator_list:
            start = node.decorator_list[0].lineno - 1
        body.append((name, "".join(lines[start : node.end_lineno or node.lineno]), node))
    names = {name for name, _, _ in body}
    layout = [PART_MODULES[part] for part in PART_MODULES if part in parts]
    missing = sorted({root for _, roots in layout for root in roots} - names)
    if missing:
        raise GenerationError(f"openapi: split root {missing[0]} is not a generated model")
    deps = {name: _mentions(node, names) - {name} for name, _, node in body}
    owners: dict[str, str] = {}
    for module, roots in layout:
        owners.update(dict.fromkeys(_closure(roots, deps, set(owners)), module))
    for name in names - owners.keys():
        owners[name] = REST_MODULE
    head = "".join(prelude)
    everything = sorted(n for n in names if not n.startswith("_"))
    modules: dict[str, str] = {}
    earlier: list[str] = []
    for module, _ in layout:
        own = {n for n, m in owners.items() if m == module}
        used = set().union(*(deps[n] for n in own)) - own if own else set()
        imports = "".join(
            _import_block(before, sorted(n for n in used if owners[n] == before))
            for before in earlier
            if any(owners[n] == before for n in used)
        )
        text = "\n\n".join(t for name, t, _ in body if name in own)
        modules[module] = head + (imports and "\n" + imports) + "\n\n" + text
        earlier.append(module)
    # All of each part's module, used or not: models re-exports the whole API (its __all__).
    imports = "".join(
        _import_block(module, [n for n in everything if owners[n] == module]) for module in earlier
    )
    exported = "".join(f'    "{n}",\n' for n in everything)
    rest = [(name, text) for name, text, _ in body if owners[name] == REST_MODULE]
    modules[REST_MODULE] = (
        head
        + imports
        + "\n"
        + f"__all__ = [\n{exported}]\n\n\n"
        + "\n\n".join(text for _, text in rest)
    )
    return Split(modules=modules, owners=owners)
