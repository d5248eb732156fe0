"""Finding a document's own structure: sections, articles, numbered paragraphs, recitals, points.

``annotate`` walks the blocks in order and gives each one a section (chunks never cross a section
or a page) and a locator a reader can look up: "Article 23(4)(a)", "paragraph 13", "recital 12",
or the heading of the section it is in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .document import Block

__all__ = ["AnnotatedBlock", "annotate"]

_ARTICLE = re.compile(r"^(?:Article|ARTICLE|Art\.)\s+(\d{1,3}[a-z]?)\b")
_DIVISION = re.compile(
    r"^(?:Chapter|CHAPTER|Part|PART|Section|SECTION|Title|TITLE|Annex|ANNEX)(?:\s+[IVXLC\d]+[A-Z]?)?\b"
)
_NUMBERED = re.compile(r"^(\d{1,3})\.(?:\s+|$)")
_BRACKETED_NUMBER = re.compile(r"^\((\d{1,3})\)(?:\s+|$)")
_POINT = re.compile(r"^\(([a-z]{1,2}|[ivx]{1,5})\)(?:\s+|$)")
_MAX_HEADING_CHARS = 90


@dataclass
class AnnotatedBlock:
    """A block with the section it belongs to and its locator."""

    text: str
    page: int | None
    section: int  # blocks of one section share this number
    heading: str | None  # the heading of that section, if any
    locator: str | None
    paragraph_start: bool  # the block opens a numbered paragraph, recital or article
    is_heading: bool


def _short(heading: str) -> str:
    heading = heading.strip()
    return (
        heading if len(heading) <= _MAX_HEADING_CHARS else heading[: _MAX_HEADING_CHARS - 1] + "…"
    )


def annotate(blocks: list[Block]) -> list[AnnotatedBlock]:
    out: list[AnnotatedBlock] = []
    section = 0
    heading: str | None = None
    article: str | None = None
    article_level = 0
    paragraph: str | None = None  # "13" or "4"
    recitals = False
    pending_point: str | None = (
        None  # a point label standing alone, e.g. "(a)", labels the next block
    )

    def base() -> str | None:
        if article and paragraph:
            return f"{article}({paragraph})"
        if article:
            return article
        if paragraph:
            prefix = f"{_short(heading)}, " if heading and not recitals else ""
            return f"{prefix}{'recital' if recitals else 'paragraph'} {paragraph}"
        return _short(heading) if heading else None

    for block in blocks:
        text = block.text.strip()
        article_match = _ARTICLE.match(text)
        standalone_article = article_match and not block.heading_level and len(text) <= 40
        division = not block.heading_level and len(text) <= 80 and _DIVISION.match(text)
        if block.heading_level or standalone_article or division:
            level = block.heading_level or 3
            section += 1
            if article_match:
                article, article_level = f"Article {article_match.group(1)}", level
            elif article and level > article_level:
                pass  # a sub-heading inside an article
            else:
                article = None
            heading = text
            paragraph = None
            recitals = bool(re.search(r"\brecitals?\b", text, re.I))
            out.append(AnnotatedBlock(text, block.page, section, heading, base(), True, True))
            continue

        start = False
        if pending_point and not (_NUMBERED.match(text) or _POINT.match(text)):
            out.append(
                AnnotatedBlock(text, block.page, section, heading, pending_point, False, False)
            )
            pending_point = None
            continue
        pending_point = None
        numbered = _NUMBERED.match(text) or (
            _BRACKETED_NUMBER.match(text) if recitals or not article else None
        )
        if numbered:
            paragraph, start = numbered.group(1), True
            locator = base()
        else:
            point = _POINT.match(text)
            locator = f"{base()}({point.group(1)})" if point and (article or paragraph) else base()
            if point and len(text) <= 6:
                pending_point = locator
        out.append(AnnotatedBlock(text, block.page, section, heading, locator, start, False))
    return out
