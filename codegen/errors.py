"""Typed errors of the pipeline; each carries one clear line for the user."""

from __future__ import annotations


class CodegenError(Exception):
    """Base of every pipeline failure."""


class SyncError(CodegenError):
    """A locked spec file is missing, unreachable or does not match its sha256."""


class GenerationError(CodegenError):
    """A generator, post-processing step or formatter failed."""
