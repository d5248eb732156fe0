"""Agreed-language tracing: where else in the library the same, or nearly the same, wording
stands, and what changed.

Diplomats draft by precedent: a paragraph of a 2023 resolution often repeats one agreed in 2018,
word for word or with a few words changed. For a selected text this finds, in every other
document, the span that carries it:

1. candidates: the passages the BM25 index ranks highest for the whole text (a repeated
   paragraph shares nearly all its rare words), from other documents only;
2. alignment: per document, its candidate passages (consecutive ones joined, since a paragraph
   may straddle two) are aligned word by word with the text (``difflib``); only runs of at
   least ``MIN_RUN`` words in the same order count, so a stock opening ("Recalling its
   resolution") or scattered common words do not make a twin;
3. similarity: the words matched over the length of the shorter of the text and its
   counterpart (1.0: one carries the other verbatim; a paragraph a later text expanded scores
   the share of its words kept), kept at ``min_similarity`` or above, ordered by date;
4. a word-level diff of the text against the span: what the other document removed and added.

It needs no index of its own: the lexical index search already keeps serves as the candidate
generator (bench/trace.py measures its recall on verified pairs).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from .answer import Citation

__all__ = [
    "MIN_RUN",
    "Trace",
    "TraceError",
    "TraceMatch",
    "paragraphs",
    "passages_at",
    "trace_text",
]

MIN_RUN = 4  # words in the same order that count as shared wording
CANDIDATES = 40  # passages read from the lexical index per trace
_MARGIN = 8  # words beyond the matched runs the span may take in
_TOKEN = re.compile(r"\S+")


def _norm(token: str) -> str:
    return re.sub(r"[\W_]+", "", token.casefold())


def _words(text: str) -> tuple[list[str], list[str]]:
    """(the text's tokens as written, their comparable forms), punctuation-only tokens dropped."""
    shown, norm = [], []
    for token in _TOKEN.findall(text):
        key = _norm(token)
        if key:
            shown.append(token)
            norm.append(key)
    return shown, norm


@dataclass(frozen=True)
class TraceMatch:
    """Where the selected text's wording stands in another document."""

    citation: Citation  # the passage, with ``quote`` the aligned span of its text
    similarity: float  # 0-1; 1.0 is verbatim
    diff: list[dict[str, str]] = field(default_factory=list)  # {"op": equal|removed|added, "text"}

    def as_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {**asdict(self.citation), "similarity": self.similarity, "diff": self.diff}


class TraceError(ValueError):
    """What to trace cannot be found (no such document or locator, a text too short)."""


@dataclass(frozen=True)
class Trace:
    """A traced text: the passage it was taken from (None for a text given as such) and the
    matches elsewhere, oldest first."""

    text: str
    selected: Citation | None
    matches: list[TraceMatch]

    def as_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {
            "text": self.text,
            "selected": asdict(self.selected) if self.selected else None,
            "matches": [m.as_json() for m in self.matches],
        }


MIN_PARAGRAPH_WORDS = 8


# a UN document's running header or footer: "A/RES/77/37 <title> 22-28102 4/4" (its job number
# and page); it repeats on every page of every resolution and is no agreed language
_RUNNING_HEADER = re.compile(
    r"\b\d{2}-\d{5}\b.*\b\d{1,2}/\d{1,2}\b|\b\d{1,2}/\d{1,2}\b.*\b\d{2}-\d{5}\b"
)


def paragraphs(text: str) -> list[str]:
    """The paragraphs of a passage (its lines), a line too short to trace joined to the next;
    running headers and footers left out."""
    out: list[str] = []
    pending = ""
    for line in text.splitlines():
        if _RUNNING_HEADER.search(line) and len(line.split()) < 40:
            continue
        pending = f"{pending} {line}".strip()
        if len(pending.split()) >= MIN_PARAGRAPH_WORDS:
            out.append(pending)
            pending = ""
    if pending:
        if out and len(pending.split()) < MIN_PARAGRAPH_WORDS:
            out[-1] = f"{out[-1]} {pending}"
        else:
            out.append(pending)
    return out


def passages_at(chunks: list[Any], locator: str) -> list[Any]:
    """The passages whose locator is ``locator`` ("paragraph 5", "Article 23"), else those
    whose locator begins with it ("Article 23" -> "Article 23(4)")."""
    wanted = " ".join(locator.split()).casefold()
    exact = [c for c in chunks if (c.locator or "").casefold() == wanted]
    if exact:
        return exact
    return [
        c
        for c in chunks
        if (c.locator or "").casefold().startswith(wanted)
        and not (c.locator or "")[len(wanted) : len(wanted) + 1].isdigit()
    ]


def _align(query: list[str], other: list[str]) -> tuple[float, int, int]:
    """(similarity, first and last+1 index of the span of ``other`` that corresponds to the
    whole query); similarity 0 when no run of MIN_RUN words is shared.

    The similarity is the words matched in runs over the length of the shorter of the query
    and its counterpart, the counterpart being the matched stretch of ``other`` plus the
    query's own unmatched words beyond it: a paragraph a later text expanded scores the share
    of its words kept; one that text cut scores the share of the cut version it makes up."""
    matcher = difflib.SequenceMatcher(None, query, other, autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size >= MIN_RUN]
    if not blocks:
        return 0, 0, 0
    # runs far apart in the other text are common phrases of different paragraphs ("the
    # open-ended working group"): keep the group of nearby runs that matches most words
    gap = max(15, len(query) // 2)
    groups = [[blocks[0]]]
    for b in blocks[1:]:
        last = groups[-1][-1]
        if b.b - (last.b + last.size) > gap:
            groups.append([b])
        else:
            groups[-1].append(b)
    blocks = max(groups, key=lambda g: sum(b.size for b in g))
    matched = sum(b.size for b in blocks)
    span_a = blocks[-1].a + blocks[-1].size - blocks[0].a
    span_b = blocks[-1].b + blocks[-1].size - blocks[0].b
    similarity = matched / min(len(query), len(query) - span_a + span_b)
    # the query's words before the first run and after the last may have counterparts just
    # outside it ("Recalling its resolutions" before an inserted reference): widen the span by
    # a margin, align the query to it again, and drop what the widened span adds at its ends
    head, tail = blocks[0].a, len(query) - blocks[-1].a - blocks[-1].size
    start = max(0, blocks[0].b - head - _MARGIN)
    end = min(len(other), blocks[-1].b + blocks[-1].size + tail + _MARGIN)
    ops = difflib.SequenceMatcher(None, query, other[start:end], autojunk=False).get_opcodes()
    while ops and ops[0][0] == "insert":
        ops.pop(0)
    while ops and ops[-1][0] == "insert":
        ops.pop()
    if ops:
        start, end = start + ops[0][3], start + ops[-1][4]
    return similarity, start, end


def _diff(q_shown: list[str], q_norm: list[str], o_shown: list[str], o_norm: list[str]) -> list:
    out: list[dict[str, str]] = []

    def add(op: str, words: list[str]) -> None:
        if not words:
            return
        if out and out[-1]["op"] == op:
            out[-1]["text"] += " " + " ".join(words)
        else:
            out.append({"op": op, "text": " ".join(words)})

    matcher = difflib.SequenceMatcher(None, q_norm, o_norm, autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            add("equal", o_shown[b1:b2])
        else:
            add("removed", q_shown[a1:a2])
            add("added", o_shown[b1:b2])
    return out


def _runs(chunks: list[Any]) -> list[list[Any]]:
    """Chunks of one document in order, consecutive ones grouped."""
    chunks = sorted(chunks, key=lambda c: c.chunk_index)
    runs: list[list[Any]] = []
    for c in chunks:
        if runs and c.chunk_index == runs[-1][-1].chunk_index + 1:
            runs[-1].append(c)
        else:
            runs.append([c])
    return runs


def trace_text(
    searcher: Any,
    text: str,
    *,
    exclude: str | None = None,
    min_similarity: float = 0.35,
    limit: int = 20,
    base_url: str = "/documents/",
    scope: Any = None,
) -> list[TraceMatch]:
    """The documents other than ``exclude`` (and within ``scope``) that carry ``text``'s
    wording, oldest first (undated ones last), at most ``limit``."""
    from .extractive import make_citation
    from .retrieval import chunk_document

    q_shown, q_norm = _words(text)
    if len(q_norm) < MIN_RUN:
        return []
    searcher.refresh()
    records = searcher.documents
    allowed = searcher.allowed(scope) if scope else frozenset(records)
    allowed = frozenset(s for s in allowed if s != exclude)
    whole = not scope and exclude is None  # no mask over the index needed
    ranked = searcher.lexical(" ".join(q_shown[:400]), CANDIDATES, None if whole else allowed)
    chunks = searcher.store.get_chunks([i for i, _ in ranked])
    by_source: dict[str, list[Any]] = {}
    for c in chunks:
        if c.source in allowed and c.key == records[c.source].key:
            by_source.setdefault(c.source, []).append(c)
    found: list[tuple[float, Any, list[str], list[str], int, int, list[tuple[int, Any]]]] = []
    for source, mine in by_source.items():
        best = None
        for run in _runs(mine):
            shown: list[str] = []
            norm: list[str] = []
            starts: list[tuple[int, Any]] = []
            for c in run:
                starts.append((len(norm), c))
                s, n = _words(c.text)
                shown += s
                norm += n
            similarity, start, end = _align(q_norm, norm)
            if not similarity:
                continue
            if best is None or similarity > best[0]:
                best = (similarity, source, shown, norm, start, end, starts)
        if best is not None and best[0] >= min_similarity:
            found.append(best)
    matches = []
    for similarity, source, shown, norm, start, end, starts in found:
        # cite the passage the span begins in, quoting the span itself
        chunk = next(c for offset, c in reversed(starts) if offset <= start)
        citation = make_citation(0, chunk_document(chunk, records.get(source)), base_url)
        span = " ".join(shown[start:end])
        diff = _diff(q_shown, q_norm, shown[start:end], norm[start:end])
        matches.append(
            TraceMatch(
                Citation(**{**citation.as_json(), "quote": span}),
                round(min(similarity, 1.0), 3),
                diff,
            )
        )
    matches = sorted(matches, key=lambda m: -m.similarity)[:limit]
    matches.sort(key=lambda m: (m.citation.date is None, m.citation.date or "", -m.similarity))
    return [
        TraceMatch(Citation(**{**m.citation.as_json(), "n": n}), m.similarity, m.diff)
        for n, m in enumerate(matches, start=1)
    ]
