"""The embedding backends side by side: torch fp32, torch bf16 (autocast), ONNX Runtime fp32 and
ONNX Runtime int8.

All on the same texts (the passages ingest embeds for the corpus, parsed once) and the same
batch size, in one run, the backends taking turns round by round so that a noisy machine
slows them alike:

- passages per second of ``SentenceEmbedder.encode`` (wall and CPU time), and model load time;
- query embedding: milliseconds per single question (the dev set's questions);
- agreement with torch: cosine of each passage's vector with torch's, and how many of torch's
  10 nearest passages each backend also finds for the dev questions (exact search);
- with ``--ingest``: a full ``ingest`` of the corpus into a fresh store per backend (parsing
  overlapped with encoding, as the product does), and the parse time alone.

Retrieval quality per backend is measured by ``bench/retrieval.py`` (SciFact) with
``POLICY_ASSISTANT_EMBEDDING_BACKEND`` set. Results go to ``bench/results/<name>.json``.

    python -m bench.ingest                 # encoder comparison on the corpus's passages
    python -m bench.ingest --ingest        # plus a full ingest per backend (several minutes)
    python -m bench.ingest --limit 1000 --rounds 3
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import (
    PROJECT_ROOT,
    bench_settings,
    configure_environment,
    format_table,
    machine,
    percentile,
    timed,
    write_results,
)

BACKENDS = ("torch", "torch-bf16", "onnx", "onnx-int8")
GOAL_SPEEDUP = 2.0


def corpus_texts(corpus: Path, settings: Any, embedder: Any) -> tuple[list[str], float]:
    """The distinct texts ingest embeds for ``corpus``, and the seconds parsing them took."""
    from bench.ingest_speed import prepare_all
    from ingest import IngestReport
    from ingest.sync import collect_files

    files = collect_files([corpus], corpus, (settings.catalog_file, "SOURCES.web"), IngestReport())
    sources = [str(p.relative_to(corpus)) for p in files]
    prepared, took = timed(lambda: prepare_all(sources, corpus, settings, embedder))
    texts = list(dict.fromkeys(t for doc in prepared for t in doc.texts))
    return texts, took.wall


def questions() -> list[str]:
    path = PROJECT_ROOT / "bench" / "dev_cases.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r["question"] for r in rows]


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    from assistant.composition import build_embedder

    corpus = args.corpus.resolve()
    cache = Path(tempfile.mkdtemp(prefix="onnx-cache-")) if args.fresh_export else None
    settings = bench_settings(Path(tempfile.mkdtemp(prefix="ingest-bench-")), corpus)
    embedders: dict[str, Any] = {}
    load: dict[str, float] = {}
    for backend in BACKENDS:
        configured = settings.model_copy(
            update={"embedding_backend": backend, "model_cache_dir": cache}
        )
        embedders[backend] = build_embedder(configured)
        _, took = timed(lambda e=embedders[backend]: e.model)
        load[backend] = took.wall
    print(f"parsing {corpus} ...", file=sys.stderr)
    texts, parse_seconds = corpus_texts(corpus, settings, embedders["torch"])
    texts = texts[: args.limit] if args.limit else texts
    asked = questions()
    for e in embedders.values():
        e.encode(texts[: e.batch_size])  # warm-up

    rates: dict[str, list[dict[str, float]]] = {b: [] for b in BACKENDS}
    vectors: dict[str, Any] = {}
    for n in range(args.rounds):
        for backend in BACKENDS if n % 2 == 0 else reversed(BACKENDS):
            print(f"round {n + 1}: {backend} on {len(texts)} passages ...", file=sys.stderr)
            encoded, took = timed(lambda b=backend: embedders[b].encode(texts))
            vectors[backend] = encoded
            rates[backend].append({"wall": len(texts) / took.wall, "cpu": len(texts) / took.cpu})

    query_ms: dict[str, list[float]] = {}
    queries: dict[str, Any] = {}
    for backend, e in embedders.items():
        times, rows = [], []
        for q in asked:
            start = time.perf_counter()
            rows.append(e.embed_query(q))
            times.append((time.perf_counter() - start) * 1000)
        query_ms[backend], queries[backend] = times, np.asarray(rows, dtype=np.float32)

    reference = vectors["torch"]
    nearest = np.argsort(-(queries["torch"] @ reference.T), axis=1)[:, :10]
    agreement = {}
    for backend in BACKENDS:
        cosine = (vectors[backend] * reference).sum(axis=1)
        found = np.argsort(-(queries[backend] @ vectors[backend].T), axis=1)[:, :10]
        overlap = [len(set(a) & set(b)) / 10 for a, b in zip(found, nearest, strict=True)]
        agreement[backend] = {
            "cosine_min": float(cosine.min()),
            "cosine_mean": float(cosine.mean()),
            "top10_overlap_with_torch": float(np.mean(overlap)),
        }

    ingests = run_ingests(corpus, settings, cache) if args.ingest else {}
    return {
        "benchmark": "embedding backends",
        "corpus": str(corpus),
        "passages": len(texts),
        "questions": len(asked),
        "batch_size": embedders["torch"].batch_size,
        "rounds": args.rounds,
        "parse_seconds": parse_seconds,
        "load_seconds": load,
        "passages_per_second": {
            b: {k: statistics.median(r[k] for r in rates[b]) for k in ("wall", "cpu")}
            for b in BACKENDS
        },
        "query_ms": {
            b: {"p50": percentile(t, 0.5), "p95": percentile(t, 0.95)} for b, t in query_ms.items()
        },
        "agreement": agreement,
        "ingest": ingests,
        "goal_speedup": GOAL_SPEEDUP,
        "machine": machine(),
    }


def run_ingests(corpus: Path, settings: Any, cache: Path | None) -> dict[str, Any]:
    """A full ingest of ``corpus`` into a fresh store per backend: seconds and chunks/s."""
    from assistant.composition import build_embedder, build_store, ingest_options
    from ingest import ingest

    out = {}
    for backend in BACKENDS:
        with tempfile.TemporaryDirectory(prefix=f"ingest-{backend}-") as data:
            configured = settings.model_copy(
                update={
                    "data_dir": Path(data),
                    "embedding_backend": backend,
                    "model_cache_dir": cache,
                }
            )
            embedder = build_embedder(configured)
            embedder.encode(["warm-up"] * embedder.batch_size)
            store = build_store(configured, embedder)
            options = dataclasses.replace(ingest_options(configured), root=corpus)
            print(f"ingesting {corpus} with {backend} ...", file=sys.stderr)
            report, took = timed(
                lambda s=store, e=embedder, o=options: ingest([corpus], s, e, o, progress=False)
            )
            out[backend] = {
                "documents": len(report.added),
                "chunks": report.chunks_written,
                "seconds": took.wall,
                "chunks_per_second": report.chunks_written / took.wall,
            }
    return out


def print_results(res: dict[str, Any]) -> None:
    rate, base = res["passages_per_second"], res["passages_per_second"]["torch"]["wall"]
    rows = []
    for b in BACKENDS:
        a = res["agreement"][b]
        rows.append(
            [
                b,
                f"{rate[b]['wall']:.1f}",
                f"{rate[b]['wall'] / base:.2f}x",
                f"{rate[b]['cpu']:.1f}",
                f"{res['query_ms'][b]['p50']:.1f} / {res['query_ms'][b]['p95']:.1f}",
                f"{res['load_seconds'][b]:.1f}",
                f"{a['cosine_min']:.4f} / {a['cosine_mean']:.4f}",
                f"{a['top10_overlap_with_torch']:.3f}",
            ]
        )
    print(
        f"\n{res['passages']} passages of {res['corpus']}, batch {res['batch_size']}, median of "
        f"{res['rounds']} rounds (parsing them took {res['parse_seconds']:.1f} s)"
    )
    print(
        format_table(
            [
                "backend",
                "passages/s",
                "vs torch",
                "per CPU-s",
                "query ms p50/p95",
                "load s",
                "cosine min/mean",
                "top-10 overlap",
            ],
            rows,
        )
    )
    if res["ingest"]:
        print("\nfull ingest of the corpus into a fresh store (parsing overlapped with encoding)")
        print(
            format_table(
                ["backend", "documents", "chunks", "seconds", "chunks/s"],
                [
                    [
                        b,
                        r["documents"],
                        r["chunks"],
                        f"{r['seconds']:.1f}",
                        f"{r['chunks_per_second']:.1f}",
                    ]
                    for b, r in res["ingest"].items()
                ],
            )
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="torch, torch bf16, ONNX fp32 and ONNX int8 encoders side by side on the corpus's passages.",
        epilog="example: python -m bench.ingest --ingest",
    )
    parser.add_argument("--corpus", type=Path, default=PROJECT_ROOT / "corpus", help="folder")
    parser.add_argument("--limit", type=int, default=0, help="encode only the first N passages")
    parser.add_argument("--rounds", type=int, default=2, help="encoding rounds (default: 2)")
    parser.add_argument("--ingest", action="store_true", help="also a full ingest per backend")
    parser.add_argument(
        "--fresh-export", action="store_true", help="export the ONNX graphs into a new cache"
    )
    parser.add_argument("--name", default="backends", help="results file (default: backends)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_environment()
    results = run_benchmark(args)
    print_results(results)
    print(f"wrote {write_results(args.name, results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
