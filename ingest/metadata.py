"""A document's metadata: issuing body, type, date and official symbol.

From the catalogue first (``SOURCES.md`` columns ``body``, ``type``, ``date``, ``symbol``), then
from the text itself for what the catalogue does not give (UN symbols and adoption dates, EU act
numbers and dates, a Markdown file's front-matter date). What neither states stays empty: nothing
is guessed. An editor's corrections (``DocumentRecord.edited``) win over both and survive syncs.
"""

from __future__ import annotations

import re
from dataclasses import replace

from vectorstore import DocumentRecord
from vectorstore.dates import iso_date

from .catalog import CatalogEntry
from .document import ParsedDocument

__all__ = [
    "FIELDS",
    "VERSION",
    "MetadataError",
    "derive",
    "stamp",
    "with_edits",
    "with_metadata",
]

FIELDS = ("body", "doc_type", "date", "symbol")
VERSION = 1  # bump when derivation changes: records derived otherwise are re-derived on sync
_HEAD_CHARS = 3000  # symbols and dates stand on a document's first page


_UN_SYMBOL = re.compile(r"\bA/RES/(\d{2,3})/(\d{1,4})\b")
_UN_ADOPTED = re.compile(
    r"adopted by the General Assembly on\s+(\d{1,2}\s+[A-Za-z]+\s+\d{4})", re.I
)
_EU_ACT = re.compile(
    r"\b(REGULATION|DIRECTIVE|DECISION)\s+\((EU(?:, Euratom)?)\)\s+(?:No\s+)?(\d{4}/\d{1,4})\s+"
    r"OF THE EUROPEAN PARLIAMENT AND OF THE COUNCIL\s*(?:\|\s*)?of\s+(\d{1,2}\s+[A-Za-z]+\s+\d{4})",
    re.I,
)


class MetadataError(ValueError):
    """An editor's value that cannot be stored (a date that is not ISO, an unknown field)."""


def from_text(parsed: ParsedDocument) -> dict[str, str | None]:
    """What the document's first page states about itself."""
    head = " | ".join(b.text for b in parsed.blocks)[:_HEAD_CHARS]
    found: dict[str, str | None] = {"date": parsed.date}
    un, adopted = _UN_SYMBOL.search(head), _UN_ADOPTED.search(head)
    if un and adopted:
        found.update(
            body="UN General Assembly",
            doc_type="resolution",
            symbol=f"A/RES/{un.group(1)}/{un.group(2)}",
            date=iso_date(adopted.group(1)),
        )
        return found
    eu = _EU_ACT.search(head)
    if eu:
        kind = eu.group(1).capitalize()
        found.update(
            body="European Union",
            doc_type=kind.lower(),
            symbol=f"{kind} ({eu.group(2)}) {eu.group(3)}",
            date=iso_date(eu.group(4)),
        )
    return found


def stamp(entry: CatalogEntry | None) -> str:
    """What a record's metadata was derived from: the derivation's version and the catalogue's
    values. A sync re-derives the metadata of an unchanged file whose stamp differs."""
    import hashlib

    values = repr([getattr(entry, f, None) for f in ("body", "doc_type", "date", "symbol")])
    return f"{VERSION}:{hashlib.sha256(values.encode()).hexdigest()[:12]}"


def derive(entry: CatalogEntry | None, parsed: ParsedDocument | None) -> dict[str, str | None]:
    """The four fields: the catalogue's values, else what the text states, else None."""
    text = from_text(parsed) if parsed is not None else {}
    catalogued = (
        {
            "body": entry.body,
            "doc_type": entry.doc_type,
            "date": entry.date,
            "symbol": entry.symbol,
        }
        if entry
        else {}
    )
    return {f: catalogued.get(f) or text.get(f) or None for f in FIELDS}


def with_metadata(
    record: DocumentRecord,
    entry: CatalogEntry | None,
    parsed: ParsedDocument | None,
    previous: DocumentRecord | None,
) -> DocumentRecord:
    """``record`` with ``derived`` metadata, except the fields an editor set on ``previous``
    (the committed version of the same document), which keep the editor's values."""
    values = derive(entry, parsed)
    edited = previous.edited_fields if previous else set()
    for name in edited & set(FIELDS):
        values[name] = getattr(previous, name)
    return replace(
        record,
        **values,
        edited=",".join(sorted(edited & set(FIELDS))) or None,
        meta_stamp=stamp(entry),
    )


def with_edits(record: DocumentRecord, changes: dict[str, str | None]) -> DocumentRecord:
    """``record`` with an editor's ``changes`` (empty string or None clears a field; the field
    stays marked as edited, so a sync does not fill it back in)."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise MetadataError(f"unknown field(s): {', '.join(sorted(unknown))}; known: {FIELDS}")
    values: dict[str, str | None] = {}
    for name, value in changes.items():
        value = (value or "").strip() or None
        if value is not None and len(value) > 200:
            raise MetadataError(f"{name} is longer than 200 characters")
        if name == "date" and value is not None:
            iso = iso_date(value)
            if iso is None or iso != value:
                raise MetadataError(
                    f"date {value!r} is not an ISO date (YYYY-MM-DD, YYYY-MM, YYYY)"
                )
        values[name] = value
    edited = record.edited_fields | set(values)
    return replace(record, **values, edited=",".join(sorted(edited)))
