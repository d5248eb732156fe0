"""BM25 over the stored chunks (bm25s + Snowball stemming), saved beside the store and rebuilt from it.

Chroma is the source of truth: the index records the manifest signature it was built from, and
``LexicalIndex.load_or_build`` rebuilds it whenever the store's documents changed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .text import QUESTION_WORDS, STEMMER_LANGUAGE, stemmer

__all__ = ["LexicalIndex", "tokenize"]

# Single characters and digits count ("Article 5", "paragraph 3"): bm25s' default drops them.
TOKEN_PATTERN = r"(?u)\b\w+\b"
# SciFact (bench/retrieval.py): k1 0.9, b 0.4 gave BM25 nDCG@10 0.673 and hybrid 0.732, against
# 0.667 and 0.725 with bm25s' usual 1.2 / 0.75; passages are short, so length matters less
BM25_K1 = 0.9
BM25_B = 0.4
# what the index depends on besides the documents: a saved index built otherwise is rebuilt
INDEX_CONFIG = (
    f"bm25s k1={BM25_K1} b={BM25_B} tokens={TOKEN_PATTERN} stem={STEMMER_LANGUAGE} sources"
)


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


class LexicalIndex:
    """A BM25 index over chunk ids, with each chunk's document (``sources``) so that a search
    can be limited to some documents; ``signature`` names the store state it was built from."""

    def __init__(self, ids: list[str], sources: list[str], bm25: Any, signature: str) -> None:
        self.ids = ids
        self.sources = sources
        self.bm25 = bm25
        self.signature = signature
        self._stemmer = stemmer()
        self._names: list[str] = []
        self._source_of: Any = None

    @classmethod
    def build(cls, items: Iterable[tuple[str, str, str]], signature: str) -> LexicalIndex:
        """Index ``(chunk id, text, source)`` triples."""
        import bm25s

        ids: list[str] = []
        texts: list[str] = []
        sources: list[str] = []
        for id_, text, source in items:
            ids.append(id_)
            texts.append(text)
            sources.append(source)
        bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B)
        if texts:
            bm25.index(tokenize(texts, stemmer()), show_progress=False)
        return cls(ids, sources, bm25, signature)

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
        tokens = tokenize([query], self._stemmer)
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
        import math

        n = int(self.bm25.scores["num_docs"]) if self.ids else 0
        indptr = self.bm25.scores["indptr"] if self.ids else []
        vocab = self.bm25.vocab_dict if self.ids else {}
        weights = {}
        words = " ".join(w for w in text.split() if w.lower().strip("?,.;:!") not in QUESTION_WORDS)
        for term in tokenize([words], self._stemmer)[0]:
            i = vocab.get(term)
            df = int(indptr[i + 1] - indptr[i]) if i is not None and i + 1 < len(indptr) else 0
            weights[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return weights

    def terms(self, text: str) -> set[str]:
        return set(tokenize([text], self._stemmer)[0])

    # --- persistence ------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write atomically: a reader sees the old index or the new one, never a mix."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".lexical-", dir=folder.parent))
        if self.ids:
            self.bm25.save(str(tmp / "bm25"))
        (tmp / "ids.json").write_text(json.dumps(self.ids))
        names = sorted(set(self.sources))
        number = {name: i for i, name in enumerate(names)}
        (tmp / "sources.json").write_text(
            json.dumps({"names": names, "of": [number[s] for s in self.sources]})
        )
        (tmp / "signature").write_text(self.signature)
        old = folder.with_name(folder.name + ".old")
        if folder.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex | None:
        """The saved index, or None when there is none or it cannot be read."""
        import bm25s

        folder = Path(folder)
        try:
            signature = (folder / "signature").read_text()
            ids = json.loads((folder / "ids.json").read_text())
            saved = json.loads((folder / "sources.json").read_text())
            sources = [saved["names"][i] for i in saved["of"]]
            bm25 = bm25s.BM25.load(str(folder / "bm25")) if ids else bm25s.BM25()
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            return None
        if len(sources) != len(ids):
            return None
        return cls(ids, sources, bm25, signature)

    @staticmethod
    def saved_signature(folder: Path) -> str | None:
        try:
            return (Path(folder) / "signature").read_text()
        except OSError:
            return None
