"""Chunks fit the embedding model's window, counted with its own tokenizer, over the whole corpus."""

from __future__ import annotations

import hashlib

import pytest

from ingest.catalog import read_catalog
from ingest.chunking import ChunkingConfig, _merge_locators
from ingest.prepare import prepare_document
from ingest.readers import SUPPORTED_SUFFIXES

from .conftest import CORPUS


def test_no_chunk_of_the_default_corpus_exceeds_the_model_window(embedder):
    catalog = read_catalog(CORPUS / "SOURCES.md")
    config = ChunkingConfig(max_tokens=200, min_tokens=48)
    files = sorted(
        p for p in CORPUS.iterdir() if p.suffix in SUPPORTED_SUFFIXES and p.name != "SOURCES.md"
    )
    assert len(files) == 59
    longest, total = 0, 0
    for path in files:
        data = path.read_bytes()
        _, chunks, texts, _ = prepare_document(
            path,
            path.name,
            data,
            hashlib.sha256(data).hexdigest(),
            config,
            embedder.tokenizer,
            catalog,
        )
        assert chunks, path.name
        counts = [len(ids) for ids in embedder.tokenizer(texts)["input_ids"]]  # with [CLS]/[SEP]
        longest = max(longest, *counts)
        total += len(chunks)
    assert embedder.max_tokens == 256
    assert longest <= config.max_tokens <= embedder.max_tokens, longest
    assert total > 3000


@pytest.mark.parametrize(
    ("first", "last", "merged"),
    [
        ("Article 23(1)", "Article 23(3)", "Article 23(1)–(3)"),
        ("Article 23(4)", "Article 23(4)(b)", "Article 23(4)"),
        ("paragraph 3", "paragraph 5", "paragraph 3–5"),
        ("Key outcomes", "Key outcomes", "Key outcomes"),
        (None, "recital 4", "recital 4"),
    ],
)
def test_locator_ranges(first, last, merged):
    assert _merge_locators(first, last) == merged


def test_a_short_lead_in_opens_the_long_block_after_it(embedder, tmp_path):
    """A title line before an abstract too long for one chunk (SciFact's shape) used to become a
    chunk of its own; it now opens the abstract's first piece."""
    from ingest.chunking import pack
    from ingest.readers import read_document
    from ingest.structure import annotate

    sentences = [
        f"Sentence {n} reports that the cohort of {n * 37} patients showed a reduced rate of "
        f"relapse after treatment with compound {n}."
        for n in range(1, 25)
    ]
    path = tmp_path / "abstract.txt"
    path.write_text("Relapse rates after compound treatment\n\n" + " ".join(sentences) + "\n")
    blocks = annotate(read_document(path, path.read_bytes()).blocks)
    assert blocks[0].text == "Relapse rates after compound treatment"
    chunks = pack(blocks, "abstract", ChunkingConfig(200, 48), embedder.tokenizer)
    assert len(chunks) >= 2, "the abstract is longer than one chunk"
    assert chunks[0].text.startswith("Relapse rates after compound treatment\nSentence 1 ")
    joined = " ".join(c.text.replace("\n", " ") for c in chunks)
    assert joined.count("Relapse rates after compound treatment") == 1
    assert all(s in joined for s in sentences)  # nothing lost at the cut
    tokens = [len(embedder.tokenizer(c.text)["input_ids"]) for c in chunks]
    assert max(tokens) <= 200
