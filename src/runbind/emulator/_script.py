"""Scripted model behaviours, chosen per assistant.

An assistant picks its behaviour with a label/metadata entry ``emulator`` (or an instructions
line ``emulator: ...``): a behaviour name and ``key=value`` options, for example
``tools calls=3 delay=0.01``. Unknown names or options are a clear error at assistant creation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Final

__all__ = ["BEHAVIOURS", "Script", "parse_script", "script_for"]

BEHAVIOURS: Final = {
    "echo": "answer with the last user message, streamed in `chunks` partial messages",
    "tools": "request `calls` parallel function calls (Responses: in `rounds` responses), then "
    "answer with their results",
    "fail": "fail with `code` and `message` (after `chunks` partial messages, default none)",
    "slow": "stay in progress for `seconds`, then answer like echo",
    "incomplete": "stop the answer halfway as if max tokens were hit (incomplete)",
    "expire": "request function calls, then expire when no results come within `seconds`",
}
"""Every behaviour and what it does."""

_KEY: Final = "emulator"


@dataclass(frozen=True, slots=True)
class Script:
    """One behaviour and its options; ``delay`` is the pause before every step, in seconds.

    ``repeat`` adds that many partial messages after the answer's last chunk which add nothing:
    on Yandex each holds the whole text again (partial messages are cumulative), on OpenAI each
    is an empty delta; a bounded source of many small events (``benchmarks/stream.py``).
    ``rounds`` is how many responses of a Responses tool loop ask for calls before one answers
    (the Assistants and Yandex runs ask once).
    """

    behaviour: str = "echo"
    chunks: int = 3
    calls: int = 1
    code: str = "server_error"
    message: str = "scripted failure"
    seconds: float = 1.0
    delay: float = 0.0
    repeat: int = 0
    rounds: int = 1


_DEFAULT_CHUNKS: Final = {"fail": 0}
_LIMITS: Final = {
    "chunks": (0, 1000),
    "calls": (1, 128),
    "seconds": (0.0, 3600.0),
    "delay": (0.0, 60.0),
    "repeat": (0, 100_000),
    "rounds": (1, 16),
}


def parse_script(spec: str) -> Script:
    """The :class:`Script` a spec like ``"tools calls=2 delay=0.01"`` describes (or ValueError)."""
    words = spec.split()
    if not words:
        return Script()
    name, options = words[0], words[1:]
    if name not in BEHAVIOURS:
        known = ", ".join(BEHAVIOURS)
        raise ValueError(f"emulator script: unknown behaviour {name!r} (known: {known})")
    script = Script(behaviour=name, chunks=_DEFAULT_CHUNKS.get(name, 3))
    types = {f.name: f.type for f in fields(Script) if f.name != "behaviour"}
    changes: dict[str, Any] = {}
    for option in options:
        key, sep, raw = option.partition("=")
        if not sep or key not in types:
            known = ", ".join(types)
            raise ValueError(f"emulator script: bad option {option!r} (known: {known})")
        changes[key] = _value(key, str(types[key]), raw)
    return replace(script, **changes)


def _value(key: str, kind: str, raw: str) -> Any:
    """One option's value, converted to ``kind`` and range-checked."""
    if kind == "str":
        return raw.replace("_", " ") if key == "message" else raw
    try:
        value = int(raw) if kind == "int" else float(raw)
    except ValueError:
        raise ValueError(f"emulator script: {key} must be a {kind}, got {raw!r}") from None
    low, high = _LIMITS[key]
    if not low <= value <= high:
        raise ValueError(f"emulator script: {key} must be within {low}..{high}, got {raw}")
    return value


def script_for(labels: Mapping[str, str], instructions: str | None) -> Script:
    """The script an assistant asked for: its ``emulator`` label, else an instructions line."""
    if _KEY in labels:
        return parse_script(labels[_KEY])
    for line in (instructions or "").splitlines():
        head, sep, rest = line.partition(":")
        if sep and head.strip().lower() == _KEY:
            return parse_script(rest)
    return Script()
