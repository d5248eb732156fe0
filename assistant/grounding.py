"""Does the library answer the question? Four signals from the retrieved passages.

- the best passage's dense (cosine) similarity to the query: off-topic questions score low;
- coverage: the share of the query's idf weight found in the top passages (their source name,
  title and locator included): a question whose rare words are nowhere in them is not answered;
- numbers: every number the question names (a year, an article, a resolution) must occur in the
  passages; "Article 21 of the Budapest Convention" is not answered by Article 21 of another one;
- articles: an article the question names must be some passage's locator or be mentioned in one
  ("Article 40" is not answered by passages that merely contain a 40).

Thresholds are settings, chosen with bench/abstention.py on answerable and unanswerable questions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.documents import Document

from .condense import translate_terms

__all__ = ["Evidence", "assess"]

_NUMBER = re.compile(r"\b\d+(?:[/.]\d+)*\b")
COVERAGE_PASSAGES = 3  # coverage looks at the best few passages, where the answer would be


@dataclass(frozen=True)
class Evidence:
    dense: float
    coverage: float
    missing_numbers: tuple[str, ...]
    missing_units: tuple[str, ...] = ()  # "article 40" asked about, in no passage found

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
    found = set(re.findall(r"\d+", " ".join(texts)))
    missing = tuple(n for n in numbers_in(question) if not set(re.findall(r"\d+", n)) <= found)
    foreign = translate_terms(question) != question  # its words are not in an English index
    coverage = 1.0 if foreign else searcher.term_coverage(query, texts[:COVERAGE_PASSAGES])
    return Evidence(dense, coverage, missing, missing_units(question, docs))


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
        if not any(
            pattern.search(d.metadata.get("locator") or "") or pattern.search(d.page_content)
            for d in docs
        ):
            missing.append(f"{kind} {number}")
    return tuple(missing)
