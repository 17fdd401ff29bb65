"""``runbind demo`` (the main job) runs a tool-calling lifecycle per provider via the clients."""

from __future__ import annotations

import asyncio
import io

from runbind.emulator._demo import demo


def test_demo_runs_both_lifecycles_to_the_answer() -> None:
    out = io.StringIO()
    asyncio.run(demo(out))
    text = out.getvalue()
    answer = "'get_weather: +3 C; get_weather: +4 C'"
    assert text.count("submitted 2 tool results") == 2, text
    assert f"result: COMPLETED: {answer}" in text, text
    assert f"result: completed: {answer}" in text, text
    assert "TOOL_CALLS: get_weather(" in text
    assert "thread.run.requires_action: get_weather(" in text
