"""Words, stems, stop words and sentences: the one place the product splits text.

It sits in the lowest layer so that ingest (chunk cut points), the lexical index, the answerer,
the LLM-answer check and the doors (quote highlighting) all split and stem the same way.
PyStemmer loads on first use.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

__all__ = [
    "STEMMER_LANGUAGE",
    "QUESTION_WORDS",
    "STOP_WORDS",
    "WORD",
    "content_words",
    "english_words",
    "rejoin_split_words",
    "sentence_spans",
    "split_sentences",
    "stem",
    "stemmer",
    "stems",
]

STEMMER_LANGUAGE = "english"
WORD = re.compile(r"\w+", re.UNICODE)
# English function words: they say nothing about what a question or a sentence is about
STOP_WORDS = frozenset(
    {
        "a", "an", "the", "of", "in", "on", "for", "to", "by", "with", "and", "or", "but", "is",
        "are", "was", "were", "be", "been", "being", "does", "do", "did", "what", "which", "who",
        "whom", "when", "where", "why", "how", "that", "this", "these", "those", "it", "its",
        "as", "at", "from", "about", "under", "into", "over", "within", "can", "could",
        "should", "would", "will", "shall", "may", "must", "say", "says", "has", "have", "had",
        "not", "no", "between", "any", "all", "each", "such", "other", "there", "their", "them", "they", "than",
        "then", "also", "so", "if",
    }
)  # fmt: skip
# Words of a question's form, not its topic ("how many", "tell me", "according to the document")
QUESTION_WORDS = frozenset(
    {
        "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "about",
        "according", "also", "ask", "asked", "can", "could", "did", "do", "does", "doing", "done",
        "exactly", "give", "given", "kind", "library", "list", "long", "many", "may", "mean",
        "means", "meant", "might", "much", "must", "name", "named", "often", "said", "say",
        "says", "shall", "should", "soon", "tell", "text", "there", "type", "way", "ways",
        "will", "would", "document", "documents", "me", "us", "please", "yes",
    }
)  # fmt: skip

# "e.g. the", "U.N. Charter", "Dr. Rao", "1.9. The scope": a full stop that ends no
# sentence (an abbreviation, a single capital, or an enumerator that opens a list item)
_NO_END = re.compile(
    r"(?:\b(?i:cf|e\.g|i\.e|et al|viz|vs|approx|mr|mrs|ms|dr|prof|st|ibid|op|cit|ed|eds)"
    r"|\b[A-Z]|^\s*\(?\d{1,3}(?:\.\d{1,3})*)\.$"
)
# "p. 12", "Art. 5", "No. 3", "Dec. 2023", "Rev. 1": one that ends none when a number follows
_BEFORE_NUMBER = re.compile(
    r"\b(?i:p|pp|para|paras|art|arts|no|nos|vol|ch|sec|fig|eq|ref|rev|corr|add|suppl|jan|feb|"
    r"mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.$"
)
_BOUNDARIES: dict[tuple[str, bool], re.Pattern[str]] = {}


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The whole words of the packaged embedding model's vocabulary (its WordPiece list: about
    20,000 lower-case English words); empty when the model is not installed."""
    from pathlib import Path

    try:
        from .embeddings import packaged_model_path

        lines = (Path(packaged_model_path()) / "vocab.txt").read_text().splitlines()
    except (ImportError, OSError):
        return frozenset()
    return frozenset(w for w in lines if w.isalpha() and w.islower())


_SPLIT_WORD = re.compile(r"\b([A-Za-z]+) (?=([a-z]+)\b)")  # the second piece is only looked at


def rejoin_split_words(text: str) -> str:
    """Words a PDF's text layer split with a space ("Wh en", "onl y", "Hi gh"): two pieces
    are joined when together they make a word and one of them alone does not."""
    words = english_words()
    if not words:
        return text

    def join(m: re.Match[str]) -> str:
        first, second = m.group(1), m.group(2)
        whole = (first + second).lower()
        if whole in words and (first.lower() not in words or second not in words):
            return first
        return m.group(0)

    return _SPLIT_WORD.sub(join, text)


@lru_cache(maxsize=1)
def stemmer() -> Any:
    """The Snowball stemmer every part of the product uses (the lexical index too)."""
    import Stemmer

    return Stemmer.Stemmer(STEMMER_LANGUAGE)


def stem(word: str) -> str:
    return stemmer().stemWord(word.lower())


def content_words(text: str) -> Iterator[str]:
    """The words of ``text`` that are not stop words, as written."""
    return (w for w in WORD.findall(text) if w.lower() not in STOP_WORDS)


def stems(text: str) -> set[str]:
    """The stems of ``text``'s content words."""
    return set(stemmer().stemWords([w.lower() for w in content_words(text)]))


def _boundary(ends: str, lines: bool) -> re.Pattern[str]:
    key = (ends, lines)
    if key not in _BOUNDARIES:
        pattern = rf"(?<=[{re.escape(ends)}])\s+"
        _BOUNDARIES[key] = re.compile(rf"[ \t]*\n\s*|{pattern}" if lines else pattern)
    return _BOUNDARIES[key]


def sentence_spans(text: str, *, ends: str = ".!?", lines: bool = False) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, surrounding space left out.

    A sentence ends at one of ``ends`` followed by space, unless the next word starts in lower
    case or the full stop closes an abbreviation or an enumerator. With ``lines``, a line break
    also ends one (passages keep their list items on lines of their own).
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _boundary(ends, lines).finditer(text):
        piece = text[start : match.start()]
        if "\n" not in match.group() or not lines:
            following = text[match.end() : match.end() + 1]
            if (
                following.islower()
                or _NO_END.search(piece)
                or (following[:1].isdigit() and _BEFORE_NUMBER.search(piece))
            ):
                continue
        if piece.strip():
            spans.append(_stripped(text, start, match.start()))
        start = match.end()
    if text[start:].strip():
        spans.append(_stripped(text, start, len(text)))
    return spans


def split_sentences(text: str, *, ends: str = ".!?", lines: bool = False) -> list[str]:
    """The sentences of ``text`` (see ``sentence_spans``)."""
    return [text[a:b] for a, b in sentence_spans(text, ends=ends, lines=lines)]


def _stripped(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
