"""Shared fixtures: the real packaged embedding model, small real corpora, real Chroma stores."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.environment import configure_environment
from assistant.settings import Settings

configure_environment()

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"

# Small real documents of each kind from the shipped corpus
PDF = "un-ga-resolution-79-237-oewg-2021-2025-2024.pdf"
MARKDOWN = "paris-call-case-studies-principle-1.md"
TEXT = "un-ga-resolution-76-19-endorsing-oewg-and-gge-reports-2021.txt"


def make_html(path: Path) -> None:
    path.write_text(
        """<!doctype html><html><head><title>Digital Diplomacy Brief 7</title>
<style>body { color: red }</style><script>alert('x'); var secret = "SCRIPTTEXT";</script></head>
<body><nav><a href="/">Home</a> | <a href="/about">NAVIGATIONLINK</a></nav>
<main><h1>Digital Diplomacy Brief 7</h1>
<h2>Confidence-building measures</h2>
<p>The brief recommends that States designate points of contact for ICT security incidents and
share information on national cyber doctrines as confidence-building measures. The OSCE adopted
sixteen such measures in two sets, in 2013 and 2016, to reduce the risk of conflict stemming from
the use of information and communications technologies.</p>
<h2>Capacity-building</h2>
<p>The brief notes that capacity-building should be demand-driven, sustainable and respect human
rights, and that it benefits from partnerships between governments, industry and civil society.</p>
</main><footer>FOOTERTEXT copyright</footer></body></html>""",
        encoding="utf-8",
    )


def make_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Institute Note on Submarine Cables"
    document.add_heading("Institute Note on Submarine Cables", level=1)
    document.add_heading("Article 3 Protection of cables", level=2)
    document.add_paragraph(
        "1. Coastal States should protect submarine telecommunications cables against "
        "sabotage, as more than 95 percent of intercontinental data traffic runs through them."
    )
    document.add_paragraph(
        "2. Repair ships need rapid permits to restore damaged cables within days, not weeks."
    )
    document.save(str(path))


@pytest.fixture(scope="session")
def embedder():
    from assistant.composition import build_embedder

    model = build_embedder(Settings())  # the default backend, as the CLI and the app build it
    assert model.model is not None  # load once for the whole session
    return model


def copy_corpus(root: Path, names: Iterable[str]) -> Path:
    """``root/corpus`` holding copies of these files of the shipped corpus."""
    corpus = root / "corpus"
    corpus.mkdir()
    for name in names:
        shutil.copy(CORPUS / name, corpus / name)
    return corpus


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    """A PDF, a Markdown and a TXT from the shipped corpus, plus a generated HTML and DOCX."""
    corpus = copy_corpus(tmp_path, (PDF, MARKDOWN, TEXT, "SOURCES.md"))
    make_html(corpus / "brief.html")
    make_docx(corpus / "cables-note.docx")
    return corpus


def fingerprint_for(embedder, max_tokens: int = 200, min_tokens: int = 48) -> dict:
    """The store fingerprint the app would write for this chunking (``composition.fingerprint``)."""
    from assistant.composition import fingerprint

    chunking = Settings(chunk_max_tokens=max_tokens, chunk_min_tokens=min_tokens)
    return fingerprint(chunking, embedder)


@pytest.fixture
def store(tmp_path: Path, embedder):
    from vectorstore import ChunkStore, connect

    return ChunkStore(connect(tmp_path / "data"), "test", fingerprint_for(embedder))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` on a free loopback port; yields its URL."""
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).with_name("chroma")
    with open(path / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [
                str(chroma),
                "run",
                "--path",
                str(path / "db"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError((path / "server.log").read_text()) from None
                time.sleep(0.3)
        else:
            proc.kill()
            raise RuntimeError("chroma server did not start")
        yield f"http://127.0.0.1:{port}"
        proc.terminate()
        proc.wait(timeout=20)


NIS2 = "eu-nis2-directive-2022-2555.md"
POA_2022 = "un-ga-resolution-77-37-programme-of-action-2022.txt"
POA_2023 = "un-ga-resolution-78-16-programme-of-action-2023.pdf"
DOCS = [
    NIS2,
    POA_2022,
    POA_2023,
    "quad-senior-cyber-group-joint-cybersecurity-statement-2023-02-02.md",
    "us-wh-statement-iran-cyberattack-against-albania-2022-09-07.md",
    "SOURCES.md",
]


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).with_name("policy-assistant")), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="session")
def library(tmp_path_factory) -> dict[str, str]:
    """A corpus ingested by the real CLI; returns the environment that points at it."""
    root = tmp_path_factory.mktemp("library")
    corpus = copy_corpus(root, DOCS)
    make_html(corpus / "brief.html")
    make_docx(corpus / "cables-note.docx")
    env = {
        "POLICY_ASSISTANT_CORPUS_DIR": str(corpus),
        "POLICY_ASSISTANT_DATA_DIR": str(root / "data"),
    }
    done = cli(env, "ingest", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "added 7, updated 0, unchanged 0, removed 0, failed 0" in done.stdout
    return env


@pytest.fixture(scope="session")
def settings(library):
    """Settings pointing at the ``library`` corpus and store (modules may override)."""
    from assistant.settings import Settings

    return Settings(
        data_dir=Path(library["POLICY_ASSISTANT_DATA_DIR"]),
        corpus_dir=Path(library["POLICY_ASSISTANT_CORPUS_DIR"]),
    )


@contextlib.contextmanager
def served(app: Any, settings: Settings | None = None, **config: Any) -> Iterator[str]:
    """``app`` on a real uvicorn server on a free loopback port, configured as `serve` does
    (``server_config``) when ``settings`` are given; yields its base URL."""
    import uvicorn

    from assistant.composition import server_config

    port = free_port()
    if settings is not None:
        conf = server_config(app, settings.model_copy(update={"port": port}))
    else:
        conf = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config)
    server = uvicorn.Server(conf)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def keyed_settings(tmp_path_factory: Any, name: str, key: str) -> Settings:
    """NIS2, the 2023 Programme of Action and the catalogue in a fresh corpus and store, with
    one API key (the doors that speak other protocols are tested on it)."""
    from assistant.settings import Settings

    root = tmp_path_factory.mktemp(name)
    corpus = copy_corpus(root, (NIS2, POA_2023, "SOURCES.md"))
    return Settings(
        data_dir=root / "data", corpus_dir=corpus, api_keys=[key], rate_limit_per_minute=1000
    )


@contextlib.contextmanager
def served_web_app(settings: Settings, embedder: Any) -> Iterator[str]:
    """The web app without the chat, its corpus synced first, on a real server; its URL."""
    from assistant.composition import build_web_app

    with served(build_web_app(settings, chat=False, sync=True, embedder=embedder)) as url:
        yield url


def ask_json(url: str, question: str, key: str, history: list | None = None) -> dict:
    """The JSON API's answer (what every other door must cite alike)."""
    import httpx

    reply = httpx.post(
        f"{url}/api/v1/ask",
        json={"question": question, "history": history or []},
        headers={"X-API-Key": key},
        timeout=120,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()
