"""Readers turn a file's bytes into a ParsedDocument; one module per format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..document import ParsedDocument
from ..errors import UnsupportedTypeError

__all__ = ["SUPPORTED_SUFFIXES", "read_document", "unsupported_type"]


def _reader(suffix: str) -> Callable[[Path, bytes], ParsedDocument]:
    if suffix == ".pdf":
        from .pdf import read_pdf

        return read_pdf
    if suffix in (".html", ".htm"):
        from .html import read_html

        return read_html
    if suffix in (".md", ".markdown"):
        from .markdown import read_markdown

        return read_markdown
    if suffix == ".txt":
        from .plaintext import read_text

        return read_text
    if suffix == ".docx":
        from .docx import read_docx

        return read_docx
    raise UnsupportedTypeError(unsupported_type(suffix))


def unsupported_type(suffix: str) -> str:
    """The one-line reason for a file type the readers do not take."""
    return f"unsupported file type {suffix or '(none)'}: use PDF, HTML, Markdown, TXT or DOCX"


SUPPORTED_SUFFIXES = frozenset({".pdf", ".html", ".htm", ".md", ".markdown", ".txt", ".docx"})


def read_document(path: Path, data: bytes, *, ocr: bool = True) -> ParsedDocument:
    """Parse ``data`` (the bytes of ``path``) with the reader for its file type, once its content
    is known to match that type (``ContentMismatchError`` otherwise). ``ocr``: a PDF's pages
    without text are read by OCR when Tesseract is installed."""
    from .sniff import check_content

    suffix = path.suffix.lower()
    reader = _reader(suffix)
    if data[:4096].strip() or data.strip():  # an empty file gets the reader's "empty" error
        check_content(suffix, data)
    if suffix == ".pdf":
        from .pdf import read_pdf

        return read_pdf(path, data, ocr=ocr)
    return reader(path, data)
