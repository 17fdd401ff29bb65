"""Yandex ``Run`` protobuf rows: decode with every field read, the ``Run.from_yandex`` adapter,
encode, and proto3 JSON both ways; ours (generated classes) against plain betterproto2 and
Google's protobuf (upb)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from typing import Any

import betterproto2
from google.protobuf import json_format, message_factory
from google.protobuf.internal import api_implementation
from google.protobuf.message import Message as GoogleMessage
from runbind_generated.proto.message_pool import default_message_pool
from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import Run

import runbind

from . import _google, _walk, proto_limits
from ._payloads import yandex_run
from ._results import Row
from ._timing import Contender, Settings, compare

__all__ = ["plain_betterproto2", "rows"]

# What generated classes may override (fast codecs, post-processing) on top of betterproto2.
_LIBRARY_METHODS = ("parse", "FromString", "load", "__bytes__", "SerializeToString", "dump")
_PREFIX = "type.googleapis.com/"


def _ours_by_name() -> dict[str, type[betterproto2.Message]]:
    return {url.removeprefix(_PREFIX): cls for url, cls in default_message_pool.url_to_type.items()}


@contextlib.contextmanager
def plain_betterproto2() -> Iterator[None]:
    """betterproto2's own codec for the duration: what generated classes define over it is
    hidden, so that nested messages (parsed through ``cls.parse``) are plain as well."""
    hidden: list[tuple[type, str, Any]] = []
    for cls in default_message_pool.url_to_type.values():
        for name in _LIBRARY_METHODS:
            if name in cls.__dict__:
                hidden.append((cls, name, cls.__dict__[name]))
                delattr(cls, name)
    try:
        yield
    finally:
        for cls, name, value in reversed(hidden):
            setattr(cls, name, value)


def _plain_decode(data: bytes) -> Run:
    return betterproto2.Message.load(Run(), io.BytesIO(data))


def _check(what: str, got: object, expected: object) -> None:
    if got != expected:
        raise AssertionError(f"{what}: {got!r} != {expected!r}")


def _variant(
    tag: str,
    settings: Settings,
    google: type[GoogleMessage],
    plans: tuple[_walk.Plans, _walk.Plans],
) -> list[Row]:
    gplans, oplans = plans
    data = bytes(yandex_run(tools=tag == "tools"))
    read = _walk.read_all

    def ours_read() -> int:
        return read(Run.parse(data), oplans, _walk.ours_present)

    def plain_read() -> int:
        return read(_plain_decode(data), oplans, _walk.ours_present)

    def google_read() -> int:
        return read(google.FromString(data), gplans, _walk.google_present)

    values = ours_read()
    with plain_betterproto2():
        _check("plain betterproto2 decode", _plain_decode(data), Run.parse(data))
        _check("plain betterproto2 reads", plain_read(), values)
    _check("upb reads", google_read(), values)
    size = f"{len(data)} B, {values} values"
    rows = [
        compare(
            "proto",
            f"Run bytes -> object, every field read [{tag}]",
            settings,
            Contender("Run.parse + read", ours_read),
            Contender("plain betterproto2 load + read", plain_read, plain_betterproto2),
            Contender("upb FromString + read", google_read),
            note=size,
        )
    ]
    if tag == "tools":
        rows += _tools_only(data, settings, google, google_read, plain_read)
    return rows


def _tools_only(
    data: bytes,
    settings: Settings,
    google: type[GoogleMessage],
    google_read: Callable[[], int],
    plain_read: Callable[[], int],
) -> list[Row]:
    ours_obj = Run.parse(data)
    google_obj = google.FromString(data)
    _check("adapter", runbind.Run.from_yandex(data).id, ours_obj.id)
    _check("encode", Run.parse(bytes(ours_obj)), ours_obj)
    with plain_betterproto2():
        _check("plain encode", Run.parse(betterproto2.Message.__bytes__(ours_obj)), ours_obj)
    text = json_format.MessageToJson(google_obj, indent=None)
    _check("from_json", Run.from_json(text), ours_obj)
    _check("to_json", json_format.Parse(ours_obj.to_json(), google()), google_obj)
    return [
        compare(
            "proto",
            "Run bytes -> object, decode only [tools]",
            settings,
            Contender("Run.parse", lambda: Run.parse(data)),
            Contender("plain betterproto2 load", lambda: _plain_decode(data), plain_betterproto2),
            Contender("upb FromString", lambda: google.FromString(data)),
            note="upb materialises Python objects lazily, on read",
        ),
        compare(
            "proto",
            "runbind.Run.from_yandex(bytes) [tools]",
            settings,
            Contender("Run.from_yandex", lambda: runbind.Run.from_yandex(data)),
            Contender("plain betterproto2 load + read", plain_read, plain_betterproto2),
            Contender("upb FromString + read", google_read),
            note="the whole adapter (wire check, parse, conversion) against parse + read",
        ),
        compare(
            "proto",
            "Run object -> bytes [tools]",
            settings,
            Contender("bytes(run)", lambda: bytes(ours_obj)),
            Contender(
                "plain betterproto2 __bytes__",
                lambda: betterproto2.Message.__bytes__(ours_obj),
                plain_betterproto2,
            ),
            Contender("upb SerializeToString", google_obj.SerializeToString),
        ),
        compare(
            "proto",
            "proto3 JSON to: Run object -> JSON text [tools]",
            settings,
            Contender("run.to_json()", ours_obj.to_json),
            Contender(
                "json_format.MessageToJson",
                lambda: json_format.MessageToJson(google_obj, indent=None),
            ),
            note="generated per-message writers (codegen/fastjson.py)",
        ),
        compare(
            "proto",
            "proto3 JSON from: JSON text -> Run object [tools]",
            settings,
            Contender("Run.from_json", lambda: Run.from_json(text)),
            Contender("json_format.Parse", lambda: json_format.Parse(text, google())),
            note=f"{len(text)} chars of JSON",
        ),
        *_json_dict_rows(settings, ours_obj, google_obj, google),
    ]


def _json_dict_rows(
    settings: Settings, ours_obj: Run, google_obj: GoogleMessage, google: type[GoogleMessage]
) -> list[Row]:
    """proto3 JSON to and from Python dicts (no text): the generated codecs alone."""
    as_dict = json_format.MessageToDict(google_obj)
    _check("to_dict", ours_obj.to_dict(), as_dict)
    _check("from_dict", Run.from_dict(as_dict), ours_obj)
    return [
        compare(
            "proto",
            "proto3 JSON to: Run object -> dict [tools]",
            settings,
            Contender("run.to_dict()", ours_obj.to_dict),
            Contender("json_format.MessageToDict", lambda: json_format.MessageToDict(google_obj)),
        ),
        compare(
            "proto",
            "proto3 JSON from: dict -> Run object [tools]",
            settings,
            Contender("Run.from_dict", lambda: Run.from_dict(as_dict)),
            Contender("json_format.ParseDict", lambda: json_format.ParseDict(as_dict, google())),
        ),
    ]


def rows(settings: Settings) -> list[Row]:
    """Every proto row, with Google's modules built into a temp folder for the process."""
    if api_implementation.Type() != "upb":
        raise RuntimeError(f"google.protobuf runs its {api_implementation.Type()} backend")
    google = _google.modules().run_pb2.Run
    plans = _walk.plans(google.DESCRIPTOR, message_factory.GetMessageClass, _ours_by_name())
    return (
        _variant("tools", settings, google, plans)
        + _variant("no tools", settings, google, plans)
        + proto_limits.rows(settings)
    )
