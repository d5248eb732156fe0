"""The embeddable chat: GET /embed (a small page made for an iframe) and GET /widget.js (the
script a site adds to show a chat bubble that opens that page).

The page and script are static files in ``ui/static``; they talk to the app only through the
JSON API (``/api/v1/ask/stream``) and insert document text with DOM APIs, never as markup.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

from assistant import Settings

from .security import frame_ancestors

__all__ = ["STATIC_DIR", "build_embed_router", "embed_csp"]

STATIC_DIR = Path(__file__).resolve().parent / "static"

# file name -> media type of what the router serves from STATIC_DIR
_ASSETS = {
    "embed.html": "text/html; charset=utf-8",
    "embed.js": "text/javascript; charset=utf-8",
    "embed.css": "text/css; charset=utf-8",
    "widget.js": "text/javascript; charset=utf-8",
}
# Browsers may cache the assets briefly; a deploy shows up within five minutes.
_CACHE = "public, max-age=300"


def embed_csp(embed_origins: list[str]) -> str:
    """The embed page's policy: only its own script, style and API; framed by the allowed sites."""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            frame_ancestors(embed_origins),
        ]
    )


def _asset(name: str, headers: dict[str, str] | None = None) -> Response:
    body = (STATIC_DIR / name).read_bytes()
    return Response(
        body, media_type=_ASSETS[name], headers={"Cache-Control": _CACHE, **(headers or {})}
    )


def build_embed_router(settings: Settings) -> APIRouter:
    """Routes for the embed page, its script and style, and the widget script."""
    router = APIRouter(include_in_schema=False)
    page_headers = {"Content-Security-Policy": embed_csp(settings.embed_origins)}

    @router.get("/embed")
    async def embed_page() -> Response:
        """The chat page for an iframe; ``?greeting=``, ``?title=``, ``?color=`` customise it."""
        return _asset("embed.html", page_headers)

    @router.get("/embed/embed.js")
    async def embed_script() -> Response:
        return _asset("embed.js")

    @router.get("/embed/embed.css")
    async def embed_style() -> Response:
        return _asset("embed.css")

    @router.get("/widget.js")
    async def widget_script() -> Response:
        """The script other sites include to show the chat bubble (reads its data-* attributes)."""
        # a public script: sites may load it with `crossorigin` / `integrity` (SRI)
        return _asset("widget.js", {"Access-Control-Allow-Origin": "*"})

    return router
