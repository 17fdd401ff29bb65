"""Small network facts shared by the clients and the emulator."""

from __future__ import annotations

import ipaddress
import ssl

__all__ = ["is_loopback", "tls_failure"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def tls_failure(exc: BaseException) -> tuple[str, bool] | None:
    """Why TLS failed and whether that is final, when ``exc`` or an error behind it is TLS's.

    A certificate that fails verification is final: no retry can fix it, and retrying would
    hide it behind "connection failed". Transports wrap the :class:`ssl.SSLError` (httpx
    twice), so the chain of causes is walked.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return f"TLS certificate verification failed: {current.verify_message}", True
        if isinstance(current, ssl.SSLError):
            return f"TLS failed ({current.reason or type(current).__name__})", False
        current = current.__cause__ or current.__context__
    return None
