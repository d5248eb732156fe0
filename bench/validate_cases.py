"""Checks an eval-case file: keys, gold sources present, key terms found in the gold documents.

Usage: python bench/validate_cases.py [CASES.jsonl]  (default: bench/dev_cases.jsonl)
"""

import json
import os
import re
import sys
from pathlib import Path

import pypdf

ROOT = Path(__file__).resolve().parent.parent
CORPUS = str(ROOT / "corpus")
PATH = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "bench" / "dev_cases.jsonl")
REQ = ["id", "question", "gold_sources", "must_contain", "answerable", "gold_page", "note"]


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
            for g in pdfs:
                P = pages(g)
                if not (1 <= pg <= len(P)):
                    errors.append(f"{cid}: gold_page {pg} out of range for {g}")
                else:
                    missing = [t for t in c["must_contain"] if norm(t) not in P[pg - 1]]
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
for w in warnings:
    print("WARNING", w)
for e in errors:
    print("ERROR", e)
print("RESULT:", "OK" if not errors else f"{len(errors)} error(s)")
sys.exit(1 if errors else 0)
