"""A market's state as the paper client's order rules read it.

Everything here reads ``SharedOrderbookState.status`` (``MarketStatus``), which the feed keeps
current from REST and every ``market_lifecycle_v2`` event:

- **May it trade now?** Not while it is paused (``deactivated``): Kalshi answers 409
  ``trading_is_paused``. Not before it opens, once it is closed or settled, or from its close
  time on — the *latest* close time, ``close_date_updated`` winning over REST: 409
  ``market_closed``.
- **At which prices?** On the latest price grid (``price_level_structure_updated``, else REST).
- **On which shard?** Kalshi's ``exchange_index`` (OpenAPI 3.31.0; "the authoritative source of
  truth"): the market's own value when REST gave one, else the shard its series is known to
  live on (docs.kalshi.com/getting_started/exchange_sharding: from 2026-08-24 new crypto events
  are created on shard 2), else 0, the default shard.
- **What did it settle at?** The YES value and Kalshi's ``market_result`` (``yes``, ``no``,
  ``scalar``: the only values ``Settlement.market_result`` allows).
"""

from __future__ import annotations

from kalshi_rl.core.units import PRICE_SCALE, format_price
from kalshi_rl.data.book.shared_state import MarketStatus, SharedOrderbookState
from kalshi_rl.trading.orders import invalid_price, market_closed, trading_is_paused

DEFAULT_SHARD = 0
SERIES_SHARDS = {"KXBTC15M": 2, "KXETH15M": 2}
"""Series whose markets live on a shard other than 0, for markets REST said nothing about."""
MARKET_RESULTS = ("yes", "no", "scalar")


def exchange_index_of(shared: SharedOrderbookState) -> int:
    """The shard ``shared``'s market lives on (see the module docstring)."""
    info = shared.status.info
    if info is not None:
        value = info.raw.get("exchange_index")
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    series = shared.market_ticker.split("-", 1)[0]
    return SERIES_SHARDS.get(series, DEFAULT_SHARD)


def event_ticker_of(shared: SharedOrderbookState) -> str:
    """The market's event (REST, or the lifecycle ``created`` frame), else the ticker without
    its last part (Kalshi's ``SERIES-EVENT-MARKET`` convention)."""
    status = shared.status
    if status.event_ticker:
        return status.event_ticker
    if status.info is not None and status.info.event_ticker:
        return status.info.event_ticker
    return shared.market_ticker.rsplit("-", 1)[0]


def settlement_of(status: MarketStatus) -> tuple[int, str] | None:
    """A market's settlement (YES value in ticks, Kalshi's ``market_result``), once known."""
    ticks = status.settlement_ticks
    if ticks is None:
        ticks = {"yes": PRICE_SCALE, "no": 0}.get(status.result or "")
    if ticks is None:
        return None
    result = status.result
    if result not in MARKET_RESULTS:
        result = {PRICE_SCALE: "yes", 0: "no"}.get(ticks, "scalar")
    return ticks, str(result)


def is_paused(status: MarketStatus) -> bool:
    return status.phase == "paused"


def check_tradable(shared: SharedOrderbookState, now_ns: int) -> None:
    """Raise Kalshi's refusal if ``shared``'s market cannot take an order at ``now_ns``."""
    status = shared.status
    ticker = shared.market_ticker
    if settlement_of(status) is not None:
        raise market_closed(f"market {ticker} is settled")
    if is_paused(status):
        raise trading_is_paused(f"trading in market {ticker} is paused (deactivated)")
    if status.closed or not status.is_trading:
        raise market_closed(f"market {ticker} is not open for trading (phase {status.phase})")
    close_ms = status.close_time_ms
    if close_ms is not None and now_ns // 1_000_000 >= close_ms:
        raise market_closed(f"market {ticker} is past its close time ({close_ms} ms)")


def check_price(shared: SharedOrderbookState, yes_ticks: int) -> None:
    """Refuse a YES price off the market's latest price grid."""
    if not shared.is_valid_price(yes_ticks):
        raise invalid_price(
            f"YES price {format_price(yes_ticks)} is not on {shared.market_ticker}'s price grid"
        )
