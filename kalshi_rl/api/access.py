"""Who may mutate and stream: the API token, and the browser origin.

Reads are open (the service binds to loopback by default). When ``RL_API_TOKEN`` is set, the
mutating routes need ``Authorization: Bearer <token>`` and the streams accept that header or
``?token=`` (a browser cannot set headers on a WebSocket). A token in a URL ends up in logs and
history, so the HTTP routes take the header only.

A request from a browser page carries an ``Origin`` header; unless that origin is one of
``RL_CORS_ORIGINS`` a mutation or a stream is refused, token or not. CORS alone does not protect
a loopback service: it only hides the *response* from other sites, while a "simple" cross-site
POST (a text/plain body, no preflight) still runs, and a cross-site WebSocket opens without any
check -- so without this, any web page the user visits could start training or the actor on a
service that has no token, or read its streams. Clients other than browsers send no ``Origin``.

The service's own page (the ML tab at ``/``) is same-origin: its ``Origin`` names the ``Host`` it
was loaded from. That is trusted only when the host is an IP literal or ``localhost``, names no
attacker can re-point (DNS rebinding makes a foreign page's Origin and Host agree on *its* domain
name while the name resolves to 127.0.0.1).

The server logs every WebSocket URL it accepts, query included; ``TokenRedactor`` keeps the
``?token=`` values out of those lines.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s\"']+")
SERVER_LOGGERS = ("uvicorn.error", "uvicorn.access")


def token_matches(expected: str | None, supplied: str | None) -> bool:
    """Return whether ``supplied`` is the configured token (always True when none is configured)."""
    if not expected:
        return True
    return bool(supplied) and hmac.compare_digest(str(supplied).encode(), expected.encode())


def bearer(headers: Mapping[str, str]) -> str | None:
    """Return the token of an ``Authorization: Bearer <token>`` header, if there is one."""
    header = headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def same_origin(headers: Mapping[str, str]) -> bool:
    """Return whether ``Origin`` is the ``Host`` the request went to, that host an IP or localhost."""
    origin, host = headers.get("origin"), headers.get("host")
    if not origin or not host:
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != host.lower():
        return False
    name = (parts.hostname or "").strip("[]")
    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def origin_allowed(allowed: tuple[str, ...], headers: Mapping[str, str]) -> bool:
    """Return whether the request's ``Origin`` (if any) is the service's own page or one of the
    configured CORS origins."""
    origin = headers.get("origin")
    return origin is None or "*" in allowed or origin in allowed or same_origin(headers)


def redact_tokens(text: str) -> str:
    """Replace every ``token=`` query value in ``text``."""
    return _TOKEN_IN_QUERY.sub(r"\1<redacted>", text)


class TokenRedactor(logging.Filter):
    """A log filter that redacts ``token=`` query values in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_tokens(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_tokens(a) if isinstance(a, str) else a for a in record.args)
        return True


def redact_tokens_in_server_logs() -> None:
    """Install ``TokenRedactor`` on the server's loggers (once)."""
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenRedactor) for f in logger.filters):
            logger.addFilter(TokenRedactor())
