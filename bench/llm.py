"""The configured LLM beside the offline answer on the dev set: time to first token, total time,
gold sources cited, key terms, abstention, and what the check did to the model's sentences.

Usage: POLICY_ASSISTANT_LLM_BASE_URL=http://127.0.0.1:8008/v1 POLICY_ASSISTANT_LLM_TIMEOUT=300 \
       python -m bench.llm [--cases bench/dev_cases.jsonl] [--split test] [--limit N]

Uses the store and the LLM endpoint named by the settings (run `policy-assistant ingest` first;
the README shows how to serve the Qwen2.5 1.5B model that ``bench/llm_model.py`` assembles).
Counts: sentences the model wrote (markers-only fillers included), kept, kept with a repaired
citation, replaced by the passage sentence they restate, removed, and answers that quote the
documents because none of the model's sentences passed the check. Every case's raw model text, checked answer and note go to
``bench/results/llm_cases.jsonl`` (``--out`` elsewhere), with the passages the model read, for
judging false removals by reading and for ``bench/llm_replay.py``, which checks the same text
again with the current check. Prompt tokens are
counted by the endpoint's tokenizer where it offers one (llama.cpp's ``/extras/tokenize``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from bench._common import PROJECT_ROOT, RESULTS_DIR, configure_environment, write_results

ROOT = PROJECT_ROOT

configure_environment()


def _prompt(assistant, base_url: str, question: str, history) -> tuple[int | None, list[dict]]:
    """Tokens of the answer prompt as the endpoint counts them (None where it cannot), and the
    passages the model reads, as ``bench/llm_replay.py`` checks the model's text against them
    again (none where the gate answers without the model)."""
    import httpx

    from assistant.prompts import ANSWER_PROMPT

    inputs = assistant.retrieve_chain.invoke({"question": question, "history": list(history)})
    if assistant._gate(inputs) is not None:
        return None, []
    inputs = assistant._choose_llm_docs(inputs)
    passages = [
        {"id": d.id, "metadata": d.metadata, "text": d.page_content} for d in inputs["llm_docs"]
    ]
    messages = ANSWER_PROMPT.format_messages(**assistant._prompt_inputs(inputs))
    text = "\n".join(str(m.content) for m in messages)
    root = base_url.rstrip("/").removesuffix("/v1")
    try:
        reply = httpx.post(f"{root}/extras/tokenize", json={"input": text}, timeout=10)
        return (len(reply.json()["tokens"]) if reply.status_code == 200 else None), passages
    except (httpx.HTTPError, KeyError, ValueError):
        return None, passages


def _sentence_counts(raw: str, answer) -> dict[str, int]:
    """What the check did to the model's sentences, read from its text and the answer's note."""
    from assistant.core import LLM_DECLINED_NOTE, LLM_UNVERIFIED_NOTE
    from assistant.prompts import declines
    from assistant.verify import REPLACED, answer_sentences

    note = (answer.note or "") if answer is not None else ""
    # the model's refusal is no sentence of its own, and a refusal overruled quotes the documents
    refused = declines(raw)
    written = (
        0 if refused else len([s for s in answer_sentences(raw) if any(c.isalpha() for c in s)])
    )
    unverified = answer is not None and answer.answer.endswith(LLM_UNVERIFIED_NOTE)
    declined = answer is not None and answer.answer.endswith(LLM_DECLINED_NOTE)
    replaced = note.count(REPLACED)
    kept = (
        0
        if answer is None or answer.abstained or unverified or declined
        else answer.sentence_count() - replaced  # each kept or quoted sentence ends with [n]
    )
    return {
        "written": written,
        "kept": kept,
        "replaced": replaced,
        "declined_quoted": int(declined),
        "repaired": note.count("citation repaired"),
        "removed": note.count("removed") + note.count("not in the passage closest") - replaced,
        "fillers_moved": note.count("moved from"),
        "unverified": int(unverified),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=Path, default=ROOT / "bench" / "dev_cases.jsonl")
    parser.add_argument("--split", default=None, help="only cases of this split (dev, test)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases")
    parser.add_argument(
        "--out", type=Path, default=RESULTS_DIR / "llm_cases.jsonl", help="where the cases go"
    )
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
    cases = [c for c in load_cases(args.cases) if args.split in (None, c.get("split"))]
    cases = cases[: args.limit or None]
    page_text = page_text_reader(settings.corpus_dir)

    first_token: list[float] = []
    total: list[float] = []
    prompt_tokens: list[int] = []
    counts = dict.fromkeys(
        [
            "written",
            "kept",
            "replaced",
            "repaired",
            "removed",
            "fillers_moved",
            "unverified",
            "declined_quoted",
        ],
        0,
    )
    records: list[dict] = []
    fallbacks = 0

    def ask_streaming(question: str, history: list[dict[str, str]]):
        nonlocal fallbacks
        tokens, passages = _prompt(online, settings.llm_base_url, question, history)
        if tokens:
            prompt_tokens.append(tokens)
        start = time.perf_counter()
        last = raw = None
        for partial in online.stream(question, history):
            if last is None:
                first_token.append(time.perf_counter() - start)
            raw, last = last, partial
        total.append(time.perf_counter() - start)
        fallbacks += bool(last and last.answer.endswith(LLM_FALLBACK_NOTE))
        raw_text = raw.answer if raw is not None and not raw.citations else ""
        seen = _sentence_counts(raw_text, last)
        for key, value in seen.items():
            counts[key] += value
        records.append({
            "question": question, "raw": raw_text, "answer": last.answer if last else "",
            "abstained": bool(last and last.abstained), "note": last.note if last else None,
            "seconds": total[-1], "prompt_tokens": tokens, **seen, "passages": passages,
        })  # fmt: skip
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
    if prompt_tokens:
        print(f"{'prompt tokens p50':<24} {'':>8} {statistics.median(prompt_tokens):>8.0f}")
    print(
        "sentences: {written} written, {kept} kept ({repaired} with a repaired citation), "
        "{replaced} replaced by the passage sentence they restate, {removed} removed, "
        "{fillers_moved} marker-only fillers folded into the sentence before; {unverified} "
        "answers quote the documents because no sentence of the model's passed the check, {declined_quoted} because the gate overruled the model's refusal".format(
            **counts
        )
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)  # absent on a fresh clone
    with args.out.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    write_results(args.out.stem.removesuffix("_cases"), {
        "endpoint": settings.llm_base_url, "model": settings.llm_model, "cases": len(cases),
        "offline": a, "llm": b, "offline_seconds_mean": offline_seconds,
        "llm_seconds_mean": statistics.mean(total), "ttft_p50": statistics.median(first_token),
        "fallbacks": fallbacks, "sentences": counts,
        "prompt_tokens_p50": statistics.median(prompt_tokens) if prompt_tokens else None,
    })  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
