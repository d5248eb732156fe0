"""Packing annotated blocks into chunks that fit the embedding model's window.

A chunk never crosses a section or a PDF page, starts a new numbered paragraph once it holds
``min_tokens``, and its embedded text (title, section, passage) stays within ``max_tokens`` of
the model's own tokenizer. A block too long for one chunk is split at sentences, and a sentence
too long at token boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vectorstore.text import split_sentences

from .structure import AnnotatedBlock

__all__ = ["CHUNKER_VERSION", "ChunkingConfig", "DraftChunk", "embedding_text", "pack"]

# Bump when a change to the readers, structure or packing cuts the same file differently:
# ingest then re-chunks (and re-embeds) documents cut by another version.
# 2: a short lead-in opens the first piece of the long block after it.
# 3: cut points from the shared sentence splitter (abbreviations, acronyms ending a sentence);
#    PDF text repaired as read (line-break hyphens, footnote numbers).
CHUNKER_VERSION = "3"


@dataclass(frozen=True)
class ChunkingConfig:
    max_tokens: int = 200
    min_tokens: int = 48


@dataclass
class DraftChunk:
    """A chunk before it gets ids: the passage, its page, locator and section heading."""

    text: str
    page: int | None
    locator: str | None
    heading: str | None


def embedding_text(title: str, heading: str | None, locator: str | None, text: str) -> str:
    """What the model embeds: the passage under its document title and section."""
    context = heading or ""
    if locator and locator not in context:
        context = f"{context} — {locator}" if context else locator
    return "\n".join(p for p in (title, context, text) if p)


def _merge_locators(first: str | None, last: str | None) -> str | None:
    """'Article 23(1)' + 'Article 23(3)(b)' -> 'Article 23(1)–(3)'; 'paragraph 3' + 'paragraph 5' ->
    'paragraph 3–5'."""
    if not first or not last or first == last:
        return first or last
    a = re.match(r"^(.*?)(\d+)(?:\(([^)]+)\))?(?:\(([^)]+)\))?$", first)
    b = re.match(r"^(.*?)(\d+)(?:\(([^)]+)\))?(?:\(([^)]+)\))?$", last)
    if not a or not b or a.group(1) != b.group(1):
        return first
    if a.group(2) != b.group(2):
        return f"{a.group(1)}{a.group(2)}–{b.group(2)}" if not a.group(3) else first
    if a.group(3) and b.group(3) and a.group(3) != b.group(3):
        return f"{a.group(1)}{a.group(2)}({a.group(3)})–({b.group(3)})"
    return f"{a.group(1)}{a.group(2)}" + (f"({a.group(3)})" if a.group(3) else "")


def _split_long(
    text: str,
    budget: int,
    count: Callable[[str], int],
    tokenizer,
    first_budget: int | None = None,
) -> list[str]:
    """Pieces of ``text`` of at most ``budget`` tokens each, cut at sentences where possible.

    With ``first_budget`` the first piece gets at most that many (it joins text already in the
    chunk); when not even one sentence fits it, the first piece is empty.
    """

    def fits(text: str, limit: int) -> bool:
        # a text of more than 16 characters a token cannot fit: not tokenised whole (memory)
        return len(text) <= limit * 16 and count(text) <= limit

    pieces: list[str] = []
    current = ""
    limit = budget if first_budget is None else min(first_budget, budget)
    for sentence in split_sentences(text, ends=".;:!?"):
        candidate = f"{current} {sentence}".strip()
        if fits(candidate, limit):
            current = candidate
            continue
        if current or (not pieces and limit < budget):
            pieces.append(current)
        limit = budget
        if fits(sentence, budget):
            current = sentence
        else:
            pieces.extend(_split_tokens(sentence, budget, tokenizer))
            current = ""
    if current:
        pieces.append(current)
    return pieces


TOKENIZE_SLICE_CHARS = 50_000  # tokenising a 15 MB "sentence" at once took 1.9 GB


def _split_tokens(text: str, budget: int, tokenizer) -> list[str]:
    """Pieces of ``text`` of at most ``budget - 8`` tokens; the text is tokenised in slices of
    about ``TOKENIZE_SLICE_CHARS`` characters (cut at a space where there is one), so memory
    stays bounded however long the text is."""
    pieces: list[str] = []
    while text:
        cut = len(text)
        if cut > TOKENIZE_SLICE_CHARS:
            space = text.rfind(" ", TOKENIZE_SLICE_CHARS // 2, TOKENIZE_SLICE_CHARS)
            cut = space if space > 0 else TOKENIZE_SLICE_CHARS
        part, text = text[:cut], text[cut:]
        pieces.extend(_split_slice(part, budget, tokenizer))
    return pieces


def _split_slice(text: str, budget: int, tokenizer) -> list[str]:
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    offsets = enc["offset_mapping"]
    pieces = []
    step = max(budget - 8, 1)
    for start in range(0, len(offsets), step):
        window = offsets[start : start + step]
        begin = window[0][0] if start else 0
        end = offsets[start + step][0] if start + step < len(offsets) else len(text)
        piece = text[begin:end].strip()
        if piece:
            pieces.append(piece)
    return pieces


def pack(
    blocks: Sequence[AnnotatedBlock],
    title: str,
    config: ChunkingConfig,
    tokenizer,
) -> list[DraftChunk]:
    """Chunks for one document; ``tokenizer`` is the embedding model's (a HF fast tokenizer)."""

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    # a block of more than 16 characters a token is over any budget: its length is not
    # needed, and tokenising a block of megabytes whole would cost gigabytes
    too_long = config.max_tokens * 16
    short = [b.text for b in blocks if len(b.text) <= too_long]
    counted = iter(
        [len(ids) for ids in tokenizer(short, add_special_tokens=False)["input_ids"]]
        if short
        else []
    )
    lengths = [next(counted) if len(b.text) <= too_long else too_long for b in blocks]
    chunks: list[DraftChunk] = []
    current: list[AnnotatedBlock] = []
    current_tokens = 0
    header_cache: dict[tuple[str | None, str | None], int] = {}

    def header_tokens(block: AnnotatedBlock) -> int:
        key = (block.heading, block.locator)
        if key not in header_cache:
            # +2 for [CLS]/[SEP], +2 slack for the joins between header and passage
            header_cache[key] = count(embedding_text(title, block.heading, block.locator, "")) + 4
        return header_cache[key]

    def flush() -> None:
        nonlocal current, current_tokens
        body = [b for b in current if b.text]
        if body and not all(b.is_heading for b in body):  # a lone heading adds nothing
            locators = [b.locator for b in body if b.locator]
            chunks.append(
                DraftChunk(
                    text="\n".join(b.text for b in body),
                    page=body[0].page,
                    locator=_merge_locators(locators[0], locators[-1]) if locators else None,
                    heading=body[0].heading,
                )
            )
        current, current_tokens = [], 0

    for block, tokens in zip(blocks, lengths, strict=True):
        budget = config.max_tokens - header_tokens(block)
        # a short lead-in (a title line, "Article 5", an intro sentence) before a block too long
        # for one chunk opens that block's first piece instead of becoming a chunk of its own
        lead_in = False
        if current:
            last = current[-1]
            same_place = block.section == last.section and block.page == last.page
            lead_in = (
                same_place
                and tokens > budget
                and current_tokens < config.min_tokens
                and not all(b.is_heading for b in current)  # a heading is in the header already
            )
            boundary = (
                not same_place
                or (current_tokens + tokens > budget and not lead_in)
                or (block.paragraph_start and current_tokens >= config.min_tokens)
            )
            if boundary:
                flush()
        if tokens <= budget:
            current.append(block)
            current_tokens += tokens
            continue
        first_budget = budget - current_tokens if lead_in else None
        for piece in _split_long(block.text, budget, count, tokenizer, first_budget):
            if piece:
                current.append(
                    AnnotatedBlock(
                        piece,
                        block.page,
                        block.section,
                        block.heading,
                        block.locator,
                        block.paragraph_start,
                        False,
                    )
                )
            flush()
    flush()
    return _enforce_window(chunks, title, config.max_tokens, count, tokenizer)


def _enforce_window(
    chunks: list[DraftChunk], title: str, max_tokens: int, count: Callable[[str], int], tokenizer
) -> list[DraftChunk]:
    """Measure each chunk's exact embedded text and split the few that a merged locator or a
    join pushed over ``max_tokens``."""
    texts = [embedding_text(title, c.heading, c.locator, c.text) for c in chunks]
    if not texts:
        return chunks
    sizes = [len(ids) for ids in tokenizer(texts)["input_ids"]]  # with [CLS]/[SEP]
    out: list[DraftChunk] = []
    for chunk, size in zip(chunks, sizes, strict=True):
        if size <= max_tokens:
            out.append(chunk)
            continue
        header = count(embedding_text(title, chunk.heading, chunk.locator, "")) + 4
        for piece in _split_long(chunk.text, max_tokens - header, count, tokenizer):
            out.append(DraftChunk(piece, chunk.page, chunk.locator, chunk.heading))
    return out
