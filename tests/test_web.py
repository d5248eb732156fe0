"""Web pages into the library, from a real HTTP server on loopback that the test starts: the
refusal of private addresses (also through a redirect and a DNS name), conditional re-syncs,
robots.txt, pages that disappear, and a corpus folder's SOURCES.web."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from .conftest import cli, free_port

PAGE = """<!doctype html><html><head><title>Offshore wind cyber statement</title>
<meta property="article:published_time" content="2024-03-05T09:00:00Z"></head><body>
<nav>Home | News | Contact</nav>
<article><h1>Statement on the cyber resilience of offshore wind farms</h1>
<p>The North Sea Energy Security Council agreed that operators of offshore wind farms shall
notify the regional energy CERT within six hours of detecting a cyber incident affecting turbine
control systems. A full report shall follow within thirty days.</p>
<p>Remote maintenance access to turbine controllers shall use multi-factor authentication and
be logged for at least two years, the council added.</p></article></body></html>"""


class Site:
    """What the server serves and what it was asked."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []

    def page(self, path: str, body: str, etag: str, kind: str = "text/html") -> None:
        headers = {"Content-Type": f"{kind}; charset=utf-8", "ETag": etag}
        self.pages[path] = (200, headers, body.encode())


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    state = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            state.requests.append((self.path, dict(self.headers)))
            status, headers, body = state.pages.get(self.path, (404, {}, b"not found"))
            etag = headers.get("ETag")
            if status == 200 and etag and self.headers.get("If-None-Match") == etag:
                status, body = 304, b""
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.pages["/robots.txt"] = (
        200,
        {"Content-Type": "text/plain"},
        b"User-agent: *\nDisallow: /private/\n",
    )
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def settings_for(tmp_path, **extra: Any):
    from assistant.settings import Settings

    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    return Settings(data_dir=tmp_path / "data", corpus_dir=corpus, web_delay_seconds=0.0, **extra)


def test_private_addresses_are_refused_in_one_line_and_nothing_changes(tmp_path, site):
    state, base = site
    state.page("/statement.html", PAGE, '"v1"')
    env = {
        "POLICY_ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "POLICY_ASSISTANT_CORPUS_DIR": str(tmp_path),
    }
    port = base.rsplit(":", 1)[1]
    for url, why in [
        (f"{base}/statement.html", "127.0.0.1 is a loopback address"),
        (f"http://localhost:{port}/statement.html", "localhost is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "is a link-local address"),
        ("http://10.1.2.3/", "is a private address"),
    ]:
        done = cli(env, "ingest", url, "--quiet")
        assert done.returncode == 1, done.stdout
        [line] = [x for x in done.stderr.splitlines() if x.startswith("failed:")]
        assert why in line and "WEB_ALLOW_PRIVATE" in line, line
    assert state.requests == []  # refused before any request
    listed = cli(env, "documents", "list", "--json")
    assert json.loads(listed.stdout) == []


def test_a_redirect_into_a_private_network_is_refused(tmp_path, site):
    from assistant.composition import run_ingest

    state, base = site
    port = base.rsplit(":", 1)[1]
    state.pages["/hop"] = (302, {"Location": f"http://localhost:{port}/statement.html"}, b"")
    state.page("/statement.html", PAGE, '"v1"')
    # this server is trusted by name; the redirect goes to another name for it, not trusted
    settings = settings_for(tmp_path, web_allow_hosts=[f"127.0.0.1:{port}"])
    report = run_ingest(settings, [], progress=False, urls=[f"{base}/hop"])
    [(url, why)] = report.failed
    assert url == f"{base}/hop" and "refused: localhost is a loopback address" in why
    assert [p for p, _ in state.requests] == ["/robots.txt", "/hop"]


def test_a_page_is_searchable_cited_to_its_url_and_resynced_conditionally(tmp_path, site):
    from assistant import build_assistant
    from assistant.composition import run_ingest

    state, base = site
    url = f"{base}/statement.html"
    state.page("/statement.html", PAGE, '"v1"')
    settings = settings_for(tmp_path, web_allow_private=True)
    first = run_ingest(settings, [], progress=False, urls=[url])
    assert first.added == [url] and first.chunks_written >= 1
    assistant = build_assistant(settings, llm=None)
    [hit] = assistant.search("How fast must offshore wind operators notify the CERT?", 1)
    assert hit.source == url and hit.url == url and "six hours" in hit.quote
    assert hit.title == "Offshore wind cyber statement" and hit.date == "2024-03-05"
    assert "Home | News" not in hit.quote  # the page's chrome is not its text

    state.requests.clear()
    again = run_ingest(settings, [], progress=False, urls=[url])
    assert again.unchanged == [url], again.failed
    assert again.chunks_written == 0
    [(path, headers)] = [r for r in state.requests if r[0] == "/statement.html"]
    assert headers.get("If-None-Match") == '"v1"'

    state.page("/statement.html", PAGE.replace("six hours", "four hours"), '"v2"')
    changed = run_ingest(settings, [], progress=False, urls=[url])
    assert changed.updated == [url]
    assistant.searcher.refresh(force=True)  # a server sees it within STORE_REFRESH_SECONDS
    assert "four hours" in assistant.search("offshore wind CERT notification", 1)[0].quote


def test_robots_gone_pages_and_the_folders_sources_file(tmp_path, site):
    from assistant.composition import run_ingest

    state, base = site
    state.page("/private/memo.html", PAGE, '"m"')
    state.page("/statement.html", PAGE, '"v1"')
    settings = settings_for(tmp_path, web_allow_private=True)
    (settings.corpus_dir / "SOURCES.web").write_text(
        f"# pages synced with the folder\n{base}/statement.html\n{base}/private/memo.html\n"
    )
    report = run_ingest(settings, [settings.corpus_dir], progress=False, prune=True)
    assert report.added == [f"{base}/statement.html"]
    assert report.failed == [
        (f"{base}/private/memo.html", "robots.txt of the site disallows fetching this page")
    ]
    assert not any("SOURCES.web" in s for s, _ in report.failed)

    del state.pages["/statement.html"]  # gone: kept after one miss, removed after two
    once = run_ingest(settings, [settings.corpus_dir], progress=False, prune=True)
    assert (f"{base}/statement.html", "the page is gone (404)") in once.failed
    assert once.removed == []
    twice = run_ingest(settings, [settings.corpus_dir], progress=False, prune=True)
    assert twice.removed == [f"{base}/statement.html"]


def test_a_file_prune_keeps_pages_ingested_by_url(tmp_path, site):
    from assistant.composition import run_ingest

    state, base = site
    state.page("/statement.html", PAGE, '"v1"')
    settings = settings_for(tmp_path, web_allow_private=True)
    run_ingest(settings, [], progress=False, urls=[f"{base}/statement.html"])
    (settings.corpus_dir / "note.txt").write_text(
        "A short note on submarine cable security and repair ships."
    )
    pruned = run_ingest(settings, [settings.corpus_dir], progress=False, prune=True)
    assert pruned.added == ["note.txt"] and pruned.removed == []


def test_feeds_and_sitemaps_in_the_sources_file(tmp_path, site):
    from assistant.composition import run_ingest

    from .conftest import CORPUS, PDF

    state, base = site
    state.page("/news/1.html", PAGE, '"n1"')
    state.page("/news/2.html", PAGE.replace("offshore wind", "tidal energy"), '"n2"')
    state.page("/about.html", PAGE.replace("offshore wind", "solar park"), '"a"')
    state.pages["/docs/resolution.pdf"] = (
        200,
        {"Content-Type": "application/pdf", "ETag": '"p"'},
        (CORPUS / PDF).read_bytes(),
    )
    rss = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>
<item><title>One</title><link>{base}/news/1.html</link></item>
<item><title>Two</title><link>/news/2.html</link>
<enclosure url="{base}/docs/resolution.pdf" type="application/pdf" length="1"/></item>
</channel></rss>"""
    state.page("/feed.xml", rss, '"f"', kind="application/rss+xml")
    ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
    state.page(
        "/sitemap-index.xml",
        f'<sitemapindex xmlns="{ns}"><sitemap><loc>{base}/sitemap-pages.xml</loc></sitemap>'
        "</sitemapindex>",
        '"si"',
        kind="application/xml",
    )
    state.page(
        "/sitemap-pages.xml",
        f'<urlset xmlns="{ns}"><url><loc>{base}/about.html</loc></url>'
        "<url><loc>https://elsewhere.example/off-site.html</loc></url></urlset>",
        '"sp"',
        kind="application/xml",
    )
    settings = settings_for(tmp_path, web_allow_private=True)
    (settings.corpus_dir / "SOURCES.web").write_text(
        f"feed {base}/feed.xml\nsitemap {base}/sitemap-index.xml depth 1\n"
    )
    report = run_ingest(settings, [settings.corpus_dir], progress=False)
    assert sorted(report.added) == sorted(
        f"{base}{p}"
        for p in ("/news/1.html", "/news/2.html", "/docs/resolution.pdf", "/about.html")
    ), report.as_json()
    assert report.failed == []  # the off-site page of the sitemap is not followed
    env = {
        "POLICY_ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "POLICY_ASSISTANT_CORPUS_DIR": str(settings.corpus_dir),
    }
    docs = json.loads(cli(env, "documents", "list", "--json").stdout)
    listed = {d["source"]: d for d in docs}
    pdf = listed[f"{base}/docs/resolution.pdf"]
    assert pdf["kind"] == "pdf" and pdf["pages"] == 2 and pdf["symbol"] == "A/RES/79/237"
