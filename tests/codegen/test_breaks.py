"""Breaking changes since the released baseline must be accepted or covered by a MAJOR bump."""

from __future__ import annotations

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
