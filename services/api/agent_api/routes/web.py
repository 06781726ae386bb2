"""The web chat page: ``/`` and its static files, served from the package.

Plain HTML, CSS and JavaScript with no build step and nothing from a CDN.
The page talks to the same public API as any other client (it reads the
event stream with ``fetch()`` so it can send the API key in a header).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

router = APIRouter(tags=["web"], include_in_schema=False)

STATIC_DIR = Path(str(resources.files("agent_api") / "static"))
_FILES = {p.name: p for p in STATIC_DIR.iterdir() if p.is_file() and not p.name.startswith(".")}
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
}


def _serve(name: str) -> FileResponse:
    path = _FILES.get(name)  # only files shipped in the package: no path traversal
    if path is None:
        raise HTTPException(status_code=404, detail="not found")
    return FileResponse(path, media_type=_TYPES.get(path.suffix), headers=_HEADERS)


@router.get("/")
async def index() -> FileResponse:
    """The chat page."""
    return _serve("index.html")


@router.get("/static/{name}")
async def static(name: str) -> FileResponse:
    """The page's scripts and styles."""
    return _serve(name)
