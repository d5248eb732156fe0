"""Text rules every layer shares: words, stop words, stemming, and sentence splitting.

One home for them, so the index, the chunker, the answerer, the LLM check and the UI cut and
compare text the same way. Splitting knows the abbreviations of policy texts ("p. 12",
"Art. 5", "U.N.", "e.g.") and enumerators ("4.", "1.9."), which end no sentence, and keeps the
citation markers that follow a full stop ("… 2023. [1]") with their sentence.
"""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = [
    "STEMMER_LANGUAGE",
    "STOP_WORDS",
    "WORD",
    "content_words",
    "sentence_spans",
    "split_sentences",
    "stem",
    "stemmer",
    "terms",
]

STEMMER_LANGUAGE = "english"
WORD = re.compile(r"\w+", re.UNICODE)

# Function words and question fluff: they say nothing about what a passage holds.
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "according",
        "all",
        "also",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "being",
        "between",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "document",
        "documents",
        "each",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "may",
        "me",
        "must",
        "no",
        "not",
        "of",
        "on",
        "or",
        "other",
        "over",
        "please",
        "say",
        "said",
        "says",
        "shall",
        "should",
        "so",
        "such",
        "tell",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "under",
        "us",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "within",
        "would",
        "yes",
    ]
)

# a full stop after these ends no sentence
_ABBREVIATION = re.compile(
    r"(?:\b(?i:p|pp|para|paras|art|arts|no|nos|vol|ch|sec|cf|e\.g|i\.e|etc|et al|viz|vs|approx|"
    r"mr|mrs|ms|dr|prof|st|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|fig|eq|ref|op|cit"
    r"|ibid|ed|eds|rev|corr|add|suppl)|\b[A-Z])$"
)
# "4." or "1.9." standing alone: a paragraph number, not the end of a sentence
_ENUMERATOR = re.compile(r"(?:^|\s)(?:\d{1,3}|\d{1,3}\.\d{1,3})$")
_BOUNDARY = re.compile(r"([.!?;:])((?:\s*\[\d+\])*)(\s+)(?=\S)|\n+")


@functools.cache
def stemmer() -> Any:
    """The Snowball stemmer (PyStemmer), built once per process."""
    import Stemmer

    return Stemmer.Stemmer(STEMMER_LANGUAGE)


def stem(word: str) -> str:
    return stemmer().stemWord(word.lower())


def content_words(text: str) -> list[str]:
    """The words of ``text`` that are not stop words, as written."""
    return [w for w in WORD.findall(text) if w.lower() not in STOP_WORDS]


def terms(text: str) -> set[str]:
    """Stems of the content words of ``text``."""
    return {stem(w) for w in content_words(text)}


def sentence_spans(text: str, ends: str = ".!?", newlines: bool = True) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``.

    A sentence ends at one of ``ends`` followed by a space and a character that is not a
    lower-case letter (and, with ``newlines``, at every line break), except after an
    abbreviation or an enumerator; citation markers right after the end stay with it.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if match.group(1) is None:
            if not newlines:
                continue
            end, following = match.start(), match.end()
        else:
            if match.group(1) not in ends:
                continue
            before = text[start : match.start()]
            if _ABBREVIATION.search(before) or _ENUMERATOR.search(before):
                continue
            if text[match.end()].islower():
                continue
            end, following = match.start(3), match.end()
        if text[start:end].strip():
            spans.append(_trimmed(text, start, end))
        start = following
    if text[start:].strip():
        spans.append(_trimmed(text, start, len(text)))
    return spans


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_sentences(text: str, ends: str = ".!?", newlines: bool = True) -> list[str]:
    """The sentences of ``text`` (see ``sentence_spans``)."""
    return [text[a:b] for a, b in sentence_spans(text, ends, newlines)]
