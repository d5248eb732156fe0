"""Re-syncing web pages: what an unchanged page costs (one conditional request, no embedding).

A local HTTP server (loopback, allowed through WEB_ALLOW_PRIVATE for the run) serves ``--pages``
HTML pages with ETags. The pages are ingested once into a temporary store, then synced again
(every server answer a 304), then synced again after one page changed. Printed side by side:
seconds for each sync, requests the server saw, chunks written.

    python -m bench.web_sync [--pages 200]
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PARAGRAPH = (
    "Statement {i}. The council agreed that operators of essential services shall notify the "
    "competent authority of significant incidents affecting the availability of their "
    "networks, and that the authority shall share anonymised findings with its peers."
)


class _Pages(BaseHTTPRequestHandler):
    pages: dict[str, tuple[str, bytes]] = {}
    counts: dict[str, int] = {"200": 0, "304": 0, "other": 0}

    def do_GET(self) -> None:  # noqa: N802
        found = self.pages.get(self.path)
        if found is None:
            self.counts["other"] += 1
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        etag, body = found
        if self.headers.get("If-None-Match") == etag:
            self.counts["304"] += 1
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.counts["200"] += 1
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def page(i: int, version: int = 1) -> bytes:
    text = " ".join(PARAGRAPH.format(i=i) for _ in range(3)) + f" Version {version}."
    return (
        f"<html><head><title>Statement {i}</title></head><body><article><h1>Statement {i}"
        f"</h1><p>{text}</p></article></body></html>"
    ).encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from assistant.composition import build_embedder, build_store, ingest_options
    from assistant.settings import Settings
    from ingest import ingest

    _Pages.pages = {f"/s/{i}.html": (f'"{i}-1"', page(i)) for i in range(args.pages)}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    urls = [f"{base}/s/{i}.html" for i in range(args.pages)]
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        (root / "corpus").mkdir()
        settings = Settings(
            data_dir=root / "data",
            corpus_dir=root / "corpus",
            web_allow_private=True,
            web_delay_seconds=0.0,  # one host here; a real sync waits WEB_DELAY_SECONDS per host
        )
        embedder = build_embedder(settings)
        embedder.encode(["warm-up"])  # the model is loaded once, before the clock runs
        store = build_store(settings, embedder)
        options = ingest_options(settings)
        sync = functools.partial(ingest, [], store, embedder, options, progress=False, urls=urls)
        rows = []
        for label, change in (("first ingest", None), ("unchanged", None), ("one changed", 0)):
            if change is not None:
                _Pages.pages[f"/s/{change}.html"] = (f'"{change}-2"', page(change, 2))
            before = dict(_Pages.counts)
            start = time.perf_counter()
            report = sync()
            seconds = time.perf_counter() - start
            seen = {k: _Pages.counts[k] - before[k] for k in before}
            rows.append((label, seconds, seen, report))
    server.shutdown()
    print(f"{args.pages} pages on a local server, one store, the model loaded beforehand")
    print(f"{'sync':<14} {'seconds':>8} {'200':>5} {'304':>5} {'chunks written':>15}  report")
    for label, seconds, seen, report in rows:
        print(
            f"{label:<14} {seconds:>8.1f} {seen['200']:>5} {seen['304']:>5} "
            f"{report.chunks_written:>15}  {report.summary()}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
