"""Word documents (python-docx): heading styles become headings; tables are read row by row.

A DOCX is a zip archive: its declared uncompressed size is checked before it is opened, so a
zip bomb is refused instead of filling memory (and zipfile never inflates a part past its declared
size, so forged sizes end in a checksum error). A zip that holds no Word document (an .xlsx, a
.pptx, an .odt or a plain zip renamed .docx) is refused naming what it is.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from ..document import Block, ParsedDocument
from ..errors import ContentMismatchError, EmptyDocumentError, UnreadableDocumentError

__all__ = ["read_docx"]

MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 200


_CONTENT_TYPES = "[Content_Types].xml"
_WORD_MAIN = b"wordprocessingml.document.main"
# What a zip archive that is not a Word document is, by a file it holds
_OTHER_PACKAGES = (
    ("xl/workbook.xml", "an Excel workbook (.xlsx)"),
    ("ppt/presentation.xml", "a PowerPoint presentation (.pptx)"),
    ("content.xml", "an OpenDocument file (.odt, .ods or .odp)"),
)


def _check_archive(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            total = sum(i.file_size for i in infos)
            if total > MAX_UNCOMPRESSED or total > MAX_RATIO * max(len(data), 1):
                raise UnreadableDocumentError(
                    f"DOCX refused: it would expand to {total // (1024 * 1024)} MiB (zip bomb?)"
                )
            names = {i.filename for i in infos}
            is_word = "word/document.xml" in names or (
                _CONTENT_TYPES in names and _WORD_MAIN in archive.open(_CONTENT_TYPES).read(2**20)
            )
    except (zipfile.BadZipFile, ValueError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise UnreadableDocumentError("corrupt DOCX: not a valid zip archive") from exc
    if not is_word:
        what = next((kind for name, kind in _OTHER_PACKAGES if name in names), "a zip archive")
        raise ContentMismatchError(
            f"the content does not match the .docx extension: the file is {what}, "
            "not a Word document"
        )


def read_docx(path: Path, data: bytes) -> ParsedDocument:
    _check_archive(data)
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        # BadZipFile: a part's data does not match its declared size or checksum (zipfile never
        # inflates past the declared size, so a forged header cannot fill memory)
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise UnreadableDocumentError(f"corrupt DOCX: {reason}") from exc
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
