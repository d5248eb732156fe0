"""Ingest throughput on the project's corpus, against the raw speed of the embedding model.

1. A full ``ingest.ingest`` of the corpus into a fresh store (the model is loaded and warmed up
   first, so the time is the ingest's own), then the lexical index build that
   ``policy-assistant ingest`` does after it.
2. The same work again, step by step: parsing and chunking (``ingest.prepare.prepare_document``),
   encoding in the groups ingest embeds together (``EMBED_BUFFER``), writing and committing the
   chunks into a second collection; then the raw encoder: ``SentenceEmbedder.encode`` on exactly
   the embedded texts in one call, at the same batch size. The ratios ingest chunks/s / encoder
   chunks/s (one call; ingest's groups) show what ingest loses around the model.
3. ``policy-assistant ingest --quiet`` run again as a subprocess on the unchanged corpus, as a
   user would run it (interpreter start, imports and settings included).

Every step is timed in wall-clock and in CPU seconds: on a shared machine the wall time also
measures the other processes. Also reported: the longest embedded text in model tokens and the
peak memory. Results are printed as tables and written to ``bench/results/<name>.json``.

    python -m bench.ingest_speed
    python -m bench.ingest_speed --corpus some/folder --repeats 3
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench._common import (
    PROJECT_ROOT,
    Timing,
    bench_settings,
    configure_environment,
    folder_or_temp,
    format_table,
    machine,
    peak_rss_mib,
    timed,
    write_results,
)

GOAL_RATIO = 0.8
GOAL_RERUN_SECONDS = 5.0
CLI_SETTINGS = (  # passed to the CLI re-ingest so that it opens the same store the same way
    "data_dir",
    "corpus_dir",
    "collection",
    "catalog_file",
    "embedding_model",
    "embedding_batch_size",
    "chunk_max_tokens",
    "chunk_min_tokens",
    "max_file_mb",
)


@dataclass(frozen=True)
class PreparedDocument:
    """One file parsed and chunked again: its record, its chunks and the texts ingest embedded."""

    record: Any  # vectorstore.DocumentRecord
    chunks: list[Any]  # vectorstore.Chunk
    texts: list[str]


def prepare_all(
    sources: list[str], corpus: Path, settings: Any, embedder: Any
) -> list[PreparedDocument]:
    """Parse and chunk the files named by ``sources`` exactly as ingest did."""
    from ingest import ChunkingConfig
    from ingest.catalog import read_catalog
    from ingest.prepare import prepare_document

    config = ChunkingConfig(
        min(settings.chunk_max_tokens, embedder.max_tokens), settings.chunk_min_tokens
    )
    catalog = read_catalog(corpus / settings.catalog_file)
    prepared = []
    for source in sources:
        path = corpus / source
        data = path.read_bytes()
        content_hash = hashlib.sha256(data).hexdigest()
        record, chunks, texts, _ = prepare_document(
            path, source, data, content_hash, config, embedder.tokenizer, catalog
        )
        prepared.append(PreparedDocument(record, chunks, texts))
    return prepared


def write_all(store: Any, documents: list[PreparedDocument], vectors: Any) -> None:
    """Store and commit the documents with their vectors, as ingest does after encoding."""
    offset = 0
    for doc in documents:
        n = len(doc.chunks)
        store.add_chunks(doc.chunks, vectors[offset : offset + n])
        store.commit_document(doc.record)
        offset += n


def flush_groups(documents: list[PreparedDocument], buffer: int) -> list[list[str]]:
    """The chunk texts of the groups ingest embeds together: whole documents until ``buffer``."""
    groups: list[list[str]] = []
    current: list[str] = []
    for doc in documents:
        current.extend(doc.texts)
        if len(current) >= buffer:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def encode_groups(embedder: Any, groups: list[list[str]]) -> list[Any]:
    """A vector per chunk, encoded as ingest does: each distinct text of a group once."""
    vectors = []
    for group in groups:
        unique = list(dict.fromkeys(group))
        encoded = dict(zip(unique, embedder.encode(unique), strict=True))
        vectors.extend(encoded[text] for text in group)
    return vectors


def run_watched(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``command``; its wall time, exit code, last output line and peak RSS in MiB.

    The peak is sampled from ``/proc/<pid>/status`` (VmHWM): the child's own ``getrusage``
    figure would include the size of this process, which it was forked from.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    status = Path(f"/proc/{proc.pid}/status")
    peak_kib = 0
    while proc.poll() is None:
        try:
            hwm = re.search(r"^VmHWM:\s+(\d+)", status.read_text(), re.M)
        except OSError:  # gone meanwhile
            hwm = None
        peak_kib = max(peak_kib, int(hwm.group(1)) if hwm else 0)
        time.sleep(0.01)
    seconds = time.perf_counter() - started
    lines = proc.communicate()[0].strip().splitlines()
    return {
        "seconds": seconds,
        "returncode": proc.returncode,
        "last_line": lines[-1] if lines else "",
        "peak_rss_mib": peak_kib / 1024 or None,
    }


def rerun_cli(settings: Any, repeats: int) -> list[dict[str, Any]]:
    """``policy-assistant ingest --quiet`` on the unchanged corpus, ``repeats`` times."""
    command = [str(Path(sys.executable).parent / "policy-assistant"), "ingest", "--quiet"]
    env = os.environ | {
        f"POLICY_ASSISTANT_{name.upper()}": str(getattr(settings, name)) for name in CLI_SETTINGS
    }
    return [run_watched(command, env) for _ in range(repeats)]


def run_benchmark(corpus: Path, data_dir: Path, repeats: int) -> dict[str, Any]:
    """Ingest ``corpus`` into a fresh store under ``data_dir``, then the comparisons; as JSON."""
    from assistant.composition import build_embedder, build_searcher, build_store, ingest_options
    from ingest import ingest
    from ingest.sync import EMBED_BUFFER

    settings = bench_settings(data_dir, corpus)
    embedder = build_embedder(settings)
    store = build_store(settings, embedder)
    took: dict[str, Timing] = {}
    _, took["model_load"] = timed(lambda: embedder.model)
    embedder.encode(["warm-up"] * embedder.batch_size)
    load_before = os.getloadavg()[0]

    print(f"ingesting {corpus} into {data_dir} ...", file=sys.stderr)
    report, took["ingest"] = timed(
        lambda: ingest(
            [corpus],
            store,
            embedder,
            dataclasses.replace(ingest_options(settings), root=corpus),
            progress=False,
        )
    )
    searcher = build_searcher(settings, embedder, store)
    _, took["lexical_index"] = timed(lambda: searcher.refresh(force=True))

    print("the same work again, step by step ...", file=sys.stderr)
    prepared, took["prepare"] = timed(lambda: prepare_all(report.added, corpus, settings, embedder))
    stored_ids = {c.id for c in store.iter_chunks()}
    same_ids = stored_ids == {c.id for doc in prepared for c in doc.chunks}
    groups = flush_groups(prepared, EMBED_BUFFER)
    embedded = [text for group in groups for text in dict.fromkeys(group)]  # what ingest encoded
    vectors, took["encode_groups"] = timed(lambda: encode_groups(embedder, groups))
    probe = build_store(settings.model_copy(update={"collection": "write_probe"}), embedder)
    probe.open(create=True)
    _, took["chroma_writes"] = timed(lambda: write_all(probe, prepared, vectors))
    _, took["encode_one_call"] = timed(lambda: embedder.encode(embedded))
    load_after = os.getloadavg()[0]

    tokens = {
        (doc.record.source, i): embedder.count_tokens(text)
        for doc in prepared
        for i, text in enumerate(doc.texts)
    }
    longest = max(tokens, key=tokens.__getitem__)
    window = embedder.max_tokens
    chunk_max = min(settings.chunk_max_tokens, window)

    print("re-ingesting the unchanged corpus with the CLI ...", file=sys.stderr)
    reruns = rerun_cli(settings, repeats)
    steps = ("prepare", "encode_groups", "chroma_writes")
    took["ingest_rest"] = Timing(
        took["ingest"].wall - sum(took[k].wall for k in steps),
        took["ingest"].cpu - sum(took[k].cpu for k in steps),
    )

    def ratio(encoder: Timing) -> dict[str, float]:
        """(chunks / ingest time) / (texts encoded / encoder time), by wall and by CPU time."""
        per_text = report.chunks_written / len(embedded)
        full = took["ingest"]
        return {
            "wall": per_text * encoder.wall / full.wall,
            "cpu": per_text * encoder.cpu / full.cpu,
        }

    return {
        "benchmark": "ingest",
        "corpus": str(corpus),
        "settings": {
            "model": embedder.model_id,
            "batch_size": embedder.batch_size,
            "chunk_max_tokens": chunk_max,
            "chunk_min_tokens": settings.chunk_min_tokens,
            "embed_buffer": EMBED_BUFFER,
            "model_window_tokens": window,
        },
        "documents": len(report.added),
        "failed": report.as_json()["failed"],
        "chunks": report.chunks_written,
        "embedded_texts": len(embedded),
        "rechunked_ids_match_store": same_ids,
        "seconds": {name: asdict(t) for name, t in took.items()},
        "ratio_ingest_to_encoder": {
            "one_call": ratio(took["encode_one_call"]),
            "ingest_groups": ratio(took["encode_groups"]),
        },
        "goal_ratio": GOAL_RATIO,
        "cli_reingest": reruns,
        "goal_reingest_seconds": GOAL_RERUN_SECONDS,
        "max_tokens_embedded": tokens[longest],
        "max_tokens_chunk": {"source": longest[0], "chunk_index": longest[1]},
        "texts_over_chunk_max_tokens": sum(t > chunk_max for t in tokens.values()),
        "texts_over_window": sum(t > window for t in tokens.values()),
        "peak_rss_mib": peak_rss_mib(),
        "load_average_1m": [load_before, load_after],
        "machine": machine(),
    }


def print_results(res: dict[str, Any]) -> None:
    cfg, sec, n, embedded = res["settings"], res["seconds"], res["chunks"], res["embedded_texts"]

    def goal(ok: bool, text: str) -> str:
        return f"{text}: {'met' if ok else 'NOT met'}"

    def timing(label: str, key: str, count: int | None = None) -> list[Any]:
        t = sec[key]
        rate = f"{count / t['wall']:.1f}" if count else ""
        return [label, f"{t['wall']:.1f}", f"{t['cpu']:.1f}", rate]

    times = [
        timing("model load (before the ingest, not in its time)", "model_load"),
        timing("ingest, full (per chunk stored)", "ingest", n),
        timing("  parse + chunk (prepare_document)", "prepare"),
        timing(
            f"  encode, in ingest's groups of >= {cfg['embed_buffer']}", "encode_groups", embedded
        ),
        timing("  Chroma writes (add_chunks + commit)", "chroma_writes", n),
        timing("  the rest (ingest minus the three above)", "ingest_rest"),
        timing(
            f"raw encoder: one encode() call, batch {cfg['batch_size']}",
            "encode_one_call",
            embedded,
        ),
        timing("lexical index build (as the CLI does after ingest)", "lexical_index"),
    ]
    facts: list[list[Any]] = [
        ["documents ingested / failed", f"{res['documents']} / {len(res['failed'])}", ""],
        ["chunks stored / distinct texts encoded", f"{n} / {embedded}", ""],
    ]
    baselines = {
        "one_call": "raw encoder (one call)",
        "ingest_groups": "encoder in ingest's groups",
    }
    for key, label in baselines.items():
        for clock in ("wall", "cpu"):
            value = res["ratio_ingest_to_encoder"][key][clock]
            facts.append(
                [
                    f"ratio ingest / {label}, {clock} time",
                    f"{value:.3f}",
                    goal(value >= res["goal_ratio"], f">= {res['goal_ratio']}"),
                ]
            )
    for i, run in enumerate(res["cli_reingest"], start=1):
        ok = run["returncode"] == 0 and run["seconds"] < res["goal_reingest_seconds"]
        facts.append(
            [
                f"CLI re-ingest of the unchanged corpus, run {i}",
                f"{run['seconds']:.2f} s",
                goal(ok, f"< {res['goal_reingest_seconds']:.0f} s"),
            ]
        )
    facts += [
        [
            "longest embedded text",
            f"{res['max_tokens_embedded']} tokens",
            f"chunk_max_tokens {cfg['chunk_max_tokens']}, window {cfg['model_window_tokens']}",
        ],
        [
            "texts over chunk_max_tokens / over the window",
            f"{res['texts_over_chunk_max_tokens']} / {res['texts_over_window']}",
            "",
        ],
        ["peak RSS, this process", f"{res['peak_rss_mib']:.0f} MiB", ""],
    ]
    facts += [
        [f"peak RSS, CLI re-ingest run {i}", f"{run['peak_rss_mib']:.0f} MiB", "sampled VmHWM"]
        for i, run in enumerate(res["cli_reingest"], start=1)
        if run["peak_rss_mib"]
    ]
    before, after = res["load_average_1m"]
    where = res["max_tokens_chunk"]
    print(f"\ncorpus {res['corpus']}; model {cfg['model']}; {n} chunks")
    print(f"load average (1 min): {before:.1f} before the ingest, {after:.1f} after the encoding\n")
    print(format_table(["step", "wall s", "CPU s", "per s (wall)"], times))
    print()
    print(format_table(["measure", "value", "goal / note"], facts))
    print(f"\nlongest embedded text: chunk {where['chunk_index']} of {where['source']}")
    if not res["rechunked_ids_match_store"]:
        print("warning: the chunks made again differ from the stored ones", file=sys.stderr)
    for failure in res["failed"]:
        print(f"failed: {failure['source']}: {failure['reason']}", file=sys.stderr)
    for run in res["cli_reingest"]:
        print(f"CLI (exit {run['returncode']}): {run['last_line']}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Full ingest of the corpus into a fresh store, the raw encoder speed on the "
        "same texts, and a re-ingest of the unchanged corpus through the CLI.",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=PROJECT_ROOT / "corpus",
        help="folder to ingest (default: the project's corpus/)",
    )
    parser.add_argument(
        "--data-dir", type=Path, help="store folder, empty or absent; kept (default: temporary)"
    )
    parser.add_argument(
        "--repeats", type=int, default=2, help="CLI re-ingests of the unchanged corpus (default: 2)"
    )
    parser.add_argument("--name", default="ingest", help="results file name (default: ingest)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_environment()
    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        print(f"no corpus folder at {corpus}", file=sys.stderr)
        return 2
    if args.data_dir and args.data_dir.exists() and any(args.data_dir.iterdir()):
        print(f"{args.data_dir} is not empty: the benchmark needs a fresh store", file=sys.stderr)
        return 2
    with folder_or_temp(args.data_dir, "ingest-bench-") as data_dir:
        results = run_benchmark(corpus, data_dir.resolve(), args.repeats)
    print_results(results)
    print(f"wrote {write_results(args.name, results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
