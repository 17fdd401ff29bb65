"""``runbind demo`` (the main job) runs a tool-calling lifecycle per provider via the clients
(Yandex, OpenAI Assistants, OpenAI background responses)."""

from __future__ import annotations

import asyncio
import io

from runbind.emulator._demo import demo
from tests._spec_version import OPENAI, RUNS, requires_generated


# The demo submits Yandex tool results and ends with background responses.
@requires_generated(f"{RUNS}.SubmitToRunRequest", f"{OPENAI}.CreateResponse")
def test_demo_runs_every_lifecycle_to_the_answer() -> None:
    out = io.StringIO()
    asyncio.run(demo(out))
    text = out.getvalue()
    answer = "'get_weather: +3 C; get_weather: +4 C'"
    assert text.count("submitted 2 tool results") == 3, text
    assert f"result: COMPLETED: {answer}" in text, text
    assert f"result: completed: {answer}" in text, text
    assert "TOOL_CALLS: get_weather(" in text
    assert "thread.run.requires_action: get_weather(" in text
    responses = text[text.index("== OpenAI Responses") :]
    assert f"result: completed: {answer}" in responses, text
    assert "response.completed: get_weather(" in responses
    assert responses.count("each once, in order") == 2, text  # the first one cut and resumed
    assert "listened again from sequence number 3: events 3.." in responses
