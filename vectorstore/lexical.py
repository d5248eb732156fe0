"""BM25 over the stored chunks (bm25s + Snowball stemming), kept as one segment per document.

Chroma is the source of truth. A segment is one committed document version (its ``doc_key``):
its chunks' ids and each chunk's term counts, tokenised once. A change of the library tokenises
only the documents that are new (``LexicalIndex.sync``); the BM25 matrices are then assembled
again from the segments, with idf and average length over the whole library computed exactly as
bm25s computes them (about 0.1 s per 100,000 passages, against 11 s to read and tokenise them).

Segments are cached on disk under the lexical folder (``SegmentCache``): one file per document
version, and a snapshot of many, each written atomically (a reader sees a whole file or none).
Another process on the machine reads a new document's file instead of tokenising it again, and
a restart reads the snapshot instead of every passage. A file that cannot be read is ignored and
its document read again from Chroma.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from .records import DocumentRecord
from .text import QUESTION_WORDS, STEMMER_LANGUAGE, stemmer

log = logging.getLogger(__name__)

__all__ = ["LexicalIndex", "Segment", "SegmentCache", "Vocabulary", "tokenize"]

# Single characters and digits count ("Article 5", "paragraph 3"): bm25s' default drops them.
TOKEN_PATTERN = r"(?u)\b\w+\b"
# SciFact (bench/retrieval.py): k1 0.9, b 0.4 gave BM25 nDCG@10 0.673 and hybrid 0.732, against
# 0.667 and 0.725 with bm25s' usual 1.2 / 0.75; passages are short, so length matters less
BM25_K1 = 0.9
BM25_B = 0.4
SEGMENT_FORMAT = 1
# what the index depends on besides the documents: a saved index built otherwise is rebuilt
INDEX_CONFIG = (
    f"bm25s k1={BM25_K1} b={BM25_B} tokens={TOKEN_PATTERN} stem={STEMMER_LANGUAGE} sources "
    f"segments={SEGMENT_FORMAT}"
)
# a snapshot of all segments is written again when this many are only in files of their own
SNAPSHOT_AFTER = 8  # segments, or
SNAPSHOT_SHARE = 10  # one in this many of the library's
STALE_SECONDS = 300.0  # a segment file the snapshot holds, or of a removed document, this old goes
# the files the index was saved as before segments
_LEGACY = ("bm25", "ids.json", "sources.json", "signature")

# (record, [(chunk id, text)]) for each record asked for: the passages of documents to index
Reader = Callable[[list[DocumentRecord]], Iterable[tuple[DocumentRecord, list[tuple[str, str]]]]]


# a name joined to its number ("NIS2", "WG4"), which documents may write apart ("NIS 2")
_JOINED = re.compile(r"\b([A-Za-z]{2,})(\d{1,2})\b")


def tokenize(texts: list[str], stemmer: Any) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(
        texts,
        stopwords="en",
        stemmer=stemmer,
        token_pattern=TOKEN_PATTERN,
        return_ids=False,
        show_progress=False,
    )


class Vocabulary:
    """Index terms and their column numbers. Only grows (an index assembled earlier keeps its
    columns) until ``LexicalIndex.sync`` compacts it into a new one."""

    def __init__(self, terms: Iterable[str] = ()) -> None:
        self.terms: list[str] = []
        self.column: dict[str, int] = {}
        self.columns(terms)

    def __len__(self) -> int:
        return len(self.terms)

    def columns(self, terms: Iterable[str]) -> Any:
        """The column of each of ``terms`` (int32 array), adding those not seen before."""
        import numpy as np

        column, known, out = self.column, self.terms, []
        for term in terms:
            i = column.get(term)
            if i is None:
                i = column[term] = len(known)
                known.append(term)
            out.append(i)
        return np.asarray(out, dtype=np.int32)


class Segment:
    """One document version's chunks: ids, and for each chunk its distinct terms (columns of
    ``vocab``) with their counts, chunk after chunk (``counts`` terms each)."""

    __slots__ = ("complete", "counts", "ids", "key", "lengths", "source", "terms", "tf", "vocab")

    def __init__(
        self,
        key: str,
        source: str,
        ids: list[str],
        counts: Any,
        terms: Any,
        tf: Any,
        vocab: Vocabulary,
        complete: bool = True,
    ) -> None:
        import numpy as np

        self.key, self.source, self.ids = key, source, list(ids)
        self.counts = np.asarray(counts, dtype=np.int32)
        self.terms = np.asarray(terms, dtype=np.int32)
        self.tf = np.asarray(tf, dtype=np.int32)
        self.vocab = vocab
        # False: fewer chunks than the record counts (read while the document was removed?):
        # used, but neither saved nor kept for the next change
        self.complete = complete
        if not (len(self.counts) == len(self.ids) and int(self.counts.sum()) == len(self.terms)):
            raise ValueError(f"segment {key}: counts do not match its chunks and terms")
        if len(self.tf) != len(self.terms) or (len(self.tf) and int(self.tf.min()) < 1):
            raise ValueError(f"segment {key}: bad term counts")
        rows = np.repeat(np.arange(len(self.ids), dtype=np.int32), self.counts)
        # BM25's document length: the chunk's tokens, repeats included
        self.lengths = np.bincount(rows, weights=self.tf, minlength=len(self.ids)).astype(np.int64)

    @classmethod
    def from_tokens(
        cls,
        key: str,
        source: str,
        ids: list[str],
        tokens: Sequence[list[str]],
        vocab: Vocabulary,
        complete: bool = True,
    ) -> Segment:
        counts, words, tf = [], [], []
        for chunk_tokens in tokens:
            counted = Counter(chunk_tokens)
            counts.append(len(counted))
            words.extend(counted)
            tf.extend(counted.values())
        return cls(key, source, ids, counts, vocab.columns(words), tf, vocab, complete)

    def remapped(self, columns: Any, vocab: Vocabulary) -> Segment:
        """This segment with its terms in ``vocab`` (``columns[old column]``)."""
        return Segment(
            self.key, self.source, self.ids, self.counts, columns[self.terms], self.tf, vocab,
            self.complete,
        )  # fmt: skip


# --- on disk ------------------------------------------------------------------------------------
def _write_npz(path: Path, meta: dict[str, Any], **arrays: Any) -> None:
    """``meta`` (JSON, as bytes: its text can be found in the file) and ``arrays`` to ``path``,
    atomically."""
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    blob = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, meta=blob, **arrays)
        os.replace(tmp, path)
    except BaseException:
        with _quiet():
            os.unlink(tmp)
        raise


def _read_npz(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    import numpy as np

    with np.load(path, allow_pickle=False) as z:
        arrays = {name: z[name] for name in z.files}  # reads (and CRC-checks) every member
    meta = json.loads(arrays.pop("meta").tobytes().decode())
    if not isinstance(meta, dict) or meta.get("format") != SEGMENT_FORMAT:
        raise ValueError(f"{path.name}: not a segment file of format {SEGMENT_FORMAT}")
    return meta, arrays


class _quiet:
    """Ignore OSError: the cache is only a cache."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        return kind is not None and issubclass(kind, OSError)


class SegmentCache:
    """Segments on disk under ``folder``: ``<hash of key>.npz`` per document version and
    ``snapshot.npz`` holding many. Every read is checked; one that fails counts as absent."""

    SNAPSHOT = "snapshot.npz"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.snapshot_keys: frozenset[str] = frozenset()  # what the snapshot held when read/written

    def path(self, key: str) -> Path:
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:40]}.npz"

    def load(self, key: str, vocab: Vocabulary) -> Segment | None:
        path = self.path(key)
        try:
            meta, a = _read_npz(path)
            if meta.get("key") != key:
                raise ValueError(f"{path.name} holds {meta.get('key')!r}")
            local = a["terms"]
            if len(local) and (int(local.min()) < 0 or int(local.max()) >= len(meta["vocab"])):
                raise ValueError(f"{path.name}: term out of range")
            columns = vocab.columns(meta["vocab"])
            return Segment(
                key, meta["source"], meta["ids"], a["counts"], columns[local], a["tf"], vocab
            )
        except FileNotFoundError:
            return None
        except Exception as exc:  # a damaged file of any kind: read the document again
            log.warning("lexical segment %s unreadable, re-reading its document: %s", path, exc)
            return None

    def save(self, segment: Segment) -> None:
        import numpy as np

        used, local = np.unique(segment.terms, return_inverse=True)
        terms = segment.vocab.terms
        meta = {"format": SEGMENT_FORMAT, "key": segment.key, "source": segment.source,
                "ids": segment.ids, "vocab": [terms[i] for i in used.tolist()]}  # fmt: skip
        with _quiet():
            _write_npz(
                self.path(segment.key),
                meta,
                counts=segment.counts,
                terms=local.astype(np.int32),
                tf=segment.tf,
            )

    def load_snapshot(self, keys: set[str], vocab: Vocabulary) -> dict[str, Segment]:
        """The segments of ``keys`` the snapshot holds."""
        import numpy as np

        path = self.folder / self.SNAPSHOT
        try:
            meta, a = _read_npz(path)
            columns = vocab.columns(meta["vocab"])
            terms, tf, counts = a["terms"], a["tf"], a["counts"]
            if len(terms) and (int(terms.min()) < 0 or int(terms.max()) >= len(columns)):
                raise ValueError("term out of range")
            chunk_at = np.concatenate([[0], np.cumsum(a["chunks"])])
            term_at = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
            if chunk_at[-1] != len(counts) or not term_at[-1] == len(terms) == len(tf):
                raise ValueError("sizes do not match")
            found = {}
            for n, (key, source, ids) in enumerate(meta["segments"]):
                if key not in keys:
                    continue
                c0, c1 = chunk_at[n], chunk_at[n + 1]
                t0, t1 = term_at[c0], term_at[c1]
                found[key] = Segment(
                    key, source, ids, counts[c0:c1], columns[terms[t0:t1]], tf[t0:t1], vocab
                )
            self.snapshot_keys = frozenset(k for k, _, _ in meta["segments"])
            return found
        except FileNotFoundError:
            return {}
        except Exception as exc:
            log.warning("lexical snapshot %s unreadable, ignored: %s", path, exc)
            return {}

    def save_snapshot(self, segments: Sequence[Segment], vocab: Vocabulary) -> None:
        """All ``segments`` in one file; then the files of single segments it makes redundant
        (or of documents gone), once they are old enough for every process to have read them."""
        import numpy as np

        meta = {"format": SEGMENT_FORMAT, "vocab": vocab.terms,
                "segments": [(s.key, s.source, s.ids) for s in segments]}  # fmt: skip
        with _quiet():
            _write_npz(
                self.folder / self.SNAPSHOT,
                meta,
                chunks=np.asarray([len(s.ids) for s in segments], dtype=np.int64),
                counts=_concat([s.counts for s in segments]),
                terms=_concat([s.terms for s in segments]),
                tf=_concat([s.tf for s in segments]),
            )
            self.snapshot_keys = frozenset(s.key for s in segments)
            old = time.time() - STALE_SECONDS
            for path in self.folder.glob("*.npz"):  # and .tmp- files a killed writer left
                if path.name != self.SNAPSHOT:
                    with _quiet():
                        if path.stat().st_mtime < old:
                            path.unlink()

    def clear_others(self) -> None:
        """Remove what sits beside this folder that no index reads any more: the index saved
        before segments, and the segments of other generations or settings (a process still on
        one reads its documents from Chroma instead)."""
        parent = self.folder.parent
        for name in _LEGACY:
            with _quiet():
                if (parent / name).is_dir():
                    shutil.rmtree(parent / name)
                else:
                    (parent / name).unlink()
        with _quiet():
            for path in parent.iterdir():
                if path.name.startswith("segments-") and path != self.folder and path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)


def _concat(parts: list[Any]) -> Any:
    import numpy as np

    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)


# --- the index ----------------------------------------------------------------------------------
class LexicalIndex:
    """A BM25 index over chunk ids, with each chunk's document (``sources``) so that a search
    can be limited to some documents; ``signature`` names the store state it was built from.

    Made of ``segments`` (one per document version, in order), whose terms are columns of
    ``vocab``; the bm25s matrices are assembled from them here, the same numbers bm25s' own
    ``index`` computes from the same passages.
    """

    def __init__(
        self,
        segments: Sequence[Segment],
        vocab: Vocabulary,
        signature: str,
        cache: SegmentCache | None = None,
    ) -> None:
        self.segments = list(segments)
        self.vocab = vocab
        self.signature = signature
        self.cache = cache
        self.ids: list[str] = [i for s in self.segments for i in s.ids]
        self.sources: list[str] = [s.source for s in self.segments for _ in s.ids]
        self.live_terms = 0
        self.bm25 = self._assemble()
        self._stemmer = stemmer()
        self._names: list[str] = []
        self._source_of: Any = None

    def _assemble(self) -> Any:
        """The bm25s retriever over the segments (its 'lucene' BM25, as ``BM25.index`` does:
        idf from the document frequency over all chunks, length over the mean length)."""
        import bm25s
        import numpy as np
        import scipy.sparse as sp

        bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B)
        bm25.nonoccurrence_array = None
        if not self.ids:
            return bm25
        n_vocab, n_docs = len(self.vocab), len(self.ids)
        counts = _concat([s.counts for s in self.segments])
        terms = _concat([s.terms for s in self.segments])
        tf = _concat([s.tf for s in self.segments]).astype(np.float64)
        lengths = np.concatenate([s.lengths for s in self.segments])
        df = np.bincount(terms, minlength=n_vocab)
        self.live_terms = int(np.count_nonzero(df))
        # idf in float64 (math.log, as bm25s), kept in float32; once per distinct df
        idf = np.zeros(n_vocab, dtype=np.float32)
        values, where = np.unique(df, return_inverse=True)
        idf_of = np.asarray(
            [math.log(1 + (n_docs - d + 0.5) / (d + 0.5)) if d else 0.0 for d in values.tolist()]
        )
        idf[:] = idf_of[where]
        avg = lengths.mean()
        norm = BM25_K1 * ((1 - BM25_B) + BM25_B * lengths.astype(np.float64) / avg)
        rows = np.repeat(np.arange(n_docs, dtype=np.int32), counts)
        scores = (idf[terms].astype(np.float64) * (tf / (norm[rows] + tf))).astype(np.float32)
        indptr = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        matrix = sp.csr_matrix((scores, terms, indptr), shape=(n_docs, n_vocab)).tocsc()
        matrix.sort_indices()
        bm25.scores = {
            "data": matrix.data.astype(np.float32, copy=False),
            "indices": matrix.indices,
            "indptr": matrix.indptr,
            "num_docs": n_docs,
        }
        # a copy: the vocabulary grows with later documents, past this matrix's columns
        bm25.vocab_dict = dict(self.vocab.column)
        bm25.unique_token_ids_set = set(range(n_vocab))
        return bm25

    # --- making and updating ----------------------------------------------------------------------
    @classmethod
    def build(cls, items: Iterable[tuple[str, str, str]], signature: str) -> LexicalIndex:
        """Index ``(chunk id, text, source)`` triples, one segment per source (kept in memory)."""
        by_source: dict[str, tuple[list[str], list[str]]] = {}
        for id_, text, source in items:
            ids, texts = by_source.setdefault(source, ([], []))
            ids.append(id_)
            texts.append(text)
        vocab = Vocabulary()
        tokens = iter(tokenize([t for _, texts in by_source.values() for t in texts], stemmer()))
        segments = [
            Segment.from_tokens(source, source, ids, [next(tokens) for _ in ids], vocab)
            for source, (ids, _) in by_source.items()
        ]
        return cls(segments, vocab, signature)

    @classmethod
    def sync(
        cls,
        previous: LexicalIndex | None,
        records: Iterable[DocumentRecord],
        signature: str,
        folder: Path | None,
        read: Reader,
    ) -> LexicalIndex:
        """The index of the document versions ``records``: segments of ``previous`` kept, the
        others from the cache ``folder`` (the segments of one generation and settings), and
        what is in neither read with ``read`` and tokenised (then cached).

        ``previous`` must be an index over the same generation and settings (same ``folder``),
        or None to start from scratch.
        """
        wanted = {r.key: r for r in records}
        folder = Path(folder) if folder is not None else None
        if previous is not None and (previous.cache.folder if previous.cache else None) == folder:
            vocab, cache = previous.vocab, previous.cache
            have = {s.key: s for s in previous.segments if s.complete and s.key in wanted}
        else:
            vocab, have = Vocabulary(), {}
            cache = SegmentCache(Path(folder)) if folder is not None else None
            if cache is not None:
                cache.clear_others()
                if wanted:
                    snapped = cache.load_snapshot(set(wanted), vocab)
                    have = {k: s for k, s in snapped.items() if _whole(s, wanted[k])}
        if cache is not None:
            for key in [k for k in wanted if k not in have]:
                segment = cache.load(key, vocab)
                if segment is not None and _whole(segment, wanted[key]):
                    have[key] = segment
        fresh = cls._read_new([r for k, r in wanted.items() if k not in have], vocab, read)
        have.update((s.key, s) for s in fresh)
        segments = [have[k] for k in sorted(wanted)]
        index = cls(segments, vocab, signature, cache)
        if len(vocab) > 2 * index.live_terms + 20_000:  # terms of documents long gone
            index = cls._compacted(index)
        if cache is not None:
            unsnapped = sum(1 for s in segments if s.key not in cache.snapshot_keys)
            if unsnapped > max(SNAPSHOT_AFTER, len(segments) // SNAPSHOT_SHARE):
                cache.save_snapshot([s for s in index.segments if s.complete], index.vocab)
            else:
                for segment in fresh:
                    if segment.complete:
                        cache.save(segment)
        return index

    @staticmethod
    def _read_new(missing: list[DocumentRecord], vocab: Vocabulary, read: Reader) -> list[Segment]:
        if not missing:
            return []
        got = list(read(missing))
        given = {record.key for record, _ in got}
        got += [(r, []) for r in missing if r.key not in given]  # none read: incomplete, read again
        tokens = iter(tokenize([text for _, pairs in got for _, text in pairs], stemmer()))
        out = []
        for record, pairs in got:
            chunk_tokens = [next(tokens) for _ in pairs]
            out.append(
                Segment.from_tokens(
                    record.key, record.source, [i for i, _ in pairs], chunk_tokens, vocab,
                    complete=record.chunks <= 0 or len(pairs) == record.chunks,
                )
            )  # fmt: skip
        return out

    @classmethod
    def _compacted(cls, index: LexicalIndex) -> LexicalIndex:
        """The same index over a vocabulary of only the terms its segments use."""
        import numpy as np

        used = np.unique(_concat([s.terms for s in index.segments]))
        vocab = Vocabulary(index.vocab.terms[i] for i in used.tolist())
        columns = np.zeros(len(index.vocab), dtype=np.int32)
        columns[used] = np.arange(len(used), dtype=np.int32)
        segments = [s.remapped(columns, vocab) for s in index.segments]
        return cls(segments, vocab, index.signature, index.cache)

    # --- searching --------------------------------------------------------------------------------
    def _mask(self, allowed: frozenset[str]) -> Any:
        """1.0 for the chunks of the ``allowed`` documents, 0.0 for the others."""
        import numpy as np

        if self._source_of is None:  # each chunk's document as a number, made once
            self._names = sorted(set(self.sources))
            number = {name: i for i, name in enumerate(self._names)}
            self._source_of = np.fromiter(
                (number[s] for s in self.sources), dtype=np.int32, count=len(self.sources)
            )
        wanted = [i for i, name in enumerate(self._names) if name in allowed]
        return np.isin(self._source_of, wanted).astype(np.float32)

    def search(
        self, query: str, k: int, allowed: frozenset[str] | None = None
    ) -> list[tuple[str, float]]:
        """Up to ``k`` (chunk id, BM25 score) pairs with a positive score, best first; only
        chunks of the ``allowed`` documents when given."""
        if not self.ids:
            return []
        tokens = tokenize([self._query_form(query)], self._stemmer)
        if not tokens[0]:
            return []
        mask = self._mask(allowed) if allowed is not None else None
        docs, scores = self.bm25.retrieve(
            tokens,
            k=min(k, len(self.ids)),
            show_progress=False,
            n_threads=1,
            weight_mask=mask,
        )
        return [
            (self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0
        ]

    def term_weights(self, text: str) -> dict[str, float]:
        """The BM25 idf of each of ``text``'s index terms; a term the corpus lacks gets the
        largest idf possible (it is as rare as a term can be)."""
        n = int(self.bm25.scores["num_docs"]) if self.ids else 0
        indptr = self.bm25.scores["indptr"] if self.ids else []
        vocab = self.bm25.vocab_dict if self.ids else {}
        weights = {}
        text = self._query_form(text)
        words = " ".join(w for w in text.split() if w.lower().strip("?,.;:!") not in QUESTION_WORDS)
        for term in tokenize([words], self._stemmer)[0]:
            i = vocab.get(term)
            df = int(indptr[i + 1] - indptr[i]) if i is not None and i + 1 < len(indptr) else 0
            weights[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return weights

    def _query_form(self, query: str) -> str:
        """``query`` with "NIS2" read as "NIS 2" where the library only writes it apart."""
        if not self.ids or not _JOINED.search(query):
            return query
        vocab = self.bm25.vocab_dict

        def apart(m: re.Match[str]) -> str:
            joined = tokenize([m.group()], self._stemmer)[0]
            return m.group() if joined and joined[0] in vocab else f"{m.group(1)} {m.group(2)}"

        return _JOINED.sub(apart, query)

    def terms(self, text: str) -> set[str]:
        return set(tokenize([text], self._stemmer)[0])


def _whole(segment: Segment, record: DocumentRecord) -> bool:
    return segment.source == record.source and (
        record.chunks <= 0 or len(segment.ids) == record.chunks
    )
