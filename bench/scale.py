"""How cost grows with the store: ingest rate, query latency and memory at 10k, 50k, 100k chunks.

Real embedding runs at about 20 chunks/s on this machine (100k chunks: ~1.5 h), so only part of
the work uses the real encoder; every output line says which:

1. REAL: ``ingest.ingest`` of a sample of corpus files (about ``--real-chunks`` chunks) into a
   fresh store, model loaded first; its time split into encoding, Chroma writes and the rest
   (parsing, chunking, bookkeeping).
2. SYNTHETIC VECTORS: a temporary store is grown to each of ``--sizes`` in turn (whole
   documents, so a size ends a little past the number asked), from the real chunks of a source
   store (DATA_DIR, e.g. /tmp/fulldata: texts, page, locator and vectors as ingested).
   Copy 0 is the real corpus as it is; each further copy ("variant-j/<source>") rotates each
   chunk's sentences, replaces every 7th word with a word drawn from the corpus's own words,
   and takes the real vector plus Gaussian noise (``--noise`` per dimension), renormalised.
   They are written exactly as ingest writes them (``ChunkStore.add_chunks`` +
   ``commit_document`` per document), so the Chroma HNSW index, its SQLite metadata and the
   BM25 index are real and of full size; only the stored vectors are not the encoder's. The
   write rate per segment is measured, and the ingest rate a real ingest would have at that
   size is projected as 1 / (encode + other s/chunk of step 1 + write s/chunk at that size).
3. Queries at each size (on a copy of the store as it was then) and on a copy of the source
   store (all real), in ``--passes`` passes over the stores in turn, so that changes in the
   machine's load reach every size; the median of the passes is shown. Each time a fresh
   process opens the store with the real model, builds the BM25 index from Chroma (timed),
   then runs the dev questions ``--rounds`` times through ``HybridSearcher.search`` (and its
   dense and lexical halves) and ``Assistant.ask`` (no LLM); the questions are embedded by the
   real encoder. Its memory is what a serving process holds at that size: RSS with the model
   loaded, peak after the BM25 build, RSS at the end and the peak (VmHWM). Then, apart, two
   costs of the BM25 index that grow with the store: reading every chunk back from Chroma
   (part of the build, which runs under the searcher's lock after every change of the
   documents before segments), and a restart instead: a new searcher on the saved segments
   (manifest read, snapshot load, matrices assembled).
4. One-document changes at each size (``--trials``, on a throw-away copy of the store): a
   searcher (own process) has its BM25 index loaded; another process commits a new document of
   a few passages; the time from that commit returning to the searcher's first lexical search
   returning the document, and what the refresh that took it in cost (the lexical update, of
   it reading the new passages from Chroma, and the manifest read + store reconnect). Beside
   it, what every change cost before segments: reading every chunk, tokenising them all and
   bm25s' ``index`` (measured in the same process). ``--only-update`` runs steps 2 and 4 only.

Each step runs in its own process; peak memory is read from /proc/self/status (VmHWM), since a
child's ``getrusage`` peak includes the process it was forked from. Wall and CPU time are both
kept: the machine is shared, and the load average is recorded with each step. Temporary stores
live under /tmp and are removed at the end. Results go to bench/results/<name>.json.

    POLICY_ASSISTANT_DATA_DIR=/tmp/fulldata python -m bench.scale
    POLICY_ASSISTANT_DATA_DIR=/tmp/fulldata python -m bench.scale --sizes 10000 50000 150000
    python -m bench.scale --only-update --sizes 10000 100000 --name scale-update
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
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
    write_results,
)

WORD_EVERY = 7  # every 7th word of a variant is replaced
_SENTENCE = re.compile(r"(?<=[.;:!?])\s+")


def memory_mib(field: str = "VmHWM") -> float:
    """This process's peak (VmHWM, since its exec) or current (VmRSS) resident memory, MiB."""
    m = re.search(rf"^{field}:\s+(\d+)", Path("/proc/self/status").read_text(), re.M)
    return int(m.group(1)) / 1024 if m else 0.0


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)


def disk_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


class Clock:
    """Wall and CPU seconds accumulated over several calls."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.wall += time.perf_counter() - self._wall
        self.cpu += time.process_time() - self._cpu

    def as_json(self) -> dict[str, float]:
        return {"wall": self.wall, "cpu": self.cpu}


# --- step 1: the real ingest of a sample ---------------------------------------------------------
class Timed:
    """``inner`` (the embedder or the store ``ingest`` is given) with the calls of ``methods``
    timed on one ``Clock``; everything else passes through."""

    def __init__(self, inner: Any, *methods: str) -> None:
        self.inner = inner
        self.methods = frozenset(methods)
        self.clock = Clock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in self.methods:
            return attr

        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.clock:
                return attr(*args, **kwargs)

        return timed


def pick_files(counts: dict[str, int], target: int) -> list[str]:
    """Sources in name order whose chunks add up to about ``target`` (none over 1.2 x target)."""
    picked, total = [], 0
    for source in sorted(counts):
        if total >= target:
            break
        if total + counts[source] <= target * 1.2:
            picked.append(source)
            total += counts[source]
    return picked


def child_sample(spec: dict[str, Any]) -> dict[str, Any]:
    from assistant.composition import build_embedder, build_store, ingest_options
    from ingest import ingest

    corpus = Path(spec["corpus"])
    settings = bench_settings(Path(spec["data_dir"]), corpus)
    embedder = build_embedder(settings)
    embedder.encode(["warm-up"] * embedder.batch_size)  # load the model outside the timing
    files = [corpus / s for s in spec["sources"]]
    timed_embedder = Timed(embedder, "encode")
    store = Timed(build_store(settings, embedder), "add_chunks", "commit_document")
    load_before = loadavg()
    total = Clock()
    with total:
        report = ingest(
            files,
            store,
            timed_embedder,
            dataclasses.replace(ingest_options(settings), root=corpus),
            progress=False,
        )
    encode, write = timed_embedder.clock, store.clock
    return {
        "documents": len(report.added),
        "failed": [f for f, _ in report.failed],
        "chunks": report.chunks_written,
        "seconds": {
            "ingest": total.as_json(),
            "encode": encode.as_json(),
            "chroma_writes": write.as_json(),
            "other": {
                "wall": total.wall - encode.wall - write.wall,
                "cpu": total.cpu - encode.cpu - write.cpu,
            },
        },
        "peak_rss_mib": memory_mib(),
        "load_average_1m": [load_before, loadavg()],
    }


# --- step 2: growing the store with varied copies ------------------------------------------------
def export_source(data_dir: Path, out: Path) -> dict[str, Any]:
    """The source store's committed chunks (texts, metadata, vectors) and documents, to files."""
    import numpy as np

    from assistant.composition import build_embedder, build_store
    from vectorstore import doc_key

    settings = bench_settings(data_dir, PROJECT_ROOT / "corpus")
    store = build_store(settings, build_embedder(settings)).open()
    records = store.documents()
    visible = {r.key for r in records.values()}
    rows: list[dict[str, Any]] = []
    vectors: list[Any] = []
    offset = 0
    for _ in range(10_000):  # bounded paging
        got = store.chunks.get(
            include=["documents", "metadatas", "embeddings"], limit=5000, offset=offset
        )
        if not got["ids"]:
            break
        for id_, text, meta, vec in zip(
            got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
        ):
            if doc_key(meta["source"], meta["content_hash"], meta.get("chunking")) in visible:
                rows.append({"id": id_, "text": text, "meta": meta})
                vectors.append(vec)
        offset += len(got["ids"])
    order = sorted(
        range(len(rows)), key=lambda i: (rows[i]["meta"]["source"], rows[i]["meta"]["chunk_index"])
    )
    rows = [rows[i] for i in order]
    np.save(out / "vectors.npy", np.asarray(vectors, dtype=np.float32)[order])
    (out / "chunks.json").write_text(json.dumps(rows))
    (out / "documents.json").write_text(json.dumps([r.metadata() for r in records.values()]))
    return {"chunks": len(rows), "documents": len(records), "model": store.fingerprint["model"]}


def vary_text(text: str, copy: int, words: list[str], rng: Any) -> str:
    """Copy ``copy`` of a chunk's text: sentences rotated, every 7th word replaced."""
    if copy == 0:
        return text
    sentences = _SENTENCE.split(text)
    k = copy % len(sentences)
    tokens = " ".join(sentences[k:] + sentences[:k]).split(" ")
    for i in range(copy % WORD_EVERY, len(tokens), WORD_EVERY):
        tokens[i] = words[int(rng.integers(len(words)))]
    return " ".join(tokens)


def synthetic_documents(source: Path, start: int, stop: int, noise: float, seed: int):
    """(record, chunks, vectors, real vectors) of the documents of the endless sequence copy 0,
    copy 1, ... of the source documents (copy 0 is the source itself) that start at chunk
    ``start`` or later and before chunk ``stop``: whole documents, so the last one may end past
    ``stop``, and ``start`` must be where an earlier call ended."""
    import numpy as np

    from vectorstore import Chunk, DocumentRecord, chunk_id

    rows = json.loads((source / "chunks.json").read_text())
    vectors = np.load(source / "vectors.npy")
    records = {d["source"]: d for d in json.loads((source / "documents.json").read_text())}
    by_doc: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_doc.setdefault(row["meta"]["source"], []).append(i)
    words = [w for row in rows for w in row["text"].split() if w.isalpha()]
    position = 0
    for copy in range(10**6):  # bounded: ends at ``stop``
        rng = np.random.default_rng([seed, copy])
        for name, take in by_doc.items():
            if position >= stop:
                return
            if position < start:
                position += len(take)
                continue
            base = records[name]
            src = name if copy == 0 else f"variant-{copy:03d}/{name}"
            content_hash = (
                base["content_hash"]
                if copy == 0
                else hashlib.sha256(f"{base['content_hash']}:{copy}".encode()).hexdigest()
            )
            title = base["title"] if copy == 0 else f"{base['title']} (variant {copy})"
            chunks = []
            for j, i in enumerate(take):
                meta = rows[i]["meta"]
                chunks.append(
                    Chunk(
                        id=chunk_id(src, content_hash, j, base.get("chunking")),
                        text=vary_text(rows[i]["text"], copy, words, rng),
                        source=src,
                        title=title,
                        content_hash=content_hash,
                        chunk_index=j,
                        page=meta.get("page"),
                        locator=meta.get("locator"),
                        # the record's chunker version is part of its key: without it the
                        # commit takes these chunks for an older version's and deletes them
                        chunking=base.get("chunking"),
                    )
                )
            vecs = vectors[take]
            if copy:
                vecs = vecs + rng.normal(0.0, noise, vecs.shape).astype(np.float32)
                vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            fields = set(DocumentRecord.__dataclass_fields__) - {"extra"}
            record = DocumentRecord(
                **{k: v for k, v in base.items() if k in fields}
                | {"source": src, "title": title, "content_hash": content_hash, "chunks": len(take)}
            )
            yield record, chunks, vecs, vectors[take]
            position += len(take)


def child_grow(spec: dict[str, Any]) -> dict[str, Any]:
    """Write chunks ``start``..``stop`` into the store, as ingest writes them."""
    import numpy as np

    from assistant.composition import build_embedder, build_store

    settings = bench_settings(Path(spec["data_dir"]), PROJECT_ROOT / "corpus")
    # the embedder's model id, dimension and window are read from its config files: no torch
    store = build_store(settings, build_embedder(settings))
    store.open(create=True)
    adds, commits, generate = Clock(), Clock(), Clock()
    chunks = documents = 0
    cosines: list[float] = []
    load_before = loadavg()
    docs = synthetic_documents(
        Path(spec["source"]), spec["start"], spec["stop"], spec["noise"], spec["seed"]
    )
    for _ in range(10**6):  # bounded by the generator's end
        with generate:
            item = next(docs, None)
        if item is None:
            break
        record, part, vecs, real = item
        with adds:
            store.add_chunks(part, vecs)
        with commits:
            store.commit_document(record)
        if record.source.startswith("variant-"):
            cosines.extend(np.sum(vecs * real, axis=1).tolist())
        chunks += len(part)
        documents += 1
    return {
        "start": spec["start"],
        "stop": spec["stop"],
        "chunks_written": chunks,
        "documents_written": documents,
        "store_chunks": store.count(),
        "store_documents": len(store.documents()),
        "seconds": {
            "writes": {"wall": adds.wall + commits.wall, "cpu": adds.cpu + commits.cpu},
            "add_chunks": adds.as_json(),
            "commit_document": commits.as_json(),
            "generate": generate.as_json(),
        },
        "variant_cosine_to_real_mean": statistics.mean(cosines) if cosines else None,
        "peak_rss_mib": memory_mib(),
        "load_average_1m": [load_before, loadavg()],
    }


# --- step 3: queries at a size -------------------------------------------------------------------
TRACE_CASES = PROJECT_ROOT / "bench" / "trace_cases.jsonl"


def child_query(spec: dict[str, Any]) -> dict[str, Any]:
    from assistant.composition import build_assistant, build_embedder, build_searcher

    data_dir = Path(spec["data_dir"])
    settings = bench_settings(data_dir, PROJECT_ROOT / "corpus")
    embedder = build_embedder(settings)
    embedder.encode(["warm-up"])
    rss_model = memory_mib("VmRSS")
    searcher = build_searcher(settings, embedder)
    lexical = Clock()
    with lexical:
        searcher.refresh(force=True)  # reads every chunk from Chroma and builds BM25
    peak_lexical = memory_mib()
    assistant = build_assistant(settings, searcher, llm=None)
    cases = [json.loads(line) for line in Path(spec["cases"]).read_text().splitlines() if line]
    questions = [(c["question"], c.get("history") or []) for c in cases]
    first = Clock()
    with first:  # the first dense query loads the HNSW index
        searcher.dense(questions[0][0], settings.fusion_depth)
    for question, history in questions[:5]:
        assistant.ask(question, history)
    load_before = loadavg()
    methods = {
        "search": lambda q, h: searcher.search(q, k=settings.search_k),
        "dense": lambda q, h: searcher.dense(q, settings.fusion_depth),
        "lexical": lambda q, h: searcher.lexical(q, settings.fusion_depth),
        "ask": lambda q, h: assistant.ask(q, h),
    }
    wall: dict[str, list[float]] = {m: [] for m in methods}  # and "trace", below
    cpu: dict[str, list[float]] = {m: [] for m in methods}
    for _ in range(spec["rounds"]):
        for question, history in questions:
            for name, fn in methods.items():
                w, c = time.perf_counter(), time.process_time()
                fn(question, history)
                wall[name].append((time.perf_counter() - w) * 1000)
                cpu[name].append((time.process_time() - c) * 1000)
    # agreed-language tracing (bench/trace.py's paragraphs): it reads the BM25 index and the
    # candidates' passages, so its cost grows with the store too
    traces = [json.loads(line) for line in TRACE_CASES.read_text().splitlines() if line]
    for case in traces:
        w, c = time.perf_counter(), time.process_time()
        assistant.trace(case["text"])
        wall.setdefault("trace", []).append((time.perf_counter() - w) * 1000)
        cpu.setdefault("trace", []).append((time.process_time() - c) * 1000)
    rss = {"model_loaded": rss_model, "peak_by_bm25_build": peak_lexical,
           "end": memory_mib("VmRSS"), "peak": memory_mib()}  # fmt: skip
    # the parts of the BM25 build, and what a restart does instead (a new searcher reads the
    # saved segments: manifest, snapshot, assembly)
    read, load = Clock(), Clock()
    with read:
        n = sum(1 for _ in searcher.store.iter_chunks())
    restarted = build_searcher(settings, embedder)
    with load:
        restarted.refresh(force=True)
    return {
        "chunks": searcher.store.count(),
        "documents": len(searcher.documents),
        "lexical_build_seconds": lexical.as_json(),
        "read_all_chunks_seconds": read.as_json() | {"chunks": n},
        "lexical_load_seconds": load.as_json(),
        "first_dense_query_seconds": first.as_json(),
        "queries": len(questions) * spec["rounds"],
        "ms": {
            name: {
                "p50": percentile(wall[name], 0.5),
                "p95": percentile(wall[name], 0.95),
                "cpu_p50": percentile(cpu[name], 0.5),
                "cpu_p95": percentile(cpu[name], 0.95),
            }
            for name in wall
        },
        "peak_rss_mib": rss["peak"],
        "rss_mib": rss,
        "disk_mib": {
            "chroma": disk_mib(data_dir / "chroma"),
            "lexical": disk_mib(data_dir / "lexical"),
        },
        "load_average_1m": [load_before, loadavg()],
    }


# --- step 4: one document changed while another searcher serves ---------------------------------
UPDATE_PASSAGES = 5  # passages of each document added


def child_commit(spec: dict[str, Any]) -> dict[str, Any]:
    """Another process commits one new document of a few passages (real texts with a marker
    word added, real stored vectors), as ingest writes one; when its commit returned."""
    import numpy as np

    from assistant.composition import build_embedder, build_store
    from vectorstore import Chunk, DocumentRecord, chunk_id

    settings = bench_settings(Path(spec["data_dir"]), PROJECT_ROOT / "corpus")
    store = build_store(settings, build_embedder(settings)).open()
    rows = json.loads((Path(spec["source"]) / "chunks.json").read_text())
    vectors = np.load(Path(spec["source"]) / "vectors.npy")
    marker, n, at = spec["marker"], spec["passages"], spec["offset"]
    source, content_hash = f"update/{marker}.md", hashlib.sha256(marker.encode()).hexdigest()
    chunks = [
        Chunk(
            id=chunk_id(source, content_hash, j),
            text=f"{rows[at + j]['text']} {marker}",
            source=source,
            title=f"Update {marker}",
            content_hash=content_hash,
            chunk_index=j,
        )  # fmt: skip
        for j in range(n)
    ]
    record = DocumentRecord(
        source=source, title=f"Update {marker}", content_hash=content_hash, chunks=n,
        kind="md", size=sum(len(c.text) for c in chunks), ingested_at="2025-01-01T00:00:00Z",
    )  # fmt: skip
    started = time.time()
    with store.writing():
        store.add_chunks(chunks, vectors[at : at + n])
        store.commit_document(record)
    return {"started": started, "committed": time.time(), "ids": [c.id for c in chunks]}


def child_update(spec: dict[str, Any]) -> dict[str, Any]:
    """A serving searcher with its BM25 index loaded; another process commits one document;
    how long until this searcher's lexical search returns it, and what the refresh that took
    it in cost. Before that, the full build the old index did after every change."""
    import bm25s

    from assistant.composition import build_embedder, build_searcher
    from vectorstore.hybrid import lexical_text
    from vectorstore.lexical import BM25_B, BM25_K1, tokenize
    from vectorstore.text import stemmer

    settings = bench_settings(Path(spec["data_dir"]), PROJECT_ROOT / "corpus")
    embedder = build_embedder(settings)  # config only: no model, lexical searches only
    shutil.rmtree(Path(spec["data_dir"]) / "lexical", ignore_errors=True)
    searcher = build_searcher(settings, embedder)
    searcher.refresh_seconds = 0.0  # re-read the manifest at every search: the cost, not the wait
    cold = Clock()
    with cold:  # nothing cached: every chunk read and tokenised, the snapshot written
        searcher.refresh(force=True)
    # what every change cost before segments: read every chunk, tokenise, bm25s' index
    old = Clock()
    with old:
        visible = {r.key for r in searcher.store.documents().values()}
        texts = [lexical_text(c) for c in searcher.store.iter_chunks() if c.key in visible]
        bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B)
        bm25.index(tokenize(texts, stemmer()), show_progress=False)
    del bm25, texts
    restart = Clock()
    with restart:  # a new process's searcher on the saved segments
        build_searcher(settings, embedder).refresh(force=True)

    # the refresh's parts, timed: lexical update (of it, reading the new passages), reconnect
    parts = {"lexical": Clock(), "read": Clock(), "reconnect": Clock(), "manifest": Clock()}

    def timed(clock: Clock, fn: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            with clock:
                return fn(*args, **kwargs)

        return call

    def timed_passages(records: Any, total: int) -> Any:
        with parts["read"]:
            got = list(passages(records, total))
        return got

    passages = searcher._passages
    searcher._load_or_build_lexical = timed(parts["lexical"], searcher._load_or_build_lexical)
    searcher._passages = timed_passages
    store = searcher.store
    store.reconnect = timed(parts["reconnect"], store.reconnect)
    store.documents = timed(parts["manifest"], store.documents)

    trials = []
    for n in range(spec["trials"]):
        marker = f"zqxupdate{n}x{spec['seed']}"
        for clock in parts.values():
            clock.wall = clock.cpu = 0.0
        commit_spec = {"data_dir": spec["data_dir"], "source": spec["source"], "work": spec["work"],
                       "marker": marker, "passages": UPDATE_PASSAGES, "offset": 11 * n}  # fmt: skip
        with tempfile.NamedTemporaryFile("r", suffix=".json", dir=spec["work"]) as out:
            command = [sys.executable, "-m", "bench.scale", "--child", "commit",
                       json.dumps(commit_spec), out.name]  # fmt: skip
            proc = subprocess.Popen(command, cwd=PROJECT_ROOT)
            seen, polls, deadline = None, 0, time.monotonic() + 600
            while seen is None and time.monotonic() < deadline:
                polls += 1
                before = {k: c.wall for k, c in parts.items()}
                hits = searcher.lexical(marker, 10)
                if hits:
                    seen = time.time()
                    last = {k: c.wall - before[k] for k, c in parts.items()}
                else:
                    time.sleep(0.05)
            proc.wait(timeout=600)
            committed = json.loads(Path(out.name).read_text())
        assert seen is not None, "the new document never became searchable"
        assert {i for i, _ in hits} <= set(committed["ids"]), hits
        trials.append(
            {
                "visible_after_commit_s": seen - committed["committed"],
                "commit_s": committed["committed"] - committed["started"],
                "refresh_that_found_it_s": last,
                "polls": polls,
            }
        )
    return {
        "chunks": searcher.store.count(),
        "documents": len(searcher.documents),
        "passages_added": UPDATE_PASSAGES,
        "cold_build_seconds": cold.as_json(),
        "old_full_rebuild_seconds": old.as_json(),
        "restart_seconds": restart.as_json(),
        "trials": trials,
        "peak_rss_mib": memory_mib(),
        "load_average_1m": loadavg(),
    }


def print_updates(res: dict[str, Any]) -> None:
    rows = []
    for item in res["sizes"]:
        u = item.get("update")
        if not u:
            continue
        trials = u["trials"]
        visible = [t["visible_after_commit_s"] for t in trials]
        lexical = [t["refresh_that_found_it_s"]["lexical"] for t in trials]
        read = [t["refresh_that_found_it_s"]["read"] for t in trials]
        other = [
            t["refresh_that_found_it_s"]["reconnect"] + t["refresh_that_found_it_s"]["manifest"]
            for t in trials
        ]
        rows.append(
            [
                u["chunks"],
                u["documents"],
                f"{u['old_full_rebuild_seconds']['wall']:.2f}",
                f"{u['cold_build_seconds']['wall']:.2f}",
                f"{u['restart_seconds']['wall']:.2f}",
                f"{statistics.median(lexical):.3f} (read {statistics.median(read):.3f})",
                f"{statistics.median(other):.3f}",
                f"{statistics.median(visible):.2f} (max {max(visible):.2f})",
                len(trials),
                u["load_average_1m"],
            ]
        )
    if not rows:
        return
    print(
        f"\nONE-DOCUMENT CHANGE ({UPDATE_PASSAGES} passages committed by another process; "
        "medians over the trials). BEFORE: every change rebuilt the whole BM25 index (read every "
        "chunk + tokenise + bm25s index, measured here). AFTER: the serving searcher's refresh "
        "reads and tokenises the new document only and reassembles the matrices; visible = from "
        "the other process's commit returning to this searcher's first lexical search returning "
        "the document, polling with refresh_seconds=0 (the app's STORE_REFRESH_SECONDS adds up to "
        "that interval)."
    )
    headers = ["chunks", "docs", "BEFORE full rebuild s", "cold build s", "restart s",
               "AFTER lexical update s", "manifest + reconnect s", "visible after commit s",
               "trials", "load 1m"]  # fmt: skip
    print(format_table(headers, rows))


def combine_passes(passes: list[dict[str, Any]]) -> dict[str, Any]:
    """The first pass's result with the median over all passes of each latency figure and of
    the BM25 build time; every pass kept under ``passes``."""
    out = dict(passes[0])
    out["ms"] = {
        method: {key: statistics.median(p["ms"][method][key] for p in passes) for key in figures}
        for method, figures in passes[0]["ms"].items()
    }
    out["lexical_build_seconds"] = {
        key: statistics.median(p["lexical_build_seconds"][key] for p in passes)
        for key in ("wall", "cpu")
    }
    out["load_average_1m"] = [passes[0]["load_average_1m"][0], passes[-1]["load_average_1m"][1]]
    out["passes"] = passes
    return out


CHILDREN = {"sample": child_sample, "grow": child_grow, "query": child_query,
            "update": child_update, "commit": child_commit}  # fmt: skip


def run_child(kind: str, spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run ``kind`` in a fresh process of this script; its JSON result."""
    with tempfile.NamedTemporaryFile("r", suffix=".json", dir=spec["work"]) as out:
        command = [sys.executable, "-m", "bench.scale", "--child", kind, json.dumps(spec), out.name]
        started = time.perf_counter()
        subprocess.run(command, check=True, timeout=timeout, cwd=PROJECT_ROOT)
        result = json.loads(Path(out.name).read_text())
    result["process_seconds"] = time.perf_counter() - started
    return result


# --- the whole benchmark -------------------------------------------------------------------------
def run_benchmark(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    source_dir = Path(os.environ.get("POLICY_ASSISTANT_DATA_DIR", "./data")).resolve()
    exported = work / "source"
    exported.mkdir()
    print(f"reading the source store {source_dir} ...", file=sys.stderr)
    source = export_source(source_dir, exported)
    counts = {
        d["source"]: d["chunks"] for d in json.loads((exported / "documents.json").read_text())
    }
    base = {"work": str(work), "cases": str(args.cases), "rounds": args.rounds}
    t = args.timeout

    sample = None
    if not args.only_update:
        sample_files = pick_files(counts, args.real_chunks)
        print(f"REAL ingest of {len(sample_files)} files ...", file=sys.stderr)
        sample_spec = base | {
            "corpus": str(args.corpus.resolve()),
            "sources": sample_files,
            "data_dir": str(work / "sample"),
        }
        sample = run_child("sample", sample_spec, t)
        shutil.rmtree(work / "sample", ignore_errors=True)

    stores = {"real": work / "real"}
    shutil.copytree(source_dir / "chroma", stores["real"] / "chroma")
    grown = work / "grown"
    sizes, previous = [], 0
    for size in sorted(args.sizes):
        print(f"growing the store to {size} chunks ...", file=sys.stderr)
        spec = {"data_dir": str(grown), "source": str(exported), "start": previous,
                "stop": size, "noise": args.noise, "seed": args.seed}  # fmt: skip
        grow = run_child("grow", base | spec, t)
        sizes.append({"size": size, "grow": grow})
        previous = grow["store_chunks"]  # whole documents: a little past ``size``
        stores[str(size)] = work / f"store-{size}"
        shutil.copytree(grown / "chroma", stores[str(size)] / "chroma")  # a snapshot at this size
        if args.trials:  # one-document changes, on a copy that is thrown away afterwards
            print(f"one-document changes at {size} chunks ...", file=sys.stderr)
            copy = work / f"update-{size}"
            shutil.copytree(grown / "chroma", copy / "chroma")
            spec = {"data_dir": str(copy), "source": str(exported), "trials": args.trials,
                    "seed": args.seed}  # fmt: skip
            sizes[-1]["update"] = run_child("update", base | spec, t)
            shutil.rmtree(copy, ignore_errors=True)
    if args.only_update:
        return {"benchmark": "scale", "source_store": str(source_dir), "source": source,
                "sizes": sizes, "machine": machine()}  # fmt: skip

    # passes over all sizes in turn, so that a change of the machine's load hits every size
    passes: dict[str, list[dict[str, Any]]] = {name: [] for name in stores}
    for n in range(args.passes):
        for name, folder in stores.items():
            print(f"queries, pass {n + 1}/{args.passes}, store {name} ...", file=sys.stderr)
            shutil.rmtree(folder / "lexical", ignore_errors=True)  # built again each time
            passes[name].append(run_child("query", base | {"data_dir": str(folder)}, t))
    for item in sizes:
        item["query"] = combine_passes(passes[str(item["size"])])
    return {
        "benchmark": "scale",
        "source_store": str(source_dir),
        "source": source,
        "noise_per_dimension": args.noise,
        "word_replaced_every": WORD_EVERY,
        "real_sample": sample,
        "query_passes": args.passes,
        "real_store_queries": combine_passes(passes["real"]),
        "sizes": sizes,
        "machine": machine(),
    }


def _load(pair: list[float]) -> str:
    return f"{pair[0]:.1f} / {pair[1]:.1f}"


def print_results(res: dict[str, Any]) -> None:
    if res.get("real_sample") is None:  # --only-update
        print_updates(res)
        return
    s = res["real_sample"]
    sec, n = s["seconds"], s["chunks"]
    encode_s, other_s = sec["encode"]["wall"] / n, sec["other"]["wall"] / n
    print(f"\nREAL ingest (real encoder) of {s['documents']} corpus files, {n} chunks")
    steps = (
        ("ingest, full", "ingest"),
        ("  encode", "encode"),
        ("  Chroma writes + commits", "chroma_writes"),
        ("  other (parse, chunk, ...)", "other"),
    )
    rows = [
        [name, f"{sec[k]['wall']:.1f}", f"{sec[k]['cpu']:.1f}", f"{n / sec[k]['wall']:.1f}"]
        for name, k in steps
    ]
    print(format_table(["step", "wall s", "CPU s", "chunks/s (wall)"], rows))
    print(
        f"peak RSS of the ingest process {s['peak_rss_mib']:.0f} MiB; "
        f"load 1m before / after {_load(s['load_average_1m'])}"
    )

    print(
        "\nSYNTHETIC VECTORS, real Chroma writes (ChunkStore.add_chunks + commit_document per "
        f"document); variants' vectors = real + N(0, {res['noise_per_dimension']}) per "
        "dimension, renormalised. Projected REAL ingest = encode + other of the real sample + "
        "these writes, per chunk."
    )
    rows = []
    for item in res["sizes"]:
        g = item["grow"]
        t, written = g["seconds"], g["chunks_written"]
        if not written:  # the store had grown past this size already
            continue
        cos = g["variant_cosine_to_real_mean"]
        rows.append(
            [
                f"{g['start']} -> {g['store_chunks']}",
                g["documents_written"],
                f"{written / t['writes']['wall']:.0f}",
                f"{t['add_chunks']['wall']:.1f} / {t['commit_document']['wall']:.1f}",
                f"{1 / (encode_s + other_s + t['writes']['wall'] / written):.1f}",
                f"{cos:.3f}" if cos is not None else "",
                f"{g['peak_rss_mib']:.0f}",
                _load(g["load_average_1m"]),
            ]
        )
    headers = ["chunks", "docs written", "writes chunks/s", "add / commit s",
               "projected REAL ingest chunks/s", "cos(variant, real)", "writer peak RSS MiB",
               "load 1m"]  # fmt: skip
    print(format_table(headers, rows))

    queries = [("real", res["real_store_queries"])]
    queries += [("synthetic", item["query"]) for item in res["sizes"]]
    print(
        f"\nQUERIES: median over {res['query_passes']} passes (fresh processes, sizes in turn) of "
        f"each pass's percentiles over {queries[0][1]['queries']} questions. The real model "
        "encodes the questions; the stored vectors are real in the first row only."
    )
    rows = []
    for label, q in queries:
        ms = q["ms"]
        rows.append(
            [
                q["chunks"],
                label,
                q["documents"],
                f"{ms['search']['p50']:.0f} / {ms['search']['p95']:.0f}",
                f"{ms['dense']['p50']:.0f} / {ms['lexical']['p50']:.0f}",
                f"{ms['ask']['p50']:.0f} / {ms['ask']['p95']:.0f}",
                f"{ms['ask']['cpu_p50']:.0f}",
                f"{ms['trace']['p50']:.0f} / {ms['trace']['p95']:.0f}",
                " ".join(f"{p['ms']['ask']['p50']:.0f}" for p in q["passes"]),
                _load(q["load_average_1m"]),
            ]
        )
    headers = ["chunks", "vectors", "docs", "search p50/p95 ms", "dense/lexical p50 ms",
               "ask p50/p95 ms", "ask CPU p50 ms", "trace p50/p95 ms", "ask p50 by pass",
               "load 1m"]  # fmt: skip
    print(format_table(headers, rows))

    print("\nMEMORY AND INDEXES of the serving process (model + Chroma + BM25)")
    rows = []
    for label, q in queries:
        rss = q["rss_mib"]
        rows.append(
            [
                q["chunks"],
                label,
                f"{rss['model_loaded']:.0f}",
                f"{rss['peak_by_bm25_build']:.0f}",
                f"{rss['end']:.0f}",
                f"{rss['peak']:.0f}",
                f"{q['lexical_build_seconds']['wall']:.1f}",
                f"{q['read_all_chunks_seconds']['wall']:.1f}",
                f"{q['lexical_load_seconds']['wall']:.2f}",
                f"{q['first_dense_query_seconds']['wall']:.2f}",
                f"{q['disk_mib']['chroma']:.0f} + {q['disk_mib']['lexical']:.0f}",
            ]
        )
    headers = ["chunks", "vectors", "RSS model MiB", "peak after BM25 build", "RSS end",
               "peak", "BM25 build s", "of which Chroma read s", "BM25 restart s",
               "1st dense query s", "disk MiB chroma + bm25"]  # fmt: skip
    print(format_table(headers, rows))
    print_updates(res)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[10_000, 50_000, 100_000],
        help="store sizes in chunks (default: 10000 50000 100000)",
    )
    parser.add_argument(
        "--real-chunks",
        type=int,
        default=1000,
        help="chunks in the real ingest sample (default: about 1000)",
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds of the questions per query process (2)"
    )
    parser.add_argument(
        "--passes", type=int, default=3, help="query processes per store, sizes in turn (3)"
    )
    parser.add_argument(
        "--noise",
        type=float,
        default=0.03,
        help="std-dev per dimension added to variants' vectors (0.03)",
    )
    parser.add_argument(
        "--trials",
        type=int,
        default=3,
        help="one-document changes timed at each size (3; 0: none)",
    )
    parser.add_argument(
        "--only-update",
        action="store_true",
        help="grow the stores and time one-document changes only (no real ingest, no queries)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corpus", type=Path, default=PROJECT_ROOT / "corpus")
    parser.add_argument("--cases", type=Path, default=PROJECT_ROOT / "bench" / "dev_cases.jsonl")
    parser.add_argument(
        "--timeout",
        type=float,
        default=7200.0,
        help="seconds allowed to each step's process (7200)",
    )
    parser.add_argument("--name", default="scale", help="results file name (default: scale)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is None and (min(args.sizes) < 1 or max(args.sizes) > 1_000_000):
        parser.error("--sizes takes 1 to 1000000 chunks")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_environment()
    if args.child:
        kind, spec, out = args.child
        Path(out).write_text(json.dumps(CHILDREN[kind](json.loads(spec))))
        return 0
    with tempfile.TemporaryDirectory(prefix="scale-bench-", dir="/tmp") as tmp:
        results = run_benchmark(args, Path(tmp))
    path = write_results(args.name, results)
    print_results(results)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
