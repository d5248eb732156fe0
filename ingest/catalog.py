"""The corpus catalogue: titles and original links for documents, read from SOURCES.md tables."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CatalogEntry", "read_catalog"]


@dataclass(frozen=True)
class CatalogEntry:
    title: str | None
    url: str | None


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _plain(cell: str) -> str:
    cell = re.sub(r"\*\*(.+?)\*\*", r"\1", cell)
    return cell.strip("` ").strip()


def _title(cell: str) -> str | None:
    """The title cell without a trailing page count ("(4 pp.)", ", 4 pages")."""
    title = re.sub(r"(\s*\(\d+\s*pp\.\)|,\s*\d+\s*pages)$", "", _plain(cell))
    return title or None


def read_catalog(path: Path) -> dict[str, CatalogEntry]:
    """Entries keyed by file name, from every Markdown table with a ``file`` and a ``title`` column.

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
        entries[name] = CatalogEntry(title=_title(row.get("title", "")), url=url)
    return entries
