"""codegen.eol: upstream removing the Assistants API gets a removal report and the end-of-life
proposal; with the marking in the lock, generation keeps the frozen models; stale naming map
entries are removed by the bump, each in the report."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from codegen import eol, lock
from codegen.bump import bump
from codegen.errors import CodegenError
from codegen.fetch import fetch_source
from codegen.openapi._spec import ASSISTANTS, RESPONSES, iter_refs, load_spec, slice_spec
from codegen.report import parse_surface
from tests.codegen._mirror import link_mirror, offline, synthetic
from tests.codegen.test_bump import (
    OPENAI,
    OPENAI_NEW,
    OPENAI_OLD,
    OPENAI_OLD_DATE,
    OPENAI_REPO,
    _without_runs_path,
    file_digests,
    make_scratch,
)

# Synthetic openai-openapi commits (temp mirror only), built from the locked openapi.yaml.
NO_ASSISTANTS, NO_ASSISTANTS_DATE = "ab5e" * 10, "2026-09-10"  # no /assistants, /threads
NO_RUNS, NO_RUNS_DATE = "0ddba11" * 5 + "00000", "2026-09-11"  # no /threads/{id}/runs
NO_CANCEL, NO_CANCEL_DATE = "c0ffee" * 6 + "0000", "2026-09-12"  # no /responses/{id}/cancel
CANCEL = "/responses/{response_id}/cancel"
# A real upstream commit (mirror role "history") that has no openapi.yaml at all.
NO_SPEC, NO_SPEC_DATE = "e1cb7a86ad53bb818c106ac7875e2a78182bb120", "2025-06-17"
# A real upstream commit (role "history") from before the Responses API.
HISTORY_2025, HISTORY_2025_DATE = "a173760299883c3c8aa22ff700cc9b30c1b02003", "2025-02-10"
OPENAI_TESTS = ("tests/openai/test_adapter.py",)


def _without_assistants(doc: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """``doc`` less the Assistants paths and the schemas only they use; and those schemas."""
    doc = {
        **doc,
        "paths": {
            k: v for k, v in doc["paths"].items() if not k.startswith(ASSISTANTS.path_prefixes)
        },
    }
    schemas = dict(doc["components"]["schemas"])
    assistants = set(slice_spec(load_spec_cache["doc"], [ASSISTANTS])["components"]["schemas"])
    responses = set(slice_spec(load_spec_cache["doc"], [RESPONSES])["components"]["schemas"])
    candidates = assistants - responses
    while True:  # keep a candidate that anything left still refers to
        rest = {k: v for k, v in schemas.items() if k not in candidates}
        used = {ref.rsplit("/", 1)[1] for ref in iter_refs([doc["paths"], rest])}
        used |= {ref.rsplit("/", 1)[1] for ref in iter_refs(doc.get("x-oaiMeta", {}))}
        keep = candidates & used
        if not keep:
            break
        candidates -= keep
    doc["components"] = {
        **doc["components"],
        "schemas": {k: v for k, v in schemas.items() if k not in candidates},
    }
    return doc, candidates


load_spec_cache: dict[str, Any] = {}


def _dump(doc: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    path.write_text(
        yaml.dump(doc, Dumper=dumper, sort_keys=False, allow_unicode=True, width=1 << 16),
        encoding="utf-8",
    )


@pytest.fixture(scope="module", autouse=True)
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The real mirror's commits (symlinked) plus NO_ASSISTANTS and NO_RUNS; network off."""
    root = tmp_path_factory.mktemp("mirror")
    index = link_mirror(root)
    openai = root / "openai" / "openai-openapi"
    current = openai / OPENAI_NEW / "openapi.yaml"
    load_spec_cache["doc"] = load_spec(current)
    doc, dropped = _without_assistants(load_spec_cache["doc"])
    load_spec_cache["dropped"] = dropped
    _dump(doc, openai / NO_ASSISTANTS / "openapi.yaml")
    (openai / NO_RUNS).mkdir()
    text = _without_runs_path(current.read_text(encoding="utf-8"))
    (openai / NO_RUNS / "openapi.yaml").write_text(text, encoding="utf-8")
    no_cancel = dict(load_spec_cache["doc"])
    no_cancel["paths"] = {k: v for k, v in no_cancel["paths"].items() if k != CANCEL}
    assert len(no_cancel["paths"]) == len(load_spec_cache["doc"]["paths"]) - 1
    _dump(no_cancel, openai / NO_CANCEL / "openapi.yaml")
    made = (
        (NO_ASSISTANTS, NO_ASSISTANTS_DATE),
        (NO_RUNS, NO_RUNS_DATE),
        (NO_CANCEL, NO_CANCEL_DATE),
    )
    for commit, _ in made:
        shutil.copyfile(openai / OPENAI_NEW / "LICENSE", openai / commit / "LICENSE")
    index += [synthetic(OPENAI_REPO, commit, date) for commit, date in made]
    with offline(root, index):
        yield root


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_scratch(tmp_path_factory.mktemp("eol") / "root")


def _surface(root: Path) -> dict[tuple[str, str], str]:
    path = root / "specs" / "surface" / f"{OPENAI}.txt"
    return parse_surface(path.read_text(encoding="utf-8"))


# --- the lock ---------------------------------------------------------------------------------


def test_the_end_of_life_marking_round_trips_through_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "lock.toml"
    shutil.copyfile(lock.LOCK_PATH, path)
    source = lock.load(path).source(OPENAI)
    marked = eol.mark(path, OPENAI, ["assistants"]).source(OPENAI)
    frozen = marked.end_of_life["assistants"]
    assert (frozen.commit, frozen.committed) == (source.commit, source.committed)
    assert dict(frozen.files) == dict(source.files)
    assert lock.load(path) == lock.load(path)
    assert lock.dumps(lock.load(path)) == path.read_text(encoding="utf-8")
    assert eol.proposal(source, ["assistants"]) in path.read_text(encoding="utf-8")
    with pytest.raises(CodegenError, match="has no slice part 'chat'"):
        eol.mark(path, OPENAI, ["chat"])


# --- upstream without the Assistants paths -------------------------------------------------------


def test_an_upstream_without_the_assistants_paths_gets_a_removal_report(scratch: Path) -> None:
    before = file_digests(scratch)
    names = (scratch / "specs" / "openai-names.toml").read_bytes()
    started = time.perf_counter()
    with pytest.raises(CodegenError) as caught:
        bump(OPENAI, NO_ASSISTANTS, root=scratch, layer=False)
    print(f"removal report in {time.perf_counter() - started:.1f} s")
    message = str(caught.value)
    assert "removes the slice part(s) assistants" in message
    assert f"`python -m codegen end-of-life {OPENAI} assistants`, then bump again" in message
    assert file_digests(scratch) == before  # nothing moved
    assert (scratch / "specs" / "openai-names.toml").read_bytes() == names
    stem = scratch / "specs" / "changes" / OPENAI / f"{OPENAI_NEW[:12]}-{NO_ASSISTANTS[:12]}"
    md = stem.with_suffix(".removal.md")
    assert md.relative_to(scratch).as_posix() in message
    markdown = md.read_text(encoding="utf-8")
    assert "## Removed: assistants" in markdown
    assert "- `GET /assistants (listAssistants)`" in markdown
    assert "- `POST /threads/{thread_id}/runs (createRun)`" in markdown
    assert "`/responses" not in markdown  # the live part is not reported
    for name in sorted(load_spec_cache["dropped"])[:20]:
        assert f"- `{name}`" in markdown
    assert "- `RunObject`" in markdown
    proposal = eol.proposal(
        lock.load(scratch / "specs" / "lock.toml").source(OPENAI), ["assistants"]
    )
    assert f"```toml\n{proposal}```" in markdown
    assert f'[sources.{OPENAI}.end-of-life.assistants]\ncommit = "{OPENAI_NEW}"' in proposal
    data = json.loads(md.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["removed_parts"] == ["assistants"]
    assert not data["spec_missing"]
    assert set(data["schemas_removed"]["assistants"]) == load_spec_cache["dropped"]
    assert data["proposal"]["lock"] == proposal


def test_with_the_marking_the_bump_keeps_the_frozen_models(scratch: Path) -> None:
    old_surface = _surface(scratch)
    eol.mark(scratch / "specs" / "lock.toml", OPENAI, ["assistants"])
    result = bump(OPENAI, NO_ASSISTANTS, root=scratch, layer_tests=OPENAI_TESTS)
    moved = lock.load(scratch / "specs" / "lock.toml").source(OPENAI)
    assert moved.commit == NO_ASSISTANTS
    assert moved.end_of_life["assistants"].commit == OPENAI_NEW
    # The models are the frozen ones: the surface is the same, model by model.
    assert _surface(scratch) == old_surface
    assert result.changes == []
    for name in load_spec_cache["dropped"]:
        if ("model", name) in old_surface:
            assert ("model", name) in _surface(scratch)
    # The release notes say so.
    changelog = (scratch / "CHANGELOG.md").read_text(encoding="utf-8")
    entry = changelog[changelog.index(f"### {OPENAI}: {OPENAI_NEW[:12]}") :]
    assert entry.split("\n")[2] == (
        f"- End of life: `assistants` removed upstream; its models stay frozen at "
        f"{OPENAI_NEW[:12]} (2026-08-21) and keep working."
    )
    # And they keep working: runbind's layer passes on them.
    assert result.effect is not None
    assert not result.effect.broken, result.effect.failures[:3]


def test_the_real_commit_without_openapi_yaml_is_a_removal_of_the_whole_slice(
    tmp_path: Path,
) -> None:
    root = make_scratch(tmp_path / "root")
    with pytest.raises(CodegenError, match="removes the slice part") as caught:
        bump(OPENAI, NO_SPEC, root=root, layer=False)
    assert "openapi.yaml is gone" in str(caught.value)
    md = root / "specs" / "changes" / OPENAI / f"{OPENAI_NEW[:12]}-{NO_SPEC[:12]}.removal.md"
    markdown = md.read_text(encoding="utf-8")
    assert "`openapi.yaml` is not in the new commit" in markdown
    assert "## Removed: assistants" in markdown
    assert "## Removed: responses" in markdown
    assert "- `POST /responses (createResponse)`" in markdown
    # Both parts frozen: the bump goes through, generated from the frozen spec alone.
    eol.mark(root / "specs" / "lock.toml", OPENAI, ["assistants", "responses"])
    before = _surface(root)
    result = bump(OPENAI, NO_SPEC, NO_SPEC_DATE, root=root, layer=False)
    assert result.changes == []
    assert _surface(root) == before
    assert "openapi.yaml" not in lock.load(root / "specs" / "lock.toml").source(OPENAI).files


# --- a partial removal: the naming map cleans itself ------------------------------------------


def test_a_partial_removal_cleans_the_naming_map_and_reports_it(tmp_path: Path) -> None:
    root = make_scratch(tmp_path / "root")
    names = root / "specs" / "openai-names.toml"
    assert '"CreateRunRequest.tools[]" = "AssistantTool"' in names.read_text(encoding="utf-8")
    result = bump(OPENAI, NO_RUNS, root=root, layer=False)
    assert '"CreateRunRequest.tools[]"' not in names.read_text(encoding="utf-8")
    assert len(result.naming) == 1
    assert '"CreateRunRequest.tools[]" = "AssistantTool"' in result.naming[0]
    markdown = (
        root / "specs" / "changes" / OPENAI / f"{OPENAI_NEW[:12]}-{NO_RUNS[:12]}.md"
    ).read_text(encoding="utf-8")
    assert "## Naming map (specs/openai-names.toml)" in markdown
    assert result.naming[0] in markdown
    assert "operation removed: `POST /threads/{thread_id}/runs`" in markdown


def test_an_exact_slice_path_removed_gets_a_report_and_the_next_step(tmp_path: Path) -> None:
    root = make_scratch(tmp_path / "root")
    before = file_digests(root)
    with pytest.raises(CodegenError) as caught:
        bump(OPENAI, NO_CANCEL, root=root, layer=False)
    message = str(caught.value)
    assert f"removes slice paths {CANCEL}" in message
    assert "drop them from SlicePart.paths in codegen/openapi/_spec.py" in message
    assert file_digests(root) == before
    md = root / "specs" / "changes" / OPENAI / f"{OPENAI_NEW[:12]}-{NO_CANCEL[:12]}.removal.md"
    markdown = md.read_text(encoding="utf-8")
    assert "## Paths removed from responses\n" in markdown
    assert f"- `{CANCEL}`" in markdown
    assert "end-of-life" not in markdown  # the part itself is still upstream
    data = json.loads(md.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["paths_removed"] == {"responses": [CANCEL]}


def test_a_part_the_old_commit_did_not_have_is_not_a_removal(tmp_path: Path) -> None:
    # Both real commits predate the Responses API: moving between them removes nothing.
    old = lock.relock(lock.load(), OPENAI, OPENAI_OLD, OPENAI_OLD_DATE).source(OPENAI)
    old_dir = fetch_source(old, tmp_path / "upstream")
    assert eol.removed_parts(old, HISTORY_2025, HISTORY_2025_DATE, old_dir) is None
    # From the current commit, a commit without the Responses paths removes that part.
    current = lock.load().source(OPENAI)
    current_dir = fetch_source(current, tmp_path / "upstream-current")
    removal = eol.removed_parts(current, HISTORY_2025, HISTORY_2025_DATE, current_dir)
    assert removal is not None
    assert removal.parts == ("responses",)
