"""The embedding backends: ONNX Runtime (fp32, int8) against torch, the exported graph's cache,
and the store's fingerprint that keeps vectors of different encoders apart."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.composition import build_embedder, build_store
from assistant.settings import Settings, SettingsInvalidError, load_settings
from vectorstore import SentenceEmbedder, StoreMismatchError

TEXTS = [
    "States should not conduct or knowingly support ICT activity contrary to their obligations.",
    "Essential entities shall notify the CSIRT of any significant incident without undue delay.",
    "Cable",
    "The Programme of Action would be a permanent, inclusive and action-oriented mechanism "
    "for advancing responsible State behaviour in the use of ICTs, with a review conference "
    "every few years and regular plenary meetings open to all Member States of the United "
    "Nations, and stakeholders invited to contribute within their competences. " * 3,
]


@pytest.fixture(scope="module")
def torch_vectors():
    return SentenceEmbedder(backend="torch").encode(TEXTS)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.mark.parametrize(("backend", "least"), [("onnx", 0.9999), ("onnx-int8", 0.97)])
def test_onnx_vectors_match_torch(backend, least, torch_vectors, cache):
    embedder = SentenceEmbedder(backend=backend, cache_dir=cache)
    vectors = embedder.encode(TEXTS, batch_size=2)  # batches mix lengths; order must hold
    assert vectors.shape == torch_vectors.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosine = (vectors * torch_vectors).sum(axis=1)
    assert cosine.min() >= least, cosine
    # a text is nearest to its own torch vector, not to another text's
    assert (np.argmax(vectors @ torch_vectors.T, axis=1) == np.arange(len(TEXTS))).all()
    assert embedder.encoder == backend
    # int8 activations are scaled per batch, so a text's vector moves a little with its batch
    alone = np.asarray(embedder.embed_query(TEXTS[1]))
    assert float(alone @ vectors[1]) >= (0.99999 if backend == "onnx" else 0.98)


def test_bf16_vectors_match_torch(torch_vectors):
    """bfloat16 matrix products (autocast; exact on CPUs without native bf16, only slower)."""
    embedder = SentenceEmbedder(backend="torch-bf16")
    vectors = embedder.encode(TEXTS, batch_size=2)
    assert vectors.shape == torch_vectors.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosine = (vectors * torch_vectors).sum(axis=1)
    assert cosine.min() >= 0.999, cosine
    assert (np.argmax(vectors @ torch_vectors.T, axis=1) == np.arange(len(TEXTS))).all()
    assert embedder.encoder == "torch-bf16"
    assert embedder.encode([]).shape == (0, embedder.dimension)
    reader = SentenceEmbedder(backend="onnx")  # auto opening a store that torch-bf16 built
    reader.use_encoder("torch-bf16")
    assert reader.encoder == "torch-bf16" and not reader.half


def test_exported_graph_is_kept_and_reused(cache):
    first = SentenceEmbedder(backend="onnx-int8", cache_dir=cache)
    graph = first.model.graph_path()
    assert graph.parent == cache and graph.name.endswith("-int8.onnx")
    assert {p.suffix for p in cache.iterdir()} == {".onnx"}  # no temporary file left behind
    made = graph.stat().st_mtime_ns
    again = SentenceEmbedder(backend="onnx-int8", cache_dir=cache).model.graph_path()
    assert again == graph and again.stat().st_mtime_ns == made  # not exported a second time


def test_prefetched_torch_encoding_gives_the_same_vectors(torch_vectors):
    """The GPU path (tokenising in threads ahead of the model), run on the CPU."""
    embedder = SentenceEmbedder(backend="torch")
    vectors = embedder._encode_prefetched(TEXTS, batch_size=2, workers=2)
    assert np.allclose(vectors, torch_vectors, atol=1e-5)


def test_backend_settings_are_checked(monkeypatch):
    monkeypatch.setenv("POLICY_ASSISTANT_EMBEDDING_BACKEND", "tensorrt")
    with pytest.raises(SettingsInvalidError, match="POLICY_ASSISTANT_EMBEDDING_BACKEND"):
        load_settings()
    with pytest.raises(ValueError, match="torch backend only"):
        SentenceEmbedder(backend="onnx", device="cuda")


def test_the_store_records_its_encoder_and_auto_keeps_it(tmp_path):
    base = {"data_dir": tmp_path / "data", "collection": "enc", "model_cache_dir": tmp_path}
    built = build_embedder(Settings(**base, embedding_backend="onnx-int8"))
    store = build_store(Settings(**base, embedding_backend="onnx-int8"), built)
    store.open(create=True)
    assert store.recorded_fingerprint()["encoder"] == "onnx-int8"

    # auto (the default) queries an existing store with the encoder that built it
    auto = build_embedder(Settings(**base))
    assert auto.encoder == "onnx"  # what a new store would get
    reopened = build_store(Settings(**base), auto)
    assert auto.encoder == "onnx-int8" and reopened.fingerprint["encoder"] == "onnx-int8"
    reopened.open()

    # an explicit other encoder is refused in one line, naming what differs and the fix
    other = Settings(**base, embedding_backend="onnx")
    with pytest.raises(StoreMismatchError, match="encoder: store has 'onnx-int8'.*--rebuild"):
        build_store(other, build_embedder(other)).open()


def test_a_store_made_before_encoders_were_recorded_counts_as_torch(tmp_path):
    from vectorstore import ChunkStore, connect

    settings = Settings(data_dir=tmp_path / "data", collection="old")
    embedder = build_embedder(settings.model_copy(update={"embedding_backend": "torch"}))
    fingerprint = {k: v for k, v in build_store(settings, embedder).fingerprint.items()}
    fingerprint.pop("encoder")
    fingerprint.pop("schema")
    ChunkStore(connect(settings.data_dir), "old", fingerprint).open(create=True)
    auto = build_embedder(settings)
    build_store(settings, auto).open()  # no mismatch: the old store is read with torch
    assert auto.encoder == "torch"


def test_a_rebuild_switches_the_store_to_another_encoder(tmp_path):
    """The mismatch message says `ingest --rebuild`: it must work with the new settings."""
    from assistant.composition import run_ingest

    from .conftest import MARKDOWN, copy_corpus

    corpus = copy_corpus(tmp_path, (MARKDOWN,))
    base = {"data_dir": tmp_path / "data", "corpus_dir": corpus, "model_cache_dir": tmp_path}
    torch_settings = Settings(**base, embedding_backend="torch")
    assert run_ingest(torch_settings, [corpus], progress=False).added == [MARKDOWN]
    onnx_settings = Settings(**base, embedding_backend="onnx")
    with pytest.raises(StoreMismatchError):
        build_store(onnx_settings, build_embedder(onnx_settings)).open()
    report = run_ingest(onnx_settings, [], rebuild=True, progress=False)
    assert report.added == [MARKDOWN]
    store = build_store(onnx_settings, build_embedder(onnx_settings)).open()
    assert store.recorded_fingerprint()["encoder"] == "onnx" and store.count() > 0


def test_token_counts_stay_right_while_the_encoder_runs_in_another_thread(cache):
    """Ingest counts tokens (untruncated) while its encoder thread tokenises truncated, padded
    batches: a shared fast tokenizer let a count run with the encoder's settings."""
    import threading

    embedder = SentenceEmbedder(backend="onnx", cache_dir=cache)
    long = " ".join(["cyber"] * 600)
    expected = embedder.count_tokens(long)
    assert expected > embedder.max_tokens
    seen: list[object] = []
    stop = threading.Event()

    def encode() -> None:
        seen.append(embedder.model.tokenizer)
        while not stop.is_set():
            embedder.encode([long, "short"] * 8, batch_size=16)

    worker = threading.Thread(target=encode)
    worker.start()
    try:
        counts = [embedder.count_tokens(long) for _ in range(400)]
    finally:
        stop.set()
        worker.join()
    assert seen and seen[0] is not embedder.tokenizer  # each thread its own instance
    assert set(counts) == {expected}
