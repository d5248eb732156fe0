"""Whether a passage supports a sentence of an LLM's answer: a fitted probability.

Features of a (sentence, passage) pair: the share of the sentence's content words found in the
passage (``lexical``), in its best two consecutive sentences (``window_lexical``) and of its
word pairs in order (``bigrams``); the cosine of the sentence's embedding with the passage's
closest sentence (``best_dense``: meaning, and some help across languages); numbers the passage
lacks (by value: "EUR 10 million" is "10 000 000", "three months" and "the ninetieth day" are
numbers, in four languages) or gives to something else ("16 requirements" where the passage
has 16 companies and 12 requirements); names the passage lacks (whole words: "AI" is not found
in "certain"); a negation the passage does not have, or one the sentence adds or drops against
the passage sentence that shares most words with it (``negation_flip``: "may use proxies"
against "should not use proxies"); and whether the sentence is in another language than the
passage (then only meaning and numbers can speak). ``bench/support.py`` fits a logistic
regression on the hand-labelled pairs of ``bench/support_pairs.jsonl`` (paraphrases, swapped
numbers, wrong instruments, negations, other languages) and chooses the threshold for a stated
share of unsupported sentences removed; the weights live in ``assistant/support_weights.json``.
Sentence length is deliberately not a feature: in the labelled set the true sentences are
longer than the false ones, which a fit would learn (it "kept" 0.81 out of fold) and no real
answer would honour.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vectorstore.text import STOP_WORDS, WORD, content_words, split_sentences, stem, stems

from .weights import sigmoid

__all__ = [
    "SUPPORT_FEATURES",
    "SUPPORT_WEIGHTS_FILE",
    "PassageView",
    "SupportModel",
    "cosine",
    "embed_sentences",
    "sentences_to_embed",
    "load_support_model",
    "english_share",
    "in_other_language",
    "missing_numbers",
    "number_values",
    "support",
    "support_features",
]

SUPPORT_WEIGHTS_FILE = Path(__file__).with_name("support_weights.json")
SUPPORT_FEATURES = (
    "lexical",
    "bigrams",
    "window_lexical",
    "missing_numbers",
    "misplaced_numbers",
    "missing_names",
    "added_negation",
    "negation_flip",
    "best_dense",
    "other_language",
    "other_language_dense",
    "other_language_numbers",
)
# an acronym, a symbol or a capitalised name inside the sentence ("NIS2", "CSIRT", "Budapest")
_NAME = re.compile(r"(?<!^)(?<![.!?]\s)\b(?:[A-Z]{2,}[\w/-]*|[A-Z][a-z]{2,}|\w*\d\w*[A-Za-z]\w*)\b")
_NEGATION = re.compile(
    r"\b(?:not|no|never|neither|nor|cannot|non-binding|voluntary|optional|need not|"
    r"nicht|kein\w*|ne|pas|jamais|no es|ningún|ninguna)\b",
    re.I,
)


def support(sentence: str, passages: Sequence[str]) -> float:
    """Share of the sentence's content words (stemmed) found in the passages; numbers count."""
    words = stems(sentence)
    if not words:
        return 0.0
    available: set[str] = set()
    for passage in passages:
        available |= stems(passage)
    return len(words & available) / len(words)


# every token, numbers as written ("10 000 000", "10,000", "1.5"): for the words around a number
_NUMBER_TOKEN = re.compile(r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?!\d)|\d+(?:[.,]\d+)?|[^\W\d_]+")


def _forms(word: str) -> list[str]:
    """German ordinals decline (dritten, neunzigster), Spanish ones agree (octogésima)."""
    if word.endswith("te"):
        return [word, *(word + end for end in "nrsm")]
    if word.endswith("ésimo"):
        return [word, word[:-1] + "a"]
    return [word]


# number words in the corpus' and answers' languages. Left out: words that are as often something
# else: "one", "un", "ein" (articles), "first", "second" (ranks, time), "once", "seize" (English
# words), "achte" (a German verb)
_NUMBER_WORDS = {
    word: value
    for words, value in [
        ("two zwei deux dos", 2),
        ("three drei trois tres third dritte troisième tercer tercero tercera", 3),
        ("four vier quatre cuatro fourth vierte quatrième", 4),
        ("five fünf cinq cinco fifth fünfte cinquième quinto quinta", 5),
        ("six sechs seis sixth sechste sixième sexto sexta", 6),
        ("seven sieben sept siete seventh siebte septième séptimo séptima", 7),
        ("eight acht huit ocho eighth huitième octavo octava", 8),
        ("nine neun neuf nueve ninth neunte neuvième noveno novena", 9),
        ("ten zehn dix diez tenth zehnte dixième décimo décima", 10),
        ("eleven elf onze eleventh elfte onzième", 11),
        ("twelve zwölf douze doce twelfth zwölfte douzième", 12),
        ("thirteen dreizehn treize trece", 13),
        ("fourteen vierzehn quatorze catorce", 14),
        ("fifteen fünfzehn quinze quince fifteenth fünfzehnte quinzième", 15),
        ("sixteen sechzehn dieciséis", 16),
        ("twenty zwanzig vingt veinte twentieth zwanzigste vingtième vigésimo vigésima", 20),
        ("thirty dreißig trente treinta thirtieth dreißigste trentième trigésimo trigésima", 30),
        ("forty vierzig quarante cuarenta fortieth vierzigste quarantième cuadragésimo", 40),
        ("fifty fünfzig cinquante cincuenta fiftieth fünfzigste cinquantième quincuagésimo", 50),
        ("sixty sechzig soixante sesenta sixtieth sechzigste soixantième sexagésimo", 60),
        ("seventy siebzig septante setenta seventieth siebzigste septantième septuagésimo", 70),
        ("eighty achtzig octante ochenta eightieth achtzigste octantième octogésimo", 80),
        ("ninety neunzig nonante noventa ninetieth neunzigste nonantième nonagésimo", 90),
        ("hundred hundert cent cien hundredth hundertste centième centésimo", 100),
    ]
    for base in words.split()
    for word in _forms(base)
}
# the unit after a tens word: "twenty-three", "eighty-first", "octogésimo primer"
_UNITS = {
    **{w: v for w, v in _NUMBER_WORDS.items() if v < 10},
    **dict.fromkeys(["one", "first", "primer", "primero", "primera", "unième", "ein"], 1),
    **dict.fromkeys(["second", "segundo", "segunda", "deuxième"], 2),
}
# French counts in twenties: read "quatre-vingt-dix" as the Belgian "nonante" first
_FRENCH_TENS = [
    (re.compile(rf"\b{old}(?:(ième)|\b)", re.I), new)
    for old, new in [
        ("quatre-vingts?-dix", "nonante"),
        ("quatre-vingts?", "octante"),
        ("soixante-dix", "septante"),
    ]
]
_SCALES = {
    **dict.fromkeys(["thousand", "tausend", "mille", "mil"], 1e3),
    **dict.fromkeys(["million", "millions", "millionen", "mio", "millones", "millón"], 1e6),
    **dict.fromkeys(["billion", "billions", "milliarde", "milliarden", "milliards"], 1e9),
}


def _number_value(token: str) -> float | None:
    if not token[0].isdigit():
        return _NUMBER_WORDS.get(token.lower())
    digits = re.sub(r"[ \u00a0\u202f]", "", token)
    if re.fullmatch(r"\d{1,3},\d{3}", digits):  # "10,000": a thousands separator
        digits = digits.replace(",", "")
    return float(digits.replace(",", "."))


# only what can be part of a number: reading a passage's every word was most of the check's cost
_NUMERIC = re.compile(
    r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?!\d)|\d+(?:[.,]\d+)?|\b(?:"
    + "|".join(sorted(map(re.escape, {*_NUMBER_WORDS, *_UNITS, *_SCALES}), key=len, reverse=True))
    + r")\b",
    re.I,
)


# "$100k", "EUR 2bn": the scale written as a letter or two
_SHORT_SCALES = {"k": "thousand", "bn": "billion"}
_SHORT_SCALE = re.compile(r"\b(\d+(?:[.,]\d+)?)\s?(k|bn)\b", re.I)


def number_values(text: str) -> dict[str, float]:
    """The numbers a text states, as written -> value ("EUR 10 million" -> {"10 million": 1e7},
    "eighty-first" -> 81)."""
    return dict(_number_values(text))


@functools.lru_cache(maxsize=4096)  # an answer's sentences are read against every passage
def _number_values(text: str) -> tuple[tuple[str, float], ...]:
    text = _SHORT_SCALE.sub(lambda m: f"{m.group(1)} {_SHORT_SCALES[m.group(2).lower()]}", text)
    for pattern, word in _FRENCH_TENS:
        text = pattern.sub(lambda m, w=word: f"{w[:-1]}ième" if m.group(1) else w, text)
    tokens = list(_NUMERIC.finditer(text))

    def gap(i: int) -> str:  # what separates token i from the one before it
        return text[tokens[i - 1].end() : tokens[i].start()] if 0 < i < len(tokens) else "."

    found: dict[str, float] = {}
    i = 0
    while i < len(tokens):
        token, value = tokens[i].group(), _number_value(tokens[i].group())
        start, i = tokens[i].start(), i + 1
        if value is None:
            continue
        if not token[0].isdigit() and value in range(20, 100, 10) and gap(i) in ("-", " "):
            unit = _UNITS.get(tokens[i].group().lower())
            if unit:
                value, i = value + unit, i + 1
        written = text[start : tokens[i - 1].end()]
        scale = _SCALES.get(tokens[i].group().lower(), 1.0) if not gap(i).strip() else 1.0
        found[f"{written} {tokens[i].group()}" if scale != 1.0 else written] = value * scale
    return tuple(found.items())


def _numbers(text: str) -> frozenset[float]:
    return frozenset(number_values(text).values())


def _missing(sentence: str, available: frozenset[float]) -> list[str]:
    return [written for written, v in number_values(sentence).items() if v not in available]


def missing_numbers(sentence: str, passages: Sequence[str]) -> list[str]:
    """Numbers the sentence states that none of the passages contains (compared by value)."""
    return _missing(sentence, frozenset().union(*(_numbers(p) for p in passages)))


# function words of the answers' other languages (German, French, Spanish)
_FOREIGN_WORDS = frozenset(
    {
        "der", "die", "das", "den", "dem", "des", "und", "ist", "sind", "von", "zu", "mit",
        "sich", "für", "im", "auf", "nicht", "eine", "einer", "einen", "als", "auch", "werden",
        "wird", "wurde", "nach", "bei", "oder", "dass", "vom", "zur", "zum",
        "le", "la", "les", "l", "du", "un", "une", "et", "est", "sont", "dans", "pour", "pas",
        "sur", "au", "aux", "par", "qui", "que", "ne", "se", "ce", "cette",
        "el", "los", "las", "del", "y", "en", "es", "son", "por", "con", "para", "lo", "al",
        "una", "unos", "su", "sus",
    }
)  # fmt: skip


def _words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text) if not w.isdigit()]


def _share_of(words: list[str], vocabulary: frozenset[str], empty: float) -> float:
    return sum(w in vocabulary for w in words) / len(words) if words else empty


def english_share(text: str) -> float:
    """Share of the words that are English function words: low for other languages."""
    return _share_of(_words(text), STOP_WORDS, 1.0)


def in_other_language(text: str) -> bool:
    """Whether the text reads as German, French or Spanish: few English function words and some
    of theirs ("Dogs fly." has neither, and is not taken for another language)."""
    words = _words(text)
    return _share_of(words, STOP_WORDS, 1.0) < 0.12 and _share_of(words, _FOREIGN_WORDS, 0.0) >= 0.1


def cosine(a: Sequence[float] | None, b: Sequence[float] | None) -> float:
    if not a or not b:
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def _stem_sequence(text: str) -> list[str]:
    return [stem(w) for w in content_words(text)]


def _valued_tokens(text: str) -> list[tuple[re.Match[str], float | None]]:
    """Every token of the text with its value when it is a number."""
    return [(m, _number_value(m.group())) for m in _NUMBER_TOKEN.finditer(text)]


def _is_content(token: str) -> bool:
    return token.lower() not in STOP_WORDS and len(token) >= 3


def _number_places(text: str, reach: int = 4) -> list[tuple[float, frozenset[str]]]:
    """Each number a text states (as a single token) with the stems of the words around it."""
    tokens = _valued_tokens(text)
    words = [stem(m.group()) if v is None and _is_content(m.group()) else None for m, v in tokens]
    return [
        (v, frozenset(w for w in words[max(0, i - reach) : i + reach + 1] if w))
        for i, (_, v) in enumerate(tokens)
        if v is not None
    ]


@functools.lru_cache(maxsize=1024)  # an answer's sentence is read against every passage
def _units(text: str) -> tuple[tuple[float, str], ...]:
    """(number, the word right after it) where that word is a content word: "24 hours" ->
    (24, "hour"). Years, and numbers inside names, symbols or rule numbers ("WSIS+20",
    "79/237", "1.9 of"), have none."""
    found = []
    tokens = _valued_tokens(text)
    for (number, value), (after, after_value) in zip(tokens, tokens[1:], strict=False):
        if value is None or after_value is not None or 1900 <= value <= 2100:
            continue
        if number.start() > 0 and text[number.start() - 1] not in " \t\n(\u00a0":
            continue  # part of a name or a symbol: "WSIS+20", "79/237", "NIS2"
        if text[number.end() : after.start()] in (" ", "-") and _is_content(after.group()):
            found.append((value, stem(after.group())))
    return tuple(found)


@dataclass(frozen=True)
class PassageView:
    """What the features need of a passage, computed once per answer check."""

    text: str
    words: frozenset[str]  # lower-cased tokens
    stems: frozenset[str]
    sentences: tuple[str, ...]
    sentence_stems: tuple[frozenset[str], ...]
    bigrams: frozenset[tuple[str, str]]
    numbers: frozenset[float]
    number_places: tuple[tuple[float, frozenset[str]], ...]
    negated: bool

    @classmethod
    def of(cls, text: str) -> PassageView:
        sequence = _stem_sequence(text)
        sentences = tuple(split_sentences(text, ends=".;!?", lines=True))
        return cls(
            text=text,
            words=frozenset(w.lower() for w in WORD.findall(text)),
            stems=frozenset(stems(text)),
            sentences=sentences,
            sentence_stems=tuple(frozenset(stems(t)) for t in sentences),
            bigrams=frozenset(zip(sequence, sequence[1:], strict=False)),
            numbers=_numbers(text),
            number_places=tuple(_number_places(text)),
            negated=bool(_NEGATION.search(text)),
        )

    def missing_numbers(self, sentence: str) -> list[str]:
        return _missing(sentence, self.numbers)

    def negated_where(self, i: int, words: set[str]) -> bool:
        """Whether passage sentence ``i`` has a negation between the first and the last of
        ``words`` it contains (its other clauses are not what the answer's sentence restates)."""
        text = self.sentences[i]
        at = [m.start() for m in WORD.finditer(text) if stem(m.group()) in words]
        return bool(at) and any(at[0] <= m.start() <= at[-1] for m in _NEGATION.finditer(text))

    def lacks_name(self, name: str) -> bool:
        """Whether a word of the name ("AI Act's", "CSIRTs") is not in the passage."""
        return any(
            not {w, w + "s", w.removesuffix("s")} & self.words
            for w in re.findall(r"\w+", name.lower().replace("\u2019", "'").removesuffix("'s"))
        )

    def misplaced_numbers(self, sentence: str) -> int:
        """Numbers the passage has, but never beside the word that follows them in the sentence
        ("16 requirements" where the passage says "16 companies … 12 requirements")."""
        return sum(
            1
            for value, unit in _units(sentence)
            if (places := [near for v, near in self.number_places if v == value])
            and not any(unit in near for near in places)
        )


# The passage sentences an answer's sentence is compared with by meaning: those that share most
# of its words. Embedding them is most of the check's cost, and the closest by meaning is nearly
# always among the closest by words (bench/support.py measures both ways); a sentence in another
# language shares few words with any, so it is compared with them all.
CLOSEST_SENTENCES = 2


def _other_language(sentence: str, lexical: float) -> bool:
    """Whether ``sentence``, which shares ``lexical`` of its words with a passage, is in another
    language than the passage."""
    return lexical < 0.3 and in_other_language(sentence)


def sentences_to_embed(
    sentence: str, passage: PassageView, k: int = CLOSEST_SENTENCES
) -> tuple[int, ...]:
    """The indices of ``passage.sentences`` whose embeddings ``sentence`` is compared with."""
    words = stems(sentence)
    every = range(len(passage.sentences))
    lexical = len(words & passage.stems) / len(words) if words else 0.0
    if k <= 0 or (words and _other_language(sentence, lexical)):
        return tuple(every)
    ranked = sorted(every, key=lambda i: -len(words & passage.sentence_stems[i]))
    return tuple(sorted(ranked[:k]))


def embed_sentences(
    wanted: Sequence[tuple[PassageView, Sequence[int]]],
    embed: Callable[[list[str]], list[list[float]]],
) -> list[dict[int, list[float]]]:
    """For each (view, indices), the embeddings of those of the view's sentences, by index, made
    in one call to ``embed``."""
    texts = [view.sentences[i] for view, indices in wanted for i in indices]
    flat = iter(embed(texts) if texts else [])
    return [{i: next(flat) for i in indices} for _, indices in wanted]


def support_features(
    sentence: str,
    passage: PassageView,
    sentence_vector: Sequence[float] | None = None,
    passage_vector: Sequence[float] | None = None,
    sentence_vectors: Mapping[int, Sequence[float]] | None = None,
) -> dict[str, float]:
    """``sentence_vectors`` are embeddings of some of ``passage.sentences``, by index
    (``sentences_to_embed``; None: the passage's own vector stands in for its closest one)."""
    words = stems(sentence)
    sequence = _stem_sequence(sentence)
    pairs = set(zip(sequence, sequence[1:], strict=False))
    share = (lambda have: len(words & have) / len(words)) if words else (lambda have: 0.0)
    dense = cosine(sentence_vector, passage_vector)
    best_dense = max(
        (cosine(sentence_vector, v) for v in (sentence_vectors or {}).values()), default=dense
    )
    lexical = share(passage.stems)
    other = float(_other_language(sentence, lexical))
    names = [n for n in dict.fromkeys(_NAME.findall(sentence)) if passage.lacks_name(n)]
    stated, missing = number_values(sentence), passage.missing_numbers(sentence)
    # the passage sentence that shares most words with it, and the best two in a row
    sents = passage.sentence_stems
    best = max(range(len(sents)), key=lambda i: len(words & sents[i]), default=None)
    single = share(sents[best]) if best is not None else 0.0
    aligned = best if single >= 0.5 else None  # else nothing says much the same: nothing to flip
    window = max((share(a | b) for a, b in zip(sents, sents[1:], strict=False)), default=0.0)
    negated = bool(_NEGATION.search(sentence))
    return {
        "lexical": lexical,
        "bigrams": len(pairs & passage.bigrams) / len(pairs) if pairs else 0.0,
        "window_lexical": max(window, single),
        "missing_numbers": float(min(len(missing), 2)),
        "misplaced_numbers": 0.0 if other else float(min(passage.misplaced_numbers(sentence), 2)),
        # German capitalises its nouns: names only speak for sentences in the passage's language
        "missing_names": 0.0 if other else float(min(len(names), 3)),
        "added_negation": float(negated and not passage.negated),
        "negation_flip": float(
            aligned is not None and negated != passage.negated_where(aligned, words)
        ),
        "best_dense": best_dense,
        "other_language": other,
        "other_language_dense": other * best_dense,
        "other_language_numbers": other * float(bool(stated) and not missing),
    }


@dataclass(frozen=True)
class SupportModel:
    """feature -> weight for "the passage supports the sentence"; a sentence is kept when its
    probability reaches ``threshold``."""

    weights: dict[str, float] = field(default_factory=dict)
    bias: float = 0.0
    threshold: float = 0.5
    fitted_on: str = ""

    def probability(self, features: dict[str, float]) -> float:
        return sigmoid(self.bias + sum(w * features.get(k, 0.0) for k, w in self.weights.items()))

    def as_json(self) -> dict[str, Any]:
        return {
            "weights": self.weights,
            "bias": self.bias,
            "threshold": self.threshold,
            "fitted_on": self.fitted_on,
        }


# Before a fit: the lexical check alone at its former threshold (0.45), numbers must be there.
UNFITTED = SupportModel(
    weights={"lexical": 20.0, "missing_numbers": -20.0}, bias=-9.0, threshold=0.5
)


@functools.cache
def load_support_model(path: Path = SUPPORT_WEIGHTS_FILE) -> SupportModel:
    if not path.exists():
        return UNFITTED
    return SupportModel(**json.loads(path.read_text(encoding="utf-8")))
