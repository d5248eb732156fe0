"""English words for German, French and Spanish questions, so that the English documents'
passages can be found and their sentences scored.

The words come from ``glossary.tsv`` (what each column holds is said at its top). A question word
matches a form exactly or, from four letters on, by its Snowball stem in the question's language,
so "Verlängerung", "verlängert" and "verlängern" all find "extended". A German compound that is
not listed is split where its tail is ("Cybersicherheitsagentur": "cybersecurity", "agency").
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from pathlib import Path

__all__ = ["GLOSSARY_FILE", "QUESTION_TOKEN", "question_language", "translate_terms"]

GLOSSARY_FILE = Path(__file__).with_name("glossary.tsv")
_LANGUAGES = {"de": "german", "fr": "french", "es": "spanish"}
_MIN_STEMMED = 4  # shorter words match exactly only: stems of "tag" or "rat" hit too much
# a word of a question, "NIS2-Richtlinie" and "l'homme" whole
QUESTION_TOKEN = re.compile(r"[\w'’/.-]+", re.UNICODE)
# a question is taken for English unless one of these occurs
_NON_ENGLISH_HINTS = re.compile(
    r"\b(der|die|das|wann|wurde|welche|wie|viele|und|quand|quel|quelle|quels|combien|est|été|"
    r"le|la|les|des|du|une|el|los|las|del|qué|cuál|cuáles|cuántos|cuántas|cuándo|según)\b",
    re.I,
)
# which of the three it is: the language with most of its own function words
_FUNCTION_WORDS_TEXT = {
    "de": "der die das den dem des wann wurde wurden welche welcher welches welchen wie viele und "
    "ist sind ein eine einer einen nach für mit von zu zum zur auf im wer wo darf dürfen kann "
    "soll sollte muss bis seit nicht auch oder gibt hat haben wessen wem wen dieser",
    "fr": "le la les des du une un quel quelle quels quelles quand combien est été qui que dans "
    "pour sur selon par avec où au aux et ou ne pas se sont doit peut il elle l d qu comment ce "
    "cette leur entre depuis jusqu",
    "es": "el los las del una un qué cuál cuáles cuándo cuántos cuántas según es son quién dónde "
    "para por con al y o no se debe puede ha han le lo su sus la en que cómo cuánto cuánta "
    "sobre desde hasta entre",
}
_FUNCTION_WORDS = {lang: set(text.split()) for lang, text in _FUNCTION_WORDS_TEXT.items()}


def question_language(question: str) -> str:
    """``de``, ``fr``, ``es``, or ``en`` where none of their hint words occurs."""
    if not _NON_ENGLISH_HINTS.search(question):
        return "en"
    words = Counter(re.split(r"[\s'’,.;:?!¿¡()]+", question.lower()))
    counts = {lang: sum(words[w] for w in fw) for lang, fw in _FUNCTION_WORDS.items()}
    return max(counts, key=lambda lang: counts[lang])


class _Table:
    """One language's column: exact forms and their stems, each to its English words."""

    def __init__(self, language: str) -> None:
        import Stemmer  # PyStemmer, already the lexical index's stemmer

        self._stem = Stemmer.Stemmer(language).stemWord
        self.exact: dict[str, list[str]] = {}
        self.stems: dict[str, list[str]] = {}

    def add(self, form: str, english: str) -> None:
        words = [] if english == "-" else [english]
        self.exact.setdefault(form, [])
        self.exact[form] += [w for w in words if w not in self.exact[form]]
        if len(form) >= _MIN_STEMMED:
            stem = self.stems.setdefault(self._stem(form), [])
            stem += [w for w in words if w not in stem]

    def lookup(self, word: str) -> list[str] | None:
        """The English words for ``word``; None where the table does not know it."""
        if word in self.exact:
            return self.exact[word]
        return self.stems.get(self._stem(word)) if len(word) >= _MIN_STEMMED else None

    def compound(self, word: str) -> list[str]:
        """A German compound's parts: the longest known tail, then its head ("s" joints too)."""
        for cut in range(3, len(word) - _MIN_STEMMED + 1):
            tail = self.lookup(word[cut:])
            if tail:
                head = word[:cut]
                found = self.lookup(head) or (head.endswith("s") and self.lookup(head[:-1])) or []
                return [*found, *tail]
        return []


@cache
def _tables() -> dict[str, _Table]:
    tables = {lang: _Table(name) for lang, name in _LANGUAGES.items()}
    for line in GLOSSARY_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        english, *columns = line.split("\t")
        for lang, cell in zip(_LANGUAGES, columns, strict=False):
            for form in filter(None, (f.strip().lower() for f in cell.split(","))):
                tables[lang].add(form, english.strip())
    return tables


def translate_terms(question: str) -> str:
    """The question with the glossary's English words appended (German, French or Spanish questions)."""
    lang = question_language(question)
    if lang == "en":
        return question
    table = _tables()[lang]
    words = [w.strip('.,;:?!¿¡"()').lower() for w in QUESTION_TOKEN.findall(question)]
    # the parts of "NIS2-Richtlinie"; not two-letter ones ("EU-Kommission" is not French "eu")
    words += [part for w in words if "-" in w for part in w.split("-") if len(part) > 2]
    english: list[str] = []
    for word in words:
        found = table.lookup(word)
        if found is None and lang == "de" and len(word) >= 2 * _MIN_STEMMED:
            found = table.compound(word)
        english += found or []
    return f"{question} {' '.join(dict.fromkeys(english))}".strip() if english else question
