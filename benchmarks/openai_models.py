"""OpenAI ``Run`` JSON rows: our generated Pydantic model and ``runbind.Run.from_openai`` against
openai-python's ``Run`` model, validated and as its client builds it (``construct_type``)."""

from __future__ import annotations

import json

from openai._models import construct_type
from openai.types.beta.threads import Run as OpenAIRun
from runbind_generated.openai import RunObject

import runbind

from ._payloads import openai_run_json
from ._results import Row
from ._timing import Contender, Settings, compare

__all__ = ["rows"]


def rows(settings: Settings) -> list[Row]:
    """Both OpenAI rows, over the same ~3 KB ``requires_action`` run."""
    text = openai_run_json()
    ours = RunObject.model_validate_json(text)
    theirs = OpenAIRun.model_validate_json(text)
    built = construct_type(type_=OpenAIRun, value=json.loads(text))
    assert isinstance(built, OpenAIRun)
    for run in (theirs, built):
        assert run.required_action is not None
        assert len(run.required_action.submit_tool_outputs.tool_calls) == 3
    assert ours.id == theirs.id == built.id
    assert len(runbind.Run.from_openai(text).tool_calls) == 3

    anchors = [
        Contender("openai Run.model_validate_json", lambda: OpenAIRun.model_validate_json(text)),
        Contender(
            "openai construct_type(json.loads)",
            lambda: construct_type(type_=OpenAIRun, value=json.loads(text)),
        ),
    ]
    note = f"{len(text)} B of JSON; construct_type is openai-python's response path (no checks)"
    model = Contender("RunObject", lambda: RunObject.model_validate_json(text))
    adapter = Contender("Run.from_openai", lambda: runbind.Run.from_openai(text))
    return [
        compare(
            "openai",
            "OpenAI JSON -> RunObject.model_validate_json",
            settings,
            model,
            *anchors,
            note=note,
        ),
        compare(
            "openai",
            "OpenAI JSON -> runbind.Run.from_openai",
            settings,
            adapter,
            *anchors,
            note=note,
        ),
    ]
