"""The MCP server through the official SDK's own client: over stdio (`policy-assistant mcp` in a
subprocess) and over streamable HTTP (/mcp on a real uvicorn server, behind API_KEYS)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from assistant.settings import Settings

from .conftest import NIS2, POA_2023, ask_json, keyed_settings, served_web_app

KEY = "mcp-test-key"
QUESTION = (
    "Within how many hours must an early warning of a significant incident be submitted under NIS2?"
)


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return keyed_settings(tmp_path_factory, "mcp", KEY)


@pytest.fixture(scope="module")
def url(settings, embedder):
    with served_web_app(settings, embedder) as base:
        yield base


def _http(url: str, key: str | None = KEY) -> Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return Client(
        streamable_http_client(f"{url}/mcp", http_client=create_mcp_http_client(headers=headers))
    )


def _stdio(settings: Settings) -> Client:
    env = {
        **os.environ,
        "POLICY_ASSISTANT_DATA_DIR": str(settings.data_dir),
        "POLICY_ASSISTANT_CORPUS_DIR": str(settings.corpus_dir),
        "HF_HUB_OFFLINE": "1",
    }
    command = str(Path(sys.executable).with_name("policy-assistant"))
    return Client(StdioServerParameters(command=command, args=["mcp"], env=env))


async def _session_checks(client: Client, url: str) -> None:
    tools = {t.name for t in (await client.list_tools()).tools}
    assert {"search_library", "ask_library", "list_documents"} <= tools

    answer = await client.call_tool("ask_library", {"question": QUESTION})
    assert not answer.is_error
    data = answer.structured_content
    expected = ask_json(url, QUESTION, KEY)
    assert "24 hours" in data["answer"] and not data["abstained"]
    assert data["citations"] == expected["citations"], "the same citations through every door"

    hits = await client.call_tool("search_library", {"query": "early warning", "k": 3})
    passages = hits.structured_content["result"]
    assert len(passages) == 3 and all(p["quote"] and p["source"] for p in passages)
    assert any(p["source"] == NIS2 for p in passages)

    docs = (await client.call_tool("list_documents", {})).structured_content["result"]
    assert {d["source"] for d in docs} == {NIS2, POA_2023}

    text = await client.read_resource(f"document://{NIS2}")
    assert "early warning" in text.contents[0].text

    scoped = await client.call_tool(
        "search_library", {"query": "early warning", "k": 4, "scope": {"documents": [POA_2023]}}
    )
    assert {p["source"] for p in scoped.structured_content["result"]} == {POA_2023}
    traced = await client.call_tool(
        "trace_language", {"source": POA_2023, "locator": "paragraph 4"}
    )
    assert not traced.is_error and traced.structured_content["selected"]["source"] == POA_2023
    lost = await client.call_tool("trace_language", {"source": "nope.pdf", "locator": "x"})
    assert lost.is_error and "no document 'nope.pdf'" in lost.content[0].text

    bad = await client.call_tool("search_library", {"query": "incident", "k": 500})
    assert bad.is_error and "k must be between 1 and 30" in bad.content[0].text
    assert "Traceback" not in bad.content[0].text
    wrong_type = await client.call_tool("ask_library", {"question": ["not", "text"]})
    assert wrong_type.is_error and "Traceback" not in wrong_type.content[0].text


def test_mcp_over_streamable_http(url):
    async def main() -> None:
        async with _http(url) as client:
            await _session_checks(client, url)

    anyio.run(main)


def test_mcp_over_http_needs_a_key(url):
    reply = httpx.post(f"{url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert reply.status_code == 401 and "API key" in reply.json()["error"]


def test_mcp_over_stdio(settings, url):
    async def main() -> None:
        with anyio.fail_after(180):
            async with _stdio(settings) as client:
                await _session_checks(client, url)

    anyio.run(main)
