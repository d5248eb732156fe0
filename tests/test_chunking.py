"""Chunks fit the embedding model's window, counted with its own tokenizer, over the whole corpus."""

from __future__ import annotations

import hashlib

import pytest

from ingest.catalog import read_catalog
from ingest.chunking import ChunkingConfig, _merge_locators
from ingest.readers import SUPPORTED_SUFFIXES
from ingest.sync import prepare_document

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
