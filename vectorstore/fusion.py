"""Fusing the dense and the lexical ranking into one (bench/retrieval.py compares the methods)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["RRF_K", "reciprocal_rank_fusion", "weighted_score_fusion"]

RRF_K = 60  # the constant of Cormack et al. (2009), used unchanged by most systems


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[tuple[str, float]]], weights: Sequence[float] | None = None
) -> list[tuple[str, float]]:
    weights = weights or [1.0] * len(rankings)
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, (id_, _) in enumerate(ranking):
            fused[id_] = fused.get(id_, 0.0) + weight / (RRF_K + rank + 1)
    return sorted(fused.items(), key=lambda kv: kv[1], reverse=True)


def _min_max(ranking: Sequence[tuple[str, float]]) -> dict[str, float]:
    if not ranking:
        return {}
    scores = [s for _, s in ranking]
    low, high = min(scores), max(scores)
    span = high - low
    return {id_: (s - low) / span if span > 0 else 1.0 for id_, s in ranking}


def weighted_score_fusion(
    dense: Sequence[tuple[str, float]], lexical: Sequence[tuple[str, float]], alpha: float
) -> list[tuple[str, float]]:
    """``alpha`` * normalised dense score + (1 - ``alpha``) * normalised BM25 score.

    Each list is min-max normalised over its own candidates; a candidate missing from one list
    gets 0 there. Ties (the best dense and the best lexical passage both score ``alpha`` when
    each is missing from the other list) keep the dense list's order, then the lexical one's:
    never the order of a set, which changes from process to process with Python's hash seed
    (the same question then got another answer after a restart).
    """
    d, lx = _min_max(dense), _min_max(lexical)
    fused = {
        id_: alpha * d.get(id_, 0.0) + (1.0 - alpha) * lx.get(id_, 0.0)
        for id_ in dict.fromkeys([*d, *lx])
    }
    return sorted(fused.items(), key=lambda kv: kv[1], reverse=True)
