"""``MarketMetadata``: a market's REST metadata and fee schedules, recorded with its data.

For each market the collector records, ``GET /markets/{ticker}`` gives its times, status and
price grid, and its event (``GET /events/{e}``) and series (``GET /series/{s}``) the fee
schedule that applies: the event's override, else the series'. Events and series are fetched
once each and remembered in small caches (a series rolling for weeks creates an event per
market, so the event cache keeps only the latest ``EVENT_CACHE`` of them). A series or event
that cannot be fetched leaves Kalshi's default schedule in force, logged and recorded as such
(``fee_source`` = default); one that could not be fetched because the exchange failed (not
because it does not exist) is asked again for the next market.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from kalshi_rl.core.errors import DataNotFoundError, ExchangeError
from kalshi_rl.core.events import MarketInfo
from kalshi_rl.core.fee_schedule import FeeSchedule
from kalshi_rl.data.ingest.orderbook_client import OrderbookClient
from kalshi_rl.kalshi.rest import EventInfo, KalshiRestClient, SeriesInfo

logger = logging.getLogger(__name__)

EVENT_CACHE = 256
"""Events remembered (their series and fee override)."""


class MarketMetadata:
    """Fetches markets' metadata and fee schedules and records them on the feed."""

    def __init__(self, rest: KalshiRestClient, feed: OrderbookClient) -> None:
        self.rest = rest
        self.feed = feed
        self._events: OrderedDict[str, EventInfo | None] = OrderedDict()
        self._series: dict[str, SeriesInfo | None] = {}
        # Markets described at once (a series' first listing) share their event and series:
        # one request each, not one per market.
        self._lock = asyncio.Lock()

    async def record(self, info: MarketInfo) -> str | None:
        """Record ``info`` with its fee schedules on the feed; return the market's series."""
        series_ticker, series_fee, event_fee = await self.fees_of(info)
        self.feed.record_market_info(info, series_ticker, series_fee, event_fee)
        return series_ticker

    async def fetch_and_record(self, ticker: str) -> MarketInfo:
        """``GET /markets/{ticker}``, recorded with its fees; raises as ``get_market`` does."""
        info = await self.rest.get_market(ticker)
        await self.record(info)
        return info

    async def fees_of(self, info: MarketInfo) -> tuple[str | None, FeeSchedule | None, FeeSchedule | None]:
        """``(series_ticker, series fee, event override)`` of ``info``'s market (``None``: unknown)."""
        async with self._lock:
            event = await self.event(info.event_ticker) if info.event_ticker else None
            raw_series = info.raw.get("series_ticker")
            series_ticker = (
                event.series_ticker if event else raw_series if isinstance(raw_series, str) else None
            )
            series = await self._series_info(series_ticker) if series_ticker else None
        if series is None and event is None:
            logger.warning("%s: no series fee schedule known; Kalshi's default schedule applies", info.ticker)
        return series_ticker, series.fee if series else None, event.fee_override if event else None

    async def event(self, ticker: str) -> EventInfo | None:
        """The event (cached; ``None`` when it cannot be fetched)."""
        if ticker in self._events:
            self._events.move_to_end(ticker)
            return self._events[ticker]
        try:
            found: EventInfo | None = await self.rest.get_event(ticker)
        except DataNotFoundError as exc:
            logger.warning("event %s: %s", ticker, exc)
            found = None
        except ExchangeError as exc:  # not remembered: the next market asks again
            logger.warning("event %s: %s", ticker, exc)
            return None
        self._events[ticker] = found
        while len(self._events) > EVENT_CACHE:
            self._events.popitem(last=False)
        return found

    async def _series_info(self, ticker: str) -> SeriesInfo | None:
        if ticker not in self._series:
            try:
                self._series[ticker] = await self.rest.get_series(ticker)
            except DataNotFoundError as exc:
                logger.warning("series %s: %s", ticker, exc)
                self._series[ticker] = None
            except ExchangeError as exc:  # not remembered: the next market asks again
                logger.warning("series %s: %s", ticker, exc)
                return None
        return self._series[ticker]
