"""Checks an eval-case file: keys, gold sources present, key terms found in the gold documents.

Usage: python -m bench.validate_cases [--overlap] [CASES.jsonl]  (default: bench/dev_cases.jsonl)

Optional case keys, validated when present: "kind" (fact, comparison, follow_up, near_miss,
off_topic), "asks_for" (quantity, duration, amount, date, person, organisation, place, symbol,
list, yes_no, definition, other), "lang" (en, de, fr, es; default en), "split" (dev, test).

Lexical overlap: for each answerable case, the share of the question's distinct content words
(lower-cased \\w+ tokens of 3+ characters that are not all digits, minus stop words; stemmed with
PyStemmer's English stemmer) whose stem occurs among the stems of the gold passage (the
double-quoted verbatim quotes in the note, joined). The medians (all answerable cases and English
ones) are always printed, the per-case table only with --overlap. Target: median at most 0.5.

gold_page with several gold sources (comparison cases) is the page of the first PDF listed.
"""

import json
import os
import re
import statistics
import sys
from pathlib import Path

import pypdf
from bm25s.stopwords import STOPWORDS_EN_PLUS, STOPWORDS_FRENCH, STOPWORDS_GERMAN, STOPWORDS_SPANISH

from assistant.answer_types import KINDS as ASKS_FOR
from vectorstore.text import QUESTION_WORDS, STOP_WORDS, WORD, stemmer

ROOT = Path(__file__).resolve().parent.parent
CORPUS = str(ROOT / "corpus")
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
SHOW_OVERLAP = "--overlap" in sys.argv[1:]
PATH = ARGS[0] if ARGS else str(ROOT / "bench" / "dev_cases.jsonl")
REQ = ["id", "question", "gold_sources", "must_contain", "answerable", "gold_page", "note"]
ENUMS = {
    "kind": ("fact", "comparison", "follow_up", "near_miss", "off_topic"),
    "asks_for": ASKS_FOR,
    "lang": ("en", "de", "fr", "es"),
    "split": ("dev", "test"),
}
OVERLAP_TARGET = 0.5

# function and question words in the four languages of the cases: a question is not scored on them
STOP = (
    STOP_WORDS
    | QUESTION_WORDS
    | set(STOPWORDS_EN_PLUS)
    | set(STOPWORDS_GERMAN)
    | set(STOPWORDS_FRENCH)
    | set(STOPWORDS_SPANISH)
)


def content_words(text):
    return [
        w
        for w in re.findall(r"\w+", text.lower())
        if len(w) >= 3 and not w.isdigit() and w not in STOP
    ]


def overlap(question, passage):
    """share of the question's distinct content words whose stem is among the passage's stems"""
    q = sorted(set(content_words(question)))
    if not q:
        return None
    pstems = set(stemmer().stemWords(WORD.findall(passage.lower())))
    return sum(1 for st in stemmer().stemWords(q) if st in pstems) / len(q)


def norm(s):
    return " ".join(s.split()).lower()


_cache = {}


def pages(fname):
    """list of page texts (one element for non-PDF)"""
    if fname not in _cache:
        p = os.path.join(CORPUS, fname)
        if fname.endswith(".pdf"):
            r = pypdf.PdfReader(p)
            if r.is_encrypted:
                r.decrypt("")
            _cache[fname] = [norm(pg.extract_text() or "") for pg in r.pages]
        else:
            _cache[fname] = [norm(Path(p).read_text(encoding="utf-8", errors="replace"))]
    return _cache[fname]


def loose(s):  # tolerate pdf-extraction artefacts around hyphens/quotes
    s = s.replace("’", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s*-\s*", "-", s)


errors, warnings = [], []
ids = set()
cats = {"answerable_factual": 0, "follow_up": 0, "de_fr": 0, "unanswerable": 0}
docs = set()
overlaps = []  # (id, lang, overlap or None)
kinds, langs, asks = {}, {}, {}
lines = Path(PATH).read_text(encoding="utf-8").splitlines()
for n, line in enumerate(lines, 1):
    try:
        c = json.loads(line)
    except Exception as e:
        errors.append(f"line {n}: invalid JSON: {e}")
        continue
    cid = c.get("id", f"line{n}")
    for k in REQ:
        if k not in c:
            errors.append(f"{cid}: missing key {k}")
    if cid in ids:
        errors.append(f"{cid}: duplicate id")
    ids.add(cid)
    for k, allowed in ENUMS.items():
        if k in c and c[k] not in allowed:
            errors.append(f"{cid}: {k} must be one of {', '.join(allowed)} (got {c[k]!r})")
    if "history" in c:
        h = c["history"]
        if not (
            isinstance(h, list)
            and h
            and all(
                isinstance(t, dict)
                and t.get("role") in ("user", "assistant")
                and isinstance(t.get("content"), str)
                for t in h
            )
        ):
            errors.append(f"{cid}: bad history")
    if not isinstance(c["must_contain"], list) or len(c["must_contain"]) > 3:
        errors.append(f"{cid}: must_contain must be a list of <=3 terms")
    if c["answerable"]:
        if not c["gold_sources"]:
            errors.append(f"{cid}: answerable but no gold_sources")
        if not c["must_contain"]:
            errors.append(f"{cid}: answerable but no must_contain")
    else:
        if c["gold_sources"] or c["must_contain"] or c["gold_page"] is not None:
            errors.append(
                f"{cid}: unanswerable must have empty gold_sources/must_contain and null gold_page"
            )
    for g in c["gold_sources"]:
        if not os.path.isfile(os.path.join(CORPUS, g)):
            errors.append(f"{cid}: gold source not found: {g}")
    gs = [g for g in c["gold_sources"] if os.path.isfile(os.path.join(CORPUS, g))]
    docs.update(gs)
    for term in c["must_contain"]:
        t = norm(term)
        if not any(t in " ".join(pages(g)) for g in gs):
            errors.append(f"{cid}: must_contain term {term!r} not found in any gold source")
    pdfs = [g for g in gs if g.endswith(".pdf")]
    if c["gold_page"] is not None:
        if not pdfs:
            errors.append(f"{cid}: gold_page set but no PDF gold source")
        else:
            pg = c["gold_page"]
            # One gold source: gold_page is its page and must hold every key term. Several gold
            # sources (comparisons): gold_page is the page of the first PDF listed, and only the
            # key terms that occur in that PDF at all are expected on it.
            single = len(gs) == 1
            for g in pdfs if single else pdfs[:1]:
                P = pages(g)
                if not (1 <= pg <= len(P)):
                    errors.append(f"{cid}: gold_page {pg} out of range for {g}")
                else:
                    terms = [t for t in c["must_contain"] if single or norm(t) in " ".join(P)]
                    missing = [t for t in terms if norm(t) not in P[pg - 1]]
                    if missing:
                        warnings.append(f"{cid}: terms {missing} not on page {pg} of {g}")
    elif pdfs and c["answerable"]:
        errors.append(f"{cid}: PDF gold source but gold_page is null")
    # verbatim quotes recorded in the note must be found in a gold source
    if c["answerable"]:
        quotes = re.findall(r'"([^"]{25,})"', c["note"])
        if not quotes:
            warnings.append(f"{cid}: no verbatim quote in note")
        for q in quotes:
            parts = [p.strip(" ;.") for p in q.split("...") if len(p.strip()) > 15]
            for part in parts:
                if not any(loose(norm(part)) in loose(" ".join(pages(g))) for g in gs):
                    warnings.append(f"{cid}: quoted text not found verbatim: {part[:70]!r}")
    lang = c.get("lang") or next(
        (p[:-1] for p in ("de-", "fr-", "es-") if str(cid).startswith(p)), "en"
    )  # default en; old files mark the language only by an id prefix
    # lexical overlap of the question with the quoted gold passage
    if c["answerable"]:
        quotes_all = re.findall(r'"([^"]{25,})"', c.get("note", ""))
        ov = overlap(c.get("question", ""), " ".join(quotes_all)) if quotes_all else None
        overlaps.append((cid, lang, ov))
    kinds[c.get("kind", "(none)")] = kinds.get(c.get("kind", "(none)"), 0) + 1
    langs[lang] = langs.get(lang, 0) + 1
    asks[c.get("asks_for", "(none)")] = asks.get(c.get("asks_for", "(none)"), 0) + 1
    # category
    if not c["answerable"]:
        cats["unanswerable"] += 1
    elif "history" in c:
        cats["follow_up"] += 1
    elif cid.startswith(("de-", "fr-")):
        cats["de_fr"] += 1
    else:
        cats["answerable_factual"] += 1

print(f"cases: {len(lines)}  categories: {cats}")
fact_docs = set()
for line in lines:
    c = json.loads(line)
    if c["answerable"] and "history" not in c and not c["id"].startswith(("de-", "fr-")):
        fact_docs.update(c["gold_sources"])
print(
    f"distinct gold documents (all answerable): {len(docs)}; in the factual category: {len(fact_docs)}"
)
print(f"distinct gold documents: {len(docs)}")


def _counts(d):
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items(), key=lambda kv: (-kv[1], kv[0])))


print(f"by kind: {_counts(kinds)}")
print(f"by lang: {_counts(langs)}")
print(f"by asks_for: {_counts(asks)}")
if SHOW_OVERLAP:
    print("lexical overlap per answerable case (question content words vs quoted gold passage):")
    w = max([len(i) for i, _, _ in overlaps] + [2])
    for i, lang, ov in overlaps:
        print(f"  {i:<{w}}  {lang}  {'  n/a' if ov is None else f'{ov:.2f}'}")
vals = [ov for _, _, ov in overlaps if ov is not None]
en = [ov for _, lang, ov in overlaps if ov is not None and lang == "en"]
med = statistics.median(vals) if vals else None
med_en = statistics.median(en) if en else None


def fmt(m):
    return "n/a" if m is None else f"{m:.3f}"


print(
    f"lexical overlap: median {fmt(med)} over {len(vals)} answerable case(s) with a quote; "
    f"English {fmt(med_en)} over {len(en)} (target: median <= {OVERLAP_TARGET})"
)
if med is not None and med > OVERLAP_TARGET:
    warnings.append(f"median lexical overlap {med:.3f} is above {OVERLAP_TARGET}")
for w in warnings:
    print("WARNING", w)
for e in errors:
    print("ERROR", e)
print("RESULT:", "OK" if not errors else f"{len(errors)} error(s)")
sys.exit(1 if errors else 0)
