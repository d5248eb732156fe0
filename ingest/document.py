"""What readers produce: a document as a flat sequence of blocks (paragraphs and headings)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Block", "ParsedDocument"]


@dataclass
class Block:
    """A paragraph or a heading, with the PDF page it is on."""

    text: str
    page: int | None = None
    heading_level: int = 0  # 0: body text; 1-6: a heading of that level


@dataclass
class ParsedDocument:
    """A document read from a file, before chunking."""

    title: str
    kind: str  # pdf, html, md, txt, docx
    blocks: list[Block]
    pages: int | None = None
    notes: list[str] = field(default_factory=list)  # e.g. "2 pages without text were skipped"
    date: str | None = None  # ISO, when the file states it (a Markdown file's front matter)
    ocr_pages: frozenset[int] = frozenset()  # PDF pages whose text was read by OCR
