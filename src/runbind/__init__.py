"""runbind: typed Python bindings for assistant Runs (Yandex Cloud AI Assistants, OpenAI).

``Run``, ``RunResult`` and ``RunStreamEvent`` give runs of both providers one shape with one
open status vocabulary (``RunStatus``, ``StreamEventKind``); the provider-native generated
objects (package ``runbind_generated``) stay reachable as ``.raw``.
"""

from __future__ import annotations

from ._errors import (
    ApiError,
    DecodeError,
    InvalidArgumentError,
    RunbindError,
    RunFailedError,
    RunTimeoutError,
    UnsupportedOperationError,
)
from ._models import (
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
from ._run import Run, RunResult, RunStreamEvent
from ._status import (
    RUN_STATUS_TRAITS,
    STREAM_EVENT_TRAITS,
    RunStatus,
    StatusTraits,
    StreamEventKind,
)
from ._tool_results import to_openai_tool_outputs, to_yandex_tool_results

__version__ = "0.1.0"

__all__ = [
    "RUN_STATUS_TRAITS",
    "STREAM_EVENT_TRAITS",
    "ApiError",
    "Citation",
    "CitationSource",
    "DecodeError",
    "ErrorDetails",
    "FunctionResultDict",
    "IncompleteDetails",
    "InvalidArgumentError",
    "Message",
    "Part",
    "PromptTruncationOptions",
    "ResponseFormat",
    "Run",
    "RunFailedError",
    "RunResult",
    "RunStatus",
    "RunStreamEvent",
    "RunTimeoutError",
    "RunbindError",
    "StatusTraits",
    "StreamEventKind",
    "Tool",
    "ToolCall",
    "UnsupportedOperationError",
    "Usage",
    "__version__",
    "to_openai_tool_outputs",
    "to_yandex_tool_results",
]
