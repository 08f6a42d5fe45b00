"""One simulated market: its model and book, its lifecycle and its trading statistics.

The lifecycle is Kalshi's (docs.kalshi.com, "Market Lifecycle"): ``initialized`` until
``open_time`` (no WebSocket event), ``active``, ``inactive`` while the exchange has trading
paused (``deactivated``; back with ``activated``), ``closed`` once ``close_time`` passes (no
lifecycle event; Kalshi empties the book without deltas and pushes an empty
``orderbook_snapshot``, as the KXETH15M capture in tests/kalshi/test_real_captures.py shows), ``determined`` once the result is drawn from the latent
probability (``determined``), and ``finalized`` at settlement (``settled``). ``close_time``
may move (``close_date_updated``); moving it past now reopens a closed market (``activated``).
A finalized market is ``release``d: its model goes, and it answers with an empty book.

The market only changes state; the exchange's ``LifecycleDriver`` sends the frames.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from typing import Any

from kalshi_rl.core.errors import KalshiRLError
from kalshi_rl.core.events import Side
from kalshi_rl.core.units import COUNT_SCALE, PRICE_SCALE, format_price
from kalshi_rl.kalshi.encode import TickerValues
from kalshi_rl.sim.book import SimBook
from kalshi_rl.sim.frames import MarketFrames
from kalshi_rl.sim.grid import DEFAULT_GRID, PriceGrid
from kalshi_rl.sim.model import MarketModel, MarketModelConfig, ModelTrade

TRADING = "active"
PAUSED = "inactive"
UNOPENED = "initialized"
CLOSED = "closed"
DETERMINED = "determined"
FINALIZED = "finalized"
RULES_PRIMARY = "Resolves Yes with the simulator's latent probability at close."


@dataclass(frozen=True)
class MarketTiming:
    """When a market opens and closes, and how long determination and settlement take."""

    open_ms: int
    close_ms: int
    determination_delay_ms: int
    settlement_delay_ms: int


class SimMarket:
    """A market of the local exchange; the exchange drives its model and lifecycle."""

    def __init__(
        self,
        index: int,
        seed: int,
        model_config: MarketModelConfig,
        event_ticker: str,
        ticker: str,
        grid: PriceGrid = DEFAULT_GRID,
    ) -> None:
        ids = random.Random(f"{seed}:market:{index}")
        self.index = index
        self.event_ticker = event_ticker
        self.ticker = ticker
        self.market_id = str(uuid.UUID(int=ids.getrandbits(128), version=4))
        self._model: MarketModel | None = MarketModel(model_config, seed=ids.getrandbits(64), grid=grid)
        self._final_book: SimBook | None = None
        self.frames = MarketFrames(self.ticker, self.market_id)
        self.status = UNOPENED
        self.result = ""
        self.timing = MarketTiming(0, 0, 0, 0)
        self.created_ms = 0
        self.updated_ms = 0
        self.determined_ms: int | None = None
        self.settled_ms: int | None = None
        self.yes_sub_title = "Yes"
        self.last_price_ticks: int | None = None
        self.last_trade_units = 0
        self.volume_units = 0
        self.notional_units_ticks = 0
        """Sum of count units x YES price ticks over every trade (whole dollars on the wire)."""
        self.last_ticker: TickerValues | None = None
        """The values of the last ``ticker`` message (a new one goes out when they change)."""
        self._opening: list[tuple[Side, int, int]] = []

    @property
    def title(self) -> str:
        return f"Simulated market {self.index}"

    @property
    def model(self) -> MarketModel:
        """Return the market's model (``KalshiRLError`` once the market is released)."""
        if self._model is None:
            raise KalshiRLError(f"{self.ticker} is settled: its model was released")
        return self._model

    @property
    def released(self) -> bool:
        """Return whether ``release`` dropped the model (the market is finalized)."""
        return self._model is None

    @property
    def book(self) -> SimBook:
        """Return the market's ``SimBook`` (an empty one once released)."""
        if self._model is None:
            assert self._final_book is not None
            return self._final_book
        return self._model.book

    @property
    def grid(self) -> PriceGrid:
        return self.book.grid

    def release(self) -> None:
        """Drop the model of a finalized market: its book is empty and stays so (Kalshi's is)."""
        self._require((FINALIZED,), "release")
        if self._model is not None:
            self._final_book = SimBook(self._model.grid)
            self._model = None

    def clear_book(self) -> bool:
        """Empty the book without deltas (Kalshi does at the close); return whether it held any level."""
        book = self.book
        levels = [(side, price, size) for side in Side for price, size in book.levels(side)]
        for side, price, size in levels:
            book.apply(side, price, -size)
        return bool(levels)

    @property
    def trading(self) -> bool:
        """Return whether the book moves and trades happen (open and not paused)."""
        return self.status == TRADING

    @property
    def open_for_orders(self) -> bool:
        """Return whether the market is open (trading or paused), i.e. not yet past close."""
        return self.status in (TRADING, PAUSED)

    def schedule(self, timing: MarketTiming, created_ms: int | None = None) -> None:
        """Set the open and close times (when the market is created)."""
        self.timing = timing
        if created_ms is not None:
            self.created_ms = self.updated_ms = created_ms

    def record_trade(self, trade: ModelTrade) -> None:
        self.last_price_ticks = trade.yes_price_ticks
        self.last_trade_units = trade.count_units
        self.volume_units += trade.count_units
        self.notional_units_ticks += trade.count_units * trade.yes_price_ticks

    def withhold_book(self) -> None:
        """Take the makers' opening book off until the market opens (an unopened market has none)."""
        book = self.book
        self._opening = [(side, price, size) for side in Side for price, size in book.levels(side)]
        for side, price, size in self._opening:
            book.apply(side, price, -size)

    def opening_levels(self) -> list[tuple[Side, int, int]]:
        """Return (and forget) the withheld opening book, to be placed when the market opens."""
        levels, self._opening = self._opening, []
        return levels

    def created_fields(self) -> dict[str, Any]:
        """Return the fields of the market's ``created`` lifecycle message."""
        timing = self.timing
        return {
            "exchange_index": 0,
            "open_ts": timing.open_ms // 1000,
            "close_ts": timing.close_ms // 1000,
            "additional_metadata": {
                "name": self.title,
                "title": self.title,
                "yes_sub_title": self.yes_sub_title,
                "no_sub_title": "No",
                "rules_primary": RULES_PRIMARY,
                "rules_secondary": "",
                "can_close_early": False,
                "event_ticker": self.event_ticker,
                "expected_expiration_ts": (timing.close_ms + timing.determination_delay_ms) // 1000,
            },
            "price_level_structure": self.grid.structure,
            "price_ranges": self.grid.ranges_json(),
        }

    # -- the timed lifecycle ------------------------------------------------------------------

    def next_transition_ms(self) -> int | None:
        """Return when the next timed lifecycle step is due (``None`` once finalized)."""
        timing = self.timing
        if self.status == UNOPENED:
            return timing.open_ms
        if self.status in (TRADING, PAUSED):
            return timing.close_ms
        if self.status == CLOSED:
            return timing.close_ms + timing.determination_delay_ms
        if self.status == DETERMINED and self.determined_ms is not None:
            return self.determined_ms + timing.settlement_delay_ms
        return None

    def advance(self, now_ms: int) -> tuple[str, dict[str, Any]] | None:
        """Take the timed step that is due; return ``(event_type, fields)`` if Kalshi sends one.

        Opening and closing are silent (Kalshi sends no event); the returned value of those
        is ``("opened" | "closed", {})`` so the exchange can record them, with no frame.
        """
        due = self.next_transition_ms()
        if due is None or now_ms < due:
            return None
        if self.status == UNOPENED:
            self.status = TRADING
            return "opened", {}
        if self.status in (TRADING, PAUSED):
            self.status = CLOSED
            return "closed", {}
        # determination and settlement are stamped when they were due, so a late clock delays
        # them without moving the market's timetable (settlement counts from determination)
        if self.status == CLOSED:
            self.status = DETERMINED
            self.result = self.model.draw_result()
            self.determined_ms = self.updated_ms = due
            return "determined", {
                "determination_ts": due // 1000,
                "result": self.result,
                "settlement_value": format_price(self.settlement_ticks or 0),
            }
        self.status = FINALIZED
        self.settled_ms = self.updated_ms = due
        return "settled", {"settled_ts": due // 1000}

    # -- explicit changes ---------------------------------------------------------------------

    def deactivate(self, now_ms: int) -> dict[str, Any]:
        """Pause trading (``deactivated``); the book freezes until ``activate``."""
        self._require((TRADING,), "deactivate")
        self.status = PAUSED
        self.updated_ms = now_ms
        return {"is_deactivated": True}

    def activate(self, now_ms: int) -> dict[str, Any]:
        """Resume trading after a pause (``activated``)."""
        self._require((PAUSED,), "activate")
        self.status = TRADING
        self.updated_ms = now_ms
        return {"is_deactivated": False}

    def update_close(self, close_ms: int, now_ms: int) -> bool:
        """Move ``close_time``; return whether a closed market reopens (Kalshi then sends ``activated``)."""
        self._require((UNOPENED, TRADING, PAUSED, CLOSED), "move the close time of")
        self.timing = replace(self.timing, close_ms=close_ms)
        self.updated_ms = now_ms
        if self.status == CLOSED and close_ms > now_ms:
            self.status = TRADING
            return True
        return False

    def update_metadata(self, yes_sub_title: str, now_ms: int) -> dict[str, Any]:
        """Change the market's YES subtitle (``metadata_updated``)."""
        self.yes_sub_title = yes_sub_title
        self.updated_ms = now_ms
        return {"yes_sub_title": yes_sub_title}

    def _require(self, statuses: tuple[str, ...], what: str) -> None:
        if self.status not in statuses:
            raise KalshiRLError(f"cannot {what} {self.ticker}: it is {self.status}")

    # -- derived values -----------------------------------------------------------------------

    @property
    def settlement_ticks(self) -> int | None:
        """Return the settlement value of YES once determined."""
        if not self.result:
            return None
        return PRICE_SCALE if self.result == "yes" else 0

    def ticker_values(self) -> TickerValues:
        """Return what a ``ticker`` message says about the market now."""
        book = self.book
        yes = book.best_level(Side.YES)
        no = book.best_level(Side.NO)
        dollars = self.notional_units_ticks // (PRICE_SCALE * COUNT_SCALE)
        return TickerValues(
            price_ticks=self.last_price_ticks or 0,
            yes_bid_ticks=yes[0] if yes else 0,
            yes_ask_ticks=PRICE_SCALE - no[0] if no else PRICE_SCALE,
            yes_bid_size_units=yes[1] if yes else 0,
            yes_ask_size_units=no[1] if no else 0,
            volume_units=self.volume_units,
            open_interest_units=self.volume_units,  # positions are not tracked
            dollar_volume=dollars,
            dollar_open_interest=dollars,
            last_trade_size_units=self.last_trade_units,
        )
