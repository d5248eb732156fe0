"""A public chat that visitors cannot break: attacks found by probing the served app, each
through a real uvicorn server on loopback."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from assistant.cli import build_web_app
from assistant.settings import Settings

from .conftest import CORPUS, NIS2, free_port

TOKEN = "correct-horse-battery-staple"
QUESTION = "Within how many hours must an early warning of a significant incident be submitted?"


@contextmanager
def served(app) -> Iterator[str]:
    """``app`` on a real uvicorn server on a free loopback port; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("public")
    corpus = root / "corpus"
    corpus.mkdir()
    for name in (NIS2, "SOURCES.md"):
        shutil.copy(CORPUS / name, corpus / name)
    return Settings(
        data_dir=root / "data",
        corpus_dir=corpus,
        admin_token=TOKEN,
        rate_limit_per_minute=1000,
        max_concurrent_answers=4,
    )


@pytest.fixture(scope="module")
def app(settings, embedder):
    return build_web_app(settings, chat=False, sync=True, embedder=embedder)


@pytest.fixture(scope="module")
def url(app) -> Iterator[str]:
    with served(app) as base:
        yield base


def disconnect_mid_stream(base: str, question: str = QUESTION) -> None:
    """Send a streamed question over a raw socket, read the first bytes of the reply, hang up."""
    host, port = base.removeprefix("http://").split(":")
    body = json.dumps({"question": question}).encode()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            b"POST /api/v1/ask/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        assert sock.recv(20)  # the first bytes arrived: the answer is under way


def test_visitors_closing_the_stream_mid_answer_leave_no_slot_taken(url):
    for _ in range(10):
        disconnect_mid_stream(url)
    started = time.monotonic()
    answer = httpx.post(f"{url}/api/v1/ask", json={"question": QUESTION}, timeout=30)
    assert answer.status_code == 200 and answer.json()["citations"]
    assert time.monotonic() - started < 10
    streamed = httpx.post(f"{url}/api/v1/ask/stream", json={"question": QUESTION}, timeout=30)
    assert "event: answer" in streamed.text
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        slots = httpx.get(f"{url}/api/v1/health").json()["answer_slots"]
        if slots["free"] == slots["limit"]:
            break
        time.sleep(0.1)
    assert slots == {"free": 4, "limit": 4}
