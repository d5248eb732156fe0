"""Choosing the abstention thresholds: answerable vs unanswerable questions of the dev set.

Usage: python bench/abstention.py [--cases bench/dev_cases.jsonl]

For every case it measures the evidence the assistant weighs (best dense similarity, idf-weighted
coverage of the question by the top passages, numbers of the question missing from the passages)
once, then sweeps the two thresholds and prints, for each pair, the share of unanswerable
questions abstained (recall) and of answerable ones wrongly abstained, with and without the
number check. Uses the store named by the settings; run `policy-assistant ingest` first.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import configure_environment, write_results  # noqa: E402

configure_environment()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=Path, default=ROOT / "bench" / "dev_cases.jsonl")
    args = parser.parse_args()

    from assistant.composition import build_assistant
    from assistant.condense import condense_offline
    from assistant.grounding import assess
    from assistant.settings import Settings

    settings = Settings()
    assistant = build_assistant(settings)
    cases = [json.loads(line) for line in args.cases.read_text().splitlines() if line.strip()]
    rows = []
    for case in cases:
        query = condense_offline(case["question"], case.get("history"))
        docs = assistant.retriever.invoke(query)
        evidence = assess(case["question"], query, docs, assistant.searcher)
        rows.append((case.get("answerable", True), evidence, case.get("id", "")))

    answerable = [e for ok, e, _ in rows if ok]
    unanswerable = [e for ok, e, _ in rows if not ok]
    print(f"{len(answerable)} answerable, {len(unanswerable)} unanswerable cases\n")
    print("per case (sorted by coverage):")
    for ok, e, name in sorted(rows, key=lambda r: r[1].coverage):
        print(
            f"  {'answerable  ' if ok else 'UNANSWERABLE'} dense {e.dense:.2f}  coverage "
            f"{e.coverage:.2f}  missing numbers {list(e.missing_numbers) or '-'}  {name}"
        )

    def rates(min_dense: float, min_cov: float, numbers: bool) -> tuple[float, float]:
        def abstains(e) -> bool:
            return (
                e.dense < min_dense or e.coverage < min_cov or (numbers and bool(e.missing_numbers))
            )

        recall = sum(map(abstains, unanswerable)) / max(len(unanswerable), 1)
        wrong = sum(map(abstains, answerable)) / max(len(answerable), 1)
        return recall, wrong

    print(f"\n{'min dense':>9} {'min coverage':>12} {'numbers':>8} {'recall':>7} {'wrong':>7}")
    sweep = []
    for numbers in (False, True):
        for min_dense in (0.2, 0.3, 0.4, 0.5):
            for min_cov in (0.0, 0.3, 0.45, 0.55, 0.6, 0.65):
                recall, wrong = rates(min_dense, min_cov, numbers)
                sweep.append(
                    {
                        "min_dense": min_dense,
                        "min_coverage": min_cov,
                        "numbers": numbers,
                        "abstention_recall": recall,
                        "wrong_abstention": wrong,
                    }
                )
                print(
                    f"{min_dense:>9.2f} {min_cov:>12.2f} {numbers!s:>8} {recall:>7.2f} {wrong:>7.2f}"
                )
    chosen = rates(settings.abstain_min_similarity, settings.abstain_min_coverage, True)
    print(
        f"\nsettings in force: min dense {settings.abstain_min_similarity}, min coverage "
        f"{settings.abstain_min_coverage}, numbers on -> recall {chosen[0]:.2f}, wrong {chosen[1]:.2f}"
    )
    write_results("abstention", {"sweep": sweep})
    return 0


if __name__ == "__main__":
    sys.exit(main())
