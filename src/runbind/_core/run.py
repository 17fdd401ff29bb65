"""``Run``, ``RunResult`` and ``RunStreamEvent``: one shape for runs of every provider.

The ``from_yandex`` / ``from_openai`` / ``from_openai_response`` constructors go through the
provider's adapter (see
:mod:`.seam`): pure conversions, no I/O, the provider's code imported on first use so that
``import runbind`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, cast

from .errors import RunFailedError
from .models import (
    Citation,
    ErrorDetails,
    IncompleteDetails,
    Message,
    Part,
    PromptTruncationOptions,
    Provider,
    ResponseFormat,
    Tool,
    ToolCall,
    Usage,
)
from .seam import adapter
from .status import RUN_STATUS_TRAITS, STREAM_EVENT_TRAITS, RunStatus, StatusTraits, StreamEventKind

if TYPE_CHECKING:
    from runbind_generated.openai import (
        AssistantStreamEvent,
        MessageObject,
        Response,
        ResponseStreamEvent,
        RunObject,
    )
    from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import Run as YandexRun
    from runbind_generated.proto.yandex.cloud.ai.assistants.v1.runs import (
        StreamEvent as YandexStreamEvent,
    )
    from typing_extensions import TypeVar

    OpenAIInput = RunObject | Mapping[str, object] | str | bytes
    ResponseInput = Response | Mapping[str, object] | str | bytes

    # The provider-native types ``raw`` holds: ``object`` where the provider is not known, so
    # that a plain ``Run`` stays usable and a ``Run[YandexRun]`` is a ``Run``.
    RawT_co = TypeVar("RawT_co", covariant=True, default=object)
    EventRawT_co = TypeVar("EventRawT_co", covariant=True, default=object)
    _R = TypeVar("_R")
else:
    # typing_extensions costs ``import runbind`` ~15 ms; defaults only matter to type checkers.
    from typing import TypeVar

    RawT_co = TypeVar("RawT_co", covariant=True)
    EventRawT_co = TypeVar("EventRawT_co", covariant=True)
    _R = TypeVar("_R")

__all__ = ["Run", "RunResult", "RunStreamEvent"]

_NO_RAW: Any = None
"""``raw``'s default: a ``Run`` built by hand may have no provider object."""


class _Predicates:
    """The five status predicates, read from the tables in ``_status``."""

    __slots__ = ()

    def _traits(self) -> StatusTraits:
        raise NotImplementedError

    @property
    def is_running(self) -> bool:
        """Queued or working: it will move on without the caller."""
        return self._traits().running

    @property
    def is_succeeded(self) -> bool:
        """Completed with an answer."""
        return self._traits().succeeded

    @property
    def is_failed(self) -> bool:
        """Finished without a complete answer."""
        return self._traits().failed

    @property
    def is_finished(self) -> bool:
        """Terminal: nothing more will happen."""
        return self._traits().finished

    @property
    def requires_action(self) -> bool:
        """Paused until the caller submits tool results."""
        return self._traits().requires_action


class _Answer(_Predicates):
    """``message`` and what is read from it, shared by results and stream events."""

    __slots__ = ()

    _message: Message | None
    error: ErrorDetails | None

    def _status(self) -> RunStatus:
        raise NotImplementedError

    @property
    def message(self) -> Message | None:
        """The answer (or, for a stream event, the content so far); ``None`` when there is none.

        Raises :class:`RunFailedError` when the run failed and left no message.
        """
        if self._message is None and self.is_failed:
            raise RunFailedError(self._status(), self.error)
        return self._message

    @property
    def text(self) -> str | None:
        """The text of :attr:`message`, or ``None`` without a message (e.g. a tool-calls event)."""
        message = self.message
        return None if message is None else message.text

    @property
    def parts(self) -> tuple[Part, ...]:
        """The content parts of :attr:`message` (empty without a message)."""
        message = self.message
        return () if message is None else message.parts

    @property
    def citations(self) -> tuple[Citation, ...]:
        """The citations of :attr:`message` (empty without a message)."""
        message = self.message
        return () if message is None else message.citations


@dataclass(frozen=True, slots=True, kw_only=True)
class Run(_Predicates, Generic[RawT_co]):
    """A run of an assistant on a thread, from either provider.

    Fields a provider does not have are ``None`` (or empty). ``status_raw`` is the provider's
    value (a Yandex number or an OpenAI string) and ``status_name`` its name, which shows the raw
    value when this version does not know it (``status`` is then ``UNKNOWN``). ``raw`` is the
    provider-native generated object, typed by the parameter: the Yandex clients return
    ``Run[runs.Run]``, the OpenAI ones ``Run[RunObject]``, the OpenAI Responses ones
    ``Run[Response]``; a plain ``Run`` has ``raw: object``. ``previous_run_id`` is the run this
    one continues (a response's ``previous_response_id``: a Responses tool loop is a chain of
    runs). An adapter may leave the derived fields in ``DEFERRABLE_FIELDS`` to be built from
    ``raw`` on first read (``register_deferred``).
    """

    provider: Provider
    id: str
    assistant_id: str
    thread_id: str
    status: RunStatus
    status_raw: int | str
    status_name: str
    created_at: datetime | None = None
    created_by: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    custom_temperature: float | None = None
    custom_max_tokens: int | None = None
    custom_max_prompt_tokens: int | None = None
    custom_prompt_truncation_options: PromptTruncationOptions | None = None
    custom_response_format: ResponseFormat | None = None
    tools: tuple[Tool, ...] = ()
    usage: Usage | None = None
    last_error: ErrorDetails | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    completed_message: Message | None = None
    expires_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    failed_at: datetime | None = None
    incomplete_details: IncompleteDetails | None = None
    required_action: str | None = None
    model: str | None = None
    instructions: str | None = None
    previous_run_id: str | None = None
    raw: RawT_co = field(default=_NO_RAW, compare=False, repr=False)

    def _traits(self) -> StatusTraits:
        return RUN_STATUS_TRAITS[self.status]

    @property
    def metadata(self) -> dict[str, str]:
        """The same mapping as :attr:`labels` (OpenAI calls it metadata)."""
        return self.labels

    def result(self, message: Message | None = None) -> RunResult[RawT_co]:
        """This run as a :class:`RunResult`; ``message`` supplies the answer OpenAI keeps apart."""
        return RunResult.from_run(self, message)

    @classmethod
    def from_yandex(cls, run: YandexRun | bytes) -> Run[YandexRun]:
        """A run from a Yandex ``Run`` message or its protobuf bytes."""
        return cast("Run[YandexRun]", adapter("yandex").run(run))

    @classmethod
    def from_openai(cls, run: OpenAIInput) -> Run[RunObject]:
        """A run from an OpenAI ``RunObject``, its JSON text, or its decoded JSON."""
        return cast("Run[RunObject]", adapter("openai").run(run))

    @classmethod
    def from_openai_response(cls, response: ResponseInput) -> Run[Response]:
        """A run from an OpenAI Responses ``Response``, its JSON text, or its decoded JSON.

        A completed response whose output holds function calls without their outputs is
        ``REQUIRES_ACTION`` (``status_raw`` stays ``"completed"``), its calls in ``tool_calls``.
        """
        return cast("Run[Response]", adapter("openai_responses").run(response))


# Fields an adapter may leave unset, to be built from ``raw`` on first read by the builders in
# its ``Adapter.deferred``. Such a run is made by ``object.__new__(Run)`` and setting every other
# field with ``object.__setattr__``; reading an unset field builds it once and keeps the value.
# It is an ordinary frozen ``Run``: equality, ``repr``, pickling, ``replace`` and ``asdict``
# read the fields and so build them (two threads reading one at once may both build it; each
# gets an equal value). An adapter defers only what cannot fail to convert (what can fail it
# converts at once, so that a bad payload is a DecodeError of the adapter call, not of a later
# attribute read).
DEFERRABLE_FIELDS: tuple[str, ...] = (
    "cancelled_at",
    "completed_at",
    "created_at",
    "custom_prompt_truncation_options",
    "custom_response_format",
    "expires_at",
    "failed_at",
    "incomplete_details",
    "labels",
    "last_error",
    "started_at",
    "tool_calls",
    "tools",
    "usage",
)


def _deferrable(name: str) -> property:
    slot = Run.__dict__[name]  # the field's slot, which the property below takes the place of

    def read(run: Run) -> object:
        try:
            return slot.__get__(run, Run)
        except AttributeError:
            value = adapter(run.provider).deferred[name](run.raw)
            slot.__set__(run, value)
            return value

    def write(run: Run, value: object) -> None:  # only object.__setattr__ gets here: Run is frozen
        slot.__set__(run, value)

    return property(read, write, doc=f"The run's ``{name}`` (see :class:`Run`).")


for _name in DEFERRABLE_FIELDS:
    setattr(Run, _name, _deferrable(_name))
del _name


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult(_Answer, Generic[RawT_co]):
    """What a run produced: its status, error, tool calls, usage and answer message.

    Reading :attr:`message` (or ``text``/``parts``/``citations``) of a failed run raises
    :class:`RunFailedError`; while a run has no answer yet they are ``None``/empty.
    """

    status: RunStatus
    status_raw: int | str
    status_name: str
    error: ErrorDetails | None
    tool_calls: tuple[ToolCall, ...]
    usage: Usage | None
    run: Run[RawT_co]
    _message: Message | None = None

    def _traits(self) -> StatusTraits:
        return RUN_STATUS_TRAITS[self.status]

    def _status(self) -> RunStatus:
        return self.status

    @property
    def raw(self) -> RawT_co:
        """The provider-native run this result was read from."""
        return self.run.raw

    @classmethod
    def from_run(
        cls: type[RunResult[_R]], run: Run[_R], message: Message | None = None
    ) -> RunResult[_R]:
        """The result of ``run``; ``message`` overrides the run's own completed message."""
        return cls(
            status=run.status,
            status_raw=run.status_raw,
            status_name=run.status_name,
            error=run.last_error,
            tool_calls=run.tool_calls,
            usage=run.usage,
            run=run,
            _message=message if message is not None else run.completed_message,
        )

    @classmethod
    def from_yandex(cls, run: YandexRun | bytes) -> RunResult[YandexRun]:
        """The result of a Yandex ``Run`` (message or bytes), answered by its completed message."""
        return RunResult.from_run(Run.from_yandex(run))

    @classmethod
    def from_openai(
        cls, run: OpenAIInput, message: MessageObject | Mapping[str, object] | None = None
    ) -> RunResult[RunObject]:
        """The result of an OpenAI run; OpenAI keeps the answer apart, pass it as ``message``."""
        answer = None if message is None else adapter("openai").message(message)
        return RunResult.from_run(Run.from_openai(run), answer)

    @classmethod
    def from_openai_response(cls, response: ResponseInput) -> RunResult[Response]:
        """The result of an OpenAI Responses ``Response``, answered by its output message."""
        return RunResult.from_run(Run.from_openai_response(response))


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStreamEvent(_Answer, Generic[EventRawT_co, RawT_co]):
    """One event of a run's stream.

    ``status`` is the event kind (as in the Yandex SDK) and ``event_index`` the stream cursor to
    resume from. ``run`` and ``run_status`` are set for events that carry a run (OpenAI
    ``thread.run.*``). Predicates follow :data:`~runbind.STREAM_EVENT_TRAITS`; a ``RUN`` event
    takes those of the run status it carries. ``RunStreamEvent[E, R]`` types ``raw`` as the
    provider's event ``E`` and ``run`` as ``Run[R]``.
    """

    provider: Provider
    status: StreamEventKind
    status_raw: int | str
    status_name: str
    event_index: int
    error: ErrorDetails | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    run: Run[RawT_co] | None = None
    _message: Message | None = None
    raw: EventRawT_co = field(default=_NO_RAW, compare=False, repr=False)

    def _traits(self) -> StatusTraits:
        traits = STREAM_EVENT_TRAITS[self.status]
        if traits is None:
            return RUN_STATUS_TRAITS[self.run.status if self.run else RunStatus.UNKNOWN]
        return traits

    def _status(self) -> RunStatus:
        if self.run is not None:
            return self.run.status
        return RunStatus.FAILED if self.is_failed else RunStatus.UNKNOWN

    @property
    def run_status(self) -> RunStatus | None:
        """The status of the run this event carries, if it carries one."""
        return None if self.run is None else self.run.status

    @classmethod
    def from_yandex(
        cls, event: YandexStreamEvent | bytes
    ) -> RunStreamEvent[YandexStreamEvent, YandexRun]:
        """An event from a Yandex ``StreamEvent`` message or its bytes (cursor from the event)."""
        return cast("RunStreamEvent[YandexStreamEvent, YandexRun]", adapter("yandex").event(event))

    @classmethod
    def from_openai(
        cls, event: AssistantStreamEvent | Mapping[str, object] | str | bytes, *, event_index: int
    ) -> RunStreamEvent[AssistantStreamEvent, RunObject]:
        """An event from an OpenAI stream event (model, ``{"event", "data"}`` dict, or its JSON).

        OpenAI streams have no cursor: ``event_index`` is the event's position in the stream.
        """
        event_ = adapter("openai").event(event, event_index)
        return cast("RunStreamEvent[AssistantStreamEvent, RunObject]", event_)

    @classmethod
    def from_openai_response(
        cls,
        event: ResponseStreamEvent | Mapping[str, object] | str | bytes,
        *,
        event_index: int | None = None,
    ) -> RunStreamEvent[ResponseStreamEvent, Response]:
        """An event from an OpenAI Responses stream event (model, decoded JSON, or its JSON).

        Its ``event_index`` is its ``sequence_number`` (the cursor ``starting_after`` resumes
        from); the ``event_index`` given is used only for an event without one (a type this
        version does not know, from a server that numbers none). An event carrying a response
        (``response.created``, ``response.completed``...) carries it as ``run``.
        """
        event_ = adapter("openai_responses").event(event, event_index)
        return cast("RunStreamEvent[ResponseStreamEvent, Response]", event_)
