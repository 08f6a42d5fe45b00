"""The local exchange's REST objects in the shapes of Kalshi's OpenAPI 3.31.0.

``Market``, ``Series``, ``EventData`` and ``OrderbookCountFp`` with every field the document
requires, of the documented type (prices ``FixedPointDollars`` strings, counts
``FixedPointCount`` strings, ``fee_multiplier`` a JSON number, times RFC 3339 strings).
Optional fields the exchange has no value for are left out, except the event's nullable fee
override, which is always present (``null`` when cleared) so the answer says so explicitly.
"""

from __future__ import annotations

from typing import Any

from kalshi_rl.core.events import Side
from kalshi_rl.core.units import PRICE_SCALE, format_count, format_price
from kalshi_rl.kalshi.encode import fee_multiplier_json, levels_fp, rfc3339
from kalshi_rl.sim.catalog import SimEvent, SimSeries
from kalshi_rl.sim.market import RULES_PRIMARY, SimMarket

_SOURCES = [{"name": "kalshi-rl local exchange", "url": "http://127.0.0.1/"}]


def market_json(market: SimMarket) -> dict[str, Any]:
    """Return ``market`` as Kalshi's ``Market`` (``GET /markets/{ticker}``)."""
    book = market.book
    yes = book.best_level(Side.YES)
    no = book.best_level(Side.NO)
    timing = market.timing
    expected_ms = timing.close_ms + timing.determination_delay_ms
    latest_ms = expected_ms + timing.settlement_delay_ms
    grid = market.grid
    body: dict[str, Any] = {
        "ticker": market.ticker,
        "event_ticker": market.event_ticker,
        "market_type": "binary",
        "title": market.title,
        "yes_sub_title": market.yes_sub_title,
        "no_sub_title": "No",
        "created_time": rfc3339(market.created_ms),
        "updated_time": rfc3339(market.updated_ms),
        "open_time": rfc3339(timing.open_ms),
        "close_time": rfc3339(timing.close_ms),
        "expected_expiration_time": rfc3339(expected_ms),
        "expiration_time": rfc3339(latest_ms),
        "latest_expiration_time": rfc3339(latest_ms),
        "settlement_timer_seconds": timing.settlement_delay_ms // 1000,
        "status": market.status,
        "notional_value_dollars": "1.0000",
        "yes_bid_dollars": format_price(yes[0] if yes else 0),
        "yes_bid_size_fp": format_count(yes[1] if yes else 0),
        "yes_ask_dollars": format_price(PRICE_SCALE - no[0] if no else PRICE_SCALE),
        "yes_ask_size_fp": format_count(no[1] if no else 0),
        "no_bid_dollars": format_price(no[0] if no else 0),
        "no_ask_dollars": format_price(PRICE_SCALE - yes[0] if yes else PRICE_SCALE),
        "last_price_dollars": format_price(market.last_price_ticks or 0),
        "previous_yes_bid_dollars": "0.0000",
        "previous_yes_ask_dollars": "0.0000",
        "previous_price_dollars": "0.0000",
        "volume_fp": format_count(market.volume_units),
        "volume_24h_fp": format_count(market.volume_units),
        "open_interest_fp": format_count(market.volume_units),  # positions are not tracked
        "result": market.result,
        "can_close_early": False,
        "expiration_value": "",
        "rules_primary": RULES_PRIMARY,
        "rules_secondary": "",
        "price_level_structure": grid.structure,
        "price_ranges": grid.ranges_json(),
        "settlement_bounds_type": "default",
        "exchange_index": 0,
    }
    settlement = market.settlement_ticks
    if settlement is not None:
        body["settlement_value_dollars"] = format_price(settlement)
    if market.settled_ms is not None:
        body["settlement_ts"] = rfc3339(market.settled_ms)
    return body


def orderbook_json(market: SimMarket, depth: int) -> dict[str, Any]:
    """Return ``GET /markets/{ticker}/orderbook``: YES and NO bids, NO in NO prices (REST has one encoding).

    Levels are ascending by price, the best bid last, as Kalshi's WebSocket snapshot and its
    REST answers are observed to be; ``depth`` > 0 keeps the best ``depth`` levels of each side.
    """
    yes_bids, no_bids = market.book.snapshot()
    if depth > 0:
        yes_bids, no_bids = yes_bids[-depth:], no_bids[-depth:]
    return {"orderbook_fp": {"yes_dollars": levels_fp(yes_bids), "no_dollars": levels_fp(no_bids)}}


def series_json(series: SimSeries, volume_units: int | None = None) -> dict[str, Any]:
    """Return ``series`` as Kalshi's ``Series``; ``volume_units`` answers ``include_volume``."""
    body: dict[str, Any] = {
        "ticker": series.ticker,
        "frequency": series.frequency,
        "title": series.title,
        "category": series.category,
        "categories": [series.category],
        "tags": [],
        "settlement_sources": _SOURCES,
        "contract_url": "http://127.0.0.1/contract",
        "contract_terms_url": "http://127.0.0.1/contract-terms",
        "fee_type": series.fee.fee_type.value,
        "fee_multiplier": fee_multiplier_json(series.fee.multiplier),
        "additional_prohibitions": [],
        "last_updated_ts": rfc3339(series.created_ms),
        "exchange_index": 0,
    }
    if volume_units is not None:
        body["volume_fp"] = format_count(volume_units)
    return body


def event_json(event: SimEvent, nested_markets: bool) -> dict[str, Any]:
    """Return ``event`` as Kalshi's ``EventData`` (markets inside only when ``nested_markets``)."""
    override = event.fee_override
    body: dict[str, Any] = {
        "event_ticker": event.event_ticker,
        "series_ticker": event.series_ticker,
        "sub_title": event.subtitle,
        "title": event.title,
        "collateral_return_type": event.collateral_return_type,
        "mutually_exclusive": event.collateral_return_type == "MECNET",
        "settlement_sources": _SOURCES,
        "last_updated_ts": rfc3339(event.updated_ms),
        "fee_type_override": override.fee_type.value if override else None,
        "fee_multiplier_override": fee_multiplier_json(override.multiplier) if override else None,
        "exchange_index": event.exchange_index,
    }
    if nested_markets:
        body["markets"] = [market_json(m) for m in event.markets]
    return body
