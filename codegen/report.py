"""The change report: every difference between two surface indexes, classified.

The surface index (``specs/surface/<source>.txt``) lists the generated API by name and number,
so comparing two of them is a comparison of what users import: protobuf messages, fields (number,
cardinality, type, oneof), enum values, services and RPCs; OpenAPI models, properties (type,
required, nullable), enum values, unions and paths. Each change is breaking or additive and the
report ends with the SemVer bump it implies. OpenAPI properties also carry their constraints
(``max_length``, ``minimum``..., ``pattern``, default): tightening one is breaking, loosening it
additive. ``buf breaking`` findings (protobuf rules such as reserved ranges or JSON names) are
merged in by :func:`merge`: a finding about a change the surface diff found marks that line,
any other finding is a line of its own, so each change is one line saying where it came from.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from codegen.layer import Effect

__all__ = [
    "Change",
    "Finding",
    "Report",
    "diff_surfaces",
    "implied_bump",
    "merge",
    "parse_surface",
    "unaccepted",
]

SURFACE = "surface"
"""The name of the surface-index comparison as a source of change lines."""

BUMPS = ("none", "patch", "minor", "major")


@dataclass(frozen=True, order=True)
class Change:
    """One difference: ``what`` happened to ``subject``; ``detail`` says from what to what."""

    breaking: bool
    what: str
    subject: str
    detail: str = ""
    sources: tuple[str, ...] = (SURFACE,)
    """Which comparisons found it: ``surface`` and/or a tool (``buf``)."""
    rules: tuple[str, ...] = ()
    """The tool rules that fired for it (``FIELD_NO_DELETE``...)."""

    @property
    def key(self) -> str:
        """The line that identifies this change (used by the accepted-breaks file)."""
        return f"{self.what}: {self.subject}"

    def line(self) -> str:
        """One Markdown list line, ending with where the change was found."""
        mark = "**BREAKING** " if self.breaking else ""
        detail = f" {_detail(self.detail)}" if self.detail else ""
        found = ", ".join(
            f"{s}: {' '.join(self.rules)}" if s != SURFACE and self.rules else s
            for s in self.sources
        )
        return f"- {mark}{self.what}: {_code(self.subject)}{detail} [{found}]"


def _code(text: str) -> str:
    """``text`` as a Markdown code span (so ``<``, ``*`` or ``_`` in it render as themselves)."""
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" or text.startswith(" ") or text.endswith(" ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _detail(detail: str) -> str:
    """A detail in parentheses, as code: ``a → b`` as two spans, an RPC signature as one."""
    if detail.startswith("("):  # "(Request) returns (Response)"
        return _code(detail)
    if " → " in detail:
        before, _, after = detail.partition(" → ")
        return f"({_code(before)} → {_code(after)})"
    return f"({_code(detail)})"


@dataclass(frozen=True, order=True)
class Finding:
    """One line of a tool's own comparison (``buf breaking``), as the tool said it.

    ``package`` is the protobuf package of ``path`` (read from the file by the caller); it lets
    :func:`merge` match the finding to the fully qualified names of the surface index.
    """

    tool: str
    rule: str
    path: str
    message: str
    package: str = ""

    def change(self) -> Change:
        """The finding as a change line of its own (when no surface change matches it)."""
        subject = f"{self.path}: {self.message}"
        return Change(True, f"{self.tool} {self.rule}", subject, "", (self.tool,), (self.rule,))


@dataclass
class Report:
    """The changes of one source between two commits: one line per change, every source merged."""

    source: str
    repository: str
    old_commit: str
    old_date: str
    new_commit: str
    new_date: str
    changes: list[Change]
    findings: list[Finding] = field(default_factory=list)
    """The tool findings as the tool reported them (already merged into ``changes``)."""
    compared: tuple[str, ...] = (SURFACE,)
    """The comparisons that ran: the surface diff and the tools (``buf``)."""
    notes: tuple[str, ...] = ()
    """What the reader must know about the comparison (a tool that did not run)."""
    effect: Effect | None = None
    """"Effect on runbind": the layer tests on the new code (:mod:`codegen.layer`)."""
    naming: list[str] = field(default_factory=list)
    """Naming map entries the bump removed because upstream made them stale."""

    @property
    def all_changes(self) -> list[Change]:
        """Every change, one line each (surface and tool findings merged)."""
        return list(self.changes)

    @property
    def bump(self) -> str:
        """The SemVer bump the changes imply: major, minor, patch or none."""
        return implied_bump(self.changes)

    def markdown(self) -> str:
        """The report as Markdown."""
        breaking = [c for c in self.changes if c.breaking]
        additive = [c for c in self.changes if not c.breaking]
        how = {SURFACE: "the surface index", "buf": "`buf breaking` (PACKAGE rules)"}
        out = [
            f"# Change report: {self.source} {self.old_commit[:12]} → {self.new_commit[:12]}",
            "",
            f"Upstream `{self.repository}`: `{self.old_commit}` ({self.old_date}) → "
            f"`{self.new_commit}` ({self.new_date}).",
            "",
            "Compared by " + " and ".join(how.get(c, c) for c in self.compared) + "; each line "
            "ends with the comparisons that found it.",
            "",
            *[f"> {note}\n" for note in self.notes],
            f"## Breaking ({len(breaking)})",
            "",
            *([c.line() for c in breaking] or ["None."]),
            "",
            f"## Additive ({len(additive)})",
            "",
            *([c.line() for c in additive] or ["None."]),
            "",
            f"Implied version bump: **{self.bump.upper()}**",
            "",
        ]
        return "\n".join(out) + self._effect_markdown()

    def _effect_markdown(self) -> str:
        """The naming map changes and "Effect on runbind" (codegen.layer), after the rest."""
        out = []
        if self.naming:
            out += ["## Naming map (specs/openai-names.toml)", "", *[f"- {n}" for n in self.naming]]
            out.append("")
        if self.effect is not None:
            out += self.effect.markdown()
        return "\n" + "\n".join(out) if out else ""

    def to_json(self) -> str:
        """The report for machines."""
        data = {
            "source": self.source,
            "repository": self.repository,
            "from": {"commit": self.old_commit, "date": self.old_date},
            "to": {"commit": self.new_commit, "date": self.new_date},
            "bump": self.bump,
            "compared": list(self.compared),
            "notes": list(self.notes),
            "changes": [asdict(c) | {"key": c.key} for c in self.changes],
            "findings": [asdict(f) for f in self.findings],
        }
        if self.effect is not None:
            data["effect_on_runbind"] = self.effect.as_dict()
        if self.naming:
            data["naming_map_changes"] = self.naming
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def implied_bump(changes: Iterable[Change]) -> str:
    """major for any breaking change, minor for any other change, else none."""
    found = list(changes)
    if any(c.breaking for c in found):
        return "major"
    return "minor" if found else "none"


# --- parsing -------------------------------------------------------------------------------


def parse_surface(text: str) -> dict[tuple[str, str], str]:
    """``{(kind, name): facts}`` of a surface index (facts empty for plain declarations)."""
    facts: dict[tuple[str, str], str] = {}
    for raw in text.splitlines():
        if not raw or raw.startswith("#"):
            continue
        kind, _, rest = raw.partition(" ")
        if kind in ("field", "enum_value", "alias", "union"):
            name, _, value = rest.partition(" = ")
        elif kind == "rpc":
            name, paren, value = rest.partition("(")
            value = paren + value
        elif kind == "property":
            name, _, value = rest.partition(": ")
        elif kind == "path":
            method, path, value = [*rest.split(" ", 2), "", ""][:3]
            name = f"{method} {path}"
        elif kind == "enum" and " = " in rest:  # an OpenAPI enum value: "enum Model = value"
            model, _, member = rest.partition(" = ")
            kind, name, value = "enum_member", f"{model}.{member}", ""
        elif kind == "model":
            name, _, value = rest.partition(" ")
        else:
            name, value = rest, ""
        facts[(kind, name)] = value
    return facts


# --- classification ------------------------------------------------------------------------

_NAMES = {
    "message": "message",
    "field": "field",
    "enum": "enum",
    "enum_value": "enum value",
    "service": "service",
    "rpc": "RPC",
    "model": "schema",
    "property": "property",
    "enum_member": "enum value",
    "union": "union",
    "alias": "alias",
    "path": "operation",
}
# Adding one of these is additive, removing it breaking (also for every kind not listed below).
_REQUIRED_FLAG = "required"


def _field_parts(value: str) -> dict[str, str]:
    words = value.split(" ")
    number, card, rest = words[0], words[1] if len(words) > 1 else "", words[2:]
    if card.startswith("map<"):  # "6 map<string,string>": the map is both kind and type
        card, rest = "map", [card, *rest]
    type_ = rest[0] if rest else ""
    oneof = rest[2] if len(rest) >= 3 and rest[1] == "oneof" else ""
    return {"number": number, "cardinality": card, "type": type_, "oneof": oneof}


def _property_parts(value: str) -> tuple[str, set[str], dict[str, Any]]:
    """Type, flags (required, nullable) and constraints of a property's facts."""
    constraints: dict[str, Any] = {}
    brace = value.find(' {"')
    if brace >= 0:
        constraints = json.loads(value[brace + 1 :])
        value = value[:brace]
    words = value.split(" ")
    flags = set()
    while words and words[-1] in ("required", "nullable"):
        flags.add(words.pop())
    return " ".join(words), flags, constraints


# A smaller upper bound or a larger lower bound accepts fewer values: tighter, so breaking.
_UPPER = frozenset({"le", "lt", "max_length"})
_LOWER = frozenset({"ge", "gt", "min_length"})


def _constraint_changes(name: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Constraints added (breaking), removed (additive), tightened or loosened; defaults."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        detail = f"{_value(a)} → {_value(b)}"
        if key == "default":
            out.append(Change(True, "default changed", name, detail))
        elif a is None:
            out.append(Change(True, f"constraint {key} added", name, detail))
        elif b is None:
            out.append(Change(False, f"constraint {key} removed", name, detail))
        elif key in _UPPER | _LOWER and _numbers(a, b):
            tighter = b < a if key in _UPPER else b > a
            word = "tightened" if tighter else "loosened"
            out.append(Change(tighter, f"constraint {key} {word}", name, detail))
        else:  # a pattern or a multiple: no order, so any change may refuse a value
            out.append(Change(True, f"constraint {key} changed", name, detail))
    return out


def _value(value: object) -> str:
    """A constraint's value as JSON (``none`` when absent)."""
    return "none" if value is None else json.dumps(value, ensure_ascii=False)


def _numbers(*values: object) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _changed(kind: str, name: str, old: str, new: str) -> list[Change]:
    label = _NAMES.get(kind, kind)
    if kind == "field":
        a, b = _field_parts(old), _field_parts(new)
        out = []
        if a["number"] != b["number"]:
            out.append(Change(True, "field renumbered", name, f"{a['number']} → {b['number']}"))
        if a["type"] != b["type"]:
            out.append(Change(True, "field type changed", name, f"{a['type']} → {b['type']}"))
        if a["cardinality"] != b["cardinality"]:
            detail = f"{a['cardinality']} → {b['cardinality']}"
            out.append(Change(True, "field cardinality changed", name, detail))
        if a["oneof"] != b["oneof"]:
            detail = f"{a['oneof'] or 'none'} → {b['oneof'] or 'none'}"
            out.append(Change(True, "field oneof changed", name, detail))
        return out
    if kind == "property":
        (ta, fa, ca), (tb, fb, cb) = _property_parts(old), _property_parts(new)
        out = _constraint_changes(name, ca, cb)
        if ta != tb:
            out.append(Change(True, "property type changed", name, f"{ta} → {tb}"))
        if "required" in fb and "required" not in fa:
            out.append(Change(True, "property became required", name))
        if "required" in fa and "required" not in fb:
            out.append(Change(True, "property no longer required", name))
        if "nullable" in fb and "nullable" not in fa:
            out.append(Change(True, "property became nullable", name))
        if "nullable" in fa and "nullable" not in fb:
            out.append(Change(False, "property no longer nullable", name))
        return out
    if kind == "enum_value":
        return [Change(True, "enum value renumbered", name, f"{old} → {new}")]
    if kind == "path":
        return [Change(False, "operation id changed", name, f"{old} → {new}")]
    if kind == "union":
        return _union_changes(name, old, new)
    return [Change(True, f"{label} changed", name, f"{old} → {new}")]


def _union_changes(name: str, old: str, new: str) -> list[Change]:
    def split(value: str) -> tuple[set[str], str]:
        members, _, disc = value.partition(" discriminator ")
        return {m.strip() for m in members.split("|")}, disc

    (ma, da), (mb, db) = split(old), split(new)
    out = [Change(True, "union member removed", f"{name}.{m}") for m in sorted(ma - mb)]
    out += [Change(False, "union member added", f"{name}.{m}") for m in sorted(mb - ma)]
    if da != db:
        out.append(Change(True, "union discriminator changed", name, f"{da} → {db}"))
    return out


def _added(kind: str, name: str, value: str) -> Change:
    label = _NAMES.get(kind, kind)
    if kind == "property" and _REQUIRED_FLAG in _property_parts(value)[1]:
        return Change(True, "required property added", name, value)
    return Change(False, f"{label} added", name, value)


def _removed(kind: str, name: str, value: str) -> Change:
    return Change(True, f"{_NAMES.get(kind, kind)} removed", name, value)


def _covered(kind: str, name: str, gone: set[tuple[str, str]]) -> bool:
    """Members of a removed or added container are reported with the container only."""
    parents = {
        "field": ("message",),
        "enum_value": ("enum",),
        "rpc": ("service",),
        "property": ("model",),
        "enum_member": ("model",),
    }.get(kind, ())
    # OpenAPI names have no dots but enum values may (gpt-4.1); protobuf names are dotted.
    head = name.split(".", 1)[0] if kind in ("property", "enum_member") else name.rsplit(".", 1)[0]
    return any((parent, head) in gone for parent in parents)


def diff_surfaces(old_text: str, new_text: str) -> list[Change]:
    """Every change from ``old_text`` to ``new_text`` (surface indexes), sorted."""
    old, new = parse_surface(old_text), parse_surface(new_text)
    removed = set(old) - set(new)
    added = set(new) - set(old)
    changes: list[Change] = []
    for kind, name in sorted(removed):
        if not _covered(kind, name, removed):
            changes.append(_removed(kind, name, old[(kind, name)]))
    for kind, name in sorted(added):
        if not _covered(kind, name, added):
            changes.append(_added(kind, name, new[(kind, name)]))
    for key in sorted(set(old) & set(new)):
        if old[key] != new[key]:
            changes.extend(_changed(key[0], key[1], old[key], new[key]))
    return sorted(changes, key=lambda c: (not c.breaking, c.what, c.subject))


# --- merging tool findings -----------------------------------------------------------------

_MEMBER = re.compile(
    r'(?:field|enum value) "(\w+)"(?: with name "(\w+)")? on (?:message|enum) "([\w.]+)"', re.I
)
_RPC = re.compile(r'RPC "(\w+)" on service "([\w.]+)"', re.I)
_TOP = re.compile(r'(message|enum|service) "([\w.]+)" was deleted', re.I)
# Which surface change a rule can be about (a word of its ``what``).
_HINTS = (
    ("NO_DELETE", ("removed", "renumbered")),
    ("SAME_NAME", ("removed", "renumbered")),
    ("SAME_TYPE", ("type",)),
    ("ONEOF", ("oneof",)),
    ("CARDINALITY", ("cardinality",)),
    ("LABEL", ("cardinality",)),
    ("REQUEST_TYPE", ("changed",)),
    ("RESPONSE_TYPE", ("changed",)),
    ("STREAMING", ("changed",)),
)


def _about(finding: Finding, change: Change) -> bool:
    """Whether ``finding`` (a buf message) is about the same element as ``change``."""
    subject = change.subject
    if finding.package:
        if not subject.startswith(finding.package + "."):
            return False
        subject = subject[len(finding.package) + 1 :]
    parts = subject.split(".")
    if member := _MEMBER.search(finding.message):
        number, name, container = member.groups()
        if len(parts) < 2 or not _ends_with(".".join(parts[:-1]), container):
            return False
        if name:
            return parts[-1] == name
        return change.detail.split(" ", 1)[0] == number
    if rpc := _RPC.search(finding.message):
        return parts[-2:] == [rpc.group(2).rsplit(".", 1)[-1], rpc.group(1)]
    if top := _TOP.search(finding.message):
        label = _NAMES[top.group(1).lower()]
        return change.what == f"{label} removed" and _ends_with(subject, top.group(2))
    return False


def _ends_with(name: str, tail: str) -> bool:
    """``name`` is ``tail`` or ends with ``.tail`` (buf names nested types by their last part)."""
    return name == tail or name.endswith("." + tail)


def merge(changes: Sequence[Change], findings: Iterable[Finding]) -> list[Change]:
    """One line per change: each finding marks the surface change it is about, or is its own.

    A finding about several surface changes of one element (a field's type and oneof) marks
    the one its rule names; when that leaves more than one element, it stays a line of its
    own rather than being pinned on a guess.
    """
    merged = list(changes)
    extra: dict[str, Change] = {}
    for finding in sorted(findings):
        hits = [i for i, c in enumerate(merged) if c.breaking and _about(finding, c)]
        hint = next((words for rule, words in _HINTS if rule in finding.rule), ())
        narrowed = [i for i in hits if any(w in merged[i].what for w in hint)]
        hits = narrowed or hits
        if hits and len({merged[i].subject for i in hits}) == 1:
            found = merged[hits[0]]
            merged[hits[0]] = dataclasses.replace(
                found,
                sources=tuple(dict.fromkeys([*found.sources, finding.tool])),
                rules=tuple(sorted({*found.rules, finding.rule})),
            )
        else:
            own = finding.change()
            extra.setdefault(own.key, own)
    return sorted([*merged, *extra.values()], key=lambda c: (not c.breaking, c.what, c.subject))


def unaccepted(changes: Sequence[Change], accepted: Mapping[str, str]) -> list[Change]:
    """The breaking changes whose key is not in ``accepted`` (key -> reason)."""
    return [c for c in changes if c.breaking and c.key not in accepted]
