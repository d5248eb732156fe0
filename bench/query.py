"""Warm `ask` latency without an LLM on the default corpus, beside a dense-only top-4 baseline.

Usage: python -m bench.query [--rounds 3] [--cases bench/dev_cases.jsonl]

Uses the store named by the settings (DATA_DIR / CHROMA_URL); run `policy-assistant ingest`
first. Prints p50/p95/mean per method and the peak RSS of this process, which holds what a
serving process holds (model, store client, BM25 index).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

from bench._common import PROJECT_ROOT, configure_environment, percentile, write_results

ROOT = PROJECT_ROOT

configure_environment()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="passes over the questions")
    parser.add_argument("--cases", type=Path, default=ROOT / "bench" / "dev_cases.jsonl")
    args = parser.parse_args()

    from assistant.composition import build_assistant, build_embedder, build_searcher
    from assistant.settings import Settings

    settings = Settings()
    searcher = build_searcher(settings, build_embedder(settings))
    assistant = build_assistant(settings, searcher)
    cases = [json.loads(line) for line in args.cases.read_text().splitlines() if line.strip()]
    questions = [(c["question"], c.get("history") or []) for c in cases]
    searcher.refresh(force=True)
    for question, history in questions[:5]:  # warm up: model, caches, BM25
        assistant.ask(question, history)
        searcher.dense(question, 4)

    timings: dict[str, list[float]] = {
        "ask (hybrid, offline answer)": [],
        "baseline: dense top-4": [],
    }
    for _ in range(args.rounds):
        for question, history in questions:
            start = time.perf_counter()
            searcher.dense(question, 4)
            timings["baseline: dense top-4"].append(time.perf_counter() - start)
            start = time.perf_counter()
            assistant.ask(question, history)
            timings["ask (hybrid, offline answer)"].append(time.perf_counter() - start)

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{len(searcher.documents)} documents, {searcher.store.count()} chunks; "
        f"{len(questions)} questions x {args.rounds} rounds"
    )
    print(f"{'method':<32} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    results = {}
    for name, values in timings.items():
        ms = [v * 1000 for v in values]
        row = {"p50": percentile(ms, 0.5), "p95": percentile(ms, 0.95), "mean": statistics.mean(ms)}
        results[name] = row
        print(f"{name:<32} {row['p50']:>8.1f} {row['p95']:>8.1f} {row['mean']:>8.1f}")
    print(f"peak RSS of this process: {rss_mb:.0f} MB")
    write_results("query", {"timings_ms": results, "peak_rss_mb": rss_mb})
    return 0


if __name__ == "__main__":
    sys.exit(main())
