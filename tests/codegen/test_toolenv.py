"""The tools' environment: the caller's, with overrides, without a coverage tracer's start."""

from __future__ import annotations

import pytest

from codegen.toolenv import tool_env


def test_the_tools_get_the_environment_and_the_overrides_but_no_tracer_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COVERAGE_PROCESS_CONFIG", "{}")
    monkeypatch.setenv("COVERAGE_PROCESS_START", "pyproject.toml")
    monkeypatch.setenv("RUNBIND_TOOLENV_PROBE", "kept")
    monkeypatch.setenv("TZ", "Europe/Moscow")
    env = tool_env(TZ="UTC", LC_ALL="C")
    assert "COVERAGE_PROCESS_CONFIG" not in env
    assert "COVERAGE_PROCESS_START" not in env
    assert env["RUNBIND_TOOLENV_PROBE"] == "kept"
    assert (env["TZ"], env["LC_ALL"]) == ("UTC", "C")
