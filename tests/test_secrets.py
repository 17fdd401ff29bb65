"""No credential (API key, IAM token) shows up in logs, errors, tracebacks, reprs or warnings."""

from __future__ import annotations

import asyncio
import inspect
import logging
import pickle
import socket
import ssl
import threading
import traceback
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import httpx
import pytest
from grpclib.client import Channel
from grpclib.exceptions import GRPCError
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs as yandex_runs

from runbind import (
    ApiError,
    AuthenticationError,
    DecodeError,
    InvalidArgumentError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    Run,
    RunFailedError,
    RunStatus,
    RunTimeoutError,
    ServerError,
    UnsupportedOperationError,
    _cli,
    openai,
    yandex,
)
from runbind._core.credentials import Secret, from_env
from runbind._core.retry import Transient
from runbind.emulator import Emulator
from runbind.openai._transport import check_response

_T = TypeVar("_T")

YC_KEY = "YC-KEY-CANARY-7f3a"
YC_IAM = "YC-IAM-CANARY-91bc"
OPENAI_KEY = "sk-OPENAI-CANARY-42d9"
WRONG_KEY = "sk-WRONG-CANARY-0e0e"
NEEDLES = (
    *(YC_KEY, YC_IAM, OPENAI_KEY, WRONG_KEY),
    *("CANARY-7f3a", "CANARY-91bc", "CANARY-42d9"),  # distinctive tails
    *("YC-KEY-", "YC-IAM-", "sk-OPENAI", "sk-WRONG"),  # distinctive heads
)
"""What must never show: the canaries, their tails and heads, and (checked last, as the
catch-all for a partial leak) the word every canary shares."""
CATCH_ALL = "CANARY"

ENV_NAMES = ("YC_API_KEY", "YC_IAM_TOKEN", "OPENAI_API_KEY")
LOGGERS = (
    None,  # the root logger
    "runbind",
    "runbind.yandex",
    "runbind.openai",
    "httpx",
    "httpcore",
    "grpclib",
    "h2",
    "hpack",
    "asyncio",
)
EMULATOR_THREAD = "runbind-emulator"

TIMEOUT = 10.0
POLL = 0.02
SHORT = 0.25  # seconds: the timeout of calls meant to time out
A_RESULT: Any = {"name": "f", "content": "x", "tool_call_id": "call_1"}
FAST = RetryPolicy(attempts=2, initial=0.01, maximum=0.02)

Provider = Literal["yandex", "openai"]


# --------------------------------------------------------------------------- evidence


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception reachable through ``__cause__`` / ``__context__``."""
    found: list[BaseException] = []
    todo = [exc]
    while todo:
        current = todo.pop()
        if any(current is seen for seen in found):
            continue
        found.append(current)
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return found


class Evidence:
    """Every text a user or a log could see; :meth:`leaks` finds the canaries in it."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []
        self.loggers: set[str] = set()

    def text(self, where: str, value: str) -> None:
        self.texts.append((where, value))

    def add(self, obj: object, where: str = "") -> None:
        """The repr/str (and ``vars()``) of ``obj``, of its parts, of the runs it carries."""
        if isinstance(obj, BaseException):
            self.error(obj, where)
            return
        if isinstance(obj, list | tuple):
            for index, item in enumerate(obj):
                self.add(item, f"{where}[{index}]")
        self.text(f"{where} repr", repr(obj))
        self.text(f"{where} str", str(obj))
        attributes = getattr(obj, "__dict__", None)
        if isinstance(attributes, dict):
            self.text(f"{where} vars", repr(attributes))
        for name in ("run", "last_event", "last_run", "raw", "next_page_token", "runs"):
            value = getattr(obj, name, None)
            if value is not None and not isinstance(obj, list | tuple):
                self.text(f"{where}.{name} repr", repr(value))

    def error(self, exc: BaseException, where: str = "") -> None:
        """str/repr/args of ``exc`` and its whole chain, and the formatted tracebacks."""
        self.text(f"{where} traceback", "".join(traceback.format_exception(exc)))
        for index, link in enumerate(_chain(exc)):
            here = f"{where} chain[{index}] {type(link).__name__}"
            self.text(f"{here} str", str(link))
            self.text(f"{here} repr", repr(link))
            self.text(f"{here} args", repr(link.args))
            self.text(f"{here} traceback", "".join(traceback.format_exception(link)))
            if isinstance(link, RunTimeoutError):
                self.add(link.last_run, f"{here}.last_run")
            if isinstance(link, ApiError):
                self.text(f"{here}.message", f"{link.code} {link.message}")
                # Every field (headers, request id, the error body's type/param/code), and the
                # pickle an error tracker or another process would get.
                self.text(f"{here} fields", repr(vars(link)))
                self.text(f"{here} pickle", repr(pickle.dumps(link)))
            if isinstance(link, Transient):
                self.text(f"{here}.error", repr(link.error))

    def record(self, record: logging.LogRecord) -> None:
        """A log record, formatted fully (args, exc_info, stack), with its args and extras."""
        self.loggers.add(record.name)
        text = "\n".join(
            (logging.Formatter().format(record), repr(record.args), repr(vars(record)))
        )
        self.text(f"log {record.threadName} {record.name}", text)

    def leaks(self) -> list[str]:
        """``where: …snippet…`` for every text holding a canary (or a piece of one)."""
        found = []
        for where, text in self.texts:
            for needle in (*NEEDLES, CATCH_ALL):
                at = text.find(needle)
                if at >= 0:
                    found.append(f"{where}: …{text[max(0, at - 80) : at + 40]!r}…")
                    break
        return found

    def assert_clean(self) -> None:
        leaks = self.leaks()
        assert not leaks, "credential leaked:\n" + "\n".join(leaks)


@contextmanager
def captured(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> Iterator[Evidence]:
    """Evidence of the block: DEBUG records of every logger (client threads), warnings and
    output are added on exit; the block adds its objects and errors itself."""
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    caplog.clear()
    capfd.readouterr()
    evidence = Evidence()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield evidence
    for record in caplog.records:
        # The emulator is the server: it is given the key and its hpack decoder logs it.
        if record.threadName != EMULATOR_THREAD:
            evidence.record(record)
    for item in caught:
        evidence.text(
            "warning",
            warnings.formatwarning(
                item.message, item.category, item.filename, item.lineno, item.line
            ),
        )
    out, err = capfd.readouterr()
    evidence.text("stdout", out)
    evidence.text("stderr", err)


# --------------------------------------------------------------------------- clients


async def _step(source: AsyncIterator[_T]) -> tuple[bool, _T | None]:
    try:
        return True, await anext(source)
    except StopAsyncIteration:
        return False, None


class Driver:
    """One client of either flavour: blocking calls whose results and errors become evidence."""

    def __init__(self, client: Any, runner: asyncio.Runner | None, evidence: Evidence) -> None:
        self.client = client
        self.runner = runner
        self.evidence = evidence
        evidence.add(client, "client")

    def _run(self, result: Any) -> Any:
        if inspect.isawaitable(result):
            assert self.runner is not None
            return self.runner.run(result)  # type: ignore[arg-type]
        return result

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", TIMEOUT)
        result = self._run(getattr(self.client, name)(*args, **kwargs))
        self.evidence.add(result, name)
        return result

    def fails(self, error: type[Exception], name: str, *args: Any, **kwargs: Any) -> Any:
        """The ``error`` ``name(*args, **kwargs)`` raises (after recording it)."""
        try:
            self(name, *args, **kwargs)
        except error as exc:
            self.evidence.add(exc, name)
            return exc
        raise AssertionError(f"{name} did not raise {error.__name__}")

    def drain(self, source: Any, error: type[Exception] | None = None) -> list[Any]:
        """Every item of a stream, listing or pages iterator (and its error, if expected)."""
        items: list[Any] = []
        failure: Exception | None = None
        try:
            if hasattr(source, "__anext__"):
                assert self.runner is not None
                while True:
                    more, item = self.runner.run(_step(source))
                    if not more:
                        break
                    items.append(item)
            else:
                items.extend(source)
        except Exception as exc:
            failure = exc
            self.evidence.add(exc, "drain")
        self.evidence.add(items, "items")
        self.evidence.add(source, "source")
        if error is None and failure is not None:
            raise failure
        if error is not None and not isinstance(failure, error):
            raise AssertionError(f"expected {error.__name__}, got {failure!r}")
        return items

    def close(self) -> None:
        self._run(self.client.close())
        self.evidence.add(self.client, "closed client")


@dataclass(frozen=True)
class Cred:
    """A credential: its provider, constructor keyword, canary value and environment variable."""

    provider: Provider
    kind: Literal["api_key", "iam_token"]
    value: str
    env: str


CREDS = {
    "yandex-key": Cred("yandex", "api_key", YC_KEY, "YC_API_KEY"),
    "yandex-iam": Cred("yandex", "iam_token", YC_IAM, "YC_IAM_TOKEN"),
    "openai-key": Cred("openai", "api_key", OPENAI_KEY, "OPENAI_API_KEY"),
}


def _set_env(monkeypatch: pytest.MonkeyPatch, cred: Cred, source: str) -> None:
    """Every canary in the environment (clients must not leak the ones they ignore either),
    except the tested one when it comes by argument, and YC_API_KEY for an IAM token from the
    environment (it would win)."""
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("YC_FOLDER_ID", raising=False)
    for cred_ in CREDS.values():
        monkeypatch.setenv(cred_.env, cred_.value)
    if source == "arg":
        monkeypatch.delenv(cred.env)
    elif cred.kind == "iam_token":
        monkeypatch.delenv("YC_API_KEY")


class Case:
    """One credential, one way to pass it, one client flavour; opens drivers and captures."""

    def __init__(
        self,
        cred: Cred,
        source: str,
        flavour: str,
        runner: asyncio.Runner,
        servers: dict[str, Emulator],
        caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str],
    ) -> None:
        self.cred = cred
        self.provider = cred.provider
        self.source = source
        self.flavour = flavour
        self.runner = runner
        self.servers = servers
        self.emu = servers[cred.value]
        self.caplog = caplog
        self.capfd = capfd
        self.evidence = Evidence()
        self.drivers: list[Driver] = []

    def seed(self, behaviour: str = "echo chunks=3") -> tuple[str, str]:
        """An assistant and a thread on the right key's emulator (made before any capture)."""
        return self.emu.seed(self.provider, behaviour=behaviour)

    def target(self, emu: Emulator) -> dict[str, str]:
        if self.provider == "yandex":
            return {"endpoint": emu.grpc_target}
        return {"base_url": emu.openai_base_url}

    def open(self, emu: Emulator | None = None, **options: Any) -> Driver:
        """A client of ``emu`` (the right key's emulator by default) with the credential."""
        kwargs: dict[str, Any] = {**self.target(emu or self.emu), **options}
        if self.source == "arg":
            kwargs[self.cred.kind] = self.cred.value
        module: Any = yandex if self.provider == "yandex" else openai
        if self.flavour == "async":
            driver = Driver(module.AsyncRuns(**kwargs), self.runner, self.evidence)
        else:
            driver = Driver(module.Runs(**kwargs), None, self.evidence)
        self.drivers.append(driver)
        return driver

    def ids(self, thread_id: str) -> dict[str, str]:
        """What an OpenAI run id needs beside it."""
        return {"thread_id": thread_id} if self.provider == "openai" else {}

    def listing(self, driver: Driver, thread_id: str, **options: Any) -> Any:
        if self.provider == "yandex":
            return driver("list", folder_id="emulator", **options)
        return driver("list", thread_id, **options)

    @contextmanager
    def capture(self) -> Iterator[Evidence]:
        """Capture the block (drivers are closed inside it); then assert nothing leaked."""
        with captured(self.caplog, self.capfd) as evidence:
            self.evidence = evidence
            yield evidence
            for driver in self.drivers:
                driver.close()
            self.drivers.clear()
        evidence.assert_clean()

    def close(self) -> None:
        for driver in self.drivers:
            driver.close()


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Emulator]]:
    """One emulator per canary (requiring exactly it) and one requiring ``"right"``."""
    emus = {key: Emulator(api_key=key) for key in (YC_KEY, YC_IAM, OPENAI_KEY, "right")}
    for emu in emus.values():
        emu.start_in_thread()
    try:
        yield emus
    finally:
        for emu in emus.values():
            emu.stop_thread()


_CASES = [
    pytest.param((cred, source, flavour), id=f"{name}-{source}-{flavour}")
    for name, cred in CREDS.items()
    for source in ("arg", "env")
    for flavour in ("async", "sync")
]


@pytest.fixture(params=_CASES)
def case(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    servers: dict[str, Emulator],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> Iterator[Case]:
    cred, source, flavour = request.param
    _set_env(monkeypatch, cred, source)
    with asyncio.Runner() as runner:
        made = Case(cred, source, flavour, runner, servers, caplog, capfd)
        try:
            yield made
        finally:
            made.close()
            for emu in servers.values():
                emu.faults.clear()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- the checker


def test_the_checker_finds_a_planted_leak(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """Each channel the tests watch does report a canary put there on purpose."""
    with captured(caplog, capfd) as evidence:
        thread = threading.Thread(
            target=logging.getLogger("httpcore.x").debug, args=("sent %s", {"k": OPENAI_KEY})
        )
        thread.start()
        thread.join()
        warnings.warn(f"token {YC_IAM[:-3]}", UserWarning, stacklevel=1)
        try:
            try:
                raise OSError(YC_KEY)
            except OSError:
                raise ApiError("yandex", "UNAVAILABLE", "connection failed") from None
        except ApiError as exc:
            evidence.add(exc)
        evidence.add([Secret("x"), f"key {OPENAI_KEY[:16]}"])
    leaks = "\n".join(evidence.leaks())
    assert "log Thread" in leaks  # a DEBUG record's argument, logged on another thread
    assert "warning" in leaks  # a truncated token caught by the catch-all
    assert "chain[1] OSError" in leaks  # the suppressed __context__ of an error
    assert "[1] repr" in leaks  # a prefix of the key inside a list
    assert "[0] repr" not in leaks  # the Secret itself shows nothing


def test_secret_never_shows_itself(caplog: pytest.LogCaptureFixture) -> None:
    secret = from_env(f"  {OPENAI_KEY} ")
    assert secret is not None
    assert secret.reveal() == OPENAI_KEY
    shown = [repr(secret), str(secret), f"{secret}", f"{secret!r}", "%s %r" % (secret, secret)]  # noqa: UP031
    shown += [repr([secret]), repr({"k": secret}), format(secret, "")]
    caplog.set_level(logging.DEBUG)
    logging.getLogger("runbind").debug("%s %r", secret, secret)
    shown.append(caplog.text)
    assert not [s for s in shown if CATCH_ALL in s]
    assert all("***" in s for s in shown)
    assert not hasattr(secret, "__dict__")
    with pytest.raises(TypeError):
        vars(secret)


# --------------------------------------------------------------------------- constructors


@pytest.mark.parametrize("flavour", ["async", "sync"])
@pytest.mark.parametrize("source", ["arg", "env"])
@pytest.mark.parametrize("name", list(CREDS))
@pytest.mark.parametrize("bad", ["\n", "\r", "\r\nX-Injected: 1"])
def test_a_multiline_credential_is_refused_without_echo(
    name: str,
    source: str,
    flavour: str,
    bad: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    cred = CREDS[name]
    for env in ENV_NAMES:
        monkeypatch.delenv(env, raising=False)
    value = f"{cred.value}{bad}{cred.value}"
    kwargs: dict[str, Any] = {}
    if source == "arg":
        kwargs[cred.kind] = value
    else:
        monkeypatch.setenv(cred.env, value)
    module: Any = yandex if cred.provider == "yandex" else openai
    cls = module.AsyncRuns if flavour == "async" else module.Runs
    with captured(caplog, capfd) as evidence:
        with pytest.raises(InvalidArgumentError, match="single-line") as info:
            cls(**kwargs)
        evidence.add(info.value)
    evidence.assert_clean()


@pytest.mark.parametrize("flavour", ["async", "sync"])
def test_both_yandex_credentials_are_refused_without_echo(
    flavour: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    for env in ENV_NAMES:
        monkeypatch.setenv(env, "env-CANARY-env")
    cls: Any = yandex.AsyncRuns if flavour == "async" else yandex.Runs
    with captured(caplog, capfd) as evidence:
        with pytest.raises(InvalidArgumentError, match="not both") as info:
            cls(api_key=YC_KEY, iam_token=YC_IAM)
        evidence.add(info.value)
        # Both in the environment: the key wins, quietly.
        evidence.add(cls(endpoint="127.0.0.1:1"))
        with pytest.raises(InvalidArgumentError, match="endpoint") as info:
            cls(endpoint="no-port", api_key=YC_KEY)
        evidence.add(info.value)
    evidence.assert_clean()
    assert "auth=api-key" in repr(cls(endpoint="127.0.0.1:1"))


@pytest.mark.parametrize("flavour", ["async", "sync"])
@pytest.mark.parametrize("url", ["http://u:{key}@example.com/v1", "https://:{key}@127.0.0.1/v1"])
def test_a_base_url_with_credentials_is_refused_without_echo(
    flavour: str,
    url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    cls: Any = openai.AsyncRuns if flavour == "async" else openai.Runs
    with captured(caplog, capfd) as evidence:
        with pytest.raises(InvalidArgumentError, match="credentials") as info:
            cls(base_url=url.format(key=OPENAI_KEY))
        evidence.add(info.value)
    evidence.assert_clean()


@pytest.mark.parametrize("url", ["ftp://u:{key}@example.com/v1", "http://u:{key}@/v1"])
def test_a_malformed_base_url_with_credentials_is_refused_without_echo(url: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        openai.AsyncRuns(base_url=url.format(key=OPENAI_KEY))
    assert CATCH_ALL not in str(info.value)


# --------------------------------------------------------------------------- TLS defaults


def _runbind_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name.startswith("runbind") and r.levelno >= logging.WARNING
    ]


@pytest.mark.parametrize("endpoint", [None, "10.1.2.3:443", "[2001:db8::1]:443", "a.example:1"])
def test_yandex_tls_is_on_off_loopback(
    endpoint: str | None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("YC_API_KEY", raising=False)
    caplog.set_level(logging.DEBUG)
    options: dict[str, Any] = {} if endpoint is None else {"endpoint": endpoint}
    client = yandex.AsyncRuns(api_key=YC_KEY, **options)
    assert client._tls is True
    assert yandex.Runs(api_key=YC_KEY, **options)._async._tls is True

    async def channel_context() -> Any:
        client._service()  # builds the channel; nothing connects before a call
        assert client._connection.value is not None
        context = client._connection.value[0]._ssl
        await client.close()
        return context

    context = asyncio.run(channel_context())
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert not _runbind_warnings(caplog)
    assert CATCH_ALL not in caplog.text


@pytest.mark.parametrize("flavour", ["async", "sync"])
@pytest.mark.parametrize("host", ["assistant.example.com", "10.1.2.3", "[2001:db8::1]"])
def test_yandex_tls_off_elsewhere_than_loopback_warns(
    flavour: str, host: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cls: Any = yandex.AsyncRuns if flavour == "async" else yandex.Runs
    cls(endpoint=f"{host}:443", api_key=YC_KEY, tls=False)
    (record,) = _runbind_warnings(caplog)
    assert record.levelno == logging.WARNING
    assert "TLS is off" in record.getMessage()
    assert host.strip("[]") in record.getMessage()
    assert CATCH_ALL not in caplog.text


@pytest.mark.parametrize("tls", [None, False])
@pytest.mark.parametrize("endpoint", ["127.0.0.1:1", "localhost:1", "[::1]:1", "127.9.9.9:1"])
def test_yandex_loopback_needs_no_tls_and_no_warning(
    endpoint: str, tls: bool | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert yandex.AsyncRuns(endpoint=endpoint, api_key=YC_KEY, tls=tls)._tls is False
    assert not _runbind_warnings(caplog)


def test_openai_verifies_tls_by_default(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    caplog.set_level(logging.DEBUG)
    client = openai.AsyncRuns(api_key=OPENAI_KEY)
    assert client.base_url.startswith("https://")
    assert client._http._verify is True

    async def pool_context() -> Any:
        http = client._http.client()  # builds the connection pool; nothing connects yet
        context = http._transport._pool._ssl_context  # type: ignore[attr-defined]
        await client.close()
        return context

    context = asyncio.run(pool_context())
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert not _runbind_warnings(caplog)


@pytest.mark.parametrize("flavour", ["async", "sync"])
@pytest.mark.parametrize(
    ("url", "verify", "expected"),
    [
        ("http://example.com/v1", True, "plain HTTP"),
        ("http://10.1.2.3:8080/v1", True, "plain HTTP"),
        ("https://example.com/v1", False, "verification is off"),
        ("https://[2001:db8::1]/v1", False, "verification is off"),
    ],
)
def test_openai_insecure_transport_elsewhere_than_loopback_warns(
    flavour: str, url: str, verify: bool, expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cls: Any = openai.AsyncRuns if flavour == "async" else openai.Runs
    cls(base_url=url, api_key=OPENAI_KEY, verify=verify)
    (record,) = _runbind_warnings(caplog)
    assert expected in record.getMessage()
    assert CATCH_ALL not in caplog.text


def test_openai_plain_http_from_the_environment_warns(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://example.com/v1")
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    caplog.set_level(logging.DEBUG)
    openai.Runs()
    (record,) = _runbind_warnings(caplog)
    assert "plain HTTP" in record.getMessage()
    assert CATCH_ALL not in caplog.text


@pytest.mark.parametrize("verify", [True, False])
@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:1/v1", "http://localhost:1/v1", "http://[::1]:1/v1"]
)
def test_openai_loopback_gets_no_warning(
    url: str, verify: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    openai.AsyncRuns(base_url=url, api_key=OPENAI_KEY, verify=verify)
    assert not _runbind_warnings(caplog)


# --------------------------------------------------------------------------- the emulator


def test_the_emulator_refusals_do_not_echo_keys(servers: dict[str, Emulator]) -> None:
    emu = servers[OPENAI_KEY]
    for sent in (f"Bearer {WRONG_KEY}", WRONG_KEY, f"Basic {OPENAI_KEY}x", None):
        headers = {} if sent is None else {"Authorization": sent}
        response = httpx.get(f"{emu.openai_base_url}/threads/t/runs", headers=headers)
        assert response.status_code == 401
        shown = response.text + repr(response.headers.multi_items())
        assert CATCH_ALL not in shown, shown
        assert "incorrect API key" in response.json()["error"]["message"]

    async def refused(metadata: dict[str, str]) -> GRPCError:
        emu = servers[YC_KEY]
        channel = Channel(emu.host, emu.grpc_port)
        try:
            stub = yandex_runs.RunServiceStub(channel)
            with pytest.raises(GRPCError) as info:
                await stub.get(yandex_runs.GetRunRequest(run_id="r"), metadata=metadata)
            return info.value
        finally:
            channel.close()

    for metadata in ({"authorization": f"Api-Key {WRONG_KEY}"}, {}):
        error = asyncio.run(refused(metadata))
        assert error.status.name == "UNAUTHENTICATED"
        shown = f"{error} {error!r} {error.message} {error.details!r}"
        assert CATCH_ALL not in shown, shown


def test_the_emulator_and_its_command_bind_loopback_by_default() -> None:
    assert Emulator().host == "127.0.0.1"
    assert _cli._parser().parse_args(["emulator"]).host == "127.0.0.1"


@pytest.mark.parametrize("api_key", [None, OPENAI_KEY])
def test_the_emulator_warns_before_it_binds_beyond_loopback(
    api_key: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    # 192.0.2.1 (TEST-NET-1) is on no interface here: the bind fails, so nothing is ever
    # reachable from outside, but the warning must already have been given by then.
    caplog.set_level(logging.DEBUG)
    emulator = Emulator(host="192.0.2.1", api_key=api_key)
    with pytest.raises(OSError, match="assign"):
        asyncio.run(emulator.start())
    (record,) = _runbind_warnings(caplog)
    assert record.levelno == logging.WARNING
    assert "192.0.2.1" in record.getMessage()
    assert "reachable from other machines" in record.getMessage()
    assert ("without an API key" in record.getMessage()) is (api_key is None)
    assert CATCH_ALL not in caplog.text


def test_the_emulator_on_loopback_gives_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with Emulator():
        pass
    assert not _runbind_warnings(caplog)


# --------------------------------------------------------------------------- through the clients


def test_success_path_leaks_nothing(case: Case) -> None:
    assistant, thread = case.seed()
    tools_assistant, tools_thread = case.seed("tools calls=2")
    slow_assistant, slow_thread = case.seed("slow seconds=5")
    with case.capture() as evidence:
        runs = case.open()
        run = runs("create", assistant, thread)
        assert runs("wait", run, poll_interval=POLL).text
        runs("get", run)
        assert runs("get_status", run) is RunStatus.COMPLETED
        assert runs("get_result", run).text
        assert runs("get_last_by_thread", thread).id == run.id
        events = runs.drain(runs("create", assistant, thread, stream=True))
        assert events
        assert events[-1].is_finished or events[-1].status_raw == "done"
        runs.drain(case.listing(runs, thread, page_size=1))
        runs.drain(case.listing(runs, thread, page_size=1).pages())
        runs.drain(runs("listen", run))
        stream = runs("create", tools_assistant, tools_thread, stream=True)
        events = runs.drain(stream)
        calls = (stream.run.tool_calls if stream.run else ()) or events[-1].tool_calls
        assert len(calls) == 2
        results = [call.result("42") for call in calls]
        answer = runs.drain(runs("submit_tool_results", stream.run, results, stream=True))
        assert answer
        slow = runs("create", slow_assistant, slow_thread)
        if case.provider == "yandex":
            runs.fails(UnsupportedOperationError, "cancel", slow)
        else:
            runs("cancel", slow)
    # The capture did see the transports' DEBUG records (so a leak there would have shown).
    wanted = {"hpack.hpack"} if case.provider == "yandex" else {"httpcore.http11", "httpx"}
    assert wanted <= evidence.loggers


def test_a_wrong_key_is_refused_and_leaks_nothing(case: Case) -> None:
    with case.capture():
        runs = case.open(case.servers["right"])
        refused = ApiError
        ids = case.ids("thread_1")
        error = runs.fails(refused, "get", "run_1", **ids)
        assert isinstance(error, AuthenticationError)
        assert (error.grpc_status or error.status_code) in ("UNAUTHENTICATED", 401)
        runs.fails(refused, "get_status", "run_1", **ids)
        runs.fails(refused, "get_result", "run_1", **ids)
        runs.fails(refused, "get_last_by_thread", "thread_1")
        runs.fails(refused, "wait", "run_1", poll_interval=POLL, **ids)
        runs.fails(refused, "create", "asst_1", "thread_1")
        runs.fails(refused, "create", "asst_1", "thread_1", idempotency_key="k")
        runs.fails(refused, "submit_tool_results", "run_1", [A_RESULT], **ids)
        runs.drain(case.listing(runs, "thread_1"), refused)
        runs.drain(runs("listen", "run_1", **ids), refused)
        if case.provider == "openai":
            runs.drain(runs("create", "asst_1", "thread_1", stream=True), refused)
            runs.fails(refused, "cancel", "run_1", **ids)
        else:
            runs.fails(refused, "create", "asst_1", "thread_1", stream=True)


def test_not_found_and_rejected_calls_leak_nothing(case: Case) -> None:
    assistant, thread = case.seed()
    failing_assistant, failing_thread = case.seed("fail")
    with case.capture():
        runs = case.open()
        run = runs("create", assistant, thread)
        runs("wait", run, poll_interval=POLL)
        ids = case.ids(thread)
        missing = runs.fails(ApiError, "get", "run_missing", **ids)
        assert isinstance(missing, NotFoundError)
        assert (missing.grpc_status or missing.status_code) in ("NOT_FOUND", 404)
        runs.fails(ApiError, "get_last_by_thread", "thread_missing")
        runs.fails(ApiError, "create", "asst_missing", thread)
        runs.drain(runs("listen", "run_missing", **ids), ApiError)
        # a submit to a run that asks for nothing is refused by the server
        runs.fails(ApiError, "submit_tool_results", run, [A_RESULT])
        failed = runs("create", failing_assistant, failing_thread)
        result = runs("wait", failed, poll_interval=POLL)
        with pytest.raises(RunFailedError) as info:
            _ = result.text
        runs.evidence.add(info.value)


def test_invalid_arguments_leak_nothing(case: Case) -> None:
    assistant, thread = case.seed()
    with case.capture():
        runs = case.open()
        run = runs("create", assistant, thread)
        bad = InvalidArgumentError
        runs.fails(bad, "get", "", **case.ids(thread))
        runs.fails(bad, "get", 42, **case.ids(thread))
        runs.fails(bad, "get_last_by_thread", "")
        runs.fails(bad, "wait", run, poll_interval=0)
        runs.fails(bad, "listen", run, events_start_idx=-1)
        runs.fails(bad, "create", assistant, thread, idempotency_key="")
        if case.provider == "yandex":
            runs.fails(bad, "list", folder_id="emulator", page_size=0)
            runs.fails(bad, "submit_tool_results", run, [], stream=True)
        else:
            runs.fails(bad, "list", thread, page_size=101)
            runs.fails(bad, "get", run.id)  # an OpenAI run id needs its thread id
        runs.fails(ValueError, "get", run, timeout=0)


def test_timeouts_leak_nothing(case: Case) -> None:
    assistant, thread = case.seed("slow seconds=5")
    with case.capture():
        runs = case.open()
        run = runs("create", assistant, thread)
        error = runs.fails(RunTimeoutError, "wait", run, timeout=SHORT, poll_interval=0.05)
        assert error.last_run is not None
        assert error.last_run.id == run.id
        runs.drain(runs("listen", run, timeout=SHORT), RunTimeoutError)
        # A stalled request lives on in its emulator after the client gave up (and would then
        # take the next armed failure): it gets an emulator of its own, stopped at the end.
        with Emulator(api_key=case.cred.value) as private:
            stalled = case.open(private)
            private.faults.stall(2.0, protocol=case.provider)
            stalled.fails(RunTimeoutError, "get", "run_1", timeout=SHORT, **case.ids("t_1"))
            stalled.close()


def test_exhausted_retries_and_rate_limits_leak_nothing(case: Case) -> None:
    assistant, thread = case.seed()
    with case.capture():
        runs = case.open(retry=FAST)
        run = runs("create", assistant, thread)
        faults = case.emu.faults
        faults.fail(2, protocol=case.provider)
        error = runs.fails(ApiError, "get", run)
        assert isinstance(error, ServerError)
        assert (error.grpc_status or error.status_code) in ("UNAVAILABLE", 503)
        faults.fail(2, protocol=case.provider, status="rate_limited", retry_after=0.05)
        error = runs.fails(ApiError, "get", run)
        assert isinstance(error, RateLimitError)
        assert (error.grpc_status or error.status_code) in ("RESOURCE_EXHAUSTED", 429)
        faults.clear()
        faults.fail(2, protocol=case.provider, status="internal")
        runs.fails(ApiError, "create", assistant, thread, idempotency_key="idem-1")


def test_dropped_streams_leak_nothing(case: Case) -> None:
    assistant, thread = case.seed("echo chunks=4")
    with case.capture():
        runs = case.open(retry=FAST)
        faults = case.emu.faults
        if case.provider == "yandex":
            run = runs("create", assistant, thread)
            runs("wait", run, poll_interval=POLL)
            faults.drop_stream(1, protocol="yandex")  # reset: reconnects and goes on
            assert runs.drain(runs("listen", run))[-1].is_finished
            faults.drop_stream(0, protocol="yandex", count=4, how="unavailable")
            runs.drain(runs("listen", run), ApiError)
        else:
            faults.drop_stream(2, protocol="openai")  # goes on by polling
            events = runs.drain(runs("create", assistant, thread, stream=True))
            assert events[-1].status_raw == "done"
            faults.drop_stream(0, protocol="openai")  # cut before the run is known
            runs.drain(runs("create", assistant, thread, stream=True), ApiError)


def test_decode_errors_leak_nothing(case: Case) -> None:
    assistant, thread = case.seed()
    with case.capture():
        runs = case.open()
        run = runs("create", assistant, thread)
        limit = "max_message_size" if case.provider == "yandex" else "max_response_size"
        options: dict[str, Any] = {limit: 16}
        tiny = case.open(**options)
        error = tiny.fails(DecodeError, "get", run)
        assert "16" in str(error)


def test_connection_refused_leaks_nothing(case: Case) -> None:
    port = _closed_port()
    dead = Emulator(grpc_port=port, http_port=port)  # never started: only its addresses
    with case.capture():
        runs = case.open(dead, retry=FAST)
        ids = case.ids("thread_1")
        error = runs.fails(ApiError, "get", "run_1", **ids)
        assert error.code in ("UNAVAILABLE", "connection_error")
        runs.fails(ApiError, "wait", "run_1", poll_interval=POLL, **ids)
        runs.fails(ApiError, "create", "asst_1", "thread_1", idempotency_key="idem")
        runs.drain(runs("listen", "run_1", **ids), ApiError)
        runs.drain(case.listing(runs, "thread_1"), ApiError)
        if case.provider == "openai":
            runs.drain(runs("create", "asst_1", "thread_1", stream=True), ApiError)


# --------------------------------------------------------------------------- server echoes


@pytest.mark.parametrize("flavour", ["async", "sync"])
def test_an_openai_server_echoing_the_key_is_redacted(
    flavour: str, servers: dict[str, Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The emulator quotes an unknown thread id in its 404: here the id is the key."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    emu = servers[OPENAI_KEY]
    options: dict[str, Any] = {"base_url": emu.openai_base_url, "api_key": OPENAI_KEY}
    evidence = Evidence()
    if flavour == "async":
        client = openai.AsyncRuns(**options)

        async def get() -> Run:
            async with client:
                return await client.get("run_1", thread_id=OPENAI_KEY, timeout=TIMEOUT)

        with pytest.raises(ApiError) as info:
            asyncio.run(get())
    else:
        with openai.Runs(**options) as sync_client, pytest.raises(ApiError) as info:
            sync_client.get("run_1", thread_id=OPENAI_KEY, timeout=TIMEOUT)
    assert info.value.status_code == 404
    assert info.value.message == "No thread found with id '***'."
    evidence.add(info.value)
    evidence.assert_clean()


def _response(status: int, body: bytes) -> httpx.Response:
    request = httpx.Request("GET", "https://api.example/v1/x")
    return httpx.Response(status, content=body, request=request)


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500, 503])
@pytest.mark.parametrize(
    "body",
    [
        b'{"error": {"message": "Incorrect API key provided: %s.", "code": "invalid_api_key"}}',
        b'{"error": {"message": ["Bearer %s", "again %s"]}}',
        b"<html>proxy refused Bearer %s</html>",
        b"%s",
    ],
)
def test_check_response_redacts_the_key(status: int, body: bytes) -> None:
    data = body.replace(b"%s", OPENAI_KEY.encode())
    with pytest.raises((ApiError, Transient)) as info:
        check_response(_response(status, data), data, Secret(OPENAI_KEY))
    error = info.value.error if isinstance(info.value, Transient) else info.value
    assert isinstance(error, ApiError)
    assert error.status_code == status
    assert "***" in error.message
    assert isinstance(info.value, Transient) == (status in (429, 500, 503))
    evidence = Evidence()
    evidence.add(info.value)
    evidence.assert_clean()


def test_check_response_passes_success_and_needs_the_secret_to_redact() -> None:
    check_response(_response(200, b"{}"), b"{}", Secret(OPENAI_KEY))
    data = b'{"error": {"message": "key %s"}}'.replace(b"%s", OPENAI_KEY.encode())
    with pytest.raises(ApiError) as info:
        check_response(_response(401, data), data, None)
    assert OPENAI_KEY in info.value.message  # nothing to redact with: the test can fail


@pytest.mark.parametrize("offset", [183, 186, 190])
def test_check_response_redacts_a_key_cut_by_the_body_limit(offset: int) -> None:
    data = b"x" * offset + OPENAI_KEY.encode()
    with pytest.raises(Transient) as info:
        check_response(_response(502, data), data, Secret(OPENAI_KEY))
    assert OPENAI_KEY[:10] not in info.value.error.message


@pytest.mark.parametrize("kind", ["api_key", "iam_token"])
def test_a_yandex_server_echoing_the_credential_is_redacted(
    kind: str, servers: dict[str, Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The emulator quotes an unknown run id in its NOT_FOUND: here the id is the credential."""
    for env in ENV_NAMES:
        monkeypatch.delenv(env, raising=False)
    value = YC_KEY if kind == "api_key" else YC_IAM
    credential: dict[str, Any] = {kind: value}
    client = yandex.Runs(endpoint=servers[value].grpc_target, **credential)
    with client, pytest.raises(ApiError) as info:
        client.get(value, timeout=TIMEOUT)
    assert info.value.code == "NOT_FOUND"
    assert CATCH_ALL not in str(info.value)


# --------------------------------------------------------------------------- known leaks


@pytest.mark.parametrize("flavour", ["async", "sync"])
@pytest.mark.parametrize("name", ["yandex-key", "yandex-iam"])
def test_yandex_debug_logs_show_no_credential(
    name: str,
    flavour: str,
    servers: dict[str, Emulator],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    cred = CREDS[name]
    _set_env(monkeypatch, cred, "arg")
    with asyncio.Runner() as runner:
        made = Case(cred, "arg", flavour, runner, servers, caplog, capfd)
        assistant, thread = made.seed()
        try:
            with made.capture() as evidence:
                runs = made.open()
                runs("get", runs("create", assistant, thread))
        finally:
            made.close()
    assert "hpack.hpack" in evidence.loggers
    # The header did pass hpack's debug log, as a never-indexed (redacted) field.
    logged = [t for w, t in evidence.texts if " hpack" in w and "b'authorization'" in t]
    assert logged
    assert all("SENSITIVE_REDACTED" in t for t in logged), logged[0]
    evidence.assert_clean()


@pytest.mark.parametrize("name", list(CREDS))
def test_tracebacks_with_locals_show_no_credential(
    name: str, servers: dict[str, Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    cred = CREDS[name]
    _set_env(monkeypatch, cred, "arg")
    module: Any = yandex if cred.provider == "yandex" else openai
    target = "endpoint" if cred.provider == "yandex" else "base_url"
    emu = servers["right"]
    address = emu.grpc_target if cred.provider == "yandex" else emu.openai_base_url
    client = module.Runs(**{target: address, cred.kind: cred.value})
    with client, pytest.raises(ApiError) as info:
        client.get_last_by_thread("thread_1", timeout=TIMEOUT)
    shown = traceback.TracebackException.from_exception(info.value, capture_locals=True)
    # This test's own frame holds the credential it passed in; every other frame must not.
    ours = [frame for frame in shown.stack if frame.filename != __file__]
    assert any("runbind" in frame.filename for frame in ours)
    assert any(frame.locals for frame in ours)
    text = "".join(traceback.StackSummary.from_list(ours).format()) + "".join(
        shown.format_exception_only()
    )
    assert CATCH_ALL not in text
