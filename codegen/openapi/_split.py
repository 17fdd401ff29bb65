"""Split the post-processed models into modules, so that a first run parse imports only its own.

One module of ~220 Pydantic classes costs ~60 ms to import (class creation; with
``defer_build`` no schema is built) before the first ``Run.from_openai`` can start. The objects
runbind's adapters read eagerly (``CORE_ROOTS``) and everything they reference go in
``_runs.py``; the rest (stream events, run steps, assistants, threads, the other requests and
listings) goes in ``models.py``, which imports what it needs from ``_runs`` and re-exports every
model, so ``runbind_generated.openai.models`` still holds the whole API. The package
``__init__`` imports lazily (PEP 562): a name's module is imported on first access.

The split is a closure over top-level names: a class or alias goes in ``_runs`` if a root
reaches it through the names its statement mentions, so ``_runs`` never imports ``models``.
Statements keep their order within a module, which keeps every alias after what it names.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from codegen.errors import GenerationError

CORE_MODULE = "_runs"
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


def split(code: str) -> Split:
    """Split ``code`` (imports, then classes and aliases only) into ``_runs`` and ``models``."""
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
    missing = sorted(set(CORE_ROOTS) - names)
    if missing:
        raise GenerationError(f"openapi: split root {missing[0]} is not a generated model")
    deps = {name: _mentions(node, names) - {name} for name, _, node in body}
    core: set[str] = set()
    todo = list(CORE_ROOTS)
    while todo:
        name = todo.pop()
        if name not in core:
            core.add(name)
            todo.extend(deps[name] - core)
    owners = {name: CORE_MODULE if name in core else REST_MODULE for name in names}
    head = "".join(prelude)
    core_text = "\n\n".join(text for name, text, _ in body if name in core)
    rest = [(name, text) for name, text, _ in body if name not in core]
    everything = sorted(n for n in names if not n.startswith("_"))
    # All of _runs, used or not: models re-exports the whole API (its __all__ keeps them).
    imports = "".join(f"    {n},\n" for n in everything if n in core)
    exported = "".join(f'    "{n}",\n' for n in everything)
    rest_text = (
        head
        + f"from .{CORE_MODULE} import (\n{imports})\n\n"
        + f"__all__ = [\n{exported}]\n\n\n"
        + "\n\n".join(text for _, text in rest)
    )
    return Split(
        modules={CORE_MODULE: head + "\n\n" + core_text, REST_MODULE: rest_text},
        owners=owners,
    )
