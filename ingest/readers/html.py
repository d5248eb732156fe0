"""HTML pages: main content only (trafilatura), no navigation, scripts, styles or frames."""

from __future__ import annotations

import re
from pathlib import Path

from ..document import ParsedDocument
from ..errors import EmptyDocumentError
from .decoding import decode_text
from .markdown import parse_markdown

__all__ = ["read_html"]

_DROP = (
    "script",
    "style",
    "noscript",
    "iframe",
    "object",
    "embed",
    "nav",
    "header",
    "footer",
    "form",
    "template",
    "svg",
    "canvas",
    "aside",
)


def _fallback_markdown(markup: str) -> str:
    """Headings and paragraphs of <body> minus chrome, for pages too small for trafilatura."""
    import lxml.html

    root = lxml.html.fromstring(markup)
    for bad in root.xpath("|".join(f"//{tag}" for tag in _DROP)):
        bad.drop_tree()
    parts = []
    for el in root.iter("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "pre", "blockquote"):
        text = re.sub(r"\s+", " ", el.text_content()).strip()
        if text:
            parts.append(
                f"{'#' * int(el.tag[1])} {text}"
                if el.tag[0] == "h" and el.tag[1:].isdigit()
                else text
            )
    return "\n\n".join(parts)


def _page_title(markup: str) -> str | None:
    # [^<] rather than .*?: one scan per <title> up to the next tag, linear on hostile markup
    m = re.search(r"<title\b[^<>]*>([^<]*)</title>", markup, re.I)
    if not m:
        return None
    import html as html_lib

    return (
        re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", "", m.group(1)))).strip() or None
    )


def read_html(path: Path, data: bytes) -> ParsedDocument:
    import trafilatura

    markup = decode_text(data)
    extracted = trafilatura.extract(
        markup,
        output_format="markdown",
        include_tables=True,
        include_comments=False,
        include_images=False,
        include_links=False,
        favor_recall=True,
    )
    md = extracted if extracted and len(extracted) > 200 else _fallback_markdown(markup)
    md_title, blocks = parse_markdown(md)
    if not any(not b.heading_level for b in blocks):
        raise EmptyDocumentError("the page has no main text")
    title = _page_title(markup) or md_title or path.stem.replace("-", " ").replace("_", " ")
    return ParsedDocument(title=title, kind="html", blocks=blocks, date=_published(markup))


def _published(markup: str) -> str | None:
    """The publication date the page's markup states (meta tags, <time>, structured data);
    htmldate without its extensive search, which guesses from dates anywhere in the text."""
    try:
        from htmldate import find_date

        found = find_date(
            markup, extensive_search=False, original_date=True, outputformat="%Y-%m-%d"
        )
    except Exception:  # a page htmldate cannot read has no date, not a failed ingest
        return None
    return found or None
