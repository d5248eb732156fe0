"""Checking an LLM's answer against the passages it cites.

Markers that point at no passage are dropped; a sentence left without a marker, whose words are
not supported by the passages it cites (lexical support below a threshold chosen with
bench/support.py), or that states a number none of them contains, is removed; the citations that remain are renumbered in order of first use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.documents import Document

from vectorstore.text import WORD, split_sentences, stems

from .injection import mask_injections

__all__ = ["VerifiedSentence", "missing_numbers", "answer_sentences", "support", "verify_answer"]

_MARKERS = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class VerifiedSentence:
    text: str  # without markers
    passages: tuple[int, ...]  # 0-based indices into the passages
    support: float


def answer_sentences(text: str) -> list[str]:
    """Sentences of an LLM answer; markers after the full stop ("… 2023. [1]") stay with theirs."""
    text = re.sub(
        r"([.!?])\s*((?:\[\d+\]\s*)+)", lambda m: f" {m.group(2).strip()}{m.group(1)} ", text
    )
    return split_sentences(text.strip())


def support(sentence: str, passages: Sequence[str]) -> float:
    """Share of the sentence's content words (stemmed) found in the passages; numbers count."""
    words = stems(sentence)
    if not words:
        return 0.0
    available: set[str] = set()
    for passage in passages:
        available |= stems(passage)
    return len(words & available) / len(words)


def missing_numbers(sentence: str, passages: Sequence[str]) -> list[str]:
    """Numbers the sentence states that none of the passages contains (as a whole token)."""
    available = {w for passage in passages for w in WORD.findall(passage) if w.isdigit()}
    wanted = dict.fromkeys(w for w in WORD.findall(sentence) if w.isdigit())
    return [n for n in wanted if n not in available and n.lstrip("0") not in available]


def _context(doc: Document) -> str:
    """What a sentence may draw support from; text addressed to AI systems supports nothing."""
    m = doc.metadata
    return f"{m.get('title', '')} {m.get('locator') or ''} {mask_injections(doc.page_content)}"


def verify_answer(
    text: str, docs: Sequence[Document], min_support: float
) -> tuple[list[VerifiedSentence], list[str]]:
    """(kept sentences, reasons for what was removed)."""
    kept: list[VerifiedSentence] = []
    removed: list[str] = []
    for sentence in answer_sentences(text):
        numbers = [int(n) for n in _MARKERS.findall(sentence)]
        valid = tuple(dict.fromkeys(n - 1 for n in numbers if 1 <= n <= len(docs)))
        body = re.sub(r"\s+", " ", _MARKERS.sub("", sentence)).strip()
        body = re.sub(r"\s+([.!?,;:])", r"\1", body)
        if not WORD.search(body):  # nothing but markers and punctuation
            continue
        if len(valid) < len(set(numbers)):
            removed.append(f"dropped marker(s) {sorted(set(numbers) - {v + 1 for v in valid})}")
        if not valid:
            removed.append(f"uncited sentence removed: {body[:80]}")
            continue
        contexts = [_context(docs[i]) for i in valid]
        score = support(body, contexts)
        if score < min_support:
            removed.append(f"unsupported sentence removed ({score:.2f}): {body[:80]}")
            continue
        strays = missing_numbers(body, contexts)
        if strays:  # "within 72 hours" cited to a passage that says 24: support alone misses it
            removed.append(f"number(s) {', '.join(strays)} not in the cited passages: {body[:80]}")
            continue
        kept.append(VerifiedSentence(body, valid, score))
    return kept, removed
