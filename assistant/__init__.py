"""policy-assistant's core: settings, search, and answers with citations to exact passages.

The doors (CLI, HTTP API, chat) use only what this module exports. Importing it is cheap: each
name below loads its module on first use, and torch, Chroma and Gradio load later still.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .settings import Settings

if TYPE_CHECKING:  # for type checkers and editors; at run time __getattr__ loads them
    from .answer import Answer, Citation, display_date
    from .composition import (
        build_assistant,
        build_embedder,
        build_library,
        build_llm,
        build_searcher,
        build_store,
        build_web_app,
        run_ingest,
        server_config,
    )
    from .core import Assistant
    from .errors import (
        StoreBusyError,
        StoreDamagedError,
        StoreEmptyError,
        StoreError,
        StoreMismatchError,
        StoreUnavailableError,
    )
    from .feedback import FeedbackFullError, FeedbackLog
    from .injection import injected_spans
    from .jobs import Job, JobRunner
    from .scope import Scope, ScopeError, ScopeMatchesNothing
    from .trace import Trace, TraceError, TraceMatch

__all__ = [
    "Answer",
    "Assistant",
    "Citation",
    "FeedbackFullError",
    "FeedbackLog",
    "Job",
    "JobRunner",
    "Scope",
    "ScopeError",
    "ScopeMatchesNothing",
    "Settings",
    "StoreBusyError",
    "StoreDamagedError",
    "StoreEmptyError",
    "StoreError",
    "StoreMismatchError",
    "StoreUnavailableError",
    "Trace",
    "TraceError",
    "TraceMatch",
    "build_assistant",
    "build_embedder",
    "build_library",
    "build_llm",
    "build_searcher",
    "build_store",
    "build_web_app",
    "display_date",
    "injected_spans",
    "run_ingest",
    "server_config",
]

_HOMES = {
    "Answer": "answer",
    "Citation": "answer",
    "display_date": "answer",
    "Assistant": "core",
    "FeedbackFullError": "feedback",
    "FeedbackLog": "feedback",
    "Job": "jobs",
    "JobRunner": "jobs",
    "injected_spans": "injection",
    "Scope": "scope",
    "ScopeError": "scope",
    "ScopeMatchesNothing": "scope",
    "Trace": "trace",
    "TraceError": "trace",
    "TraceMatch": "trace",
    **{name: "errors" for name in __all__ if name.startswith("Store")},
    **{name: "composition" for name in __all__ if name.startswith("build_")},
    "run_ingest": "composition",
    "server_config": "composition",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'assistant' has no attribute {name!r}")
    value = getattr(import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
