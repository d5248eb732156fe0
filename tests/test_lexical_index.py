"""The lexical index kept per document: after adding, replacing and removing documents it scores
exactly as an index built from scratch (and as bm25s' own ``index``), a change tokenises only the
documents that changed, other searchers take a new document's segment from the cache, and a
damaged cache file is read again from Chroma instead of failing."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from vectorstore import Chunk, ChunkStore, DocumentRecord, HybridSearcher, chunk_id, connect
from vectorstore import lexical as lexical_module
from vectorstore.hybrid import lexical_text
from vectorstore.lexical import BM25_B, BM25_K1, LexicalIndex, SegmentCache, tokenize
from vectorstore.text import stemmer

from .conftest import CORPUS

DIM = 8
FINGERPRINT = {"model": "lexical-test", "dim": DIM, "encoder": "torch"}
FILES = [
    "eu-nis2-directive-2022-2555.md",
    "paris-call-text-en.md",
    "paris-call-case-studies-principle-1.md",
    "paris-call-case-studies-principle-2.md",
    "quad-senior-cyber-group-joint-cybersecurity-statement-2023-02-02.md",
    "counter-ransomware-initiative-joint-statement-2021-10-14.md",
]
QUERIES = [
    "incident notification within 24 hours",
    "Article 23 reporting obligations",
    "ransomware payments and sanctions",
    "protect the public core of the internet",
    "supply chain security of ICT products",
    "Quad senior cyber group",
    "zephyrion repair ship",
    "the of and",  # stop words only: nothing
]


def passages(name: str, limit: int = 40) -> list[str]:
    """Real passages: paragraphs of a corpus file."""
    text = (CORPUS / name).read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if len(p.strip()) > 40]
    return paragraphs[:limit]


def document(source: str, texts: list[str], version: str = "1") -> tuple[DocumentRecord, list]:
    content_hash = hashlib.sha256(f"{source}:{version}:{texts}".encode()).hexdigest()
    title = f"{source.rsplit('.', 1)[0].replace('-', ' ')} v{version}"
    chunks = [
        Chunk(
            id=chunk_id(source, content_hash, i),
            text=text,
            source=source,
            title=title,
            content_hash=content_hash,
            chunk_index=i,
            locator=f"paragraph {i + 1}",
        )
        for i, text in enumerate(texts)
    ]
    record = DocumentRecord(
        source=source, title=title, content_hash=content_hash, chunks=len(chunks), kind="md",
        size=sum(map(len, texts)), ingested_at="2025-01-01T00:00:00Z",
    )  # fmt: skip
    return record, chunks


def commit(store: ChunkStore, source: str, texts: list[str], version: str = "1") -> DocumentRecord:
    record, chunks = document(source, texts, version)
    rng = np.random.default_rng(len(texts))
    vectors = rng.normal(size=(len(chunks), DIM))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store.add_chunks(chunks, vectors.tolist())
    store.commit_document(record)
    return record


def open_store(data: Path) -> ChunkStore:
    return ChunkStore(connect(data), "lex", FINGERPRINT).open(create=True)


def searcher_on(data: Path, lexical: Path) -> HybridSearcher:
    return HybridSearcher(open_store(data), embedder=None, lexical_dir=lexical, refresh_seconds=0)


class Spy:
    """Counts what a searcher reads from Chroma and what is tokenised."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, searcher: HybridSearcher) -> None:
        self.read: list[str] = []  # sources of the documents read from Chroma
        self.tokenised = 0  # texts tokenised (check before searching: queries count too)
        real_passages, real_tokenize = searcher._passages, lexical_module.tokenize

        def passages(records, total):
            self.read.extend(r.source for r in records)
            return real_passages(records, total)

        def counting(texts, stem):
            self.tokenised += len(texts)
            return real_tokenize(texts, stem)

        monkeypatch.setattr(searcher, "_passages", passages)
        monkeypatch.setattr(lexical_module, "tokenize", counting)

    def reset(self) -> None:
        self.read, self.tokenised = [], 0


def scratch(store: ChunkStore) -> LexicalIndex:
    """The index built from every visible chunk at once, in memory (nothing cached)."""
    visible = {r.key for r in store.documents().values()}
    items = [(c.id, lexical_text(c), c.source) for c in store.iter_chunks() if c.key in visible]
    return LexicalIndex.build(items, "scratch")


def bm25s_scores(store: ChunkStore, query: str) -> dict[str, float]:
    """What the index before segments computed: bm25s' ``index`` over every visible chunk."""
    import bm25s

    visible = {r.key for r in store.documents().values()}
    chunks = [c for c in store.iter_chunks() if c.key in visible]
    bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B)
    bm25.index(tokenize([lexical_text(c) for c in chunks], stemmer()), show_progress=False)
    tokens = tokenize([query], stemmer())[0]
    scores = bm25.get_scores(tokens) if tokens else np.zeros(len(chunks))
    return {c.id: float(s) for c, s in zip(chunks, scores, strict=True) if s > 0}


def all_scores(index: LexicalIndex, query: str, allowed=None) -> dict[str, float]:
    return dict(index.search(query, k=len(index.ids) or 1, allowed=allowed))


def assert_same(index: LexicalIndex, reference: LexicalIndex, allowed=None) -> None:
    assert sorted(index.ids) == sorted(reference.ids)
    for query in QUERIES:
        got, want = all_scores(index, query, allowed), all_scores(reference, query, allowed)
        assert got.keys() == want.keys(), query
        for id_, score in want.items():
            assert got[id_] == pytest.approx(score, abs=1e-5), (query, id_)
        ranked = [i for i, _ in index.search(query, k=10, allowed=allowed)]
        assert [want[i] for i in ranked] == pytest.approx(
            sorted(want.values(), reverse=True)[: len(ranked)], abs=1e-5
        )
        assert index.term_weights(query) == pytest.approx(reference.term_weights(query))


def test_assembled_matrices_score_as_bm25s_index():
    """The segments' BM25 is bm25s' own, number for number, on real passages."""
    import bm25s

    items = [(f"{name}-{i}", text, name) for name in FILES for i, text in enumerate(passages(name))]
    index = LexicalIndex.build(items, "s")
    reference = bm25s.BM25(k1=BM25_K1, b=BM25_B)
    reference.index(tokenize([t for _, t, _ in items], stemmer()), show_progress=False)
    assert index.bm25.scores["num_docs"] == reference.scores["num_docs"] == len(items)
    assert len(index.bm25.scores["data"]) == len(reference.scores["data"])
    matched = 0
    for query in QUERIES:
        tokens = tokenize([query], stemmer())[0]
        if not tokens:
            continue
        ours = index.bm25.get_scores(tokens)
        theirs = reference.get_scores(tokens)
        matched += bool(theirs.max() > 0)
        np.testing.assert_array_equal(ours, theirs)  # same chunk order here: bit for bit
    assert matched >= 5


def test_changes_score_as_a_build_from_scratch_and_tokenise_only_the_change(tmp_path, monkeypatch):
    store_dir, lexical_dir = tmp_path / "data", tmp_path / "lexical"
    store = open_store(store_dir)
    for name in FILES[:4]:
        commit(store, name, passages(name))
    searcher = searcher_on(store_dir, lexical_dir)
    spy = Spy(monkeypatch, searcher)
    searcher.refresh(force=True)
    assert sorted(spy.read) == sorted(FILES[:4])
    assert spy.tokenised == sum(len(passages(n)) for n in FILES[:4])
    assert_same(searcher._lexical, scratch(store))

    # add one: only its passages are read and tokenised
    spy.reset()
    new = passages(FILES[4])
    commit(store, FILES[4], new)
    searcher.refresh(force=True)
    assert spy.read == [FILES[4]] and spy.tokenised == len(new)
    assert_same(searcher._lexical, scratch(store))
    assert searcher.lexical("Quad senior cyber group", 1)[0][0].startswith(
        chunk_id(FILES[4], store.documents()[FILES[4]].content_hash, 0)[:24]
    )

    # replace one with a new version: its new passages only
    spy.reset()
    changed = passages(FILES[1])[::2] + ["The zephyrion repair ship sails within 36 hours."]
    commit(store, FILES[1], changed, version="2")
    searcher.refresh(force=True)
    assert spy.read == [FILES[1]] and spy.tokenised == len(changed)
    reference = scratch(store)
    assert_same(searcher._lexical, reference)
    top = searcher.lexical("zephyrion repair ship", 3)
    last = len(changed) - 1
    assert top and top[0][0] == chunk_id(FILES[1], store.documents()[FILES[1]].content_hash, last)

    # remove one: nothing read, nothing tokenised
    spy.reset()
    store.remove_document(FILES[0])
    searcher.refresh(force=True)
    assert spy.read == [] and spy.tokenised == 0
    reference = scratch(store)
    assert_same(searcher._lexical, reference)
    assert FILES[0] not in searcher._lexical.sources
    # a scope (weight mask) gives what the scratch index gives in that scope
    allowed = frozenset({FILES[1], FILES[4]})
    assert_same(searcher._lexical, reference, allowed)
    assert {searcher._lexical.sources[searcher._lexical.ids.index(i)] for i, _ in
            searcher.lexical("cyber security", 50, allowed)} <= allowed  # fmt: skip

    # and the same numbers as bm25s' own index of the library as it is now (before segments)
    for query in QUERIES:
        got = all_scores(searcher._lexical, query)
        want = bm25s_scores(store, query)
        assert got.keys() == want.keys()
        assert [got[i] for i in want] == pytest.approx(list(want.values()), abs=1e-5)


def test_other_searchers_take_new_documents_from_the_shared_cache(tmp_path, monkeypatch):
    store_dir, lexical_dir = tmp_path / "data", tmp_path / "lexical"
    store = open_store(store_dir)
    for name in FILES[:3]:
        commit(store, name, passages(name))
    first = searcher_on(store_dir, lexical_dir)
    first.refresh(force=True)
    # a second "process" (its own store client and index) starting now reads no passage
    second = searcher_on(store_dir, lexical_dir)
    spy = Spy(monkeypatch, second)
    second.refresh(force=True)
    assert spy.read == [] and spy.tokenised == 0
    assert_same(second._lexical, first._lexical)

    # the first takes a new document in; the second, already loaded, reads its segment file
    commit(store, FILES[3], passages(FILES[3]))
    first.refresh(force=True)
    spy.reset()
    second.refresh(force=True)
    assert spy.read == [] and spy.tokenised == 0
    assert_same(second._lexical, scratch(store))
    assert second.lexical("zephyrion", 5) == []


def test_a_damaged_segment_is_read_again_from_chroma(tmp_path, monkeypatch):
    store_dir, lexical_dir = tmp_path / "data", tmp_path / "lexical"
    store = open_store(store_dir)
    records = [commit(store, name, passages(name)) for name in FILES[:3]]
    searcher_on(store_dir, lexical_dir).refresh(force=True)
    folder = next(lexical_dir.glob("segments-*"))
    cache = SegmentCache(folder)
    garbage, cut = cache.path(records[0].key), cache.path(records[1].key)
    assert garbage.exists() and cut.exists()
    garbage.write_bytes(b"not a segment at all")
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])

    searcher = searcher_on(store_dir, lexical_dir)
    spy = Spy(monkeypatch, searcher)
    searcher.refresh(force=True)  # no exception: those two documents are read again
    assert sorted(spy.read) == sorted([FILES[0], FILES[1]])
    assert_same(searcher._lexical, scratch(store))
    # and written again, whole
    assert cache.load(records[0].key, lexical_module.Vocabulary()) is not None
    assert cache.load(records[1].key, lexical_module.Vocabulary()) is not None


def test_a_large_library_restarts_from_its_snapshot(tmp_path, monkeypatch):
    store_dir, lexical_dir = tmp_path / "data", tmp_path / "lexical"
    store = open_store(store_dir)
    names = [f"part-{i}.md" for i in range(12)]
    texts = [t for name in FILES for t in passages(name)]
    for i, name in enumerate(names):
        commit(store, name, texts[i * 12 : i * 12 + 12])
    searcher_on(store_dir, lexical_dir).refresh(force=True)
    folder = next(lexical_dir.glob("segments-*"))
    assert (folder / SegmentCache.SNAPSHOT).exists()
    assert not [p for p in folder.glob("*.npz") if p.name != SegmentCache.SNAPSHOT]

    commit(store, "late.md", texts[-5:])  # after the snapshot: a file of its own
    restarted = searcher_on(store_dir, lexical_dir)
    spy = Spy(monkeypatch, restarted)
    restarted.refresh(force=True)
    assert spy.read == ["late.md"]
    assert_same(restarted._lexical, scratch(store))
    again = searcher_on(store_dir, lexical_dir)
    spy = Spy(monkeypatch, again)
    again.refresh(force=True)
    assert spy.read == [] and spy.tokenised == 0  # snapshot + the one segment file

    # a damaged snapshot is ignored: every document is read again, and the snapshot rewritten
    (folder / SegmentCache.SNAPSHOT).write_bytes(b"PK\x03\x04 broken")
    damaged = searcher_on(store_dir, lexical_dir)
    spy = Spy(monkeypatch, damaged)
    damaged.refresh(force=True)
    assert sorted(spy.read) == sorted(names)
    assert_same(damaged._lexical, scratch(store))
    reread = SegmentCache(folder)
    late = store.documents()["late.md"].key
    assert set(reread.load_snapshot({late}, lexical_module.Vocabulary())) == {late}
    assert reread.snapshot_keys == {r.key for r in store.documents().values()}


def test_another_generation_starts_from_scratch_and_old_files_go(tmp_path, monkeypatch):
    store_dir, lexical_dir = tmp_path / "data", tmp_path / "lexical"
    lexical_dir.mkdir()
    (lexical_dir / "ids.json").write_text("[]")  # the index saved before segments
    (lexical_dir / "bm25").mkdir()
    store = open_store(store_dir)
    for name in FILES[:2]:
        commit(store, name, passages(name))
    searcher = searcher_on(store_dir, lexical_dir)
    searcher.refresh(force=True)
    assert not (lexical_dir / "ids.json").exists() and not (lexical_dir / "bm25").exists()
    old_folder = next(lexical_dir.glob("segments-*"))

    with store.rebuilding() as fresh:  # the same documents in a new generation
        for name in FILES[:2]:
            commit(fresh, name, passages(name))
    spy = Spy(monkeypatch, searcher)
    searcher.refresh(force=True)
    assert searcher.store.epoch == 1
    assert sorted(spy.read) == sorted(FILES[:2])  # nothing reused from generation 0
    assert [p.name for p in lexical_dir.iterdir()] == [
        searcher._lexical.cache.folder.name
    ] and searcher._lexical.cache.folder != old_folder
    assert_same(searcher._lexical, scratch(searcher.store))


def test_vocabulary_compaction_keeps_the_scores(tmp_path):
    store_dir = tmp_path / "data"
    store = open_store(store_dir)
    for name in FILES:
        commit(store, name, passages(name))
    searcher = searcher_on(store_dir, tmp_path / "lexical")
    searcher.refresh(force=True)
    for name in FILES[:4]:
        store.remove_document(name)
    searcher.refresh(force=True)
    index = searcher._lexical
    assert len(index.vocab) > index.live_terms
    compact = LexicalIndex._compacted(index)
    assert len(compact.vocab) == compact.live_terms == index.live_terms
    assert_same(compact, index)
    assert_same(compact, scratch(store))


def test_an_empty_library_and_a_library_emptied(tmp_path):
    store_dir = tmp_path / "data"
    store = open_store(store_dir)
    searcher = searcher_on(store_dir, tmp_path / "lexical")
    assert searcher.lexical("anything", 5) == []
    assert searcher.term_weights("incident") == pytest.approx({"incid": np.log(1 + 0.5 / 0.5)})
    commit(store, FILES[0], passages(FILES[0]))
    assert searcher.lexical("incident notification", 5)
    store.remove_document(FILES[0])
    assert searcher.lexical("incident notification", 5) == []


def test_passages_whose_ids_are_not_derived_from_the_version_are_found_by_key(tmp_path):
    store_dir = tmp_path / "data"
    store = open_store(store_dir)
    record, chunks = document("odd.md", ["The zephyrion repair ship sails within 36 hours."] * 2)
    chunks = [dataclasses.replace(c, id=f"odd-{c.chunk_index}") for c in chunks]
    store.add_chunks(chunks, [[1.0] + [0.0] * (DIM - 1)] * 2)
    store.commit_document(record)
    searcher = searcher_on(store_dir, tmp_path / "lexical")
    assert {i for i, _ in searcher.lexical("zephyrion", 5)} == {"odd-0", "odd-1"}


def test_a_name_joined_to_its_number_finds_the_passages_that_write_it_apart(tmp_path):
    """Readers write "NIS2", the directive writes "NIS 2"; "G7" stays joined where the library
    writes it so."""
    store_dir = tmp_path / "data"
    store = open_store(store_dir)
    texts = {
        "nis.md": ["The NIS 2 Directive sets reporting duties for essential entities."],
        "g7.md": ["The G7 leaders met in Hiroshima and agreed on an AI process."],
        "other.md": ["Reporting duties for essential services and their entities."],
    }
    first = {}
    for name, passage in texts.items():
        commit(store, name, passage)
        first[name] = document(name, passage)[1][0].id
    searcher = searcher_on(store_dir, tmp_path / "lexical")
    assert searcher.lexical("NIS2 reporting duties", 3)[0][0] == first["nis.md"]
    assert "nis" in searcher.term_weights("NIS2") and "nis2" not in searcher.term_weights("NIS2")
    assert searcher.lexical("G7 Hiroshima", 1)[0][0] == first["g7.md"]
    assert "g7" in searcher.term_weights("G7")
