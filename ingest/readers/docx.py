"""Word documents (python-docx): heading styles become headings; tables are read row by row.

A DOCX is a zip archive: its declared uncompressed size is checked before it is opened, so a
zip bomb is refused instead of filling memory.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from ..document import Block, ParsedDocument
from ..errors import EmptyDocumentError, UnreadableDocumentError

__all__ = ["read_docx"]

MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 200


def _check_archive(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise UnreadableDocumentError("corrupt DOCX: not a valid zip archive") from exc
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED or total > MAX_RATIO * max(len(data), 1):
        raise UnreadableDocumentError(
            f"DOCX refused: it would expand to {total // (1024 * 1024)} MiB (zip bomb?)"
        )


def read_docx(path: Path, data: bytes) -> ParsedDocument:
    _check_archive(data)
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise UnreadableDocumentError(f"corrupt DOCX: {exc}") from exc
    blocks: list[Block] = []
    title = (document.core_properties.title or "").strip() or None
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = docx.text.paragraph.Paragraph(child, document)
            text = re.sub(r"\s+", " ", para.text).strip()
            if not text:
                continue
            style = (para.style.name if para.style is not None else "") or ""
            level = 0
            if style == "Title":
                level = 1
                title = title or text
            elif style.startswith("Heading"):
                digits = style.removeprefix("Heading").strip()
                level = int(digits) if digits.isdigit() else 2
            blocks.append(Block(text, heading_level=min(level, 6)))
        elif tag == "tbl":
            table = docx.table.Table(child, document)
            for row in table.rows:
                cells = [re.sub(r"\s+", " ", c.text).strip() for c in row.cells]
                row_text = " | ".join(dict.fromkeys(c for c in cells if c))
                if row_text:
                    blocks.append(Block(row_text))
    if not any(not b.heading_level for b in blocks):
        raise EmptyDocumentError("the document has no text")
    return ParsedDocument(
        title=title or path.stem.replace("-", " ").replace("_", " "), kind="docx", blocks=blocks
    )
