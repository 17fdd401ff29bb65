"""The documentation site's hooks (mkdocs.yml): pages are the repository's own files.

runbind's documents live where a reader of the repository finds them (README.md at the top,
the guides in docs/, the scripts in examples/). :func:`on_files` serves them under their
repository paths, README.md as the home page, so a relative link means the same on the site as
in the repository and no page is a copy of another. :class:`RestRoles` (a griffe extension)
turns the docstrings' reStructuredText roles into cross-references, which must resolve, and
:func:`on_post_build` checks that the reference covers every public name.
"""

from __future__ import annotations

import builtins
import contextlib
import re
from pathlib import Path
from typing import Any

import griffe
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocstrings import Inventory

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("README.md", "ARCHITECTURE.md", "SECURITY.md", "CHANGELOG.md")
"""Documents at the top of the repository that are pages of the site."""
FOLDERS = {"docs": "*.md", "examples": "*.py"}
"""Folders whose files (by pattern) are pages (Markdown) or files linked to (the examples)."""


def on_files(files: Files, *, config: MkDocsConfig) -> Files:
    """The site's files: the theme's, then the repository's documents by repository path."""
    theme = [file for file in files if file.src_dir != config.docs_dir]
    paths = [*PAGES]
    for folder, pattern in FOLDERS.items():
        found = sorted((ROOT / folder).rglob(pattern))
        paths += [path.relative_to(ROOT).as_posix() for path in found]
    ours = [File(path, str(ROOT), config.site_dir, config.use_directory_urls) for path in paths]
    return Files([*theme, *ours])


def on_post_build(*, config: MkDocsConfig) -> None:
    """The reference covers the public API: every public module of runbind and each name in its
    ``__all__`` has an entry in the site's inventory, or the build fails naming what is missing
    (a new public module needs its page in docs/reference/)."""
    package = griffe.load("runbind", search_paths=[str(ROOT / "src")])
    with (Path(config.site_dir) / "objects.inv").open("rb") as inventory:
        documented = set(Inventory.parse_sphinx(inventory))
    public = [package, *(m for m in package.modules.values() if not m.name.startswith("_"))]
    wanted = [m.path for m in public]
    wanted += [f"{m.path}.{name}" for m in public for name in m.exports or ()]
    missing = [path for path in wanted if path not in documented]
    if missing:
        raise PluginError(f"the API reference lacks {', '.join(missing)} (see docs/reference/)")


_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|exc|mod|obj|const):`(~?)([^`]+)`")
"""A reStructuredText role as the docstrings write them: ``:class:`Run```, ``:meth:`~a.b```."""
_LITERAL = re.compile(r"(\S)::$", re.M)
"""A paragraph ending in ``::`` (reStructuredText: an indented literal block follows)."""


class RestRoles(griffe.Extension):
    """Shapes the reference from the loaded package: roles become links, and a class documents
    what it inherits from a base the reference leaves out.

    A role becomes a cross-reference (``[`Run`][runbind.Run]``) to the object it names,
    resolved in the scope of the object whose docstring holds it, as Python would (members,
    then imports, then the enclosing scopes); autorefs then fails the strict build when that
    object is not in the reference, and so does a name that resolves to nothing. A role
    naming Python's own objects (``:class:`ValueError```, ``:func:`json.loads```) or a private
    module (``:mod:`._adapter```) becomes plain code.
    """

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Rewrite the docstrings first (an inherited name resolves to the heir), then give
        each class what it inherits from undocumented bases, then drop undocumented dunders."""
        objects = _walk(pkg)
        for obj in objects:
            if obj.docstring is not None:
                obj.docstring.value = _markdown(obj, obj.docstring.value)
        documented = _documented(pkg)
        for obj in objects:
            if isinstance(obj, griffe.Class):
                _adopt(obj, documented)
                _quiet(obj)


def _documented(pkg: griffe.Module) -> set[str]:
    """Paths of the classes the reference documents: those its public modules export."""
    found = set()
    for module in [pkg, *(m for m in pkg.modules.values() if not m.name.startswith("_"))]:
        for name in module.exports or ():
            with contextlib.suppress(KeyError, griffe.AliasResolutionError):
                member = module[str(name)]
                if member.is_class:
                    found.add(member.final_target.path if member.is_alias else member.path)
    return found


def _adopt(cls: griffe.Class, documented: set[str]) -> None:
    """Members ``cls`` inherits from an undocumented base (``_Answer``, ``ClientBase``) become
    its own in the reference; those of a documented base are documented there, once."""
    for name, inherited in cls.inherited_members.items():
        base = inherited.target.parent
        if base is not None and base.path not in documented:
            cls.set_member(name, griffe.Alias(name, inherited.target, parent=cls))


def _quiet(cls: griffe.Class) -> None:
    """Special members without a docstring (``__slots__``, ``__repr__``) leave the reference:
    the class's docstring says what it supports. An attribute set in ``__init__`` shows its
    type, not the expression that computes it there (a dataclass field keeps its default)."""
    for name, member in list(cls.members.items()):
        special = name.startswith("__") and name.endswith("__") and name != "__init__"
        if special and not member.has_docstring:
            cls.del_member(name)
        elif isinstance(member, griffe.Attribute) and "class-attribute" not in member.labels:
            member.value = None


def _walk(obj: griffe.Object) -> list[griffe.Object]:
    """``obj`` and every object defined in it (aliases belong to their targets)."""
    found = [obj]
    for member in obj.members.values():
        if not member.is_alias:
            found += _walk(member)  # type: ignore[arg-type]  # not an alias: an Object
    return found


def _markdown(obj: griffe.Object, text: str) -> str:
    def link(match: re.Match[str]) -> str:
        short, name = match[1] == "~", match[2]
        shown = name.rsplit(".", 1)[-1] if short else name
        if name.startswith("."):  # a private module, relative
            return f"``{shown}``"
        target = _resolve(obj, name)
        if target is None:  # Python's own (builtins, the standard library): no page to link
            return f"``{shown}``"
        return f"[``{shown}``][{target}]"

    return _LITERAL.sub(r"\1:", _ROLE.sub(link, text))


def _resolve(obj: griffe.Object, name: str) -> str | None:
    """The identifier to link ``name`` (as written in ``obj``'s docstring) to; None for a name
    of Python's own.

    The first part is resolved in ``obj``'s scope (members, imports, enclosing scopes), else
    taken as a full path; the rest is followed through members, inherited ones included. A
    name that is not found stays as written: a target autorefs will not find, so a rendered
    docstring naming something that does not exist fails the build.
    """
    first, _, rest = name.partition(".")
    try:
        path = _inherited(obj, first) or obj.resolve(first)
    except griffe.NameResolutionError:
        if first in vars(builtins):
            return None
        return name
    root = obj.package
    if path != root.name and not path.startswith(root.name + "."):
        return None  # imported from elsewhere (json.loads, ssl.SSLError)
    try:
        target: griffe.Object | griffe.Alias = root
        for part in [*path.split(".")[1:], *(rest.split(".") if rest else ())]:
            target = target.all_members[part]
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return name
    return target.path


def _inherited(obj: griffe.Object, name: str) -> str | None:
    """``name`` as a member the class holding ``obj`` (or ``obj`` itself) inherits, if it is
    one: griffe's scopes hold a class's own members only."""
    scope: griffe.Object | None = obj
    while scope is not None:
        if scope.is_class and name in scope.inherited_members:
            return scope.inherited_members[name].path
        scope = scope.parent
    return None
