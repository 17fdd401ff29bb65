"""OpenAI run statuses and stream event names, of the Assistants API and of the Responses API:
every value the upstream lists, mapped onto runbind's open vocabulary."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .._core.status import RunStatus, StreamEventKind

__all__ = [
    "OPENAI_EVENT_KINDS",
    "OPENAI_RESPONSE_EVENT_KINDS",
    "OPENAI_RESPONSE_STATUSES",
    "OPENAI_RUN_STATUSES",
]


OPENAI_RUN_STATUSES: Mapping[str, RunStatus] = MappingProxyType(
    {
        "queued": RunStatus.QUEUED,
        "in_progress": RunStatus.IN_PROGRESS,
        "requires_action": RunStatus.REQUIRES_ACTION,
        "cancelling": RunStatus.CANCELLING,
        "cancelled": RunStatus.CANCELLED,
        "failed": RunStatus.FAILED,
        "completed": RunStatus.COMPLETED,
        "incomplete": RunStatus.INCOMPLETE,
        "expired": RunStatus.EXPIRED,
    }
)
"""OpenAI ``RunObject.status`` values to :class:`RunStatus`."""

OPENAI_EVENT_KINDS: Mapping[str, StreamEventKind] = MappingProxyType(
    {
        "thread.created": StreamEventKind.THREAD,
        "thread.run.created": StreamEventKind.RUN,
        "thread.run.queued": StreamEventKind.RUN,
        "thread.run.in_progress": StreamEventKind.RUN,
        "thread.run.requires_action": StreamEventKind.TOOL_CALLS,
        "thread.run.completed": StreamEventKind.DONE,
        "thread.run.incomplete": StreamEventKind.RUN,
        "thread.run.failed": StreamEventKind.ERROR,
        "thread.run.cancelling": StreamEventKind.RUN,
        "thread.run.cancelled": StreamEventKind.RUN,
        "thread.run.expired": StreamEventKind.RUN,
        "thread.run.step.created": StreamEventKind.RUN_STEP,
        "thread.run.step.in_progress": StreamEventKind.RUN_STEP,
        "thread.run.step.delta": StreamEventKind.RUN_STEP,
        "thread.run.step.completed": StreamEventKind.RUN_STEP,
        "thread.run.step.failed": StreamEventKind.RUN_STEP,
        "thread.run.step.cancelled": StreamEventKind.RUN_STEP,
        "thread.run.step.expired": StreamEventKind.RUN_STEP,
        "thread.message.created": StreamEventKind.MESSAGE,
        "thread.message.in_progress": StreamEventKind.MESSAGE,
        "thread.message.delta": StreamEventKind.PARTIAL_MESSAGE,
        "thread.message.completed": StreamEventKind.MESSAGE,
        "thread.message.incomplete": StreamEventKind.MESSAGE,
        "error": StreamEventKind.ERROR,
        "done": StreamEventKind.END,
    }
)
"""OpenAI ``AssistantStreamEvent`` names to kinds."""


OPENAI_RESPONSE_STATUSES: Mapping[str, RunStatus] = MappingProxyType(
    {
        "queued": RunStatus.QUEUED,
        "in_progress": RunStatus.IN_PROGRESS,
        "completed": RunStatus.COMPLETED,
        "failed": RunStatus.FAILED,
        "cancelled": RunStatus.CANCELLED,
        "incomplete": RunStatus.INCOMPLETE,
    }
)
"""OpenAI Responses ``Response.status`` values to :class:`RunStatus`. A completed response
whose output holds function calls without outputs is ``REQUIRES_ACTION`` for runbind (the
adapter decides it from the output; the status stays ``completed`` on the wire)."""

_RESPONSE_STEPS = (
    "audio.delta",
    "audio.done",
    "audio.transcript.delta",
    "audio.transcript.done",
    "code_interpreter_call.completed",
    "code_interpreter_call.in_progress",
    "code_interpreter_call.interpreting",
    "code_interpreter_call_code.delta",
    "code_interpreter_call_code.done",
    "custom_tool_call_input.delta",
    "custom_tool_call_input.done",
    "file_search_call.completed",
    "file_search_call.in_progress",
    "file_search_call.searching",
    "function_call_arguments.delta",
    "function_call_arguments.done",
    "image_generation_call.completed",
    "image_generation_call.generating",
    "image_generation_call.in_progress",
    "image_generation_call.partial_image",
    "mcp_call.completed",
    "mcp_call.failed",
    "mcp_call.in_progress",
    "mcp_call_arguments.delta",
    "mcp_call_arguments.done",
    "mcp_list_tools.completed",
    "mcp_list_tools.failed",
    "mcp_list_tools.in_progress",
    "output_item.added",
    "output_item.done",
    "reasoning_summary_part.added",
    "reasoning_summary_part.done",
    "reasoning_summary_text.delta",
    "reasoning_summary_text.done",
    "reasoning_text.delta",
    "reasoning_text.done",
    "shell_call_command.added",
    "shell_call_command.delta",
    "shell_call_command.done",
    "shell_call_output_content.delta",
    "shell_call_output_content.done",
    "web_search_call.completed",
    "web_search_call.in_progress",
    "web_search_call.searching",
)
"""Events of work on an output item other than the answer's text (a ``RUN_STEP``)."""

OPENAI_RESPONSE_EVENT_KINDS: Mapping[str, StreamEventKind] = MappingProxyType(
    {
        "response.created": StreamEventKind.RUN,
        "response.queued": StreamEventKind.RUN,
        "response.in_progress": StreamEventKind.RUN,
        "response.completed": StreamEventKind.DONE,
        "response.failed": StreamEventKind.ERROR,
        "response.incomplete": StreamEventKind.RUN,
        # Not in the spec (which has no stream event for a cancelled background response): the
        # emulator's, and some compatible servers', last event of a cancelled one.
        "response.cancelled": StreamEventKind.RUN,
        "error": StreamEventKind.ERROR,
        "response.output_text.delta": StreamEventKind.PARTIAL_MESSAGE,
        "response.refusal.delta": StreamEventKind.PARTIAL_MESSAGE,
        "response.output_text.done": StreamEventKind.MESSAGE,
        "response.refusal.done": StreamEventKind.MESSAGE,
        "response.output_text.annotation.added": StreamEventKind.MESSAGE,
        "response.content_part.added": StreamEventKind.MESSAGE,
        "response.content_part.done": StreamEventKind.MESSAGE,
        **{f"response.{name}": StreamEventKind.RUN_STEP for name in _RESPONSE_STEPS},
    }
)
"""OpenAI Responses ``ResponseStreamEvent`` types to kinds. Two are decided by the event, not
here: ``response.completed`` is ``TOOL_CALLS`` when the response asks for function calls, and an
``output_item`` event whose item is a message is a ``MESSAGE``."""
