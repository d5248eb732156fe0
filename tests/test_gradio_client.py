"""The Gradio chat's API endpoint through the real `gradio_client`, against the real app served by
uvicorn on a loopback port (also home of `running_app`, which the browser tests share)."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant import Settings

from .conftest import served


@contextlib.contextmanager
def running_app(settings: Settings, embedder: Any) -> Iterator[str]:
    """The whole web app (Gradio chat included) served in a thread; yields its base URL.

    The session's embedder is passed in, so the model is loaded once per test run.
    """
    from assistant.composition import build_web_app

    app = build_web_app(settings, chat=True, sync=False, embedder=embedder)
    with served(app, ws="none") as url:
        with urllib.request.urlopen(f"{url}/api/v1/health", timeout=30) as response:
            assert response.status == 200
        yield url


def settings_for(env: dict[str, str], **overrides: Any) -> Settings:
    return Settings(
        corpus_dir=env["POLICY_ASSISTANT_CORPUS_DIR"],
        data_dir=env["POLICY_ASSISTANT_DATA_DIR"],
        **overrides,
    )


@pytest.fixture(scope="module")
def app_url(library: dict[str, str], embedder: Any) -> Iterator[str]:
    with running_app(settings_for(library), embedder) as url:
        yield url


def test_chat_endpoint_answers_with_citations(app_url: str) -> None:
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    result = client.predict(message="What does Article 23 of NIS2 require?", api_name="/chat")

    assert isinstance(result, str)
    assert "[1]" in result
    assert "Sources:" in result
    assert (
        "Directive (EU) 2022/2555 (European Union, 14 December 2022)"
        in result.split("Sources:", 1)[1]
    )
    assert "The library does not answer" not in result


def test_chat_endpoint_is_listed_and_internal_events_are_not(app_url: str) -> None:
    from gradio_client import Client

    api = Client(app_url, verbose=False).view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == {"/chat"}
    assert [p["parameter_name"] for p in api["named_endpoints"]["/chat"]["parameters"]] == [
        "message"
    ]


def test_without_admin_token_the_editor_controls_are_not_rendered(app_url: str) -> None:
    with urllib.request.urlopen(f"{app_url}/config", timeout=30) as response:
        config = json.load(response)
    ids = {c["props"].get("elem_id") for c in config["components"]}
    assert {"pa-chatbot", "pa-sources", "pa-documents"} <= ids
    assert not {i for i in ids if i and i.startswith("pa-admin")}
    assert not {"pa-upload", "pa-add", "pa-remove"} & ids


def test_chat_endpoint_requires_an_api_key_when_set_and_shares_the_rate_limit(
    library: dict[str, str], embedder: Any
) -> None:
    """With API_KEYS set the Gradio endpoint wants one too (it is a programmatic door like
    /api/v1/ask), and a client's questions count against one budget across both doors."""
    import httpx
    from gradio_client import Client

    settings = settings_for(library, api_keys=["k1"], rate_limit_per_minute=3)
    question = "What does Article 23 of NIS2 require?"
    with running_app(settings, embedder) as url:
        anonymous = Client(url, verbose=False)
        with pytest.raises(Exception, match="X-API-Key"):
            anonymous.predict(question, api_name="/chat")
        keyed = Client(url, verbose=False, headers={"X-API-Key": "k1"})
        assert "[1]" in keyed.predict(question, api_name="/chat")
        assert "[1]" in keyed.predict(question, api_name="/chat")
        asked = httpx.post(
            f"{url}/api/v1/ask", json={"question": question}, headers={"X-API-Key": "k1"}
        )
        assert asked.status_code == 200  # the third question of the minute
        with pytest.raises(Exception, match="too many questions"):
            keyed.predict(question, api_name="/chat")


def test_conversation_exports_older_than_an_hour_are_pruned(tmp_path) -> None:
    import os

    from ui.chat import write_export

    old = Path(write_export(tmp_path, "# an old conversation\n"))
    an_hour_ago = time.time() - 3700
    os.utime(old.parent, (an_hour_ago, an_hour_ago))
    recent = Path(write_export(tmp_path, "# a recent conversation\n"))
    new = Path(write_export(tmp_path, "# a new conversation\n"))
    assert not old.exists() and recent.exists() and new.exists()
    assert new.read_text(encoding="utf-8") == "# a new conversation\n"
