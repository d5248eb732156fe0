"""Fitting and measuring the support check of LLM answers on hand-labelled pairs.

Usage: python -m bench.support [--pairs FILE ...] [--target 0.95] [--write]

Each pair of ``bench/support_pairs.jsonl`` (see its README; ``--pairs`` takes further files) is
a sentence, a passage and whether the passage supports it. For every pair the features of
``assistant/support.py`` are computed (the passage embedded under its document title, as the
store embeds it). A logistic regression
(scikit-learn, class-balanced) is measured with 5-fold cross-validation grouped by passage, so
no passage is scored by a model that saw it. The threshold is the one that keeps the most
supported sentences while removing at least ``--target`` of the unsupported ones out of fold;
the figures per kind are printed beside those of the previous check (lexical support >= 0.45 and
every number present). ``--write`` fits on all pairs and writes assistant/support_weights.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from bench._common import PROJECT_ROOT, configure_environment, write_results

configure_environment()


def _group(pair_id: str) -> str:
    """The passage a pair belongs to: ids are ``sp-<passage>-<kind>-NN``."""
    return pair_id.rsplit("-", 2)[0]


def _check_cost(
    pairs, contexts, passage_vectors, embedder, closest: int, n_passages: int = 6
) -> dict:
    """Time the check as an answer meets it: the supported sentences written for one question
    (at most 4, each with its passage's marker) against 6 passages whose vectors are stored."""
    import time

    from langchain_core.documents import Document

    from assistant.verify import SupportCheck, verify_answer
    from bench._common import percentile

    by_question: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(pairs):
        if p["supported"] and p["lang"] == "en":
            by_question[p["question"]].append(i)
    times, sentences = [], []
    for k, idx in enumerate(list(by_question.values())):
        idx = idx[:4]
        chosen = list(dict.fromkeys(contexts[i] for i in idx))
        others = [c for c in dict.fromkeys(contexts) if c not in chosen]
        docs_text = (chosen + others[k : k + n_passages])[:n_passages]
        docs = [Document(page_content=t, metadata={"title": ""}) for t in docs_text]
        vectors = [passage_vectors[contexts.index(t)] for t in docs_text]
        text = " ".join(
            f"{pairs[i]['sentence'].rstrip('.')} [{docs_text.index(contexts[i]) + 1}]." for i in idx
        )
        start = time.perf_counter()
        check = SupportCheck(
            docs, embed=embedder.embed_documents, passage_vectors=vectors, closest=closest
        )
        verify_answer(text, docs, check)
        times.append((time.perf_counter() - start) * 1000)
        sentences.append(len(idx))
    return {
        "answers": len(times),
        "sentences": f"{min(sentences)}-{max(sentences)}",
        "passages": n_passages,
        "p50_ms": percentile(times, 0.5),
        "p95_ms": percentile(times, 0.95),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--pairs",
        type=Path,
        nargs="+",
        default=[PROJECT_ROOT / "bench" / "support_pairs.jsonl"],
        help="labelled pair files (default: bench/support_pairs.jsonl)",
    )
    parser.add_argument("--target", type=float, default=0.95, help="unsupported removed")
    parser.add_argument("--write", action="store_true", help="write the fitted weights")
    parser.add_argument(
        "--C", type=float, default=3.0, help="inverse regularisation of the logistic regression"
    )
    parser.add_argument(
        "--closest",
        type=int,
        default=None,
        help="passage sentences compared by meaning with each sentence (default: the check's "
        "CLOSEST_SENTENCES; 0: all)",
    )
    parser.add_argument(
        "--drop", nargs="*", default=[], metavar="FEATURE", help="fit without these features"
    )
    args = parser.parse_args()

    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from assistant.composition import build_embedder
    from assistant.settings import Settings
    from assistant.support import (
        CLOSEST_SENTENCES,
        SUPPORT_FEATURES,
        SUPPORT_WEIGHTS_FILE,
        PassageView,
        SupportModel,
        embed_sentences,
        missing_numbers,
        sentences_to_embed,
        support,
        support_features,
    )
    from ingest.catalog import read_catalog

    settings = Settings()
    pairs = [
        json.loads(x) for path in args.pairs for x in path.read_text().splitlines() if x.strip()
    ]
    catalog = read_catalog(settings.corpus_dir / settings.catalog_file)
    titles = {p["source"]: getattr(catalog.get(p["source"]), "title", None) or ""
              for p in pairs}  # fmt: skip
    embedder = build_embedder(settings)
    contexts = [f"{titles[p['source']]}\n{p['passage']}".strip() for p in pairs]
    sentence_vectors = embedder.embed_documents([p["sentence"] for p in pairs])
    passage_vectors = embedder.embed_documents(contexts)
    views = [PassageView.of(c) for c in contexts]
    closest_k = CLOSEST_SENTENCES if args.closest is None else args.closest
    closest = embed_sentences(
        [
            (view, sentences_to_embed(p["sentence"], view, closest_k))
            for p, view in zip(pairs, views, strict=True)
        ],
        embedder.embed_documents,
    )
    rows = [
        support_features(p["sentence"], view, sv, pv, cv)
        for p, view, sv, pv, cv in zip(
            pairs, views, sentence_vectors, passage_vectors, closest, strict=True
        )
    ]
    unknown = set(args.drop) - set(SUPPORT_FEATURES)
    if unknown:
        print(
            f"error: no feature {', '.join(sorted(unknown))}; the features are {SUPPORT_FEATURES}"
        )
        return 2
    features = [f for f in SUPPORT_FEATURES if f not in args.drop]
    X = np.array([[r[f] for f in features] for r in rows])
    y = np.array([int(p["supported"]) for p in pairs])
    groups = [_group(p["id"]) for p in pairs]

    def model() -> object:
        return make_pipeline(
            StandardScaler(), LogisticRegression(C=args.C, class_weight="balanced", max_iter=2000)
        )

    def out_of_fold(features: np.ndarray) -> np.ndarray:
        scores = np.zeros(len(pairs))
        for train, test in GroupKFold(n_splits=5).split(features, y, groups):
            fitted = model().fit(features[train], y[train])
            scores[test] = fitted.predict_proba(features[test])[:, 1]
        return scores

    def rates(kept: np.ndarray) -> tuple[float, float]:
        return float(kept[y == 1].mean()), float((~kept[y == 0]).mean())

    def kept_at(scores: np.ndarray, goal: float) -> float:
        """Supported kept at the best threshold that removes ``goal`` of the unsupported."""
        at = (rates(scores >= t) for t in np.linspace(0.01, 0.99, 99))
        return max((kept for kept, removed in at if removed >= goal), default=0.0)

    oof = out_of_fold(X)
    # a set where true sentences are longer than false ones rewards any feature that counts
    # words: this says how far the sentence's length alone would get
    length = out_of_fold(np.array([[len(p["sentence"].split())] for p in pairs], dtype=float))

    best = None
    for t in np.linspace(0.05, 0.95, 91):
        kept_rate, removed_rate = rates(oof >= t)
        if removed_rate >= args.target and (best is None or kept_rate > best[1]):
            best = (float(t), kept_rate, removed_rate)
    if best is None:
        print(f"no threshold removes {args.target:.0%} of the unsupported sentences")
        return 1
    print("out of fold, per share of unsupported removed: supported kept (sentence length alone)")
    for goal in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95):
        print(f"  {goal:.2f}: {kept_at(oof, goal):.2f}   ({kept_at(length, goal):.2f})")
    words = {
        label: float(
            np.median([len(p["sentence"].split()) for p in pairs if p["supported"] == label])
        )
        for label in (True, False)
    }
    print(f"median words: supported {words[True]:.0f}, unsupported {words[False]:.0f}")
    threshold = best[0]
    old = np.array(
        [
            support(p["sentence"], [c]) >= 0.45 and not missing_numbers(p["sentence"], [c])
            for p, c in zip(pairs, contexts, strict=True)
        ]
    )
    new = oof >= threshold
    print(f"{len(pairs)} pairs ({int(y.sum())} supported); features: {', '.join(features)}")
    print(f"threshold {threshold:.2f} (out of fold, for >= {args.target:.0%} unsupported removed)")
    print(f"{'':28} {'fitted (out of fold)':>22} {'previous check':>16}")
    print(f"{'supported kept':28} {best[1]:>22.2f} {rates(old)[0]:>16.2f}")
    print(f"{'unsupported removed':28} {best[2]:>22.2f} {rates(old)[1]:>16.2f}")
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(pairs):
        by_kind[f"{p['kind']} ({'supported' if p['supported'] else 'not'})"].append(i)
    print("\nright decisions by kind (kept if supported, removed if not):")
    per_kind = {}
    for kind, idx in sorted(by_kind.items()):
        right_new = float(np.mean([new[i] == bool(y[i]) for i in idx]))
        right_old = float(np.mean([old[i] == bool(y[i]) for i in idx]))
        per_kind[kind] = {"n": len(idx), "fitted": right_new, "previous": right_old}
        print(f"  {kind:<40} n={len(idx):<4} fitted {right_new:.2f}   previous {right_old:.2f}")

    if args.write:
        fitted = model().fit(X, y)
        scaler, lr = fitted.steps[0][1], fitted.steps[1][1]
        coef = lr.coef_[0] / scaler.scale_
        bias = float(lr.intercept_[0] - (coef * scaler.mean_).sum())
        weights = SupportModel(
            weights={f: float(w) for f, w in zip(features, coef, strict=True)},
            bias=bias,
            threshold=round(threshold, 3),
            fitted_on=f"{' + '.join(p.name for p in args.pairs)}: {len(pairs)} pairs; "
            f"out of fold: supported kept {best[1]:.2f}, unsupported removed {best[2]:.2f}",
        )
        SUPPORT_WEIGHTS_FILE.write_text(json.dumps(weights.as_json(), indent=2) + "\n")
        print(f"\nwrote {SUPPORT_WEIGHTS_FILE}")
    cost = _check_cost(pairs, contexts, passage_vectors, embedder, closest_k)
    print(
        f"\ncost of the check (SupportCheck + verify_answer, {cost['answers']} answers of "
        f"{cost['sentences']} sentences against {cost['passages']} passages): "
        f"p50 {cost['p50_ms']:.0f} ms, p95 {cost['p95_ms']:.0f} ms"
    )
    write_results(
        "support",
        {
            "pairs": len(pairs),
            "median_words": {"supported": words[True], "unsupported": words[False]},
            "length_alone_kept": kept_at(length, args.target),
            "threshold": threshold,
            "fitted": {"supported_kept": best[1], "unsupported_removed": best[2]},
            "previous": {"supported_kept": rates(old)[0], "unsupported_removed": rates(old)[1]},
            "by_kind": per_kind,
            "cost": cost,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
