"""Yandex credentials that change over time: IAM tokens asked of a provider again before they
expire or after the service refuses one, and a service account's authorized key that signs its
JWT locally (PS256) and exchanges it for an IAM token, as the Yandex SDK does."""

from __future__ import annotations

import asyncio
import base64
import collections
import inspect
import json
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from .._core.client_base import finite, left
from .._core.credentials import Secret, clip
from .._core.errors import (
    APIConnectionError,
    AuthenticationError,
    InvalidArgumentError,
    RunbindError,
    RunTimeoutError,
    ServerError,
    UnsupportedOperationError,
)
from .._core.retry import Deadline

__all__ = [
    "REFRESH_BEFORE",
    "TOKEN_URL",
    "IamToken",
    "ServiceAccountKey",
    "TokenProvider",
    "Tokens",
    "unauthenticated",
]

TOKEN_URL = "https://iam.api.cloud.yandex.net/iam/v1/tokens"
"""Yandex Cloud IAM's token exchange (REST): a signed JWT in, an IAM token out."""

REFRESH_BEFORE = 300.0
"""Seconds before its expiry a token is replaced (half its life, for one that lives less than
twice this)."""

_JWT_LIFETIME = 3600  # seconds a signed JWT is valid (IAM accepts at most one hour)
_EXCHANGE_TIMEOUT = 30.0  # seconds an exchange may take unless the call's deadline is shorter
_MESSAGE_TEXT = 300  # characters of the IAM endpoint's error message shown


@dataclass(frozen=True)
class IamToken:
    """An IAM token and when it expires (``None``: unknown; then it is used until the service
    refuses it). A naive ``expires_at`` is taken as UTC."""

    token: str = field(repr=False)
    expires_at: datetime | None = None


TokenProvider = Callable[[], "str | IamToken | Awaitable[str | IamToken]"]
"""What ``credentials=`` takes: a callable (or an object with ``__call__``, async or not) that
returns an IAM token, as a string or an :class:`IamToken` with its expiry. A blocking one runs
on a worker thread."""


def unauthenticated(exc: BaseException) -> bool:
    """Whether ``exc`` is the service refusing the credentials (gRPC ``UNAUTHENTICATED``)."""
    return isinstance(exc, GRPCError) and exc.status is Status.UNAUTHENTICATED


class Tokens:
    """The IAM token of one client, from its provider: asked for when there is none, when the
    one there is nears its expiry, and after the service refused it (:meth:`refused`).

    Calls that need a token at once share one request to the provider (per event loop).
    """

    def __init__(self, provider: TokenProvider) -> None:
        if not callable(provider):
            raise InvalidArgumentError("credentials must be a callable that returns a token")
        self._provider = provider
        self._token: Secret | None = None
        self._renew_at = 0.0  # monotonic
        self._asking: asyncio.Task[Secret] | None = None
        self._seen: collections.deque[Secret] = collections.deque(maxlen=4)

    @property
    def seen(self) -> tuple[Secret, ...]:
        """The latest tokens (a server may echo one in an error: they are redacted there)."""
        return tuple(self._seen)

    async def get(self, deadline: Deadline) -> Secret:
        """The token to send now, asked of the provider if need be (within ``deadline``)."""
        token = self._token
        if token is not None and time.monotonic() < self._renew_at:
            return token
        loop = asyncio.get_running_loop()
        task = self._asking
        if task is None or task.done() or task.get_loop() is not loop:
            task = self._asking = loop.create_task(self._ask())
            task.add_done_callback(_retrieve)
        try:
            async with asyncio.timeout(finite(left(deadline, "yandex credentials"))):
                return await asyncio.shield(task)
        except TimeoutError:
            if task.done():
                raise
            raise RunTimeoutError(
                "yandex credentials: the token provider did not answer in time"
            ) from None

    def refused(self, token: Secret) -> None:
        """The service refused ``token``: the next :meth:`get` asks for another."""
        if self._token is token:
            self._token = None

    async def _ask(self) -> Secret:
        provider = self._provider
        try:
            if _is_async(provider):
                answer: Any = await provider()  # type: ignore[misc]
            else:
                answer = await asyncio.to_thread(provider)
                if inspect.isawaitable(answer):
                    answer = await answer
        except RunbindError:
            raise
        except Exception as exc:
            raise AuthenticationError(
                "yandex",
                Status.UNAUTHENTICATED.name,
                f"the token provider failed: {exc!r}",
                grpc_status=Status.UNAUTHENTICATED.name,
            ) from None
        if isinstance(answer, str):
            answer = IamToken(answer)
        if not isinstance(answer, IamToken):
            raise InvalidArgumentError(
                f"the token provider returned {type(answer).__name__}, not a str or IamToken"
            )
        value = answer.token
        if not isinstance(value, str) or not value.strip() or any(c in value for c in "\r\n"):
            raise InvalidArgumentError("the token provider returned an empty or multi-line token")
        token = Secret(value.strip())
        self._token = token
        self._seen.append(token)
        self._renew_at = _renew_at(answer.expires_at)
        return token


def _is_async(provider: Callable[..., Any]) -> bool:
    call = getattr(provider, "__call__", None)  # noqa: B004 - an object's async __call__ counts
    return inspect.iscoroutinefunction(provider) or inspect.iscoroutinefunction(call)


def _retrieve(task: asyncio.Task[Secret]) -> None:
    """Mark a failed ask as seen: its callers got the error (or have gone)."""
    if not task.cancelled():
        task.exception()


def _renew_at(expires_at: datetime | None) -> float:
    """The monotonic time at which a token expiring at ``expires_at`` is replaced."""
    if expires_at is None:
        return float("inf")
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    life = (expires_at - datetime.now(UTC)).total_seconds()
    return time.monotonic() + life - min(REFRESH_BEFORE, max(life, 0.0) / 2)


# --------------------------------------------------------------------------- service accounts


class ServiceAccountKey:
    """A service account's authorized key as a token provider (``credentials=``).

    Each call signs a JWT with the key, locally (PS256, ``kid`` the key id, issuer the service
    account, audience the IAM token URL, valid one hour), and exchanges it at ``endpoint`` for
    an IAM token and its expiry, as the Yandex SDK does. The key is the JSON that
    ``yc iam key create`` writes: :meth:`from_file` / :meth:`from_json` read it. Signing needs
    the ``cryptography`` package: ``pip install 'runbind[yandex-sa]'``.
    """

    def __init__(
        self,
        *,
        key_id: str,
        service_account_id: str,
        private_key: str,
        endpoint: str = TOKEN_URL,
        audience: str = TOKEN_URL,
        verify: bool | ssl.SSLContext = True,
        trust_env: bool = True,
    ) -> None:
        for name, value in (("key_id", key_id), ("service_account_id", service_account_id)):
            if not isinstance(value, str) or not value:
                raise InvalidArgumentError(f"{name} must be a non-empty string")
        self.key_id = key_id
        self.service_account_id = service_account_id
        self.endpoint = endpoint
        self.audience = audience
        self._verify = verify
        self._trust_env = trust_env
        self._key = _load_key(private_key)

    @classmethod
    def from_json(cls, key: str | Mapping[str, Any], **options: Any) -> ServiceAccountKey:
        """The key from its JSON (text or parsed): ``id``, ``service_account_id`` and
        ``private_key``; ``options`` as for the constructor."""
        try:
            data = json.loads(key) if isinstance(key, str) else dict(key)
            fields = (data["id"], data["service_account_id"], data["private_key"])
        except (ValueError, KeyError, TypeError) as exc:
            reason = f"missing {exc}" if isinstance(exc, KeyError) else type(exc).__name__
            raise InvalidArgumentError(f"not a service account key: {reason}") from None
        key_id, account, private_key = fields
        return cls(key_id=key_id, service_account_id=account, private_key=private_key, **options)

    @classmethod
    def from_file(cls, path: str | Path, **options: Any) -> ServiceAccountKey:
        """The key from the JSON file ``yc iam key create --output`` wrote."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidArgumentError(f"cannot read the key file: {exc.strerror}") from None
        return cls.from_json(text, **options)

    def __repr__(self) -> str:
        return (
            f"ServiceAccountKey(key_id={self.key_id!r}, "
            f"service_account_id={self.service_account_id!r})"
        )

    def jwt(self, now: float | None = None) -> str:
        """A signed JWT for the exchange, issued at ``now`` (epoch seconds; default: now)."""
        from cryptography.hazmat.primitives import hashes  # noqa: PLC0415 - checked at init
        from cryptography.hazmat.primitives.asymmetric import padding  # noqa: PLC0415

        issued = int(time.time() if now is None else now)
        header = {"typ": "JWT", "alg": "PS256", "kid": self.key_id}
        claims = {
            "iss": self.service_account_id,
            "aud": self.audience,
            "iat": issued,
            "exp": issued + _JWT_LIFETIME,
        }
        signing_input = f"{_b64_json(header)}.{_b64_json(claims)}".encode("ascii")
        # RFC 7518 PS256: RSASSA-PSS, SHA-256 and MGF1 with SHA-256, a salt as long as the hash.
        signature = self._key.sign(
            signing_input,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
            hashes.SHA256(),
        )
        return f"{signing_input.decode('ascii')}.{_b64(signature)}"

    async def __call__(self) -> IamToken:
        """An IAM token for the service account, from the exchange at :attr:`endpoint`."""
        import httpx  # noqa: PLC0415 - only a service account's client needs it

        jwt = Secret(self.jwt())
        try:
            async with httpx.AsyncClient(
                verify=self._verify,
                trust_env=self._trust_env,
                timeout=_EXCHANGE_TIMEOUT,
                follow_redirects=False,
            ) as client:
                response = await client.post(self.endpoint, json={"jwt": jwt.reveal()})
                body = response.content
        except httpx.HTTPError as exc:
            reason = f"connection failed ({type(exc).__name__})"
            raise APIConnectionError(
                "yandex", Status.UNAVAILABLE.name, f"IAM token exchange: {reason}"
            ) from None
        try:
            data: Any = json.loads(body)
        except ValueError:
            data = None
        if response.status_code != 200 or not isinstance(data, dict):
            message = data.get("message") if isinstance(data, dict) else None
            text = clip(str(message or response.reason_phrase), _MESSAGE_TEXT, jwt)
            status = response.status_code
            kind = ServerError if status >= 500 else AuthenticationError
            code = Status.UNAVAILABLE if status >= 500 else Status.UNAUTHENTICATED
            raise kind(
                "yandex",
                code.name,
                f"IAM token exchange: HTTP {status}: {text}",
                status_code=status,
            )
        token = data.get("iamToken")
        if not isinstance(token, str) or not token:
            raise AuthenticationError(
                "yandex",
                Status.UNAUTHENTICATED.name,
                "IAM token exchange: no iamToken in answer",
                status_code=response.status_code,
            )
        return IamToken(token, _expiry(data.get("expiresAt")))


def _load_key(private_key: str) -> Any:
    """The RSA private key of a PEM text (what precedes ``-----BEGIN`` is skipped: the key
    files start with a line asking not to remove it)."""
    try:
        from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415
    except ImportError:
        raise UnsupportedOperationError(
            "ServiceAccountKey signs with the 'cryptography' package, which is not installed: "
            "pip install 'runbind[yandex-sa]'"
        ) from None
    if not isinstance(private_key, str) or "-----BEGIN" not in private_key:
        raise InvalidArgumentError("private_key must be a PEM private key")
    pem = private_key[private_key.index("-----BEGIN") :]
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        raise InvalidArgumentError("private_key is not a readable PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidArgumentError("private_key must be an RSA key (PS256)")
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64_json(value: Mapping[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def _expiry(value: object) -> datetime | None:
    """``expiresAt`` (RFC 3339, nanoseconds allowed) as a datetime; None if unreadable."""
    if not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # fromisoformat takes at most 6 fraction digits: cut the rest, keep the zone
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
