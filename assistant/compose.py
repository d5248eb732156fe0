"""The offline answer: the retrieved sentences that best answer the question, each citing its passage.

No LLM: sentences are scored by how much of the question they cover (stemmed terms; names,
acronyms and numbers weigh more) and by their passage's retrieval score; the best few are
de-duplicated, put back in reading order and end with ``[n]``. When the best passage is not
similar enough to the question, the assistant abstains.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote as url_quote

from langchain_core.documents import Document

from .answer import Answer, Citation
from .condense import translate_terms
from .grounding import lacks_numbers, numbers_in
from .injection import looks_like_injection

__all__ = ["ABSTAIN_TEXT", "ComposeConfig", "compose_offline", "make_citation", "sentences"]

COVERAGE_WEIGHT = 0.75  # sentence score: question coverage vs. its passage's retrieval score
# a UN document's print job number and barcode ("23-26243 (E) 090124 *2326243*"): the sentence
# around it is the first page's header run into the text
_UN_MASTHEAD = re.compile(r"\b\d{2}-\d{5}\s*\(E\)|\*\d{7}\*|\bDistr\.:")
MIN_PROSE_WORDS = 3  # lower-case words a sentence needs to be read as prose
OFF_TARGET_PENALTY = 0.6
CARRIED_WEIGHT = 0.3
ABSTAIN_TEXT = "The library does not answer this question."
# a sentence ends at . ; ! ? but not at an enumerator such as "4." or "1.9."
_SENTENCE = re.compile(
    r"(?<=[a-z0-9)\]”\"][.;!?])(?<!\s\d\.)(?<!\s\d\d\.)(?<!\.\d\.)\s+(?=[\"“(\[A-Z0-9])|\n+"
)
_MARKER = re.compile(r"^(\(?[0-9]{1,3}\)|[0-9]{1,3}\.|\([a-z]{1,4}\)|[•▪●◦\-–])\s+")
_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = {
    "a", "an", "the", "of", "in", "on", "for", "to", "by", "with", "and", "or", "is", "are",
    "was", "were", "be", "been", "does", "do", "did", "what", "which", "who", "when", "where",
    "why", "how", "that", "this", "it", "its", "as", "at", "from", "about", "under", "into",
    "can", "could", "should", "would", "will", "shall", "may", "must", "say", "says", "has",
    "have", "had", "not", "any", "there", "their", "they", "than", "then", "also", "so", "if",
}  # fmt: skip


@dataclass(frozen=True)
class ComposeConfig:
    max_sentences: int = 5
    max_per_passage: int = 3
    relative_floor: float = 0.45  # keep sentences scoring at least this share of the best one
    min_dense: float = 0.3  # see grounding.py and bench/abstention.py
    min_coverage: float = 0.45
    related_on_abstain: int = 2
    document_base_url: str = "/documents/"


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


class _Terms:
    def __init__(self) -> None:
        import Stemmer

        self._stem = Stemmer.Stemmer("english").stemWord

    def of(self, text: str) -> set[str]:
        return {self._stem(w.lower()) for w in _WORD.findall(text) if w.lower() not in _STOP}

    def weighted(self, text: str, idf: dict[str, float] | None = None) -> dict[str, float]:
        """Query terms with weights: their idf in the library when known, doubled for numbers
        and acronyms, which pin an answer down."""
        out: dict[str, float] = {}
        for w in _WORD.findall(text):
            if w.lower() in _STOP:
                continue
            stem = self._stem(w.lower())
            special = any(ch.isdigit() for ch in w) or (w.isupper() and len(w) > 1)
            base = (idf or {}).get(stem, 1.0 if idf is None else 0.0)
            out[stem] = base * (2.0 if special else 1.0)
        return out


_terms: _Terms | None = None


def _get_terms() -> _Terms:
    global _terms
    if _terms is None:
        _terms = _Terms()
    return _terms


def make_citation(n: int, doc: Document, base_url: str) -> Citation:
    meta = doc.metadata
    url = f"{base_url}{url_quote(meta['source'])}"
    if meta.get("page"):
        url += f"#page={meta['page']}"
    return Citation(
        n=n,
        source=meta["source"],
        title=meta.get("title") or meta["source"],
        page=meta.get("page"),
        locator=meta.get("locator"),
        quote=doc.page_content,
        url=url,
    )


@dataclass
class _Candidate:
    passage: int
    position: int
    text: str
    score: float
    terms: set[str]


def compose_offline(
    question: str,
    query: str,
    docs: Sequence[Document],
    config: ComposeConfig,
    idf: dict[str, float] | None = None,
) -> Answer:
    """An extractive answer to ``question`` from ``docs`` (best first)."""
    terms = _get_terms()
    # the question's own words lead; words carried over from earlier turns only steer
    wanted = terms.weighted(translate_terms(question), idf)
    own = {t for t, w in wanted.items() if w > 0}
    for term, weight in terms.weighted(query, idf).items():
        wanted.setdefault(term, CARRIED_WEIGHT * weight)
    total = sum(wanted.values()) or 1.0
    top_score = max(d.metadata.get("score") or 0.0 for d in docs) or 1.0
    numbers = numbers_in(f"{question} {query}")
    candidates: list[_Candidate] = []
    for p, doc in enumerate(docs):
        prior = (doc.metadata.get("score") or 0.0) / top_score
        # a passage from a document that lacks the resolution or article number asked about
        # is less likely to hold the answer than one that has it
        off_target = OFF_TARGET_PENALTY if numbers and lacks_numbers(doc, numbers) else 1.0
        for position, sentence in enumerate(sentences(doc.page_content)):
            words = _WORD.findall(sentence)
            if len(words) < 5 or "....." in sentence:  # fragments, tables of contents
                continue
            if looks_like_injection(sentence):  # addressed to AI systems, not to readers
                continue
            if sum(w.islower() for w in words) < MIN_PROSE_WORDS or _UN_MASTHEAD.search(sentence):
                # a masthead or a dateline ("United Nations A/RES/77/37 General Assembly
                # Distr.: General 12 December 2022"), not a sentence a reader can use
                continue
            have = terms.of(sentence)
            coverage = sum(w for t, w in wanted.items() if t in have) / total
            length_penalty = 1.0 if len(words) <= 80 else 80 / len(words)
            score = (COVERAGE_WEIGHT * coverage + (1 - COVERAGE_WEIGHT) * prior) * length_penalty
            score *= off_target / (1 + 0.05 * p)
            if own and not own & have:  # says nothing about what this question asks
                score *= OFF_TARGET_PENALTY
            candidates.append(_Candidate(p, position, sentence, score, have))
    if not candidates:
        return abstain(docs, query, config)
    candidates.sort(key=lambda c: c.score, reverse=True)
    best = candidates[0].score
    chosen: list[_Candidate] = []
    per_passage: dict[int, int] = {}
    for cand in candidates:
        if len(chosen) >= config.max_sentences or cand.score < config.relative_floor * best:
            break
        if per_passage.get(cand.passage, 0) >= config.max_per_passage:
            continue
        if any(_overlap(cand.terms, c.terms) > 0.6 for c in chosen):
            continue
        chosen.append(cand)
        per_passage[cand.passage] = per_passage.get(cand.passage, 0) + 1
    # reading order: passages in order of their best sentence, sentences in document order
    first_rank = {}
    for c in chosen:
        first_rank.setdefault(c.passage, len(first_rank))
    chosen.sort(key=lambda c: (first_rank[c.passage], c.position))
    numbers: dict[int, int] = {}
    parts = []
    for c in chosen:
        n = numbers.setdefault(c.passage, len(numbers) + 1)
        parts.append(f"{_MARKER.sub('', c.text).rstrip(';,')} [{n}]")
    citations = [make_citation(n, docs[p], config.document_base_url) for p, n in numbers.items()]
    return Answer(answer=" ".join(parts), abstained=False, citations=citations, query=query)


def abstain(
    docs: Sequence[Document], query: str, config: ComposeConfig, reason: str | None = None
) -> Answer:
    related = list(docs[: config.related_on_abstain])
    text = ABSTAIN_TEXT
    if related:
        refs = " and ".join(f"[{i}]" for i in range(1, len(related) + 1))
        text += f" The closest passages found are {refs}."
    citations = [make_citation(i, d, config.document_base_url) for i, d in enumerate(related, 1)]
    return Answer(answer=text, abstained=True, citations=citations, query=query, note=reason)


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / math.sqrt(len(a) * len(b)) if a and b else 0.0
