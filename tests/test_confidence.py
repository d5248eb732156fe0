"""The confidence's features and the fitted weights applied to them (no store needed)."""

from __future__ import annotations

from assistant.evidence import CONFIDENCE_FEATURES, Evidence, confidence_features
from assistant.extractive import Candidate
from assistant.weights import load_weights


def _candidate(score: float, type_match: bool) -> Candidate:
    features = {"coverage": 0.4, "type_match": float(type_match)}
    return Candidate(0, 0, "A sentence of the passage.", set(), features, score=score)


def _confidence(evidence: Evidence) -> float:
    weights = load_weights()
    cands = [_candidate(0.6, True), _candidate(0.4, False)]
    return weights.confidence_of(confidence_features(evidence, cands, "quantity"))


def test_every_fitted_confidence_feature_is_computed():
    features = confidence_features(Evidence(0.6, 0.5, ()), [_candidate(0.5, True)], "date")
    assert set(CONFIDENCE_FEATURES) <= set(features)
    assert set(load_weights().confidence) == set(CONFIDENCE_FEATURES)


def test_the_shortfall_counts_only_below_the_floor_and_only_for_english():
    def shortfall(dense: float, foreign: bool = False) -> float:
        evidence = Evidence(dense, 0.5, (), foreign=foreign)
        return confidence_features(evidence, [], "other")["dense_shortfall"]

    assert shortfall(0.8) == 0.0
    assert abs(shortfall(0.3) - 0.2) < 1e-9
    assert shortfall(0.3, foreign=True) == 0.0  # cross-lingual similarity runs lower


def test_an_english_question_far_from_every_passage_is_not_answered():
    """Off-topic questions' best passages score 0.18-0.44 (the fitting cases): at 0.35 the
    fitted confidence is under its threshold, at 0.65 with the same sentences over it."""
    threshold = load_weights().threshold
    assert _confidence(Evidence(0.35, 0.5, ())) < threshold < _confidence(Evidence(0.65, 0.5, ()))
    # a German question as far away is judged by its other signals
    assert _confidence(Evidence(0.35, 0.5, (), foreign=True)) > _confidence(Evidence(0.35, 0.5, ()))
