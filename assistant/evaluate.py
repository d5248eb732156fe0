"""Scoring the assistant on eval cases: gold sources cited, key terms, citation validity, abstention."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .answer import Answer

__all__ = ["CaseResult", "EvalReport", "evaluate", "load_cases", "normalised", "side_by_side"]

# source, page (or None) -> the text of that page (or of the whole document), as read from the file
PageText = Callable[[str, int | None], str | None]


def load_cases(path: Path) -> list[dict[str, Any]]:
    cases = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON: {exc.msg}") from exc
        if not isinstance(case, dict) or not isinstance(case.get("question"), str):
            raise ValueError(f'{path}:{number}: each line needs a "question" string')
        cases.append(case)
    return cases


def normalised(text: str) -> str:
    """Text as key terms and quotes are compared: typographic quotes and spaces unified,
    whitespace collapsed, lower case."""
    text = text.replace("’", "'").replace("“", '"').replace("”", '"').replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text).strip().lower()


@dataclass
class CaseResult:
    case: dict[str, Any]
    answer: Answer
    gold_cited: bool | None  # None for unanswerable cases
    terms_found: float | None  # share of must_contain terms present
    citations_valid: bool
    seconds: float = 0.0  # to answer this case
    terms_in_lead: bool | None = None  # all must_contain terms in the first sentence


@dataclass
class EvalReport:
    results: list[CaseResult] = field(default_factory=list)

    def _answerable(self) -> list[CaseResult]:
        return [r for r in self.results if r.case.get("answerable", True)]

    def metrics(self) -> dict[str, float]:
        answerable = self._answerable()
        unanswerable = [r for r in self.results if not r.case.get("answerable", True)]
        with_gold = [r for r in answerable if r.gold_cited is not None]
        with_terms = [r for r in answerable if r.terms_found is not None]
        abstained = [r for r in self.results if r.answer.abstained]
        correct_abstentions = [r for r in abstained if not r.case.get("answerable", True)]

        def share(part: int, whole: int) -> float:
            return part / whole if whole else float("nan")

        return {
            "gold_source_hit_rate": share(sum(r.gold_cited for r in with_gold), len(with_gold)),
            "key_terms_all_present": share(
                sum(r.terms_found == 1.0 for r in with_terms), len(with_terms)
            ),
            "key_term_recall": share(sum(r.terms_found for r in with_terms), len(with_terms)),
            # the answer leads with the sentence that answers
            "key_terms_in_first": share(
                sum(bool(r.terms_in_lead) for r in with_terms), len(with_terms)
            ),
            "citation_validity": share(
                sum(r.citations_valid for r in self.results), len(self.results)
            ),
            "abstention_precision": share(len(correct_abstentions), len(abstained)),
            "abstention_recall": share(len(correct_abstentions), len(unanswerable)),
            "wrong_abstention_rate": share(
                sum(r.answer.abstained for r in answerable), len(answerable)
            ),
        }

    def seconds_per_answer(self) -> float:
        return sum(r.seconds for r in self.results) / len(self.results) if self.results else 0.0

    def table(self) -> str:
        return side_by_side({"value": self})

    def breakdown(self, key: str) -> str:
        """Per value of a case field (``kind``, ``lang``): cases, gold cited, all key terms,
        abstained (the right answer for unanswerable cases), answers of at most 3 sentences (of
        the cases not labelled ``asks_for: list`` nor ``kind: comparison``)."""
        groups: dict[str, list[CaseResult]] = {}
        for r in self.results:
            groups.setdefault(str(r.case.get(key, "en" if key == "lang" else "-")), []).append(r)
        head = f"{key:<12} {'cases':>5} {'gold':>6} {'terms':>6} {'abstained':>9} {'<=3 sent':>8}"
        rows = [head, "-" * len(head)]
        for name, results in sorted(groups.items()):
            sub = EvalReport(results).metrics()
            # single facts: a list or a comparison may take more sentences (ExtractiveConfig)
            answered = [
                r
                for r in results
                if not r.answer.abstained
                and r.case.get("asks_for") != "list"
                and r.case.get("kind") != "comparison"
            ]
            short = (
                sum(r.answer.sentence_count() <= 3 for r in answered) / len(answered)
                if answered
                else float("nan")
            )
            abstained = sum(r.answer.abstained for r in results) / len(results)
            rows.append(
                f"{name:<12} {len(results):>5} {sub['gold_source_hit_rate']:>6.3f} "
                f"{sub['key_terms_all_present']:>6.3f} {abstained:>9.3f} {short:>8.3f}"
            )
        return "\n".join(rows)


def side_by_side(reports: dict[str, EvalReport]) -> str:
    """The metrics of several runs over the same cases, a column each (offline beside LLM)."""
    names = list(reports)
    width = max(7, *(len(n) for n in names))
    metrics = {n: r.metrics() for n, r in reports.items()}
    head = f"{'metric':<24}" + "".join(f" {n:>{width}}" for n in names)
    rows = [head, "-" * len(head)]
    for key in metrics[names[0]]:
        rows.append(f"{key:<24}" + "".join(f" {metrics[n][key]:>{width}.3f}" for n in names))
    rows.append(
        f"{'seconds_per_answer':<24}"
        + "".join(f" {reports[n].seconds_per_answer():>{width}.2f}" for n in names)
    )
    rows.append(f"{'cases':<24}" + "".join(f" {len(reports[n].results):>{width}d}" for n in names))
    return "\n".join(rows)


def citation_is_valid(answer: Answer, page_text: PageText) -> bool:
    """Every quote is in its document at its page, every [n] has a citation, none is unused."""
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    if markers != {c.n for c in answer.citations}:
        return False
    for c in answer.citations:
        text = page_text(c.source, c.page)
        if text is None:
            return False
        haystack = normalised(text)
        if not all(normalised(line) in haystack for line in c.quote.split("\n") if line.strip()):
            return False
    return True


def conversed(
    history: list[dict[str, str]], ask: Callable[[str, list[dict[str, str]]], Answer]
) -> list[dict[str, str]]:
    """``history`` as a reader would have it: its questions asked in turn, each answered by
    ``ask`` (the written answers of a case are a person's summary, not what the assistant says,
    and a follow-up's answer depends on what was said before it)."""
    turns: list[dict[str, str]] = []
    for turn in history:
        if turn.get("role") == "user":
            answer = ask(turn["content"], list(turns))
            turns += [turn, {"role": "assistant", "content": answer.answer}]
    return turns


def evaluate(
    cases: Iterable[dict[str, Any]],
    ask: Callable[[str, list[dict[str, str]]], Answer],
    page_text: PageText,
    converse: bool = False,
) -> EvalReport:
    """Ask every case and score its answer; ``converse``: a follow-up's earlier turns are
    asked first and answered by ``ask`` (``conversed``), instead of the case's written ones."""
    report = EvalReport()
    for case in cases:
        history = case.get("history") or []
        if converse and history:
            history = conversed(history, ask)
        began = time.perf_counter()
        answer = ask(case["question"], history)
        seconds = time.perf_counter() - began
        gold = set(case.get("gold_sources") or [])
        answerable = case.get("answerable", True)
        terms = case.get("must_contain") or []
        text = normalised(answer.answer)
        lead = normalised(answer.first_sentence())
        report.results.append(
            CaseResult(
                case=case,
                answer=answer,
                gold_cited=(
                    any(c.source in gold for c in answer.citations) and not answer.abstained
                    if answerable and gold
                    else None
                ),
                terms_found=(
                    sum(normalised(t) in text for t in terms) / len(terms)
                    if answerable and terms
                    else None
                ),
                citations_valid=citation_is_valid(answer, page_text),
                seconds=seconds,
                terms_in_lead=(
                    all(normalised(t) in lead for t in terms) if answerable and terms else None
                ),
            )
        )
    return report
