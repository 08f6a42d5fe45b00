"""Errors as JSON: ``{"error": {"code": ..., "message": ...}}``, never a traceback."""

from __future__ import annotations

import json
import logging

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from kalshi_rl.core.errors import (
    ConfigError,
    DataNotFoundError,
    InvalidValueError,
    KalshiRLError,
    LiveModeRefusedError,
    StorageError,
)

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with an HTTP status, a stable code and a readable message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def from_domain(exc: KalshiRLError) -> ApiError:
    """Map the package's exceptions to HTTP statuses."""
    if isinstance(exc, LiveModeRefusedError):
        return ApiError(501, "live_mode_not_available", str(exc))
    if isinstance(exc, DataNotFoundError):
        return ApiError(404, "not_found", str(exc))
    if isinstance(exc, InvalidValueError | ConfigError):
        return ApiError(400, "invalid_request", str(exc))
    if isinstance(exc, StorageError):
        return ApiError(503, "storage_unavailable", str(exc))
    return ApiError(400, "invalid_request", str(exc))


def validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


async def handle_api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message)


async def handle_domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KalshiRLError)
    api = from_domain(exc)
    return error_response(api.status, api.code, api.message)


SITE_ROUTE = "ml_tab"
"""The name of the catch-all route serving the page; under /rl it does not count."""


def allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts at this request's path (for a 405's ``Allow``)."""
    methods: set[str] = set()
    api = request.url.path == "/rl" or request.url.path.startswith("/rl/")
    for route in request.app.routes:
        if isinstance(route, Route) and route.methods and not (api and route.name == SITE_ROUTE):
            match, _ = route.matches(request.scope)
            if match is not Match.NONE:
                methods |= route.methods
    return sorted(methods)


def method_not_allowed(request: Request) -> Response:
    allowed = allowed_methods(request)
    response = error_response(
        405, "method_not_allowed", f"{request.method} is not allowed here; use {', '.join(allowed)}"
    )
    response.headers["Allow"] = ", ".join(allowed)
    return response


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        # Starlette names only the first matching route's methods; a path has one route per method.
        return method_not_allowed(request)
    code = {404: "not_found"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


async def handle_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    return error_response(422, "invalid_body", validation_message(exc))


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "unexpected server error (see the service log)")


async def read_json(request: Request) -> object:
    """The request body as JSON, or a 400 that says why not."""
    body = await request.body()
    if not body:
        raise ApiError(400, "invalid_json", "expected a JSON body")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
