"""The offline (extractive) answer: the retrieved sentences that best answer the question,
each citing its passage.

No LLM: every prose sentence of the retrieved passages gets features (how much of the
question it covers, its passage's retrieval scores and rank, whether it carries the kind of
item the question asks for, whether it is a preambular clause…); a logistic regression fitted
on the dev split (bench/fit_answerer.py, weights in ``assistant/weights.json``) turns them into
the probability that the sentence holds the answer. The best sentence leads, at most three
follow for a single fact (five for a list or a comparison), de-duplicated, each ending with
``[n]``. Whether to answer at all is decided before, by the confidence (``evidence.py``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote as url_quote

from langchain_core.documents import Document

from vectorstore import is_url
from vectorstore.text import WORD, content_words, rejoin_split_words, split_sentences, stem, stems

from .answer import Answer, Citation
from .answer_types import asks_for, carries
from .evidence import lacks_numbers, names_document, numbers_in
from .glossary import translate_terms
from .injection import looks_like_injection
from .weights import Weights, load_weights

__all__ = [
    "ABSTAIN_TEXT",
    "Candidate",
    "ExtractiveConfig",
    "SENTENCE_FEATURES",
    "candidates",
    "compose_offline",
    "make_citation",
    "readable",
    "score",
    "sentences",
]

# a UN document's print job number and barcode ("23-26243 (E) 090124 *2326243*"): the sentence
# around it is the first page's header run into the text
_UN_MASTHEAD = re.compile(r"\b\d{2}-\d{5}\s*\(E\)|\*\d{7}\*|\bDistr\.:")
_MARKER = re.compile(r"^(\(?[0-9]{1,3}\)|[0-9]{1,3}\.|\([a-z]{1,4}\)|[•▪●◦\-–])\s+")
MIN_PROSE_WORDS = 3  # lower-case words a sentence needs to be read as prose
CARRIED_WEIGHT = 0.3
ABSTAIN_TEXT = "The library does not answer this question."


@dataclass(frozen=True)
class ExtractiveConfig:
    """How an extractive answer is put together (what is left out is the confidence's job:
    ``evidence.py``)."""

    max_sentences: int = 3  # a single fact: readers want the sentence that answers
    max_list_sentences: int = 5  # a list or a comparison
    max_per_passage: int = 2
    relative_floor: float = 0.5  # keep sentences scoring at least this share of the best one
    related_on_abstain: int = 2
    document_base_url: str = "/documents/"


def sentences(text: str) -> list[str]:
    """A passage's sentences: a semicolon ends one (resolutions run clauses together), and so
    does a line break (list items)."""
    return split_sentences(text, ends=".;!?", lines=True)


def weighted_terms(text: str, idf: dict[str, float] | None = None) -> dict[str, float]:
    """Query terms with weights: their idf in the library when known, doubled for numbers and
    acronyms, which pin an answer down."""
    out: dict[str, float] = {}
    for w in content_words(text):
        special = any(ch.isdigit() for ch in w) or (w.isupper() and len(w) > 1)
        term = stem(w)
        base = (idf or {}).get(term, 1.0 if idf is None else 0.0)
        out[term] = base * (2.0 if special else 1.0)
    return out


def make_citation(n: int, doc: Document, base_url: str) -> Citation:
    meta = doc.metadata
    source = meta["source"]
    # a web page's citation links to the page itself
    url = source if is_url(source) else f"{base_url}{url_quote(source)}"
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
        body=meta.get("body"),
        doc_type=meta.get("doc_type"),
        date=meta.get("date"),
        symbol=meta.get("symbol"),
    )


PREAMBLE = re.compile(
    r"^(Recalling|Noting|Welcoming|Reaffirming|Recogni[sz]ing|Bearing in mind|Acknowledging|"
    r"Emphasi[sz]ing|Expressing|Mindful|Convinced|Concerned|Stressing|Taking note|Underlining|"
    r"Affirming|Considering|Having (regard|considered|examined)|Aware|Deeply|Guided|Highlighting|"
    r"Reiterating|Determined|Encouraged|Alarmed|Cognizant|Desiring|Taking into account)\b"
)
# a footnote number glued to a word or its punctuation ("States,3 and"), never the digits
# after a thousands comma or a decimal point ("18,000", "2.5")
_FOOTNOTE = re.compile(r"^\d{1,3}(?=[A-Z][a-z])|(?<=[a-z.,;])(?<![0-9][.,])\d{1,3}(?=\s|$)")
_DOCUMENT_MARKER = re.compile(r"\s*\[\d+\]")
_BROKEN_WORD = re.compile(r"(?<=[a-z]) - (?=[a-z])")
# a reference-list entry or footnote: a web address, or a footnote number leading a citation
# ("26 Report of the United Nations Conference …, vol. 1", "15 Tech Accord, “About …” (2021)")
_URL = re.compile(r"https?://|www\.|\.(?:org|com|int|gov|eu)/\S", re.I)
_REFERENCE_START = re.compile(r"^\d{1,3}\s+(?=[A-Z“\"])")
_CITATION_SIGNS = re.compile(
    r"\bvol\.|\bpp?\.\s*\d|“[^”]{3,}”|\(\d{4}\)|\bOfficial Records\b|\bRecords of\b|\bibid\b",
    re.I,
)
# a table of contents run into one line: "EXECUTIVE SUMMARY 2 ACKNOWLEDGMENTS 4 GLOSSARY 5 …"
_TOC_ENTRY = re.compile(r"(\w+)\s+(\d{1,3})\s+(?=[A-Z])")
_NUMBERED_UNITS = {
    "article",
    "articles",
    "art",
    "annex",
    "point",
    "paragraph",
    "section",
    "chapter",
    "recital",
    "page",
    "principle",
    "no",
    "resolution",
    "title",
    "part",
}
# a preambular clause that lists earlier resolutions ("Recalling its resolutions 75/240 of 31
# December 2020 and 76/19 of …"): it matches a resolution's dates and numbers without answering
_RECALLED = re.compile(
    r"^(Recalling|Reaffirming|Taking note)\b.*\b(resolutions?|decisions?)\s+\d+/\d+", re.S
)
# a UN resolution's header lines: the committee line ("[on the report of the Third Committee
# (A/79/458/Add.2, para. 99)]") answers only for a symbol, the dateline ("Resolution adopted by
# the General Assembly on 22 September 2024", "46th plenary meeting 7 December 2022") only for a
# date
_COMMITTEE_LINE = re.compile(r"^\[[^\]]*\]\W*$")
_DATELINE = re.compile(
    r"^(Resolution adopted by the General Assembly on|\d+(st|nd|rd|th) plenary meeting)\b[^.;]{0,40}$"
)
# its session and agenda line ("Seventy-ninth session Agenda item 123 Strengthening of the United
# Nations system", 38 candidates of the fitting cases, none answering) answers nothing; its
# symbol and title on one line ("A/RES/80/16 Open-ended working group on …") only a symbol
_AGENDA_LINE = re.compile(r"^[A-Z][\w-]* session\b.{0,20}\bAgenda items? \d+")
_SYMBOL_LINE = re.compile(r"^A/(RES/)?\d+/[\w./-]+\s[^.;:]*$")
_ASKS_EARLIER = re.compile(
    r"\brecall|\b(earlier|previous|prior|preceding|past) (resolution|decision)", re.I
)
COMPARISON = re.compile(
    r"\b(compare[sd]?|comparison|differ|differs|differed|difference|versus|vs\.?|both|whereas)\b"
    r"|\beach (one|of|leave|create|say|set)|\b(what|how|when) (does|did|do) each\b"
    r"|\bbetween the .{3,60}? and\b|\b(19|20)\d\d\b.{3,60}\band the (19|20)\d\d\b",
    re.I,
)

# the sentence features, in the order of the fitted weights (bench/fit_answerer.py)
SENTENCE_FEATURES = (
    "coverage",
    "own_term",
    "prior",
    "dense",
    "rank",
    "type_match",
    "type_missing",
    "preamble",
    "length",
    "long",
    "first",
    "off_target",
    "named_document",
    "prose",
    "local_coverage",
)


@dataclass
class Candidate:
    """A sentence of a retrieved passage that could go into the answer, with its features."""

    passage: int
    position: int
    text: str
    terms: set[str]
    features: dict[str, float]
    score: float = 0.0  # the fitted model's probability that it holds the answer


def is_reference(sentence: str) -> bool:
    """A reference-list entry, a footnote's citation or a link: where to read more, never the
    answer itself."""
    if _URL.search(sentence):
        return True
    return bool(_REFERENCE_START.match(sentence) and _CITATION_SIGNS.search(sentence))


def is_contents(sentence: str) -> bool:
    """A table of contents: four or more headings, each followed by a page number, in order."""
    pages = [
        int(m.group(2))
        for m in _TOC_ENTRY.finditer(sentence)
        if m.group(1).lower() not in _NUMBERED_UNITS
    ]
    return len(pages) >= 4 and all(a <= b for a, b in zip(pages, pages[1:], strict=False))


def clean_sentence(text: str) -> str:
    """A sentence as an answer shows it: no list marker, footnote number, PDF line-break
    hyphen ("sig - naled") or space inside a word ("securit y"); the citation's quote keeps the
    passage as it is."""
    text = _MARKER.sub("", text).rstrip(";,")
    text = _DOCUMENT_MARKER.sub("", text)  # the document's own "[4]": not one of our citations
    text = _FOOTNOTE.sub("", text)
    return rejoin_split_words(_BROKEN_WORD.sub("", text))


def _plain_words(text: str) -> str:
    """Lower-case words joined by single spaces: a title and a line of text compared."""
    return " ".join(re.findall(r"\w+", text.lower()))


def title_words(doc: Document) -> str:
    """The document's title as ``readable`` compares it (" words of the title "; "" if none)."""
    title = f" {_plain_words(doc.metadata.get('title') or '')} "
    return title if title.strip() else ""


def readable(sentence: str, title: str = "", kind: str = "other") -> bool:
    """Whether a passage's sentence reads as prose a reader can be shown: not a fragment, a
    table of contents, text addressed to AI systems, a reference, an agenda or committee line,
    a masthead, or the document's title (``title_words``) run into its text. Symbol lines count
    as prose when the question asks for a symbol (``kind``), datelines when it asks for a date."""
    words = WORD.findall(sentence)
    if len(words) < 5 or "....." in sentence:  # fragments, tables of contents
        return False
    if looks_like_injection(sentence):  # addressed to AI systems, not to readers
        return False
    if is_reference(sentence) or is_contents(sentence):
        return False
    line = sentence.strip()
    if _AGENDA_LINE.match(line):
        return False
    if kind != "symbol" and (_COMMITTEE_LINE.match(line) or _SYMBOL_LINE.match(line)):
        return False
    if kind not in ("date", "yes_no") and _DATELINE.match(line):
        return False
    if sum(w.islower() for w in words) < MIN_PROSE_WORDS or _UN_MASTHEAD.search(sentence):
        # a masthead or a dateline ("United Nations A/RES/77/37 General Assembly
        # Distr.: General 12 December 2022"), not a sentence a reader can use
        return False
    # the document's title run into its text ("Seizing the opportunities of safe, secure and
    # trustworthy…"): a heading, which 25 candidates of the fitting cases were, none holding a
    # key term and two scored first
    return not (title and f" {_plain_words(sentence)} " in title)


def candidates(
    question: str, query: str, docs: Sequence[Document], idf: dict[str, float] | None = None
) -> list[Candidate]:
    """Every sentence of ``docs`` that reads as prose, with its features (unscored)."""
    # the question's own words lead; words carried over from earlier turns only steer
    wanted = weighted_terms(translate_terms(question), idf)
    own = {t for t, w in wanted.items() if w > 0}
    for term, weight in weighted_terms(query, idf).items():
        wanted.setdefault(term, CARRIED_WEIGHT * weight)
    total = sum(wanted.values()) or 1.0
    top_score = max((d.metadata.get("score") or 0.0) for d in docs) or 1.0
    numbers = numbers_in(f"{question} {query}")
    kind = asks_for(question)
    specific = kind not in ("other", "yes_no")
    earlier_asked = bool(_ASKS_EARLIER.search(question))
    out: list[Candidate] = []
    for p, doc in enumerate(docs):
        prior = (doc.metadata.get("score") or 0.0) / top_score
        dense = doc.metadata.get("dense_score") or 0.0
        off_target = float(bool(numbers) and lacks_numbers(doc, numbers))
        named = float(bool(numbers) and names_document(doc, numbers))
        title = title_words(doc)
        for position, sentence in enumerate(sentences(doc.page_content)):
            if not readable(sentence, title, kind):
                continue
            bare = _MARKER.sub("", sentence)  # without its list marker ("3.", "(a)")
            if not earlier_asked and _RECALLED.search(bare):
                continue
            words = WORD.findall(sentence)
            lower = sum(w.islower() for w in words)
            have = stems(rejoin_split_words(sentence))
            match = carries(sentence, kind) if specific else False
            features = {
                "coverage": sum(w for t, w in wanted.items() if t in have) / total,
                "own_term": float(bool(own & have)),
                "prior": prior,
                "dense": dense,
                "rank": 1.0 / (1 + p),
                "type_match": float(match),
                "type_missing": float(specific and not match),
                "preamble": float(bool(PREAMBLE.search(bare))),
                "length": math.log(min(len(words), 40)),
                "long": math.log(max(len(words), 40) / 40),  # a paragraph run into one sentence
                "first": float(position == 0),
                "off_target": off_target,
                "named_document": named,
                "prose": lower / len(words),
            }
            out.append(Candidate(p, position, sentence, have, features))
    _local_coverage(out, wanted)
    return out


def _local_coverage(cands: list[Candidate], wanted: dict[str, float]) -> None:
    """The share of the question's terms a sentence holds, each weighed by how rare it is among
    the candidate sentences: a word every retrieved sentence has (the document's own name)
    cannot tell them apart, the one word only the answering line shares can."""
    n = len(cands)
    df = {t: sum(t in c.terms for c in cands) for t in wanted}
    local = {t: w * math.log((n + 1) / (df[t] + 0.5)) for t, w in wanted.items() if df[t]}
    total = sum(local.values()) or 1.0
    for c in cands:
        c.features["local_coverage"] = sum(w for t, w in local.items() if t in c.terms) / total


def score(cands: list[Candidate], weights: Weights) -> None:
    for c in cands:
        c.score = weights.sentence_probability(c.features)


def compose_offline(
    question: str,
    query: str,
    docs: Sequence[Document],
    config: ExtractiveConfig,
    idf: dict[str, float] | None = None,
    cands: list[Candidate] | None = None,
    dated_groups: Sequence[frozenset[str]] = (),
) -> Answer:
    """An extractive answer to ``question`` from ``docs`` (best first): the best sentence
    first, then up to ``max_sentences - 1`` more (``max_list_sentences`` for lists and
    comparisons, which also cite a second document when one is among the passages, and one of
    each date's documents, ``dated_groups``, when the question names its instruments by date)."""
    if cands is None:
        cands = candidates(question, query, docs, idf)
        score(cands, load_weights())
    if not cands:
        return abstain(docs, query, config)
    ranked = sorted(cands, key=lambda c: c.score, reverse=True)
    # an operative sentence scored nearly as well as a preambular clause answers first
    lead = next((c for c in ranked if not c.features.get("preamble")), None)
    if (
        ranked[0].features.get("preamble")
        and lead is not None
        and lead.score >= 0.8 * ranked[0].score
    ):
        ranked.remove(lead)
        ranked.insert(0, lead)
    kind = asks_for(question)
    comparison = bool(COMPARISON.search(question))
    limit = config.max_list_sentences if kind == "list" or comparison else config.max_sentences
    best = ranked[0].score
    chosen: list[Candidate] = [ranked[0]]
    if comparison:  # a comparison cites each instrument: the best sentence of another document
        first_source = docs[ranked[0].passage].metadata.get("source")
        other = next(
            (c for c in ranked if docs[c.passage].metadata.get("source") != first_source), None
        )
        if other is not None and other.score >= config.relative_floor * best / 2:
            chosen.append(other)
        # and each instrument the question names by its date ("the 2022 and 2023 resolutions")
        for group in dated_groups:
            if any(docs[c.passage].metadata.get("source") in group for c in chosen):
                continue
            named = next(
                (c for c in ranked if docs[c.passage].metadata.get("source") in group), None
            )
            if named is not None:
                chosen.append(named)
    per_passage: dict[int, int] = {}
    for c in chosen:
        per_passage[c.passage] = per_passage.get(c.passage, 0) + 1
    for cand in ranked[1:]:
        if len(chosen) >= limit or cand.score < config.relative_floor * best:
            break
        if cand in chosen or per_passage.get(cand.passage, 0) >= config.max_per_passage:
            continue
        if any(_overlap(cand.terms, c.terms) > 0.6 for c in chosen):
            continue
        chosen.append(cand)
        per_passage[cand.passage] = per_passage.get(cand.passage, 0) + 1
    numbers: dict[int, int] = {}
    parts = []
    for c in chosen:  # best first: the sentence that answers leads
        n = numbers.setdefault(c.passage, len(numbers) + 1)
        parts.append(f"{clean_sentence(c.text)} [{n}]")
    citations = [make_citation(n, docs[p], config.document_base_url) for p, n in numbers.items()]
    return Answer(answer=" ".join(parts), abstained=False, citations=citations, query=query)


KIND_LABELS = {
    "duration": "the time or deadline asked about",
    "amount": "the amount asked about",
    "quantity": "the number asked about",
    "date": "the date asked about",
    "person": "the person asked about",
    "organisation": "the body asked about",
    "place": "the place asked about",
    "symbol": "the reference number asked about",
}
PARTIAL_MIN_SCORE = 0.3  # a closest sentence worth quoting when the asked-for item is missing


def abstain(
    docs: Sequence[Document],
    query: str,
    config: ExtractiveConfig,
    reason: str | None = None,
    *,
    closest: Candidate | None = None,
    kind: str = "other",
) -> Answer:
    """Say the library does not answer, citing the closest passages. When the question asks
    for a kind of item and the best sentence lacks it, say which, and quote that sentence
    ("The library does not give the number asked about; the closest it says is: … [1]")."""
    if (
        closest is not None
        and kind in KIND_LABELS
        and closest.score >= PARTIAL_MIN_SCORE
        and not closest.features.get("type_match")
    ):
        text = (
            f"The library does not give {KIND_LABELS[kind]}; the closest it says is: "
            f"{clean_sentence(closest.text)} [1]"
        )
        citation = make_citation(1, docs[closest.passage], config.document_base_url)
        return Answer(text, True, [citation], query=query, note=reason)
    related = list(docs[: config.related_on_abstain])
    text = ABSTAIN_TEXT
    if related:
        refs = " and ".join(f"[{i}]" for i in range(1, len(related) + 1))
        text += f" The closest passages found are {refs}."
    citations = [make_citation(i, d, config.document_base_url) for i, d in enumerate(related, 1)]
    return Answer(answer=text, abstained=True, citations=citations, query=query, note=reason)


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / math.sqrt(len(a) * len(b)) if a and b else 0.0
