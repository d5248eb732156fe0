"""What an answer is: text with [n] markers and the citations they point at (one shape everywhere).

Every door shows an answer through these two types: the JSON of the API (``as_json``), the
CLI's text (``to_text``), the labels and the marked sentences of the chat's sources panel.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from vectorstore.dates import display_date
from vectorstore.text import WORD, sentence_spans

__all__ = ["Answer", "Citation"]

_CITED = re.compile(r"(.+?)\s*((?:\[\d+\])+)(?=\s|$)", re.S)
_MARKERS = re.compile(r"(?:\[\d+\])+(?=\s|$)")


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
    # the document's metadata (``DocumentRecord``): issuing body, type, ISO date, symbol
    body: str | None = None
    doc_type: str | None = None
    date: str | None = None
    symbol: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Citation:
        """A citation from its JSON; keys it lacks take empty values, unknown keys are ignored."""
        known = {"source": data.get("title", ""), "page": None, "locator": None, "url": ""}
        known.update({k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        return cls(**known)

    def where(self) -> str:
        """ "p. X, locator" (either may be missing)."""
        parts = [f"p. {self.page}"] if self.page is not None else []
        if self.locator:
            parts.append(self.locator)
        return ", ".join(parts)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def issued(self) -> str:
        """ "UN General Assembly, 4 December 2023" (either part may be missing)."""
        return ", ".join(p for p in (self.body, display_date(self.date)) if p)

    def name(self) -> str:
        """ "A/RES/78/16 (UN General Assembly, 4 December 2023)": the symbol, else the title,
        with who issued it and when."""
        issued = self.issued()
        return (self.symbol or self.title) + (f" ({issued})" if issued else "")

    def label(self) -> str:
        """ "[n] A/RES/78/16 (UN General Assembly, 4 December 2023), p. 3, paragraph 5" as
        every door prints it (the title stands in for a missing symbol)."""
        where = self.where()
        return f"[{self.n}] {self.name()}" + (f", {where}" if where else "")

    def span_of(self, sentence: str) -> tuple[int, int] | None:
        """Where an answer's ``sentence`` stands in the quote: verbatim (spacing aside), else
        the quote's sentence sharing most of its words (an LLM's own wording)."""
        sentence = sentence.strip().strip("\u201c\u201d")  # a passage's words quoted in an answer
        tokens = sentence.split()
        if len(tokens) < 3:
            return None
        found = re.search(r"\s+".join(map(re.escape, tokens)), self.quote)
        if found:
            return found.span()
        words = {w.lower() for w in WORD.findall(sentence)}
        if not words:
            return None
        best, best_share = None, 0.6
        for a, b in sentence_spans(self.quote, ends=".;!?", lines=True):
            share = len(words & {w.lower() for w in WORD.findall(self.quote[a:b])}) / len(words)
            if share >= best_share:
                best, best_share = (a, b), share
        return best


@dataclass
class Answer:
    """The assistant's reply. ``as_json`` has exactly the keys of the public API
    (``PUBLIC_FIELDS``)."""

    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    # how likely the library answers the question (0-1): the fitted answerer's confidence, on
    # which it abstains below ANSWER_MIN_CONFIDENCE; None where nothing was scored (an empty
    # scope)
    confidence: float | None = None
    # for diagnostics and the UI; not part of the JSON shape
    query: str = ""
    note: str | None = None

    PUBLIC_FIELDS = ("answer", "abstained", "citations", "confidence")

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {name: data[name] for name in self.PUBLIC_FIELDS}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Answer:
        """The inverse of ``as_json`` (the chat keeps answers as JSON in its state)."""
        return cls(
            answer=data["answer"],
            abstained=bool(data["abstained"]),
            citations=[Citation.from_json(c) for c in data.get("citations", [])],
            confidence=data.get("confidence"),
        )

    def sentence_count(self) -> int:
        """Sentences of the answer: each ends with its citation markers (``… [1]``)."""
        return len(_MARKERS.findall(self.answer))

    def first_sentence(self) -> str:
        """The answer's first sentence, up to its citation markers (all of it when it has none)."""
        return _MARKERS.split(self.answer, maxsplit=1)[0]

    def cited_sentences(self) -> dict[int, list[str]]:
        """For each citation number, the answer's sentences that cite it (markers stripped);
        none for an abstention, whose passages only come close."""
        cited: dict[int, list[str]] = {}
        if self.abstained:
            return cited
        for match in _CITED.finditer(self.answer):
            sentence = match.group(1).strip()
            for n in re.findall(r"\d+", match.group(2)):
                cited.setdefault(int(n), []).append(sentence)
        return cited

    def to_text(self) -> str:
        """The answer, then ``Sources:`` and one label a line (the CLI and the plain-text API)."""
        lines = [self.answer]
        if self.citations:
            lines += ["", "Sources:"] + [c.label() for c in self.citations]
        return "\n".join(lines)
