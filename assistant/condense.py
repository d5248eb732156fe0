"""Turning a follow-up into a standalone search query without an LLM.

A follow-up that leans on earlier turns ("And when was it adopted?") gets the salient terms of the
previous questions appended: names, acronyms, resolution and article numbers, content words.
German, French and Spanish questions get common policy words translated through a small glossary, so
that the English documents' names, acronyms and numbers can still be found.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vectorstore.text import QUESTION_WORDS, STOP_WORDS

__all__ = ["condense_offline", "salient_terms", "translate_terms"]

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
_GLOSSARY = {
    # German
    "artikel": "article", "absatz": "paragraph", "richtlinie": "directive",
    "verordnung": "regulation", "resolution": "resolution", "entschließung": "resolution",
    "generalversammlung": "general assembly", "vereinten": "united", "nationen": "nations",
    "angenommen": "adopted", "verabschiedet": "adopted", "wann": "when", "frist": "deadline",
    "fristen": "deadlines", "stunden": "hours", "meldung": "notification",
    "meldepflichten": "reporting obligations", "vorfall": "incident", "vorfälle": "incidents",
    "sicherheitsvorfall": "security incident", "erhebliche": "significant",
    "frühwarnung": "early warning", "mitgliedstaaten": "member states", "staaten": "states",
    "künstliche": "artificial", "intelligenz": "intelligence", "menschenrechte": "human rights",
    "cybersicherheit": "cybersecurity", "cyberkriminalität": "cybercrime",
    "übereinkommen": "convention", "aktionsprogramm": "programme of action",
    "arbeitsgruppe": "working group", "mitglieder": "members", "wissenschaftliche": "scientific",
    "gremium": "panel", "unabhängige": "independent", "verlangt": "requires",
    "strategie": "strategy", "gipfel": "summit", "erklärung": "declaration",
    "kapazitätsaufbau": "capacity-building", "normen": "norms", "verantwortungsvolles": "responsible",
    "datenschutz": "privacy", "privatsphäre": "privacy", "lösegeld": "ransomware",
    "erstes": "first", "treffen": "meeting", "handels": "trade", "technologierat": "technology council",
    # French
    "article": "article", "paragraphe": "paragraph", "directive": "directive",
    "règlement": "regulation", "résolution": "resolution", "assemblée": "assembly",
    "générale": "general", "nations": "nations", "unies": "united", "adoptée": "adopted",
    "adopté": "adopted", "quand": "when", "délai": "deadline", "heures": "hours",
    "notification": "notification", "incident": "incident", "incidents": "incidents",
    "alerte": "warning", "précoce": "early", "états": "states", "membres": "members",
    "intelligence": "intelligence", "artificielle": "artificial", "droits": "rights",
    "l'homme": "human", "humains": "human", "cybersécurité": "cybersecurity",
    "cybercriminalité": "cybercrime", "convention": "convention",
    "programme": "programme", "d'action": "action", "groupe": "group", "travail": "working",
    "scientifique": "scientific", "groupe d'experts": "panel", "indépendant": "independent",
    "stratégie": "strategy", "sommet": "summit", "déclaration": "declaration",
    "renforcement": "building", "capacités": "capacity", "normes": "norms",
    "responsable": "responsible", "vie": "", "privée": "privacy", "rançongiciel": "ransomware",
    "première": "first", "réunion": "meeting", "conseil": "council", "commerce": "trade",
    "technologies": "technology", "où": "where", "lieu": "place", "eu": "held",
    "rapport": "report", "pacte": "pact", "avenir": "future", "amende": "fine",
    "amendes": "fines", "sanctions": "penalties", "entreprises": "companies", "pays": "countries",
    "sécurité": "security", "numérique": "digital", "mondial": "global", "ordre": "order",
    "décret": "executive order", "engagements": "commitments", "volontaires": "voluntary",
    # German, further
    "bericht": "report", "pakt": "pact", "zukunft": "future", "bußgeld": "fine",
    "geldbuße": "fine", "sanktionen": "penalties", "unternehmen": "companies", "länder": "countries",
    "sicherheit": "security", "digitale": "digital", "globale": "global", "verpflichtungen":
    "commitments", "freiwillige": "voluntary", "überprüfung": "review", "kommission": "commission",
    "konvention": "convention", "daten": "data", "elektronische": "electronic",
    "elektronischer": "electronic", "gespeicherter": "stored", "gespeicherte": "stored",
    "sicherung": "preservation", "anordnung": "order", "tag": "day", "internationalen":
    "international", "internationale": "international", "erklärt": "declared", "prüfen": "review",
    "erstmals": "first", "konzerne": "companies", "lieferkette": "supply chain",
    "anforderungen": "requirements", "höchstens": "maximum", "bewertung": "evaluation",
    # French and Spanish, further
    "données": "data", "électroniques": "electronic", "conservation": "preservation",
    "jour": "day", "chaîne": "chain",
    "approvisionnement": "supply", "exigences": "requirements", "évaluation": "evaluation",
    "datos": "data", "electrónicos": "electronic", "conservación": "preservation", "día": "day",
    "internacional": "international", "suministro": "supply", "cadena": "chain",
    "requisitos": "requirements", "evaluación": "evaluation",
    # Spanish
    "artículo": "article", "apartado": "paragraph", "directiva": "directive",
    "reglamento": "regulation", "resolución": "resolution", "asamblea": "assembly",
    "naciones": "nations", "unidas": "united", "adoptada": "adopted", "adoptado": "adopted",
    "cuándo": "when", "plazo": "deadline", "horas": "hours", "notificación": "notification",
    "incidente": "incident", "incidentes": "incidents", "alerta": "warning", "temprana": "early",
    "estados": "states", "miembros": "members", "inteligencia": "intelligence",
    "derechos": "rights", "humanos": "human", "ciberseguridad": "cybersecurity",
    "ciberdelincuencia": "cybercrime", "convención": "convention", "programa": "programme",
    "acción": "action", "acciones": "actions", "grupo": "group", "trabajo": "working",
    "abierta": "open-ended", "científico": "scientific", "independiente": "independent",
    "estrategia": "strategy", "cumbre": "summit", "declaración": "declaration",
    "capacidades": "capacity", "normas": "norms", "privacidad": "privacy", "primera": "first",
    "reunión": "meeting", "consejo": "council", "comercio": "trade", "tecnología": "technology",
    "dónde": "where", "multa": "fine", "multas": "fines", "sanciones": "penalties",
    "informe": "report", "pacto": "pact", "futuro": "future", "seguridad": "security",
    "digital": "digital", "mundial": "world", "población": "population", "porcentaje":
    "percentage", "documento": "document", "ley": "act", "orden": "order", "ejecutiva":
    "executive", "empresas": "companies", "países": "countries", "gobierno": "government",
    "jefes": "heads", "estado": "state", "modelos": "models", "doble": "dual", "uso": "use",
    "signatura": "symbol", "compromisos": "commitments", "voluntarios": "voluntary",
    "comisión": "commission", "revisión": "review",
}  # fmt: skip
_CITATION_MARKER = re.compile(r"\[\d+\]")
_WORD = re.compile(r"[\w'’/.-]+", re.UNICODE)
_NON_ENGLISH_HINTS = re.compile(
    r"\b(der|die|das|wann|wurde|welche|wie|viele|und|quand|quel|quelle|quels|combien|est|été|"
    r"le|la|les|des|du|une|el|los|las|del|qué|cuál|cuáles|cuántos|cuántas|cuándo|según)\b",
    re.I,
)


def translate_terms(question: str) -> str:
    """The question with the glossary's English words appended (German, French or Spanish questions)."""
    if not _NON_ENGLISH_HINTS.search(question):
        return question
    words = [w.strip(".,;:?!").lower() for w in _WORD.findall(question)]
    # the parts of "NIS2-Richtlinie"; not two-letter ones ("EU-Kommission" is not French "eu")
    words += [part for w in words if "-" in w for part in w.split("-") if len(part) > 2]
    english = [_GLOSSARY[w] for w in words if _GLOSSARY.get(w)]
    return f"{question} {' '.join(dict.fromkeys(english))}".strip() if english else question


def salient_terms(text: str) -> list[str]:
    """Names, acronyms, numbers and content words of ``text``, in order, without repeats."""
    terms = []
    for raw in _WORD.findall(text):
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
    words = [w.lower().strip(".,;:?!¿¡") for w in _WORD.findall(question)]
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
