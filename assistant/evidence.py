"""Does the library answer the question? Signals from the retrieved passages, and the one
confidence a fitted model makes of them (``confidence_features``; weights in weights.json).

- the best passage's dense (cosine) similarity to the query: off-topic questions score low;
- coverage: the share of the query's idf weight found in the top passages (their source name,
  title and locator included): a question whose rare words are nowhere in them is not answered;
- numbers: every number the question names (a year, an article, a resolution) must occur in the
  passages; "Article 21 of the Budapest Convention" is not answered by Article 21 of another one;
- articles: an article the question names must be some passage's locator or be mentioned in one
  ("Article 40" is not answered by passages that merely contain a 40).

They, the scores of the best candidate sentences and whether those carry the kind of item the
question asks for are the features of the confidence; its threshold is chosen on the dev split
(bench/fit_answerer.py) for a stated share of answerable questions wrongly abstained.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.documents import Document

from .glossary import question_language, translate_terms

__all__ = ["CONFIDENCE_FEATURES", "Evidence", "assess", "confidence_features"]

# coverage, the best score alone and the mean similarity were tried and fitted with weights of
# the wrong sign (a paraphrased question covers few words yet is answerable), and so did the
# share of the question's capitalised names found in no passage: left out
CONFIDENCE_FEATURES = (
    "dense",
    "dense_shortfall",
    "best3",
    "type_specific",
    "type_found",
    "missing_numbers",
    "missing_units",
    "foreign",
)

_NUMBER = re.compile(r"\b\d+(?:[/.]\d+)*\b")
COVERAGE_PASSAGES = 3  # coverage looks at the best few passages, where the answer would be
# an English question whose best passage is less similar than this is far from the library: off-
# topic questions score 0.18-0.44 on the fitting cases, answerable English ones 0.45 and up. The
# confidence is linear in the similarity, and its slope is set by the many answerable and near-
# miss questions between 0.5 and 0.8, so alone it cannot say "far below 0.5 is off-topic".
DENSE_FLOOR = 0.5


@dataclass(frozen=True)
class Evidence:
    dense: float
    coverage: float
    missing_numbers: tuple[str, ...]
    missing_units: tuple[str, ...] = ()  # "article 40" asked about, in no passage found
    dense_mean: float = 0.0  # of the best three passages
    foreign: bool = False  # the question is not in English

    def as_json(self) -> dict[str, Any]:
        return {
            "dense": round(self.dense, 4),
            "coverage": round(self.coverage, 4),
            "missing_numbers": list(self.missing_numbers),
            "missing_units": list(self.missing_units),
        }

    def abstain_reason(self, min_dense: float, min_coverage: float) -> str | None:
        if self.dense < min_dense:
            return f"best passage similarity {self.dense:.2f} < {min_dense}"
        if self.missing_numbers:
            return f"numbers not found in any passage: {', '.join(self.missing_numbers)}"
        if self.missing_units:
            return f"no passage found is {', '.join(self.missing_units)}"
        if self.coverage < min_coverage:
            return f"question terms covered {self.coverage:.2f} < {min_coverage}"
        return None


def numbers_in(text: str) -> list[str]:
    """Numbers named in ``text`` ("77/37", "23", "2024"), in order."""
    return list(dict.fromkeys(_NUMBER.findall(text)))


def lacks_numbers(doc: Document, numbers: Sequence[str]) -> bool:
    """True when some of ``numbers`` occurs nowhere in the passage, its title, source or locator."""
    found = set(re.findall(r"\d+", evidence_text(doc)))
    return any(not set(re.findall(r"\d+", n)) <= found for n in numbers)


def names_document(doc: Document, numbers: Sequence[str]) -> bool:
    """True when a number the question names with a slash or of three digits or more
    ("77/37", "2022/2555", "14028") is in the passage's document name or title: the question
    names this document, not one that merely mentions it."""
    m = doc.metadata
    name = re.sub(r"[-_.]", " ", f"{m.get('source', '')} {m.get('title', '')}")
    found = set(re.findall(r"\d+", name))
    symbols = [
        n for n in numbers if "/" in n or len(n) >= 3 and not re.fullmatch(r"(19|20)\d\d", n)
    ]
    return any(set(re.findall(r"\d+", n)) <= found for n in symbols)


def evidence_text(doc: Document) -> str:
    m = doc.metadata
    source = re.sub(r"[-_.]", " ", m.get("source", ""))
    return f"{source} {m.get('title', '')} {m.get('locator') or ''} {doc.page_content}"


def assess(question: str, query: str, docs: Sequence[Document], searcher: Any) -> Evidence:
    """Measure how well ``docs`` (best first) cover ``question`` (``query``: its search form)."""
    if not docs:
        return Evidence(0.0, 0.0, ())
    dense = max((d.metadata.get("dense_score") or 0.0) for d in docs)
    texts = [evidence_text(d) for d in docs]
    # a number the question names must be in the main search's passages: those added because
    # their document is dated in a year the question names hold that year by construction, and
    # counting them loses near-miss abstentions ("the 2024 CRI summit"; bench/dev_cases.jsonl)
    main = [t for t, d in zip(texts, docs, strict=True) if not d.metadata.get("dated")]
    found = set(re.findall(r"\d+", " ".join(main)))
    missing = tuple(n for n in numbers_in(question) if not set(re.findall(r"\d+", n)) <= found)
    foreign = question_language(question) != "en"  # its words are not in an English index
    coverage = 1.0 if foreign else searcher.term_coverage(query, texts[:COVERAGE_PASSAGES])
    top = sorted(((d.metadata.get("dense_score") or 0.0) for d in docs), reverse=True)[:3]
    return Evidence(
        dense,
        coverage,
        missing,
        missing_units(question, docs),
        dense_mean=sum(top) / len(top),
        foreign=foreign,
    )


def confidence_features(evidence: Evidence, scored: Sequence[Any], kind: str) -> dict[str, float]:
    """The features of the confidence: the evidence, and the scored candidate sentences
    (``extractive.Candidate``, ``score`` set) for a question asking for ``kind``."""
    ranked = sorted(scored, key=lambda c: c.score, reverse=True)[:3]
    probabilities = [c.score for c in ranked] or [0.0]
    specific = kind not in ("other", "yes_no")
    return {
        "dense": evidence.dense,
        # cross-lingual similarity runs lower: a German question is not judged by this
        "dense_shortfall": 0.0 if evidence.foreign else max(0.0, DENSE_FLOOR - evidence.dense),
        "dense_mean": evidence.dense_mean,
        "coverage": evidence.coverage,
        "best": probabilities[0],
        "best3": sum(probabilities) / len(probabilities),
        "type_specific": float(specific),
        "type_found": float(specific and any(c.features["type_match"] for c in ranked)),
        "missing_numbers": float(bool(evidence.missing_numbers)),
        "missing_units": float(bool(evidence.missing_units)),
        "foreign": float(evidence.foreign),
    }


def missing_units(question: str, docs: Sequence[Document]) -> tuple[str, ...]:
    """The articles the question names that no passage is, nor mentions ("Article 40 of the
    Cyber Solidarity Act": the act's passages all have lower numbers, though "40" occurs in
    them). Articles only: legal texts label them the same way everywhere."""
    from vectorstore.hybrid import referenced_units

    missing = []
    for kind, number in referenced_units(translate_terms(question)):
        if kind != "article":  # "rule 1.9", "Section 5": documents label these too loosely
            continue
        pattern = re.compile(rf"\b{kind}s?\s+{re.escape(number)}(?!\d|\.\d)", re.I)
        # "Article 21 of the Budapest Convention": an Article 21 of another instrument is not it
        owner = re.search(
            rf"\b{kind}\s+{re.escape(number)}\s+of\s+(?:the\s+)?([A-Z][\w-]+)", question, re.I
        )
        name = owner.group(1).lower() if owner else ""
        if not any(
            (pattern.search(d.metadata.get("locator") or "") or pattern.search(d.page_content))
            and name in evidence_text(d).lower()
            for d in docs
        ):
            missing.append(f"{kind} {number}")
    return tuple(missing)
