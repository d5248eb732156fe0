"""The configured LLM beside the offline answer on the dev set: time to first token, total time,
gold sources cited, key terms, abstention.

Usage: POLICY_ASSISTANT_LLM_BASE_URL=http://127.0.0.1:8008/v1 python -m bench.llm [--limit N]

Uses the store and the LLM endpoint named by the settings (run `policy-assistant ingest`
first; see the README for starting a llama.cpp server with the SmolLM2 package).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from bench._common import PROJECT_ROOT, configure_environment, write_results

ROOT = PROJECT_ROOT

configure_environment()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=Path, default=ROOT / "bench" / "dev_cases.jsonl")
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases")
    args = parser.parse_args()

    from assistant.composition import (
        build_assistant,
        build_embedder,
        build_llm,
        build_searcher,
        page_text_reader,
    )
    from assistant.core import LLM_FALLBACK_NOTE
    from assistant.evaluate import evaluate, load_cases
    from assistant.settings import Settings

    settings = Settings()
    llm = build_llm(settings)
    if llm is None:
        print("error: set POLICY_ASSISTANT_LLM_BASE_URL (and LLM_MODEL) to the endpoint to measure")
        return 2
    searcher = build_searcher(settings, build_embedder(settings))
    offline = build_assistant(settings, searcher, llm=None)
    online = build_assistant(settings, searcher, llm=llm)
    cases = load_cases(args.cases)[: args.limit or None]
    page_text = page_text_reader(settings.corpus_dir)

    first_token: list[float] = []
    total: list[float] = []
    fallbacks = 0

    def ask_streaming(question: str, history: list[dict[str, str]]):
        nonlocal fallbacks
        start = time.perf_counter()
        last = None
        for partial in online.stream(question, history):
            if last is None:
                first_token.append(time.perf_counter() - start)
            last = partial
        total.append(time.perf_counter() - start)
        fallbacks += bool(last and last.answer.endswith(LLM_FALLBACK_NOTE))
        return last

    started = time.perf_counter()
    offline_report = evaluate(cases, offline.ask, page_text)
    offline_seconds = (time.perf_counter() - started) / max(len(cases), 1)
    llm_report = evaluate(cases, ask_streaming, page_text)

    print(
        f"endpoint {settings.llm_base_url} model {settings.llm_model or '(default)'}; {len(cases)} cases"
    )
    a, b = offline_report.metrics(), llm_report.metrics()
    print(f"{'metric':<24} {'offline':>8} {'LLM':>8}")
    for key in a:
        print(f"{key:<24} {a[key]:>8.3f} {b[key]:>8.3f}")
    print(f"{'mean seconds / answer':<24} {offline_seconds:>8.3f} {statistics.mean(total):>8.2f}")
    print(f"{'time to first token p50':<24} {'':>8} {statistics.median(first_token):>8.2f}")
    print(f"{'LLM failures (fallback)':<24} {'':>8} {fallbacks:>8d}")
    write_results("llm", {
        "endpoint": settings.llm_base_url, "model": settings.llm_model, "cases": len(cases),
        "offline": a, "llm": b, "offline_seconds_mean": offline_seconds,
        "llm_seconds_mean": statistics.mean(total), "ttft_p50": statistics.median(first_token),
        "fallbacks": fallbacks,
    })  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
