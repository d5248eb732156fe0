"""Turning a follow-up into a standalone search query without an LLM.

A follow-up that leans on earlier turns ("And when was it adopted?") gets the salient terms of the
previous questions appended: names, acronyms, resolution and article numbers, content words.
German, French and Spanish questions get English policy words from the glossary (glossary.py), so
that the English documents' passages can still be found.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vectorstore.text import QUESTION_WORDS, STOP_WORDS

from .glossary import QUESTION_TOKEN, translate_terms

__all__ = ["condense_offline", "salient_terms"]

# words pointing back at what was said before (English, German, French)
_POINTING = {
    "it", "its", "this", "that", "these", "those", "they", "them", "their", "there", "such",
    "same", "es", "sie", "dies", "diese", "dieser", "dieses", "dort", "dazu", "il", "elle",
    "ils", "elles", "cela", "ce", "cette", "ces",
}  # fmt: skip
# what a follow-up starts with ("And when…", "Und wann…"), and words a carried query skips
_ANAPHORA = _POINTING | {
    "also", "and", "then", "further", "more", "else", "darin", "und", "auch", "y", "en", "et",
    "aussi",
}  # fmt: skip
_STOPWORDS = STOP_WORDS | QUESTION_WORDS
_CITATION_MARKER = re.compile(r"\[\d+\]")


def salient_terms(text: str) -> list[str]:
    """Names, acronyms, numbers and content words of ``text``, in order, without repeats."""
    terms = []
    for raw in QUESTION_TOKEN.findall(text):
        word = raw.strip(".,;:?!'’\"()")
        if not word or word.lower() in _STOPWORDS or word.lower() in _ANAPHORA:
            continue
        if len(word) < 3 and not any(ch.isdigit() for ch in word) and not word.isupper():
            continue
        terms.append(word)
    return list(dict.fromkeys(terms))


# a referring word anywhere in a question makes it a follow-up
_REFERRING = _POINTING | {"itself", "ese", "esa", "esos", "esas", "ello"}


def _is_follow_up(question: str) -> bool:
    """Short, or leaning on something said before ("that first warning", "those talks")."""
    words = [w.lower().strip(".,;:?!¿¡") for w in QUESTION_TOKEN.findall(question)]
    return (
        len(words) <= 6 or any(w in _ANAPHORA for w in words[:3]) or bool(_REFERRING & set(words))
    )


def _names(text: str) -> list[str]:
    """The names, acronyms and numbers of ``text`` (an earlier answer: what "it" refers to)."""
    text = _CITATION_MARKER.sub(" ", text)  # our own "[1]", not a number the answer gave
    return [t for t in salient_terms(text) if t[0].isupper() or any(ch.isdigit() for ch in t)]


def condense_offline(question: str, history: Sequence[dict[str, str]] | None) -> str:
    """A standalone search query for ``question`` given the earlier ``history`` turns: the
    salient terms of the last question, then the names in the answer to it, then those of the
    questions before, up to 12 terms."""
    query = translate_terms(question.strip())
    turns = [t for t in history or [] if t.get("content")]
    earlier = [t["content"] for t in turns if t.get("role") == "user"]
    if not earlier or not _is_follow_up(question):
        return query
    last_answer = next((t["content"] for t in reversed(turns) if t.get("role") == "assistant"), "")
    own = {t.lower() for t in salient_terms(query)}
    carried = [
        *salient_terms(translate_terms(earlier[-1])),
        *_names(last_answer),
        *(t for q in reversed(earlier[:-1]) for t in salient_terms(translate_terms(q))),
    ]
    carried = [t for t in dict.fromkeys(carried) if t.lower() not in own]
    return f"{query} {' '.join(carried[:12])}".strip()
