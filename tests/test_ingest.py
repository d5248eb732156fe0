"""The ingest job against a real Chroma in tmp_path: sync, replace, prune, failures, atomicity."""

from __future__ import annotations

import shutil

import pytest

from ingest import ChunkingConfig, IngestOptions, ingest
from vectorstore import ChunkStore, HybridSearcher, StoreMismatchError, connect

from .conftest import CORPUS, MARKDOWN, PDF, TEXT, fingerprint_for


def run(corpus, store, embedder, prune=False, **options):
    return ingest(
        [corpus],
        store,
        embedder,
        IngestOptions(root=corpus, **options),
        prune=prune,
        progress=False,
    )


def stored_sources(store: ChunkStore) -> dict[str, set[str]]:
    """source -> content hashes of the chunks actually in Chroma."""
    out: dict[str, set[str]] = {}
    for chunk in store.iter_chunks():
        out.setdefault(chunk.source, set()).add(chunk.content_hash)
    return out


def test_ingest_reads_every_kind_and_records_structure(small_corpus, store, embedder):
    report = run(small_corpus, store, embedder)
    assert report.ok, report.failed
    assert sorted(report.added) == sorted(
        [PDF, MARKDOWN, TEXT, "brief.html", "cables-note.docx"]
    ), "SOURCES.md is the catalogue, not a document"
    docs = store.documents()
    assert docs[PDF].pages == 2 and docs[PDF].kind == "pdf"
    assert docs[PDF].title.startswith("A/RES/79/237 Open-ended working group")  # from SOURCES.md
    assert docs[PDF].url == "https://undocs.org/A/RES/79/237"
    assert docs["cables-note.docx"].title == "Institute Note on Submarine Cables"
    chunks = list(store.iter_chunks())
    assert sum(d.chunks for d in docs.values()) == len(chunks) == report.chunks_written
    pdf_pages = {c.page for c in chunks if c.source == PDF}
    assert pdf_pages == {1, 2}
    assert all(c.page is None for c in chunks if c.source != PDF)
    docx_chunks = [c for c in chunks if c.source == "cables-note.docx"]
    # the heading and both short paragraphs of Article 3 make one chunk
    assert [c.locator for c in docx_chunks] == ["Article 3"]
    assert "1. Coastal States" in docx_chunks[0].text and "2. Repair ships" in docx_chunks[0].text


def test_reingest_unchanged_is_a_noop(small_corpus, store, embedder):
    run(small_corpus, store, embedder)
    ids_before = sorted(c.id for c in store.iter_chunks())
    report = run(small_corpus, store, embedder)
    assert report.chunks_written == 0 and not report.changed
    assert len(report.unchanged) == 5
    assert sorted(c.id for c in store.iter_chunks()) == ids_before


def test_edited_file_is_replaced_without_leftovers(small_corpus, store, embedder):
    run(small_corpus, store, embedder)
    old_hash = store.documents()[MARKDOWN].content_hash
    path = small_corpus / MARKDOWN
    path.write_text(path.read_text() + "\n\nAddendum: the Zanzibar protocol on quantum cables.\n")
    report = run(small_corpus, store, embedder)
    assert report.updated == [MARKDOWN] and len(report.unchanged) == 4
    new_hash = store.documents()[MARKDOWN].content_hash
    assert new_hash != old_hash
    assert stored_sources(store)[MARKDOWN] == {new_hash}
    assert any("Zanzibar" in c.text for c in store.iter_chunks() if c.source == MARKDOWN)


def test_prune_removes_documents_whose_files_are_gone(small_corpus, store, embedder):
    run(small_corpus, store, embedder)
    (small_corpus / TEXT).unlink()
    report = run(small_corpus, store, embedder)
    assert not report.removed and TEXT in store.documents(), "without --prune nothing is removed"
    report = run(small_corpus, store, embedder, prune=True)
    assert report.removed == [TEXT]
    assert TEXT not in store.documents() and TEXT not in stored_sources(store)


def test_bad_files_are_reported_and_the_rest_is_stored(small_corpus, store, embedder):
    run(small_corpus, store, embedder)
    before = {s: d.content_hash for s, d in store.documents().items()}
    count_before = store.count()
    (small_corpus / "corrupt.pdf").write_bytes(b"%PDF-1.4\nthis is not a pdf at all")
    (small_corpus / "empty.txt").write_bytes(b"")
    (small_corpus / "image.png").write_bytes(b"\x89PNG\r\n")
    shutil.copy(
        CORPUS / "un-ga-resolution-78-16-programme-of-action-2023.pdf", small_corpus / "new.pdf"
    )
    report = run(small_corpus, store, embedder)
    reasons = dict(report.failed)
    assert set(reasons) == {"corrupt.pdf", "empty.txt", "image.png"}
    assert "corrupt" in reasons["corrupt.pdf"] and "empty" in reasons["empty.txt"]
    assert "unsupported file type .png" in reasons["image.png"]
    assert report.added == ["new.pdf"] and not report.ok
    after = {s: d.content_hash for s, d in store.documents().items()}
    assert after == {**before, "new.pdf": after["new.pdf"]}
    assert store.count() == count_before + store.documents()["new.pdf"].chunks


def test_settings_mismatch_says_rebuild(small_corpus, tmp_path, store, embedder):
    run(small_corpus, store, embedder)
    other = ChunkStore(
        connect(tmp_path / "data"), "test", fingerprint_for(embedder, max_tokens=128)
    )
    with pytest.raises(StoreMismatchError, match=r"chunk_max_tokens.*ingest --rebuild"):
        other.open()
    with pytest.raises(StoreMismatchError):
        run(small_corpus, other, embedder, config=ChunkingConfig(128, 48))
    other.drop()  # what --rebuild does
    report = run(small_corpus, other, embedder, config=ChunkingConfig(128, 48))
    assert len(report.added) == 5


class InterruptingEmbedder:
    """The real model, interrupted (as by Ctrl-C) on its second batch."""

    def __init__(self, real):
        self.real, self.calls = real, 0
        self.tokenizer, self.max_tokens = real.tokenizer, real.max_tokens

    def encode(self, texts):
        self.calls += 1
        if self.calls == 2:
            raise KeyboardInterrupt
        return self.real.encode(texts)


def test_interrupted_ingest_leaves_whole_documents_and_rerun_completes(
    small_corpus, store, embedder, tmp_path
):
    with pytest.raises(KeyboardInterrupt):
        run(small_corpus, store, InterruptingEmbedder(embedder), commit_every=1)  # a doc a batch
    docs = store.documents()
    assert len(docs) == 1
    assert stored_sources(store) == {s: {d.content_hash} for s, d in docs.items()}

    (only,) = docs
    searcher = HybridSearcher(store, embedder, tmp_path / "lexical", refresh_seconds=0)
    report = run(small_corpus, store, embedder)
    assert len(report.added) == 4 and report.unchanged == [only]
    expected = sorted(c.id for c in store.iter_chunks())
    assert all(hit.chunk.source in store.documents() for hit in searcher.search("cyber", k=20))
    fresh = ChunkStore(connect(tmp_path / "fresh"), "test", fingerprint_for(embedder))
    run(small_corpus, fresh, embedder)
    assert sorted(c.id for c in fresh.iter_chunks()) == expected


def test_uncommitted_chunks_are_invisible_and_collected(small_corpus, store, embedder, tmp_path):
    from vectorstore import Chunk, chunk_id

    run(small_corpus, store, embedder)
    ghost = Chunk(
        id=chunk_id("ghost.md", "deadbeef", 0),
        text="Ghost passage about the Zanzibar quantum cable accord.",
        source="ghost.md",
        title="Ghost",
        content_hash="deadbeef",
        chunk_index=0,
    )
    store.add_chunks([ghost], embedder.encode([ghost.text]))  # written, never committed
    searcher = HybridSearcher(store, embedder, tmp_path / "lexical", refresh_seconds=0)
    hits = searcher.search("Zanzibar quantum cable accord", k=5)
    assert all(h.chunk.source != "ghost.md" for h in hits)
    assert store.collect_garbage() == 1
    assert "ghost.md" not in stored_sources(store)


@pytest.mark.parametrize("older", [None, "1"])
def test_documents_cut_by_another_chunker_version_are_recut(
    small_corpus, store, embedder, tmp_path, monkeypatch, older
):
    """A store built before a chunker change (``None``: before versions were recorded) is
    re-chunked on the next ingest even though no file changed, and ends as a fresh ingest does."""
    import ingest.chunking

    current = ingest.chunking.CHUNKER_VERSION
    monkeypatch.setattr(ingest.chunking, "CHUNKER_VERSION", older)
    run(small_corpus, store, embedder)
    assert {d.chunking for d in store.documents().values()} == {older}
    monkeypatch.setattr(ingest.chunking, "CHUNKER_VERSION", current)

    report = run(small_corpus, store, embedder)
    assert sorted(report.updated) == sorted(store.documents()) and not report.unchanged
    assert run(small_corpus, store, embedder).unchanged  # and then it is done
    fresh = ChunkStore(connect(tmp_path / "fresh"), "test", fingerprint_for(embedder))
    run(small_corpus, fresh, embedder)
    assert sorted(c.id for c in store.iter_chunks()) == sorted(c.id for c in fresh.iter_chunks())
    assert {d.chunking for d in store.documents().values()} == {current}
