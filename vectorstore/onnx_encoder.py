"""The packaged sentence-transformers model run by ONNX Runtime (fp32, or int8 weights).

sentence-transformers' own ``backend="onnx"`` needs ``optimum-onnx``, which pins transformers
below 4.58 (this project has 5.x), so the export is done here with ``torch.onnx`` and the
quantisation with ONNX Runtime's own tool. The graph is exported once, locally, from the
packaged weights (nothing is downloaded) into a cache folder, under a name that changes with
the weights and the runtime's version; later processes load it without importing torch.

Pooling (the attention-masked mean) and normalisation follow the model's sentence-transformers
configuration, so the fp32 graph gives the torch vectors (cosine 0.99999+).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from .embeddings import ThreadTokenizers, length_batches

__all__ = ["OnnxEncoder", "default_cache_dir"]

log = logging.getLogger(__name__)

EXPORT_VERSION = "1"  # bump when the export below changes: cached graphs are made again
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/policy-assistant`` (``~/.cache/policy-assistant``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "policy-assistant"


class OnnxEncoder:
    """Mean-pooled, normalised sentence vectors from an ONNX export of ``model_path``.

    ``quantized``: int8 weights (dynamic quantisation, per channel); activations stay float.
    ``threads``: ONNX Runtime's intra-op threads (0: its default, one per core).
    """

    def __init__(
        self,
        model_path: str,
        *,
        quantized: bool = False,
        cache_dir: Path | None = None,
        threads: int = 0,
    ) -> None:
        self.model_path = Path(model_path)
        self.quantized = quantized
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.threads = threads
        config = self._config("sentence_bert_config.json")
        self.max_seq_length = int(config.get("max_seq_length") or 256)
        self.do_lower_case = bool(config.get("do_lower_case"))
        pooling = self._config("1_Pooling/config.json")
        if pooling and not pooling.get("pooling_mode_mean_tokens"):
            raise ValueError(
                f"{model_path}: the ONNX backend supports mean-pooling models only; "
                "set POLICY_ASSISTANT_EMBEDDING_BACKEND=torch"
            )
        modules = self._config("modules.json")
        self.normalize = not modules or any(
            str(m.get("type", "")).endswith("Normalize") for m in modules
        )
        self._tokenizers = ThreadTokenizers(str(self.model_path))
        self.session = self._session(self.graph_path())
        self._input_names = {i.name for i in self.session.get_inputs()}

    @property
    def tokenizer(self) -> Any:
        """This thread's instance of the model's tokenizer (queries and ingest run at once)."""
        return self._tokenizers.get()

    def _config(self, name: str) -> Any:
        try:
            return json.loads((self.model_path / name).read_text())
        except (OSError, ValueError):
            return {}

    # --- the exported graph ---------------------------------------------------------------------
    def graph_path(self) -> Path:
        """The cached graph for these weights, runtime and precision; exported when missing."""
        import onnxruntime

        weights = sorted(self.model_path.glob("*.safetensors")) or sorted(
            self.model_path.glob("*.bin")
        )
        h = hashlib.sha256(f"{EXPORT_VERSION} {onnxruntime.__version__}".encode())
        for path in weights:
            stat = path.stat()
            h.update(f"{path.name} {stat.st_size} {stat.st_mtime_ns}".encode())
        name = f"{self.model_path.name}-{h.hexdigest()[:16]}"
        fp32 = self.cache_dir / f"{name}.onnx"
        int8 = self.cache_dir / f"{name}-int8.onnx"
        if not fp32.exists():
            self._export(fp32)
        if self.quantized and not int8.exists():
            self._quantize(fp32, int8)
        return int8 if self.quantized else fp32

    def _export(self, target: Path) -> None:
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()

        log.warning("exporting %s to ONNX (once, a few seconds) into %s", self.model_path, target)
        model = AutoModel.from_pretrained(str(self.model_path), local_files_only=True).eval()

        class LastHiddenState(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                out = self.inner(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                )
                return out.last_hidden_state

        sample = self.tokenizer(
            ["a sample", "a longer sample text"], padding=True, return_tensors="pt"
        )
        axes = {"batch": 0, "tokens": 1}
        dynamic = {name: {v: k for k, v in axes.items()} for name in (*INPUTS, "last_hidden_state")}
        with _atomic(target) as tmp, torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on constant shapes: expected
            torch.onnx.export(
                LastHiddenState(model),
                tuple(sample[name] for name in INPUTS),
                str(tmp),
                input_names=list(INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes=dynamic,
                opset_version=17,
                dynamo=False,
            )

    def _quantize(self, source: Path, target: Path) -> None:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # its advice to pre-process is for static quantisation
        try:
            with _atomic(target) as tmp:
                quantize_dynamic(
                    str(source), str(tmp), weight_type=QuantType.QInt8, per_channel=True
                )
        finally:
            root.setLevel(level)

    def _session(self, path: Path) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = self.threads
        options.log_severity_level = 3
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    # --- encoding -------------------------------------------------------------------------------
    def encode(self, texts: list[str], batch_size: int = 32) -> Any:
        """One float32 row per text, in the order given (batches are formed by length, as
        sentence-transformers does, so that little padding is computed)."""
        import numpy as np

        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        texts = [t.lower() for t in texts] if self.do_lower_case else list(texts)
        rows: list[Any] = [None] * len(texts)
        for part in length_batches(texts, batch_size):
            vectors = self._encode_batch([texts[i] for i in part])
            for i, vector in zip(part, vectors, strict=True):
                rows[i] = vector
        return np.vstack(rows)

    def _encode_batch(self, texts: list[str]) -> Any:
        import numpy as np

        encoded = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_seq_length,
            return_tensors="np",
        )
        feed = {k: v.astype(np.int64) for k, v in encoded.items() if k in self._input_names}
        if "token_type_ids" in self._input_names and "token_type_ids" not in feed:
            feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
        hidden = self.session.run(None, feed)[0]
        mask = encoded["attention_mask"][..., None].astype(np.float32)
        vectors = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        if self.normalize:
            vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        return vectors.astype(np.float32)


class _atomic:
    """A temporary path beside ``target``, moved onto it when the block succeeds: processes
    that export at the same time each write their own file, and a reader never sees half."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".export-", suffix=".onnx", dir=self.target.parent)
        os.close(fd)
        self.tmp = Path(name)
        return self.tmp

    def __exit__(self, kind: Any, *exc: Any) -> None:
        if kind is None:
            os.replace(self.tmp, self.target)
        else:
            self.tmp.unlink(missing_ok=True)
