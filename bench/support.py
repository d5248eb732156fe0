"""Choosing LLM_MIN_SUPPORT: how well the lexical support check separates supported sentences
from unsupported ones.

Usage: python bench/support.py [--cases bench/dev_cases.jsonl] [--seed 0]

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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import configure_environment, write_results  # noqa: E402

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

    from assistant.components import build_assistant
    from assistant.settings import Settings
    from assistant.verify import _context, support

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
    for i, (case, quote, passage) in enumerate(items):
        pos.append(support(reword(quote, case["question"], rng), [passage]))
        other = items[(i + 1 + rng.randrange(len(items) - 1)) % len(items)]
        neg.append(support(reword(other[1], case["question"], rng), [passage]))
    print(f"{len(pos)} supported and {len(neg)} unsupported sentences\n")
    print(f"{'threshold':>9} {'supported kept':>15} {'unsupported removed':>20}")
    rows = []
    for t in (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8):
        kept = sum(s >= t for s in pos) / len(pos)
        removed = sum(s < t for s in neg) / len(neg)
        rows.append({"threshold": t, "supported_kept": kept, "unsupported_removed": removed})
        print(f"{t:>9.2f} {kept:>15.2f} {removed:>20.2f}")
    write_results("support", {"thresholds": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
