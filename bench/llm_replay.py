"""The support check again over an LLM run's recorded text: what the current check keeps,
repairs, replaces by the passage sentence they restate, and removes of the model's real
sentences, and, against sentences labelled by reading, how many true ones it removes (and of
those, how many it replaces by their source sentence, printed beside it for reading) and false
ones it keeps.

Usage: python -m bench.llm_replay [--cases bench/results/llm_cases.jsonl]
                                  [--labels bench/llm_sentence_labels.jsonl] [--unlabelled F]

``bench/llm.py`` records each case's raw model text and the passages the model read. Replaying
needs no model: the same text is checked against the same passages (their stored vectors, by id,
where the store still has them), so a change to the check is measured on the sentences a real
model wrote, deterministically and in seconds. ``--labels`` holds one JSON line per sentence:
``question``, ``sentence`` (as the check reads it, without markers), ``true`` (whether the
passages the model read support it, judged by reading them) and ``why``. ``--unlabelled F``
writes the sentences that have no label yet, with their passages and without the check's
decision, for labelling.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from bench._common import PROJECT_ROOT, RESULTS_DIR, configure_environment, percentile

configure_environment()


def _key(question: str, sentence: str) -> tuple[str, str]:
    return question.strip(), " ".join(sentence.split())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=Path, nargs="+", default=[RESULTS_DIR / "llm_cases.jsonl"])
    parser.add_argument(
        "--labels", type=Path, default=PROJECT_ROOT / "bench" / "llm_sentence_labels.jsonl"
    )
    parser.add_argument("--unlabelled", type=Path, default=None, help="write these to label")
    parser.add_argument(
        "--questions",
        type=Path,
        nargs="*",
        default=[PROJECT_ROOT / "bench" / n for n in ("dev_cases.jsonl", "blind_cases.jsonl")],
        help="case files the runs' questions come from (a follow-up's earlier turns, for the "
        "offline answer an answer of replacements alone is compared with)",
    )
    parser.add_argument("--details", action="store_true", help="print every sentence")
    parser.add_argument(
        "--thresholds",
        type=float,
        nargs="*",
        default=[],
        help="also count the labelled sentences' fate at these support thresholds",
    )
    args = parser.parse_args()

    from langchain_core.documents import Document

    from assistant.composition import build_assistant, build_embedder, build_searcher
    from assistant.core import Assistant
    from assistant.evaluate import load_cases
    from assistant.prompts import NOT_IN_LIBRARY, declines
    from assistant.settings import Settings
    from assistant.verify import SupportCheck, answer_drafts, verify_answer

    settings = Settings()
    embedder = build_embedder(settings)
    searcher = build_searcher(settings, embedder)
    store = searcher.store
    offline = build_assistant(settings, searcher, llm=None)
    histories = {
        c["question"].strip(): c.get("history") or [] for f in args.questions for c in load_cases(f)
    }
    labels: dict[tuple[str, str], bool] = {}
    if args.labels.exists():
        for line in args.labels.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                labels[_key(row["question"], row["sentence"])] = bool(row["true"])
    cases = [
        json.loads(line)
        for path in args.cases
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    counts = dict.fromkeys(["answers", "written", "kept", "repaired", "removed", "quoted"], 0)
    judged = {"true_kept": 0, "true_removed": 0, "false_kept": 0, "false_removed": 0}
    # label -> (sentence, the passage sentence that replaced it)
    replaced: dict[bool, list[tuple[str, str]]] = {True: [], False: []}
    unlabelled: list[dict] = []
    wrongly_removed: list[str] = []
    wrongly_kept: list[str] = []
    sweep: dict[float, Counter] = {}
    cost: list[float] = []  # ms per answer: the check as the assistant runs it
    for case in cases:
        raw, passages = case.get("raw") or "", case.get("passages") or []
        if not raw or not passages or declines(raw):
            continue
        docs = [
            Document(page_content=p["text"], metadata=p["metadata"], id=p["id"]) for p in passages
        ]
        start = time.perf_counter()
        vectors = store.vectors([d.id for d in docs])
        check = SupportCheck(
            docs,
            embed=embedder.embed_documents,
            passage_vectors=None if any(v is None for v in vectors) else vectors,
            threshold=settings.llm_min_support,
        )
        text = raw.replace(NOT_IN_LIBRARY, "")
        drafts, _ = answer_drafts(text)
        kept, _notes = verify_answer(text, docs, check)
        cost.append((time.perf_counter() - start) * 1000)
        drafted = [(d, labels.get(_key(case["question"], d.body))) for d in drafts]
        fitted = check.threshold
        for t in args.thresholds:
            check.threshold = t
            at_t = {k.text for k in verify_answer(text, docs, check)[0]}
            for draft, label in drafted:
                if label is not None:
                    sweep.setdefault(t, Counter())[(label, draft.body in at_t)] += 1
        check.threshold = fitted
        kept_by_text = {k.text: k for k in kept if not k.quoted}
        quotes = {k.text for k in kept if k.quoted}
        if not kept_by_text and quotes:  # replacements alone: do they stand? (Assistant._checked)
            question = case["question"].strip()
            if not Assistant._agrees(kept, docs, offline.ask(question, histories.get(question))):
                quotes = set()
        counts["answers"] += 1
        for draft, label in drafted:
            counts["written"] += 1
            sentence = kept_by_text.get(draft.body)
            cited = [n - 1 for n in draft.markers]
            source = check.source_sentence(draft.body) if sentence is None else None
            if source is not None and source[1] in quotes:
                counts["quoted"] += 1
                decision = "quoted"
                if label is not None:
                    replaced[label].append((draft.body, source[1]))
            elif sentence is None:
                counts["removed"] += 1
                decision = "removed"
            else:
                counts["kept"] += 1
                repaired = not set(sentence.passages) <= set(cited)
                counts["repaired"] += repaired
                decision = "repaired" if repaired else "kept"
            if label is None:
                unlabelled.append(
                    {
                        "question": case["question"],
                        "sentence": draft.body,
                        "markers": draft.markers,
                        "passages": [f"[{i + 1}] {p['text']}" for i, p in enumerate(passages)],
                    }
                )
            else:
                gone = decision in ("removed", "quoted")
                name = f"{'true' if label else 'false'}_{'removed' if gone else 'kept'}"
                judged[name] += 1
                if name == "true_removed":
                    wrongly_removed.append(draft.body)
                if name == "false_kept":
                    wrongly_kept.append(draft.body)
            if args.details:
                mark = "" if label is None else ("  TRUE" if label else "  FALSE")
                best = max(check.scores([draft.body], [cited])[0], default=0.0)
                print(f"{decision:>8}{mark} {best:.2f}: {draft.body[:110]}")

    print(
        f"{counts['answers']} answers checked again: {counts['written']} sentences, "
        f"{counts['kept']} kept ({counts['repaired']} with a repaired citation), "
        f"{counts['removed']} removed, {counts['quoted']} replaced by the passage's own words"
    )
    print(
        f"cost of the check per answer (passage vectors from the store): "
        f"p50 {percentile(cost, 0.5):.0f} ms, p95 {percentile(cost, 0.95):.0f} ms"
    )
    true = judged["true_kept"] + judged["true_removed"]
    false = judged["false_kept"] + judged["false_removed"]
    if true or false:
        print(
            f"labelled {true + false}: true sentences removed {judged['true_removed']} of {true}"
            f" ({judged['true_removed'] / max(true, 1):.0%}), false sentences kept "
            f"{judged['false_kept']} of {false} ({judged['false_kept'] / max(false, 1):.0%})"
        )
        outright = judged["true_removed"] - len(replaced[True])
        print(
            f"  of the true sentences removed, {len(replaced[True])} were replaced by the passage "
            f"sentence they restate and {outright} removed outright ({outright / max(true, 1):.0%})"
        )
        for body in wrongly_removed:
            print(f"  true, removed: {body[:120]}")
        for body in wrongly_kept:
            print(f"  false, kept:   {body[:120]}")
        for label in (True, False):
            print(
                f"{'true' if label else 'false'} sentences replaced by the passage's own words: "
                f"{len(replaced[label])}"
            )
            for body, quote in replaced[label]:
                print(f"  {body[:150]}\n    -> {quote[:300]}")
    if sweep:
        print("threshold  true removed  false kept")
        for t, seen in sorted(sweep.items()):
            true_n = seen[(True, True)] + seen[(True, False)]
            false_n = seen[(False, True)] + seen[(False, False)]
            print(
                f"{t:9.2f}  {seen[(True, False)]:>5} of {true_n:<4} {seen[(False, True)]:>4} of {false_n}"
            )
    if unlabelled:
        print(f"{len(unlabelled)} sentences have no label")
        if args.unlabelled:
            args.unlabelled.write_text(
                "".join(json.dumps(u, ensure_ascii=False) + "\n" for u in unlabelled),
                encoding="utf-8",
            )
            print(f"wrote them to {args.unlabelled}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
