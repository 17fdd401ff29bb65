"""The change report: every difference between two surface indexes, classified.

The surface index (``specs/surface/<source>.txt``) lists the generated API by name and number,
so comparing two of them is a comparison of what users import: protobuf messages, fields (number,
cardinality, type, oneof), enum values, services and RPCs; OpenAPI models, properties (type,
required, nullable), enum values, unions and paths. Each change is breaking or additive and the
report ends with the SemVer bump it implies. ``buf breaking`` findings (protobuf rules such as
reserved ranges) are added by :mod:`codegen.bump` when the tool is available.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from codegen.layer import Effect

__all__ = ["Change", "Report", "diff_surfaces", "implied_bump", "parse_surface", "unaccepted"]

BUMPS = ("none", "patch", "minor", "major")


@dataclass(frozen=True, order=True)
class Change:
    """One difference: ``what`` happened to ``subject``; ``detail`` says from what to what."""

    breaking: bool
    what: str
    subject: str
    detail: str = ""

    @property
    def key(self) -> str:
        """The line that identifies this change (used by the accepted-breaks file)."""
        return f"{self.what}: {self.subject}"

    def line(self) -> str:
        """One Markdown list line."""
        mark = "**BREAKING** " if self.breaking else ""
        detail = ""
        if self.detail:
            detail = f" {self.detail}" if self.detail.startswith("(") else f" ({self.detail})"
        return f"- {mark}{self.what}: `{self.subject}`{detail}"


@dataclass
class Report:
    """The changes of one source between two commits, plus tool findings."""

    source: str
    repository: str
    old_commit: str
    old_date: str
    new_commit: str
    new_date: str
    changes: list[Change]
    tool_findings: list[Change] = field(default_factory=list)
    effect: Effect | None = None  # "Effect on runbind": the layer tests (codegen.layer)
    naming: list[str] = field(default_factory=list)  # naming map entries the bump removed

    @property
    def all_changes(self) -> list[Change]:
        """Surface changes and tool findings together."""
        return [*self.changes, *self.tool_findings]

    @property
    def bump(self) -> str:
        """The SemVer bump the changes imply: major, minor, patch or none."""
        return implied_bump(self.all_changes)

    def markdown(self) -> str:
        """The report as Markdown."""
        breaking = [c for c in self.changes if c.breaking]
        additive = [c for c in self.changes if not c.breaking]
        out = [
            f"# Change report: {self.source} {self.old_commit[:12]} → {self.new_commit[:12]}",
            "",
            f"Upstream `{self.repository}`: `{self.old_commit}` ({self.old_date}) → "
            f"`{self.new_commit}` ({self.new_date}).",
            "",
            f"## Breaking ({len(breaking)})",
            "",
            *([c.line() for c in breaking] or ["none"]),
            "",
            f"## Additive ({len(additive)})",
            "",
            *([c.line() for c in additive] or ["none"]),
            "",
        ]
        if self.tool_findings:
            out += [
                f"## buf breaking ({len(self.tool_findings)})",
                "",
                *[c.line() for c in self.tool_findings],
                "",
            ]
        out += [f"Implied version bump: **{self.bump.upper()}**", ""]
        return "\n".join(out) + self._effect_markdown()

    def _effect_markdown(self) -> str:
        """The "Effect on runbind" section (codegen.layer), after the rest of the report."""
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
            "changes": [asdict(c) | {"key": c.key} for c in self.changes],
            "tool_findings": [asdict(c) | {"key": c.key} for c in self.tool_findings],
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


def _property_parts(value: str) -> tuple[str, set[str]]:
    words = value.split(" ")
    flags = set()
    while words and words[-1] in ("required", "nullable"):
        flags.add(words.pop())
    return " ".join(words), flags


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
        (ta, fa), (tb, fb) = _property_parts(old), _property_parts(new)
        out = []
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


def unaccepted(changes: Sequence[Change], accepted: Mapping[str, str]) -> list[Change]:
    """The breaking changes whose key is not in ``accepted`` (key -> reason)."""
    return [c for c in changes if c.breaking and c.key not in accepted]
