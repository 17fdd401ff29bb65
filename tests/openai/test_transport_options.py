"""OpenAI transport options over real sockets: environment proxies (a forward proxy on loopback),
``trust_env``, ``default_headers`` and ``default_query`` on every request path (streams and
polling included), a base URL with a query (Azure's ``?api-version=``) and the ``api-key``
header, and the caller's own ``httpx.AsyncClient``."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from runbind import AuthenticationError, InvalidArgumentError, RunStatus
from runbind.emulator import Emulator
from runbind.openai import AsyncRuns, Runs
from tests import test_echoed_secrets as echoed
from tests._flavours import TIMEOUT, Connect, Flavour
from tests._misbehaving import Proxy, Server, _pipe, http_answers, tls_contexts
from tests.openai.conftest import make

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


class Recorder:
    """A handler that notes every HTTP/1.1 request it passes on (``seen``: the request line and
    the lower-case headers). As a forward proxy (``upstream`` None) it tunnels ``CONNECT`` and
    turns absolute-form requests into origin-form ones; with an ``upstream`` port it is a plain
    relay in front of that server."""

    def __init__(self, upstream: int | None = None) -> None:
        self._upstream = upstream
        self._lock = threading.Lock()
        self.seen: list[tuple[str, str, dict[str, str]]] = []

    def targets(self) -> list[str]:
        with self._lock:
            return [target for _, target, _ in self.seen]

    def _note(self, method: str, target: str, head: list[str]) -> dict[str, str]:
        headers = {}
        for line in head:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        with self._lock:
            self.seen.append((method, target, headers))
        return headers

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")[:-2]
        method, target, _ = head[0].split(" ", 2)
        self._note(method, target, head[1:])
        if method == "CONNECT":
            host, _, tunnel_port = target.rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host, int(tunnel_port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            answer = asyncio.create_task(_pipe(up_reader, writer))
            try:
                await _pipe(reader, up_writer)
                await answer
            finally:
                answer.cancel()
                up_writer.transport.abort()
            return
        upstream = self._upstream if self._upstream is not None else urlsplit(target).port
        assert upstream is not None
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
        answer = asyncio.create_task(_pipe(up_reader, writer))
        try:
            while True:
                origin = target
                if self._upstream is None:
                    parts = urlsplit(target)
                    origin = parts.path + (f"?{parts.query}" if parts.query else "")
                headers = {
                    k: v
                    for k, v in (line.partition(":")[::2] for line in head[1:])
                    if k.lower() != "proxy-connection"
                }
                length = int(
                    next((v for k, v in headers.items() if k.lower() == "content-length"), "0")
                )
                body = await reader.readexactly(length) if length else b""
                lines = [f"{method} {origin} HTTP/1.1", *(f"{k}:{v}" for k, v in headers.items())]
                up_writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
                await up_writer.drain()
                try:
                    raw = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                head = raw.decode("latin-1").split("\r\n")[:-2]
                method, target, _ = head[0].split(" ", 2)
                self._note(method, target, head[1:])
        finally:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(answer, 0.5)
            answer.cancel()
            up_writer.transport.abort()


def lifecycle(runs: Flavour, emu: Emulator, api_key: str | None = None) -> None:
    """Every request path of the client: create (plain and streamed), get, the last run, a
    listing, polling (listen, wait, a result's message), a streamed submit, a dropped stream
    followed by polling, and cancel."""
    assistant_id, thread_id = make(emu, api_key=api_key)
    run = runs.create(assistant_id, thread_id)
    assert runs.wait(run).text == "hello there world"
    assert runs.get(run).status is RunStatus.COMPLETED
    assert runs.get_last_by_thread(thread_id).id == run.id
    assert [r.id for r in runs.list(thread_id, page_size=1)] == [run.id]
    assert list(runs.listen(run))[-1].status_raw == "done"
    assert runs.get_result(run).text == "hello there world"
    assert list(runs.create_stream(assistant_id, thread_id))[-1].status_raw == "done"
    tools, thread_id = make(emu, "tools calls=1", api_key=api_key)
    stream = runs.create_stream(tools, thread_id)
    calls = [call for event in stream for call in event.tool_calls]
    assert stream.run is not None
    events = list(runs.submit_stream(stream.run, [c.result("+4 C") for c in calls]))
    assert events[-1].status_raw == "done"
    emu.faults.drop_stream(3, protocol="openai")  # the stream goes on by polling
    assert list(runs.create_stream(assistant_id, thread_id))[-1].status_raw == "done"
    slow, thread_id = make(emu, "slow seconds=5", api_key=api_key)
    assert runs.cancel(runs.create(slow, thread_id)).id


# --------------------------------------------------------------------------- proxies


def test_an_http_proxy_from_the_environment_sees_every_request(
    connect: Connect, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = Recorder()
    with Server(proxy) as server:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
        runs = connect(emulator)
        lifecycle(runs, emulator)
        runs.close()
    targets = proxy.targets()
    assert targets
    assert all(t.startswith(emulator.openai_base_url) for t in targets), targets
    assert any("/runs/" in t and t.endswith("/cancel") for t in targets)
    assert any(t.endswith("/submit_tool_outputs") for t in targets)


def test_an_https_proxy_from_the_environment_tunnels_the_connection(
    connect: Connect, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_tls, client_tls = tls_contexts()
    proxy = Recorder()
    with Server(Proxy(emulator.http_port), tls=server_tls) as front, Server(proxy) as server:
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{server.port}")
        runs = connect(emulator, base_url=f"https://127.0.0.1:{front.port}/v1", verify=client_tls)
        run = runs.create(*make(emulator))
        assert runs.wait(run).text == "hello there world"
        runs.close()
    assert proxy.targets()
    assert set(proxy.targets()) == {f"127.0.0.1:{front.port}"}  # CONNECT: the rest is TLS


def test_trust_env_false_ignores_the_proxy_variables(
    connect: Connect, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = Recorder()
    seeded = make(emulator)  # before the variables: the test's own httpx would use them
    with Server(proxy) as server:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{server.port}")
        monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{server.port}")
        runs = connect(emulator, trust_env=False)
        run = runs.create(*seeded)
        assert runs.wait(run).text == "hello there world"
        assert list(runs.listen(run))[-1].status_raw == "done"
        runs.close()
        assert server.accepted == 0
    assert proxy.seen == []


def test_no_proxy_is_honoured(
    connect: Connect, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = Recorder()
    seeded = make(emulator)
    with Server(proxy) as server:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        runs = connect(emulator)
        assert runs.create(*seeded).id
        runs.close()
    assert proxy.seen == []


# --------------------------------------------------------------------------- Azure style


@pytest.fixture(scope="module")
def keyed() -> Iterator[Emulator]:
    """An emulator that wants a key ("azure-key"): as a bearer token or in ``api-key``."""
    emu = Emulator(api_key="azure-key").start_in_thread()
    try:
        yield emu
    finally:
        emu.stop_thread()


def test_an_azure_style_endpoint_keeps_its_query_and_key_header_on_every_call(
    connect: Connect, keyed: Emulator
) -> None:
    relay = Recorder(upstream=keyed.http_port)
    with Server(relay) as server:
        base = f"http://127.0.0.1:{server.port}/v1?api-version=2024-05-01-preview"
        runs = connect(
            keyed,
            base_url=base,
            default_headers={"api-key": "azure-key", "x-ms-client": "runbind-test"},
            default_query={"deployment": "gpt"},
        )
        lifecycle(runs, keyed, api_key="azure-key")
        runs.close()
    assert len(relay.seen) > 15
    for method, target, headers in relay.seen:
        where = urlsplit(target)
        assert where.path.startswith("/v1/"), target  # never /v1?api-version=.../threads
        query = parse_qs(where.query)
        assert query["api-version"] == ["2024-05-01-preview"], (method, target)
        assert query["deployment"] == ["gpt"], (method, target)
        assert headers["api-key"] == "azure-key"
        assert headers["x-ms-client"] == "runbind-test"
        assert "authorization" not in headers


def test_a_base_url_query_merges_with_a_calls_own_query(emulator: Emulator) -> None:
    relay = Recorder(upstream=emulator.http_port)
    assistant_id, thread_id = make(emulator)
    with (
        Server(relay) as server,
        Runs(base_url=f"http://127.0.0.1:{server.port}/v1/?api-version=1&order=asc") as runs,
    ):
        run = runs.create(assistant_id, thread_id, timeout=TIMEOUT)
        assert [r.id for r in runs.list(thread_id, page_size=5, timeout=TIMEOUT)] == [run.id]
    listing = next(t for m, t, _ in relay.seen if m == "GET")
    query = parse_qs(urlsplit(listing).query)
    assert query == {"api-version": ["1"], "order": ["desc"], "limit": ["5"]}  # the call's wins


def test_a_wrong_key_in_a_header_is_refused_and_never_shown(keyed: Emulator) -> None:
    secret = "wrong-azure-key-0123456789"
    with Runs(base_url=keyed.openai_base_url, default_headers={"api-key": secret}) as runs:
        assert secret not in repr(runs)
        assert "auth=api-key" in repr(runs)
        with pytest.raises(AuthenticationError) as caught:
            runs.get("run_x", thread_id="thread_x", timeout=TIMEOUT)
        assert caught.value.status_code == 401
        assert secret not in str(caught.value)


def test_a_key_in_a_header_replaces_the_environment_key(
    keyed: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-for-azure")
    relay = Recorder(upstream=keyed.http_port)
    with (
        Server(relay) as server,
        Runs(
            base_url=f"http://127.0.0.1:{server.port}/v1", default_headers={"api-key": "azure-key"}
        ) as runs,
    ):
        runs.create(*make(keyed, api_key="azure-key"), timeout=TIMEOUT)
    assert all("authorization" not in headers for _, _, headers in relay.seen)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"default_headers": {"Accept-Encoding": "br"}}, "runbind sets Accept-Encoding"),
        ({"default_headers": {"Idempotency-Key": "k"}}, "runbind sets Idempotency-Key"),
        ({"default_headers": {"bad name": "v"}}, "not a header name"),
        ({"default_headers": {"x-a": "one\r\ntwo"}}, "single-line"),
        ({"default_headers": {"x-a": 1}}, "single-line"),
        ({"default_headers": {"x-a": "1", "X-A": "2"}}, "given twice"),
        ({"default_headers": {"api-key": "a"}, "api_key": "b"}, "not both"),
        ({"default_headers": {"api-key": "a", "Authorization": "Bearer b"}}, "one credential"),
        ({"default_query": {"a": 1}}, "default_query"),
        ({"http_client": httpx.Client()}, "httpx.AsyncClient"),
        ({"http_client": httpx.AsyncClient(), "verify": False}, "set it on http_client"),
    ],
)
def test_transport_options_are_checked(
    emulator: Emulator, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        AsyncRuns(base_url=emulator.openai_base_url, **options)


def test_default_headers_may_replace_the_beta_flag(emulator: Emulator) -> None:
    relay = Recorder(upstream=emulator.http_port)
    with (
        Server(relay) as server,
        Runs(
            base_url=f"http://127.0.0.1:{server.port}/v1", default_headers={"openai-beta": "x=1"}
        ) as runs,
    ):
        runs.create(*make(emulator), timeout=TIMEOUT)
    ((_, _, headers),) = relay.seen
    assert headers["openai-beta"] == "x=1"


# --------------------------------------------------------------------------- own httpx client


def test_your_own_http_client_is_used_and_left_open(connect: Connect, emulator: Emulator) -> None:
    proxy = Recorder()
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(str(request.url))

    with Server(proxy) as server:
        own = httpx.AsyncClient(
            proxy=f"http://127.0.0.1:{server.port}",
            event_hooks={"request": [hook]},
            limits=httpx.Limits(max_connections=4),
            follow_redirects=True,  # runbind reports redirects all the same
        )
        runs = connect(emulator, http_client=own, trust_env=False)
        run = runs.create(*make(emulator))
        assert runs.wait(run).text == "hello there world"
        stream = list(runs.listen(run))
        assert stream[-1].status_raw == "done"
        runs.close()
        assert not own.is_closed  # runbind did not make it, so it does not close it
        run = runs.create(*make(emulator))  # and goes on using it after close()
        runs.close()
    assert seen
    assert proxy.targets() == seen


# --------------------------------------------------------------------------- echoed secrets


@pytest.mark.parametrize("scenario", list(echoed.OPENAI_SCENARIOS))
def test_a_key_given_as_a_header_is_never_shown_when_echoed(
    scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scenarios of ``tests/test_echoed_secrets.py``, the key given as Azure's ``api-key``
    header instead of ``api_key``: no piece of it in errors, logs or warnings either."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    answer, call, expected = echoed.OPENAI_SCENARIOS[scenario]

    async def respond(method: str, path: str, body: bytes) -> bytes:
        return answer

    with Server(http_answers(respond)) as server:

        def make() -> Any:
            return AsyncRuns(
                base_url=f"http://127.0.0.1:{server.port}/v1?api-version=1",
                default_headers={"api-key": echoed.OPENAI_KEY},
                retry=echoed.FAST,
            )

        outcome = echoed.run_call(echoed.OPENAI_KEY, "async", make, echoed._openai_call(call))
    outcome.clean(expected)
