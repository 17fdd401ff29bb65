"""Breaking changes since the released baseline must be accepted or covered by a MAJOR bump."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from codegen import breaks
from codegen.errors import CodegenError
from codegen.lock import PROJECT_ROOT

FIELD = "field yandex.cloud.ai.assistants.v1.runs.Run.{name} = {number} singular string\n"
MESSAGE = "message yandex.cloud.ai.assistants.v1.runs.Run\n"
KEY = "field removed: yandex.cloud.ai.assistants.v1.runs.Run.usage"


def test_the_committed_tree_has_no_unaccepted_break() -> None:
    assert breaks.problems(PROJECT_ROOT) == []


def test_the_baseline_version_is_the_released_one() -> None:
    recorded = (PROJECT_ROOT / breaks.BASELINE / "version").read_text().strip()
    changelog = (PROJECT_ROOT / "CHANGELOG.md").read_text()
    assert f"## {recorded}" in changelog


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A tiny project: a baseline with Run.id and Run.usage, a surface without usage."""
    (tmp_path / "specs" / "surface").mkdir(parents=True)
    (tmp_path / "specs" / "baseline").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0.3.1"\n')
    old = MESSAGE + FIELD.format(name="id", number=1) + FIELD.format(name="usage", number=8)
    (tmp_path / "specs" / "baseline" / "cloudapi.txt").write_text(old)
    (tmp_path / "specs" / "baseline" / "version").write_text("0.3.0\n")
    new = MESSAGE + FIELD.format(name="id", number=1) + FIELD.format(name="labels", number=9)
    (tmp_path / "specs" / "surface" / "cloudapi.txt").write_text(new)
    return tmp_path


def test_an_unaccepted_break_is_a_problem_and_additions_are_not(project: Path) -> None:
    found = breaks.problems(project)
    assert len(found) == 1
    assert KEY in found[0]
    assert "accepted-breaks.toml" in found[0]


def test_accepting_the_break_clears_it(project: Path) -> None:
    (project / breaks.ACCEPTED).write_text(
        f'[[accepted]]\nchange = "{KEY}"\nreason = "upstream dropped it"\n'
    )
    assert breaks.accepted(project) == {KEY: "upstream dropped it"}
    assert breaks.problems(project) == []


def test_a_major_bump_covers_every_break(project: Path) -> None:
    (project / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1.0.0"\n')
    assert breaks.problems(project) == []


@pytest.mark.parametrize(
    "text",
    [
        '[[accepted]]\nchange = "x"\n',
        '[[accepted]]\nchange = "x"\nreason = "  "\n',
        '[[accepted]]\nreason = "r"\n',
        "[[accepted]\n",
    ],
)
def test_a_malformed_accepted_file_is_one_clear_error(project: Path, text: str) -> None:
    (project / breaks.ACCEPTED).write_text(text)
    with pytest.raises(CodegenError, match=r"accepted-breaks\.toml"):
        breaks.problems(project)


def test_no_baseline_means_nothing_to_compare(project: Path) -> None:
    shutil.rmtree(project / "specs" / "baseline")
    assert breaks.problems(project) == []


def test_baseline_records_the_surface_and_version(project: Path) -> None:
    assert breaks.baseline(project) == "0.3.1"
    base = project / breaks.BASELINE
    assert (base / "version").read_text() == "0.3.1\n"
    surface = (project / "specs" / "surface" / "cloudapi.txt").read_text()
    assert (base / "cloudapi.txt").read_text() == surface
    assert breaks.problems(project) == []


# --- buf's findings since the release (specs/surface/<source>.buf.json) -----------------------

LOCK = """\
[tools]

[sources.cloudapi]
repository = "https://github.com/yandex-cloud/cloudapi"
commit = "{commit}"
committed = "2026-07-23"
kind = "proto"
include = ["yandex/**/*.proto"]

[sources.cloudapi.files]
"""
AT = "b" * 40
DELETED = {
    "tool": "buf",
    "rule": "FIELD_NO_DELETE",
    "path": "yandex/cloud/ai/assistants/v1/runs/run.proto",
    "message": 'Previously present field "8" with name "usage" on message "Run" was deleted.',
    "package": "yandex.cloud.ai.assistants.v1.runs",
}
JSON_NAME = DELETED | {
    "rule": "FIELD_SAME_JSON_NAME",
    "message": 'Field "1" with name "id" on message "Run" changed option "json_name" from "id" '
    'to "ID".',
}


def _gate(project: Path, findings: list[dict[str, str]] | None, at: str = AT) -> None:
    (project / "specs" / "lock.toml").write_text(LOCK.format(commit=AT))
    data = {"source": "cloudapi", "since": {"commit": "a" * 40, "date": "2025-01-27"}, "at": at}
    path = breaks.gate_path(project / "specs" / "surface", "cloudapi")
    path.write_text(json.dumps(data | {"findings": findings}))


def test_a_buf_finding_about_a_surface_break_is_one_problem(project: Path) -> None:
    _gate(project, [DELETED])
    (line,) = breaks.problems(project)
    assert KEY in line


def test_a_break_only_buf_saw_is_a_problem_until_accepted(project: Path) -> None:
    _gate(project, [DELETED, JSON_NAME])
    found = breaks.problems(project)
    assert len(found) == 2
    buf_key = f"buf FIELD_SAME_JSON_NAME: {JSON_NAME['path']}: {JSON_NAME['message']}"
    assert any(buf_key in line for line in found)
    (project / breaks.ACCEPTED).write_text(
        f'[[accepted]]\nchange = {json.dumps(KEY)}\nreason = "gone"\n'
        f'[[accepted]]\nchange = {json.dumps(buf_key)}\nreason = "JSON name"\n'
    )
    assert breaks.problems(project) == []


def test_a_bump_without_buf_or_a_moved_lock_is_a_problem(project: Path) -> None:
    _gate(project, None)
    (line,) = [p for p in breaks.problems(project) if KEY not in p]
    assert "buf breaking has not compared cloudapi since aaaaaaaaaaaa" in line
    _gate(project, [], at="c" * 40)
    (line,) = [p for p in breaks.problems(project) if KEY not in p]
    assert "records buf's findings up to cccccccccccc" in line
    assert f"lock has cloudapi at {AT[:12]}" in line
    # A MAJOR version covers an unknown view too.
    (project / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1.0.0"\n')
    assert breaks.problems(project) == []


def test_a_malformed_gate_file_is_one_clear_error(project: Path) -> None:
    _gate(project, [{"tool": "buf"}])
    with pytest.raises(CodegenError, match=r"\.buf\.json finding is malformed"):
        breaks.problems(project)
    breaks.gate_path(project / "specs" / "surface", "cloudapi").write_text("[")
    with pytest.raises(CodegenError, match=r"cloudapi\.buf\.json"):
        breaks.problems(project)


def test_a_release_baseline_clears_the_buf_findings(project: Path) -> None:
    _gate(project, [JSON_NAME])
    breaks.baseline(project)
    assert not breaks.gate_path(project / "specs" / "surface", "cloudapi").exists()
    assert not (project / breaks.BASELINE / "cloudapi.buf.json").exists()
    assert breaks.problems(project) == []
