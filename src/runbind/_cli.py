"""The ``runbind`` command: ``runbind emulator`` serves the emulator, ``runbind demo`` shows it.

Errors a user can cause (a bad option, a port in use) are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

__all__ = ["main"]

_KEY_ENV = "RUNBIND_EMULATOR_API_KEY"
_DESCRIPTION = (
    "Typed bindings for assistant Runs (Yandex Cloud AI Assistants over gRPC, the OpenAI "
    "Assistants API over REST), and a local emulator of both."
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (usage is in --help)."""

    def error(self, message: str) -> NoReturn:
        """Print ``prog: error: message`` and where to look, then exit 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Version(argparse.Action):
    """``--version``: the version and the upstream commits the bindings were generated from."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> NoReturn:
        print(version_line())
        parser.exit(0)


def version_line() -> str:
    """``runbind X.Y.Z (cloudapi <commit> <date>, openai-openapi <commit> <date>)``."""
    import runbind

    try:
        upstream = runbind.__provenance__["upstream"]
    except ImportError:  # a working copy before its first `generate`
        return f"runbind {runbind.__version__} (no generated bindings)"
    sources = ", ".join(
        f"{name} {src['commit'][:12]} {src['committed']}" for name, src in sorted(upstream.items())
    )
    return f"runbind {runbind.__version__} ({sources})"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="runbind", description=_DESCRIPTION)
    parser.add_argument(
        "--version",
        action=_Version,
        nargs=0,
        help="print the version and the upstream commits it tracks, then exit",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("emulator", help="serve the emulator until interrupted")
    serve.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    serve.add_argument("--grpc-port", type=int, default=50051, help="Yandex gRPC port (50051)")
    serve.add_argument("--http-port", type=int, default=8080, help="OpenAI HTTP port (8080)")
    serve.add_argument(
        "--require-key",
        action="store_true",
        help=f"require the API key in ${_KEY_ENV} on every call",
    )
    commands.add_parser("demo", help="start an emulator and run one lifecycle per provider")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    from .emulator import Emulator

    key = os.environ.get(_KEY_ENV) if args.require_key else None
    if args.require_key and not key:
        raise SystemExit(f"--require-key needs ${_KEY_ENV}")
    emulator = Emulator(
        host=args.host, grpc_port=args.grpc_port, http_port=args.http_port, api_key=key
    )
    async with emulator:
        print(f"yandex gRPC: {emulator.grpc_target}", flush=True)
        print(f"openai HTTP: {emulator.openai_base_url}", flush=True)
        print(f"auth: {'required' if key else 'off'}; Ctrl-C stops", flush=True)
        await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for chatty in ("httpx", "grpclib"):  # one line per request or closed stream drowns the output
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        if args.command == "emulator":
            asyncio.run(_serve(args))
        else:
            from .emulator._demo import demo

            asyncio.run(demo(sys.stdout))
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise
        where = f"{args.host} (gRPC port {args.grpc_port}, HTTP port {args.http_port})"
        if args.command != "emulator":
            where = "127.0.0.1"
        reason = exc.strerror or str(exc)
        print(f"runbind {args.command}: cannot listen on {where}: {reason}", file=sys.stderr)
        return 1
    return 0
