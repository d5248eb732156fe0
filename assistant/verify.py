"""Checking an LLM's answer against the passages, and repairing its citations.

Each sentence is scored against every retrieved passage by the fitted support model
(``support.py``: words, word order, meaning through the embedder, numbers, names, negation).
A sentence is kept citing the passages that support it: its own markers when they are right,
else the passage that supports it best (a missing, wrong or misplaced marker is repaired, and a
trailing "This is supported by passage [5]." gives its marker to the sentence before it). A
sentence no passage supports, or that states a number its passage lacks, cannot be kept: when
most of its words are one passage sentence's, it restates that sentence (a clause of a long
provision, a list item, a near-copy that changed a date or who does what), and the passage's own
sentence takes its place, quoted; else it is removed. So what the model got right stays in the
documents' words and what it got wrong is corrected, never passed on. The note says what was
repaired, replaced and removed; the citations are renumbered in order of first use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from langchain_core.documents import Document

from vectorstore.dates import display_date
from vectorstore.text import WORD, split_sentences, stems

from .extractive import clean_sentence, readable, sentences, title_words
from .injection import mask_injections
from .support import (
    CLOSEST_SENTENCES,
    PassageView,
    SupportModel,
    embed_sentences,
    load_support_model,
    sentences_to_embed,
    support_features,
)

__all__ = [
    "Draft",
    "SupportCheck",
    "VerifiedSentence",
    "answer_drafts",
    "answer_sentences",
    "verify_answer",
]

_MARKERS = re.compile(r"\[(\d+)\]")
# what a sentence that only points at its sources says ("This is supported by passage [5].")
_FILLER_STEMS = stems(
    "this that these is are was supported support supports according source sources passage "
    "passages see cited cite stated states said information found shown refer reference "
    "referenced mentioned described detailed given provided based above documents document"
)
Embed = Callable[[list[str]], list[list[float]]]


@dataclass(frozen=True)
class VerifiedSentence:
    text: str  # without markers
    passages: tuple[int, ...]  # 0-based indices into the passages
    support: float
    quoted: bool = False  # a passage's own sentence, in place of one the check removed


# A removed sentence most of whose words are one passage sentence's restates that sentence: the
# reader gets the passage's own words instead (true where the model's were, corrected where they
# changed a number or who did what)
QUOTE_MIN_SHARE = 0.6
REPLACED = " \u2014 replaced by the words of passage"  # how a note says so
QUOTE_MIN_STEMS = 2  # "1,200." alone could be any sentence's number


# a German date's day ("am 17. Juli 2023") does not end a sentence
_GERMAN_DAY = re.compile(
    r"\b(\d{1,2})\.(?=\s+(?:Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|"
    r"Oktober|November|Dezember)\b)"
)
_HELD = "\u2024"  # one dot leader: a full stop that is not one, while splitting


def answer_sentences(text: str) -> list[str]:
    """Sentences of an LLM answer; markers after the full stop ("… 2023. [1]") stay with theirs."""
    text = re.sub(
        r"([.!?])\s*((?:\[\d+\]\s*)+)", lambda m: f" {m.group(2).strip()}{m.group(1)} ", text
    )
    text = _GERMAN_DAY.sub(rf"\1{_HELD}", text)
    return [s.replace(_HELD, ".") for s in split_sentences(text.strip())]


def _context(doc: Document) -> str:
    """What a sentence may draw support from: the passage under its document's title, body and
    date ("the 2018 resolution", "the Council's act"); text addressed to AI systems supports
    nothing."""
    m = doc.metadata
    heading = " ".join(
        str(p)
        for p in (m.get("title"), m.get("body"), display_date(m.get("date")), m.get("locator"))
        if p
    )
    return f"{heading} {mask_injections(doc.page_content)}"


@dataclass
class SupportCheck:
    """Scores sentences against the retrieved passages. ``passage_vectors`` are the stored
    embeddings of the passages (None: embedded here); ``embed`` embeds the answer's sentences."""

    docs: Sequence[Document]
    embed: Embed | None = None
    passage_vectors: Sequence[Sequence[float] | None] | None = None
    model: SupportModel = field(default_factory=load_support_model)
    threshold: float | None = None  # None: the model's fitted threshold
    closest: int = CLOSEST_SENTENCES  # passage sentences compared by meaning (0: all)

    def __post_init__(self) -> None:
        self.views = [PassageView.of(_context(d)) for d in self.docs]
        if self.passage_vectors is None and self.embed is not None and self.docs:
            self.passage_vectors = self.embed([v.text for v in self.views])
        self.vectors = list(self.passage_vectors or [None] * len(self.views))
        if self.threshold is None:
            self.threshold = self.model.threshold
        self._sentence_vectors: dict[tuple[int, int], list[float]] = {}  # (passage, sentence)
        self._quotable: list[list[tuple[str, frozenset[str]]]] | None = None

    def source_sentence(self, sentence: str) -> tuple[int, str] | None:
        """(passage, its sentence) that holds most of ``sentence``'s content words, at least
        ``QUOTE_MIN_SHARE`` of them, as an answer shows it; None where no readable passage
        sentence does."""
        words = stems(sentence)
        if len(words) < QUOTE_MIN_STEMS:
            return None
        if self._quotable is None:  # the passages' own sentences (the views carry headings)
            self._quotable = [
                [
                    (text, frozenset(stems(text)))
                    for text in sentences(mask_injections(d.page_content))
                ]
                for d in self.docs
            ]
        ranked = sorted(
            (
                (-len(words & have) / len(words), p, i)
                for p, quotable in enumerate(self._quotable)
                for i, (_, have) in enumerate(quotable)
                if len(words & have) >= QUOTE_MIN_SHARE * len(words)
            )
        )
        for _, p, i in ranked:  # the best that reads as prose (checked only as far as needed)
            text = self._quotable[p][i][0]
            if readable(text, title_words(self.docs[p])):
                return p, clean_sentence(text)
        return None

    def scores(
        self, sentences: list[str], cited: Sequence[Sequence[int]] | None = None
    ) -> list[list[float]]:
        """For each sentence, its support probability from each passage. The passages a
        sentence cites (0-based ``cited``) and the one that supports it best are scored again
        against their closest sentence, whose embeddings are made only for them (the cost of the
        check is embedding sentences)."""
        vectors = self.embed(sentences) if self.embed is not None and sentences else None
        own = vectors or [None] * len(sentences)
        table = [
            [
                self.model.probability(support_features(sentence, view, mine, theirs))
                for view, theirs in zip(self.views, self.vectors, strict=True)
            ]
            for sentence, mine in zip(sentences, own, strict=True)
        ]
        if self.embed is None or not self.views:
            return table
        wanted = [
            {p for p in (cited[i] if cited else ()) if 0 <= p < len(self.views)}
            | {max(range(len(row)), key=row.__getitem__)}
            for i, row in enumerate(table)
        ]
        closest = [
            {p: sentences_to_embed(sentence, self.views[p], self.closest) for p in wanted[i]}
            for i, sentence in enumerate(sentences)
        ]
        missing: dict[int, set[int]] = {}
        for chosen in closest:
            for p, indices in chosen.items():
                missing.setdefault(p, set()).update(
                    j for j in indices if (p, j) not in self._sentence_vectors
                )
        order = [(p, sorted(js)) for p, js in sorted(missing.items()) if js]
        embedded = embed_sentences([(self.views[p], js) for p, js in order], self.embed)
        for (p, _), vectors in zip(order, embedded, strict=True):
            self._sentence_vectors.update(((p, j), v) for j, v in vectors.items())
        for i, (sentence, mine) in enumerate(zip(sentences, own, strict=True)):
            for p, indices in closest[i].items():
                nearest = {j: self._sentence_vectors[(p, j)] for j in indices}
                features = support_features(sentence, self.views[p], mine, self.vectors[p], nearest)
                table[i][p] = self.model.probability(features)
        return table


@dataclass
class Draft:
    """A sentence of the model's answer as written: its text without markers, and its markers."""

    body: str
    markers: list[int]  # as written, 1-based


def answer_drafts(text: str) -> tuple[list[Draft], list[str]]:
    """The answer's sentences with their markers; a filler's markers go to the sentence
    before it."""
    drafts: list[Draft] = []
    notes: list[str] = []
    for sentence in answer_sentences(text):
        markers = [int(n) for n in _MARKERS.findall(sentence)]
        body = re.sub(r"\s+", " ", _MARKERS.sub("", sentence)).strip()
        body = re.sub(r"\s+([.!?,;:])", r"\1", body)
        if not WORD.search(body):  # nothing but markers and punctuation
            if drafts and markers:
                drafts[-1].markers += markers
            continue
        if markers and drafts and not (stems(body) - _FILLER_STEMS):
            drafts[-1].markers += markers
            notes.append(f"marker(s) {markers} moved from \u201c{body[:60]}\u201d")
            continue
        drafts.append(Draft(body, markers))
    return drafts, notes


def verify_answer(
    text: str, docs: Sequence[Document], check: SupportCheck
) -> tuple[list[VerifiedSentence], list[str]]:
    """(kept sentences, notes on what was repaired, replaced and removed). A sentence the check
    cannot keep gives its place to the passage sentence it restates (``quoted``), unless the
    answer already says what that sentence says."""
    drafts, notes = answer_drafts(text)
    threshold = float(check.threshold or 0.0)
    slots: list[VerifiedSentence | tuple[str, str]] = []  # kept, or (body, why it was removed)
    cited_by = [[n - 1 for n in d.markers] for d in drafts]
    for draft, scores in zip(drafts, check.scores([d.body for d in drafts], cited_by), strict=True):
        body = draft.body
        cited = list(dict.fromkeys(n - 1 for n in draft.markers if 1 <= n <= len(docs)))
        wrong = sorted({n for n in draft.markers if not 1 <= n <= len(docs)})

        def fits(p: int, body: str = body, scores: list[float] = scores) -> bool:
            return scores[p] >= threshold and not check.views[p].missing_numbers(body)

        good = [p for p in cited if fits(p)]
        if good:
            if len(good) < len(cited) or wrong:
                dropped = sorted({p + 1 for p in cited if p not in good} | set(wrong))
                notes.append(f"marker(s) {dropped} dropped from \u201c{body[:60]}\u201d")
            slots.append(VerifiedSentence(body, tuple(good), max(scores[p] for p in good)))
            continue
        best = max(range(len(docs)), key=lambda p: scores[p], default=None)
        if best is not None and fits(best):
            was = f"[{', '.join(map(str, draft.markers))}]" if draft.markers else "no marker"
            notes.append(f"citation repaired ({was} \u2192 [{best + 1}]): \u201c{body[:60]}\u201d")
            slots.append(VerifiedSentence(body, (best,), scores[best]))
            continue
        strays = check.views[best].missing_numbers(body) if best is not None else []
        if strays:
            why = f"number(s) {', '.join(strays)} not in the passage closest to it: {body[:80]}"
        elif not draft.markers:
            why = f"uncited sentence removed: {body[:80]}"
        else:
            top = scores[best] if best is not None else 0.0
            why = f"unsupported sentence removed ({top:.2f}): {body[:80]}"
        slots.append((body, why))
    # what the kept sentences already say: the passage sentences they restate (only needed
    # where a sentence was not kept)
    any_removed = any(not isinstance(slot, VerifiedSentence) for slot in slots)
    said = {
        source[1]
        for slot in slots
        if any_removed
        and isinstance(slot, VerifiedSentence)
        and (source := check.source_sentence(slot.text))
    }
    kept: list[VerifiedSentence] = []
    for slot in slots:
        if isinstance(slot, VerifiedSentence):
            kept.append(slot)
            continue
        body, why = slot
        source = check.source_sentence(body)
        if source is not None and source[1] not in said:
            said.add(source[1])
            why += f"{REPLACED} [{source[0] + 1}]"
            kept.append(VerifiedSentence(source[1], (source[0],), 1.0, quoted=True))
        notes.append(why)
    return kept, notes
