"""A public chat that visitors cannot break: attacks found by probing the served app, each
through a real uvicorn server on loopback."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from assistant.composition import build_web_app
from assistant.settings import Settings

from .conftest import PDF, TEXT, copy_corpus, served

TOKEN = "correct-horse-battery-staple"
QUESTION = (
    "What did the General Assembly decide about the open-ended working group on ICT security?"
)


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("public")
    corpus = copy_corpus(root, (PDF, TEXT, "SOURCES.md"))
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
def url(app, settings) -> Iterator[str]:
    with served(app, settings) as base:
        yield base


# each door that streams: the widget's SSE, and the OpenAI-compatible chunks
STREAMS = {
    "/api/v1/ask/stream": {"question": QUESTION},
    "/v1/chat/completions": {"messages": [{"role": "user", "content": QUESTION}], "stream": True},
}


def disconnect_mid_stream(base: str, path: str = "/api/v1/ask/stream") -> None:
    """Send a streamed question over a raw socket, read the first bytes of the reply, hang up."""
    host, port = base.removeprefix("http://").split(":")
    body = json.dumps(STREAMS[path]).encode()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        assert sock.recv(20)  # the first bytes arrived: the answer is under way


@pytest.mark.parametrize("path", list(STREAMS))
def test_visitors_closing_the_stream_mid_answer_leave_no_slot_taken(url, path):
    for _ in range(10):
        disconnect_mid_stream(url, path)
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


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def listed(base: str) -> set[str]:
    return {d["source"] for d in httpx.get(f"{base}/api/v1/documents").json()}


def test_an_upload_racing_a_delete_leaves_no_ghost_document(url, settings):
    """Each round uploads a new document while the previous round's is deleted and a question
    is asked; afterwards the library lists exactly the uploads that were accepted, each with
    its file, and a failed upload keeps no file."""
    uploads = settings.corpus_dir / "uploads"
    accepted: list[str] = []
    problems: list[str] = []

    def upload(i: int) -> None:
        text = f"Institute note {i}. The working group on submarine cable number {i} met " * 20
        r = httpx.post(
            f"{url}/api/v1/documents",
            files={"file": (f"note-{i}.txt", text.encode(), "text/plain")},
            headers=AUTH,
            timeout=120,
        )
        if r.status_code == 201:
            accepted.append(r.json()["source"])
        elif r.status_code != 409:  # busy is an honest answer; anything else is not
            problems.append(f"upload {i}: {r.status_code} {r.text}")

    def delete(source: str) -> None:
        r = httpx.delete(f"{url}/api/v1/documents/{source}", headers=AUTH, timeout=120)
        if r.status_code != 200:
            problems.append(f"delete {source}: {r.status_code} {r.text}")
        else:
            accepted.remove(source)

    def ask() -> None:
        r = httpx.post(f"{url}/api/v1/ask", json={"question": QUESTION}, timeout=60)
        if r.status_code != 200:
            problems.append(f"ask: {r.status_code}")

    upload(0)
    for i in range(1, 10):
        previous = accepted[-1] if accepted else None
        threads = [threading.Thread(target=upload, args=(i,)), threading.Thread(target=ask)]
        if previous:
            threads.append(threading.Thread(target=delete, args=(previous,)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not problems, problems
    in_library = {s for s in listed(url) if s.startswith("uploads/")}
    on_disk = {f"uploads/{p.name}" for p in uploads.iterdir() if p.is_file()}
    assert in_library == set(accepted) == on_disk
    for source in in_library:  # each one's link works
        assert httpx.get(f"{url}/documents/{source}").status_code == 200
    assert not list((uploads / ".incoming").glob("*"))  # nothing staged is left behind


def test_only_listed_documents_are_served_and_links_out_of_the_corpus_are_not_read(
    url, settings, tmp_path
):
    corpus = settings.corpus_dir
    (corpus / ".git").mkdir(exist_ok=True)
    (corpus / ".git" / "config").write_text("[remote] url = secret")
    (corpus / ".private").mkdir(exist_ok=True)
    (corpus / ".private" / "notes.txt").write_text("private notes")
    (corpus / "scratch").mkdir(exist_ok=True)
    outside = tmp_path / "outside.txt"
    outside.write_text(
        "The ambassador's confidential instructions: OUTSIDESECRET concede on paragraph 7. " * 5
    )
    (corpus / "linked.txt").symlink_to(outside)
    report = httpx.post(f"{url}/api/v1/ingest", headers=AUTH, timeout=300).json()
    assert "linked.txt" not in report["added"]
    assert any(
        n["source"] == "linked.txt" and "leaves the corpus" in n["note"] for n in report["notes"]
    )
    assert "linked.txt" not in listed(url)
    hits = httpx.post(
        f"{url}/api/v1/ask",
        json={"question": "What are the ambassador's confidential instructions?"},
    ).json()
    assert "OUTSIDESECRET" not in json.dumps(hits)
    for path in (".git/config", ".private/notes.txt", "linked.txt", "SOURCES.md", "x" * 5000):
        assert httpx.get(f"{url}/documents/{path}").status_code == 404, path
    assert httpx.get(f"{url}/documents/{PDF}").status_code == 200


def test_made_up_api_keys_and_forwarded_addresses_do_not_dodge_the_rate_limit(
    app, settings, embedder
):
    strict = settings.model_copy(update={"rate_limit_per_minute": 3})
    limited = build_web_app(strict, chat=False, sync=False, embedder=embedder)
    with served(limited, strict) as base:
        codes = []
        for i in range(6):
            r = httpx.post(
                f"{base}/api/v1/ask",
                json={"question": QUESTION},
                headers={"X-API-Key": f"made-up-{i}", "X-Forwarded-For": f"203.0.113.{i}"},
                timeout=60,
            )
            codes.append(r.status_code)
        assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429, 429]


def raw_request(base: str, head: bytes, body_parts: list[bytes]) -> bytes:
    """Send a request by hand (to control chunking); the reply's first bytes."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head)
        try:
            for part in body_parts:
                sock.sendall(part)
        except OSError:
            pass  # the server stopped reading: what it answered is below
        return sock.recv(4096)


@pytest.mark.parametrize(
    "path", ["/api/v1/ask", "/api/v1/search", "/api/v1/trace", "/v1/chat/completions", "/mcp"]
)
def test_request_bodies_are_counted_as_they_arrive(url, path):
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()
        + b"Transfer-Encoding: chunked\r\n\r\n"
    )
    filler = b'{"question": "What is the OEWG?", "pad": "' + b"x" * 60_000
    chunk = b"x" * 65_536
    parts = [f"{len(filler):x}\r\n".encode() + filler + b"\r\n"]
    parts += [f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"] * 50  # 3 MiB, never finished
    reply = raw_request(url, head, parts)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    big = json.dumps({"question": "What is the OEWG?", "pad": "x" * 10**7})
    r = httpx.post(f"{url}{path}", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "KiB limit" in r.json()["error"]
    answer = {"answer": "x" * 10**7, "abstained": False, "citations": []}
    r = httpx.post(
        f"{url}/api/v1/feedback", json={"question": "q", "answer": answer, "liked": True}
    )
    assert r.status_code == 413


def test_odd_paths_and_methods_on_the_openai_door_get_its_error_objects(url):
    for method, path, status in (
        ("GET", "/v1/chat/completions", 405),
        ("POST", "/v1/completions", 404),
        ("GET", "/v1/%2e%2e/api/v1/health", 404),
    ):
        r = httpx.request(method, f"{url}{path}")
        assert r.status_code == status, (method, path)
        assert set(r.json()["error"]) >= {"message", "type"}, (method, path)
    r = httpx.post(f"{url}/v1/chat/completions", content=b"{not json", timeout=30)
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = httpx.post(
        f"{url}/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "x" * 5000}]},
        timeout=30,
    )
    assert r.status_code == 413 and "longer than" in r.json()["error"]["message"]


def test_feedback_is_limited_per_client(url, settings):
    answer = {"answer": "An answer [1].", "abstained": False, "citations": []}
    codes = [
        httpx.post(
            f"{url}/api/v1/feedback", json={"question": "q", "answer": answer, "liked": True}
        ).status_code
        for _ in range(settings.feedback_per_minute + 3)
    ]
    assert codes.count(204) <= settings.feedback_per_minute and codes[-1] == 429


def test_gradio_uploads_are_off_without_an_admin_token(settings, embedder):
    open_settings = settings.model_copy(update={"admin_token": SecretStr("")})
    app = build_web_app(open_settings, chat=True, sync=False, embedder=embedder)
    with served(app, open_settings) as base:
        r = httpx.post(
            f"{base}/gradio_api/upload", files={"files": ("a.txt", b"hello", "text/plain")}
        )
        assert r.status_code == 403
        assert httpx.get(f"{base}/").status_code == 200  # the chat itself is there


def test_a_document_of_one_repeated_word_is_refused_quickly(url):
    started = time.monotonic()
    data = ("policy " * 20 + "\n").encode() * 107_000  # 15 MB
    r = httpx.post(
        f"{url}/api/v1/documents",
        files={"file": ("repeated.txt", data, "text/plain")},
        headers=AUTH,
        timeout=120,
    )
    assert r.status_code == 422 and "MAX_PASSAGES_PER_DOCUMENT" in r.json()["error"]
    assert time.monotonic() - started < 20
    assert not any("repeated" in s for s in listed(url))


def test_repeated_wrong_admin_tokens_are_slowed_down(url, settings):
    codes = [
        httpx.post(
            f"{url}/api/v1/ingest", headers={"Authorization": f"Bearer guess-{i}"}
        ).status_code
        for i in range(40)
    ]
    limit = settings.admin_failures_per_minute
    assert codes[:limit] == [401] * limit and set(codes[limit:]) == {429}


def test_non_utf8_argument_is_one_line_error():
    import os
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).with_name("policy-assistant")
    done = subprocess.run([os.fsencode(exe), b"ask", b"caf\xe9 \xff?"], capture_output=True)
    assert done.returncode == 2
    assert done.stderr.decode().strip() == "error: an argument is not valid UTF-8 text"


def test_export_escapes_document_html():
    from ui.render import conversation_markdown

    record = {
        "question": "<img src=x onerror=alert(1)>",
        "answer": {
            "answer": "It says <script>alert(1)</script> [1].",
            "abstained": False,
            "citations": [
                {
                    "n": 1,
                    "title": "<b>Brief</b>",
                    "page": None,
                    "locator": None,
                    "quote": "<iframe src=javascript:alert(1)></iframe> text",
                    "url": "javascript:alert(1)",
                }
            ],
        },
    }
    text = conversation_markdown([record])
    assert "<script>" not in text and "<img" not in text and "<iframe" not in text
    assert "<b>" not in text and "javascript:" not in text.split("Sources:")[1].split(">")[0]
    assert "&lt;script&gt;" in text
