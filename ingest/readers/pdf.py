"""PDF files with pypdf: text per page (page numbers kept), paragraphs rebuilt from lines.

Text is repaired as it is read: words hyphenated across line breaks are joined again and
footnote numbers are detached from the words they were glued to, so quotes read as the page
does and BM25 sees whole words. Running headers and footers (lines that recur at the top or bottom of many pages once digits are
ignored) are dropped. An encrypted PDF is opened with the empty password when it allows it.
Pages without a text layer are read by OCR when Tesseract is installed (``ocr.py``).
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from pathlib import Path

from ..document import Block, ParsedDocument
from ..errors import EmptyDocumentError, EncryptedDocumentError, UnreadableDocumentError

__all__ = ["read_pdf"]

_PARAGRAPH_START = re.compile(
    r"^(\d{1,3}\.\s|\(\w{1,4}\)\s|[•▪●◦\-–]\s|(Article|Chapter|Part|Section|Annex)\b)"
)
# "discus -" + "sion": pypdf keeps a line-break hyphen with a space before it
_BROKEN_AT_LINE_END = re.compile(r"[A-Za-z]*[a-z] -$")
# a footnote number glued to the end of a sentence or clause ("negotiations.33", "use.3")
_FOOTNOTE_MARK = re.compile(r"(?<=[a-z)’”][.,;:])\d{1,3}(?=\s|$)")
# a footnote's own number glued to its first word ("18Association for …")
_FOOTNOTE_START = re.compile(r"^(\d{1,3})(?=[A-Z][a-z])")
_HEADER_ZONE = 8
_FOOTER_ZONE = 4


def _shape(line: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", line.strip().lower()))


def _running_lines(pages: list[list[str]]) -> set[str]:
    """Line shapes that recur in the header or footer zone of at least 40% of the pages."""
    if len(pages) < 3:
        return set()
    counts: Counter[str] = Counter()
    for lines in pages:
        zone = lines[:_HEADER_ZONE] + lines[-_FOOTER_ZONE:]
        counts.update({_shape(line) for line in zone if line.strip()})
    return {shape for shape, n in counts.items() if n >= max(2, 0.4 * len(pages))}


def _paragraphs(lines: list[str]) -> list[str]:
    """Join lines into paragraphs: a blank line, an indent, a numbering or a short line that
    ends a sentence closes one."""
    widths = sorted(len(line.strip()) for line in lines if line.strip())
    full = widths[int(len(widths) * 0.75)] if widths else 0
    paragraphs: list[str] = []
    current = ""
    previous = ""
    for raw in lines:
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            if current:
                paragraphs.append(current)
            current = previous = ""
            continue
        indented = line[:1].isspace()
        ended = previous.endswith((".", ":", ";", "!", "?")) and len(previous) < 0.8 * full
        if current and (indented or ended or _PARAGRAPH_START.match(stripped)):
            paragraphs.append(current)
            current = ""
        if current.endswith("-") and not current.endswith(" -") and stripped[:1].islower():
            current = current[:-1] + stripped
        elif stripped[:1].islower() and _BROKEN_AT_LINE_END.search(current):
            current = current[:-2] + stripped
        else:
            current = f"{current} {stripped}" if current else stripped
        previous = stripped
    if current:
        paragraphs.append(current)
    return [repaired(re.sub(r"\s+", " ", p).strip()) for p in paragraphs if p.strip()]


def repaired(paragraph: str) -> str:
    """A paragraph without footnote numbers glued to its words: markers after a full stop or
    comma go, a footnote's own number is set apart from its first word. Page numbers are kept
    (they are the blocks' ``page``)."""
    return _FOOTNOTE_START.sub(r"\1 ", _FOOTNOTE_MARK.sub("", paragraph))


def read_pdf(path: Path, data: bytes, ocr: bool = True) -> ParsedDocument:
    """``ocr``: read pages without a text layer with Tesseract when it is installed."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception as exc:
                raise EncryptedDocumentError(f"encrypted PDF that cannot be opened: {exc}") from exc
            if not ok:
                raise EncryptedDocumentError("encrypted PDF: a password is needed to read it")
        page_lines = [(page.extract_text() or "").split("\n") for page in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except (EncryptedDocumentError, EmptyDocumentError):
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise UnreadableDocumentError(f"corrupt or unreadable PDF: {exc}") from exc
    if not page_lines:
        raise UnreadableDocumentError("corrupt or unreadable PDF: no pages")

    from . import ocr as tesseract

    ocr_pages: set[int] = set()
    if ocr and tesseract.available():
        for number, lines in enumerate(page_lines, start=1):
            if not "".join(lines).strip():
                text = tesseract.read_page(reader.pages[number - 1])
                if text.strip():
                    page_lines[number - 1] = text.split("\n")
                    ocr_pages.add(number)
    running = _running_lines(page_lines)
    blocks: list[Block] = []
    empty_pages = 0
    for number, lines in enumerate(page_lines, start=1):
        kept = [
            line
            for i, line in enumerate(lines)
            if not (
                (i < _HEADER_ZONE or i >= len(lines) - _FOOTER_ZONE) and _shape(line) in running
            )
        ]
        paragraphs = _paragraphs(kept)
        if not paragraphs:
            empty_pages += 1
        blocks.extend(Block(p, page=number) for p in paragraphs)
    if not blocks:
        raise EmptyDocumentError("PDF without a text layer (scanned images?): nothing to index")
    notes = [f"{empty_pages} page(s) without text skipped"] if empty_pages else []
    if ocr_pages:
        notes.append(f"{len(ocr_pages)} page(s) without a text layer read by OCR")
    title = meta_title.strip() if 5 <= len(meta_title.strip()) <= 200 else ""
    return ParsedDocument(
        title=title or path.stem.replace("-", " ").replace("_", " "),
        kind="pdf",
        blocks=blocks,
        pages=len(page_lines),
        notes=notes,
        ocr_pages=frozenset(ocr_pages),
    )
