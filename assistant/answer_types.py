"""What a question asks for (a duration, an amount, a date, a person…) and whether a sentence
carries such an item.

Rules, not a model: each kind is a handful of patterns in English, German, French and
Spanish. They feed the sentence scorer and the confidence of ``extractive.py`` as features
whose weights were fitted on the dev split (bench/fit_answerer.py), so a rule that fires too
often only earns a small weight.
"""

from __future__ import annotations

import re

__all__ = ["KINDS", "asks_for", "carries"]

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
