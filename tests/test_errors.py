"""Errors by meaning, the same classes for both providers, over real sockets: every error class
raised by the emulator fault (or answer) that means it, with the server's message, status and
request id; the request id None when the server sent none; connection failures; the emulator's
seed raising runbind errors; a bad timeout an InvalidArgumentError; errors pickle and show no
credential."""

from __future__ import annotations

import json
import pickle
from typing import Any, Literal

import h2.connection
import pytest

from runbind import (
    APIConnectionError,
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FunctionResultDict,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    RunbindError,
    RunTimeoutError,
    ServerError,
)
from runbind.emulator import Emulator
from tests._flavours import Connect, Flavour, Provider, _clean_env, connect, emulator, runs
from tests._misbehaving import (
    GRPC_HEADERS,
    Server,
    closed_port,
    h2_script,
    http_answers,
    http_response,
)
from tests.openai.conftest import OPENAI
from tests.yandex.conftest import YANDEX

__all__ = ["_clean_env", "connect", "emulator", "runs"]  # the shared fixtures, for this module

ONCE = RetryPolicy(attempts=1)
KEY = "sk-errors-test-key-0123456789abcdef"


@pytest.fixture(params=[OPENAI, YANDEX], ids=["openai", "yandex"], scope="module")
def provider(request: pytest.FixtureRequest) -> Provider:
    """Both providers: every test here runs against each."""
    param: Provider = request.param
    return param


def _name(provider: Provider) -> Literal["openai", "yandex"]:
    return "openai" if provider is OPENAI else "yandex"


def _ids(provider: Provider) -> dict[str, Any]:
    """What a get of a run by id needs besides the id (OpenAI: its thread)."""
    return {"thread_id": "thread_1"} if provider is OPENAI else {}


def _target(provider: Provider, port: int) -> dict[str, Any]:
    if provider is OPENAI:
        return {"base_url": f"http://127.0.0.1:{port}/v1"}
    return {"endpoint": f"127.0.0.1:{port}"}


# The emulator fault, the class it means, and its HTTP status and gRPC status.
FAULTS = [
    ("not_found", NotFoundError, 404, "NOT_FOUND"),
    ("unauthenticated", AuthenticationError, 401, "UNAUTHENTICATED"),
    ("permission_denied", PermissionDeniedError, 403, "PERMISSION_DENIED"),
    ("conflict", ConflictError, 409, "ALREADY_EXISTS"),
    ("invalid_argument", BadRequestError, 400, "INVALID_ARGUMENT"),
    ("rate_limited", RateLimitError, 429, "RESOURCE_EXHAUSTED"),
    ("internal", ServerError, 500, "INTERNAL"),
    ("unavailable", ServerError, 503, "UNAVAILABLE"),
]


@pytest.mark.parametrize(("fault", "cls", "http", "grpc"), FAULTS, ids=[f[0] for f in FAULTS])
def test_each_error_class_is_raised_by_the_fault_that_means_it(
    connect: Connect,
    emulator: Emulator,
    provider: Provider,
    fault: Any,
    cls: type[ApiError],
    http: int,
    grpc: str,
) -> None:
    runs = connect(emulator, retry=ONCE)
    name = _name(provider)
    emulator.faults.fail(protocol=name, status=fault, request_id=f"req-{fault}")
    with pytest.raises(cls) as caught:
        runs.get("run_1", **_ids(provider))
    error = caught.value
    assert type(error) is cls
    assert isinstance(error, ApiError)
    assert isinstance(error, RunbindError)
    assert error.provider == name
    assert error.message == "injected fault"
    assert error.request_id == f"req-{fault}"
    assert error.headers["x-request-id"] == f"req-{fault}"
    if name == "openai":
        assert (error.status_code, error.grpc_status, error.code) == (http, None, None)
        assert error.type == ("server_error" if http >= 500 else "invalid_request_error")
        assert str(error) == f"openai API error {http}: injected fault"
    else:
        assert (error.status_code, error.grpc_status, error.code) == (None, grpc, grpc)
        assert (error.type, error.param) == (None, None)
        assert str(error) == f"yandex API error {grpc}: injected fault"
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is cls
    assert vars(again) == vars(error)
    assert (str(again), repr(again)) == (str(error), repr(error))
    assert repr(error).startswith(f"{cls.__name__}(")


def test_the_errors_the_emulator_answers_by_itself_are_typed(
    connect: Connect, emulator: Emulator, provider: Provider
) -> None:
    """Not injected: an unknown run, and tool results for a run that is not waiting."""
    runs = connect(emulator)
    name = _name(provider)
    with pytest.raises(NotFoundError) as missing:
        runs.get("run_missing", **_ids(provider))
    assert missing.value.request_id is None or isinstance(missing.value.request_id, str)
    assert "run_missing" in missing.value.message or "thread_1" in missing.value.message
    assistant, thread = emulator.seed(name)
    done = runs.create(assistant, thread)
    runs.wait(done)
    result: list[FunctionResultDict] = [{"name": "f", "tool_call_id": "call_1", "content": "x"}]
    # Yandex answers FAILED_PRECONDITION (a conflict with the run's state); OpenAI a 400, as
    # the real services do.
    expected = ConflictError if name == "yandex" else BadRequestError
    with pytest.raises(expected) as refused:
        runs.submit(done, result)
    assert refused.value.message


def test_a_wrong_key_is_an_authentication_error_with_the_body_fields(
    connect: Connect, provider: Provider
) -> None:
    with Emulator(api_key=KEY) as emu:
        runs = connect(emu, api_key="sk-wrong-key-000000000000000000")
        with pytest.raises(AuthenticationError) as caught:
            runs.get("run_1", **_ids(provider))
    error = caught.value
    if provider is OPENAI:
        assert (error.status_code, error.code) == (401, "invalid_api_key")
        assert (error.type, error.param) == ("invalid_request_error", None)
        assert error.message == "Missing or incorrect API key."
    else:
        assert error.grpc_status == error.code == "UNAUTHENTICATED"
        assert error.message == "missing or wrong credentials"


def test_a_refused_connection_is_an_api_connection_error(
    connect: Connect, emulator: Emulator, provider: Provider
) -> None:
    runs = connect_to(connect, emulator, provider, closed_port())
    with pytest.raises(APIConnectionError) as caught:
        runs.get("run_1", **_ids(provider))
    error = caught.value
    assert isinstance(error, ConnectionError)  # the builtin catches it too
    assert isinstance(error, ApiError)
    assert (error.status_code, error.grpc_status, error.request_id) == (None, None, None)
    assert error.code == ("connection_error" if provider is OPENAI else "UNAVAILABLE")
    assert "connection failed" in error.message
    assert vars(pickle.loads(pickle.dumps(error))) == vars(error)


def connect_to(connect: Connect, emulator: Emulator, provider: Provider, port: int) -> Flavour:
    """A client of ``connect``'s flavour aimed at 127.0.0.1:``port`` (no retries)."""
    return connect(emulator, **_target(provider, port), api_key=KEY, retry=ONCE)


# --------------------------------------------------------------------------- scripted servers


def _openai_refusal(headers: tuple[tuple[str, str], ...]) -> Any:
    body = json.dumps(
        {"error": {"message": "gone", "type": "invalid_request_error", "param": "run_id"}}
    ).encode()

    async def answer(method: str, path: str, body_in: bytes) -> bytes:
        return http_response(404, body, (("content-type", "application/json"), *headers))

    return http_answers(answer)


def _grpc_refusal(headers: tuple[tuple[str, str], ...]) -> Any:
    async def act(connection: h2.connection.H2Connection, stream_id: int, writer: Any) -> None:
        trailers = (*GRPC_HEADERS, ("grpc-status", "5"), ("grpc-message", "gone"), *headers)
        connection.send_headers(stream_id, trailers, end_stream=True)
        writer.write(connection.data_to_send())

    return h2_script(act, hold=True)


@pytest.fixture
def refusing(provider: Provider) -> Any:
    """A server that answers every call "not found" with the headers it is given."""

    def start(headers: tuple[tuple[str, str], ...]) -> Server:
        handler = _openai_refusal(headers) if provider is OPENAI else _grpc_refusal(headers)
        return Server(handler)

    return start


def test_request_id_and_headers_come_from_the_answer_credentials_masked(
    connect: Connect, emulator: Emulator, provider: Provider, refusing: Any
) -> None:
    headers = (
        ("x-request-id", "req-abc-123"),
        ("set-cookie", "session=supersecretcookievalue"),
        ("www-authenticate", f"Bearer realm=x, echoed={KEY}"),
        ("x-echo", f"you sent Bearer {KEY}"),
    )
    with refusing(headers) as server:
        runs = connect_to(connect, emulator, provider, server.port)
        with pytest.raises(NotFoundError) as caught:
            runs.get("run_1", **_ids(provider))
    error = caught.value
    assert error.message == "gone"
    assert error.request_id == "req-abc-123"
    assert error.headers["x-request-id"] == "req-abc-123"
    assert error.headers["set-cookie"] == "***"
    assert error.headers["x-echo"] == "you sent Bearer ***"
    if provider is OPENAI:
        assert (error.status_code, error.type, error.param) == (
            404,
            "invalid_request_error",
            "run_id",
        )
    else:
        assert error.grpc_status == "NOT_FOUND"
    for text in (str(error), repr(error), repr(vars(error)), repr(pickle.dumps(error))):
        assert KEY not in text
        assert KEY[:12] not in text
        assert "supersecretcookievalue" not in text


def test_request_id_is_none_when_the_server_sends_none(
    connect: Connect, emulator: Emulator, provider: Provider, refusing: Any
) -> None:
    with refusing(()) as server:
        runs = connect_to(connect, emulator, provider, server.port)
        with pytest.raises(NotFoundError) as caught:
            runs.get("run_1", **_ids(provider))
    assert caught.value.request_id is None
    assert "x-request-id" not in caught.value.headers


# --------------------------------------------------------------------------- seed, timeouts


@pytest.mark.parametrize(
    ("fault", "cls"), [("permission_denied", PermissionDeniedError), ("internal", ServerError)]
)
def test_seed_raises_runbind_errors_with_the_servers_message(
    provider: Provider, fault: Any, cls: type[ApiError]
) -> None:
    name = _name(provider)
    with Emulator() as emu:
        emu.faults.fail(protocol=name, status=fault, request_id="req-seed")
        with pytest.raises(cls) as caught:
            emu.seed(name)
        assert caught.value.message == "injected fault"
        assert caught.value.request_id == "req-seed"
        assert emu.seed(name)  # the next one goes through


def test_seed_keeps_a_natural_refusal_and_a_lost_server(provider: Provider) -> None:
    name = _name(provider)
    with Emulator() as emu:
        with pytest.raises(BadRequestError) as caught:
            emu.seed(name, behaviour="nonsense")
        assert "unknown behaviour 'nonsense'" in caught.value.message
    with pytest.raises(APIConnectionError):
        emu.seed(name)  # stopped
    with pytest.raises(InvalidArgumentError):
        emu.seed("gemini")  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), "10"])
def test_a_timeout_that_is_not_a_positive_number_is_an_invalid_argument(
    runs: Flavour, provider: Provider, timeout: Any
) -> None:
    with pytest.raises(InvalidArgumentError, match="timeout must be a positive number"):
        runs.get("run_1", timeout=timeout, **_ids(provider))
    with pytest.raises(ValueError, match="timeout"):  # still the ValueError it was
        runs.get("run_1", timeout=timeout, **_ids(provider))


def test_retry_policy_checks_are_invalid_arguments() -> None:
    with pytest.raises(InvalidArgumentError):
        RetryPolicy(attempts=0)
    with pytest.raises(InvalidArgumentError):
        RetryPolicy(initial=2.0, maximum=1.0)


def test_every_error_class_pickles_with_its_fields() -> None:
    made: list[RunbindError] = [
        cls("openai", "code", "message", status_code=418, request_id="r", headers={"a": "b"})
        for cls in (
            ApiError,
            BadRequestError,
            AuthenticationError,
            PermissionDeniedError,
            NotFoundError,
            ConflictError,
            RateLimitError,
            ServerError,
            APIConnectionError,
        )
    ]
    made.append(RunTimeoutError("late"))
    made.append(InvalidArgumentError("bad"))
    for error in made:
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error)
        assert vars(again) == vars(error)
        assert (str(again), repr(again), again.args) == (str(error), repr(error), error.args)
