"""Markdown files: YAML front matter for the title, ``#`` headings, paragraphs; HTML tags dropped."""

from __future__ import annotations

import html
import re
from pathlib import Path

from ..document import Block, ParsedDocument
from ..errors import EmptyDocumentError
from .decoding import decode_text

__all__ = ["parse_markdown", "read_markdown"]

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")  # closing #s are stripped in code
_TAG = re.compile(r"<[^>\n]{0,200}>")
# A scan never runs past the next bracket, so text with thousands of unclosed brackets is read
# in linear time (a scan up to any ``]`` or ``)`` made it quadratic: a 20 KB file took minutes).
_IMAGE = re.compile(r"!\[[^\[\]]*\]\([^)\[\]]*\)|<image redacted[^<>]*>")
_LINK = re.compile(r"\[([^\[\]]+)\]\((?:[^)\s\[\]]+)(?:\s+\"[^\"\[\]]*\")?\)")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|])")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_ITALIC = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_LIST_ITEM = re.compile(r"^\s*([-*+]|\d{1,3}[.)])\s+")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _clean(text: str) -> str:
    text = _IMAGE.sub("", text)
    text = _TAG.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = _ITALIC.sub(r"\1", text)
    text = _ESCAPE.sub(r"\1", text)
    text = html.unescape(text).replace("\u00a0", " ")
    return re.sub(r"[ \t]+", " ", text).strip()


def _front_matter_title(front: str) -> str | None:
    m = re.search(r"^title:\s*(.+)$", front, re.M)
    if not m:
        return None
    value = m.group(1).strip()
    if value[:1] in "\"'" and value[-1:] == value[:1]:
        value = value[1:-1]
    # YAML escapes seen in the wild: "\_" (no-break space) and "\""
    return _clean(value.replace("\\_", " ").replace('\\"', '"'))


def front_matter_date(text: str) -> str | None:
    """The ISO ``date:`` of the YAML front matter, if it has one."""
    m = _FRONT_MATTER.match(text)
    found = m and re.search(r"^date:\s*['\"]?(\d{4}-\d{2}-\d{2})\b", m.group(1), re.M)
    return found.group(1) if found else None


def parse_markdown(text: str) -> tuple[str | None, list[Block]]:
    """(title from front matter or first H1, blocks)."""
    title = None
    m = _FRONT_MATTER.match(text)
    if m:
        title = _front_matter_title(m.group(1))
        text = text[m.end() :]
    blocks: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            cleaned = _clean(" ".join(para))
            if cleaned:
                blocks.append(Block(cleaned))
            para.clear()

    for line in text.replace("\r\n", "\n").split("\n"):
        heading = _HEADING.match(line)
        if heading:
            flush()
            level = len(heading.group(1))
            content = _clean(heading.group(2).rstrip().rstrip("#"))
            if content:
                blocks.append(Block(content, heading_level=level))
                if level == 1 and title is None:
                    title = content
        elif not line.strip() or _TABLE_RULE.match(line):
            flush()
        elif line.lstrip().startswith("|"):  # a table row is a paragraph of its own
            flush()
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            row = _clean(" | ".join(c for c in cells if c))
            if row:
                blocks.append(Block(row))
        else:
            if _LIST_ITEM.match(line):  # each list item is a paragraph of its own
                flush()
            para.append(line.strip())
    flush()
    return title, blocks


def read_markdown(path: Path, data: bytes) -> ParsedDocument:
    text = decode_text(data)
    title, blocks = parse_markdown(text)
    if not any(not b.heading_level for b in blocks):
        raise EmptyDocumentError("the file has no text")
    return ParsedDocument(
        title=title or path.stem.replace("-", " ").replace("_", " "),
        kind="md",
        blocks=blocks,
        date=front_matter_date(text),
    )
