"""A local emulator of the runs APIs: Yandex gRPC (grpclib) and OpenAI REST with SSE (the
Assistants API and, under the same base URL, the Responses API with background mode).

Start it with ``runbind emulator`` / ``python -m runbind.emulator``, or in-process::

    with Emulator() as emu:  # background thread, free ports on 127.0.0.1
        ...  # point clients at emu.grpc_target and emu.openai_base_url

Assistants (and responses) choose a scripted behaviour (see :data:`BEHAVIOURS`) with an
``emulator`` label or metadata entry such as ``"tools calls=3 delay=0.01"``. Needs the
``emulator`` extra (h11).
:class:`Faults` (``emu.faults``) makes the next requests fail, stall or have their streams cut.
"""

from __future__ import annotations

from ._faults import Faults
from ._script import BEHAVIOURS, Script, parse_script
from ._server import Emulator

__all__ = ["BEHAVIOURS", "Emulator", "Faults", "Script", "parse_script"]
