"""runbind: typed Python bindings for assistant Runs (Yandex Cloud AI Assistants, OpenAI)."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
