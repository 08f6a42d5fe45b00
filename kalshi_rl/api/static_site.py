"""The ML tab: the built React bundle (``kalshi_rl/api/static``) served at ``/``.

The bundle is package data, built by ``make setup`` from ``frontend/``, so an installed package
needs no Node. Any path outside ``/rl/`` that is not a file of the bundle answers ``index.html``
(the page routes itself); hashed assets are cached for good, ``index.html`` never.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from kalshi_rl.api.errors import ApiError, allowed_methods, method_not_allowed

STATIC_DIR = Path(__file__).parent / "static"
NOT_BUILT = (
    "<!doctype html><title>kalshi-rl</title><p>The ML tab is not built into this installation. "
    "Run <code>make setup</code> in the repository (it builds <code>frontend/</code>); the API is "
    'under <a href="/rl/status">/rl/</a>.</p>'
)


def _file(root: Path, relative: str) -> Path | None:
    """The bundle's file at ``relative``, or None (also for anything escaping the bundle)."""
    if not relative:
        return None
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root.resolve()) or not candidate.is_file():
        return None
    return candidate


def make_site(root: Path | None = None) -> Callable[[Request], Awaitable[Response]]:
    """A GET/HEAD endpoint serving the bundle under ``root`` (default: the package's ``STATIC_DIR``,
    looked up per request) with the index.html fallback."""

    async def site(request: Request) -> Response:
        bundle = root if root is not None else STATIC_DIR
        relative = request.path_params.get("path", "")
        if relative == "rl" or relative.startswith("rl/"):
            if allowed_methods(request):  # an API path, another method: not the page's business
                return method_not_allowed(request)
            raise ApiError(404, "not_found", f"no route {request.url.path}")
        found = _file(bundle, relative)
        if found is not None:
            immutable = found.parent.name == "assets"  # Vite puts content-hashed names there
            cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
            return FileResponse(found, headers={"Cache-Control": cache})
        index = bundle / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    return site
