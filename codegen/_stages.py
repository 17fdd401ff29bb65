"""Named points of a bump, where a test may hold it to interrupt it there.

``RUNBIND_BUMP_PAUSE=<stage>:<marker file>`` makes :func:`reached` create the marker file and
wait at that stage until the file is removed (at most a minute), so that a test can send a
signal to a bump at a known point. Without the variable, :func:`reached` does nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_ENV = "RUNBIND_BUMP_PAUSE"
STAGES = (
    "journal",
    "relock",
    "build",
    "generated",
    "buf",
    "layer",
    "report",
    "changelog",
    "rollback",
)
"""The stages in the order a bump reaches them (``build``: inside ``generate``, with the
``generated/.build-*`` folder present; ``rollback``: inside the rollback, signals blocked)."""


def reached(stage: str) -> None:
    """Hold here when the test hook names ``stage``; otherwise return at once."""
    wanted = os.environ.get(PAUSE_ENV, "")
    name, _, marker = wanted.partition(":")
    if name != stage or not marker:
        return
    path = Path(marker)
    path.write_text(stage, encoding="utf-8")
    deadline = time.monotonic() + 60
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
