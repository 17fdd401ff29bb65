"""One open status vocabulary for runs and stream events, and the tables behind its predicates.

Every predicate (``is_running``, ``is_succeeded``, ``is_failed``, ``is_finished``,
``requires_action``) is a lookup in :data:`RUN_STATUS_TRAITS` or :data:`STREAM_EVENT_TRAITS`;
nothing else decides them. Each provider's table (in its package) maps every value its upstream
lists; a value no table lists becomes ``UNKNOWN`` (raw value kept by the caller), which no
predicate counts as running or finished, so a bounded wait ends on its deadline instead of
exiting early.

Decision: "requires action" (Yandex ``TOOL_CALLS``, OpenAI ``requires_action``) is **not**
finished and **not** succeeded. The run is paused until the caller submits tool results; the
Yandex SDK counts ``TOOL_CALLS`` as succeeded, which hides that a run still has to be resumed.
Every finished status is exactly one of succeeded (``COMPLETED``) or failed (``FAILED``,
``CANCELLED``, ``EXPIRED``, ``INCOMPLETE``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

__all__ = [
    "RUN_STATUS_TRAITS",
    "STREAM_EVENT_TRAITS",
    "RunStatus",
    "StatusTraits",
    "StreamEventKind",
    "unknown_name",
]


class StatusTraits(NamedTuple):
    """One row of a predicate table."""

    running: bool
    succeeded: bool
    failed: bool
    finished: bool
    requires_action: bool


class RunStatus(StrEnum):
    """Where a run is in its lifecycle, the same for every provider.

    A value is also a plain string (``RunStatus.COMPLETED == "completed"``). ``PENDING`` is an
    alias of ``QUEUED`` (the Yandex name). Predicates are read from :data:`RUN_STATUS_TRAITS`.
    """

    UNKNOWN = "unknown"
    UNSPECIFIED = "unspecified"
    QUEUED = "queued"
    PENDING = "queued"
    IN_PROGRESS = "in_progress"
    REQUIRES_ACTION = "requires_action"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    FAILED = "failed"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"
    EXPIRED = "expired"

    @property
    def is_running(self) -> bool:
        """Queued or working: the run will move on without the caller."""
        return RUN_STATUS_TRAITS[self].running

    @property
    def is_succeeded(self) -> bool:
        """Completed with an answer."""
        return RUN_STATUS_TRAITS[self].succeeded

    @property
    def is_failed(self) -> bool:
        """Finished without a complete answer (failed, cancelled, expired, incomplete)."""
        return RUN_STATUS_TRAITS[self].failed

    @property
    def is_finished(self) -> bool:
        """Terminal: the status will not change any more."""
        return RUN_STATUS_TRAITS[self].finished

    @property
    def requires_action(self) -> bool:
        """Paused until the caller submits tool results."""
        return RUN_STATUS_TRAITS[self].requires_action


class StreamEventKind(StrEnum):
    """What a stream event carries, the same for every provider.

    Yandex event types map one to one (``PARTIAL_MESSAGE``, ``TOOL_CALLS``, ``ERROR``, ``DONE``);
    OpenAI's richer vocabulary maps onto them plus ``RUN``, ``RUN_STEP``, ``MESSAGE``, ``THREAD``
    and ``END`` (the table is ``OPENAI_EVENT_KINDS`` in ``runbind/openai/_statuses.py``).
    """

    UNKNOWN = "unknown"
    UNSPECIFIED = "unspecified"
    PARTIAL_MESSAGE = "partial_message"
    TOOL_CALLS = "tool_calls"
    ERROR = "error"
    DONE = "done"
    RUN = "run"
    RUN_STEP = "run_step"
    MESSAGE = "message"
    THREAD = "thread"
    END = "end"


_ = StatusTraits(
    running=False, succeeded=False, failed=False, finished=False, requires_action=False
)
_RUNNING = _._replace(running=True)
_SUCCEEDED = _._replace(succeeded=True, finished=True)
_FAILED = _._replace(failed=True, finished=True)
_ACTION = _._replace(requires_action=True)

RUN_STATUS_TRAITS: Mapping[RunStatus, StatusTraits] = MappingProxyType(
    {
        RunStatus.UNKNOWN: _,
        RunStatus.UNSPECIFIED: _,
        RunStatus.QUEUED: _RUNNING,
        RunStatus.IN_PROGRESS: _RUNNING,
        RunStatus.REQUIRES_ACTION: _ACTION,
        RunStatus.CANCELLING: _RUNNING,
        RunStatus.CANCELLED: _FAILED,
        RunStatus.FAILED: _FAILED,
        RunStatus.COMPLETED: _SUCCEEDED,
        RunStatus.INCOMPLETE: _FAILED,
        RunStatus.EXPIRED: _FAILED,
    }
)
"""The predicates of every run status (the only place they are decided)."""

STREAM_EVENT_TRAITS: Mapping[StreamEventKind, StatusTraits | None] = MappingProxyType(
    {
        StreamEventKind.UNKNOWN: _,
        StreamEventKind.UNSPECIFIED: _,
        StreamEventKind.PARTIAL_MESSAGE: _RUNNING,
        StreamEventKind.TOOL_CALLS: _ACTION,
        StreamEventKind.ERROR: _FAILED,
        StreamEventKind.DONE: _SUCCEEDED,
        StreamEventKind.RUN: None,
        StreamEventKind.RUN_STEP: _RUNNING,
        StreamEventKind.MESSAGE: _RUNNING,
        StreamEventKind.THREAD: _RUNNING,
        StreamEventKind.END: _,
    }
)
"""The predicates of every stream event kind; ``None`` means "those of the run it carries"."""


def unknown_name(raw: object) -> str:
    """The ``status_name`` of a value no table lists, showing the raw value."""
    return f"UNKNOWN({raw!r})"
