"""The environment of the third-party tools the pipeline runs (protoc and its plugin,
datamodel-code-generator, ruff, the import check)."""

from __future__ import annotations

import os

__all__ = ["tool_env"]

_TRACER_START = ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")
"""Variables that make a Python process start coverage.py's tracer (its subprocess patch)."""


def tool_env(**overrides: str) -> dict[str, str]:
    """This process's environment with ``overrides``, minus a coverage tracer's start-up
    variables: the tools run none of this project's code, and tracing them made a generation
    half as slow again under the test suite's coverage."""
    env = {k: v for k, v in os.environ.items() if k not in _TRACER_START}
    env.update(overrides)
    return env
