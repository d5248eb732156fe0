"""From `policy-assistant serve` on an empty store to the page, the first cited answer and the
full library; then a second `serve` on the synced store.

Each checkout given (``--checkout``, default: this one) is run as a newcomer would run it:
its own `policy-assistant serve` on a fresh data folder and the project's corpus, started as
a subprocess on a free loopback port. Measured from the start of the process:

- ``page``: the first HTTP answer (``/api/v1/health``) – what a browser needs to open the chat;
- ``first_answer``: the first answer to one of the dev questions that is not an abstention and
  cites a passage (the questions are asked in turn, every 2 s);
- ``full_library``: the health endpoint reports the sync finished (a checkout that syncs before
  serving has it at ``page``);
- ``second_serve``: a new `serve` on the synced store, until its first HTTP answer.

``--clear-model-cache`` removes the exported ONNX graphs first, so the export a fresh machine
does on first use is part of the time. Results go to ``bench/results/<name>.json``.

    python -m bench.serve_start
    python -m bench.serve_start --checkout /tmp/old-checkout --checkout . --clear-model-cache
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import PROJECT_ROOT, format_table, free_port, machine, write_results

QUESTIONS = (
    "What does the 2023 resolution decide about the programme of action?",
    "What must essential entities do when a significant incident occurs?",
    "What is the Paris Call?",
)


def start(checkout: Path, data: Path, port: int, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "POLICY_ASSISTANT_DATA_DIR": str(data),
        "POLICY_ASSISTANT_CORPUS_DIR": str(PROJECT_ROOT / "corpus"),
        "POLICY_ASSISTANT_PORT": str(port),
        "POLICY_ASSISTANT_RATE_LIMIT_PER_MINUTE": "10000",
    }
    command = [sys.executable, "-m", "assistant.cli", "serve"]
    return subprocess.Popen(
        command, cwd=checkout, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def serve_once(checkout: Path, data: Path, limit: float) -> dict[str, Any]:
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = data.with_suffix(".log")
    began = time.monotonic()
    proc = start(checkout, data, port, log)
    marks: dict[str, float | None] = {"page": None, "first_answer": None, "full_library": None}
    asked = 0
    try:
        while time.monotonic() - began < limit:
            if proc.poll() is not None:
                raise RuntimeError(f"serve ended: {log.read_text()[-1500:]}")
            now = time.monotonic() - began
            try:
                health = httpx.get(f"{url}/api/v1/health", timeout=5).json()
            except httpx.HTTPError:
                time.sleep(0.25)
                continue
            marks["page"] = marks["page"] or now
            indexing = health.get("indexing") or {"running": False}
            if marks["full_library"] is None and not indexing.get("running"):
                marks["full_library"] = now
            if marks["first_answer"] is None:
                question = QUESTIONS[asked % len(QUESTIONS)]
                asked += 1
                reply = httpx.post(
                    f"{url}/api/v1/ask", json={"question": question}, timeout=120
                ).json()
                if not reply.get("abstained") and reply.get("citations"):
                    marks["first_answer"] = time.monotonic() - began
            if all(v is not None for v in marks.values()):
                return {**marks, "documents": health.get("documents"), "questions_asked": asked}
            time.sleep(2)
        raise RuntimeError(f"not done within {limit} s: {marks}")
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def second_serve(checkout: Path, data: Path) -> float:
    import httpx

    port = free_port()
    log = data.with_name(data.name + "-second.log")
    began = time.monotonic()
    proc = start(checkout, data, port, log)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"serve ended: {log.read_text()[-1500:]}")
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5)
                return time.monotonic() - began
            except httpx.HTTPError:
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time from `serve` on an empty store to the page, the first cited answer "
        "and the full library, per checkout.",
        epilog="example: python -m bench.serve_start --checkout /tmp/old --checkout .",
    )
    parser.add_argument(
        "--checkout", type=Path, action="append", help="project checkout (default: this one)"
    )
    parser.add_argument(
        "--clear-model-cache", action="store_true", help="remove the exported ONNX graphs first"
    )
    parser.add_argument("--limit", type=float, default=1800, help="seconds a run may take")
    parser.add_argument("--name", default="serve_start", help="results file name")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    checkouts = [c.resolve() for c in (args.checkout or [PROJECT_ROOT])]
    runs = []
    with tempfile.TemporaryDirectory(prefix="serve-start-") as tmp:
        for n, checkout in enumerate(checkouts):
            if args.clear_model_cache:
                from vectorstore.onnx_encoder import default_cache_dir

                shutil.rmtree(default_cache_dir(), ignore_errors=True)
            data = Path(tmp) / f"data-{n}"
            commit = subprocess.run(
                ["git", "-C", str(checkout), "log", "-1", "--format=%h %s"],
                capture_output=True,
                text=True,
            ).stdout.strip()
            print(f"serve from {checkout} ({commit[:60]}) ...", file=sys.stderr)
            marks = serve_once(checkout, data, args.limit)
            marks["second_serve"] = second_serve(checkout, data)
            runs.append({"checkout": str(checkout), "commit": commit, **marks})
    rows = [
        [
            r["commit"][:40],
            f"{r['page']:.0f}",
            f"{r['first_answer']:.0f}",
            f"{r['full_library']:.0f}",
            f"{r['second_serve']:.1f}",
        ]
        for r in runs
    ]
    print(
        format_table(
            ["checkout", "page s", "first cited answer s", "full library s", "second serve s"],
            rows,
        )
    )
    result = {"benchmark": "serve start", "runs": runs, "machine": machine()}
    print(f"wrote {write_results(args.name, result)}")
    print(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
