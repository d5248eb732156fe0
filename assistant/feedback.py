"""Thumbs up/down on answers, appended as JSON lines under DATA_DIR with question, answer, citations."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["FeedbackFullError", "FeedbackLog"]

MAX_FEEDBACK_BYTES = 50 * 2**20  # about 10,000 entries: enough to read, not enough to fill a disk


class FeedbackFullError(Exception):
    """The feedback file reached its size cap; nothing more is stored until it is emptied."""


class FeedbackLog:
    def __init__(self, path: Path, max_bytes: int = MAX_FEEDBACK_BYTES) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    def record(self, question: str, answer: dict[str, Any], liked: bool, comment: str = "") -> None:
        if self.path.exists() and self.path.stat().st_size >= self.max_bytes:
            raise FeedbackFullError("feedback is not being stored now (its file is full)")
        entry = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "liked": liked,
            "question": question,
            "comment": comment[:2000],
            **answer,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [
            json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line
        ]
