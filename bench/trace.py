"""Agreed-language tracing measured on verified pairs (bench/trace_cases.jsonl).

Each case is a paragraph of one document with every other document that carries it (found by an
exhaustive comparison of all paragraphs, then read; bench/trace_cases_README.md), or none. For
each case the paragraph is traced in the library (``Assistant.trace``, the selected document
left out) and the matches are compared with its twins:

- precision@5: of the (at most five) best matches, the share that are twins;
- recall: of the twins, the share found at all;
- lone false twins: matches returned for a paragraph that has no twin.

The threshold (TRACE_MIN_SIMILARITY) is chosen on the dev half of the cases (split by id, fixed
before any tuning): no false twin there, the best F1, the highest on ties; the test half is
reported beside it. Also: warm trace latency, and what the trace's index costs (it has
none of its own: the BM25 index search builds; its build rate is measured here).

    python -m bench.trace [--cases bench/trace_cases.jsonl] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from ._common import percentile

THRESHOLDS = [round(0.20 + 0.05 * i, 2) for i in range(14)]  # 0.20 … 0.85


def split_of(case: dict[str, Any]) -> str:
    """dev or test, fixed by the case id (half and half, never by results)."""
    return "dev" if int(hashlib.sha256(case["id"].encode()).hexdigest(), 16) % 2 == 0 else "test"


def trace_all(assistant: Any, cases: list[dict[str, Any]]) -> tuple[dict[str, list], list[float]]:
    """Every case traced with no threshold: id -> [(source, similarity)], best first; ms each."""
    assistant.trace_min_similarity = 0.0
    found: dict[str, list[tuple[str, float]]] = {}
    took = []
    for case in cases:
        start = time.perf_counter()
        traced = assistant.trace(case["text"], source=case["source"], limit=50)
        took.append((time.perf_counter() - start) * 1000)
        ranked = sorted(traced.matches, key=lambda m: -m.similarity)
        found[case["id"]] = [(m.citation.source, m.similarity) for m in ranked]
    return found, took


def score(cases: list[dict[str, Any]], found: dict[str, list], threshold: float) -> dict[str, Any]:
    hits = returned = twins = recalled = lone_false = lone = 0
    for case in cases:
        matches = [s for s, sim in found[case["id"]] if sim >= threshold]
        truth = {t["source"] for t in case["twins"]}
        if not truth:
            lone += 1
            lone_false += bool(matches)
            continue
        top = matches[:5]
        hits += sum(s in truth for s in top)
        returned += len(top)
        twins += len(truth)
        recalled += len(truth & set(matches))
    precision = hits / returned if returned else 1.0
    recall = recalled / twins if twins else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "threshold": threshold,
        "precision_at_5": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "pairs": twins,
        "lone_with_false_twin": lone_false,
        "lone": lone,
    }


def choose(dev: list[dict[str, Any]], found: dict[str, list]) -> float:
    """The threshold with no false twin on the dev lone cases and the best F1; on ties the
    highest (a false twin misleads a drafter more than a missed one)."""
    rows = [score(dev, found, t) for t in THRESHOLDS]
    clean = [r for r in rows if r["lone_with_false_twin"] == 0] or rows
    return max(clean, key=lambda r: (r["f1"], r["threshold"]))["threshold"]


def index_rate(searcher: Any) -> dict[str, float]:
    """Chunks/s of building the BM25 index (the only index tracing reads) for this library."""
    from vectorstore.hybrid import lexical_text
    from vectorstore.lexical import LexicalIndex

    items = [(c.id, lexical_text(c), c.source) for c in searcher.store.iter_chunks()]
    start = time.perf_counter()
    LexicalIndex.build(items, "bench")
    seconds = time.perf_counter() - start
    return {
        "chunks": len(items),
        "seconds": round(seconds, 2),
        "chunks_per_s": round(len(items) / seconds),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=Path, default=Path(__file__).with_name("trace_cases.jsonl"))
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from assistant import Settings, build_assistant

    settings = Settings()
    assistant = build_assistant(settings, llm=None)
    cases = [json.loads(line) for line in args.cases.read_text().splitlines() if line.strip()]
    assistant.trace(cases[0]["text"], source=cases[0]["source"])  # warm: index loaded
    found, took = trace_all(assistant, cases)
    dev = [c for c in cases if split_of(c) == "dev"]
    test = [c for c in cases if split_of(c) == "test"]
    chosen = choose(dev, found)
    out = {
        "cases": len(cases),
        "shipped_threshold": settings.trace_min_similarity,
        "chosen_on_dev": chosen,
        "sweep_dev": [score(dev, found, t) for t in THRESHOLDS],
        "dev": score(dev, found, chosen),
        "test": score(test, found, chosen),
        "all_at_shipped": score(cases, found, settings.trace_min_similarity),
        "trace_ms": {
            "p50": round(statistics.median(took), 1),
            "p95": round(percentile(took, 0.95), 1),
            "max": round(max(took), 1),
        },
        "index": index_rate(assistant.searcher),
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(
        f"{len(cases)} cases ({len(dev)} dev, {len(test)} test); threshold chosen on dev: {chosen}"
    )
    print("threshold  P@5    recall  F1     lone with a false twin   (dev)")
    for r in out["sweep_dev"]:
        print(
            f"  {r['threshold']:.2f}     {r['precision_at_5']:.3f}  {r['recall']:.3f}   "
            f"{r['f1']:.3f}  {r['lone_with_false_twin']} of {r['lone']}"
        )
    for name in ("dev", "test", "all_at_shipped"):
        r = out[name]
        print(
            f"{name:>15}: threshold {r['threshold']}, P@5 {r['precision_at_5']:.3f}, recall "
            f"{r['recall']:.3f} ({r['pairs']} pairs), lone with a false twin "
            f"{r['lone_with_false_twin']} of {r['lone']}"
        )
    ms = out["trace_ms"]
    print(f"trace, warm: p50 {ms['p50']} ms, p95 {ms['p95']} ms, max {ms['max']} ms")
    ix = out["index"]
    print(
        f"index: BM25 build {ix['chunks']} chunks in {ix['seconds']} s ({ix['chunks_per_s']} chunks/s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
