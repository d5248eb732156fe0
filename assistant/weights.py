"""The fitted weights of the offline answerer: two logistic regressions, stored as JSON.

``bench/fit_answerer.py`` fits them with scikit-learn on the dev split of the blind
evaluation set (and the older dev set) and writes ``assistant/weights.json``; here they are
only applied (a dot product and a sigmoid), so answering needs no scikit-learn.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["WEIGHTS_FILE", "Weights", "load_weights", "sigmoid"]

WEIGHTS_FILE = Path(__file__).with_name("weights.json")


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))


@dataclass(frozen=True)
class Weights:
    """``sentence``: feature -> weight for "this sentence holds the answer"; ``confidence``:
    feature -> weight for "the library answers this question"; ``threshold``: the confidence
    below which the assistant abstains (chosen on the dev split for a stated error rate)."""

    sentence: dict[str, float] = field(default_factory=dict)
    sentence_bias: float = 0.0
    confidence: dict[str, float] = field(default_factory=dict)
    confidence_bias: float = 0.0
    threshold: float = 0.5
    fitted_on: str = ""

    def sentence_probability(self, features: dict[str, float]) -> float:
        return sigmoid(
            self.sentence_bias + sum(w * features.get(k, 0.0) for k, w in self.sentence.items())
        )

    def confidence_of(self, features: dict[str, float]) -> float:
        return sigmoid(
            self.confidence_bias + sum(w * features.get(k, 0.0) for k, w in self.confidence.items())
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "sentence": self.sentence,
            "sentence_bias": self.sentence_bias,
            "confidence": self.confidence,
            "confidence_bias": self.confidence_bias,
            "threshold": self.threshold,
            "fitted_on": self.fitted_on,
        }


# Before any fit: coverage and the passage's score lead, as the hand-set scorer had it.
UNFITTED = Weights(
    sentence={"coverage": 6.0, "prior": 2.0, "type_match": 1.0, "preamble": -1.0},
    sentence_bias=-4.0,
    confidence={"dense": 8.0, "coverage": 4.0, "missing_numbers": -4.0, "missing_units": -4.0},
    confidence_bias=-4.5,
    threshold=0.5,
    fitted_on="(not fitted)",
)


@functools.cache
def load_weights(path: Path = WEIGHTS_FILE) -> Weights:
    if not path.exists():
        return UNFITTED
    data = json.loads(path.read_text(encoding="utf-8"))
    return Weights(**data)
