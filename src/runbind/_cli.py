"""The ``runbind`` command: ``runbind emulator`` serves the emulator, ``runbind demo`` shows it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

__all__ = ["main"]

_KEY_ENV = "RUNBIND_EMULATOR_API_KEY"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runbind", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("emulator", help="serve the emulator until interrupted")
    serve.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    serve.add_argument("--grpc-port", type=int, default=50051, help="Yandex gRPC port")
    serve.add_argument("--http-port", type=int, default=8080, help="OpenAI HTTP port")
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
    return 0
