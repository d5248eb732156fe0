"""Thumbs up/down on answers, appended as JSON lines under DATA_DIR with question, answer, citations."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["FeedbackLog"]


class FeedbackLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def record(self, question: str, answer: dict[str, Any], liked: bool, comment: str = "") -> None:
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
