"""Choosing LLM_MIN_SUPPORT: how well the lexical support check separates supported sentences
from unsupported ones.

Usage: python -m bench.support [--cases bench/dev_cases.jsonl] [--seed 0]

Pairs come from the dev set. A *supported* sentence is the verbatim supporting quote of a case
(from its note) reworded the way a model rewords: a third of its words replaced by words of the
question (which a model tends to echo) and connectives that are not in the passage. An
*unsupported* sentence is another case's quote, reworded the same way, checked against this
case's passages. Each is checked against the passage the assistant retrieves from the gold
document, as verify.py checks an answer. Prints, per threshold, the share of supported
sentences kept and of unsupported ones removed. No store or model is needed beyond the
retrieval of the passages (run `policy-assistant ingest` first).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

from bench._common import PROJECT_ROOT, configure_environment, write_results

ROOT = PROJECT_ROOT

configure_environment()

FILLERS = [
    "in",
    "particular",
    "notably",
    "moreover",
    "accordingly",
    "specifically",
    "essentially",
    "overall",
    "also",
    "thus",
]


def reword(sentence: str, question: str, rng: random.Random) -> str:
    words = sentence.split()
    pool = [w for w in re.findall(r"\w+", question) if len(w) > 3] + FILLERS
    for i in rng.sample(range(len(words)), k=len(words) // 3):
        words[i] = rng.choice(pool)
    return " ".join(words)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=Path, default=ROOT / "bench" / "dev_cases.jsonl")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from assistant.composition import build_assistant
    from assistant.settings import Settings
    from assistant.verify import _context, missing_numbers, support

    rng = random.Random(args.seed)
    assistant = build_assistant(Settings(), llm=None)
    cases = [json.loads(x) for x in args.cases.read_text().splitlines() if x.strip()]
    items = []
    for case in cases:
        quotes = re.findall(r"\"([^\"]{40,})\"", case.get("note", ""))
        if not case.get("answerable", True) or not quotes:
            continue
        docs = assistant.retriever.invoke(case["question"])
        gold = [d for d in docs if d.metadata["source"] in case.get("gold_sources", [])]
        if gold:
            items.append((case, quotes[0], _context(gold[0])))
    pos, neg = [], []
    pos_numbers_ok, swapped = [], []
    for i, (case, quote, passage) in enumerate(items):
        reworded = reword(quote, case["question"], rng)
        pos.append(support(reworded, [passage]))
        pos_numbers_ok.append(not missing_numbers(reworded, [passage]))
        other = items[(i + 1 + rng.randrange(len(items) - 1)) % len(items)]
        neg.append(support(reword(other[1], case["question"], rng), [passage]))
        numbers = [n for n in re.findall(r"\b\d+\b", quote)]
        if numbers:  # the quote verbatim with one number changed: a subtle factual error
            n = rng.choice(numbers)
            wrong = str(int(n) + rng.choice([1, 2, 3, 10, 12]))
            altered = re.sub(rf"\b{n}\b", wrong, quote, count=1)
            swapped.append((support(altered, [passage]), not missing_numbers(altered, [passage])))
    print(f"{len(pos)} supported and {len(neg)} unsupported sentences\n")
    print(f"{'threshold':>9} {'supported kept':>15} {'unsupported removed':>20}")
    rows = []
    for t in (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8):
        kept = sum(s >= t for s in pos) / len(pos)
        removed = sum(s < t for s in neg) / len(neg)
        rows.append({"threshold": t, "supported_kept": kept, "unsupported_removed": removed})
        print(f"{t:>9.2f} {kept:>15.2f} {removed:>20.2f}")
    kept_with_numbers = sum(
        s >= 0.45 and ok for s, ok in zip(pos, pos_numbers_ok, strict=True)
    ) / len(pos)
    caught_support = sum(s < 0.45 for s, _ in swapped) / len(swapped)
    caught_both = sum(s < 0.45 or not ok for s, ok in swapped) / len(swapped)
    print(
        f"\nat 0.45 with the number check: supported kept {kept_with_numbers:.2f}; "
        f"{len(swapped)} quotes with one number changed removed: {caught_support:.2f} by "
        f"support alone, {caught_both:.2f} with the number check"
    )
    write_results(
        "support",
        {
            "thresholds": rows,
            "number_check": {
                "supported_kept_at_0.45": kept_with_numbers,
                "number_swapped": len(swapped),
                "swapped_removed_by_support": caught_support,
                "swapped_removed_with_number_check": caught_both,
            },
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
