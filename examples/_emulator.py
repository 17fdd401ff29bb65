"""The emulator the examples talk to: a running one named by the environment, else their own.

``RUNBIND_EMULATOR_GRPC`` (``host:port``) and ``RUNBIND_EMULATOR_HTTP`` (the OpenAI base URL,
``http://host:port/v1``) name a running emulator, such as ``runbind emulator`` serves (gRPC on
127.0.0.1:50051, HTTP on 127.0.0.1:8080); ``RUNBIND_EMULATOR_API_KEY`` is its key when it
requires one. Without them, each example starts an ``Emulator()`` in-process for as long as it
runs. Not an example itself: the scripts beside it import it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from urllib.parse import urlsplit

from runbind.emulator import Emulator

API_KEY = os.environ.get("RUNBIND_EMULATOR_API_KEY") or None
"""The key the emulator requires (None: it requires none)."""


@contextlib.contextmanager
def emulator() -> Iterator[Emulator]:
    """The emulator named by the environment, or one started here and stopped on exit.

    For a running one, the ``Emulator`` yielded is not started: it only holds the addresses
    (``grpc_target``, ``openai_base_url``) and seeds assistants and threads over them.
    """
    grpc = os.environ.get("RUNBIND_EMULATOR_GRPC")
    http = os.environ.get("RUNBIND_EMULATOR_HTTP")
    if not grpc and not http:
        with Emulator(api_key=API_KEY) as own:
            yield own
        return
    if not grpc or not http:
        raise SystemExit("set both RUNBIND_EMULATOR_GRPC and RUNBIND_EMULATOR_HTTP, or neither")
    host, _, port = grpc.rpartition(":")
    url = urlsplit(http)
    if url.hostname != host or url.port is None or url.path.rstrip("/") != "/v1":
        raise SystemExit(f"RUNBIND_EMULATOR_HTTP should be http://{host}:<port>/v1, got {http}")
    yield Emulator(host=host, grpc_port=int(port), http_port=url.port, api_key=API_KEY)
