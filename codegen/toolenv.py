"""The environment of the processes the pipeline starts: the third-party tools (protoc and its
plugin, datamodel-code-generator, ruff, the import check) and the layer proof's pytest."""

from __future__ import annotations

import os

__all__ = ["tool_env"]

_TRACER_START = ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")
"""Variables that make a Python process start coverage.py's tracer (its subprocess patch)."""


def tool_env(**overrides: str) -> dict[str, str]:
    """This process's environment with ``overrides``, minus a coverage tracer's start-up
    variables: the tools run none of this project's code and the layer proof reruns tests the
    suite runs itself, while tracing them made a generation half as slow again under the test
    suite's coverage."""
    env = {k: v for k, v in os.environ.items() if k not in _TRACER_START}
    env.update(overrides)
    return env
