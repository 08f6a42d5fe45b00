"""Kalshi REST: public market metadata, parsed to exact values.

``GET /markets/{ticker}`` -> ``MarketInfo``; ``GET /markets`` (filtered by series, event and
status, every page of its cursor) -> ``[MarketInfo]``; ``GET /series/{ticker}`` -> ``SeriesInfo``
(its fee type and multiplier); ``GET /events/{ticker}`` -> ``EventInfo`` (its series, and its fee
override). Shapes from Kalshi's OpenAPI 3.31.0 (``Market``, ``GetMarketsResponse``, ``Series``,
``EventData``). Every request waits for its tokens (``rate_limit.TokenBucket``, Kalshi's Basic
tier by default), so a client never exceeds Kalshi's documented rate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from kalshi_rl.core.errors import DataNotFoundError, ExchangeError, InvalidValueError
from kalshi_rl.core.events import MarketInfo
from kalshi_rl.core.fee_schedule import FeeSchedule, FeeSource
from kalshi_rl.core.units import parse_price_dollars
from kalshi_rl.kalshi.rate_limit import TokenBucket
from kalshi_rl.kalshi.timestamps import any_ts_to_ms

MARKET_STATUS_FILTERS = ("unopened", "open", "paused", "closed", "settled")
"""``GET /markets?status=`` values (OpenAPI 3.31.0 ``MarketStatusQuery``); one per request.
They are not ``Market.status`` values: ``open`` lists ``active`` markets, ``settled``
``finalized`` ones (``data/book/market_status.REST_PHASES`` maps both)."""
MAX_MARKETS_PAGE = 1000
"""The largest ``limit`` Kalshi accepts on ``GET /markets``."""
MAX_PAGES = 10_000
"""A listing that has not ended after this many pages is refused (a cursor loop)."""


@dataclass(frozen=True)
class SeriesInfo:
    """A series (``GET /series/{ticker}``): what its markets' fees are."""

    ticker: str
    fee: FeeSchedule
    title: str = ""
    frequency: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class EventInfo:
    """An event (``GET /events/{ticker}``): its series and its fee override, if any."""

    event_ticker: str
    series_ticker: str
    fee_override: FeeSchedule | None = None
    title: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


def parse_market(payload: dict[str, Any], fetched_ns: int = 0) -> MarketInfo:
    """Return the ``MarketInfo`` in a ``{"market": {...}}`` response body."""
    market = payload.get("market", payload) if isinstance(payload, dict) else payload
    try:
        settlement = market.get("settlement_value_dollars")
        ranges = tuple(
            (
                parse_price_dollars(r["start"]),
                parse_price_dollars(r["end"]),
                parse_price_dollars(r["step"]),
            )
            for r in market.get("price_ranges") or ()
        )
        return MarketInfo(
            ticker=str(market["ticker"]),
            status=str(market.get("status", "")),
            open_time_ms=any_ts_to_ms(market.get("open_time")),
            close_time_ms=any_ts_to_ms(market.get("close_time")),
            expiration_time_ms=any_ts_to_ms(
                market.get("expected_expiration_time")
                or market.get("latest_expiration_time")
                or market.get("expiration_time")
            ),
            result=market.get("result") or None,
            settlement_ticks=parse_price_dollars(settlement) if settlement else None,
            event_ticker=market.get("event_ticker"),
            title=market.get("title"),
            price_level_structure=market.get("price_level_structure") or None,
            price_ranges=ranges,
            fetched_ns=fetched_ns,
            raw=dict(market),
        )
    except (KeyError, TypeError, AttributeError, InvalidValueError) as exc:
        raise ExchangeError(f"unexpected market payload ({type(exc).__name__}: {exc})") from None


def _number(value: Any, what: str) -> float | int:
    """A JSON number (OpenAPI ``number``/``double``): never a string, never a boolean."""
    if type(value) not in (int, float):
        raise InvalidValueError(f"{what} must be a JSON number, got {value!r}")
    return value


def _text(body: dict[str, Any], key: str, what: str) -> str:
    value = body.get(key)
    if type(value) is not str or not value:
        raise InvalidValueError(f"{what} needs a non-empty string {key}, got {value!r}")
    return value


def parse_series(payload: dict[str, Any]) -> SeriesInfo:
    """Return the ``SeriesInfo`` in a ``{"series": {...}}`` body (``fee_type``, ``fee_multiplier``
    required), or raise ``ExchangeError`` saying what is wrong."""
    series = payload.get("series") if isinstance(payload, dict) else None
    try:
        if not isinstance(series, dict):
            raise InvalidValueError(f"expected {{'series': {{...}}}}, got {str(payload)[:200]}")
        ticker = _text(series, "ticker", "series")
        if "fee_type" not in series or "fee_multiplier" not in series:
            raise InvalidValueError("series needs fee_type and fee_multiplier")
        multiplier = _number(series["fee_multiplier"], "fee_multiplier")
        fee = FeeSchedule.parse(series["fee_type"], multiplier, FeeSource.SERIES)
    except InvalidValueError as exc:
        raise ExchangeError(f"unexpected series payload: {exc}") from None
    return SeriesInfo(
        ticker, fee, str(series.get("title") or ""), str(series.get("frequency") or ""), dict(series)
    )


def parse_event(payload: dict[str, Any]) -> EventInfo:
    """Return the ``EventInfo`` in a ``{"event": {...}, "markets": [...]}`` body.

    ``fee_type_override`` and ``fee_multiplier_override`` are both set (an override) or both
    absent/null (none); anything else raises ``ExchangeError``.
    """
    event = payload.get("event") if isinstance(payload, dict) else None
    try:
        if not isinstance(event, dict):
            raise InvalidValueError(f"expected {{'event': {{...}}}}, got {str(payload)[:200]}")
        fee_type, multiplier = event.get("fee_type_override"), event.get("fee_multiplier_override")
        if (fee_type is None) != (multiplier is None):
            raise InvalidValueError(
                f"fee_type_override {fee_type!r} and fee_multiplier_override {multiplier!r} must be set together"
            )
        override = None
        if fee_type is not None:
            override = FeeSchedule.parse(
                fee_type, _number(multiplier, "fee_multiplier_override"), FeeSource.EVENT_OVERRIDE
            )
        return EventInfo(
            _text(event, "event_ticker", "event"),
            _text(event, "series_ticker", "event"),
            override,
            str(event.get("title") or ""),
            dict(event),
        )
    except InvalidValueError as exc:
        raise ExchangeError(f"unexpected event payload: {exc}") from None


def parse_markets_page(payload: Any, fetched_ns: int = 0) -> tuple[list[MarketInfo], str]:
    """Return the markets and the next cursor of a ``GetMarketsResponse`` (``""``: last page)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("markets"), list):
        raise ExchangeError(f"unexpected markets listing: {str(payload)[:200]}")
    cursor = payload.get("cursor")
    if cursor is None:
        cursor = ""
    if not isinstance(cursor, str):
        raise ExchangeError(f"unexpected markets listing cursor {cursor!r}")
    return [parse_market(market, fetched_ns) for market in payload["markets"]], cursor


class KalshiRestClient:
    """A small async client for the public REST endpoints the collector needs.

    ``bucket`` is the rate limit its requests wait for; share one between clients of the same
    account (Kalshi's budget is per account). ``requests`` counts the requests sent.
    """

    def __init__(self, base_url: str, timeout_s: float = 10.0, bucket: TokenBucket | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s)
        self.bucket = bucket or TokenBucket()
        self.requests = 0

    async def _get(self, path: str, what: str, params: dict[str, str | int] | None = None) -> Any:
        await self.bucket.acquire()
        self.requests += 1
        try:
            response = await self._http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise ExchangeError(
                f"cannot reach {self.base_url} ({type(exc).__name__}); check the REST URL "
                "(KALSHI_REST_URL / --rest-url) and your network"
            ) from None
        if response.status_code == 404:
            raise DataNotFoundError(f"unknown {what} at {self.base_url}")
        if response.status_code == 429:
            self.bucket.empty()  # Kalshi sends no Retry-After: wait a full refill before the next
            raise ExchangeError(f"GET {path} answered 429 (rate limited); slowing down")
        if response.status_code != 200:
            raise ExchangeError(f"GET {path} answered {response.status_code}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError:
            raise ExchangeError(f"GET {path} did not answer JSON") from None

    async def get_market(self, ticker: str) -> MarketInfo:
        """Fetch one market's metadata; unknown tickers raise ``DataNotFoundError``."""
        payload = await self._get(f"/markets/{ticker}", f"market {ticker!r}")
        return parse_market(payload, time.time_ns())

    async def list_markets(
        self,
        *,
        series_ticker: str | None = None,
        event_ticker: str | None = None,
        status: str | None = None,
        tickers: tuple[str, ...] = (),
        limit: int = MAX_MARKETS_PAGE,
    ) -> list[MarketInfo]:
        """Every market of ``GET /markets`` with these filters, following its cursor to the end.

        ``status`` is one of ``MARKET_STATUS_FILTERS`` (Kalshi takes one per request);
        ``tickers`` asks for those markets only (one request for many markets; unknown ones are
        simply not listed). Each page waits for its tokens; a cursor that repeats raises
        ``ExchangeError`` (no endless loop).
        """
        if status is not None and status not in MARKET_STATUS_FILTERS:
            raise InvalidValueError(
                f"status must be one of {', '.join(MARKET_STATUS_FILTERS)}, got {status!r}"
            )
        if not 1 <= limit <= MAX_MARKETS_PAGE:
            raise InvalidValueError(f"limit must be between 1 and {MAX_MARKETS_PAGE}, got {limit}")
        params: dict[str, str | int] = {"limit": limit}
        for name, value in (
            ("series_ticker", series_ticker),
            ("event_ticker", event_ticker),
            ("status", status),
        ):
            if value is not None:
                params[name] = value
        if tickers:
            params["tickers"] = ",".join(tickers)
        markets: list[MarketInfo] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            payload = await self._get("/markets", "markets listing", params)
            page, cursor = parse_markets_page(payload, time.time_ns())
            markets.extend(page)
            if not cursor:
                return markets
            if cursor in seen:
                raise ExchangeError(
                    f"GET /markets returned cursor {cursor!r} twice; the listing would never end"
                )
            seen.add(cursor)
            params["cursor"] = cursor
        raise ExchangeError(f"GET /markets did not end after {MAX_PAGES} pages")

    async def get_series(self, ticker: str) -> SeriesInfo:
        """Fetch a series (its fee type and multiplier); unknown ones raise ``DataNotFoundError``."""
        return parse_series(await self._get(f"/series/{ticker}", f"series {ticker!r}"))

    async def get_event(self, ticker: str) -> EventInfo:
        """Fetch an event (its series and fee override); unknown ones raise ``DataNotFoundError``."""
        return parse_event(await self._get(f"/events/{ticker}", f"event {ticker!r}"))

    async def aclose(self) -> None:
        await self._http.aclose()
