"""Plain-text files: paragraphs separated by blank lines (or one paragraph a line)."""

from __future__ import annotations

import re
from pathlib import Path

from ..document import Block, ParsedDocument
from ..errors import EmptyDocumentError
from .decoding import decode_text

__all__ = ["read_text", "split_paragraphs"]


def split_paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, inner line breaks folded to spaces."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = re.split(r"\n\s*\n", text)
    return [re.sub(r"[ \t]*\n[ \t]*", " ", p).strip() for p in paragraphs if p.strip()]


def read_text(path: Path, data: bytes) -> ParsedDocument:
    text = decode_text(data)
    paragraphs = split_paragraphs(text)
    if not paragraphs:
        raise EmptyDocumentError("the file has no text")
    first = paragraphs[0]
    title = first if len(first) <= 150 else path.stem.replace("-", " ").replace("_", " ")
    return ParsedDocument(title=title, kind="txt", blocks=[Block(p) for p in paragraphs])
