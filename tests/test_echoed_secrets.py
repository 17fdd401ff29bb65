"""Servers that echo the client's credential back in every place a response has, over real
sockets: the key, or any 8 characters of it in a row, never reaches an error (its str, repr,
args or chain), a log record of any logger at DEBUG, a warning, or the locals of a frame in an
error's traceback (other than this file's own frames, which hold the key on purpose)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import traceback
import urllib.parse
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import pytest
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs as yandex_runs

from runbind import ApiError, DecodeError, RetryPolicy, RunTimeoutError, openai, yandex
from tests._misbehaving import Server, h2_every, http_answers

OPENAI_KEY = "sk-CANARYq7Zx2Lp9Rt4Vm6Nb8Hc3Jd5Kf1Gs0Ya8Ueo"  # 44 characters, as OpenAI's
YANDEX_KEY = "AQVNCANARYw3Ee5Rr7Tt9Yy1Uu3Ii5Oo7Pp9Aa1Ss3Dd"
GRAM = 8
FAST = RetryPolicy(attempts=2, initial=0.01, maximum=0.02)
RUN: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fuzz/corpus/openai_json/seed-run-completed.json").read_text()
)
HERE = str(Path(__file__).resolve())

assert len(OPENAI_KEY) == 44
assert len(YANDEX_KEY) == 44


# --------------------------------------------------------------------------- evidence


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything behind it, hidden contexts included."""
    found: list[BaseException] = []
    todo = [exc]
    while todo:
        link = todo.pop()
        if any(link is seen for seen in found):
            continue
        found.append(link)
        todo.extend(e for e in (link.__cause__, link.__context__) if e is not None)
    return found


class Evidence:
    """What a user, a log or an error tracker could see of one call; :meth:`leaks` finds
    pieces of ``key`` in it."""

    def __init__(self, key: str) -> None:
        self.grams = {key[i : i + GRAM] for i in range(len(key) - GRAM + 1)}
        self.texts: list[tuple[str, str]] = []
        self.records = 0

    def add(self, where: str, text: str) -> None:
        self.texts.append((where, text))

    def error(self, exc: BaseException) -> None:
        self.add("traceback", "".join(traceback.format_exception(exc)))
        for index, link in enumerate(_chain(exc)):
            here = f"chain[{index}] {type(link).__name__}"
            self.add(f"{here} str", str(link))
            self.add(f"{here} repr", repr(link))
            self.add(f"{here} args", repr(link.args))
            # Its text fields (message, path, reason...); a run it carries is data, as returned.
            texts = {k: v for k, v in getattr(link, "__dict__", {}).items() if isinstance(v, str)}
            self.add(f"{here} fields", repr(texts))
            tb = link.__traceback__
            while tb is not None:
                frame = tb.tb_frame
                if frame.f_code.co_filename != HERE:
                    for name, value in frame.f_locals.items():
                        self.add(f"{here} local {frame.f_code.co_name}.{name}", _repr(value))
                tb = tb.tb_next

    def leaks(self) -> list[str]:
        found = []
        for where, text in self.texts:
            pieces = sorted(g for g in self.grams if g in text)
            if pieces:
                at = text.find(pieces[0])
                found.append(f"{where}: …{text[max(0, at - 60) : at + 60]!r}…")
        return found


def _repr(value: object) -> str:
    try:
        return repr(value)
    except Exception as exc:  # a repr that fails shows nothing
        return f"<repr failed: {type(exc).__name__}>"


class _Collect(logging.Handler):
    def __init__(self, evidence: Evidence) -> None:
        super().__init__(logging.DEBUG)
        self.evidence = evidence
        self.setFormatter(logging.Formatter("%(threadName)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.evidence.records += 1
        self.evidence.add(f"log {record.name}", self.format(record))


@contextmanager
def watching(key: str) -> Iterator[Evidence]:
    """Evidence of the block: DEBUG records of every logger (every thread) and warnings."""
    evidence = Evidence(key)
    root = logging.getLogger()
    handler = _Collect(evidence)
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield evidence
        for item in caught:
            evidence.add("warning", f"{item.category.__name__}: {item.message}")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@dataclass
class Outcome:
    """What a call gave: its error (None when it succeeded) and the evidence."""

    error: BaseException | None
    evidence: Evidence

    def clean(self, expected: type[BaseException] | None) -> None:
        if expected is None:
            assert self.error is None, repr(self.error)
        else:
            assert isinstance(self.error, expected), repr(self.error)
        assert self.evidence.records > 0  # the transports did log at DEBUG (and were seen)
        leaks = self.evidence.leaks()
        assert not leaks, "a piece of the key showed:\n" + "\n".join(leaks)


def run_call(
    key: str, flavour: str, make: Callable[[], Any], call: Callable[[Any], Any]
) -> Outcome:
    """``call(client)`` on a client of ``flavour`` made by ``make``, its error recorded."""
    with watching(key) as evidence:
        error: BaseException | None = None
        if flavour == "async":

            async def main() -> None:
                client = make()
                try:
                    result = call(client)
                    if asyncio.iscoroutine(result):
                        result = await result
                    if hasattr(result, "__anext__"):
                        async for _ in result:
                            pass
                finally:
                    await client.close()

            try:
                asyncio.run(main())
            except Exception as exc:
                error = exc
        else:
            client = make()
            try:
                result = call(client)
                if hasattr(result, "__next__"):
                    for _ in result:
                        pass
            except Exception as exc:
                error = exc
            finally:
                client.close()
        if error is not None:
            evidence.error(error)
    return Outcome(error, evidence)


# --------------------------------------------------------------------------- OpenAI


K = OPENAI_KEY


def raw(status: str, body: bytes = b"", headers: tuple[tuple[str, str], ...] = ()) -> bytes:
    """An HTTP/1.1 response with ``status`` as its whole status line after the version."""
    head = [
        f"HTTP/1.1 {status}",
        f"content-length: {len(body)}",
        *(f"{n}: {v}" for n, v in headers),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def a_run(**changes: Any) -> bytes:
    return json.dumps({**RUN, **changes}).encode()


def error_body(message: Any) -> bytes:
    return json.dumps({"error": {"message": message, "type": "invalid_request_error"}}).encode()


JSON_TYPE = ("content-type", "application/json")
SSE_TYPE = ("content-type", "text/event-stream")
DONE = b"event: done\ndata: [DONE]\n\n"


def sse(*events: tuple[str, str], end: bytes = DONE) -> bytes:
    return b"".join(f"event: {e}\ndata: {d}\n\n".encode() for e, d in events) + end


# Each scenario: every request's answer, the call, and the error it must end in (None: none).
OPENAI_SCENARIOS: dict[str, tuple[bytes, str, type[BaseException] | None]] = {
    "reason phrase of an error": (raw(f"401 {K}", error_body("no"), (JSON_TYPE,)), "get", ApiError),
    "reason phrase of a run": (raw(f"200 {K}", a_run(), (JSON_TYPE,)), "get", None),
    "header values of an error": (
        raw(
            "401 Unauthorized",
            error_body("no"),
            (("x-echo", K), ("www-authenticate", f'Bearer realm="{K}"'), ("set-cookie", f"k={K}")),
        ),
        "get",
        ApiError,
    ),
    "a header name of a run": (raw("200 OK", a_run(), ((K, K), JSON_TYPE)), "get", None),
    "a header name of a 500, retried": (raw("500 X", K.encode(), ((K, "1"),)), "get", ApiError),
    "retry hints of a 429": (
        raw("429 X", error_body(K), (("retry-after", K), ("retry-after-ms", K))),
        "get",
        ApiError,
    ),
    "a redirect's host": (
        raw("302 Found", b"", (("location", f"https://{K}.example/{K}?t={K}"),)),
        "get",
        ApiError,
    ),
    "a redirect's long host": (
        raw("307 X", b"", (("location", f"https://{'a' * 90}{K}.example/"),)),
        "get",
        ApiError,
    ),
    "a redirect's path": (raw("301 X", a_run(), (("location", f"/v1/{K}"),)), "get", ApiError),
    "the content encoding": (
        raw("200 OK", a_run(), (("content-encoding", K), JSON_TYPE)),
        "get",
        DecodeError,
    ),
    "the content type": (raw("200 OK", a_run(), (("content-type", K),)), "get", None),
    "the error message": (
        raw("401 X", error_body(f"Incorrect API key provided: {K}."), (JSON_TYPE,)),
        "get",
        ApiError,
    ),
    "the error message, the key cut short": (
        raw("401 X", error_body(f"Incorrect API key provided: {K[:24]}****{K[-4:]}."), ()),
        "get",
        ApiError,
    ),
    "a header, the key cut short": (raw(f"200 {K[1:-1]}", a_run(), (("x", K[9:]),)), "get", None),
    "an error message that is a list": (
        raw("400 X", error_body([K, {K: K}]), (JSON_TYPE,)),
        "get",
        ApiError,
    ),
    "the error's other fields": (
        raw("400 X", json.dumps({"error": {K: K, "message": "m", "code": K}}).encode()),
        "get",
        ApiError,
    ),
    "an error body that is not JSON": (raw("502 X", f"<p>{K}</p>".encode()), "get", ApiError),
    "a metadata key of a run": (
        raw("200 OK", a_run(metadata={K: 1}), (JSON_TYPE,)),
        "get",
        DecodeError,
    ),
    "keys deep in a run": (
        raw(
            "200 OK",
            a_run(tools=[{"type": "function", "function": {K: {K: [K]}, "name": {K: 5}}}]),
            (JSON_TYPE,),
        ),
        "get",
        DecodeError,
    ),
    "an unknown key of a run": (raw("200 OK", a_run(**{K: {K: K}})), "get", None),
    "a wrong value in a run": (raw("200 OK", a_run(created_at=K)), "get", DecodeError),
    "a run's status, waited on": (
        raw("200 OK", a_run(status=K, id=K)),
        "wait",
        RunTimeoutError,
    ),
    "a body that is not JSON": (raw("200 OK", f"<p>{K}</p>".encode()), "get", DecodeError),
    "a stream's event name and id": (
        raw("200 OK", f"id: {K}\nevent: {K}\ndata: {{}}\n\n".encode() + DONE, (SSE_TYPE,)),
        "stream",
        None,
    ),
    "a stream event's data, not JSON": (
        raw("200 OK", sse(("thread.run.created", K)), (SSE_TYPE,)),
        "stream",
        DecodeError,
    ),
    "a stream event's run keys": (
        raw("200 OK", sse(("thread.run.created", a_run(metadata={K: 1}).decode())), (SSE_TYPE,)),
        "stream",
        DecodeError,
    ),
    "a stream's error event": (
        raw(
            "200 OK",
            sse(("error", json.dumps({"type": "x", "message": K, "code": K, "param": K}))),
            (SSE_TYPE,),
        ),
        "stream",
        None,
    ),
    "a stream error status": (
        raw("429 X", error_body(K), (SSE_TYPE, ("x-echo", K))),
        "stream",
        ApiError,
    ),
}


def _openai_call(name: str) -> Callable[[Any], Any]:
    if name == "get":
        return lambda c: c.get("run_1", thread_id="thread_1", timeout=5)
    if name == "wait":
        return lambda c: c.wait("run_1", thread_id="thread_1", timeout=0.3, poll_interval=0.02)
    return lambda c: c.create("asst_1", "thread_1", stream=True, timeout=5)


@pytest.mark.parametrize("flavour", ["async", "sync"])
@pytest.mark.parametrize("scenario", list(OPENAI_SCENARIOS))
def test_an_openai_server_echoing_the_key(
    scenario: str, flavour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    answer, call, expected = OPENAI_SCENARIOS[scenario]

    async def respond(method: str, path: str, body: bytes) -> bytes:
        return answer

    with Server(http_answers(respond)) as server:
        base_url = f"http://127.0.0.1:{server.port}/v1"

        def make() -> Any:
            cls = openai.AsyncRuns if flavour == "async" else openai.Runs
            return cls(base_url=base_url, api_key=K, retry=FAST)

        outcome = run_call(K, flavour, make, _openai_call(call))
    outcome.clean(expected)


def _cut_bodies(limit: int, wrap: Callable[[str], bytes]) -> list[bytes]:
    """Bodies that put the key across a cut at ``limit`` at every offset, after ASCII and
    after two-byte text (which the byte and character counts see differently)."""
    bodies = []
    for filler in ("x", "é"):
        for offset in range(limit - len(K) - 2, limit + 3):
            bodies.append(wrap(filler * offset + K + " and more text after it"))
    return bodies


@pytest.mark.parametrize(
    ("kind", "limit", "wrap"),
    [
        ("text", 200, lambda text: text.encode()),
        ("json", 1000, error_body),
    ],
)
def test_an_openai_error_body_cut_anywhere_around_its_key(
    kind: str, limit: int, wrap: Callable[[str], bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key at every offset across the cut of a text (200 characters) or JSON message
    (1000): no piece of it is left before the cut."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    bodies = _cut_bodies(limit, wrap)
    answers = iter(bodies)

    async def respond(method: str, path: str, body: bytes) -> bytes:
        return raw("403 Forbidden", next(answers))

    with Server(http_answers(respond)) as server:

        async def main() -> list[ApiError]:
            errors = []
            async with openai.AsyncRuns(
                base_url=f"http://127.0.0.1:{server.port}/v1", api_key=K, retry=FAST
            ) as client:
                for _ in bodies:
                    with pytest.raises(ApiError) as caught:
                        await client.get("run_1", thread_id="thread_1", timeout=5)
                    errors.append(caught.value)
            return errors

        with watching(K) as evidence:
            errors = asyncio.run(main())
            for error in errors:
                evidence.error(error)
    assert len(errors) == len(bodies)
    assert all(len(e.message) <= limit for e in errors)
    assert any(e.message.endswith("…") for e in errors)
    assert not evidence.leaks(), "\n".join(evidence.leaks())
    for error in errors:  # nor a shorter opening of the key at the cut
        assert not any(error.message.rstrip("…").endswith(K[:n]) for n in range(4, len(K)))


# --------------------------------------------------------------------------- Yandex


Y = YANDEX_KEY
GRPC = (":status", "200"), ("content-type", "application/grpc")
H2Act = Callable[[h2.connection.H2Connection, int, asyncio.StreamWriter], Awaitable[None]]


def grpc_frame(message: bytes) -> bytes:
    return b"\0" + len(message).to_bytes(4, "big") + message


def trailers_only(status: int, message: str, *extra: tuple[str, str]) -> H2Act:
    async def act(
        connection: h2.connection.H2Connection, stream_id: int, writer: asyncio.StreamWriter
    ) -> None:
        headers = [*GRPC, ("grpc-status", str(status)), ("grpc-message", message), *extra]
        connection.send_headers(stream_id, headers, end_stream=True)
        writer.write(connection.data_to_send())

    return act


def answered(headers: list[tuple[str, str]], body: bytes, trailers: list[tuple[str, str]]) -> H2Act:
    async def act(
        connection: h2.connection.H2Connection, stream_id: int, writer: asyncio.StreamWriter
    ) -> None:
        connection.send_headers(stream_id, headers)
        if body:
            connection.send_data(stream_id, body)
        connection.send_headers(stream_id, trailers, end_stream=True)
        writer.write(connection.data_to_send())

    return act


def a_yandex_run(**fields: Any) -> bytes:
    return bytes(yandex_runs.Run(**{"id": "run_1", "thread_id": "t", **fields}))


def _status_details(text: str) -> str:
    return base64.b64encode(text.encode()).decode().rstrip("=")


YANDEX_SCENARIOS: dict[str, tuple[H2Act, str, type[BaseException] | None]] = {
    "the status message": (trailers_only(16, f"bad key {Y}"), "get", ApiError),
    "the status message, percent-encoded": (
        trailers_only(5, urllib.parse.quote(f"no run {Y}", safe="")),
        "get",
        ApiError,
    ),
    "the status message, the key cut short": (
        trailers_only(16, f"key {Y[:30]}..."),
        "get",
        ApiError,
    ),
    "a retried status's message and hints": (
        trailers_only(14, Y, ("retry-after", Y), ("retry-after-ms", Y)),
        "get",
        ApiError,
    ),
    "status details": (
        trailers_only(3, "m", ("grpc-status-details-bin", _status_details(Y))),
        "get",
        ApiError,
    ),
    "initial metadata": (
        answered([*GRPC, ("x-echo", Y), (Y.lower(), "1")], b"", [("grpc-status", "7")]),
        "get",
        ApiError,
    ),
    "trailers": (
        answered(list(GRPC), b"", [("grpc-status", "13"), ("grpc-message", Y), ("x-echo", Y)]),
        "get",
        ApiError,
    ),
    "the content type": (
        answered([(":status", "200"), ("content-type", f"application/{Y}")], b"", []),
        "get",
        ApiError,
    ),
    "an HTTP status": (
        answered([(":status", "401"), ("content-type", "text/plain"), ("x", Y)], b"", []),
        "get",
        ApiError,
    ),
    "a run's fields": (
        answered(list(GRPC), grpc_frame(a_yandex_run(id=Y, labels={Y: Y})), [("grpc-status", "0")]),
        "get",
        None,
    ),
    "a run that does not decode": (
        answered(
            list(GRPC),
            grpc_frame(a_yandex_run(labels={Y: Y}) + b"\x0a\xff"),
            [("grpc-status", "0"), ("x-echo", Y)],
        ),
        "get",
        DecodeError,
    ),
    "a stream's status message": (
        answered(list(GRPC), b"", [("grpc-status", "13"), ("grpc-message", Y)]),
        "listen",
        ApiError,
    ),
}


def _yandex_call(name: str) -> Callable[[Any], Any]:
    if name == "get":
        return lambda c: c.get("run_1", timeout=5)
    return lambda c: c.listen("run_1", timeout=5)


@pytest.mark.parametrize("flavour", ["async", "sync"])
@pytest.mark.parametrize("scenario", list(YANDEX_SCENARIOS))
def test_a_yandex_server_echoing_the_key(
    scenario: str, flavour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("YC_API_KEY", "YC_IAM_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    act, call, expected = YANDEX_SCENARIOS[scenario]
    with Server(h2_every(act)) as server:

        def make() -> Any:
            cls = yandex.AsyncRuns if flavour == "async" else yandex.Runs
            return cls(endpoint=f"127.0.0.1:{server.port}", api_key=Y, retry=FAST)

        outcome = run_call(Y, flavour, make, _yandex_call(call))
    outcome.clean(expected)


@pytest.mark.parametrize("offset", range(1000 - len(Y) - 2, 1003))
def test_a_yandex_status_message_cut_anywhere_around_its_key(offset: int) -> None:
    act = trailers_only(3, "x" * offset + Y + " and more")
    with Server(h2_every(act)) as server:

        def make() -> Any:
            return yandex.AsyncRuns(endpoint=f"127.0.0.1:{server.port}", api_key=Y, retry=FAST)

        outcome = run_call(Y, "async", make, _yandex_call("get"))
    outcome.clean(ApiError)
    assert isinstance(outcome.error, ApiError)
    assert len(outcome.error.message) <= 1000


# --------------------------------------------------------------------------- the channels


def test_hpack_logs_an_echoed_status_message_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    """hpack logs every header it decodes at DEBUG: the echoed ``grpc-message`` went there in
    full. It is still logged, with the key redacted."""
    monkeypatch.delenv("YC_API_KEY", raising=False)
    with Server(h2_every(trailers_only(16, f"bad key {Y}"))) as server:

        def make() -> Any:
            return yandex.AsyncRuns(endpoint=f"127.0.0.1:{server.port}", api_key=Y, retry=FAST)

        outcome = run_call(Y, "async", make, _yandex_call("get"))
    outcome.clean(ApiError)
    logged = [
        t for w, t in outcome.evidence.texts if w.startswith("log hpack") and "grpc-message" in t
    ]
    assert logged
    assert all("bad key ***" in t for t in logged), logged


def test_httpx_logs_an_echoed_reason_phrase_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    answer = raw(f"200 {K}", a_run(), (JSON_TYPE,))

    async def respond(method: str, path: str, body: bytes) -> bytes:
        return answer

    with Server(http_answers(respond)) as server:

        def make() -> Any:
            return openai.AsyncRuns(base_url=f"http://127.0.0.1:{server.port}/v1", api_key=K)

        outcome = run_call(K, "async", make, _openai_call("get"))
    outcome.clean(None)
    logged = [t for w, t in outcome.evidence.texts if w in ("log httpx", "log httpcore.http11")]
    assert any('"HTTP/1.1 200 ***"' in t for t in logged), logged
    assert any("b'***'" in t for t in logged), logged  # httpcore's response head


def test_the_unknown_status_warning_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    answer = raw("200 OK", a_run(status=K, id=K))

    async def respond(method: str, path: str, body: bytes) -> bytes:
        return answer

    with Server(http_answers(respond)) as server:

        def make() -> Any:
            return openai.Runs(base_url=f"http://127.0.0.1:{server.port}/v1", api_key=K)

        outcome = run_call(K, "sync", make, _openai_call("wait"))
    outcome.clean(RunTimeoutError)
    shown = [t for w, t in outcome.evidence.texts if w == "warning"]
    assert shown == [
        "RuntimeWarning: run *** has status UNKNOWN('***'), which this version of "
        "runbind does not know; polling on until it finishes or the deadline passes"
    ]
    assert str(outcome.error).startswith("run *** is still UNKNOWN('***') after")
