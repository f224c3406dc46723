"""The playground at `/`: a static page (HTML, CSS, ES modules) inside the package that uses
the public v2 API as any client would. Nothing is built or fetched from elsewhere."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.responses import FileResponse
from starlette.staticfiles import StaticFiles

FILES = Path(__file__).resolve().parents[2] / "playground"
PREFIX = "/playground"
# The page runs only its own scripts and talks only to this server; images (and zoom videos)
# may come from the configured public base URL or object storage, which can be another origin.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob: http: https:; "
        "media-src 'self' blob: http: https:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(FILES / "index.html", headers=_HEADERS)


def install_playground(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(PREFIX, StaticFiles(directory=FILES), name="playground")
