"""``update_mask`` semantics of AssistantService/Update and ThreadService/Update.

Each path of the mask names a field (or a field of a field) whose new value is the request's;
paths outside the mask keep the stored value. What the service does where the proto says
nothing (a wrapper path whose value the request leaves out) follows its recorded answers and the
official SDK's expectations; docs/emulator.md lists those choices. Errors are ValueErrors naming the
field; the services answer them with INVALID_ARGUMENT.
"""

from __future__ import annotations

from collections.abc import Iterable

from runbind_generated.proto.google.protobuf import FieldMask
from runbind_generated.proto.yandex.cloud.ai.assistants import v1
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import threads
from runbind_generated.proto.yandex.cloud.ai.common import (
    ExpirationConfig,
    ExpirationConfigExpirationPolicy,
)

from .._core.generated import fields
from ._yandex_objects import SUBJECT, copy, expiration, expires_at, now_ts, truncation

__all__ = ["ASSISTANT_PATHS", "THREAD_PATHS", "update_assistant", "update_thread"]

_EXPIRATION_PATHS = frozenset(
    {"expiration_config", "expiration_config.ttl_days", "expiration_config.expiration_policy"}
)
THREAD_PATHS = frozenset({"name", "description", "labels", "tools"}) | _EXPIRATION_PATHS
"""The paths ThreadService/Update takes."""
ASSISTANT_PATHS = (
    frozenset({"name", "description", "labels", "tools", "model_uri", "instruction"})
    | frozenset({"completion_options", "prompt_truncation_options"})
    # Newer than some cloudapi versions: updatable where the spec version has it.
    | frozenset({"response_format"} & fields(v1.Assistant))
    | frozenset({"completion_options.temperature", "completion_options.max_tokens"})
    | frozenset({f"prompt_truncation_options.{f}" for f in ("max_prompt_tokens", "auto_strategy")})
    | frozenset({"prompt_truncation_options.last_messages_strategy"})
    | _EXPIRATION_PATHS
)
"""The paths AssistantService/Update takes."""


def _paths(mask: FieldMask | None, allowed: Iterable[str]) -> list[str]:
    if mask is None or not mask.paths:
        raise ValueError("update_mask is required")
    known = frozenset(allowed)
    for path in mask.paths:
        if path not in known:
            raise ValueError(f"update_mask: {path!r} is not a field that can be updated")
    return list(dict.fromkeys(mask.paths))


def _expiration(
    stored: ExpirationConfig | None, given: ExpirationConfig | None, paths: list[str]
) -> ExpirationConfig:
    if "expiration_config" in paths:
        return expiration(given, "expiration_config")
    config = copy(stored) if stored is not None else expiration(None, "expiration_config")
    given = given or ExpirationConfig()
    if "expiration_config.ttl_days" in paths:
        if given.ttl_days <= 0:
            raise ValueError("expiration_config.ttl_days must be greater than zero")
        config.ttl_days = given.ttl_days
    if "expiration_config.expiration_policy" in paths:
        policy = given.expiration_policy
        if policy not in list(ExpirationConfigExpirationPolicy) or not policy:
            raise ValueError("expiration_config.expiration_policy must be set")
        config.expiration_policy = policy
    return config


def update_thread(
    stored: threads.Thread, request: threads.UpdateThreadRequest
) -> tuple[threads.Thread, list[str]]:
    """The thread record ``request`` makes of ``stored``, and the paths it changed."""
    paths = _paths(request.update_mask, THREAD_PATHS)
    record = copy(stored)
    if "name" in paths:
        record.name = request.name
    if "description" in paths:
        record.description = request.description
    if "labels" in paths:
        record.labels = dict(request.labels)
    if "tools" in paths:
        record.tools = [copy(t) for t in request.tools]
    if any(p in _EXPIRATION_PATHS for p in paths):
        record.expiration_config = _expiration(
            stored.expiration_config, request.expiration_config, paths
        )
        record.expires_at = expires_at(record.created_at, record.expiration_config)
    record.updated_by = SUBJECT
    record.updated_at = now_ts()
    return record, paths


def _completion(
    stored: v1.CompletionOptions | None, given: v1.CompletionOptions | None, paths: list[str]
) -> v1.CompletionOptions:
    if "completion_options" in paths:
        options = copy(given) if given is not None else v1.CompletionOptions()
    else:
        options = copy(stored) if stored is not None else v1.CompletionOptions()
        given = given or v1.CompletionOptions()
        if "completion_options.temperature" in paths:
            # the service stores 0 for a temperature the request leaves out (not "unset")
            options.temperature = given.temperature if given.temperature is not None else 0.0
        if "completion_options.max_tokens" in paths:
            options.max_tokens = given.max_tokens
    bad = options.max_tokens is not None and options.max_tokens <= 0
    if bad or ("completion_options.max_tokens" in paths and options.max_tokens is None):
        raise ValueError("completion_options.max_tokens must be greater than zero")
    return options


def _truncation(
    stored: v1.PromptTruncationOptions | None,
    given: v1.PromptTruncationOptions | None,
    paths: list[str],
) -> v1.PromptTruncationOptions:
    if "prompt_truncation_options" in paths:
        return truncation(given)
    options = copy(stored) if stored is not None else truncation(None)
    given = given or v1.PromptTruncationOptions()
    if "prompt_truncation_options.max_prompt_tokens" in paths:
        options.max_prompt_tokens = given.max_prompt_tokens
    if "prompt_truncation_options.auto_strategy" in paths:
        options.auto_strategy = v1.PromptTruncationOptionsAutoStrategy()
        options.last_messages_strategy = None
    if "prompt_truncation_options.last_messages_strategy" in paths:
        last = given.last_messages_strategy
        options.last_messages_strategy = None if last is None else copy(last)
        options.auto_strategy = None
    return truncation(options)


def update_assistant(
    stored: v1.Assistant, request: v1.UpdateAssistantRequest
) -> tuple[v1.Assistant, list[str]]:
    """The assistant record ``request`` makes of ``stored``, and the paths it changed."""
    paths = _paths(request.update_mask, ASSISTANT_PATHS)
    record = copy(stored)
    if "name" in paths:
        record.name = request.name
    if "description" in paths:
        record.description = request.description
    if "labels" in paths:
        record.labels = dict(request.labels)
    if "tools" in paths:
        record.tools = [copy(t) for t in request.tools]
    if "model_uri" in paths:
        if not request.model_uri:
            raise ValueError("model_uri must not be empty")
        record.model_uri = request.model_uri
    if "instruction" in paths:
        record.instruction = request.instruction
    if "response_format" in paths:
        given = request.response_format
        record.response_format = None if given is None else copy(given)
    if any(p.startswith("completion_options") for p in paths):
        record.completion_options = _completion(
            stored.completion_options, request.completion_options, paths
        )
    if any(p.startswith("prompt_truncation_options") for p in paths):
        record.prompt_truncation_options = _truncation(
            stored.prompt_truncation_options, request.prompt_truncation_options, paths
        )
    if any(p in _EXPIRATION_PATHS for p in paths):
        record.expiration_config = _expiration(
            stored.expiration_config, request.expiration_config, paths
        )
        record.expires_at = expires_at(record.created_at, record.expiration_config)
    record.updated_by = SUBJECT
    record.updated_at = now_ts()
    return record, paths
