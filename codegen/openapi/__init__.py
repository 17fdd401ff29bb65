"""OpenAPI side of runbind: the Assistants and Responses slice of openai-openapi -> Pydantic
v2 models.

Steps of :func:`generate` (each raises GenerationError with one line on failure):

1. load the YAML (C loader; timestamps stay strings): UTF-8, and a finite tree of at
   most ``MAX_DEPTH`` levels and ``MAX_NODES`` nodes (YAML aliases can build neither
   a loop nor an alias bomb);
2. apply ``specs/openai-overlay.yaml`` (OpenAPI Overlay 1.0; every deliberate
   correction of upstream lives there, each with its reason);
3. :func:`slice_spec` (the slice is the ``SlicePart`` list in ``_spec.py``: path prefixes,
   exact paths, extra schemas); a dangling ``$ref`` or a ``$ref`` cycle with
   no object in between (``A: {$ref: B}``, ``B: {$ref: A}``) fails there, while a
   recursive type through a property (a tree node's children) is generated;
4. normalise nullability to the 3.1 form (3.0 ``nullable: true``, also found
   inside the 3.1 document, ``allOf [$ref, {nullable: true}]``, ``null`` in
   ``enum``), so the 3.0 and 3.1 specs go through one path;
5. shape (``_shape.py``): hoist every inline class into a named component
   (names derived from schema names + property paths, ``specs/openai-names.toml``
   for the rest), push the nullability of ``anyOf [X, null]`` components to
   their uses, read required-but-nullable properties as optional (null and
   absent mean the same; the spec's examples omit them), drop the "exactly one
   of" `oneOf [{required: ..}]` request rule and the constraints of plain union
   branches (neither can be typed; both would make dmcg invent names), and
   classify tagged unions;
6. run datamodel-code-generator (a subprocess of the pinned one, fixed env);
7. post-process by AST, not by regex: enums rebased on ``OpenStrEnum``, each
   tagged union's alias replaced by an open discriminated union, every class
   checked against the expected names, dmcg's base class replaced by
   ``_base.BaseModel`` (``extra="allow"``, ``defer_build=True``);
8. split the models (``_split.py``): a run, its answer and what they reference in
   ``_runs.py``, the Responses API in ``_responses.py``, the rest in ``models.py`` (which
   re-exports all); write those,
   ``_base.py``, ``_nullability.py`` and a lazy ``__init__.py``, each starting with the
   fixed header. ``_nullability.py`` (``_nulls.py``) lists, per class, the optional
   properties whose schema admits no null: the models type them ``X | None = None`` like
   the nullable ones (see ``--strict-nullable`` below), so the table keeps what they lose.

Open unions come in two shapes (``_emit._union_code``). A union on ``type`` is
``Annotated[known | scalars | unknown, Field(union_mode="left_to_right")]``: the known
variants are one tagged union on a string discriminator (looked up by pydantic-core, no
Python call), ``Tag``-labelled ``KNOWN_TAG``; then the plain options; then the unknown
variant behind ``unknown_variant``, an after-validator that refuses a known tag. In the
Responses part, variants that share a tag come between the known and the plain options, one
branch per shared tag (discriminated on a second property, ``role``, where one tells them
apart). A union on ``event`` (the Assistants stream events) keeps one tagged union with the callable
``tag_discriminator``: Pydantic has no fallback branch for a string discriminator, and the
stream adapters validate decoded dicts, where the callable is a dict lookup (in JSON mode
Pydantic would convert the whole payload to Python objects first).

datamodel-code-generator options (``_emit.DMCG_OPTIONS``), and why:

- ``--openapi-scopes=schemas``: models only; operations go in the surface index.
- ``--output-model-type=pydantic_v2.BaseModel``, ``--target-python-version=3.11``,
  ``--target-pydantic-version=2.11``: matches ``requires-python`` and the runtime pin.
- ``--disable-timestamp``, ``--formatters=builtin``: reproducible
  bytes, no black/isort dependency (the pipeline formats with the pinned ruff).
- ``--strict-nullable``: a default does not make a field nullable; only the
  spec's null does, so ``X | None`` means "upstream sends null". It reaches required
  fields and fields with a default only: an optional field without one is still
  ``X | None = None``, nullable or not, hence ``_nullability.py``. (``--use-missing-sentinel``
  would type those ``X | MISSING`` instead, changing every such field of the public models.)
- ``--use-type-alias-type``: named unions and maps become ``TypeAliasType``
  aliases, never ``RootModel`` wrappers (no ``usage.root``), and stay nameable.
- ``--enum-field-as-literal=one``: single-value enums are tags (``Literal``),
  which discriminated unions need; 2+ values stay enum classes (made open).
- ``--capitalise-enum-members``, ``--use-double-quotes``, ``--use-union-operator``,
  ``--use-standard-collections``: idiomatic 3.11 code.
- ``--field-constraints``: constraints in ``Field(...)`` keep plain types (mypy-friendly).
- ``--use-generic-base-class --extra-fields=allow``: one base with ``extra="allow"``:
  unknown fields are kept and round-trip.
- ``--strict-refs``: an unresolved ``$ref`` is an error, not ``Any``.
- ``--no-use-type-checking-imports``: models are needed at runtime.
- Not used: ``--use-title-as-name`` (titles collide and change), ``--use-schema-description``
  (docstrings would churn the output on wording edits), ``--collapse-root-models``
  (would inline the named unions and lose their public names), ``--use-annotated``
  (no gain with ``--field-constraints``), ``--use-subclass-enum`` (StrEnum already),
  ``--naming-strategy``/``--model-name-map`` (names are settled before the generator runs).

Open enums and unions are done by AST post-processing rather than custom
templates: templates would fork dmcg's whole template set (and break on its
upgrades), while the post-processing touches two statement kinds it finds by
name and fails loudly when one is missing or shaped differently.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codegen.errors import GenerationError
from codegen.headers import python_header
from codegen.toolenv import tool_env

from ._emit import BASE_MODULE, init_module, postprocess, run_dmcg
from ._nulls import MODULE as NULLABILITY_MODULE
from ._nulls import not_nullable, nullability_module
from ._shape import Shaped, load_names, shape
from ._spec import (
    ASSISTANTS,
    RESPONSES,
    SLICE,
    SLICE_EXTRA_SCHEMAS,
    SLICE_PATH_PREFIXES,
    SLICE_PATHS,
    SlicePart,
    _in_slice,
    apply_overlay,
    load_spec,
    load_yaml,
    normalise_nullable,
    slice_spec,
)
from ._split import split
from ._surface import surface_lines

__all__ = [
    "ASSISTANTS",
    "NAMES_FILE",
    "OVERLAY_FILE",
    "RESPONSES",
    "SLICE",
    "SLICE_EXTRA_SCHEMAS",
    "SLICE_PATHS",
    "SLICE_PATH_PREFIXES",
    "SlicePart",
    "apply_overlay",
    "generate",
    "prepare",
    "slice_spec",
    "surface",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
OVERLAY_FILE = PROJECT_ROOT / "specs" / "openai-overlay.yaml"
NAMES_FILE = PROJECT_ROOT / "specs" / "openai-names.toml"

# surface() after generate() on the same bytes reuses the lines computed then.
_SURFACE_CACHE: dict[str, list[str]] = {}


def _source(source_label: str, parts: Sequence[SlicePart]) -> str:
    names = " and ".join(part.name.capitalize() for part in parts)
    return f"{source_label} openapi.yaml ({names} slice)"


def prepare(
    spec_file: Path,
    *,
    overlay_file: Path = OVERLAY_FILE,
    names_file: Path = NAMES_FILE,
    parts: Sequence[SlicePart] = SLICE,
) -> tuple[dict[str, Any], Shaped]:
    """Load, overlay, slice, normalise and shape: ``(sliced document, shaped document)``.

    ``parts`` narrows the slice. A part none of whose exact paths is in the spec is left out
    too: an older spec that predates its API (the surface index then loses the part's models,
    which ``check`` reports as breaking). The naming tables and the overlay actions of the
    parts left out are not read.
    """
    spec = load_spec(spec_file)
    overlay = load_yaml(overlay_file)
    if not isinstance(overlay, dict):
        raise GenerationError(f"openapi: {overlay_file.name} is not an Overlay document")
    parts = present_parts(spec, parts)
    patched = apply_overlay(spec, overlay, parts)
    try:
        sliced = slice_spec(patched, parts)
    except GenerationError as exc:  # dangling refs and ref cycles: say which file has them
        raise GenerationError(f"openapi: {spec_file.name}: {_reason(exc)}") from None
    names = load_names(names_file, [part.names_table for part in parts])
    first_rule = [part for part in parts if not part.wide_unions]
    narrow = frozenset(
        slice_spec(patched, first_rule)["components"]["schemas"] if first_rule else ()
    )
    return sliced, shape(normalise_nullable(sliced), names, narrow)


def present_parts(spec: dict[str, Any], parts: Sequence[SlicePart]) -> list[SlicePart]:
    """``parts`` less those with exact paths of which the spec has none."""
    paths = spec.get("paths") or {}
    return [part for part in parts if not part.paths or any(p in paths for p in part.paths)]


def _sliced_parts(sliced: dict[str, Any], parts: Sequence[SlicePart]) -> list[SlicePart]:
    """The parts that have paths in the sliced document (those :func:`prepare` kept)."""
    return [part for part in parts if any(_in_slice(path, [part]) for path in sliced["paths"])]


def _reason(exc: GenerationError) -> str:
    return str(exc).removeprefix("openapi: ")


def generate(
    spec_file: Path,
    dest: Path,
    *,
    source_label: str,
    overlay_file: Path = OVERLAY_FILE,
    names_file: Path = NAMES_FILE,
    parts: Sequence[SlicePart] = SLICE,
) -> None:
    """Generate the ``runbind_generated.openai`` package from ``spec_file`` into ``dest``."""
    if dest.exists() and any(dest.iterdir()):
        raise GenerationError(f"openapi: destination {dest.name}/ is not empty")
    sliced, shaped = prepare(
        spec_file, overlay_file=overlay_file, names_file=names_file, parts=parts
    )
    models = postprocess(run_dmcg(shaped.doc), shaped)
    kept = _sliced_parts(sliced, parts)
    modules = split(models, [part.name for part in kept])
    header = python_header(_source(source_label, kept))
    dest.mkdir(parents=True, exist_ok=True)
    files = {
        "_base.py": BASE_MODULE,
        **{f"{name}.py": text for name, text in modules.modules.items()},
        f"{NULLABILITY_MODULE}.py": nullability_module(not_nullable(shaped, models)),
        "__init__.py": init_module(modules.owners),
    }
    for name, text in files.items():
        (dest / name).write_text(header + "\n" + text, encoding="utf-8", newline="\n")
    _tidy_imports(sorted(dest.glob("*.py")))
    _SURFACE_CACHE[_digest(spec_file, overlay_file, names_file, parts)] = surface_lines(
        models, shaped, sliced
    )


def _tidy_imports(files: list[Path]) -> None:
    """Merge, sort and prune imports (the rewriting step adds its own import block)."""
    argv = [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache"]
    argv += ["--no-respect-gitignore", "--target-version", "py311", "--line-length", "100"]
    argv += ["--select", "I,F401,F811", "--fix", *map(str, files)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=tool_env(), check=False)
    if proc.returncode != 0:
        lines = (proc.stdout + proc.stderr).strip().splitlines()
        raise GenerationError(f"openapi: ruff import fix failed: {lines[0] if lines else '?'}")


def _digest(
    spec_file: Path, overlay_file: Path, names_file: Path, parts: Sequence[SlicePart]
) -> str:
    payload = spec_file.read_bytes() + repr(tuple(parts)).encode()
    for extra in (overlay_file, names_file, *sorted(Path(__file__).parent.glob("*.py"))):
        payload += b"\0" + extra.read_bytes()
    return hashlib.sha256(payload).hexdigest()


def surface(
    spec_file: Path,
    *,
    overlay_file: Path = OVERLAY_FILE,
    names_file: Path = NAMES_FILE,
    parts: Sequence[SlicePart] = SLICE,
) -> list[str]:
    """Sorted facts about the generated models: paths, models, properties, enums, unions."""
    key = _digest(spec_file, overlay_file, names_file, parts)
    cached = _SURFACE_CACHE.get(key)
    if cached is not None:
        return list(cached)
    tmp = Path(tempfile.mkdtemp(prefix="runbind-surface-"))
    try:
        generate(
            spec_file,
            tmp / "openai",
            source_label="surface",
            overlay_file=overlay_file,
            names_file=names_file,
            parts=parts,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return list(_SURFACE_CACHE[key])
