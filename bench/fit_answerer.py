"""Fitting the offline answerer's weights: which sentence holds the answer, and whether the
library answers at all. Writes assistant/weights.json.

Usage: python -m bench.fit_answerer [--max-wrong-abstention 0.05] [--dry-run]
                                     [--keep-sentence-weights]

Training cases: the dev splits of bench/blind_cases.jsonl and bench/blind2_cases.jsonl, and
bench/dev_cases.jsonl (never a test split, nor bench/heldout_cases.jsonl). For each case the
assistant's own retrieval runs (the store must hold the default corpus: `policy-assistant
ingest`), then:

1. Sentence model: every candidate sentence of the retrieved passages (extractive.candidates)
   is labelled positive when it holds one of the case's key terms and comes from a gold
   document. A logistic regression (scikit-learn, class-balanced) over SENTENCE_FEATURES.
   Reported with 5-fold cross-validation grouped by case: how often the best-scored sentence
   of an answerable case holds a key term.
2. Confidence model: one row per case, labelled answerable or not, over CONFIDENCE_FEATURES,
   whose sentence scores come from the out-of-fold sentence model (so they are as good as on
   unseen questions, not better). The threshold is the one whose out-of-fold abstentions on
   unanswerable questions are most while its wrong abstentions stay at or under
   --max-wrong-abstention, the lowest such one; its out-of-fold abstention recall is
   printed beside it. With --keep-sentence-weights only this model is refitted, on the
   sentence scores of the weights already written (in sample for them), and those are kept.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from bench._common import PROJECT_ROOT, configure_environment

ROOT = PROJECT_ROOT

configure_environment()


def training_cases() -> list[dict]:
    """The dev splits of both blind sets and the older dev set; never a test split."""
    from assistant.evaluate import load_cases

    def dev(name: str) -> list[dict]:
        return [c for c in load_cases(ROOT / "bench" / name) if c.get("split") == "dev"]

    return (
        dev("blind_cases.jsonl")
        + load_cases(ROOT / "bench" / "dev_cases.jsonl")
        + dev("blind2_cases.jsonl")
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-wrong-abstention", type=float, default=0.05)
    parser.add_argument("--dry-run", action="store_true", help="print, do not write the weights")
    parser.add_argument(
        "--keep-sentence-weights",
        action="store_true",
        help="refit only the confidence: the sentences are scored with the sentence weights of "
        "assistant/weights.json (fitted on these cases before, so in sample), which are kept",
    )
    args = parser.parse_args()

    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    from assistant.answer_types import asks_for
    from assistant.composition import build_assistant
    from assistant.evaluate import normalised
    from assistant.evidence import CONFIDENCE_FEATURES, assess, confidence_features
    from assistant.extractive import SENTENCE_FEATURES, candidates
    from assistant.settings import Settings
    from assistant.weights import WEIGHTS_FILE, Weights, load_weights

    settings = Settings()
    assistant = build_assistant(settings, llm=None)
    cases = training_cases()
    rows, labels, groups = [], [], []
    per_case = []  # (case, evidence, candidates)
    for i, case in enumerate(cases):
        inputs = assistant.retrieve_chain.invoke(
            {"question": case["question"], "history": case.get("history") or []}
        )
        question, query, docs = case["question"], inputs["query"], inputs["docs"]
        evidence = assess(question, query, docs, assistant.searcher)
        idf = assistant.searcher.term_weights(f"{question} {query}")
        cands = candidates(question, query, docs, idf) if docs else []
        gold = set(case.get("gold_sources") or [])
        terms = [normalised(t) for t in case.get("must_contain") or []]
        for c in cands:
            text = normalised(c.text)
            positive = bool(
                case.get("answerable", True)
                and docs[c.passage].metadata["source"] in gold
                and any(t in text for t in terms)
            )
            rows.append([c.features[k] for k in SENTENCE_FEATURES])
            labels.append(int(positive))
            groups.append(i)
        per_case.append((case, evidence, cands))
    X, y, g = np.array(rows), np.array(labels), np.array(groups)
    print(f"{len(cases)} training cases, {len(y)} candidate sentences, {y.sum()} hold a key term")

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def sentence_model():
        return make_pipeline(
            StandardScaler(), LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
        )

    def unscaled(model) -> tuple[list[float], float]:
        """The pipeline's weights on the raw features (what assistant/weights.py applies)."""
        scaler, lr = model[0], model[1]
        coef = lr.coef_[0] / scaler.scale_
        return list(coef), float(lr.intercept_[0] - (coef * scaler.mean_).sum())

    # out-of-fold sentence scores, grouped by case
    oof = np.zeros(len(y))
    for train, test in GroupKFold(n_splits=5).split(X, y, g):
        oof[test] = sentence_model().fit(X[train], y[train]).predict_proba(X[test])[:, 1]
    final_sentence = sentence_model().fit(X, y)

    # the share of all answerable cases (not only those whose passages hold a key term)
    # compares settings that retrieve differently
    answerable = sum(bool(case.get("answerable", True)) for case, _, _ in per_case)

    def top_hits(scores: np.ndarray, k: int = 1) -> tuple[int, int]:
        """Answerable cases whose passages hold a key term, and of those, how many have it in
        one of their ``k`` best-scored sentences."""
        hits, total, offset = 0, 0, 0
        for case, _, cands in per_case:
            n = len(cands)
            part, lab = scores[offset : offset + n], y[offset : offset + n]
            offset += n
            if case.get("answerable", True) and lab.any():
                total += 1
                hits += int(lab[np.argsort(-part)[:k]].any())
        return hits, total

    def top_hit(scores: np.ndarray, k: int = 1) -> float:
        hits, total = top_hits(scores, k)
        return hits / total if total else math.nan

    baseline = (
        X[:, SENTENCE_FEATURES.index("coverage")] * 0.75
        + 0.25 * X[:, SENTENCE_FEATURES.index("prior")]
    )
    print(
        f"best sentence holds a key term (answerable cases whose passages hold one): "
        f"fitted, 5-fold CV {top_hit(oof):.3f}; the hand-set score {top_hit(baseline):.3f}; "
        f"of all {answerable} answerable "
        f"cases, CV {top_hits(oof)[0] / answerable:.3f}; among the best three, CV "
        f"{top_hit(oof, 3):.3f}"
    )

    # confidence rows from out-of-fold sentence scores
    kept = load_weights() if args.keep_sentence_weights else None
    if kept is not None:
        oof = np.array(
            [kept.sentence_probability(dict(zip(SENTENCE_FEATURES, r, strict=True))) for r in X]
        )
    conf_rows, conf_labels, ruled, offset = [], [], [], 0
    for case, evidence, cands in per_case:
        for c, s in zip(cands, oof[offset : offset + len(cands)], strict=True):
            c.score = float(s)
        offset += len(cands)
        feats = confidence_features(evidence, cands, asks_for(case["question"]))
        conf_rows.append([feats[k] for k in CONFIDENCE_FEATURES])
        conf_labels.append(int(case.get("answerable", True)))
        # the clear cases the assistant abstains on before the confidence is asked
        ruled.append(evidence.abstain_reason(settings.abstain_min_similarity, 0.0) is not None)
    C, cy, ruled = np.array(conf_rows), np.array(conf_labels), np.array(ruled)

    def confidence_model():
        return make_pipeline(
            StandardScaler(), LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
        )

    conf_oof = np.zeros(len(cy))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(C, cy):
        conf_oof[test] = confidence_model().fit(C[train], cy[train]).predict_proba(C[test])[:, 1]
    final_conf = confidence_model().fit(C, cy)

    def abstains(t: float) -> np.ndarray:
        return ruled | (conf_oof < t)

    # the threshold abstaining on most unanswerable questions within the stated share of
    # answerable ones wrongly abstained, and of those the lowest: a higher one that abstains on
    # no more unanswerable questions only adds wrong abstentions on unseen ones
    allowed = [
        float(t)
        for t in np.arange(0.0, 1.0, 0.01)
        if abstains(t)[cy == 1].mean() <= args.max_wrong_abstention
    ]
    threshold = min(
        allowed or [0.0], key=lambda t: (-abstains(t)[cy == 0].mean(), abstains(t)[cy == 1].mean())
    )
    print(
        f"the clear-case rules alone: wrongly abstained {ruled[cy == 1].mean():.3f}, "
        f"unanswerable abstained {ruled[cy == 0].mean():.3f}"
    )
    print(f"{int(cy.sum())} answerable and {int((cy == 0).sum())} unanswerable training cases")
    print(f"{'threshold':>9} {'wrongly abstained':>18} {'unanswerable abstained':>23}  (5-fold CV)")
    for t in sorted({0.2, 0.3, 0.4, 0.5, 0.6, round(threshold, 2), max(allowed or [0.0])}):
        print(
            f"{t:>9.2f} {abstains(t)[cy == 1].mean():>18.3f} {abstains(t)[cy == 0].mean():>23.3f}"
            + ("  <- chosen" if abs(t - threshold) < 1e-9 else "")
        )
    s_coef, s_bias = unscaled(final_sentence)
    if kept is not None:
        s_coef, s_bias = [kept.sentence[k] for k in SENTENCE_FEATURES], kept.sentence_bias
    c_coef, c_bias = unscaled(final_conf)
    weights = Weights(
        sentence={k: round(w, 4) for k, w in zip(SENTENCE_FEATURES, s_coef, strict=True)},
        sentence_bias=round(s_bias, 4),
        confidence={k: round(w, 4) for k, w in zip(CONFIDENCE_FEATURES, c_coef, strict=True)},
        confidence_bias=round(c_bias, 4),
        threshold=round(threshold, 2),
        fitted_on="the dev splits of bench/blind_cases.jsonl and bench/blind2_cases.jsonl + "
        f"bench/dev_cases.jsonl ({len(cases)} cases)"
        + ("; the confidence only, the sentence weights kept" if kept is not None else ""),
    )
    print(json.dumps(weights.as_json(), indent=2))
    if not args.dry_run:
        WEIGHTS_FILE.write_text(json.dumps(weights.as_json(), indent=2) + "\n", encoding="utf-8")
        print(f"written: {WEIGHTS_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
