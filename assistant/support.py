"""Whether a passage supports a sentence of an LLM's answer: a fitted probability.

Features of a (sentence, passage) pair: the share of the sentence's content words found in the
passage (``lexical``) and of its word pairs in order (``bigrams``), the cosine of the sentence's
embedding with the passage's closest sentence (``best_dense``: meaning, and some help across
languages), numbers (by value: "EUR 10 million" is "10 000 000", "three months" is 3) and names
the sentence states that the passage lacks, a negation the passage does not have, and whether the
sentence is in another language than the passage (then only meaning and numbers can speak).
``bench/support.py`` fits a logistic regression on the hand-labelled pairs of ``bench/support_pairs.jsonl`` (paraphrases, swapped numbers, wrong instruments,
negations, other languages) and chooses the threshold for a stated share of unsupported
sentences removed; the weights live in ``assistant/support_weights.json``. Sentence length is
deliberately not a feature: in the labelled set the true sentences are longer than the false
ones, which a fit would learn (it "kept" 0.81 out of fold) and no real answer would honour.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vectorstore.text import STOP_WORDS, WORD, content_words, split_sentences, stem, stems

from .weights import sigmoid

__all__ = [
    "SUPPORT_FEATURES",
    "SUPPORT_WEIGHTS_FILE",
    "PassageView",
    "SupportModel",
    "cosine",
    "embed_sentences",
    "load_support_model",
    "english_share",
    "missing_numbers",
    "number_values",
    "support",
    "support_features",
]

SUPPORT_WEIGHTS_FILE = Path(__file__).with_name("support_weights.json")
SUPPORT_FEATURES = (
    "lexical",
    "bigrams",
    "missing_numbers",
    "missing_names",
    "added_negation",
    "best_dense",
    "other_language",
    "other_language_dense",
    "other_language_numbers",
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


# a number as written: "10 000 000", "10,000", "1.5", "2 %"; or a word that may be a number or scale
_NUMBER_TOKEN = re.compile(r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?!\d)|\d+(?:[.,]\d+)?|[^\W\d_]+")
# number words in the corpus' and answers' languages; "one", "un", "ein" are left out, since they
# are articles as often as numbers
_NUMBER_WORDS = {
    **dict.fromkeys(["two", "zwei", "deux", "dos"], 2),
    **dict.fromkeys(["three", "drei", "trois", "tres"], 3),
    **dict.fromkeys(["four", "vier", "quatre", "cuatro"], 4),
    **dict.fromkeys(["five", "fünf", "cinq", "cinco"], 5),
    **dict.fromkeys(["six", "sechs", "seis"], 6),
    **dict.fromkeys(["seven", "sieben", "sept", "siete"], 7),
    **dict.fromkeys(["eight", "acht", "huit", "ocho"], 8),
    **dict.fromkeys(["nine", "neun", "neuf", "nueve"], 9),
    **dict.fromkeys(["ten", "zehn", "dix", "diez"], 10),
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    **dict.fromkeys(["twenty", "zwanzig", "vingt", "veinte"], 20),
    **dict.fromkeys(["thirty", "dreißig", "trente", "treinta"], 30),
    **dict.fromkeys(["hundred", "hundert", "cent", "cien"], 100),
}
_SCALES = {
    **dict.fromkeys(["thousand", "tausend", "mille", "mil"], 1e3),
    **dict.fromkeys(["million", "millions", "millionen", "mio", "millones", "millón"], 1e6),
    **dict.fromkeys(["billion", "billions", "milliarde", "milliarden", "milliards"], 1e9),
}


def _number_value(token: str) -> float | None:
    if not token[0].isdigit():
        return _NUMBER_WORDS.get(token.lower())
    digits = re.sub(r"[ \u00a0\u202f]", "", token)
    if re.fullmatch(r"\d{1,3},\d{3}", digits):  # "10,000": a thousands separator
        digits = digits.replace(",", "")
    return float(digits.replace(",", "."))


def number_values(text: str) -> dict[str, float]:
    """The numbers a text states, as written -> value ("EUR 10 million" -> {"10 million": 1e7})."""
    tokens = _NUMBER_TOKEN.findall(text)
    found: dict[str, float] = {}
    for i, token in enumerate(tokens):
        value = _number_value(token)
        if value is None:
            continue
        scale = _SCALES.get(tokens[i + 1].lower(), 1.0) if i + 1 < len(tokens) else 1.0
        found[f"{token} {tokens[i + 1]}" if scale != 1.0 else token] = value * scale
    return found


def _numbers(text: str) -> frozenset[float]:
    return frozenset(number_values(text).values())


def _missing(sentence: str, available: frozenset[float]) -> list[str]:
    return [written for written, v in number_values(sentence).items() if v not in available]


def missing_numbers(sentence: str, passages: Sequence[str]) -> list[str]:
    """Numbers the sentence states that none of the passages contains (compared by value)."""
    return _missing(sentence, frozenset().union(*(_numbers(p) for p in passages)))


def english_share(text: str) -> float:
    """Share of the words that are English function words: low for other languages."""
    words = [w.lower() for w in WORD.findall(text) if not w.isdigit()]
    return sum(w in STOP_WORDS for w in words) / len(words) if words else 1.0


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
    sentences: tuple[str, ...]
    bigrams: frozenset[tuple[str, str]]
    numbers: frozenset[float]
    negated: bool

    @classmethod
    def of(cls, text: str) -> PassageView:
        sequence = _stem_sequence(text)
        sentences = tuple(split_sentences(text, ends=".;!?", lines=True))
        return cls(
            text=text,
            lowered=text.lower(),
            stems=frozenset(stems(text)),
            sentences=sentences,
            bigrams=frozenset(zip(sequence, sequence[1:], strict=False)),
            numbers=_numbers(text),
            negated=bool(_NEGATION.search(text)),
        )

    def missing_numbers(self, sentence: str) -> list[str]:
        return _missing(sentence, self.numbers)


def embed_sentences(
    views: Sequence[PassageView], embed: Callable[[list[str]], list[list[float]]]
) -> list[list[list[float]]]:
    """The embeddings of each view's ``sentences``, in one call to ``embed``."""
    flat = iter(embed([t for v in views for t in v.sentences]) if views else [])
    return [[next(flat) for _ in v.sentences] for v in views]


def support_features(
    sentence: str,
    passage: PassageView,
    sentence_vector: Sequence[float] | None = None,
    passage_vector: Sequence[float] | None = None,
    sentence_vectors: Sequence[Sequence[float]] | None = None,
) -> dict[str, float]:
    """``sentence_vectors`` are the embeddings of ``passage.sentences`` (None: the passage's own
    vector stands in for its closest sentence)."""
    words = stems(sentence)
    sequence = _stem_sequence(sentence)
    pairs = set(zip(sequence, sequence[1:], strict=False))
    share = (lambda have: len(words & have) / len(words)) if words else (lambda have: 0.0)
    names = [n for n in dict.fromkeys(_NAME.findall(sentence)) if n.lower() not in passage.lowered]
    dense = cosine(sentence_vector, passage_vector)
    best_dense = max((cosine(sentence_vector, v) for v in sentence_vectors or ()), default=dense)
    lexical = share(passage.stems)
    other = float(english_share(sentence) < 0.12 and lexical < 0.3)
    stated, missing = number_values(sentence), passage.missing_numbers(sentence)
    return {
        "lexical": lexical,
        "bigrams": len(pairs & passage.bigrams) / len(pairs) if pairs else 0.0,
        "missing_numbers": float(min(len(missing), 2)),
        "missing_names": float(min(len(names), 3)),
        "added_negation": float(bool(_NEGATION.search(sentence)) and not passage.negated),
        "best_dense": best_dense,
        "other_language": other,
        "other_language_dense": other * best_dense,
        "other_language_numbers": other * float(bool(stated) and not missing),
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
