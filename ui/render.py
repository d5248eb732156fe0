"""Turning answers into HTML and Markdown for the chat: every piece of document text escaped.

Documents may hold markup and scripts, so nothing from them reaches a page unescaped; links are
kept only when they are http(s) or relative.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

from assistant import Answer, Citation, display_date, injected_spans

__all__ = [
    "ABSTAINED_LABEL",
    "SOURCES_PLACEHOLDER",
    "answer_markdown",
    "answer_text",
    "conversation_markdown",
    "flagged_sentences",
    "md_text",
    "sources_html",
    "trace_html",
]

ABSTAINED_LABEL = "Not in the library"
SOURCES_PLACEHOLDER = '<p class="pa-empty">The passages an answer cites appear here.</p>'
_MD_SPECIAL = re.compile(r"([\\`*_~$|])")


# --- formatting ---------------------------------------------------------------------------------
def md_text(text: str) -> str:
    """Document text made safe for the Chatbot's Markdown: shown as written, never as markup."""
    text = _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
    text = text.replace("](", "]\\(").replace("![", "!\\[")
    return re.sub(r"(?m)^(\s*)([#>+\-]|\d+[.)])", r"\1\\\2", text)


def answer_markdown(answer: dict[str, Any], *, final: bool = True) -> str:
    """What the chat shows for an answer (``Answer.as_json()``): the text, then its sources."""
    text = md_text(answer["answer"]) + ("" if final else " …")
    if answer["abstained"]:
        text = f"⚠️ **{ABSTAINED_LABEL}.**\n\n> " + text.replace("\n", "\n> ")
    if final and answer["citations"]:
        heading = "Closest passages" if answer["abstained"] else "Sources"
        labels = "  \n".join(md_text(c.label()) for c in Answer.from_json(answer).citations)
        text += f"\n\n*{heading}:*  \n{labels}"
    return text


def answer_text(answer: dict[str, Any]) -> str:
    """The plain text the API endpoint returns: the answer, then ``[n] title, p. X, locator``."""
    return Answer.from_json(answer).to_text()


FLAGGED_TITLE = "This sentence addresses AI systems; the assistant ignores it."


def flagged_sentences(answer: dict[str, Any]) -> dict[str, list[str]]:
    """Citation number -> the sentences of its quote addressed to AI systems (for the embed
    page, which flags them as the sources panel does)."""
    out: dict[str, list[str]] = {}
    for c in answer.get("citations", []):
        quote = c.get("quote") or ""
        found = [quote[a:b] for a, b in injected_spans(quote)]
        if found:
            out[str(c["n"])] = found
    return out


def highlight(citation: Citation, sentences: list[str]) -> str:
    """The quote as escaped HTML with the cited sentences in ``<mark>`` and sentences addressed
    to AI systems flagged (the reader sees what the assistant was told to ignore)."""
    quote = citation.quote
    marked = [(*s, "mark") for s in (citation.span_of(x) for x in sentences) if s]
    flagged = [(*s, "flag") for s in injected_spans(quote)]
    out, pos = [], 0
    for start, end, kind in sorted(marked + flagged):
        if start < pos:
            continue
        opening = (
            "<mark>"
            if kind == "mark"
            else f'<span class="pa-flagged" title="{html.escape(FLAGGED_TITLE)}">⚠ '
        )
        closing = "</mark>" if kind == "mark" else "</span>"
        out += [html.escape(quote[pos:start]), opening, html.escape(quote[start:end]), closing]
        pos = end
    out.append(html.escape(quote[pos:]))
    return "".join(out)


def _safe_href(url: str) -> str | None:
    """Only links into this app or to http(s) pages (never ``javascript:`` and the like)."""
    if url.startswith(("http://", "https://")) or (url.startswith("/") and url[1:2] != "/"):
        return url
    return None


def sources_html(answer: dict[str, Any] | None) -> str:
    """The sources panel: each citation's title, page, locator, quote (cited part marked), link."""
    if not answer or not answer["citations"]:
        return SOURCES_PLACEHOLDER
    parsed = Answer.from_json(answer)
    cited = parsed.cited_sentences()
    items = []
    for c in parsed.citations:
        where = html.escape(c.where())
        title = html.escape(c.title)
        href = _safe_href(c.url)
        at_page = f" at p. {c.page}" if c.page else ""
        link = (
            f'<a class="pa-open" href="{html.escape(href)}" target="_blank" '
            f'rel="noopener noreferrer">Open the document{at_page} ↗</a>'
            if href
            else ""
        )
        items.append(
            f'<li class="pa-source" id="pa-source-{c.n}">'
            f'<div class="pa-source-head"><span class="pa-n">[{c.n}]</span>{title}'
            + (f' <span class="pa-where">· {where}</span>' if where else "")
            + f"</div>{_issued_html(c)}"
            f"<blockquote>{highlight(c, cited.get(c.n, []))}</blockquote>"
            f"{link}</li>"
        )
    notice = (
        f'<p class="pa-abstained"><strong>{ABSTAINED_LABEL}.</strong> These are the closest '
        "passages found; they do not answer the question.</p>"
        if answer["abstained"]
        else ""
    )
    heading = "Closest passages" if answer["abstained"] else "Sources"
    return f'<div class="pa-sources">{notice}<h3>{heading}</h3><ol>{"".join(items)}</ol></div>'


def _issued_html(c: Citation) -> str:
    """ "A/RES/78/16 · UN General Assembly · 4 December 2023 · resolution" under the title."""
    parts = [p for p in (c.symbol, c.body, display_date(c.date), c.doc_type) if p]
    if not parts:
        return ""
    return f'<div class="pa-issued">{html.escape(" · ".join(parts))}</div>'


TRACE_PLACEHOLDER = (
    '<p class="pa-empty">Choose a source above to see where else the library carries its '
    "wording.</p>"
)


def trace_html(traces: list[dict[str, Any]]) -> str:
    """Traces (``Trace.as_json()``, one a paragraph of the chosen passage) as timelines: each
    match's date, citation and similarity, and its wording with what it removed (struck
    through) and added (underlined) against the traced paragraph."""
    if not traces:
        return (
            '<div class="pa-trace"><p class="pa-empty">No other document in the library carries '
            "the wording of this passage.</p></div>"
        )
    selected = traces[0].get("selected")
    head = (
        f"<p>Wording of <strong>{html.escape(Citation.from_json(selected).label()[4:])}</strong>"
        "</p>"
        if selected
        else ""
    )
    legend = (
        '<p class="pa-legend"><del>struck through</del>: in the traced passage only; '
        "<ins>underlined</ins>: in the other document only.</p>"
    )
    parts = []
    for traced in traces:
        quoted = " ".join(traced["text"].split())
        quoted = quoted if len(quoted) <= 220 else quoted[:220] + "…"
        parts.append(
            f'<p class="pa-paragraph">“{html.escape(quoted)}”</p>{_timeline(traced["matches"])}'
        )
    return f'<div class="pa-trace">{head}{legend}{"".join(parts)}</div>'


def _timeline(matches: list[dict[str, Any]]) -> str:
    items = []
    for m in matches:
        c = Citation.from_json(m)
        when = html.escape(display_date(c.date) or "undated")
        words = []
        for part in m["diff"]:
            text = html.escape(part["text"])
            tag = {"removed": "del", "added": "ins"}.get(part["op"])
            words.append(f"<{tag}>{text}</{tag}>" if tag else text)
        href = _safe_href(c.url)
        link = (
            f' <a class="pa-open" href="{html.escape(href)}" target="_blank" '
            'rel="noopener noreferrer">Open ↗</a>'
            if href
            else ""
        )
        share = round(100 * float(m["similarity"]))
        items.append(
            f'<li class="pa-match"><div class="pa-when">{when}</div>'
            f'<div class="pa-source-head">{html.escape(c.label()[len(f"[{c.n}] ") :])}'
            f' <span class="pa-where">· {share}% the same</span>{link}</div>'
            f'<blockquote class="pa-diff">{" ".join(words)}</blockquote></li>'
        )
    return f"<ol>{''.join(items)}</ol>"


def conversation_markdown(records: list[dict[str, Any]], public_url: str = "") -> str:
    """The conversation as a Markdown document (what Export downloads)."""
    lines = [
        "# Conversation with the policy library",
        "",
        f"Exported {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
    ]
    for i, record in enumerate(records, start=1):
        # every text from a visitor or a document is escaped as on the page: a Markdown viewer
        # must not run a document's <script> or follow its made-up links
        answer = record["answer"]
        lines += ["", f"## {i}. {md_text(record['question'])}", ""]
        text = md_text(answer["answer"])
        lines.append(f"**{ABSTAINED_LABEL}.** {text}" if answer["abstained"] else text)
        if answer["citations"]:
            lines += ["", "Sources:", ""]
        for c in Answer.from_json(answer).citations:
            url = c.url if c.url.startswith("http") else public_url.rstrip("/") + c.url
            href = _safe_href(url)
            label = md_text(c.label())
            lines.append(f"- {label} <{html.escape(href)}>" if href else f"- {label}")
            quote = [f"  > {md_text(line)}" for line in c.quote.splitlines() if line.strip()]
            lines += ["", *quote, ""]
    return "\n".join(lines).rstrip() + "\n"
