"""Yandex run statuses and stream event types: every value the upstream lists, mapped onto
runbind's open vocabulary."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .._core.status import RunStatus, StreamEventKind

__all__ = ["YANDEX_EVENT_KINDS", "YANDEX_RUN_STATUSES"]


YANDEX_RUN_STATUSES: Mapping[int, RunStatus] = MappingProxyType(
    {
        0: RunStatus.UNSPECIFIED,  # RUN_STATUS_UNSPECIFIED
        1: RunStatus.QUEUED,  # PENDING
        2: RunStatus.IN_PROGRESS,  # IN_PROGRESS
        3: RunStatus.FAILED,  # FAILED
        4: RunStatus.COMPLETED,  # COMPLETED
        5: RunStatus.REQUIRES_ACTION,  # TOOL_CALLS
    }
)
"""``yandex.cloud.ai.assistants.v1.runs.RunState.RunStatus`` numbers to :class:`RunStatus`."""

YANDEX_EVENT_KINDS: Mapping[int, StreamEventKind] = MappingProxyType(
    {
        0: StreamEventKind.UNSPECIFIED,  # EVENT_TYPE_UNSPECIFIED
        1: StreamEventKind.PARTIAL_MESSAGE,  # PARTIAL_MESSAGE
        2: StreamEventKind.ERROR,  # ERROR
        3: StreamEventKind.DONE,  # DONE
        4: StreamEventKind.TOOL_CALLS,  # TOOL_CALLS
    }
)
"""``yandex.cloud.ai.assistants.v1.runs.StreamEvent.EventType`` numbers to kinds."""
