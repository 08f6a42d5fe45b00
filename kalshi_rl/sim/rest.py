"""HTTP on the WebSocket port: the handshake's signature check and the public REST routes.

websockets calls ``process_request`` for every HTTP request before the opening handshake;
returning a response answers plain HTTP (REST) or refuses the upgrade, returning ``None``
lets the WebSocket handshake go on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from kalshi_rl.core.errors import AuthError
from kalshi_rl.kalshi.auth import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from kalshi_rl.sim.market import SimMarket

logger = logging.getLogger(__name__)

WS_PATH = "/trade-api/ws/v2"
REST_PREFIX = "/trade-api/v2"
MAX_SKEW_MS = 30_000

ProcessRequest = Callable[[ServerConnection, Request], Response | None]


def json_response(connection: ServerConnection, status: int, body: Any) -> Response:
    """Return an HTTP response with a JSON body."""
    response = connection.respond(HTTPStatus(status), json.dumps(body, separators=(",", ":")))
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    return response


def error_response(
    connection: ServerConnection, status: int, code: str, message: str, details: str = ""
) -> Response:
    """Return Kalshi's nested REST error ``{"error": {"code", "message", ...}}``."""
    error = {"code": code, "message": message}
    if details:
        error["details"] = details
    return json_response(connection, status, {"error": error})


def check_signature(
    public_key: rsa.RSAPublicKey, headers: Mapping[str, str], path: str, now_ms: int
) -> tuple[str, str] | None:
    """Return ``(code, details)`` of the 401 to answer, or ``None`` when the request is signed."""
    values = {name: headers.get(name) for name in (KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)}
    if not all(values.values()):
        return "signature_is_missing_from_headers", "missing KALSHI-ACCESS-* headers"
    try:
        timestamp_ms = int(values[TIMESTAMP_HEADER] or "")
    except ValueError:
        return "authentication_error", "KALSHI-ACCESS-TIMESTAMP is not Unix milliseconds"
    if abs(now_ms - timestamp_ms) > MAX_SKEW_MS:
        return "header_timestamp_expired", "timestamp more than 30 s away from the server clock"
    try:
        verify(public_key, {k: v for k, v in values.items() if v is not None}, "GET", path)
    except AuthError:
        return "authentication_error", "INCORRECT_API_KEY_SIGNATURE"
    return None


def make_process_request(
    markets: Mapping[str, SimMarket], public_key: rsa.RSAPublicKey | None
) -> ProcessRequest:
    """Return the ``process_request`` hook of a local exchange."""

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if path == WS_PATH and upgrade:
            if public_key is None:
                return None
            refusal = check_signature(public_key, request.headers, path, time.time_ns() // 1_000_000)
            if refusal is None:
                return None
            logger.info("refused WebSocket handshake: %s", refusal[1])
            return error_response(connection, 401, refusal[0], "authentication failed", refusal[1])
        return _rest(connection, path, markets)

    return process_request


def _rest(connection: ServerConnection, path: str, markets: Mapping[str, SimMarket]) -> Response:
    if path == f"{REST_PREFIX}/markets":
        return json_response(
            connection, 200, {"markets": [m.to_json() for m in markets.values()], "cursor": ""}
        )
    prefix = f"{REST_PREFIX}/markets/"
    if path.startswith(prefix):
        market = markets.get(unquote(path[len(prefix) :]))
        if market is None:
            return error_response(connection, 404, "not_found", "market not found")
        return json_response(connection, 200, {"market": market.to_json()})
    if path == WS_PATH:
        return error_response(connection, 426, "upgrade_required", "this path speaks WebSocket")
    return error_response(connection, 404, "not_found", f"no route for {path}")
