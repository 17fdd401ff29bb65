"""Credentials, and what keeps a server's echo of one out of errors, logs and tracebacks.

A server may echo what it was sent anywhere: an error message, a header, a JSON key, a gRPC
status message. :func:`redact` takes any stretch of 8 or more characters of a credential out of
a text; :func:`clip` shortens a text without leaving a piece of one at the cut; :func:`scrub`
makes an error fit to leave a client (its text redacted, hidden contexts dropped, the locals of
the frames it passed cleared); a log filter redacts the live credentials from the records of
the transport libraries, which log headers at DEBUG.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast

from .errors import InvalidArgumentError

__all__ = [
    "GRAM",
    "Secret",
    "SecretHeaders",
    "clip",
    "from_env",
    "guard",
    "guard_stream",
    "guarded",
    "live",
    "redact",
    "safe_headers",
    "scrub",
]

_P = ParamSpec("_P")
_T = TypeVar("_T")

GRAM = 8
"""Characters of a credential in a row that count as a piece of it (shorter ones are noise)."""

_TAIL = 4  # a cut text never ends with this many or more characters opening a credential

_LIVE: weakref.WeakSet[Secret] = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()  # adds and snapshots (a WeakSet defers its own removals)


def _new_live_lock() -> None:
    """A forked child's own lock: a thread of the parent may have held it at the fork."""
    global _LIVE_LOCK  # noqa: PLW0603 - its holder is not in the child
    _LIVE_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_new_live_lock)

_LOGGERS = (
    "runbind",
    "runbind.openai",
    "runbind.yandex",
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "hpack.hpack",
    "hpack.table",
    "h2.connection",
    "grpclib.protocol",
    "grpclib.client",
    "grpclib.server",
)
"""Loggers whose records may quote a header or a message a server sent (a filter works only on
the logger a record is made by, not on its parents)."""


class Secret:
    """A credential that never shows itself in a repr, str, log line or traceback."""

    __slots__ = ("__weakref__", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        with _LIVE_LOCK:
            _LIVE.add(self)
        _install_log_filter()

    def reveal(self) -> str:
        """The credential itself, for the one header that carries it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


class SecretHeaders(dict[str, str]):
    """Request headers or metadata whose repr hides every value: they carry the credential, and
    a traceback that shows frame locals must not."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: '***'" for k in self) + "}"

    __str__ = __repr__


def live() -> tuple[Secret, ...]:
    """The credentials of the clients alive now (any thread may ask)."""
    with _LIVE_LOCK:
        return tuple(_LIVE)


def _values(secrets: Iterable[Secret | None]) -> list[str]:
    return [s.reveal() for s in secrets if s is not None and s.reveal()]


def redact(text: str, *secrets: Secret | None) -> str:
    """``text`` with every credential among ``secrets``, and every stretch of :data:`GRAM` or
    more characters of one, replaced by ``***``.

    A whole credential is not enough: a server (or a library formatting an error) may have cut
    it, and a cut credential is still mostly a credential.
    """
    for value in _values(secrets):
        if len(value) <= GRAM:
            text = text.replace(value, "***")
            continue
        grams = {value[i : i + GRAM] for i in range(len(value) - GRAM + 1)}
        if not any(gram in text for gram in grams):
            continue
        covered = bytearray(len(text))
        for at in range(len(text) - GRAM + 1):
            if text[at : at + GRAM] in grams:
                covered[at : at + GRAM] = b"\1" * GRAM
        parts: list[str] = []
        at = 0
        while at < len(text):
            end = at
            while end < len(text) and covered[end] == covered[at]:
                end += 1
            parts.append("***" if covered[at] else text[at:end])
            at = end
        text = "".join(parts)
    return text


def clip(text: str, limit: int, *secrets: Secret | None) -> str:
    """``text`` redacted, then cut to ``limit`` characters (``…`` marks a cut) without a piece of
    a credential left at the end: the cut may fall inside one that was already cut before
    (a body read only in part), too short for :func:`redact` to know."""
    text = redact(text, *secrets)
    if len(text) <= limit:
        return _trim(text, secrets)
    return _trim(text[: max(limit - 1, 0)], secrets) + "…"


def _trim(text: str, secrets: Iterable[Secret | None]) -> str:
    """``text`` without a tail of :data:`_TAIL` or more characters that opens a credential."""
    for value in _values(secrets):
        for size in range(min(len(value), len(text)), _TAIL - 1, -1):
            if text.endswith(value[:size]):
                text = text[:-size] + "***"
                break
    return text


# --------------------------------------------------------------------------- errors

_CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "api-key",
        "x-api-key",
        "x-goog-api-key",
        "x-auth-token",
    }
)
"""Headers (and gRPC metadata keys) that carry a credential: their values are never kept."""

_HEADERS_KEPT = 100  # headers an error keeps (a hostile server may send thousands)
_HEADER_TEXT = 1000  # characters of a header value kept


def safe_headers(items: Iterable[tuple[str, object]], *secrets: Secret | None) -> dict[str, str]:
    """Response headers or gRPC metadata fit to keep in an error: lower-case names, repeated
    ones joined by ``", "``, credential headers masked (``***``), the credentials among
    ``secrets`` redacted from every value, long values cut, binary values (``-bin``) left out."""
    out: dict[str, str] = {}
    for raw_name, raw_value in items:
        name = clip(str(raw_name).lower(), _HEADER_TEXT, *secrets)
        if name.endswith("-bin") or not isinstance(raw_value, str | bytes):
            continue
        if name not in out and len(out) >= _HEADERS_KEPT:
            continue
        text = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value
        value = "***" if name in _CREDENTIAL_HEADERS else text
        if name in out:
            if len(out[name]) >= _HEADER_TEXT:
                continue
            value = f"{out[name]}, {value}"
        out[name] = clip(value, _HEADER_TEXT, *secrets)
    return out


def scrub(exc: BaseException, *secrets: Secret | None) -> None:
    """Make ``exc`` fit to leave a client, in place.

    Its text (and that of every error in its chain) has the credentials redacted; a context it
    hides (``raise ... from None``) is dropped, since it holds the raw error of a lower layer;
    and the locals of every finished frame it passed through are cleared, so that a traceback
    shown with its locals (or sent to an error tracker) holds no body, header or message a
    server sent. The frames themselves (file, line, function) stay.
    """
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        link = todo.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        link.args = tuple(redact(a, *secrets) if isinstance(a, str) else a for a in link.args)
        attributes = getattr(link, "__dict__", {})
        for name, value in list(attributes.items()):
            if isinstance(value, str):
                attributes[name] = redact(value, *secrets)
        _clear_locals(link.__traceback__)
        if link.__suppress_context__:
            link.__context__ = None
        todo.extend(e for e in (link.__cause__, link.__context__) if e is not None)


def _clear_locals(tb: TracebackType | None) -> None:
    while tb is not None:
        with contextlib.suppress(RuntimeError):  # still running: the scrubbing frame
            tb.tb_frame.clear()
        tb = tb.tb_next


_M = TypeVar("_M", bound=Callable[..., Coroutine[Any, Any, Any]])


def guarded(method: _M) -> _M:
    """A client method whose errors are :func:`scrub`-bed with the client's ``_secrets``."""

    @functools.wraps(method)
    async def call(self: Any, /, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except Exception as exc:
            scrub(exc, *self._secrets)
            raise

    return cast("_M", call)


def guard(
    function: Callable[_P, Coroutine[Any, Any, _T]], secrets: tuple[Secret | None, ...]
) -> Callable[_P, Coroutine[Any, Any, _T]]:
    """``function`` whose errors are :func:`scrub`-bed with ``secrets``."""

    @functools.wraps(function)
    async def call(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return await function(*args, **kwargs)
        except Exception as exc:
            scrub(exc, *secrets)
            raise

    return call


async def guard_stream(
    items: AsyncIterator[_T], secrets: tuple[Secret | None, ...]
) -> AsyncIterator[_T]:
    """``items``, whose errors are :func:`scrub`-bed with ``secrets``; closing this closes them.

    The last item is not kept between steps: an error's traceback passes this frame too.
    """
    try:
        while True:
            try:
                item = await anext(items)
            except StopAsyncIteration:
                return
            yield item
            del item
    except Exception as exc:
        scrub(exc, *secrets)
        raise
    finally:
        close = getattr(items, "aclose", None)
        if close is not None:
            await close()


# --------------------------------------------------------------------------- logs


class _RedactLive(logging.Filter):
    """Redacts the credentials of the live clients from a record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = live()
        if not secrets:
            return True
        try:
            text = record.getMessage()
        except Exception:  # a record that cannot format: the handler reports it, not us
            return True
        clean = redact(text, *secrets)
        if clean != text:
            record.msg, record.args = clean, None
        return True


_FILTER = _RedactLive()


def _install_log_filter() -> None:
    """Put the filter on every logger in :data:`_LOGGERS` (once each)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def from_env(value: str | None, *names: str) -> Secret | None:
    """``value``, else the first set environment variable of ``names``, as a :class:`Secret`."""
    if value is None:
        value = next((os.environ[n] for n in names if os.environ.get(n)), None)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or any(c in value for c in "\r\n"):
        raise InvalidArgumentError("a credential must be a non-empty single-line string")
    return Secret(value.strip())
