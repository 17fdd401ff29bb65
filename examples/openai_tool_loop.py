"""A tool-calling loop on the OpenAI Assistants API (REST with server-sent events), blocking.

The run is given two functions; whenever it asks for calls, each is answered by the Python
function of that name, and the run streams on until it answers. Against the real service, make
the client with ``Runs(api_key=...)`` (or ``OPENAI_API_KEY``) instead of the emulator's URL.

    python examples/openai_tool_loop.py
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from _emulator import API_KEY, emulator

from runbind import Tool, ToolCall
from runbind.openai import Runs


def get_weather(city: str, **_: Any) -> str:
    return f"+4 C and light rain in {city}"


def get_time(city: str, **_: Any) -> str:
    return f"14:05 in {city}"


FUNCTIONS: dict[str, Callable[..., str]] = {"get_weather": get_weather, "get_time": get_time}
CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOLS = [
    Tool(type="function", name="get_weather", description="Weather now", parameters=CITY),
    Tool(type="function", name="get_time", description="Local time", parameters=CITY),
]


def answer(call: ToolCall) -> str:
    """What the function the model named returns for its arguments, as JSON text."""
    function = FUNCTIONS[call.name]
    return json.dumps({"result": function(**call.arguments)})


def main() -> None:
    with emulator() as emu, Runs(base_url=emu.openai_base_url, api_key=API_KEY) as runs:
        assistant_id, thread_id = emu.seed(
            "openai", "Weather and time in Oslo?", behaviour="tools calls=2"
        )
        stream = runs.create(assistant_id, thread_id, custom_tools=TOOLS, stream=True)
        while calls := [call for event in stream for call in event.tool_calls]:
            for call in calls:
                print(f"model calls {call.name}({call.arguments_json})")
            stream = runs.submit_tool_results(
                stream.current_run, [call.result(answer(call)) for call in calls], stream=True
            )
        result = runs.get_result(stream.current_run)
        print(f"{result.status_name}: {result.text}")


if __name__ == "__main__":
    main()
