"""Query parameters of the local exchange's REST routes, checked as Kalshi documents them.

``GET /markets`` (OpenAPI 3.31.0 ``GetMarkets``): ``limit`` 0-1000 (0 or absent = 100),
``cursor``, ``event_ticker`` (one), ``series_ticker``, ``status`` (one of ``unopened``,
``open``, ``paused``, ``closed``, ``settled``), ``tickers`` (comma-separated), ``mve_filter``
(``only``, ``exclude``). Status filter values match market statuses as Kalshi's "Market
Lifecycle" page maps them: ``unopened`` = initialized, ``open`` = active, ``paused`` =
inactive, ``closed`` = past close and not finalized, ``settled`` = finalized. Unknown
parameters are ignored; a bad value is a ``BadQueryError`` (HTTP 400).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from kalshi_rl.sim.catalog import Catalog
from kalshi_rl.sim.market import CLOSED, DETERMINED, FINALIZED, PAUSED, TRADING, UNOPENED, SimMarket
from kalshi_rl.sim.rest_shapes import market_json

DEFAULT_LIMIT = 100
MAX_LIMIT = 1_000
MAX_DEPTH = 100

STATUS_FILTERS: dict[str, frozenset[str]] = {
    "unopened": frozenset({UNOPENED}),
    "open": frozenset({TRADING}),
    "paused": frozenset({PAUSED}),
    "closed": frozenset({CLOSED, DETERMINED}),
    "settled": frozenset({FINALIZED}),
}
"""``GET /markets?status=`` value -> the ``Market.status`` values it matches."""

_CURSOR_PREFIX = "sim:"


class BadQueryError(ValueError):
    """A query parameter Kalshi would refuse with 400 (the message says which and why)."""


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise BadQueryError(f"{name} may be given once, got {len(values)} values")
    return values[0]


def _int(query: dict[str, list[str]], name: str, low: int, high: int) -> int | None:
    text = _one(query, name)
    if text is None or text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        raise BadQueryError(f"{name} must be an integer, got {text!r}") from None
    if not low <= value <= high:
        raise BadQueryError(f"{name} must be between {low} and {high}, got {value}")
    return value


def parse_bool(query: dict[str, list[str]], name: str) -> bool:
    """Return a boolean query parameter (``true``/``false``; absent = false)."""
    text = _one(query, name)
    if text is None or text == "":
        return False
    if text.lower() not in ("true", "false"):
        raise BadQueryError(f"{name} must be true or false, got {text!r}")
    return text.lower() == "true"


def parse_depth(query: dict[str, list[str]]) -> int:
    """Return the orderbook ``depth`` (0 or negative = every level; at most 100)."""
    depth = _int(query, "depth", -(2**31), MAX_DEPTH)
    return max(0, depth or 0)


def encode_cursor(position: int) -> str:
    """Return the opaque cursor of the next page, starting at market ``index`` ``position``
    (a market forgotten since is skipped, the cursor stays valid)."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{position}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    """Return the position a cursor of ``encode_cursor`` stands for, or raise ``BadQueryError``."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadQueryError(f"cursor {cursor!r} is not a cursor this server gave") from None
    if not text.startswith(_CURSOR_PREFIX) or not text[len(_CURSOR_PREFIX) :].isdigit():
        raise BadQueryError(f"cursor {cursor!r} is not a cursor this server gave")
    return int(text[len(_CURSOR_PREFIX) :])


@dataclass(frozen=True)
class MarketQuery:
    """A validated ``GET /markets`` query."""

    limit: int = DEFAULT_LIMIT
    start: int = 0
    series_ticker: str | None = None
    event_ticker: str | None = None
    statuses: frozenset[str] | None = None
    tickers: frozenset[str] | None = None
    only_multivariate: bool = False

    @classmethod
    def parse(cls, query: dict[str, list[str]]) -> MarketQuery:
        """Return the query or raise ``BadQueryError`` for the first bad parameter."""
        limit = _int(query, "limit", 0, MAX_LIMIT) or DEFAULT_LIMIT
        cursor = _one(query, "cursor")
        status = _one(query, "status")
        statuses = None
        if status:
            if status not in STATUS_FILTERS:
                raise BadQueryError(f"status must be one of {', '.join(STATUS_FILTERS)}, got {status!r}")
            statuses = STATUS_FILTERS[status]
        event_ticker = _one(query, "event_ticker") or None
        if event_ticker is not None and "," in event_ticker:
            raise BadQueryError("event_ticker: only a single event ticker is supported")
        tickers_text = _one(query, "tickers")
        tickers = frozenset(t for t in tickers_text.split(",") if t) if tickers_text else None
        mve = _one(query, "mve_filter")
        if mve not in (None, "", "only", "exclude"):
            raise BadQueryError(f"mve_filter must be only or exclude, got {mve!r}")
        return cls(
            limit=limit,
            start=decode_cursor(cursor) if cursor else 0,
            series_ticker=_one(query, "series_ticker") or None,
            event_ticker=event_ticker,
            statuses=statuses,
            tickers=tickers,
            only_multivariate=mve == "only",  # the local exchange has no multivariate markets
        )

    def matches(self, catalog: Catalog, market: SimMarket) -> bool:
        """Return whether ``market`` passes every filter."""
        if self.only_multivariate:
            return False
        if self.event_ticker is not None and market.event_ticker != self.event_ticker:
            return False
        if self.series_ticker is not None and catalog.series_of(market).ticker != self.series_ticker:
            return False
        if self.statuses is not None and market.status not in self.statuses:
            return False
        return self.tickers is None or market.ticker in self.tickers

    def answer(self, catalog: Catalog) -> dict[str, Any]:
        """Return one page of ``GetMarketsResponse``: ``markets`` and the next ``cursor`` ("" when done)."""
        page: list[dict[str, Any]] = []
        for market in catalog.scan(self.start):
            if not self.matches(catalog, market):
                continue
            if len(page) == self.limit:
                return {"markets": page, "cursor": encode_cursor(market.index)}
            page.append(market_json(market))
        return {"markets": page, "cursor": ""}
