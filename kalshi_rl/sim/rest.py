"""HTTP on the WebSocket port: the handshake's signature check and the public REST routes.

websockets calls ``process_request`` for every HTTP request before the opening handshake;
returning a response answers plain HTTP (REST) or refuses the upgrade, returning ``None``
lets the WebSocket handshake go on.

Routes (Kalshi's OpenAPI 3.31.0, public market data; bodies in ``rest_shapes``):

- ``GET /markets`` -- ``{"markets": [...], "cursor": "..."}``; filters ``series_ticker``,
  ``event_ticker``, ``status`` (``unopened``, ``open``, ``paused``, ``closed``, ``settled``),
  ``tickers`` (comma-separated), ``mve_filter``; ``limit`` 1-1000 (0 or absent: 100) and an
  opaque ``cursor`` (empty when there is no next page);
- ``GET /markets/{ticker}`` -- ``{"market": {...}}``;
- ``GET /markets/{ticker}/orderbook`` -- ``{"orderbook_fp": {...}}``, ``depth`` 0-100;
- ``GET /series/{series_ticker}`` -- ``{"series": {...}}``, ``include_volume``;
- ``GET /events/{event_ticker}`` -- ``{"event": {...}, "markets": [...]}``, ``with_nested_markets``.

Errors are Kalshi's ``{"error": {"code", "message", "details"?}}`` with 400 or 404.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from kalshi_rl.core.errors import AuthError
from kalshi_rl.kalshi.auth import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from kalshi_rl.sim.catalog import Catalog
from kalshi_rl.sim.rest_query import BadQueryError, MarketQuery, parse_bool, parse_depth
from kalshi_rl.sim.rest_shapes import event_json, market_json, orderbook_json, series_json

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


def make_process_request(catalog: Catalog, public_key: rsa.RSAPublicKey | None) -> ProcessRequest:
    """Return the ``process_request`` hook of a local exchange."""

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        path = parts.path
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if path == WS_PATH and upgrade:
            if public_key is None:
                return None
            refusal = check_signature(public_key, request.headers, path, time.time_ns() // 1_000_000)
            if refusal is None:
                return None
            logger.info("refused WebSocket handshake: %s", refusal[1])
            return error_response(connection, 401, refusal[0], "authentication failed", refusal[1])
        if path == WS_PATH:
            return error_response(connection, 426, "upgrade_required", "this path speaks WebSocket")
        try:
            status, body = _route(catalog, path, parse_qs(parts.query, keep_blank_values=True))
        except BadQueryError as exc:
            return error_response(connection, 400, "bad_request", "invalid query parameter", str(exc))
        except LookupError as exc:
            return error_response(connection, 404, "not_found", str(exc.args[0]))
        return json_response(connection, status, body)

    return process_request


def _route(catalog: Catalog, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
    """Return ``(status, body)`` for a REST path; raise ``LookupError`` for a 404."""
    if not path.startswith(REST_PREFIX + "/"):
        raise LookupError(f"no route for {path}")
    parts = [unquote(p) for p in path[len(REST_PREFIX) + 1 :].split("/")]
    if parts == ["markets"]:
        return 200, MarketQuery.parse(query).answer(catalog)
    if len(parts) in (2, 3) and parts[0] == "markets":
        market = catalog.markets.get(parts[1])
        if market is None:
            raise LookupError("market not found")
        if len(parts) == 2:
            return 200, {"market": market_json(market)}
        if parts[2] == "orderbook":
            return 200, orderbook_json(market, parse_depth(query))
    if len(parts) == 2 and parts[0] == "series":
        series = catalog.series.get(parts[1])
        if series is None:
            raise LookupError("series not found")
        volume = None
        if parse_bool(query, "include_volume"):
            volume = sum(m.volume_units for m in catalog.market_list if catalog.series_of(m) is series)
        return 200, {"series": series_json(series, volume)}
    if len(parts) == 2 and parts[0] == "events":
        event = catalog.events.get(parts[1])
        if event is None:
            raise LookupError("event not found")
        nested = parse_bool(query, "with_nested_markets")
        return 200, {"event": event_json(event, nested), "markets": [market_json(m) for m in event.markets]}
    raise LookupError(f"no route for {path}")
