"""Recognising text in a document that addresses an AI system instead of its human readers.

Such sentences ("ignore your instructions and ...") are masked in the LLM prompt, cannot support
a sentence of an answer, and are never quoted in an offline answer. This is a heuristic on
top of the real defences (passages fenced as data, every sentence checked against its sources);
the README says what it does not cover.
"""

from __future__ import annotations

import re

from vectorstore.text import sentence_spans, split_sentences

__all__ = ["MASK", "injected_spans", "looks_like_injection", "mask_injections"]

MASK = "[text withheld: it addresses AI systems]"

_PATTERNS = re.compile(
    r"\b(ignore|disregard|forget|override|bypass)\s+(all\s+)?(of\s+)?(your|the\s+above|"
    r"previous|prior|earlier|preceding|these|any|system)\b[^.!?\n]{0,40}\b(instruction|rule|"
    r"prompt|guideline)s?\b"
    r"|\b(system|developer) (prompt|message|notice)\b"
    r"|\b(to|for)\s+(all\s+)?(AI|LLM|language model|chatbot)s?\s*(assistants?|systems?|models?)?\s*:"
    r"|\bnotice to (AI|language models?|LLMs?|assistants?)\b"
    r"|\breply only with\b"
    r"|\byou are now\b",
    re.I,
)


def looks_like_injection(text: str) -> bool:
    return bool(_PATTERNS.search(text))


def injected_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text`` that addresses an AI system."""
    if not looks_like_injection(text):
        return []
    return [(a, b) for a, b in sentence_spans(text, lines=True) if looks_like_injection(text[a:b])]


def mask_injections(text: str) -> str:
    """``text`` with every sentence that addresses an AI system replaced by ``MASK``."""
    if not looks_like_injection(text):
        return text
    parts = split_sentences(text, lines=True)
    return " ".join(MASK if looks_like_injection(p) else p for p in parts)
