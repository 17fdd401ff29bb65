"""runbind: typed Python bindings for assistant Runs (Yandex Cloud AI Assistants, OpenAI).

``Run``, ``RunResult`` and ``RunStreamEvent`` give runs of every provider one shape with one
open status vocabulary (``RunStatus``, ``StreamEventKind``); the provider-native generated
objects (package ``runbind_generated``) stay reachable as ``.raw``. The Runs clients live in
``runbind.yandex`` (gRPC) and ``runbind.openai`` (HTTP: ``Runs`` for the Assistants API,
``Responses`` for background responses); ``runbind.emulator`` serves them all locally.
"""

from __future__ import annotations

import typing as _typing

from ._core.errors import (
    APIConnectionError,
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DecodeError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RunbindError,
    RunFailedError,
    RunTimeoutError,
    ServerError,
    SpecVersionError,
    UnsupportedOperationError,
)
from ._core.models import (
    Citation,
    CitationSource,
    ErrorDetails,
    FunctionResultDict,
    IncompleteDetails,
    Message,
    Part,
    PromptTruncationOptions,
    ResponseFormat,
    Tool,
    ToolCall,
    Usage,
)
from ._core.observe import RequestInfo, ResponseInfo
from ._core.paging import AsyncRunList, RunList, RunPage
from ._core.results import to_openai_tool_outputs, to_yandex_tool_results
from ._core.retry import RetryPolicy
from ._core.run import Run, RunResult, RunStreamEvent
from ._core.seam import register as _register
from ._core.status import (
    RUN_STATUS_TRAITS,
    STREAM_EVENT_TRAITS,
    RunStatus,
    StatusTraits,
    StreamEventKind,
)
from ._core.stream import AsyncRunStream, RunStream

__version__ = "0.1.0"

# The providers, each plugged into the core through its adapter (imported on first conversion).
_register("yandex", "runbind.yandex._adapter")
_register("openai", "runbind.openai._adapter")
_register("openai_responses", "runbind.openai._responses_adapter")

if _typing.TYPE_CHECKING:

    class _Upstream(_typing.TypedDict):
        """One upstream the bindings were generated from."""

        repository: str
        commit: str
        committed: str

    class _Provenance(_typing.TypedDict):
        """``__provenance__``: this version and its upstreams by source name."""

        version: str
        upstream: dict[str, _Upstream]

    __provenance__: _Provenance


def __getattr__(name: str) -> object:
    """``__provenance__``: this version and the upstream commits its bindings were generated from.

    Read lazily so that ``import runbind`` does not load the generated package.
    """
    if name == "__provenance__":
        from runbind_generated import __provenance__ as upstream  # noqa: PLC0415

        return {"version": __version__, "upstream": upstream}
    raise AttributeError(f"module 'runbind' has no attribute {name!r}")


__all__ = [
    "RUN_STATUS_TRAITS",
    "STREAM_EVENT_TRAITS",
    "APIConnectionError",
    "ApiError",
    "AsyncRunList",
    "AsyncRunStream",
    "AuthenticationError",
    "BadRequestError",
    "Citation",
    "CitationSource",
    "ConflictError",
    "DecodeError",
    "ErrorDetails",
    "FunctionResultDict",
    "IncompleteDetails",
    "InvalidArgumentError",
    "Message",
    "NotFoundError",
    "Part",
    "PermissionDeniedError",
    "PromptTruncationOptions",
    "RateLimitError",
    "RequestInfo",
    "ResponseFormat",
    "ResponseInfo",
    "RetryPolicy",
    "Run",
    "RunFailedError",
    "RunList",
    "RunPage",
    "RunResult",
    "RunStatus",
    "RunStream",
    "RunStreamEvent",
    "RunTimeoutError",
    "RunbindError",
    "ServerError",
    "SpecVersionError",
    "StatusTraits",
    "StreamEventKind",
    "Tool",
    "ToolCall",
    "UnsupportedOperationError",
    "Usage",
    "__provenance__",
    "__version__",
    "to_openai_tool_outputs",
    "to_yandex_tool_results",
]
