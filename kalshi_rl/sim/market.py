"""One simulated market: its model and book, its lifecycle, and its REST representation.

Lifecycle (Kalshi's, without the optional events): ``active`` from open until ``close_time``,
then ``closed`` (the book stops changing), ``determined`` once the result is drawn from the
latent probability (a ``determined`` lifecycle event), and ``finalized`` at settlement (a
``settled`` event).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from kalshi_rl.core.events import Side
from kalshi_rl.core.units import PRICE_SCALE, format_count, format_price
from kalshi_rl.kalshi.encode import rfc3339
from kalshi_rl.sim.book import SimBook
from kalshi_rl.sim.frames import MarketFrames
from kalshi_rl.sim.grid import PRICE_LEVEL_STRUCTURE, price_ranges_json
from kalshi_rl.sim.model import MarketModel, MarketModelConfig, ModelTrade

SERIES = "KXSIM"
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def event_ticker_for(seed: int, series: str = SERIES) -> str:
    """Return a Kalshi-like event ticker fixed by the seed, e.g. ``KXSIM-26JAN08``."""
    day = date(2026, 1, 1) + timedelta(days=seed % 365)
    return f"{series}-{day.year % 100:02d}{_MONTHS[day.month - 1]}{day.day:02d}"


@dataclass(frozen=True)
class MarketTiming:
    """When a market opens and closes, and how long determination and settlement take."""

    open_ms: int
    close_ms: int
    determination_delay_ms: int
    settlement_delay_ms: int


class SimMarket:
    """A market of the local exchange; the exchange drives its model and lifecycle."""

    def __init__(self, index: int, seed: int, model_config: MarketModelConfig) -> None:
        ids = random.Random(f"{seed}:market:{index}")
        self.index = index
        self.event_ticker = event_ticker_for(seed)
        self.ticker = f"{self.event_ticker}-M{index:02d}"
        self.market_id = str(uuid.UUID(int=ids.getrandbits(128), version=4))
        self.model = MarketModel(model_config, seed=ids.getrandbits(64))
        self.frames = MarketFrames(self.ticker, self.market_id)
        self.status = "active"
        self.result = ""
        self.timing = MarketTiming(0, 0, 0, 0)
        self.determined_ms: int | None = None
        self.settled_ms: int | None = None
        self.last_price_ticks: int | None = None
        self.volume_units = 0

    @property
    def book(self) -> SimBook:
        """Return the market's ``SimBook``."""
        return self.model.book

    @property
    def trading(self) -> bool:
        return self.status == "active"

    def schedule(self, timing: MarketTiming) -> None:
        """Set the open and close times (called when the exchange starts)."""
        self.timing = timing

    def record_trade(self, trade: ModelTrade) -> None:
        self.last_price_ticks = trade.yes_price_ticks
        self.volume_units += trade.count_units

    def next_transition_ms(self) -> int | None:
        """Return when the next lifecycle step is due (``None`` once finalized)."""
        timing = self.timing
        if self.status == "active":
            return timing.close_ms
        if self.status == "closed":
            return timing.close_ms + timing.determination_delay_ms
        if self.status == "determined" and self.determined_ms is not None:
            return self.determined_ms + timing.settlement_delay_ms
        return None

    def advance(self, now_ms: int) -> tuple[str, dict[str, Any]] | None:
        """Take the lifecycle step that is due; return ``(event_type, fields)`` if one is sent."""
        due = self.next_transition_ms()
        if due is None or now_ms < due:
            return None
        if self.status == "active":
            self.status = "closed"  # Kalshi sends no event at close
            return None
        if self.status == "closed":
            self.status = "determined"
            self.result = self.model.draw_result()
            self.determined_ms = now_ms
            settlement = PRICE_SCALE if self.result == "yes" else 0
            return "determined", {
                "determination_ts": now_ms // 1000,
                "result": self.result,
                "settlement_value": format_price(settlement),
            }
        self.status = "finalized"
        self.settled_ms = now_ms
        return "settled", {"settled_ts": now_ms // 1000}

    def to_json(self) -> dict[str, Any]:
        """Return the market in the shape of Kalshi's ``GET /markets/{ticker}``."""
        book = self.model.book
        yes = book.best_level(Side.YES)
        no = book.best_level(Side.NO)
        timing = self.timing
        expected_ms = timing.close_ms + timing.determination_delay_ms
        latest_ms = expected_ms + timing.settlement_delay_ms
        last = format_price(self.last_price_ticks or 0)
        market: dict[str, Any] = {
            "ticker": self.ticker,
            "event_ticker": self.event_ticker,
            "market_type": "binary",
            "title": f"Simulated market {self.index}",
            "subtitle": "local exchange",
            "yes_sub_title": "Yes",
            "no_sub_title": "No",
            "created_time": rfc3339(timing.open_ms),
            "updated_time": rfc3339(timing.open_ms),
            "open_time": rfc3339(timing.open_ms),
            "close_time": rfc3339(timing.close_ms),
            "expected_expiration_time": rfc3339(expected_ms),
            "expiration_time": rfc3339(latest_ms),
            "latest_expiration_time": rfc3339(latest_ms),
            "settlement_timer_seconds": timing.settlement_delay_ms // 1000,
            "status": self.status,
            "notional_value_dollars": "1.0000",
            "yes_bid_dollars": format_price(yes[0] if yes else 0),
            "yes_bid_size_fp": format_count(yes[1] if yes else 0),
            "yes_ask_dollars": format_price(PRICE_SCALE - no[0] if no else PRICE_SCALE),
            "yes_ask_size_fp": format_count(no[1] if no else 0),
            "no_bid_dollars": format_price(no[0] if no else 0),
            "no_ask_dollars": format_price(PRICE_SCALE - yes[0] if yes else PRICE_SCALE),
            "last_price_dollars": last,
            "previous_yes_bid_dollars": "0.0000",
            "previous_yes_ask_dollars": "0.0000",
            "previous_price_dollars": "0.0000",
            "volume_fp": format_count(self.volume_units),
            "volume_24h_fp": format_count(self.volume_units),
            "liquidity_dollars": "0.0000",
            "open_interest_fp": format_count(self.volume_units),  # positions are not tracked
            "result": self.result,
            "can_close_early": False,
            "fractional_trading_enabled": True,
            "expiration_value": "",
            "rules_primary": "Resolves Yes with the simulator's latent probability at close.",
            "rules_secondary": "",
            "price_level_structure": PRICE_LEVEL_STRUCTURE,
            "price_ranges": price_ranges_json(),
            "response_price_units": "usd_cent",
        }
        if self.result:
            settlement = PRICE_SCALE if self.result == "yes" else 0
            market["settlement_value_dollars"] = format_price(settlement)
        if self.settled_ms is not None:
            market["settlement_ts"] = rfc3339(self.settled_ms)
        return market
