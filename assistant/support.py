"""Whether a passage supports a sentence of an LLM's answer: a fitted probability.

Features of a (sentence, passage) pair: the share of the sentence's content words found in the
passage (``lexical``), the cosine of their embeddings (``dense``: meaning, and some help across
languages), numbers and names the sentence states that the passage lacks, and a negation the
passage does not have. ``bench/support.py`` fits a logistic regression on the hand-labelled
pairs of ``bench/support_pairs.jsonl`` (paraphrases, swapped numbers, wrong instruments,
negations, other languages) and chooses the threshold for a stated share of unsupported
sentences removed; the weights live in ``assistant/support_weights.json``.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vectorstore.text import WORD, content_words, split_sentences, stem, stems

from .weights import sigmoid

__all__ = [
    "SUPPORT_FEATURES",
    "SUPPORT_WEIGHTS_FILE",
    "PassageView",
    "SupportModel",
    "cosine",
    "load_support_model",
    "missing_numbers",
    "support",
    "support_features",
]

SUPPORT_WEIGHTS_FILE = Path(__file__).with_name("support_weights.json")
SUPPORT_FEATURES = (
    "lexical",
    "best_sentence",
    "bigrams",
    "dense",
    "missing_numbers",
    "missing_names",
    "added_negation",
    "short",
)
# an acronym, a symbol or a capitalised name inside the sentence ("NIS2", "CSIRT", "Budapest")
_NAME = re.compile(r"(?<!^)(?<![.!?]\s)\b(?:[A-Z]{2,}[\w/-]*|[A-Z][a-z]{2,}|\w*\d\w*[A-Za-z]\w*)\b")
_NEGATION = re.compile(
    r"\b(?:not|no|never|neither|nor|cannot|non-binding|voluntary|optional|need not|"
    r"nicht|kein\w*|ne|pas|jamais|no es|ningún|ninguna)\b",
    re.I,
)


def support(sentence: str, passages: Sequence[str]) -> float:
    """Share of the sentence's content words (stemmed) found in the passages; numbers count."""
    words = stems(sentence)
    if not words:
        return 0.0
    available: set[str] = set()
    for passage in passages:
        available |= stems(passage)
    return len(words & available) / len(words)


def _numbers(text: str) -> frozenset[str]:
    return frozenset(w for w in WORD.findall(text) if w.isdigit())


def _missing(sentence: str, available: frozenset[str]) -> list[str]:
    wanted = dict.fromkeys(w for w in WORD.findall(sentence) if w.isdigit())
    return [n for n in wanted if n not in available and n.lstrip("0") not in available]


def missing_numbers(sentence: str, passages: Sequence[str]) -> list[str]:
    """Numbers the sentence states that none of the passages contains (as a whole token)."""
    return _missing(sentence, frozenset().union(*(_numbers(p) for p in passages)))


def cosine(a: Sequence[float] | None, b: Sequence[float] | None) -> float:
    if not a or not b:
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def _stem_sequence(text: str) -> list[str]:
    return [stem(w) for w in content_words(text)]


@dataclass(frozen=True)
class PassageView:
    """What the features need of a passage, computed once per answer check."""

    text: str
    lowered: str
    stems: frozenset[str]
    sentence_stems: tuple[frozenset[str], ...]
    bigrams: frozenset[tuple[str, str]]
    numbers: frozenset[str]
    negated: bool

    @classmethod
    def of(cls, text: str) -> PassageView:
        sequence = _stem_sequence(text)
        return cls(
            text=text,
            lowered=text.lower(),
            stems=frozenset(stems(text)),
            sentence_stems=tuple(
                frozenset(stems(part)) for part in split_sentences(text, ends=".;!?")
            ),
            bigrams=frozenset(zip(sequence, sequence[1:], strict=False)),
            numbers=_numbers(text),
            negated=bool(_NEGATION.search(text)),
        )

    def missing_numbers(self, sentence: str) -> list[str]:
        return _missing(sentence, self.numbers)


def support_features(
    sentence: str,
    passage: PassageView,
    sentence_vector: Sequence[float] | None = None,
    passage_vector: Sequence[float] | None = None,
) -> dict[str, float]:
    words = stems(sentence)
    sequence = _stem_sequence(sentence)
    pairs = set(zip(sequence, sequence[1:], strict=False))
    share = (lambda have: len(words & have) / len(words)) if words else (lambda have: 0.0)
    names = [n for n in dict.fromkeys(_NAME.findall(sentence)) if n.lower() not in passage.lowered]
    return {
        "lexical": share(passage.stems),
        "best_sentence": max((share(p) for p in passage.sentence_stems), default=0.0),
        "bigrams": len(pairs & passage.bigrams) / len(pairs) if pairs else 0.0,
        "dense": cosine(sentence_vector, passage_vector),
        "missing_numbers": float(min(len(passage.missing_numbers(sentence)), 2)),
        "missing_names": float(min(len(names), 3)),
        "added_negation": float(bool(_NEGATION.search(sentence)) and not passage.negated),
        "short": float(len(words) < 4),
    }


@dataclass(frozen=True)
class SupportModel:
    """feature -> weight for "the passage supports the sentence"; a sentence is kept when its
    probability reaches ``threshold``."""

    weights: dict[str, float] = field(default_factory=dict)
    bias: float = 0.0
    threshold: float = 0.5
    fitted_on: str = ""

    def probability(self, features: dict[str, float]) -> float:
        return sigmoid(self.bias + sum(w * features.get(k, 0.0) for k, w in self.weights.items()))

    def as_json(self) -> dict[str, Any]:
        return {
            "weights": self.weights,
            "bias": self.bias,
            "threshold": self.threshold,
            "fitted_on": self.fitted_on,
        }


# Before a fit: the lexical check alone at its former threshold (0.45), numbers must be there.
UNFITTED = SupportModel(
    weights={"lexical": 20.0, "missing_numbers": -20.0}, bias=-9.0, threshold=0.5
)


@functools.cache
def load_support_model(path: Path = SUPPORT_WEIGHTS_FILE) -> SupportModel:
    if not path.exists():
        return UNFITTED
    return SupportModel(**json.loads(path.read_text(encoding="utf-8")))
