"""Kalshi REST: public market metadata (``GET /markets/{ticker}``), parsed to ``MarketInfo``."""

from __future__ import annotations

import time
from typing import Any

import httpx

from kalshi_rl.core.errors import DataNotFoundError, ExchangeError, InvalidValueError
from kalshi_rl.core.events import MarketInfo
from kalshi_rl.core.units import parse_price_dollars
from kalshi_rl.kalshi.timestamps import any_ts_to_ms


def parse_market(payload: dict[str, Any], fetched_ns: int = 0) -> MarketInfo:
    """Return the ``MarketInfo`` in a ``{"market": {...}}`` response body."""
    market = payload.get("market", payload)
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


class KalshiRestClient:
    """A small async client for the public REST endpoints the collector needs."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s)

    async def get_market(self, ticker: str) -> MarketInfo:
        """Fetch one market's metadata; unknown tickers raise ``DataNotFoundError``."""
        try:
            response = await self._http.get(f"/markets/{ticker}")
        except httpx.HTTPError as exc:
            raise ExchangeError(
                f"cannot reach {self.base_url} ({type(exc).__name__}); check the REST URL "
                "(KALSHI_REST_URL / --rest-url) and your network"
            ) from None
        if response.status_code == 404:
            raise DataNotFoundError(f"unknown market {ticker!r} at {self.base_url}")
        if response.status_code != 200:
            raise ExchangeError(
                f"GET /markets/{ticker} answered {response.status_code}: {response.text[:200]}"
            )
        try:
            payload = response.json()
        except ValueError:
            raise ExchangeError(f"GET /markets/{ticker} did not answer JSON") from None
        return parse_market(payload, time.time_ns())

    async def aclose(self) -> None:
        await self._http.aclose()
