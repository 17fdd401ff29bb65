"""Yandex transport options against the emulator: ``metadata`` on every call, channel options
and your own grpclib ``Channel``, and credentials from a token provider (asked again near
expiry and after ``UNAUTHENTICATED``), a service-account key among them, whose JWT is signed
here and exchanged at a token endpoint this test serves on loopback."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpclib.events
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from grpclib.client import Channel
from grpclib.config import Configuration

from runbind import (
    AuthenticationError,
    InvalidArgumentError,
    NotFoundError,
    RunStatus,
    UnsupportedOperationError,
)
from runbind.emulator import Emulator
from runbind.yandex import AsyncRuns, IamToken, Runs, ServiceAccountKey
from tests import test_echoed_secrets as echoed
from tests._flavours import TIMEOUT, Connect
from tests._misbehaving import Server, h2_every
from tests.yandex.conftest import make

KEY = "the-right-iam-token"
"""What the keyed emulator takes (as ``Bearer <KEY>``, so an IAM token)."""


@pytest.fixture(scope="module")
def keyed() -> Iterator[Emulator]:
    emu = Emulator(api_key=KEY).start_in_thread()
    try:
        yield emu
    finally:
        emu.stop_thread()


class Provider:
    """A token provider that hands out ``tokens`` in turn (the last one again at the end),
    counting the times it was asked."""

    def __init__(self, *tokens: str | IamToken) -> None:
        self._tokens = list(tokens)
        self.asked = 0

    def __call__(self) -> str | IamToken:
        self.asked += 1
        return self._tokens.pop(0) if len(self._tokens) > 1 else self._tokens[0]


def recorded_metadata(emu: Emulator) -> list[tuple[str, dict[str, str]]]:
    """The method and metadata of every call the emulator's gRPC side receives from now on."""
    seen: list[tuple[str, dict[str, str]]] = []

    async def note(event: grpclib.events.RecvRequest) -> None:
        seen.append((event.method_name, {k: str(v) for k, v in event.metadata.items()}))

    assert emu._grpc is not None
    grpclib.events.listen(emu._grpc, grpclib.events.RecvRequest, note)
    return seen


# --------------------------------------------------------------------------- metadata


def test_metadata_goes_with_every_call(connect: Connect) -> None:
    emu = Emulator().start_in_thread()
    try:
        seen = recorded_metadata(emu)
        runs = connect(emu, metadata={"x-client-request-id": "abc", "x-data-logging": "false"})
        assistant_id, thread_id = make(emu, "tools calls=1")
        stream = runs.create_stream(assistant_id, thread_id)
        calls = [call for event in stream for call in event.tool_calls]
        assert stream.run is not None
        runs.submit(stream.run, [c.result("ok") for c in calls], idempotency_key="k1")
        assert runs.wait(stream.run).status is RunStatus.COMPLETED
        assert list(runs.listen(stream.run))
        assert list(runs.list(folder_id="f"))
        runs.close()
    finally:
        emu.stop_thread()
    ours = [(m, md) for m, md in seen if "RunService" in m]
    assert {m.rpartition("/")[2] for m, _ in ours} >= {"Create", "Listen", "Submit", "Get", "List"}
    for method, metadata in ours:
        assert metadata["x-client-request-id"] == "abc", method
        assert metadata["x-data-logging"] == "false", method
    assert [md.get("idempotency-key") for m, md in ours if m.endswith("Submit")] == ["k1"]


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"authorization": "Bearer x"}, "authorization"),
        ({"idempotency-key": "k"}, "idempotency-key"),
        ({"grpc-timeout": "1S"}, "grpc-timeout"),
        ({"X-Upper": "v"}, "lower-case"),
        ({"x-data-bin": "v"}, "-bin"),
        ({"x-a": "one\ntwo"}, "printable"),
        ({"x-a": 1}, "printable"),
    ],
)
def test_metadata_is_checked(metadata: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        AsyncRuns(endpoint="127.0.0.1:1", metadata=metadata)


# --------------------------------------------------------------------------- channels


def test_channel_options_reach_the_channel(emulator: Emulator) -> None:
    config = Configuration(_keepalive_time=30.0, _keepalive_timeout=5.0)
    assistant_id, thread_id = make(emulator)

    async def main() -> float | None:
        async with AsyncRuns(endpoint=emulator.grpc_target, grpc_config=config) as runs:
            run = await runs.create(assistant_id, thread_id, timeout=TIMEOUT)
            assert (await runs.wait(run, timeout=TIMEOUT, poll_interval=0.02)).text == "hello"
            channel = runs._connection.value
            assert channel is not None
            keepalive: float | None = channel[0]._config._keepalive_time
            return keepalive

    assert asyncio.run(main()) == 30.0


def test_your_own_channel_is_used_and_left_open(emulator: Emulator) -> None:
    assistant_id, thread_id = make(emulator)
    sent: list[str] = []

    async def main() -> None:
        channel = Channel(emulator.host, emulator.grpc_port)

        async def note(event: grpclib.events.SendRequest) -> None:
            sent.append(event.method_name)

        grpclib.events.listen(channel, grpclib.events.SendRequest, note)
        runs = AsyncRuns(endpoint="ignored.example:443", channel=channel)
        run = await runs.create(assistant_id, thread_id, timeout=TIMEOUT)
        stream = runs.listen(run, timeout=TIMEOUT)
        assert [event async for event in stream]
        await runs.close()
        assert channel._protocol is not None  # runbind did not make it: it does not close it
        assert (await runs.get(run, timeout=TIMEOUT)).id == run.id  # still usable
        channel.close()

    asyncio.run(main())
    assert "/yandex.cloud.ai.assistants.v1.runs.RunService/Create" in sent
    assert any(name.endswith("RunService/Listen") for name in sent)


def test_a_channel_of_another_loop_is_a_clear_error(emulator: Emulator) -> None:
    async def make_channel() -> Channel:
        return Channel(emulator.host, emulator.grpc_port)

    channel = asyncio.run(make_channel())
    with Runs(channel=channel) as runs, pytest.raises(InvalidArgumentError, match="event loop"):
        runs.get("run_x", timeout=TIMEOUT)


def test_options_that_a_given_channel_makes_moot_are_refused() -> None:
    async def main() -> None:
        channel = Channel("127.0.0.1", 1)
        for options in ({"tls": True}, {"grpc_config": Configuration()}):
            with pytest.raises(InvalidArgumentError, match="channel"):
                AsyncRuns(channel=channel, **options)
        channel.close()

    asyncio.run(main())


# --------------------------------------------------------------------------- token providers


def test_a_refused_token_is_asked_again_and_the_call_then_succeeds(
    connect: Connect, keyed: Emulator
) -> None:
    provider = Provider("a-stale-token", KEY)
    runs = connect(keyed, credentials=provider)
    assert "auth=token-provider" in repr(getattr(runs, "client", runs))
    assistant_id, thread_id = make(keyed, api_key=KEY)
    run = runs.create(assistant_id, thread_id)  # not idempotent, yet refused: retried once
    assert provider.asked == 2
    assert runs.wait(run).text == "hello"
    assert provider.asked == 2  # the good token is kept


def test_a_stream_opened_with_a_refused_token_reopens_with_a_new_one(
    connect: Connect, keyed: Emulator
) -> None:
    assistant_id, thread_id = make(keyed, api_key=KEY)
    with Runs(endpoint=keyed.grpc_target, api_key=KEY) as seeding:
        run = seeding.create(assistant_id, thread_id, timeout=TIMEOUT)
    provider = Provider("a-stale-token", KEY)
    runs = connect(keyed, credentials=provider)
    events = list(runs.listen(run))
    assert events[-1].is_finished
    assert provider.asked == 2


def test_a_token_still_refused_after_a_new_one_is_an_error(
    connect: Connect, keyed: Emulator
) -> None:
    provider = Provider("wrong-token-one", "wrong-token-two")
    runs = connect(keyed, credentials=provider)
    with pytest.raises(AuthenticationError) as caught:
        runs.get("run_x")
    assert caught.value.code == "UNAUTHENTICATED"
    assert provider.asked == 2  # asked again once, not in a loop


def test_a_token_near_its_expiry_is_replaced(connect: Connect, keyed: Emulator) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=1.0)  # replaced after half its life
    provider = Provider(IamToken(KEY, soon), IamToken(KEY, None))
    runs = connect(keyed, credentials=provider)
    assistant_id, thread_id = make(keyed, api_key=KEY)
    run = runs.create(assistant_id, thread_id)
    runs.get(run)
    assert provider.asked == 1
    time.sleep(0.6)
    runs.get(run)
    assert provider.asked == 2
    runs.get(run)
    assert provider.asked == 2


def test_an_async_provider_is_awaited(keyed: Emulator) -> None:
    asked: list[float] = []

    async def provider() -> str:
        asked.append(time.monotonic())
        await asyncio.sleep(0)
        return KEY

    with (
        Runs(endpoint=keyed.grpc_target, credentials=provider) as runs,
        pytest.raises(NotFoundError),
    ):
        runs.get("run_x", timeout=TIMEOUT)
    assert len(asked) == 1


def test_a_failing_provider_is_an_api_error(keyed: Emulator) -> None:
    def provider() -> str:
        raise OSError("metadata service unreachable")

    with (
        Runs(endpoint=keyed.grpc_target, credentials=provider) as runs,
        pytest.raises(AuthenticationError, match="token provider failed") as caught,
    ):
        runs.get("run_x", timeout=TIMEOUT)
    assert caught.value.code == "UNAUTHENTICATED"


def test_credentials_exclude_other_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidArgumentError, match="not both"):
        AsyncRuns(api_key="k", credentials=Provider(KEY))
    with pytest.raises(InvalidArgumentError, match="callable"):
        AsyncRuns(credentials="not callable")  # type: ignore[arg-type]
    monkeypatch.setenv("YC_API_KEY", "from-the-environment")
    runs = AsyncRuns(credentials=Provider(KEY))  # the environment is not read
    assert "auth=token-provider" in repr(runs)


# --------------------------------------------------------------------------- service accounts


class TokenEndpoint:
    """Yandex IAM's token exchange on loopback: checks the JWT's PS256 signature with the public
    key and its claims, then answers with the next token of ``tokens``."""

    def __init__(self, public_key: rsa.RSAPublicKey, key_id: str, account: str, *tokens: str):
        self.public_key = public_key
        self.key_id = key_id
        self.account = account
        self.tokens = list(tokens)
        self.jwts: list[dict[str, Any]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status, answer = endpoint.answer(str(body.get("jwt", "")))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/iam/v1/tokens"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TokenEndpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def answer(self, jwt: str) -> tuple[int, dict[str, Any]]:
        head, claims, signature = (_unb64(part) for part in jwt.split("."))
        try:
            self.public_key.verify(
                signature,
                jwt.rpartition(".")[0].encode(),
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                hashes.SHA256(),
            )
        except InvalidSignature:
            return 401, {"code": 16, "message": "JWT signature is invalid"}
        header, payload = json.loads(head), json.loads(claims)
        self.jwts.append({**header, **payload})
        assert header == {"typ": "JWT", "alg": "PS256", "kid": self.key_id}
        assert payload["iss"] == self.account
        assert payload["aud"] == "https://iam.api.cloud.yandex.net/iam/v1/tokens"
        assert payload["exp"] - payload["iat"] == 3600
        assert abs(payload["iat"] - time.time()) < 60
        expires = (datetime.now(UTC) + timedelta(hours=12)).isoformat().replace("+00:00", "Z")
        return 200, {"iamToken": self.tokens.pop(0), "expiresAt": expires}


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_json(key: rsa.RSAPrivateKey) -> dict[str, str]:
    """A key as ``yc iam key create`` writes it (with the line before the PEM)."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "id": "ajekeyid",
        "service_account_id": "ajeaccount",
        "created_at": "2026-01-01T00:00:00Z",
        "key_algorithm": "RSA_2048",
        "private_key": "PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <ajekeyid>\n" + pem,
    }


def test_a_service_account_key_signs_locally_and_exchanges_its_jwt(
    connect: Connect, keyed: Emulator, rsa_key: rsa.RSAPrivateKey, tmp_path: Any
) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(key_json(rsa_key)))
    with TokenEndpoint(
        rsa_key.public_key(), "ajekeyid", "ajeaccount", "an-old-token", KEY
    ) as endpoint:
        account = ServiceAccountKey.from_file(path, endpoint=endpoint.url)
        assert "PRIVATE" not in repr(account)
        runs = connect(keyed, credentials=account)
        assistant_id, thread_id = make(keyed, api_key=KEY)
        run = runs.create(assistant_id, thread_id)  # refused first: a new JWT, a new token
        assert runs.wait(run).text == "hello"
    assert len(endpoint.jwts) == 2


def test_a_refused_exchange_is_an_unauthenticated_error(rsa_key: rsa.RSAPrivateKey) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with TokenEndpoint(other.public_key(), "ajekeyid", "ajeaccount", KEY) as endpoint:
        account = ServiceAccountKey.from_json(key_json(rsa_key), endpoint=endpoint.url)
        with pytest.raises(AuthenticationError, match="JWT signature is invalid") as caught:
            asyncio.run(account())
    assert caught.value.code == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ({"id": "k"}, "missing"),
        ("not json", "not a service account key"),
        ({"id": "k", "service_account_id": "a", "private_key": "nope"}, "PEM"),
        (
            {"id": "k", "service_account_id": "a", "private_key": "-----BEGIN X-----\n-----"},
            "readable",
        ),
    ],
)
def test_bad_keys_are_refused(key: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        ServiceAccountKey.from_json(key)


def test_without_cryptography_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, rsa_key: rsa.RSAPrivateKey
) -> None:
    key = key_json(rsa_key)
    for name in [m for m in sys.modules if m.startswith("cryptography")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "cryptography", None)
    with pytest.raises(UnsupportedOperationError, match=r"runbind\[yandex-sa\]"):
        ServiceAccountKey.from_json(key)


# --------------------------------------------------------------------------- echoed secrets


@pytest.mark.parametrize("scenario", list(echoed.YANDEX_SCENARIOS))
def test_a_providers_token_is_never_shown_when_echoed(
    scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scenarios of ``tests/test_echoed_secrets.py``, the credential an IAM token from a
    token provider: no piece of it in errors, logs or warnings either."""
    for name in ("YC_API_KEY", "YC_IAM_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    act, call, expected = echoed.YANDEX_SCENARIOS[scenario]
    with Server(h2_every(act)) as server:

        def make() -> Any:
            return AsyncRuns(
                endpoint=f"127.0.0.1:{server.port}",
                credentials=lambda: echoed.YANDEX_KEY,
                retry=echoed.FAST,
            )

        outcome = echoed.run_call(echoed.YANDEX_KEY, "async", make, echoed._yandex_call(call))
    outcome.clean(expected)
