"""OpenAI run statuses and stream event names: every value the upstream lists, mapped onto
runbind's open vocabulary."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .._core.status import RunStatus, StreamEventKind

__all__ = ["OPENAI_EVENT_KINDS", "OPENAI_RUN_STATUSES"]


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
