"""Fetching web pages for the library, politely and safely.

An editor's URL must not make the server read its own network (server-side request forgery):
every address a request goes to, the first and each redirect's, is resolved and refused when it
is loopback, private, link-local or otherwise not public, unless the policy allows private
addresses (``WEB_ALLOW_PRIVATE``) or names the host (``WEB_ALLOW_HOSTS``). The address actually
connected to is checked again after the connection (a DNS name that changes its answer between
the check and the request is caught there). Only http and https; a user agent; robots.txt
honoured; a delay between requests to one host; timeouts; a size cap; at most a few redirects.
Re-fetching sends ``If-None-Match`` / ``If-Modified-Since``, so an unchanged page costs one
conditional request.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from vectorstore import is_url

from .errors import IngestError

__all__ = [
    "Fetched",
    "Fetcher",
    "PageGoneError",
    "WebError",
    "WebPolicy",
    "WebSource",
    "expand",
    "feed_links",
    "read_web_sources",
    "sitemap_links",
    "suffix_for",
]

USER_AGENT = "policy-assistant/1.0 (+library ingest; respects robots.txt)"


class WebError(IngestError):
    """A page that cannot or may not be fetched; the message is one line."""


class PageGoneError(WebError):
    """404 or 410: after two in a row a sync with ``prune`` removes the page."""


@dataclass(frozen=True)
class WebPolicy:
    allow_private: bool = False
    allow_hosts: frozenset[str] = frozenset()  # "host" or "host:port" allowed though private
    user_agent: str = USER_AGENT
    timeout: float = 20.0
    max_bytes: int = 50 * 2**20
    max_redirects: int = 5
    delay_seconds: float = 1.0  # between two requests to the same host
    robots: bool = True


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int  # 200, or 304 when the page has not changed
    data: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


_TYPES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}


def suffix_for(content_type: str, url: str) -> str:
    """The reader a page's bytes go to: by its Content-Type, else by the URL's extension."""
    kind = content_type.split(";")[0].strip().lower()
    if kind in _TYPES:
        return _TYPES[kind]
    path = urlsplit(url).path.lower()
    for ext in (".pdf", ".html", ".htm", ".md", ".txt", ".docx"):
        if path.endswith(ext):
            return ext
    raise WebError(f"unsupported content type {kind or '(none)'}")


def _not_public(address: str) -> str | None:
    """Why ``address`` may not be fetched from ("a loopback address"), or None if public."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for test, why in (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_private", "a private address"),
        ("is_multicast", "a multicast address"),
        ("is_reserved", "a reserved address"),
        ("is_unspecified", "an unspecified address"),
    ):
        if getattr(ip, test):
            return why
    return None if ip.is_global else "not a public address"


@dataclass
class Fetcher:
    """Fetches pages under ``policy``; one per ingest (it remembers robots.txt and the time of
    the last request to each host). ``resolve`` maps a host to its addresses (a test seam;
    ``socket.getaddrinfo`` by default)."""

    policy: WebPolicy = field(default_factory=WebPolicy)
    resolve: Callable[[str, int], list[str]] | None = None
    _robots: dict[str, urllib.robotparser.RobotFileParser | None] = field(default_factory=dict)
    _last: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        import httpx

        self.client = httpx.Client(
            follow_redirects=False,
            timeout=self.policy.timeout,
            headers={"User-Agent": self.policy.user_agent},
            trust_env=False,  # no proxy from the environment: the checked address is the one used
        )

    def close(self) -> None:
        self.client.close()

    # --- the checks ------------------------------------------------------------------------
    def _addresses(self, host: str, port: int) -> list[str]:
        if self.resolve is not None:
            return self.resolve(host, port)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise WebError(f"cannot resolve {host}: {exc.strerror or exc}") from None
        return sorted({str(info[4][0]) for info in infos})

    def _allowed_host(self, host: str, port: int) -> bool:
        return host in self.policy.allow_hosts or f"{host}:{port}" in self.policy.allow_hosts

    def check(self, url: str) -> None:
        """Refuse ``url`` (``WebError``) unless it is http(s) to a public address, or allowed."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise WebError(f"only http and https URLs are fetched, not {parts.scheme or url!r}")
        host = parts.hostname
        if not host:
            raise WebError(f"no host in {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if self.policy.allow_private or self._allowed_host(host, port):
            return
        for address in self._addresses(host, port):
            why = _not_public(address)
            if why:
                raise WebError(
                    f"refused: {host} is {why} ({address}); set "
                    "POLICY_ASSISTANT_WEB_ALLOW_PRIVATE=true or WEB_ALLOW_HOSTS to fetch it"
                )

    def _check_peer(self, response, url: str) -> None:
        """The address the connection really went to (a DNS answer may change after check)."""
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
        if self.policy.allow_private or self._allowed_host(host, port):
            return
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if peer:
            why = _not_public(str(peer[0]))
            if why:
                raise WebError(f"refused: {host} connected to {why} ({peer[0]})")

    def _wait_turn(self, host: str) -> None:
        with self._lock:
            wait = (
                self._last.get(host, float("-inf")) + self.policy.delay_seconds - time.monotonic()
            )
            if wait > 0:
                time.sleep(wait)
            self._last[host] = time.monotonic()

    def _may_fetch(self, url: str) -> bool:
        if not self.policy.robots:
            return True
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            parser: urllib.robotparser.RobotFileParser | None = None
            try:
                got = self._get(f"{origin}/robots.txt", {})
                if got.status == 200:
                    parser = urllib.robotparser.RobotFileParser()
                    parser.parse(got.data.decode("utf-8", "replace").splitlines())
            except WebError:
                parser = None  # no readable robots.txt: nothing is disallowed
            self._robots[origin] = parser
        parser = self._robots[origin]
        return parser is None or parser.can_fetch(self.policy.user_agent, url)

    # --- fetching ----------------------------------------------------------------------------
    def fetch(self, url: str, etag: str | None = None, last_modified: str | None = None) -> Fetched:
        """The page at ``url`` (304 when ``etag`` / ``last_modified`` say it has not changed)."""
        if not self._may_fetch(url):
            raise WebError("robots.txt of the site disallows fetching this page")
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return self._get(url, headers)

    def _get(self, url: str, headers: dict[str, str]) -> Fetched:
        import httpx

        for _ in range(self.policy.max_redirects + 1):
            self.check(url)
            self._wait_turn(urlsplit(url).netloc)
            try:
                with self.client.stream("GET", url, headers=headers) as response:
                    self._check_peer(response, url)
                    if response.status_code == 304:  # (httpx counts it among redirects)
                        return Fetched(url, 304, etag=headers.get("If-None-Match"))
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise WebError(f"redirect without a location ({response.status_code})")
                        url = urljoin(url, location)
                        continue
                    if response.status_code in (404, 410):
                        raise PageGoneError(f"the page is gone ({response.status_code})")
                    if response.status_code != 200:
                        raise WebError(f"the server answered {response.status_code}")
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > self.policy.max_bytes:
                        raise WebError(self._too_large())
                    data = bytearray()
                    for piece in response.iter_bytes():
                        data += piece
                        if len(data) > self.policy.max_bytes:
                            raise WebError(self._too_large())
                    return Fetched(
                        url,
                        200,
                        bytes(data),
                        response.headers.get("content-type", ""),
                        response.headers.get("etag"),
                        response.headers.get("last-modified"),
                    )
            except httpx.TimeoutException:
                raise WebError(f"no answer within {self.policy.timeout:g} s") from None
            except httpx.HTTPError as exc:
                raise WebError(f"cannot fetch: {str(exc).splitlines()[0][:200]}") from None
        raise WebError(f"more than {self.policy.max_redirects} redirects")

    def _too_large(self) -> str:
        return f"page over the {self.policy.max_bytes / 2**20:.0f} MiB limit"


@dataclass(frozen=True)
class WebSource:
    """A line of a sources file: a ``page``, a ``feed`` (RSS/Atom: its items' pages, and PDFs
    it links) or a ``sitemap`` (its pages on the same site, nested sitemaps to ``depth``)."""

    kind: str
    url: str
    depth: int = 1


def read_web_sources(path) -> list[WebSource]:
    """The sources a file lists, one a line: ``URL``, ``feed URL`` or ``sitemap URL [depth N]``
    (blank lines and ``#`` comments skipped; a line that is none of these is ignored)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    out = []
    for line in lines:
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        kind = words[0].lower() if words[0].lower() in ("feed", "sitemap", "page") else "page"
        rest = words[1:] if kind != "page" or words[0].lower() == "page" else words
        if not rest or not is_url(rest[0]):
            continue
        depth = int(rest[2]) if len(rest) >= 3 and rest[1] == "depth" and rest[2].isdigit() else 1
        out.append(WebSource(kind, rest[0], min(depth, 3)))
    return out


MAX_LINKS = 500  # pages taken from one feed or sitemap
_ATOM = "{http://www.w3.org/2005/Atom}"
_SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def _xml(data: bytes):
    """Parsed XML with entities and network access off (a feed is untrusted input)."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise WebError(f"not readable XML: {str(exc).splitlines()[0][:150]}") from None


def feed_links(data: bytes, base: str) -> list[str]:
    """The pages an RSS or Atom feed links (item links; PDF enclosures and links too)."""
    root = _xml(data)
    links: list[str] = []
    for item in root.iter("item"):  # RSS
        link = item.findtext("link")
        if link and link.strip():
            links.append(link.strip())
        for enclosure in item.iter("enclosure"):
            if "pdf" in (enclosure.get("type") or "") and enclosure.get("url"):
                links.append(enclosure.get("url"))
    for entry in root.iter(f"{_ATOM}entry"):  # Atom
        for link in entry.iter(f"{_ATOM}link"):
            rel, kind = link.get("rel", "alternate"), link.get("type") or ""
            if link.get("href") and (rel == "alternate" or "pdf" in kind):
                links.append(link.get("href"))
    resolved = [urljoin(base, link) for link in links]
    return [u for u in dict.fromkeys(resolved) if is_url(u)][:MAX_LINKS]


def sitemap_links(data: bytes, base: str) -> tuple[list[str], list[str]]:
    """(pages, nested sitemaps) a sitemap lists, only those on the sitemap's own site."""
    root = _xml(data)
    host = urlsplit(base).netloc
    same = [
        urljoin(base, (loc.text or "").strip())
        for loc in root.iter(f"{_SITEMAP}loc", "loc")
        if (loc.text or "").strip()
    ]
    same = [u for u in dict.fromkeys(same) if is_url(u) and urlsplit(u).netloc == host]
    nested = root.tag in (f"{_SITEMAP}sitemapindex", "sitemapindex")
    return ([], same[:MAX_LINKS]) if nested else (same[:MAX_LINKS], [])


def expand(sources: list[WebSource], fetcher: Fetcher) -> tuple[list[str], list[tuple[str, str]]]:
    """The page URLs the sources stand for, and (source, reason) for those that failed."""
    pages: list[str] = []
    failed: list[tuple[str, str]] = []
    for source in sources:
        if source.kind == "page":
            pages.append(source.url)
            continue
        try:
            if source.kind == "feed":
                got = fetcher.fetch(source.url)
                pages += feed_links(got.data, got.url)
                continue
            todo, seen = [(source.url, source.depth)], set()
            while todo and len(pages) < MAX_LINKS * 4:
                url, depth = todo.pop(0)
                if url in seen:
                    continue
                seen.add(url)
                got = fetcher.fetch(url)
                found, nested = sitemap_links(got.data, got.url)
                pages += found
                if depth > 0:
                    todo += [(n, depth - 1) for n in nested]
        except WebError as exc:
            failed.append((source.url, str(exc)))
    return list(dict.fromkeys(pages)), failed
