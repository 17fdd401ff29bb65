"""``python -m codegen twins``: each blocking client (``Runs``, ``Responses``), generated from its
async one (``AsyncRuns``, ``AsyncResponses``).

The async client is read as source (ast: nothing is imported), its base classes inside runbind
are followed, and every public member gets a blocking twin that runs the coroutine on the
private loop thread, wrapping ``AsyncX`` results in the ``X`` defined beside them (as httpcore's
unasync keeps its sync half in step). The output is committed; ``--check`` names a stale one.
"""

from __future__ import annotations

import ast
import builtins
import copy
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codegen.errors import GenerationError
from codegen.lock import PROJECT_ROOT
from codegen.toolenv import tool_env

PACKAGE = "runbind"
TRANSPARENT = {("runbind._core.credentials", "guarded")}
"""Decorators that keep a method's signature and meaning: the twin calls through them."""
LOOP_THREAD = ("runbind._core.loop_thread", "loop_thread")
DUNDERS = {"__aenter__": "__enter__", "__aexit__": "__exit__"}
SKIPPED_DUNDERS = {"__init__", "__repr__", *DUNDERS}


@dataclass(frozen=True)
class Twin:
    """One generated file: the blocking twin of ``cls`` as found in module ``source``."""

    source: str
    target: str
    cls: str = "AsyncRuns"


TWINS = (
    Twin("runbind.yandex._async", "runbind.yandex._sync"),
    Twin("runbind.openai._async", "runbind.openai._sync"),
    Twin("runbind.openai._responses", "runbind.openai._responses_sync", "AsyncResponses"),
)


def _fail(message: str) -> GenerationError:
    return GenerationError(f"twins: {message}")


# --------------------------------------------------------------------------- reading the source


@dataclass(eq=False)
class Module:
    """One parsed runbind module and its top-level names."""

    name: str
    path: Path
    package: str
    bindings: dict[str, ast.stmt] = field(default_factory=dict)


@dataclass(frozen=True)
class Ref:
    """A name as a module sees it: where to import it from, and its runbind definition if any."""

    module: str
    name: str | None  # None: ``import module``
    node: ast.stmt | None = None
    home: Module | None = None


class Tree:
    """The runbind sources under ``root/src``, parsed on demand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._modules: dict[str, Module | None] = {}

    def relpath(self, module: Module) -> str:
        return module.path.relative_to(self.root).as_posix()

    def module(self, name: str) -> Module | None:
        """The module ``name`` if it is runbind source, else None."""
        if name not in self._modules:
            self._modules[name] = self._load(name)
        return self._modules[name]

    def _load(self, name: str) -> Module | None:
        if name.split(".", maxsplit=1)[0] != PACKAGE:
            return None
        base = self.root.joinpath("src", *name.split("."))
        for path, package in (
            (base.with_suffix(".py"), name.rpartition(".")[0]),
            (base / "__init__.py", name),
        ):
            if path.is_file():
                module = Module(name, path, package)
                tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
                for stmt in _top_level(tree.body):
                    for bound in _bound_names(stmt):
                        module.bindings.setdefault(bound, stmt)
                return module
        return None

    def absolute(self, module: Module, stmt: ast.ImportFrom) -> str:
        if not stmt.level:
            return stmt.module or ""
        parts = module.package.split(".")
        base = parts[: len(parts) - stmt.level + 1]
        return ".".join([*base, *([stmt.module] if stmt.module else [])])

    def resolve(self, module: Module, name: str) -> Ref | None:
        """Where ``name`` in ``module`` comes from; None for a builtin."""
        stmt = module.bindings.get(name)
        if stmt is None:
            if hasattr(builtins, name):
                return None
            raise _fail(f"{name!r} is not defined in {self.relpath(module)}")
        if isinstance(stmt, ast.Import):
            alias = next(a for a in stmt.names if (a.asname or a.name.split(".")[0]) == name)
            return Ref(alias.name if alias.asname else name, None)
        if isinstance(stmt, ast.ImportFrom):
            alias = next(a for a in stmt.names if (a.asname or a.name) == name)
            source = self.absolute(module, stmt)
            node, home = self.define(source, alias.name)
            return Ref(source, alias.name, node, home)
        return Ref(module.name, name, stmt, module)

    def define(self, module_name: str, name: str) -> tuple[ast.stmt | None, Module | None]:
        """The definition of ``module_name.name`` when it is runbind source, following imports."""
        module = self.module(module_name)
        if module is None or name not in module.bindings:
            return None, None
        ref = self.resolve(module, name)
        return (ref.node, ref.home) if ref is not None else (None, None)


def _top_level(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    for stmt in body:
        if isinstance(stmt, ast.If | ast.Try):
            yield from _top_level(stmt.body)
            yield from _top_level(stmt.orelse)
        else:
            yield stmt


def _bound_names(stmt: ast.stmt) -> list[str]:
    if isinstance(stmt, ast.Import):
        return [a.asname or a.name.split(".")[0] for a in stmt.names]
    if isinstance(stmt, ast.ImportFrom):
        return [] if stmt.module == "__future__" else [a.asname or a.name for a in stmt.names]
    if isinstance(stmt, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        return [stmt.name]
    if isinstance(stmt, ast.Assign):
        return [t.id for t in stmt.targets if isinstance(t, ast.Name)]
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return [stmt.target.id]
    return []


@dataclass(frozen=True)
class Class:
    """A class definition and the module it lives in."""

    node: ast.ClassDef = field(compare=False)
    home: Module = field(compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return self.home.name, self.node.name


def mro(tree: Tree, cls: Class) -> list[Class]:
    """``cls`` and its runbind bases in C3 order (bases outside runbind are not followed)."""
    bases: list[Class] = []
    for base in cls.node.bases:
        expr = base.value if isinstance(base, ast.Subscript) else base
        if isinstance(expr, ast.Name):
            ref = tree.resolve(cls.home, expr.id)
            if ref is not None and isinstance(ref.node, ast.ClassDef) and ref.home is not None:
                bases.append(Class(ref.node, ref.home))
    sequences = [[cls], *(mro(tree, b) for b in bases), bases]
    order: list[Class] = []
    while sequences := [s for s in sequences if s]:
        tails = {c.key for s in sequences for c in s[1:]}
        head = next((s[0] for s in sequences if s[0].key not in tails), None)
        if head is None:
            raise _fail(f"no consistent method order for {cls.node.name}")
        order.append(head)
        sequences = [s[1:] if s[0].key == head.key else s for s in sequences]
    return order


# --------------------------------------------------------------------------- rendering names


class Imports:
    """The sync module's imports, each name bound once."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._names: dict[str, tuple[str, str | None, int]] = {}

    def add(self, alias: str, module: str, name: str | None, node: ast.stmt | None = None) -> None:
        identity = id(node) if node is not None else 0
        previous = self._names.setdefault(alias, (module, name, identity))
        if previous[:2] != (module, name) and (identity == 0 or previous[2] != identity):
            raise _fail(f"{alias!r} would be imported from both {previous[0]} and {module}")

    def lines(self) -> list[str]:
        out = ["from __future__ import annotations", ""]
        for alias, (module, name, _) in sorted(self._names.items()):
            if name is None:
                bound = module.split(".")[0]
                out.append(f"import {module}" + ("" if bound == alias else f" as {alias}"))
            else:
                where = self._relative(module)
                out.append(
                    f"from {where} import {name}" + ("" if name == alias else f" as {alias}")
                )
        return out

    def _relative(self, module: str) -> str:
        parts, target = module.split("."), self.target.split(".")[:-1]
        if parts[0] != target[0]:
            return module
        common = 0
        while common < min(len(parts), len(target)) and parts[common] == target[common]:
            common += 1
        return "." * (len(target) - common + 1) + ".".join(parts[common:])


class Renderer:
    """Expressions of the async source, rewritten for the sync module: names imported,
    ``AsyncX`` annotations turned into their blocking ``X``, private constants inlined."""

    def __init__(self, tree: Tree, imports: Imports) -> None:
        self.tree = tree
        self.imports = imports

    def twin_of(self, ref: Ref | None) -> tuple[str, str] | None:
        """``(module, X)`` when ``ref`` is a runbind class ``AsyncX`` whose module defines ``X``."""
        if ref is None or not isinstance(ref.node, ast.ClassDef) or ref.home is None:
            return None
        name = ref.node.name
        other = name.removeprefix("Async")
        if other == name or not isinstance(ref.home.bindings.get(other), ast.ClassDef):
            return None
        return ref.home.name, other

    def wrapper(self, expr: ast.expr, home: Module) -> tuple[str, str] | None:
        """``(AsyncX, X)`` when ``expr`` names an async twin type, plain or parametrised
        (``AsyncX[A, B]``: ``X(loop, value)`` infers its parameters); ``X`` is imported."""
        name = expr.value if isinstance(expr, ast.Subscript) else expr
        if not isinstance(name, ast.Name):
            return None
        twin = self.twin_of(self.tree.resolve(home, name.id))
        if twin is None:
            return None
        self.annotation(expr, home)
        return name.id, twin[1]

    def use(self, name: str, home: Module) -> None:
        """Import ``name`` as ``home`` sees it."""
        ref = self.tree.resolve(home, name)
        if ref is not None:
            self.imports.add(name, ref.module, ref.name, ref.node)

    def annotation(self, expr: ast.expr, home: Module, *, twins: bool = True) -> str:
        """``expr`` as a sync annotation; with ``twins`` False an async type in it is an error."""
        return ast.unparse(self._rewrite(copy.deepcopy(expr), home, annotation=True, twins=twins))

    def default(self, expr: ast.expr, home: Module) -> str:
        return ast.unparse(self._rewrite(copy.deepcopy(expr), home, annotation=False, twins=False))

    def _rewrite(self, node: ast.expr, home: Module, *, annotation: bool, twins: bool) -> ast.expr:
        renderer = self

        class Rewrite(ast.NodeTransformer):
            def visit_Name(self, name: ast.Name) -> ast.expr:
                return renderer._name(name, home, annotation=annotation, twins=twins)

            def visit_Constant(self, constant: ast.Constant) -> ast.expr:
                if annotation and isinstance(constant.value, str):
                    inner = ast.parse(constant.value, mode="eval").body
                    text = ast.unparse(renderer._rewrite(inner, home, annotation=True, twins=twins))
                    return ast.Constant(text)
                return constant

        result = Rewrite().visit(node)
        assert isinstance(result, ast.expr)
        return result

    def _name(self, name: ast.Name, home: Module, *, annotation: bool, twins: bool) -> ast.expr:
        ref = self.tree.resolve(home, name.id)
        if ref is None:
            return name
        twin = self.twin_of(ref)
        if twin is not None:
            if not twins:
                raise _fail(f"{name.id} cannot be twinned here (in {self.tree.relpath(home)})")
            node = ref.home.bindings[twin[1]] if ref.home is not None else None
            self.imports.add(twin[1], twin[0], twin[1], node)
            return ast.Name(twin[1], ast.Load())
        value = ref.node.value if isinstance(ref.node, ast.Assign | ast.AnnAssign) else None
        if not annotation and name.id.startswith("_") and value is not None and ref.home:
            # A private constant as a default: its value, which the sync module cannot import.
            return self._rewrite(copy.deepcopy(value), ref.home, annotation=False, twins=False)
        self.imports.add(name.id, ref.module, ref.name, ref.node)
        return name


def _qualname(ref: Ref) -> tuple[str, str | None]:
    """``(module, name)`` of a name's definition: where it is defined when that is runbind."""
    if ref.home is not None and isinstance(ref.node, ast.ClassDef | ast.FunctionDef):
        return ref.home.name, ref.node.name
    return ref.module, ref.name


def _union(expr: ast.expr) -> list[ast.expr]:
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        return _union(expr.left) + _union(expr.right)
    return [expr]


def _is_none(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is None


# --------------------------------------------------------------------------- one twin


Typed = list[tuple[ast.expr, Module]]  # the members of a union type, each read in its module


@dataclass
class Attribute:
    """What the class says about one instance attribute (the first of each kind counts)."""

    declared: Typed | None = None
    assigned: tuple[ast.FunctionDef | ast.AsyncFunctionDef, ast.expr, Module] | None = None
    doc: str | None = None
    classvar: bool = False

    def note(
        self,
        annotation: ast.expr | None,
        value: tuple[ast.FunctionDef | ast.AsyncFunctionDef, ast.expr] | None,
        home: Module,
        after: ast.stmt | None,
    ) -> None:
        if annotation is not None and self.declared is None:
            base = annotation.value if isinstance(annotation, ast.Subscript) else annotation
            self.classvar = ast.unparse(base).endswith("ClassVar")
            self.declared = [(m, home) for m in _union(annotation)]
        if value is not None and self.assigned is None:
            self.assigned = (*value, home)
        self.doc = self.doc or _string(after)


class Generator:
    """The sync twin of one async class, as source text (not yet formatted)."""

    def __init__(self, tree: Tree, twin: Twin) -> None:
        self.tree = tree
        self.twin = twin
        module = tree.module(twin.source)
        if module is None:
            raise _fail(f"module {twin.source} not found under {tree.root / 'src'}")
        ref = tree.resolve(module, twin.cls) if twin.cls in module.bindings else None
        if ref is None or not isinstance(ref.node, ast.ClassDef) or ref.home is None:
            raise _fail(f"class {twin.cls} not found in {tree.relpath(module)}")
        self.cls = Class(ref.node, ref.home)
        self.order = mro(tree, self.cls)
        self.name = twin.cls.removeprefix("Async")
        if self.name == twin.cls:
            raise _fail(f"{twin.cls}: a twinned class is named Async<Name>")
        self.imports = Imports(twin.target)
        self.render = Renderer(tree, self.imports)
        self.imports.add(twin.cls, ref.module, ref.name, ref.node)
        self.imports.add(LOOP_THREAD[1], *LOOP_THREAD)

    def sources(self) -> list[str]:
        """The files read, the async class's first."""
        return list(dict.fromkeys(self.tree.relpath(c.home) for c in self.order))

    def text(self) -> str:
        members = self._members()
        first, *others = self.sources()
        header = [f"# Generated by python -m codegen twins from {first}. Do not edit."]
        header += [f"# (and from {path}, where the class's bases live)" for path in others]
        doc = (
            f"``{self.name}``: :class:`{self.twin.cls}` made blocking, on the private loop thread."
        )
        body = [*header, f'"""{doc}"""', "", *self.imports.lines(), ""]
        body += [f"__all__ = [{self.name!r}]", "", ""]
        body += [f"class {self.name}:", *_indent(self._class_doc()), ""]
        for member in members:
            body += [*_indent(member), ""]
        return "\n".join(body).rstrip() + "\n"

    def _class_doc(self) -> list[str]:
        summary = (ast.get_docstring(self.cls.node) or self.name).split("\n\n")[0]
        summary = summary.replace("(asyncio)", "(blocking)")
        more = (
            f"The same methods, parameters and behaviour as :class:`{self.twin.cls}`, "
            "whose calls it runs on\none private event-loop thread."
        )
        return _docstring(f"{summary}\n\n{more}")

    # members

    def _members(self) -> list[list[str]]:
        functions: dict[str, tuple[ast.FunctionDef | ast.AsyncFunctionDef, Module]] = {}
        overloads: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        for cls in self.order:
            mine: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
            for stmt in cls.node.body:
                if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                if stmt.name in functions:
                    continue  # defined by a class earlier in the order
                if "overload" in self._decorators(stmt, cls.home):
                    mine.setdefault(stmt.name, []).append(stmt)
                else:
                    functions[stmt.name] = (stmt, cls.home)
                    overloads[stmt.name] = mine.get(stmt.name, [])
        if "__init__" not in functions:
            raise _fail(f"{self.twin.cls} has no __init__")
        out = [self._init(*functions["__init__"])]
        out += self._attributes(set(functions))
        for name, (function, home) in functions.items():
            if name == "__repr__":
                text = f"return repr(self._async).replace({self.twin.cls!r}, {self.name!r}, 1)"
                out.append(["def __repr__(self) -> str:", f"    {text}"])
            elif name in DUNDERS or not name.startswith("_"):
                out.append(self._method(name, function, home, overloads[name]))
            elif name.startswith("__") and name.endswith("__") and name not in SKIPPED_DUNDERS:
                raise _fail(f"{self.twin.cls}.{name}: no blocking form is known for it")
        return out

    def _decorators(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef, home: Module
    ) -> list[str]:
        """The decorators that matter: ``overload``, ``property``; transparent ones dropped."""
        found = []
        for decorator in function.decorator_list:
            if isinstance(decorator, ast.Name):
                ref = self.tree.resolve(home, decorator.id)
                what = _qualname(ref) if ref is not None else ("builtins", decorator.id)
                if what in {("typing", "overload"), ("builtins", "property")}:
                    found.append(str(what[1]))
                    continue
                if what in TRANSPARENT:
                    continue
            if function.name.startswith("_") and function.name not in DUNDERS:
                continue  # private: never twinned
            text = ast.unparse(decorator)
            raise _fail(f"{self.twin.cls}.{function.name}: unknown decorator @{text}")
        return found

    def _init(self, function: ast.FunctionDef | ast.AsyncFunctionDef, home: Module) -> list[str]:
        signature = self._signature(function.args, home, stub=False)
        call = f"{self.twin.cls}({self._call_args(function.args)})"
        return [
            f"def __init__({signature}) -> None:",
            "    self._loop = loop_thread()",
            f"    self._async = {call}",
        ]

    def _method(
        self,
        name: str,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
        home: Module,
        overloads: list[ast.FunctionDef | ast.AsyncFunctionDef],
    ) -> list[str]:
        where = f"{self.twin.cls}.{name}"
        decorators = self._decorators(function, home)
        if function.returns is None:
            raise _fail(f"{where} has no return annotation")
        sync_name = DUNDERS.get(name, name)
        is_async = isinstance(function, ast.AsyncFunctionDef)
        if is_async and _yields(function):
            raise _fail(f"{where} is an async generator: no blocking form is known for it")
        lines: list[str] = []
        for stub in overloads:
            if stub.returns is None:
                raise _fail(f"{where}: an overload has no return annotation")
            returns = self.render.annotation(stub.returns, home)
            lines += [
                "@overload",
                f"def {sync_name}({self._signature(stub.args, home, stub=True)}) -> {returns}: ...",
                "",
            ]
            self.imports.add("overload", "typing", "overload")
        returns = self.render.annotation(function.returns, home)
        if "property" in decorators:
            if is_async or len(function.args.args) != 1:
                raise _fail(f"{where}: only plain properties can be twinned")
            lines += ["@property", f"def {sync_name}(self) -> {returns}:"]
            lines += _indent(self._doc(function, name, "attr"))
            lines.append(f"    return self._async.{name}")
            return lines
        lines.append(
            f"def {sync_name}({self._signature(function.args, home, stub=False)}) -> {returns}:"
        )
        lines += _indent(self._doc(function, name, "meth"))
        call = f"self._async.{name}({self._call_args(function.args)})"
        if is_async:
            call = f"self._loop.run({call})"
        lines += _indent(self._body(call, function.returns, home, where, function.args))
        return lines

    def _body(
        self, call: str, returns: ast.expr, home: Module, where: str, args: ast.arguments
    ) -> list[str]:
        members = _union(returns)
        wrapped = [(m, w) for m in members if (w := self.render.wrapper(m, home)) is not None]
        if not wrapped:
            if _is_none(returns):
                return [call]
            if isinstance(returns, ast.Name) and returns.id == "Self":
                return [call, "return self"]
            return [f"return {call}"]
        if len(wrapped) > 1:
            raise _fail(f"{where} returns more than one async type: no blocking form is known")
        (async_name, sync_name) = wrapped[0][1]
        if len(members) == 1:
            return [f"return {sync_name}(self._loop, {call})"]
        self.render.use(async_name, home)
        taken = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        value = next(v for v in ("value", "result", "returned", "_value") if v not in taken)
        return [
            f"{value} = {call}",
            f"if isinstance({value}, {async_name}):",
            f"    return {sync_name}(self._loop, {value})",
            f"return {value}",
        ]

    def _signature(self, args: ast.arguments, home: Module, *, stub: bool) -> str:
        rewritten = copy.deepcopy(args)
        for arg in [*rewritten.posonlyargs, *rewritten.args, *rewritten.kwonlyargs]:
            self._annotate(arg, home)
        for star in (rewritten.vararg, rewritten.kwarg):
            if star is not None:
                self._annotate(star, home)
        rewritten.defaults = [self._default(d, home, stub) for d in rewritten.defaults]
        rewritten.kw_defaults = [
            None if d is None else self._default(d, home, stub) for d in rewritten.kw_defaults
        ]
        return ast.unparse(rewritten)

    def _annotate(self, arg: ast.arg, home: Module) -> None:
        if arg.annotation is not None:
            text = self.render.annotation(arg.annotation, home, twins=False)
            arg.annotation = ast.parse(text, mode="eval").body

    def _default(self, expr: ast.expr, home: Module, stub: bool) -> ast.expr:
        if stub and isinstance(expr, ast.Constant) and expr.value is Ellipsis:
            return expr
        return ast.parse(self.render.default(expr, home), mode="eval").body

    def _doc(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef, name: str, role: str
    ) -> list[str]:
        see = f"See :{role}:`{self.twin.cls}.{name}`."
        text = ast.get_docstring(function)
        if text is None:
            return [] if name.startswith("_") else _docstring(see)
        first, *rest = text.split("\n\n")
        return _docstring(f"{first}\n\n{see}" if rest else first)

    def _call_args(self, args: ast.arguments) -> str:
        positional = [*args.posonlyargs, *args.args][1:]  # without self
        parts = [a.arg for a in positional]
        if args.vararg is not None:
            parts.append(f"*{args.vararg.arg}")
        parts += [f"{a.arg}={a.arg}" for a in args.kwonlyargs]
        if args.kwarg is not None:
            parts.append(f"**{args.kwarg.arg}")
        return ", ".join(parts)

    # public attributes, served as read-only properties

    def _attributes(self, methods: set[str]) -> list[list[str]]:
        """Public instance attributes of the class and its bases, as read-only properties.

        An attribute's type is its declaration (``name: T`` in a class body, or ``self.name: T``
        in ``__init__``), else inferred from its assignment in ``__init__``; its docstring is
        the string statement after either, if any.
        """
        found: dict[str, Attribute] = {}
        for cls in self.order:
            for stmt, after in _pairs(cls.node.body):
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    attribute = found.setdefault(stmt.target.id, Attribute())
                    attribute.note(stmt.annotation, None, cls.home, after)
            init = next((s for s in cls.node.body if _is_function(s, "__init__")), None)
            if not isinstance(init, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for stmt, after in _pairs(init.body):
                target = stmt.targets[0] if isinstance(stmt, ast.Assign) else None
                target = stmt.target if isinstance(stmt, ast.AnnAssign) else target
                if isinstance(target, ast.Attribute) and ast.unparse(target.value) == "self":
                    attribute = found.setdefault(target.attr, Attribute())
                    annotation = stmt.annotation if isinstance(stmt, ast.AnnAssign) else None
                    value = (init, stmt.value) if isinstance(stmt, ast.Assign) else None
                    attribute.note(annotation, value, cls.home, after)
        out = []
        for name, attribute in found.items():
            if name.startswith("_") or name in methods or attribute.classvar:
                continue
            members = attribute.declared
            if members is None and attribute.assigned is not None:
                members = self._infer(*attribute.assigned, name)
            returns = self._members_text(members)
            doc = attribute.doc or f"The wrapped client's :attr:`{self.twin.cls}.{name}`."
            out.append(
                [
                    "@property",
                    f"def {name}(self) -> {returns}:",
                    *_indent(_docstring(doc)),
                    f"    return self._async.{name}",
                ]
            )
        return out

    def _members_text(self, members: Typed | None) -> str:
        texts = [self.render.annotation(m, home, twins=False) for m, home in members or ()]
        texts = list(dict.fromkeys(texts))
        if "None" in texts:
            texts = [t for t in texts if t != "None"] + ["None"]
        return " | ".join(texts)

    def _infer(
        self, init: ast.FunctionDef | ast.AsyncFunctionDef, value: ast.expr, home: Module, name: str
    ) -> Typed:
        """The type of ``self.<name> = value`` in ``init``, for the few forms clients use."""
        if isinstance(value, ast.Name):
            params = [*init.args.posonlyargs, *init.args.args, *init.args.kwonlyargs]
            param = next((p for p in params if p.arg == value.id), None)
            if param is not None and param.annotation is not None:
                return [(m, home) for m in _union(param.annotation)]
        elif isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or):
            *firsts, last = value.values
            out = [
                t for v in firsts for t in self._infer(init, v, home, name) if not _is_none(t[0])
            ]
            return out + self._infer(init, last, home, name)
        elif isinstance(value, ast.IfExp):
            body = self._infer(init, value.body, home, name)
            test = value.test
            if (
                isinstance(test, ast.Compare)
                and isinstance(test.ops[0], ast.IsNot)
                and _is_none(test.comparators[0])
                and ast.dump(test.left) == ast.dump(value.body)
            ):
                body = [t for t in body if not _is_none(t[0])]
            return body + self._infer(init, value.orelse, home, name)
        elif isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
            ref = self.tree.resolve(home, value.func.id)
            if ref is not None and isinstance(ref.node, ast.ClassDef):
                return [(value.func, home)]
            function = ref.node if ref is not None else None
            if isinstance(function, ast.FunctionDef) and function.returns and ref and ref.home:
                return [(m, ref.home) for m in _union(function.returns)]
        elif isinstance(value, ast.Constant):
            return [
                (ast.Name(type(value.value).__name__) if value.value is not None else value, home)
            ]
        raise _fail(
            f"cannot tell the type of {self.twin.cls}.{name} from `{ast.unparse(value)}`; "
            f"declare it in the class body (`{name}: T`)"
        )


def _pairs(body: Sequence[ast.stmt]) -> Iterator[tuple[ast.stmt, ast.stmt | None]]:
    """Each statement of ``body`` and its blocks (not nested functions) with the one after it."""
    for index, stmt in enumerate(body):
        yield stmt, body[index + 1] if index + 1 < len(body) else None
        if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for name in ("body", "orelse", "finalbody"):
                yield from _pairs(getattr(stmt, name, []))


def _is_function(stmt: ast.stmt, name: str) -> bool:
    return isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == name


def _string(stmt: ast.stmt | None) -> str | None:
    """The docstring that ``stmt`` is, if it is one (an attribute's, after its assignment)."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return (
            ast.get_docstring(ast.Module([stmt], [])) if isinstance(stmt.value.value, str) else None
        )
    return None


def _yields(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(n, ast.Yield | ast.YieldFrom) for n in _walk_own(function))


def _walk_own(function: ast.AST) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(function):
        if not isinstance(
            child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
        ):
            yield child
            yield from _walk_own(child)


def _docstring(text: str) -> list[str]:
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = text.splitlines()
    if len(lines) == 1:
        return [f'"""{lines[0]}"""']
    return [f'"""{lines[0]}', *lines[1:], '"""']


def _indent(lines: list[str]) -> list[str]:
    return [f"    {line}" if line else "" for line in lines]


# --------------------------------------------------------------------------- formatting, CLI


def _ruff(args: list[str], text: str, filename: str, root: Path) -> str:
    """``text`` through the pinned ruff with fixed settings, independent of any user config."""
    flags = ["--isolated", "--no-cache", "--line-length", "100", "--target-version", "py311"]
    argv = [sys.executable, "-m", "ruff", *args, *flags, "--stdin-filename", filename, "-"]
    proc = subprocess.run(
        argv, input=text, capture_output=True, text=True, cwd=root, env=tool_env(), check=False
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()
        raise _fail(f"ruff {args[0]} failed on {filename}: {tail[-1] if tail else proc.returncode}")
    return proc.stdout


def target_path(root: Path, twin: Twin) -> Path:
    return root.joinpath("src", *twin.target.split(".")).with_suffix(".py")


def generate(twin: Twin, root: Path = PROJECT_ROOT) -> str:
    """The formatted text of ``twin``'s sync module, generated from the sources under ``root``."""
    text = Generator(Tree(root), twin).text()
    filename = target_path(root, twin).relative_to(root).as_posix()
    text = _ruff(["check", "--select", "I", "--fix", "--quiet"], text, filename, root)
    return _ruff(["format", "--quiet"], text, filename, root)


def stale(root: Path = PROJECT_ROOT, twins: Sequence[Twin] = TWINS) -> list[str]:
    """Paths (relative to ``root``) of committed twins that differ from a fresh generation."""
    out = []
    for twin in twins:
        path = target_path(root, twin)
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != generate(twin, root):
            out.append(path.relative_to(root).as_posix())
    return out


def write(root: Path = PROJECT_ROOT, twins: Sequence[Twin] = TWINS) -> list[str]:
    """Regenerate every twin; the paths that changed."""
    changed = []
    for twin in twins:
        path = target_path(root, twin)
        text = generate(twin, root)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path.relative_to(root).as_posix())
    return changed


def main(*, check: bool, root: Path | None = None) -> int:
    """CLI entry of ``twins`` (``--check``: exit 1 naming each stale file)."""
    root = root or PROJECT_ROOT
    try:
        if check:
            problems = stale(root)
            for path in problems:
                print(f"twins: {path} is stale; run `python -m codegen twins`", file=sys.stderr)
            if not problems:
                print("twins: the sync clients are current")
            return 1 if problems else 0
        for path in write(root):
            print(f"twins: wrote {path}")
    except GenerationError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0
