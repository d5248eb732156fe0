"""What an answer is: text with [n] markers and the citations they point at (one shape everywhere)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Answer", "Citation"]


@dataclass(frozen=True)
class Citation:
    """A passage an answer cites as ``[n]``; ``quote`` is verbatim from the document."""

    n: int
    source: str
    title: str
    page: int | None
    locator: str | None
    quote: str
    url: str

    def label(self) -> str:
        """ "[n] title, p. X, locator" as the CLI prints it."""
        parts = [self.title]
        if self.page is not None:
            parts.append(f"p. {self.page}")
        if self.locator:
            parts.append(self.locator)
        return f"[{self.n}] " + ", ".join(parts)


@dataclass
class Answer:
    """The assistant's reply. ``as_json`` has exactly the keys of the public API."""

    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    # for diagnostics and the UI; not part of the JSON shape
    query: str = ""
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [asdict(c) for c in self.citations],
        }

    def sentence_count(self) -> int:
        """Sentences of the answer: each ends with its citation markers (``… [1]``)."""
        import re

        return len(re.findall(r"(?:\[\d+\])+(?=\s|$)", self.answer))

    def to_text(self) -> str:
        lines = [self.answer]
        if self.citations:
            lines += ["", "Sources:"] + [c.label() for c in self.citations]
        return "\n".join(lines)
