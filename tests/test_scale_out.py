"""Two app processes sharing one `chroma run` server: what one adds, the other answers from."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .conftest import cli, free_port

pytestmark = pytest.mark.server

TOKEN = "scale-out-token"
NOTE = """# The Zephyrion Protocol on Cable Repair

The Zephyrion Protocol requires its parties to dispatch a repair ship within 36 hours of a
reported submarine cable fault, and to publish a fault report within ten days.
"""


def serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    out = open(log, "wb")  # noqa: SIM115 - closed when the process ends
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("policy-assistant")),
            "serve",
            "--no-sync",
            "--port",
            str(port),
        ],
        env={**os.environ, **env},
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def wait_healthy(url: str, proc: subprocess.Popen, log: Path) -> dict:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(log.read_text()[-2000:])
        try:
            return httpx.get(f"{url}/api/v1/health", timeout=5).json()
        except httpx.HTTPError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not start")


def test_upload_through_one_process_is_answerable_through_the_other(
    chroma_server, small_corpus, tmp_path
):
    base = {
        "POLICY_ASSISTANT_CHROMA_URL": chroma_server,
        "POLICY_ASSISTANT_CORPUS_DIR": str(small_corpus),
        "POLICY_ASSISTANT_COLLECTION": "scale_out",
        "POLICY_ASSISTANT_ADMIN_TOKEN": TOKEN,
        "POLICY_ASSISTANT_STORE_REFRESH_SECONDS": "0.5",
        "POLICY_ASSISTANT_RATE_LIMIT_PER_MINUTE": "0",
    }
    first = {**base, "POLICY_ASSISTANT_DATA_DIR": str(tmp_path / "a")}
    second = {**base, "POLICY_ASSISTANT_DATA_DIR": str(tmp_path / "b")}
    done = cli(first, "ingest", "--quiet")
    assert done.returncode == 0, done.stderr
    ports = free_port(), free_port()
    procs = [
        serve(env, port, tmp_path / f"{i}.log")
        for i, (env, port) in enumerate(zip((first, second), ports, strict=True))
    ]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        before = [
            wait_healthy(u, p, tmp_path / f"{i}.log")
            for i, (u, p) in enumerate(zip(urls, procs, strict=True))
        ]
        assert before[0]["documents"] == before[1]["documents"] == 5
        upload = httpx.post(
            f"{urls[0]}/api/v1/documents",
            files={"file": ("zephyrion.md", NOTE.encode(), "text/markdown")},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=120,
        )
        assert upload.status_code == 201, upload.text
        source = upload.json()["source"]
        time.sleep(1.0)  # the other process re-reads the manifest every 0.5 s
        answer = httpx.post(
            f"{urls[1]}/api/v1/ask",
            json={"question": "How quickly must Zephyrion parties dispatch a repair ship?"},
            timeout=120,
        ).json()
        assert not answer["abstained"], answer
        assert answer["citations"][0]["source"] == source and "36 hours" in answer["answer"]
        assert httpx.get(f"{urls[1]}/api/v1/health").json()["documents"] == 6
        # the second process read the new document from Chroma and cached its lexical segment
        # (its own folder: on another machine it would not share the first process's files)
        segments = list((tmp_path / "b" / "lexical").rglob("*.npz"))
        assert any(f'"source": "{source}"'.encode() in p.read_bytes() for p in segments)
        pdf = httpx.get(f"{urls[1]}/documents/{source}")
        assert pdf.status_code == 200 and "Zephyrion" in pdf.text
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
