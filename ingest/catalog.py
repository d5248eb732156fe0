"""The corpus catalogue: titles, original links and metadata (issuing body, type, ISO date,
symbol) for documents, read from SOURCES.md tables."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from vectorstore.dates import iso_date

__all__ = ["CatalogEntry", "read_catalog"]


@dataclass(frozen=True)
class CatalogEntry:
    title: str | None
    url: str | None
    body: str | None = None
    doc_type: str | None = None
    date: str | None = None  # ISO, as precise as the catalogue gives it
    symbol: str | None = None


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _plain(cell: str) -> str:
    cell = re.sub(r"\*\*(.+?)\*\*", r"\1", cell)
    return cell.strip("` ").strip()


def _title(cell: str) -> str | None:
    """The title cell without a trailing page count ("(4 pp.)", ", 4 pages")."""
    title = re.sub(r"(\s*\(\d+\s*pp\.\)|,\s*\d+\s*pages)$", "", _plain(cell))
    return title or None


def _iso(cell: str) -> str | None:
    """The ISO date a ``date`` cell starts with ("2023-12-04 (adopted; issued 6 Dec 2023)")."""
    return iso_date(cell, iso_only=True)


def read_catalog(path: Path) -> dict[str, CatalogEntry]:
    """Entries keyed by file name, from every Markdown table with a ``file`` and a ``title`` column
    (and, where the table has them, ``body``, ``type``, ``date`` and ``symbol``).

        A missing or unreadable catalogue is an empty one: titles then come from the documents.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    entries: dict[str, CatalogEntry] = {}
    columns: list[str] | None = None
    for line in lines:
        if not line.lstrip().startswith("|"):
            columns = None
            continue
        cells = _cells(line)
        if columns is None:
            lowered = [c.lower() for c in cells]
            columns = lowered if "file" in lowered and "title" in lowered else []
            continue
        if not columns or set("".join(cells)) <= set("-: "):
            continue
        row = dict(zip(columns, cells, strict=False))
        name = _plain(row.get("file", ""))
        if not name:
            continue
        url = next(
            (row[c] for c in columns if "url" in c and row.get(c, "").startswith("http")), None
        )
        entries[name] = CatalogEntry(
            title=_title(row.get("title", "")),
            url=url,
            body=_plain(row.get("body", "")) or None,
            doc_type=_plain(row.get("type", "")) or None,
            date=_iso(_plain(row.get("date", ""))),
            symbol=_plain(row.get("symbol", "")) or None,
        )
    return entries
