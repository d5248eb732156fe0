"""What every door of the web app shares: one assistant, one library, one feedback log, and one
request budget and admin guard per client across the JSON API and the chat."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant import FeedbackLog, Settings
from ingest import Library

from .security import AdminGuard, RateLimiter

__all__ = ["Doors"]


@dataclass(frozen=True)
class Doors:
    assistant: Any  # has ask() and stream() (assistant.Assistant)
    library: Library
    settings: Settings
    feedback: FeedbackLog
    limiter: RateLimiter
    guard: AdminGuard

    @classmethod
    def build(cls, assistant: Any, library: Library, settings: Settings) -> Doors:
        return cls(
            assistant=assistant,
            library=library,
            settings=settings,
            feedback=FeedbackLog(settings.data_dir / "feedback.jsonl"),
            limiter=RateLimiter(settings.rate_limit_per_minute),
            guard=AdminGuard(
                settings.admin_token.get_secret_value(), settings.admin_failures_per_minute
            ),
        )
