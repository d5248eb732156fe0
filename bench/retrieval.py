"""SciFact retrieval benchmark, run through the project's own ingest and search code.

Each SciFact abstract is written as ``<doc_id>.txt`` (title, blank line, text) into a temporary
corpus folder and ingested with ``ingest.ingest`` into a Chroma store built from the app's
settings. For each of the 300 test claims the dense and the lexical chunk rankings are fetched
once (``HybridSearcher.dense`` / ``.lexical``, ``--depth`` chunks deep) and every method is
derived from them offline with ``vectorstore.fusion``. Chunks are passages: a document's score is
the best score of its chunks. nDCG@10 and Recall@100 are computed with ranx.

Results are printed as a table and written to ``bench/results/<name>.json``.

    python -m bench.retrieval                          # default settings, throw-away store
    python -m bench.retrieval --data-dir /tmp/sf-200   # keep the store: reruns skip the ingest
    python -m bench.retrieval --max-tokens 128 --data-dir /tmp/sf-128
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._common import (
    PROJECT_ROOT,
    bench_settings,
    configure_environment,
    folder_or_temp,
    format_table,
    machine,
    peak_rss_mib,
    timed,
    write_results,
)

DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "bench-data" / "scifact" / "beir"
METRICS = ("ndcg@10", "recall@100")
ALPHAS = (0.3, 0.4, 0.5, 0.6, 0.7)
FUSION_DEPTHS = (50, 100, 200)
REFERENCES = {
    "BM25, Elasticsearch (BEIR paper)": 0.665,
    "all-MiniLM-L6-v2 dense (MTEB, as cited)": 0.645,
}
GOAL_NDCG = 0.74

Ranking = list[tuple[str, float]]  # (id, score), best first
Fuse = Callable[[Ranking, Ranking], Ranking]  # (dense, lexical) -> fused


@dataclass(frozen=True)
class SciFact:
    """The BEIR files: documents (title, text), the test queries and their judgements."""

    documents: dict[str, tuple[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


@dataclass(frozen=True)
class Method:
    """One row of the results: a document ranking per query."""

    name: str
    group: str
    runs: dict[str, Ranking]


def load_scifact(folder: Path) -> SciFact:
    """Read ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/test.tsv`` (test queries only)."""
    documents = {}
    with (folder / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            documents[str(row["_id"])] = (row.get("title") or "", row["text"])
    qrels: dict[str, dict[str, int]] = {}
    with (folder / "qrels" / "test.tsv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if int(row["score"]) > 0:
                qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    queries = {}
    with (folder / "queries.jsonl").open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if str(row["_id"]) in qrels:
                queries[str(row["_id"])] = row["text"]
    missing = set(qrels) - set(queries)
    if missing:
        raise ValueError(f"{len(missing)} judged queries have no text in queries.jsonl")
    return SciFact(documents, queries, qrels)


def write_corpus(documents: dict[str, tuple[str, str]], folder: Path) -> None:
    """One ``<doc_id>.txt`` per document: the title, a blank line, the text."""
    for doc_id, (title, text) in documents.items():
        (folder / f"{doc_id}.txt").write_text(f"{title}\n\n{text}\n", encoding="utf-8")


def retrieve(
    searcher: Any, queries: dict[str, str], depth: int
) -> tuple[dict[str, Ranking], dict[str, Ranking], dict[str, float]]:
    """Dense and lexical chunk rankings per query, ``depth`` deep, and mean latencies in ms."""
    dense: dict[str, Ranking] = {}
    lexical: dict[str, Ranking] = {}
    dense_seconds = lexical_seconds = 0.0
    for qid, text in queries.items():
        hits, took = timed(lambda text=text: searcher.dense(text, depth))
        dense[qid] = [(chunk.id, score) for chunk, score in hits]
        dense_seconds += took.wall
        lexical[qid], took = timed(lambda text=text: searcher.lexical(text, depth))
        lexical_seconds += took.wall
    n = max(len(queries), 1)
    latency = {"dense_ms": 1000 * dense_seconds / n, "lexical_ms": 1000 * lexical_seconds / n}
    return dense, lexical, latency


def by_document(ranking: Ranking, doc_of: dict[str, str]) -> Ranking:
    """Chunks grouped into documents; a document scores its best chunk."""
    best: dict[str, float] = {}
    for chunk, score in ranking:
        doc = doc_of[chunk]
        if doc not in best or score > best[doc]:
            best[doc] = score
    return sorted(best.items(), key=lambda kv: kv[1], reverse=True)


def build_methods(
    dense: dict[str, Ranking], lexical: dict[str, Ranking], doc_of: dict[str, str], alpha: float
) -> list[Method]:
    """Every compared method, as document rankings per query; ``alpha`` is the app's setting."""
    from vectorstore.fusion import reciprocal_rank_fusion, weighted_score_fusion

    def weighted(a: float) -> Fuse:
        return lambda d, lx: weighted_score_fusion(d, lx, a)

    def rrf(d: Ranking, lx: Ranking) -> Ranking:
        return reciprocal_rank_fusion([d, lx])

    def fuse_chunks(fuse: Fuse, depth: int | None = None) -> dict[str, Ranking]:
        return {q: by_document(fuse(dense[q][:depth], lexical[q][:depth]), doc_of) for q in dense}

    def fuse_documents(fuse: Fuse) -> dict[str, Ranking]:
        return {
            q: fuse(by_document(dense[q], doc_of), by_document(lexical[q], doc_of)) for q in dense
        }

    single = "single retriever"
    deep = "hybrid: chunks fused, full candidate depth"
    shallow = "hybrid: chunks fused at a fusion depth"
    grouped = "hybrid: documents fused (group chunks first)"
    methods = [
        Method("lexical (BM25)", single, {q: by_document(r, doc_of) for q, r in lexical.items()}),
        Method("dense (MiniLM)", single, {q: by_document(r, doc_of) for q, r in dense.items()}),
    ]
    methods += [Method(f"weighted a={a}", deep, fuse_chunks(weighted(a))) for a in ALPHAS]
    methods.append(Method("RRF k=60", deep, fuse_chunks(rrf)))
    for depth in FUSION_DEPTHS:
        methods.append(
            Method(
                f"weighted a={alpha} depth {depth}", shallow, fuse_chunks(weighted(alpha), depth)
            )
        )
        methods.append(Method(f"RRF k=60 depth {depth}", shallow, fuse_chunks(rrf, depth)))
    methods += [
        Method(f"weighted a={a}, documents", grouped, fuse_documents(weighted(a))) for a in ALPHAS
    ]
    methods.append(Method("RRF k=60, documents", grouped, fuse_documents(rrf)))
    return methods


def evaluate(qrels: dict[str, dict[str, int]], runs: dict[str, Ranking]) -> dict[str, float]:
    """nDCG@10 and Recall@100 over all judged queries (a query without results scores 0)."""
    from ranx import Qrels, Run
    from ranx import evaluate as ranx_evaluate

    run = Run.from_dict({q: dict(runs.get(q, [])) for q in qrels})
    scores = ranx_evaluate(Qrels.from_dict(qrels), run, list(METRICS))
    return {m: float(scores[m]) for m in METRICS}


def run_benchmark(
    data: SciFact, data_dir: Path, overrides: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """Ingest SciFact into the store under ``data_dir``, search, score; the results as JSON."""
    from assistant.composition import build_embedder, build_searcher, build_store, ingest_options
    from ingest import ingest

    with tempfile.TemporaryDirectory(prefix="scifact-corpus-") as tmp:
        corpus = Path(tmp)
        write_corpus(data.documents, corpus)
        settings = bench_settings(data_dir, corpus, **overrides)
        embedder = build_embedder(settings)
        store = build_store(settings, embedder)
        print(f"ingesting {len(data.documents)} documents into {data_dir} ...", file=sys.stderr)
        report = ingest(
            [corpus],
            store,
            embedder,
            dataclasses.replace(ingest_options(settings), root=corpus),
            progress=args.progress,
        )
    searcher = build_searcher(settings, embedder, store)
    _, lexical_took = timed(lambda: searcher.refresh(force=True))
    doc_of = {c.id: c.source.removesuffix(".txt") for c in store.iter_chunks()}

    print(f"searching {len(data.queries)} queries, {args.depth} chunks deep ...", file=sys.stderr)
    dense, lexical, latency = retrieve(searcher, data.queries, args.depth)
    methods = build_methods(dense, lexical, doc_of, settings.fusion_alpha)
    fewest = {
        kind: min(len(by_document(r, doc_of)) for r in runs.values())
        for kind, runs in (("dense", dense), ("lexical", lexical))
    }
    return {
        "benchmark": "scifact-beir-test",
        "data": str(args.data),
        "queries": len(data.queries),
        "judgements": sum(len(v) for v in data.qrels.values()),
        "settings": {
            "model": embedder.model_id,
            "chunk_max_tokens": min(settings.chunk_max_tokens, embedder.max_tokens),
            "chunk_min_tokens": settings.chunk_min_tokens,
            "fusion": settings.fusion,
            "fusion_alpha": settings.fusion_alpha,
            "fusion_depth": settings.fusion_depth,
            "candidate_depth": args.depth,
        },
        "store": {"documents": len(searcher.documents), "chunks": store.count()},
        "ingest": {
            "added": len(report.added),
            "unchanged": len(report.unchanged),
            "failed": report.as_json()["failed"],
            "chunks_written": report.chunks_written,
            "seconds": report.elapsed,
            "chunks_per_s": report.chunks_written / report.elapsed
            if report.chunks_written
            else None,
        },
        "lexical_index_seconds": lexical_took.wall,
        "latency_ms": latency,
        "fewest_documents_in_candidates": fewest,
        "results": {m.name: {"group": m.group, **evaluate(data.qrels, m.runs)} for m in methods},
        "references_ndcg@10": REFERENCES,
        "goal_ndcg@10": GOAL_NDCG,
        "peak_rss_mib": peak_rss_mib(),
        "machine": machine(),
    }


def print_results(res: dict[str, Any]) -> None:
    cfg, store, ing, lat = res["settings"], res["store"], res["ingest"], res["latency_ms"]
    results = res["results"]
    base = results["lexical (BM25)"]["ndcg@10"]
    app_row = f"weighted a={cfg['fusion_alpha']} depth {cfg['fusion_depth']}"
    if cfg["fusion"] == "rrf":
        app_row = f"RRF k=60 depth {cfg['fusion_depth']}"
    rows: list[list[Any]] = []
    group = ""
    for name, s in results.items():
        if s["group"] != group:
            group = s["group"]
            rows.append([f"[{group}]", "", "", ""])
        mark = "  <- app settings" if name == app_row else ""
        ndcg, recall = s["ndcg@10"], s["recall@100"]
        rows.append([f"  {name}{mark}", f"{ndcg:.4f}", f"{recall:.4f}", f"{ndcg - base:+.4f}"])
    rows.append(["[published references]", "", "", ""])
    rows += [
        [f"  {k}", f"{v:.3f}", "", f"{v - base:+.4f}"] for k, v in res["references_ndcg@10"].items()
    ]
    hybrid = {k: v for k, v in results.items() if not v["group"].startswith("single")}
    best = max(hybrid, key=lambda k: hybrid[k]["ndcg@10"])
    best_ndcg = hybrid[best]["ndcg@10"]
    rate = f"{ing['chunks_per_s']:.1f} chunks/s" if ing["chunks_per_s"] else "store reused"

    print(f"\nSciFact test: {res['queries']} queries, {res['judgements']} judgements")
    print(
        f"store: {store['documents']} documents, {store['chunks']} chunks "
        f"({store['chunks'] / max(store['documents'], 1):.2f} per document); model {cfg['model']}, "
        f"chunk_max_tokens {cfg['chunk_max_tokens']}, chunk_min_tokens {cfg['chunk_min_tokens']}"
    )
    print(
        f"ingest: added {ing['added']}, unchanged {ing['unchanged']}, failed {len(ing['failed'])}; "
        f"{ing['chunks_written']} chunks in {ing['seconds']:.1f} s ({rate})"
    )
    print(
        f"lexical index {res['lexical_index_seconds']:.1f} s; "
        f"per query: dense {lat['dense_ms']:.0f} ms, "
        f"lexical {lat['lexical_ms']:.0f} ms for {cfg['candidate_depth']} chunks; fewest documents "
        f"among candidates: dense {res['fewest_documents_in_candidates']['dense']}, "
        f"lexical {res['fewest_documents_in_candidates']['lexical']}\n"
    )
    print(format_table(["method", "nDCG@10", "Recall@100", "nDCG vs BM25"], rows))
    gap = res["goal_ndcg@10"] - best_ndcg
    verdict = "met" if gap <= 0 else f"not met, {gap:.4f} short"
    print(
        f"\nbest hybrid: {best} ({best_ndcg:.4f}); goal nDCG@10 >= {res['goal_ndcg@10']}: {verdict}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="nDCG@10 and Recall@100 on SciFact (BEIR test split) for lexical, dense and "
        "hybrid search, through the project's ingest and HybridSearcher.",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help=f"SciFact, BEIR layout (default: {DEFAULT_DATA})",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="store folder, kept to be reused by later runs (default: a temporary one); "
        "each chunking setting needs its own",
    )
    parser.add_argument("--max-tokens", type=int, help="chunk_max_tokens (default: the settings')")
    parser.add_argument(
        "--depth", type=int, default=1000, help="chunks taken from each retriever (default: 1000)"
    )
    parser.add_argument("--name", help="results file name (default: retrieval or retrieval-max<N>)")
    parser.add_argument("--progress", action="store_true", help="show ingest progress bars")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_environment()
    warnings.filterwarnings("ignore", module=r"ranx\.")  # numba's unsafe-cast notices
    needed = [
        args.data / "corpus.jsonl",
        args.data / "queries.jsonl",
        args.data / "qrels" / "test.tsv",
    ]
    if not all(p.is_file() for p in needed):
        print(
            f"SciFact not found at {args.data}: expected corpus.jsonl, queries.jsonl and "
            "qrels/test.tsv (BEIR layout); pass --data PATH",
            file=sys.stderr,
        )
        return 2
    from vectorstore import StoreError

    data = load_scifact(args.data)
    overrides = {"chunk_max_tokens": args.max_tokens} if args.max_tokens else {}
    try:
        with folder_or_temp(args.data_dir, "scifact-store-") as data_dir:
            results = run_benchmark(data, data_dir, overrides, args)
    except StoreError as exc:
        print(f"error: {exc} (use one --data-dir per chunking setting)", file=sys.stderr)
        return 2
    print_results(results)
    name = args.name or (f"retrieval-max{args.max_tokens}" if args.max_tokens else "retrieval")
    print(f"wrote {write_results(name, results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
