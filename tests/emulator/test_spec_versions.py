"""runbind and its emulator against code generated at the mirror's previous openai-openapi
commit (2024-12-18: no Responses API, no ``ErrorResponse`` in the slice): both import, the
Assistants API works, and what needs a missing name is a SpecVersionError naming it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests._previous import build, previous_commits

PROJECT_ROOT = Path(__file__).resolve().parents[2]
OPENAI = "openai-openapi"

# Run in a fresh interpreter whose runbind_generated is the previous build.
SCRIPT = r"""
import json, urllib.error, urllib.request
import runbind, runbind.emulator
from runbind import Run, SpecVersionError
from runbind._core.generated import has_field, need

out = {"commit": runbind.__provenance__["upstream"]["openai-openapi"]["commit"]}
out["has_error_response"] = hasattr(__import__("runbind_generated.openai").openai, "ErrorResponse")
for what, call in (
    ("Responses", lambda: runbind.openai.Responses),
    ("from_openai_response", lambda: Run.from_openai_response({"id": "resp_1"})),
    ("need", lambda: need("runbind_generated.openai", "ErrorResponse")),
):
    try:
        call()
        out[what] = None
    except SpecVersionError as exc:
        out[what] = [exc.name, exc.spec, str(exc)]
with runbind.emulator.Emulator() as emu:
    assistant, thread = emu.seed("openai", "hello there world")
    runs = runbind.openai.Runs(api_key="emulator", base_url=emu.openai_base_url)
    try:
        result = runs.wait(runs.create(assistant, thread))
        out["run"] = [result.status.value, result.text]
    finally:
        runs.close()
    for path, body in (("/no/such/path", None), ("/responses", b'{"model":"m","input":"hi"}')):
        request = urllib.request.Request(
            emu.openai_base_url + path,
            data=body,
            method="GET" if body is None else "POST",
            headers={"content-type": "application/json", "authorization": "Bearer emulator"},
        )
        try:
            urllib.request.urlopen(request, timeout=10)
            out[path] = None
        except urllib.error.HTTPError as exc:
            out[path] = [exc.code, json.loads(exc.read())]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def previous_openai(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``runbind_generated`` built with openai-openapi at the mirror's previous commit."""
    dest = tmp_path_factory.mktemp("previous-openai")
    build(dest, [OPENAI])
    return dest / "generated"


@pytest.fixture(scope="module")
def outcome(previous_openai: Path) -> dict[str, Any]:
    """What the script saw, run against the previous build."""
    path = os.pathsep.join([str(PROJECT_ROOT / "src"), str(previous_openai), str(PROJECT_ROOT)])
    env = {**os.environ, "PYTHONPATH": path}
    argv = [sys.executable, "-c", SCRIPT]
    proc = subprocess.run(argv, check=False, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


def test_runbind_and_the_emulator_import_and_the_assistants_api_works(
    outcome: dict[str, Any],
) -> None:
    commit, _ = previous_commits()[OPENAI]
    assert outcome["commit"] == commit
    assert outcome["has_error_response"] is False  # the point of this build
    assert outcome["run"] == ["completed", "hello there world"]


def test_what_needs_a_missing_name_is_a_spec_version_error_naming_it(
    outcome: dict[str, Any],
) -> None:
    commit, _ = previous_commits()[OPENAI]
    spec = f"{OPENAI}@{commit}"
    assert outcome["need"][:2] == ["runbind_generated.openai.ErrorResponse", spec]
    for what in ("Responses", "from_openai_response"):
        name, got_spec, message = outcome[what]
        assert name.startswith("runbind_generated.openai.")
        assert got_spec == spec
        assert name in message
        assert spec in message


def test_the_emulator_answers_errors_in_the_spec_shape_and_names_a_missing_api(
    outcome: dict[str, Any],
) -> None:
    status, body = outcome["/no/such/path"]
    assert status == 404
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    status, body = outcome["/responses"]
    assert status == 404
    assert "runbind_generated.openai.CreateResponse" in body["error"]["message"]
    assert previous_commits()[OPENAI][0] in body["error"]["message"]
