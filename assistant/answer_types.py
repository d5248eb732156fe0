"""What a question asks for (a duration, an amount, a date, a person…) and whether a sentence
carries such an item.

Rules, not a model: each kind is a handful of patterns in English, German, French and
Spanish. They feed the sentence scorer and the confidence of ``extractive.py`` as features
whose weights were fitted on the dev split (bench/fit_answerer.py), so a rule that fires too
often only earns a small weight.
"""

from __future__ import annotations

import re
from functools import cache

__all__ = ["KINDS", "asks_for", "carries", "lower_words", "names_item"]

KINDS = (
    "duration",
    "amount",
    "quantity",
    "date",
    "person",
    "organisation",
    "place",
    "symbol",
    "list",
    "yes_no",
    "definition",
    "other",
)

_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    r"forty|fifty|sixty|hundred|thousand|first|second|third|fourth|fifth|dozen"
)
_UNITS = r"hours?|days?|weeks?|months?|years?|minutes?|decades?"
_MONTHS = r"January|February|March|April|May|June|July|August|September|October|November|December"

# first match wins: the more specific kinds come first
_QUESTION = [
    (
        "yes_no",
        r"^(is|are|does|do|did|can|could|must|was|were|has|have|will|would|should|may|ist|sind|"
        r"hat|gibt|kann|muss|darf|dürfen|wird|werden|soll|est-ce|peut|doit|¿?(es|puede|debe|hay|"
        r"tiene))\b",
    ),
    (
        "duration",
        rf"\bhow (long|soon|quickly|fast)\b|\bhow many ({_UNITS})\b|\bwithin (what|which) "
        r"(period|time)|\bwhat (is the )?(deadline|time limit|period)\b|\bwie (lange|schnell)\b"
        r"|\bfrist|\bcombien de (temps|jours|heures|mois)|\bdélai|\bcuánto tiempo|\bplazo"
        r"|\bcuántas (horas|días)|\bcuántos (días|meses)|\b(prison|jail|custodial) (sentence|term)"
        r"|\bimprisonment\b|\bwie viel zeit\b|\b(welche|quelle) (dauer|durée)|\bqué duración"
        r"|\b(freiheits|haft)strafe|\bpeine d'emprisonnement|\bpena de prisión",
    ),
    (
        "amount",
        r"\bhow much\b|\bfines?\b|\bpenalt|\bbudget|\bfunding|\bfinanc|\bcost|\beuros?\b|\bdollars?"
        r"|\bper ?cent|\bturnover|\bbußgeld|\bgeldbuße|\bamende|\bmonto|\bmulta|\bbillion|\bmillion"
        r"|\bstrafe|\bsanktion|\bpeine|\bsanction|\bsanci[oó]n|\bpenas?\b|\bkosten|\bcoût|\bcoste",
    ),
    (
        "symbol",
        r"\b(reference|document|official|resolution|act|regulation|directive|order) (number|symbol)"
        r"|\bsymbol\b|\b(draft|what|which) number\b(?! of)"
        r"|\bwhich ([\w-]+ )?(order|resolution|regulation|directive|decision)\b"
        r"|\baktenzeichen|\bcote\b|\bsigla|\bsignatura|\b(welche|unter welcher) (nummer|kennnummer)"
        r"|\bnum[ée]ro (de )?(r[ée]f[ée]rencia|référence|proyecto|projet|documento?)"
        r"|\b(quel|qué|con qué) n[uú]m[ée]ro\b",
    ),
    (
        "quantity",
        r"\bhow many\b|\bnumber of\b|\bwhat (share|proportion|percentage)\b|\bhow (big|large)\b"
        r"|\bwie viele\b|\bcombien\b|\bcuánt[oa]s\b|\bporcentaje\b|\bpourcentage\b",
    ),
    (
        "date",
        r"^when\b|(,|\band|\bor) when\b|\b(until|from|by|since) when\b"
        r"|\b(what|which) (year|date|day|month)s?\b|\bby what (date|year|time)"
        r"|\bwann\b|\bwelche[rsnm]? (tag|datum|jahr|monat)\b|\bin welchem jahr|\bquand\b"
        r"|\ben quelle année|\bà quelle date|\bcuándo\b|\ben qué (año|fecha)"
        r"|\bwelche[mn]? monat|\bin welchem monat|\bquel mois|\ben qué mes|\bqué mes",
    ),
    (
        "place",
        r"\bwhere\b|\b(which|what) ([\w-]+ )?(city|cities|country|countries|town|towns|place|places|"
        r"venue|venues|capital|region|location|locations)\b|\bin what ([\w-]+ )?(city|country)"
        r"|\bwo\b|\bin welcher stadt|\boù\b|\bdans quelle ville|\bdónde\b|\ben qué (ciudad|país)"
        r"|\bin welchem land|\bwelche[sm]? land|\bwelche stadt|\bquel pays|\bquelle ville"
        r"|\bqué (ciudad|país)",
    ),
    (
        "organisation",
        r"\b(which|what) ([\w-]+ ){0,2}(body|bodies|agency|agencies|organi[sz]ation|organi[sz]ations|"
        r"institution|institutions|entity|entities|committee|office|authority|authorities|department"
        r"|ministry|group|network|team|forum|firm|firms|company|companies|think tank|coalition)\b|\bwelche (behörde|"
        r"stelle|organisation)|\bquel(le)? (organisme|agence|autorité|institution)|\bqué (organismo|"
        r"agencia|autoridad)",
    ),
    (
        "person",
        r"\bwho\b|\bwhom\b|\bwhich (\w+ )?(official|person|minister|president|diplomat|leader)\b"
        r"|\bwer\b|\bwessen\b|\bwem\b|\bqui\b|\bquién|\bwelche[rnm]? (person|diplomat|minister|"
        r"präsident)|\bquel(le)? (diplomate|ministre|personne|président)"
        r"|\bqué (diplomático|ministro|ministra|persona|presidente)",
    ),
    (
        "definition",
        r"\bwhat (is|are) (meant|understood) by\b|\bdefin|\bwhat does .{1,40} mean\b|\bmeaning of\b"
        r"|\bwas (ist|bedeutet)\b|\bqu'est-ce que\b|\bqué (es|significa)\b",
    ),
    (
        "list",
        r"\bwhich (three|four|five|six|seven|two) \b|\bwhat are the\b|\blist\b|\bname the\b|\bwhat ("
        r"kinds|types|sorts|categories|areas|sectors|principles|measures|steps|elements)\b|\bwhich ("
        r"kinds|types|sectors|areas|principles|measures|steps|elements|countries|states)\b"
        # "which recent hacks", "what three shortfalls", "which non-G7 leaders": a plural asked for
        r"|\b(which|what) ([\w-]+ )?(?!(?:does|is|was|has|this|process|access|address|business|"
        r"progress|status|class|focus|basis|analysis|crisis|series|means|news|us)\b)[a-z]{3,}s\b"
        r"(?! (of|is|was)\b)|\bquel(le)?s\b|\bcuáles\b",
    ),
]

# a leading clause the question proper follows ("Under the 2019 framework, may a vendor …",
# "When the two set up their group, which industries …"): the kind is the question's own
_LEAD_CLAUSE = re.compile(
    r"^(when|in|under|according to|for|between|as|after|before|during|if|once|since|"
    r"following|per|at|from|with|within|besides|apart from|beyond)\b[^?,]*?,\s*(?=(which|what|"
    r"who|whom|whose|when|where|how|in which|in what|does|do|did|is|are|was|were|can|could|may"
    r"|must|should|will|would|has|have)\b)",
    re.I,
)
_QUESTION_RE = [(kind, re.compile(pattern, re.I)) for kind, pattern in _QUESTION]

_ITEM = {
    "duration": rf"\b(\d+|{_NUMBER_WORDS})[- ]({_UNITS})\b|\bwithout undue delay\b|\bimmediately\b",
    "amount": r"€|\bEUR\b|\$|\bUSD\b|\beuros?\b|\bdollars?\b|\bmillion\b|\bbillion\b|%|\bper cent\b"
    r"|\bpercent\b",
    "quantity": rf"\b\d[\d,.]*\b|\b({_NUMBER_WORDS})\b",
    "date": rf"\b(19|20)\d\d\b|\b({_MONTHS})\b|\b(session|year)\b",
    "symbol": r"\b[A-Z]{1,4}/(RES|[A-Z]{1,5})?/?\d+(/\d+)*|\b\d{4}/\d{1,4}\b|\bEO \d+|\bNo\.? ?\d+",
    "place": r"\b(in|at|to|from) (the )?[A-Z][a-z]+|\b(Geneva|New York|Brussels|Paris|Vienna|"
    r"Athens|Heraklion|Hiroshima|Washington|Madrid|Vilnius|Nairobi|Riyadh|Hanoi|Antalya)\b",
    "organisation": r"\b(Agency|Commission|Council|Committee|Office|Group|Organi[sz]ation|Board|"
    r"ENISA|CSIRTs?|NATO|Union|Assembly|Secretariat|Network|Cent(re|er)|Ministry|Department|"
    r"Authority|authorit(y|ies)|Panel|Forum|Secretary-General|Initiative|body|bodies)\b",
    "person": r"\b(Mr|Mrs|Ms|Dr|President|Secretary|Chair|Minister|Ambassador|Director|"
    r"Commissioner|Prime Minister|High Representative)\b|\b[A-Z][a-z]+ [A-Z][a-z]+\b",
    "list": r"[,;].*[,;]|\([a-z]\)|\band\b.*\band\b|•",
    "definition": r"\bmeans?\b|\brefers? to\b|\bdefined as\b|\bshall mean\b|\bis understood\b",
}
_CASELESS = {"duration", "amount", "definition"}
_ITEM_RE = {
    kind: re.compile(pattern, re.I if kind in _CASELESS else 0) for kind, pattern in _ITEM.items()
}


def asks_for(question: str) -> str:
    """The kind of item ``question`` asks for, one of ``KINDS``."""
    text = _LEAD_CLAUSE.sub("", question.strip())
    for kind, pattern in _QUESTION_RE:
        if pattern.search(text):
            return kind
    return "other"


def carries(sentence: str, kind: str) -> bool:
    """Whether ``sentence`` holds an item of ``kind`` (always False for yes/no and other)."""
    pattern = _ITEM_RE.get(kind)
    return bool(pattern and pattern.search(sentence))


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# What ``names_item`` reads as the asked-for item itself, stricter than ``_ITEM``: "the Chair",
# "in the Union", "paragraph 4" and "without undue delay" are not a person, a place, a quantity
# or a deadline. A near-miss question (the library names an office but not its holder, a
# deadline only as "promptly") finds ``_ITEM`` in related sentences and these not.
_NAME = r"[A-ZÀ-Ý][a-zà-ÿ'’]+(?:-[A-ZÀ-Ý][a-zà-ÿ'’]+)?"
_TITLE = (
    r"\b(?:Mr|Mrs|Ms|Dr|H\.E\.|Ambassador|Professor|Prof|Sir|Dame|Judge|Justice|President|"
    r"Minister|Secretary-General|Chair|Chairperson|Co-Chair|Commissioner|Director|Senator)\.?"
)
_STRICT = {
    "duration": rf"\b(?:\d+|{_NUMBER_WORDS})[- ](?:{_UNITS})\b",
    "amount": r"(?:€|\bEUR|\$|\bUSD|£|\bGBP|\bCHF)\s?\d[\d,. ]*(?:\s?(?:million|billion|thousand|"
    r"m|bn)\b)?|\b\d[\d,.]*\s?(?:million|billion|thousand)?\s?(?:euros?|dollars?|EUR|USD|francs)\b"
    r"|\b\d[\d,.]*\s?(?:%|per ?cent\b|percent\b)",
    # a day or a month: "when" is not answered by a year that only names a period ("2021–2025")
    "date": rf"\b\d{{1,2}}(?:st|nd|rd|th)? (?:{_MONTHS})\b|\b(?:{_MONTHS}) \d{{1,2}}\b"
    rf"|\b(?:{_MONTHS}),? (?:19|20)\d\d\b",
    "symbol": _ITEM["symbol"],
}
_STRICT_RE = {kind: re.compile(p, re.I if kind in _CASELESS else 0) for kind, p in _STRICT.items()}
# a count: a number followed by what it counts ("79 States", "six working groups", "100,000
# security keys"); never a year, a list marker, a footnote "[2]" or an identifier ("EO 13800")
_COUNT = re.compile(
    r"(?<![/\w.\[(])(\d{1,3}(?:,\d{3})+|\d{1,4}(?:\.\d+)?|one|two|three|four|five|six|seven|eight|"
    r"nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|hundred|thousand|dozens?)"
    r"(?![/\w\]]|[.,]\d)\s+(?:(new|more|additional|other|member|non-\w+|[a-z]+al)\s+)?"
    r"([A-Za-z][a-z]+)",
    re.I,
)
# a number that labels a thing ("Article 23", "paragraph 4", "resolution 78/16") counts nothing
_LABEL_BEFORE = re.compile(
    r"\b(articles?|art|paragraphs?|paras?|sections?|chapters?|annex|points?|recitals?|pages?|"
    r"p|pp|principles?|rules?|norms?|actions?|goals?|targets?|items?|no|nos|resolutions?|"
    r"decisions?|sessions?|levels?|tier|phase|version|title|part|figure|table|box|step|eo|order|"
    r"directive|regulation|objective|pillar|priority|area|annexes|subparagraph)\.?\s*$",
    re.I,
)
_NOT_COUNTED = _words(
    "of and or to in on at by for per percent cent years months days hours weeks minutes times "
    "a the is are was were"
) | frozenset(m.lower() for m in _MONTHS.split("|"))
_DEMONYM = re.compile(r"(ian|ean|ese|ish|ic)$")
# what "how many" counts: "how many seats" is not answered by "five clusters"
_COUNTED = re.compile(r"\bhow many ([\w-]+(?: [\w-]+)?)|\bnumber of ([\w-]+)", re.I)
_YEAR_ASKED = re.compile(
    r"\b(what|which) year|\bin welchem jahr|\bwelches jahr|\ben quelle année|\bquelle année"
    r"|\ben qué año|\bqué año",
    re.I,
)
_SHARE = re.compile(
    r"\b(share|proportion|percent|percentage|per cent|anteil|prozent|pourcentage|porcentaje|"
    r"proporción|part)\b",
    re.I,
)
_LEAD_MARKER = re.compile(r"^\s*(\(?[0-9]{1,3}[.)]|\([a-z]{1,4}\)|[•▪●◦\-–])\s+")
_PERSON = re.compile(
    rf"{_TITLE}\s+({_NAME})|\b({_NAME})\s+(?:[A-Z]\.\s+)?(?:(?:van|von|de|da|del|di|dos|bin|al|le|la)"
    rf"[ -])?({_NAME})\b"
)
_PLACE = re.compile(
    rf"\b(?:in|at|to|from|near|hosted by|based in)\s+(?:the\s+)?({_NAME}(?:\s+{_NAME})?)"
    r"(?=\s*(?:$|[^\w\s]|\d|(?:in|on|at|and|or|to|for|from|with|by|as|the|which|where|since|"
    r"until|when|during|between)\b))"
)
_COUNTRY_PLACE = re.compile(
    rf"{_PLACE.pattern}|\b(?:of)\s+(?:the\s+)?({_NAME}(?:\s+{_NAME})?)\b|\b({_NAME})['’]s\b"
)
_COUNTRY_ASKED = re.compile(
    r"\b(which|what) (country|countries|state|states)\b|\bwelche[sm]? (land|staat)|\bquel pays"
    r"|\bqué país|\bin welchem land",
    re.I,
)
_ORGANISATION = re.compile(
    rf"\b(?:{_NAME}\s+){{1,4}}(?:Agency|Authority|Office|Commission|Council|Committee|Group|"
    r"Cent(?:re|er)|Team|Network|Forum|Ministry|Department|Bureau|Service|Institute|Board|"
    r"Corporation|Company|Foundation|Organi[sz]ation|Alliance|Coalition|Partnership|Panel|"
    r"Secretariat|Unit|Initiative|Mechanism|Programme|Program)\b|\b[A-Z]{2,6}s?\b"
)
_FUNCTION_WORDS = _words(
    "the a an this that these those in on at of for by to from with and or but as it its their "
    "our we they he she his her all any each every some no not under over between"
)


@cache
def _dictionary() -> tuple[frozenset[str], frozenset[str]]:
    """Webster's word list (english-words): its lower-case entries (common words) and its
    capitalised ones (proper nouns it knows: Geneva, Paris, Washington)."""
    from english_words import get_english_words_set

    words = get_english_words_set(["web2"])
    return (
        frozenset(w for w in words if w.islower()),
        frozenset(w for w in words if w[:1].isupper()),
    )


def _forms(word: str) -> list[str]:
    """``word`` lower-cased and its likely bases: the list has no plurals nor inflections."""
    w = word.lower().strip("'’-")
    out = [w]
    if w.endswith("ies"):
        out.append(w[:-3] + "y")
    for end in ("s", "es", "ed", "ing", "d"):
        if w.endswith(end) and len(w) > len(end) + 2:
            out += [w[: -len(end)], w[: -len(end)] + "e"]
    return out


def _proper(word: str, seen_lower: frozenset[str] = frozenset()) -> bool:
    """A name, not a common word: a word the text around it never writes in lower case, and
    that the dictionary either lacks ("Guterres", "Heraklion") or knows capitalised ("Geneva")."""
    lower, capitalised = _dictionary()
    forms = _forms(word)
    if forms[0] in _FUNCTION_WORDS or any(f in seen_lower for f in forms):
        return False
    return word in capitalised or not any(f in lower for f in forms)


def _items(
    sentence: str,
    kind: str,
    seen_lower: frozenset[str] = frozenset(),
    share: bool = False,
    year: bool = False,
    counted: frozenset[str] = frozenset(),
    country: bool = False,
) -> list[str]:
    """The items of ``kind`` ``names_item`` accepts in ``sentence``, as written."""
    if kind == "date" and year:  # "in which year": a year is the answer
        return re.findall(r"\b(?:19|20)\d\d\b(?![–-]\d)", sentence)
    if kind in _STRICT_RE:
        return [m.group(0) for m in _STRICT_RE[kind].finditer(sentence)]
    if kind == "quantity" and share:  # "what share of women…": "78 per cent"
        return [
            m.group(0)
            for m in _STRICT_RE["amount"].finditer(sentence)
            if "%" in m.group(0) or "cent" in m.group(0).lower()
        ]
    if kind == "quantity":
        text = _LEAD_MARKER.sub("", sentence)
        return [
            m.group(0)
            for m in _COUNT.finditer(text)
            if not re.fullmatch(r"(19|20)\d\d", m.group(1))
            and not _LABEL_BEFORE.search(text[: m.start()])
            and (m.group(2) or m.group(3)).lower() not in _NOT_COUNTED
            and any(_counts(w, counted) for w in (m.group(2), m.group(3)) if w)
        ]
    if kind == "person":
        out = []
        for m in _PERSON.finditer(sentence):
            if m.group(1):
                if _proper(m.group(1), seen_lower):
                    out.append(m.group(1))
            elif (
                m.group(2).lower() not in _FUNCTION_WORDS
                and _proper(m.group(3), seen_lower)
                and not _DEMONYM.search(m.group(3))  # "Southeast Asian", "Sino-Japanese"
            ):
                if not _proper(m.group(2), seen_lower) and m.group(2) in _dictionary()[1]:
                    continue  # "Southeast Asian", "United Arab": a place's adjective
                out.append(f"{m.group(2)} {m.group(3)}")
        return out
    if kind == "place":
        # a country is also named as an owner: "Iran's cyberattack", "the Government of Iran"
        pattern = _COUNTRY_PLACE if country else _PLACE
        names = (next(g for g in m.groups() if g) for m in pattern.finditer(sentence))
        return [name for name in names if _proper(name.split()[-1], seen_lower)]
    if kind == "organisation":
        return [m.group(0) for m in _ORGANISATION.finditer(sentence)]
    return []


def _stem(word: str) -> str:
    from vectorstore.text import stem

    return stem(word.lower())


# who sits or signs: counted as States, countries, governments, members or seats alike
_PARTICIPANTS = _words(
    "state countri govern member seat expert particip parti signatori support deleg nation "
    "ministri minist economi alli"
)


def _counts(noun: str, counted: frozenset[str]) -> bool:
    """Whether a number followed by ``noun`` counts what the question counts (``counted``:
    any, when empty)."""
    if not counted:
        return True
    stem = _stem(noun)
    return stem in counted or bool(counted & _PARTICIPANTS) and stem in _PARTICIPANTS


def _counted(question: str) -> frozenset[str]:
    """The stems of what an English "how many" question counts ("how many seats", "how many
    member states": seat; member, state); empty when it names nothing ("how many are…")."""
    m = _COUNTED.search(question)
    if not m:
        return frozenset()
    from vectorstore.text import STOP_WORDS

    out = []
    for word in next(g for g in m.groups() if g).split():
        if word.lower() in STOP_WORDS or word.lower() in _NOT_COUNTED:
            break  # "how many are…", "how many seats would…"
        out.append(_stem(word))
    return frozenset(out)


def lower_words(texts: list[str]) -> frozenset[str]:
    """The words ``texts`` write in lower case: what is a common word there ("cyber")."""
    return frozenset(w for t in texts for w in re.findall(r"\b[a-zà-ÿ][a-zà-ÿ'’-]+\b", t))


def names_item(
    sentence: str, kind: str, question: str = "", seen_lower: frozenset[str] = frozenset()
) -> bool:
    """Whether ``sentence`` names the kind of item asked for precisely enough to be the answer
    (a sum with its currency, a count of something, a person's name, a place's name…), and one
    that ``question`` does not name itself ("When will the 2026 forum…" is not answered by a
    sentence whose only date is 2026). ``seen_lower``: words the passages write in lower case,
    common words even where the dictionary lacks them ("cyber", "ransomware"). Kinds with no
    stricter reading (lists, definitions) are ``carries``."""
    if kind in ("list", "definition"):
        return carries(sentence, kind)
    asked = question.lower()
    asked_numbers = set(re.findall(r"\d+", question))
    share, year = bool(_SHARE.search(question)), bool(_YEAR_ASKED.search(question))
    counted = _counted(question) if kind == "quantity" else frozenset()
    country = bool(_COUNTRY_ASKED.search(question))
    for item in _items(
        sentence, kind, seen_lower, share=share, year=year, counted=counted, country=country
    ):
        digits = re.findall(r"\d+", item)
        if digits and set(digits) <= asked_numbers:
            continue
        if not digits and item.lower() in asked:
            continue
        return True
    return False
