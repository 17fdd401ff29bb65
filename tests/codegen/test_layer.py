"""codegen.layer: a bump proves runbind's layer on the new generated code, refuses one that
breaks it (report kept, section "Effect on runbind"), or adopts it on request and check fails."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from codegen import layer, lock
from codegen.bump import bump
from codegen.errors import CodegenError
from codegen.lock import PROJECT_ROOT
from tests.codegen._mirror import copy_files, link_mirror, offline, replace_once, synthetic
from tests.codegen.test_bump import (
    CLOUD,
    CLOUD_NEW,
    CLOUD_REPO,
    RUN_PROTO,
    file_digests,
    make_scratch,
)

# A synthetic cloudapi commit (temp mirror only): Run.custom_response_format (field 12) removed,
# a field that runbind.yandex._adapter reads.
NO_FORMAT, NO_FORMAT_DATE = "f00d" * 10, "2026-09-05"
# One module keeps these tests short; the bump's default is the whole layer.LAYER_TESTS.
ADAPTER_TESTS = ("tests/yandex/test_adapter.py",)


@pytest.fixture(scope="module", autouse=True)
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The real mirror's commits (symlinked) plus NO_FORMAT; network disabled."""
    root = tmp_path_factory.mktemp("mirror")
    index = link_mirror(root)
    cloud = root / "yandex-cloud" / "cloudapi"
    copy_files(cloud / CLOUD_NEW, cloud / NO_FORMAT)
    replace_once(
        cloud / NO_FORMAT / RUN_PROTO, "  ResponseFormat custom_response_format = 12;\n", ""
    )
    index.append(synthetic(CLOUD_REPO, NO_FORMAT, NO_FORMAT_DATE))
    with offline(root, index):
        yield root


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch project at the locked commits (its generated/ copied from the project)."""
    return make_scratch(tmp_path_factory.mktemp("layer") / "root")


@pytest.fixture(scope="module")
def refused(scratch: Path) -> tuple[CodegenError, dict[str, str], dict[str, str]]:
    """The bump to NO_FORMAT, refused: its error and the tree digests before and after."""
    before = file_digests(scratch)
    with pytest.raises(CodegenError) as caught:
        bump(CLOUD, NO_FORMAT, root=scratch, layer_tests=ADAPTER_TESTS)
    return caught.value, before, file_digests(scratch)


def _refused_report(root: Path) -> Path:
    return root / "specs" / "changes" / CLOUD / f"{CLOUD_NEW[:12]}-{NO_FORMAT[:12]}.refused.md"


# --- the subset -------------------------------------------------------------------------------


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_layer_tests_exist_and_cover_the_three_parts_of_the_layer() -> None:
    imported: set[str] = set()
    for rel in layer.LAYER_TESTS:
        path = PROJECT_ROOT / rel
        assert path.is_file(), rel
        imported |= _imports(path)
    for part in ("runbind.yandex", "runbind.openai", "runbind.emulator"):
        assert any(name == part or name.startswith(part + ".") for name in imported), part
    # Each uses generated code, directly or through the layer it tests.
    for rel in layer.LAYER_TESTS:
        names = _imports(PROJECT_ROOT / rel)
        assert any(n.startswith(("runbind_generated", "runbind.")) for n in names), rel


def test_missing_names_come_from_the_error_lines() -> None:
    failures = [
        layer.Failure("a", "ImportError: cannot import name 'ErrorResponse' from 'pkg.models' (x)"),
        layer.Failure(
            "b", "AttributeError: 'Run' object has no attribute 'custom_response_format'"
        ),
        layer.Failure("c", "TypeError: Run.__init__() got an unexpected keyword argument 'usage'"),
        layer.Failure("d", "TypeError: f() got an unexpected keyword argument 'fmt'"),
        layer.Failure("e", "AssertionError: assert 1 == 2"),
    ]
    assert layer.missing_names(failures) == [
        "Run.custom_response_format",
        "Run.usage",
        "fmt",
        "pkg.models.ErrorResponse",
    ]


def test_the_proof_passes_on_the_current_generated_code() -> None:
    effect = layer.prove(PROJECT_ROOT / "generated", tests=ADAPTER_TESTS)
    assert not effect.broken, effect.failures[:3]
    assert effect.passed > 50
    assert effect.markdown()[:2] == ["## Effect on runbind", ""]
    assert effect.markdown()[2].startswith(f"None: {effect.passed} tests")


# --- a bump that removes a field the layer reads ----------------------------------------------


def test_a_bump_that_breaks_the_layer_is_refused_and_rolled_back(
    refused: tuple[CodegenError, dict[str, str], dict[str, str]], scratch: Path
) -> None:
    error, before, after = refused
    message = str(error)
    assert "breaks runbind's layer" in message
    assert "not adopted, rolled back" in message
    assert "Run.custom_response_format" in message
    assert _refused_report(scratch).relative_to(scratch).as_posix() in message
    assert "--allow-broken-layer" in message
    assert after == before  # lock, CHANGELOG, surfaces, generated/
    assert lock.load(scratch / "specs" / "lock.toml").source(CLOUD).commit == CLOUD_NEW
    assert not (scratch / layer.MARKER).exists()
    stem = f"{CLOUD_NEW[:12]}-{NO_FORMAT[:12]}"
    assert not (scratch / "specs" / "changes" / CLOUD / f"{stem}.md").exists()
    assert not list((scratch / "generated").glob(".build-*"))


def test_the_refused_bump_keeps_its_report_with_the_effect_on_runbind(
    refused: tuple[CodegenError, dict[str, str], dict[str, str]], scratch: Path
) -> None:
    markdown = _refused_report(scratch).read_text(encoding="utf-8")
    section = markdown[markdown.index("## Effect on runbind") :]
    assert "**Not adopted**" in section
    assert "`Run.custom_response_format`" in section  # the missing generated name
    assert "`tests/yandex/test_adapter.py::" in section  # where it broke
    # The first error line of a failing test names the field (an AttributeError before the layer
    # degraded cleanly; now the test's own Run(custom_response_format=...) or SpecVersionError).
    assert re.search(r"`\w+(Error|Exception): [^`\n]*'?custom_response_format", section)
    # The surface part of the report is there too.
    assert "field removed: `yandex.cloud.ai.assistants.v1.runs.Run.custom_response_format`" in (
        markdown
    )
    data = json.loads(_refused_report(scratch).with_suffix(".json").read_text(encoding="utf-8"))
    effect = data["effect_on_runbind"]
    assert effect["broken"]
    assert effect["refused"]
    assert not effect["adopted_broken"]
    assert effect["tests"] == list(ADAPTER_TESTS)
    assert effect["failures"]
    assert all(f["test"].startswith("tests/yandex/test_adapter.py::") for f in effect["failures"])
    assert "Run.custom_response_format" in effect["missing_names"]


def test_allow_broken_layer_adopts_it_and_check_fails_until_the_layer_passes(
    refused: tuple[CodegenError, dict[str, str], dict[str, str]], scratch: Path, tmp_path: Path
) -> None:
    good = tmp_path / "generated"
    shutil.copytree(scratch / "generated", good, ignore=shutil.ignore_patterns("__pycache__"))
    result = bump(
        CLOUD, NO_FORMAT, root=scratch, layer_tests=ADAPTER_TESTS, allow_broken_layer=True
    )
    assert result.effect is not None
    assert result.effect.broken
    assert result.effect.adopted_broken
    assert lock.load(scratch / "specs" / "lock.toml").source(CLOUD).commit == NO_FORMAT
    stem = scratch / "specs" / "changes" / CLOUD / f"{CLOUD_NEW[:12]}-{NO_FORMAT[:12]}"
    markdown = stem.with_suffix(".md").read_text(encoding="utf-8")
    assert "**Adopted with `--allow-broken-layer`**" in markdown
    assert "python -m codegen check` fails" in markdown
    assert not _refused_report(scratch).exists()  # the earlier refusal is superseded
    marker = layer.read_marker(scratch)
    assert marker is not None
    assert marker["commit"] == NO_FORMAT
    assert marker["report"] == stem.with_suffix(".md").relative_to(scratch).as_posix()
    problems = layer.check_marker(scratch, tests=ADAPTER_TESTS)
    assert len(problems) == 1
    assert problems[0].startswith("check: runbind's layer is broken since the bump of cloudapi")
    assert "Run.custom_response_format" in problems[0]
    assert (scratch / layer.MARKER).is_file()
    # The layer works again (here: the generated code it was written for is back): check
    # passes and removes the marker.
    shutil.rmtree(scratch / "generated")
    shutil.copytree(good, scratch / "generated")
    assert layer.check_marker(scratch, tests=ADAPTER_TESTS) == []
    assert not (scratch / layer.MARKER).exists()


def test_the_cli_offers_allow_broken_layer() -> None:
    argv = [sys.executable, "-m", "codegen", "bump", "--help"]
    proc = subprocess.run(argv, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "--allow-broken-layer" in proc.stdout
