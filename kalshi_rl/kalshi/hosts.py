"""Kalshi's hosts: which REST base goes with which WebSocket URL.

Kalshi serves its REST and WebSocket APIs on different host names for the same environment
(docs.kalshi.com/getting_started/api_environments, OpenAPI 3.31.0 ``servers``, AsyncAPI 2.0.0
``servers.production``), so the REST base cannot be derived by reusing the WebSocket's host.
This table holds every documented pair; a loopback host is the local exchange (``kalshi-rl
sim``), which serves both on one port. Any other host is refused unless the REST URL is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from kalshi_rl.core.errors import ConfigError

REST_PATH = "/trade-api/v2"
WS_PATH = "/trade-api/ws/v2"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class KalshiHost:
    """One documented WebSocket host and the REST host of the same environment."""

    ws_host: str
    rest_host: str
    environment: str  # "production" | "demo"
    recommended: bool  # Kalshi recommends the external-api hosts; the shared ones stay supported


HOSTS: tuple[KalshiHost, ...] = (
    KalshiHost("external-api-ws.kalshi.com", "external-api.kalshi.com", "production", True),
    KalshiHost("api.elections.kalshi.com", "api.elections.kalshi.com", "production", False),
    KalshiHost("external-api-ws.demo.kalshi.co", "external-api.demo.kalshi.co", "demo", True),
    KalshiHost("demo-api.kalshi.co", "demo-api.kalshi.co", "demo", False),
)
_BY_WS_HOST = {host.ws_host: host for host in HOSTS}


def rest_url_for(ws_url: str) -> str:
    """Return the REST base URL (``.../trade-api/v2``) of the environment ``ws_url`` belongs to.

    Raises ``ConfigError`` for a host Kalshi does not document (pass the REST URL explicitly).
    """
    parts = urlsplit(ws_url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("ws", "wss") or not host:
        raise ConfigError(f"not a WebSocket URL: {ws_url!r} (expected wss://HOST{WS_PATH})")
    if host in LOOPBACK_HOSTS:
        # The local exchange answers REST on its WebSocket port (plain HTTP unless wss).
        scheme = "https" if parts.scheme == "wss" else "http"
        return f"{scheme}://{parts.netloc}{REST_PATH}"
    known = _BY_WS_HOST.get(host)
    if known is None:
        documented = ", ".join(h.ws_host for h in HOSTS)
        raise ConfigError(
            f"unknown Kalshi WebSocket host {host!r}: cannot tell its REST host; pass the REST URL "
            f"explicitly (--rest-url or KALSHI_REST_URL). Documented hosts: {documented}"
        )
    if parts.scheme != "wss":
        raise ConfigError(f"Kalshi's {host} speaks wss://, not {parts.scheme}:// ({ws_url!r})")
    port = f":{parts.port}" if parts.port else ""
    return f"https://{known.rest_host}{port}{REST_PATH}"
